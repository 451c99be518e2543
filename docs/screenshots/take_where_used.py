"""Retake where-used.png: the Catalog tab with one product selected and its Where used panel; then
looks-like-it.png, the same product under the panel's Looks like it tab.

The data dir must hold the IKEA catalog and the shared scenes tagged into its scene memory:

    decorlens --data-dir DIR catalog import ../shared/datasets/ikea_interior/products.csv
    decorlens --data-dir DIR tag ../shared/datasets/ikea_interior/scenes --out /tmp/tagged
    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_where_used.py --data-dir DIR [--sku 402.288.12]

The PNG is reduced to 256 colours to stay small; the room photos in it are research data, shown for
documentation only.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import arguments, save_small, themed_app, until

from app.thumbnails import Thumbnails
from app.widgets.catalog_view import CatalogView
from app.widgets.where_used import ALIKE, LOOKS_LIKE, SHOWN
from app.workers import Runner
from engine.pipeline import Pipeline
from engine.scene_memory import product_vector, rooms_like, where_used
from engine.settings import Settings


def wait(app: QApplication, done) -> None:
    until(app, done, "the catalog view", 60.0)


def main() -> None:
    parser = arguments(__doc__, "where-used.png")
    parser.add_argument("--sku", default="402.288.12", help="the product shown (IDOLF chair)")
    args = parser.parse_args()
    app = themed_app(args.theme)  # light unless asked: as the app looks, whatever the desktop
    pipeline = Pipeline(Settings.for_data_dir(args.data_dir))
    view = CatalogView(pipeline, Runner(1, app), Runner(2, app), Thumbnails(Runner(2, app)))
    view.resize(1280, 760)
    view.show()
    view.search.blockSignals(True)  # no second listing (the typing delay) to drop the selection later
    view.search.setText(args.sku)
    view.search.blockSignals(False)
    view.refresh()
    wait(app, lambda: view.model.rowCount() == 1)
    view.grid.selectionModel().select(view.model.index(0), view.grid.selectionModel().SelectionFlag.Select)
    shown = len(where_used(pipeline.catalog, args.sku, SHOWN))
    wait(app, lambda: view.where_used.sightings.count() == shown)
    wait(app, lambda: view.model.thumbnails.get(view.model.products[0].image_path) is not None)
    save_small(app, view, args.out)
    print(f"{args.out}: {shown} sightings of {args.sku}")
    view.where_used.mode.setCurrentIndex(LOOKS_LIKE)
    alike = len(rooms_like(pipeline, product_vector(pipeline, args.sku), ALIKE))
    wait(app, lambda: view.where_used.sightings.count() == alike and "Looks like" in view.where_used.title.text())
    save_small(app, view, args.out.with_name("looks-like-it.png"))
    print(f"{args.out.with_name('looks-like-it.png')}: {alike} photos looking like {args.sku}")


if __name__ == "__main__":
    main()
