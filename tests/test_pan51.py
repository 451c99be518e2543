"""Panning the photo and the map with a trackpad (session 51): a two-finger scroll (wheel events carrying the
fingers' travel in ``pixelDelta``) pans a zoomed view by those pixels, the scroll that goes on after the fingers
lift too; with Ctrl it zooms about the pointer, as a mouse wheel (``angleDelta`` alone) still does. It zoomed, and a
zoomed photo moved only by dragging."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from map_data import synthetic
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QGraphicsView
from trackpad_events import room_view, wheel

from app.thumbnails import Thumbnails
from app.widgets.map_canvas import MapCanvas
from app.widgets.scene_view import MAX_ZOOM, SceneView
from engine.corrections import Tag
from engine.results import SceneObject

pytestmark = pytest.mark.gui
NOTCH = QPoint(0, 120)  # a mouse wheel's notch: an angle, no pixels
FINGERS = QPoint(30, -20)  # a two-finger scroll's travel (right and up), in pixels
ANGLE = QPoint(60, -40)  # what Qt makes of it as a wheel's turn (macOS: 2 per pixel)
SOFA_AND_LAMP = ((20.0, 300.0, 300.0, 500.0), (420.0, 120.0, 520.0, 400.0))  # boxes in the room photo


def on_screen(view: QGraphicsView, numbers: list[int]) -> list[QPoint]:
    return [view.mapFromScene(view.pins[n].pos()) for n in numbers]


@pytest.fixture
def photo_view(qtbot, runner, scene_path) -> SceneView:
    """The photo view, laptop-sized, showing a real room photo fit to it, a sofa and a lamp pinned on it."""
    view = room_view(qtbot, runner, scene_path)
    view.set_tags([Tag(n, SceneObject(kind, kind, 0.9, box, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)))
                   for n, kind, box in zip((1, 2), ("sofa", "lamp"), SOFA_AND_LAMP, strict=True)])
    return view


@pytest.fixture
def map_canvas(qtbot, runner) -> MapCanvas:
    canvas = MapCanvas(Thumbnails(runner))
    qtbot.addWidget(canvas)
    canvas.resize(600, 420)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.show_map(*synthetic(200))
    yield canvas
    canvas.clear()


def test_two_fingers_pan_the_zoomed_photo_and_its_pins_and_fling_on(photo_view: SceneView):
    """The photo and its pins move with the fingers, in both axes, at the zoom shown; the scroll that goes on
    after the fingers lift moves it on; neither zooms. A mouse wheel's notch still zooms."""
    viewport = photo_view.viewport()
    photo_view.zoom(4.0, viewport.rect().center())
    scale, pins, placed = photo_view.transform().m11(), on_screen(photo_view, [1, 2]), photo_view.pins[1].pos()
    wheel(viewport, FINGERS, ANGLE)
    assert photo_view.transform().m11() == scale
    assert on_screen(photo_view, [1, 2]) == [p + FINGERS for p in pins]
    assert photo_view.pins[1].pos() == placed  # on its object, not re-laid out
    wheel(viewport, QPoint(-10, 5), QPoint(-20, 10), phase=Qt.ScrollPhase.ScrollMomentum)
    assert photo_view.transform().m11() == scale
    assert on_screen(photo_view, [1, 2]) == [p + FINGERS + QPoint(-10, 5) for p in pins]
    wheel(viewport, QPoint(), NOTCH)
    assert photo_view.transform().m11() == pytest.approx(scale * 1.25, rel=1e-3)


def test_two_fingers_neither_zoom_nor_move_the_photo_fit_to_the_view(photo_view: SceneView):
    """Nothing to pan: the photo stays as it is (zooming there would turn the same swipe into a pan halfway)."""
    fit, pins = photo_view.transform().m11(), on_screen(photo_view, [1, 2])
    for _ in range(10):
        wheel(photo_view.viewport(), FINGERS, ANGLE)
    assert photo_view.transform().m11() == fit
    assert on_screen(photo_view, [1, 2]) == pins


