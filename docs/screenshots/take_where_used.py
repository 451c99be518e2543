"""Retake where-used.png: the Catalog tab with one product selected and its Where used panel.

The data dir must hold the IKEA catalog and the shared scenes tagged into its scene memory:

    decorlens --data-dir DIR catalog import ../shared/datasets/ikea_interior/products.csv
    decorlens --data-dir DIR tag ../shared/datasets/ikea_interior/scenes --out /tmp/tagged
    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_where_used.py --data-dir DIR [--sku 402.288.12]

The PNG is reduced to 256 colours to stay small; the room photos in it are research data, shown for
documentation only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.thumbnails import Thumbnails
from app.widgets.catalog_view import CatalogView
from app.widgets.where_used import SHOWN
from app.workers import Runner
from engine.pipeline import Pipeline
from engine.scene_memory import where_used
from engine.settings import Settings


def wait(app: QApplication, done, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while not done():
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for the catalog view")
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--sku", default="402.288.12", help="the product shown (IDOLF chair)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("where-used.png"))
    args = parser.parse_args()
    app = QApplication([])
    pipeline = Pipeline(Settings.for_data_dir(args.data_dir))
    view = CatalogView(pipeline, Runner(1), Runner(2), Thumbnails(Runner(2)))
    view.resize(1280, 760)
    view.show()
    view.search.setText(args.sku)
    view.refresh()
    wait(app, lambda: view.model.rowCount() == 1)
    view.grid.selectionModel().select(view.model.index(0), view.grid.selectionModel().SelectionFlag.Select)
    shown = len(where_used(pipeline.catalog, args.sku, SHOWN))
    wait(app, lambda: view.where_used.sightings.count() == shown)
    wait(app, lambda: view.model.thumbnails.get(view.model.products[0].image_path) is not None)
    for _ in range(20):
        app.processEvents()
    view.grab().save(str(args.out))
    Image.open(args.out).convert("RGB").quantize(256).save(args.out, optimize=True)
    print(f"{args.out}: {shown} sightings of {args.sku}")


if __name__ == "__main__":
    main()
