"""Retake the screenshots in this folder (run under Xvfb on a data dir with the IKEA catalog imported).

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

from app.main import application  # noqa: E402
from app.main_window import CATALOG_TAB, MainWindow  # noqa: E402
from app.palette import COLOURS  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.settings import Settings  # noqa: E402

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


def save(window: MainWindow, name: str) -> None:
    path = OUT / name
    window.grab().save(str(path))
    small_png(path)
    print(f"{path} {path.stat().st_size // 1024} KB")


def small_png(path: Path) -> None:
    """256 colours: the pin palette exact (tiny pins vanish in an adaptive palette), the rest adaptive."""
    image = Image.open(path).convert("RGB")
    fixed = [ImageColor.getrgb(c) for c in (*COLOURS, "#ffffff", "#000000", "#2e9d49", "#6b7280")]
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
    app = application()
    store = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Pipeline(Settings.defaults().with_(data_dir=args.data_dir)), AppSettings(store))
    window.resize(1280, 780)
    window.show()
    window.open_paths([args.scene])
    wait(app, lambda: window.controller.scene is not None and bool(window.view.pins))
    window.view.activate(args.pin)
    wait(app, lambda: bool(window.panel.rows))
    pin = window.view.mapFromScene(window.view.pins[args.hover].pos())
    QTest.mouseMove(window.view.viewport(), pin + QPoint(30, 30))
    QTest.mouseMove(window.view.viewport(), pin)
    settle(app, 1.5)
    save(window, "main-window.png")
    window.tabs.setCurrentIndex(CATALOG_TAB)
    window.catalog.category.setCurrentIndex(window.catalog.category.findData("sofa"))
    window.catalog.refresh()
    wait(app, lambda: {p.category for p in window.catalog.model.products} == {"sofa"})
    settle(app, 3)
    save(window, "catalog.png")
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main()
