"""Retake review-queue.png: Catalog ▸ Review Uncertain Tags… with real rows, each showing its object cut
from its photo beside the best match's and the runner-up's product photos.

The data dir must hold the IKEA catalog and some shared scenes tagged into its scene memory:

    decorlens --data-dir DIR catalog import ../shared/datasets/ikea_interior/products.csv
    decorlens --data-dir DIR tag SCENES --out /tmp/tagged   # SCENES: links to shared scenes (the shot: 40 of them)
    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/take_review_queue.py --data-dir DIR

The PNG is reduced to 256 colours to stay small; the room photos in it are research data, shown for
documentation only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import until

from app import theme
from app.dialogs.review_queue import ReviewWindow
from engine.pipeline import Pipeline
from engine.settings import Settings


def wait(app: QApplication, done) -> None:
    until(app, done, "the review queue's rows and pictures", 120.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("review-queue.png"))
    args = parser.parse_args()
    app = QApplication([])
    theme.apply(app, args.theme)
    window = ReviewWindow(Pipeline(Settings.for_data_dir(args.data_dir)))
    window.resize(1360, 720)
    window.show()
    wait(app, lambda: window.table.rowCount() > 0)
    wait(app, lambda: not window.io.busy())  # the queue, then every row's pictures
    window.table.selectRow(1)
    for _ in range(20):
        app.processEvents()
    window.grab().save(str(args.out))
    Image.open(args.out).convert("RGB").quantize(256).save(args.out, optimize=True)
    print(f"{args.out}: {window.table.rowCount()} rows")


if __name__ == "__main__":
    main()
