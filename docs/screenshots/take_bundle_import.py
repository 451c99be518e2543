"""Retake bundle-import.png: Catalog ▸ Import a Catalog Bundle…, the question asked before the import, over the
main window. It answers Cancel: nothing is imported.

Give it a COPY of a till's data dir (the whole IKEA catalog with tagged scenes) and a bundle made with another
embedder, so the question shows every paragraph it can:

    decorlens --data-dir /tmp/hq --embedder effnet_lite0_gem.onnx catalog import spring.csv
    decorlens --data-dir /tmp/hq --embedder effnet_lite0_gem.onnx bundle export "/tmp/Spring collection 2027.dlcat"
    cp -a TILL /tmp/till-shot
    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/take_bundle_import.py \\
        --data-dir /tmp/till-shot --bundle "/tmp/Spring collection 2027.dlcat"

The PNG is reduced to 256 colours to stay small.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import arguments, catalog_window, compose, grab_over, themed_app, until, when_asked


def main() -> None:
    parser = arguments(__doc__, "bundle-import.png")
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--images-from", type=Path, help="the shared folder, for a bundle exported --no-images")
    args = parser.parse_args()
    app = themed_app(args.theme)
    win = catalog_window(app, args.data_dir)
    tasks = win._bundle_tasks()
    tasks.ask_bundle = lambda: args.bundle
    tasks.ask_images_folder = lambda _info: args.images_from
    shot: list[str] = []

    def answer(box: QMessageBox) -> None:
        at = grab_over(app, win, box, args.out)
        shot.append(box.text())
        box.reject()
        compose(args.out, at)

    when_asked(answer)
    tasks.import_()
    until(app, lambda: shot and not tasks.io.busy(), "the window", 300.0)
    print(f"{args.out}:\n{shot[0]}")


if __name__ == "__main__":
    main()