def test_ctrl_and_two_fingers_zoom_the_photo_about_the_pointer_up_to_its_limit_but_not_their_fling(
        photo_view: SceneView):
    viewport = photo_view.viewport()
    photo_view.zoom(2.0, viewport.rect().center())  # both ways larger than the view: no side kept centred
    pointer = QPoint(150, 120)
    under = photo_view.mapToScene(pointer)
    before = photo_view.transform().m11()
    ctrl = Qt.KeyboardModifier.ControlModifier
    wheel(viewport, QPoint(0, 20), QPoint(0, 40), pointer, modifiers=ctrl)
    zoomed = photo_view.transform().m11()
    assert zoomed == pytest.approx(before * 1.25 ** (40 / 120), rel=1e-3)
    moved = photo_view.mapFromScene(under) - pointer
    assert abs(moved.x()) <= 1 and abs(moved.y()) <= 1, moved
    for _ in range(20):
        wheel(viewport, QPoint(0, 20), QPoint(0, 40), pointer, Qt.ScrollPhase.ScrollMomentum, ctrl)
    assert photo_view.transform().m11() == zoomed
    for _ in range(200):
        wheel(viewport, QPoint(0, 20), QPoint(0, 40), pointer, modifiers=ctrl)
    assert photo_view.transform().m11() == pytest.approx(MAX_ZOOM)
    scrolled = photo_view.horizontalScrollBar().value()
    wheel(viewport, FINGERS, ANGLE, pointer)  # without Ctrl the same fingers pan
    assert photo_view.horizontalScrollBar().value() == scrolled - FINGERS.x()


def test_two_fingers_pan_the_zoomed_map_and_fling_on_and_the_wheel_zooms(map_canvas: MapCanvas):
    viewport = map_canvas.viewport()
    whole = map_canvas.transform().m11()
    wheel(viewport, QPoint(), NOTCH * 5)  # a mouse wheel: five notches in
    scale = map_canvas.transform().m11()
    assert scale == pytest.approx(whole * 1.0015**600, rel=1e-3)
    middle = map_canvas.mapToScene(viewport.rect().center())
    wheel(viewport, FINGERS, ANGLE)
    wheel(viewport, QPoint(-10, 5), QPoint(-20, 10), phase=Qt.ScrollPhase.ScrollMomentum)
    assert map_canvas.transform().m11() == scale
    shift = map_canvas.mapFromScene(middle) - viewport.rect().center()
    assert shift == FINGERS + QPoint(-10, 5)


def test_two_fingers_leave_the_whole_map_as_it_is(map_canvas: MapCanvas):
    whole = map_canvas.transform().m11()
    middle = map_canvas.mapToScene(map_canvas.viewport().rect().center())
    for _ in range(10):
        wheel(map_canvas.viewport(), FINGERS, ANGLE)
    assert map_canvas.transform().m11() == whole
    assert map_canvas.mapToScene(map_canvas.viewport().rect().center()) == middle


def test_ctrl_and_two_fingers_zoom_the_map_about_the_pointer(map_canvas: MapCanvas):
    """It zoomed about Qt's anchor under the mouse: the point of the last mouse move, or the view's middle."""
    wheel(map_canvas.viewport(), QPoint(), NOTCH * 3)  # wider than the view, which no longer centres it
    pointer = QPoint(120, 90)
    under = map_canvas.mapToScene(pointer)
    before = map_canvas.transform().m11()
    wheel(map_canvas.viewport(), QPoint(0, 60), QPoint(0, 120), pointer,
          modifiers=Qt.KeyboardModifier.ControlModifier)
    assert map_canvas.transform().m11() == pytest.approx(before * 1.0015**120, rel=1e-3)
    moved = map_canvas.mapFromScene(under) - pointer
    assert abs(moved.x()) <= 1 and abs(moved.y()) <= 1, moved
