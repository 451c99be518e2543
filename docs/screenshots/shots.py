"""What the take_*.py scripts share: their common arguments, the app they start, running its event loop until what
they shoot is ready, and saving the pictures small.

Import it after putting the repository root on ``sys.path``, as the scripts do first."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QApplication, QWidget

from app import theme

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


def save_small(widget: QWidget, out: Path) -> None:
    """``widget`` as it is now, saved to ``out`` in 256 colours (the docs' pictures stay small)."""
    widget.grab().save(str(out))
    Image.open(out).convert("RGB").quantize(256).save(out, optimize=True)
