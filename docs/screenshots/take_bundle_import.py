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

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import until

from app import theme
from app.main_window import CATALOG_TAB, MainWindow
from app.settings import AppSettings
from engine.pipeline import Pipeline
from engine.settings import Settings


def wait(app: QApplication, done) -> None:
    until(app, done, "the window", 300.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--images-from", type=Path, help="the shared folder, for a bundle exported --no-images")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("bundle-import.png"))
    args = parser.parse_args()
    app = QApplication([])
    theme.apply(app, args.theme)
    ini = Path(tempfile.mkdtemp(prefix="decorlens-shot-")) / "settings.ini"
    settings = AppSettings(QSettings(str(ini), QSettings.Format.IniFormat))  # not the user's recent photos
    win = MainWindow(Pipeline(Settings.for_data_dir(args.data_dir)), settings)
    win.resize(1180, 760)
    win.show()
    wait(app, lambda: win.engine_info is not None and win.catalog.model.rowCount() > 0)
    win.tabs.setCurrentIndex(CATALOG_TAB)
    tasks = win._bundle_tasks()
    tasks.ask_bundle = lambda: args.bundle
    tasks.ask_images_folder = lambda _info: args.images_from
    shot: list[str] = []

    def grab() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, grab)
            return
        for _ in range(20):
            app.processEvents()
        win.grab().save(str(args.out))
        box.grab().save(str(args.out.with_suffix(".box.png")))
        shot.append(box.text())
        at = box.mapToGlobal(box.rect().topLeft()) - win.mapToGlobal(win.rect().topLeft())
        box.reject()
        compose(args.out, args.out.with_suffix(".box.png"), (at.x(), at.y()))

    QTimer.singleShot(50, grab)
    tasks.import_()
    wait(app, lambda: shot and not tasks.io.busy())
    print(f"{args.out}:\n{shot[0]}")


def compose(window: Path, box: Path, at: tuple[int, int]) -> None:
    """The question over the window, dimmed as behind a modal question, framed as a window manager would
    (Xvfb has none: the box's edge was lost against the window behind it)."""
    back = Image.open(window).convert("RGB")
    back = Image.blend(back, Image.new("RGB", back.size, (0, 0, 0)), 0.35)
    front = Image.open(box).convert("RGB")
    x, y = at
    ImageDraw.Draw(back).rectangle((x - 1, y - 1, x + front.width, y + front.height), outline=(90, 90, 90))
    back.paste(front, at)
    back.quantize(256).save(window, optimize=True)
    box.unlink()


if __name__ == "__main__":
    main()
