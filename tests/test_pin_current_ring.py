"""The current pin (the keyboard's, or the one whose matches show) stands out on any photo: found on a dark bedroom
photo in the dark theme, where its see-through halo stood 1.6:1 from the photo (a magenta pin) and 1.0:1 on a mid
grey, so the keyboard's pin looked like its neighbours. Each category's pin is drawn offscreen over a near-black, a
white and a mid-grey ground and its halo's edge measured against the ground (WCAG 1.4.11: 3:1 for a shape)."""

from __future__ import annotations

import math
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from contrast import SHAPE_CONTRAST, contrast
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsScene

from app.palette import COLOURS
from app.widgets.pins import HALO, RADIUS, PinItem
from engine.corrections import Tag
from engine.results import SceneObject

SIDE = 2 * int(RADIUS + HALO + 4)
GROUNDS = ("#111111", "#ffffff", "#777777", "#30343a")  # a dark room, a white wall, a grey sofa, the view's margin


def drawn(colour: str, ground: str, current: bool) -> QImage:
    """A pin of ``colour`` (current or not) drawn centred on ``ground``, as the photo's view draws it."""
    scene = QGraphicsScene(QRectF(-SIDE / 2, -SIDE / 2, SIDE, SIDE))
    pin = PinItem(Tag(1, SceneObject("sofa", "sofa", 0.9, (0, 0, 10, 10), (0.0, 0.0))), colour)
    pin.set_current(current)
    scene.addItem(pin)
    image = QImage(SIDE, SIDE, QImage.Format.Format_RGB32)
    image.fill(QColor(ground))
    painter = QPainter(image)
    scene.render(painter, QRectF(0, 0, SIDE, SIDE), scene.sceneRect())
    painter.end()
    return image


def halo_edge() -> list[tuple[int, int]]:
    """The pixels past the pin's own white line and within its reach (``RADIUS + HALO``), in its top half (clear of
    the pin's shadow below)."""
    centre = SIDE / 2
    return [(x, y) for x in range(SIDE) for y in range(int(centre))
            if RADIUS + 2.5 <= math.hypot(x + 0.5 - centre, y + 0.5 - centre) <= RADIUS + HALO]


def test_the_current_pin_stands_out_on_dark_light_and_grey_photos(qapp):
    edge, weak = halo_edge(), []
    for ground in GROUNDS:
        for colour in COLOURS:
            image = drawn(colour, ground, current=True)
            best = max(contrast(image.pixelColor(x, y), ground) for x, y in edge)
            if best < SHAPE_CONTRAST:
                weak.append(f"{colour} on {ground}: {best:.2f}:1")
    assert not weak, weak
    plain = drawn(COLOURS[0], GROUNDS[0], current=False)
    assert {plain.pixelColor(x, y).name() for x, y in edge} == {GROUNDS[0]}  # other pins keep the ring's room clear
