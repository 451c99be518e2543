"""What the take_*.py scripts share: their common arguments, the app they start, running its event loop until what
they shoot is ready, and saving or composing the pictures small.

Import it after putting the repository root on ``sys.path``, as the scripts do first."""

from __future__ import annotations

import argparse
import atexit
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app import theme
from app.main_window import CATALOG_TAB, MainWindow
from app.settings import AppSettings
from engine.pipeline import Pipeline
from engine.settings import Settings

HERE = Path(__file__).parent


def until(app: QApplication, done: Callable[[], object], what: str, seconds: float) -> None:
    """Process the app's events until ``done()``; after ``seconds`` stop the script, naming ``what`` it waited for."""
    end = time.monotonic() + seconds
    while not done():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def arguments(doc: str, picture: str | None = None) -> argparse.ArgumentParser:
    """``--data-dir`` and ``--theme``, which every shot of a data dir takes, and with ``picture`` ``--out`` (by
    default that file beside the scripts, where docs/app.md finds it); the script adds its own."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    if picture:
        parser.add_argument("--out", type=Path, default=HERE / picture)
    return parser


def themed_app(name: str) -> QApplication:
    """The application, in the ``--theme`` asked for."""
    app = QApplication([])
    theme.apply(app, name)
    return app


def settle(app: QApplication, rounds: int = 20) -> None:
    """``rounds`` turns of the app's event loop, so the paints and layouts the last step queued are in the picture
    taken next (every shot waits so before its grab)."""
    for _ in range(rounds):
        app.processEvents()


def save_small(app: QApplication, widget: QWidget, out: Path) -> None:
    """``widget`` once the app has settled, saved to ``out`` in 256 colours (the docs' pictures stay small)."""
    settle(app)
    widget.grab().save(str(out))
    Image.open(out).convert("RGB").quantize(256).save(out, optimize=True)


def scratch() -> Path:
    """A temporary folder for a shot's settings or photo folder, removed when the script ends: each run left one
    behind in the temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="decorlens-shot-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def catalog_window(app: QApplication, data_dir: Path) -> MainWindow:
    """The main window over ``data_dir`` at 1180 × 760 on its Catalog tab, once its models and catalog are in. Its
    settings file is a new one of its own: the user's recent photos are not shown."""
    ini = scratch() / "settings.ini"
    settings = AppSettings(QSettings(str(ini), QSettings.Format.IniFormat))
    win = MainWindow(Pipeline(Settings.for_data_dir(data_dir)), settings)
    win.resize(1180, 760)
    win.show()
    until(app, lambda: win.engine_info is not None and win.catalog.model.rowCount() > 0, "the window", 300.0)
    win.tabs.setCurrentIndex(CATALOG_TAB)
    return win


def when_asked(answer: Callable[[QMessageBox], None]) -> None:
    """Calls ``answer`` with the app's question once it is up: set before the step that asks, whose question then
    blocks the script's own line (looked for every 50 ms)."""

    def look() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            answer(box)
        else:
            QTimer.singleShot(50, look)

    QTimer.singleShot(50, look)


def grab_over(app: QApplication, win: QWidget, front: QWidget, out: Path, rounds: int = 20) -> tuple[int, int]:
    """The window and ``front`` saved after ``rounds`` of ``settle``, for ``compose`` to put together; where ``front``
    is."""
    settle(app, rounds)
    win.grab().save(str(out))
    front.grab().save(str(out.with_suffix(".front.png")))
    at = front.mapToGlobal(front.rect().topLeft()) - win.mapToGlobal(win.rect().topLeft())
    return at.x(), at.y()


def compose(out: Path, at: tuple[int, int]) -> None:
    """The front window ``grab_over`` saved, over the window, dimmed as behind a modal window, framed as a window
    manager would (Xvfb has none: the front's edge was lost against the window behind it)."""
    front_file = out.with_suffix(".front.png")
    back = Image.open(out).convert("RGB")
    back = Image.blend(back, Image.new("RGB", back.size, (0, 0, 0)), 0.35)
    front = Image.open(front_file).convert("RGB")
    x, y = at
    ImageDraw.Draw(back).rectangle((x - 1, y - 1, x + front.width, y + front.height), outline=(90, 90, 90))
    back.paste(front, at)
    back.quantize(256).save(out, optimize=True)
    front_file.unlink()
