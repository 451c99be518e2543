"""What the take_*.py scripts share: running the app's event loop until what they shoot is ready."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtWidgets import QApplication


def until(app: QApplication, done: Callable[[], object], what: str, seconds: float) -> None:
    """Process the app's events until ``done()``; after ``seconds`` stop the script, naming ``what`` it waited for."""
    end = time.monotonic() + seconds
    while not done():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)
