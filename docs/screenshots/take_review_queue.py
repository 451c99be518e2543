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

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import arguments, save_small, themed_app, until

from app.dialogs.review_queue import ReviewWindow
from engine.pipeline import Pipeline
from engine.settings import Settings


def wait(app: QApplication, done) -> None:
    until(app, done, "the review queue's rows and pictures", 120.0)


def main() -> None:
    args = arguments(__doc__, "review-queue.png").parse_args()
    app = themed_app(args.theme)
    window = ReviewWindow(Pipeline(Settings.for_data_dir(args.data_dir)))
    window.resize(1360, 720)
    window.show()
    wait(app, lambda: window.table.rowCount() > 0)
    wait(app, lambda: not window.io.busy())  # the queue, then every row's pictures
    window.table.selectRow(1)
    save_small(app, window, args.out)
    print(f"{args.out}: {window.table.rowCount()} rows")


if __name__ == "__main__":
    main()
