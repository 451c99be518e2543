"""Retake bundle-export.png and bundle-export-progress.png: Catalog ▸ Export a Catalog Bundle…, the question asked
before the export (the pictures in, or left out), then the export's progress window while it writes the pictures
into the bundle, each over the main window. It answers Export… (the pictures in), then clicks Cancel part-way:
nothing is written, and the message bar says so (printed).

Give it a COPY of a data dir holding the whole IKEA catalog (about 1,900 pictures: the writing lasts long enough
to be caught), and a folder for the bundle:

    decorlens --data-dir /tmp/shop catalog import ikea.csv
    cp -a /tmp/shop /tmp/shop-shot
    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/take_bundle_export.py \\
        --data-dir /tmp/shop-shot --out-dir /tmp/outbox

The PNGs are reduced to 256 colours to stay small.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import HERE, arguments, catalog_window, compose, grab_over, themed_app, until, when_asked

from app.dialogs.bundles import Bundles

WRITING = "Writing the pictures into the bundle: "


def wait(app: QApplication, done, what: str) -> None:
    until(app, done, what, 300.0)


def writing_part_way(tasks: Bundles) -> bool:
    """The progress window shows the pictures being written, a tenth to a half of them done."""
    progress = tasks.progress
    if progress is None or WRITING not in progress.text.text():
        return False
    bar = progress.bar
    return bar.maximum() > 0 and bar.maximum() // 10 <= bar.value() <= bar.maximum() // 2


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--out-dir", type=Path, required=True, help="where the bundle would go (nothing is written)")
    args = parser.parse_args()
    app = themed_app(args.theme)
    win = catalog_window(app, args.data_dir)
    tasks = win._bundle_tasks()
    bundle = args.out_dir / "Spring collection 2027.dlcat"
    tasks.ask_export_path = lambda _pictures: bundle
    asked: list[str] = []

    def answer(box: QMessageBox) -> None:
        out = HERE / "bundle-export.png"
        compose(out, grab_over(app, win, box, out))
        asked.append(box.text())
        box.defaultButton().click()  # Export…, the pictures in

    when_asked(answer)
    tasks.export()
    wait(app, lambda: writing_part_way(tasks), "the pictures being written")
    shown = tasks.progress.text.text()
    out = HERE / "bundle-export-progress.png"
    at = grab_over(app, win, tasks.progress, out, rounds=1)  # at once: the rest of the pictures take a second here
    tasks.progress.cancel.click()
    compose(out, at)
    wait(app, lambda: not tasks.io.busy() and tasks.progress is None, "the export to stop")
    print(f"asked:\n{asked[0]}\n\nshown:\n{shown}\n\nthen: {win.message.text.text()}")
    if bundle.exists():
        raise SystemExit(f"{bundle} was written")


if __name__ == "__main__":
    main()
