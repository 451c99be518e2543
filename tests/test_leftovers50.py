"""Leftovers noticed in session 49, each found on a real screen: the Train window's look-alike marks, the Photos
strip's ring, Why this match?'s wide crops, pasted photos' names (Where used, the strip, Review Uncertain Tags).
Real IKEA photos and products; no mocks."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtGui import QColor

from app import theme
from app.thumbnails import Thumbnails
from app.widgets.photo_strip import PAD, RING, PhotoStrip
from app.workers import Runner

pytestmark = pytest.mark.gui
WAIT_MS = 30_000


def _far(colour: QColor, other: QColor) -> int:
    return max(abs(colour.red() - other.red()), abs(colour.green() - other.green()), abs(colour.blue() - other.blue()))


def test_the_open_photo_s_picture_and_name_stand_clear_of_its_ring(qtbot, scene_path) -> None:
    """The open photo's name touched its ring by a pixel, and its picture ran under it at the top: the ring was drawn
    10 px wide (the never-tagged mark's ``RING`` took the name of the open photo's) and the row's picture and name
    were laid out over the whole cell. Between the ring and them now, the row's tint alone."""
    runner = Runner(1)
    strip = PhotoStrip(Thumbnails(runner))
    qtbot.addWidget(strip)
    strip.resize(strip.width(), 400)
    strip.show_photos([scene_path("take-a-comfy-seat-on-the-sofa"), scene_path("purple-bedroom")])
    strip.show()
    qtbot.waitUntil(lambda: strip.count() == 2 and not strip.item(0).icon().isNull(), timeout=WAIT_MS)
    strip.setCurrentRow(0)
    cell = strip.visualRect(strip.model().index(0, 0))
    image = strip.viewport().grab().toImage()
    tint = QColor(theme.colours().pressed)
    corner = 8  # the ring's rounded corners (radius 6) leave the band there
    band = [(x, y) for gap in range(RING, PAD) for x in range(cell.left() + corner, cell.right() - corner)
            for y in (cell.top() + gap, cell.bottom() - gap)]
    band += [(x, y) for gap in range(RING, PAD) for y in range(cell.top() + corner, cell.bottom() - corner)
             for x in (cell.left() + gap, cell.right() - gap)]
    touching = [(x, y) for x, y in band if _far(image.pixelColor(x, y), tint) > 24]
    assert not touching, (len(touching), touching[:5])
    assert _far(image.pixelColor(cell.left(), cell.center().y()), QColor(theme.colours().accent)) < 24  # the ring
