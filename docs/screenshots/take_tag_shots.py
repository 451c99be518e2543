"""Before/after shots of the tags on one room photo (issue 17): the window with the photo's pins, the
first pin's matches in the panel (or those of a pin of ``--category``, with ``--why`` its Why this match?,
with ``--check`` its matches checked by details) and its hover card.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/take_tag_shots.py \\
        --data-dir DIR --scene PHOTO --out FILE.jpg

The code shown is that of the checkout the script lies in (copy it into a `git worktree` of an older
commit for a "before" shot). A .jpg keeps product photos' colours; a .png is reduced to 256 colours with
the pin palette exact (product thumbnails may then shift hue).
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

from app.main import application
from app.main_window import MainWindow
from app.palette import COLOURS
from app.settings import AppSettings
from engine.pipeline import Pipeline
from engine.settings import Settings


def wait(app, condition, seconds: float = 120) -> None:
    end = time.time() + seconds
    while not condition() and time.time() < end:
        app.processEvents()
        time.sleep(0.01)
    settle(app)


def settle(app, seconds: float = 1.0) -> None:
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)


def small_png(path: Path) -> None:
    """256 colours: the pin palette exact (small pins turn grey in an adaptive palette), the rest adaptive."""
    image = Image.open(path).convert("RGB")
    fixed = [ImageColor.getrgb(c) for c in (*COLOURS, "#ffffff", "#000000")]
    adaptive = image.quantize(256 - len(fixed), method=Image.Quantize.MEDIANCUT).getpalette()
    holder = Image.new("P", (1, 1))
    holder.putpalette([v for rgb in fixed for v in rgb] + adaptive[: 3 * (256 - len(fixed))])
    image.quantize(palette=holder, dither=Image.Dither.NONE).save(path, optimize=True)


def opened(window: MainWindow, category: str | None) -> int:
    """The number of the pin to open: the first, or the first of ``category``, one with parts first."""
    if category is None:
        return min(window.view.pins)
    tags = [t for t in window.controller.scene.visible if t.obj.category == category and t.number in window.view.pins]
    if not tags:
        raise SystemExit(f"no pin of category {category} on this photo")
    return min(tags, key=lambda t: (not t.obj.parts, t.number)).number


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--scene", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--embedder", help="ONNX file name (default: the settings' embedder)")
    parser.add_argument("--detector", action="append", default=[],
                        help="ONNX detector file, repeatable (default: the stock set), e.g. a train-detector model")
    parser.add_argument("--max-tags", type=int, default=0, help="Settings ▸ Tags on a photo: the N surest (0: all)")
    parser.add_argument("--category", help="open the first pin of this category (one with parts first), not pin 1")
    parser.add_argument("--why", action="store_true", help="turn Why this match? on for the opened pin")
    parser.add_argument("--check", action="store_true", help="press Check details for the opened pin")
    args = parser.parse_args()
    app = application()
    store = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.Format.IniFormat)
    settings = Settings.defaults().with_(data_dir=args.data_dir)
    settings = settings.with_(embedder=(args.embedder,)) if args.embedder else settings
    settings = settings.with_(detectors=tuple((d,) for d in args.detector)) if args.detector else settings
    preferences = AppSettings(store)
    preferences.max_tags = args.max_tags
    window = MainWindow(Pipeline(settings), preferences)
    window.resize(1280, 780)
    window.show()
    window.open_paths([args.scene])
    wait(app, lambda: window.controller.scene is not None and bool(window.view.pins))
    first = opened(window, args.category)
    window.view.activate(first)
    wait(app, lambda: window.panel.number == first and bool(window.panel.rows))
    if args.why:
        window.panel.why.click()
        wait(app, lambda: not window.panel.why_view.crop.pixmap().isNull())
    if args.check:
        window.panel.check.click()
        wait(app, lambda: window.panel.check_note.isVisible())
    pin = window.view.mapFromScene(window.view.pins[first].pos())
    QTest.mouseMove(window.view.viewport(), pin + QPoint(30, 30))
    QTest.mouseMove(window.view.viewport(), pin)
    settle(app, 1.5)
    window.grab().save(str(args.out), quality=90)
    if args.out.suffix == ".png":
        small_png(args.out)
    print(f"{args.out} {len(window.view.pins)} pins")
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main()
