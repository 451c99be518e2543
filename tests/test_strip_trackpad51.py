"""The Photos strip follows a trackpad's fingers as the other lists do (session 51)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from test_laptop51 import swipe

from app.thumbnails import Thumbnails
from app.widgets.photo_strip import PhotoStrip
from app.workers import Runner


def test_the_photos_strip_follows_the_fingers(qtbot, qapp, tmp_path: Path) -> None:
    """Each 3 px of a two-finger swipe moved the strip 75 px: a photo and a half went by unseen."""
    strip = PhotoStrip(Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(strip)
    strip.resize(strip.width(), 400)
    strip.show_photos([tmp_path / f"room{n}.jpg" for n in range(40)], folder=tmp_path)
    strip.show()
    bar = strip.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 1000)
    for moved in range(1, 4):
        swipe(strip.viewport())
        assert bar.value() == 3 * moved
