"""Retake the screenshots in this folder (run under Xvfb on a data dir with the IKEA catalog imported):
the main window in the light and the dark theme, the catalog, Settings (plain and advanced), Batch.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/take_screenshots.py \
        --data-dir DIR [--scene PHOTO]

The PNGs are reduced to 256 colours to stay small; the room photo in them is research data, shown
for documentation only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageColor
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtTest import QTest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import theme
from app.dialogs.batch import BatchDialog
from app.dialogs.settings import SettingsDialog
from app.main import application
from app.main_window import CATALOG_TAB, MainWindow
from app.palette import COLOURS
from app.settings import AppSettings
from engine.pipeline import Pipeline
from engine.settings import Settings

SCENE = ROOT.parent / "shared/datasets/ikea_interior/scenes"
OUT = Path(__file__).resolve().parent


def wait(app, condition, seconds: float = 60) -> None:
    end = time.time() + seconds
    while not condition() and time.time() < end:
        app.processEvents()
        time.sleep(0.01)
    settle(app)


def settle(app, seconds: float = 0.6) -> None:
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)


def save(widget, name: str) -> None:
    path = OUT / name
    widget.grab().save(str(path))
    small_png(path)
    print(f"{path} {path.stat().st_size // 1024} KB")


def photo_folder(scene: Path, home: Path, count: int = 6) -> Path:
    """A folder of room photos holding ``scene`` under ``home``, so the window shows its thumbnail strip."""
    folder = home / "Pictures" / "Spring lookbook"
    folder.mkdir(parents=True)
    for photo in [scene, *sorted(p for p in scene.parent.glob("*.jpg") if p != scene)[: count - 1]]:
        (folder / photo.name).symlink_to(photo)
    return folder


def small_png(path: Path) -> None:
    """256 colours: the pin palette exact (tiny pins vanish in an adaptive palette), the rest adaptive."""
    image = Image.open(path).convert("RGB")
    fixed = [ImageColor.getrgb(c) for c in (*COLOURS, "#ffffff", "#000000", theme.GREEN, "#6b7280")]
    adaptive = image.quantize(256 - len(fixed), method=Image.Quantize.MEDIANCUT).getpalette()
    palette = [v for rgb in fixed for v in rgb] + adaptive[: 3 * (256 - len(fixed))]
    holder = Image.new("P", (1, 1))
    holder.putpalette(palette)
    image.quantize(palette=holder, dither=Image.Dither.NONE).save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--scene", type=Path, default=next(SCENE.glob("*a-living-space-to-snuggle*")))
    parser.add_argument("--pin", type=int, default=1, help="the tag whose matches are shown")
    parser.add_argument("--hover", type=int, default=8, help="the tag whose hover card is shown")
    args = parser.parse_args()
    # the folder's name shows in the window and the Batch dialog: a merchandiser's home, removed after
    with tempfile.TemporaryDirectory(prefix="merchandiser-") as home:
        shoot(args, Path(home))


def shoot(args: argparse.Namespace, home: Path) -> None:
    app = application()
    theme.apply(app, "light")
    store = QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat)
    settings = AppSettings(store)
    window = MainWindow(Pipeline(Settings.defaults().with_(data_dir=args.data_dir)), settings)
    window.resize(1440, 860)
    window.show()
    folder = photo_folder(args.scene, home)
    window.open_paths([folder])
    wait(app, lambda: window.controller.path is not None and window.photo_list.count() > 1)
    photo = folder / args.scene.name
    window.photo_list.setCurrentRow(window.photo_list.photos.index(photo))
    # the folder's first photo may still be showing its pins: wait for this photo's own
    wait(app, lambda: window.controller.path == photo and window.controller.scene is not None
         and bool(window.view.pins), 120)
    window.view.activate(args.pin)
    wait(app, lambda: bool(window.panel.rows))
    hover = args.hover if args.hover in window.view.pins else max(window.view.pins)
    pin = window.view.mapFromScene(window.view.pins[hover].pos())
    QTest.mouseMove(window.view.viewport(), pin + QPoint(30, 30))
    QTest.mouseMove(window.view.viewport(), pin)
    settle(app, 1.5)
    save(window, "main-window.png")
    theme.apply(app, "dark")
    settle(app, 1.5)
    QTest.mouseMove(window.view.viewport(), pin + QPoint(30, 30))
    QTest.mouseMove(window.view.viewport(), pin)
    settle(app, 1.0)
    save(window, "main-window-dark.png")
    theme.apply(app, "light")
    window.tabs.setCurrentIndex(CATALOG_TAB)
    window.catalog.category.setCurrentIndex(window.catalog.category.findData("sofa"))
    window.catalog.refresh()
    wait(app, lambda: {p.category for p in window.catalog.model.products} == {"sofa"})
    settle(app, 3)
    save(window, "catalog.png")
    dialog = SettingsDialog(settings, window.pipeline.categories.categories, args.data_dir, parent=window)
    dialog.show()
    settle(app, 1)
    save(dialog, "settings.png")
    dialog.advanced_toggle.setChecked(True)
    settle(app, 1)
    save(dialog, "settings-advanced.png")
    dialog.reject()
    window.tabs.setCurrentIndex(0)
    window.batch()  # its Photos: the folder the window looks through
    batch = window.findChild(BatchDialog)
    batch.target.setText(str(folder.parent / "Spring lookbook tagged"))
    settle(app, 1)
    save(batch, "batch.png")
    batch.close()
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main()
