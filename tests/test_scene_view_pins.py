"""Pins on screen at the zoom shown: never overlapping, on the photo, each led to its object when moved off it."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt

from app.widgets.pins import RADIUS

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOMS = ("bed-that-folds", "a-bright-kitchen", "contemporary-kitchen")  # many tags, some close together


def _on_screen(view, point: QPointF) -> tuple[float, float]:
    p = view.viewportTransform().map(point)  # not mapFromScene's whole pixels: a leader shows past RADIUS exactly
    return p.x(), p.y()


def _check_pins(view) -> None:
    """No two pins' discs overlap on screen; each shows whole on the photo; one off its point is led to it."""
    photo = view.mapFromScene(view.sceneRect()).boundingRect()
    shown = {n: _on_screen(view, pin.pos()) for n, pin in view.pins.items()}
    near = [(n, m) for n, a in shown.items() for m, b in shown.items() if n < m and math.dist(a, b) < 2 * RADIUS]
    assert not near, near
    outside = [n for n, (x, y) in shown.items() if not (photo.left() + RADIUS - 1 <= x <= photo.right() - RADIUS + 1
                                                        and photo.top() + RADIUS - 1 <= y <= photo.bottom() - RADIUS + 1)]
    assert not outside, (outside, photo)
    for n, (x, y) in shown.items():
        moved = math.dist((x, y), _on_screen(view, view.pins[n].point)) > RADIUS
        assert view.leaders[n].isVisible() == moved


@pytest.mark.parametrize("room", ROOMS)
def test_pins_never_overlap_with_the_photos_strip_open_nor_zoomed_out(qtbot, active_window, scene_path, room):
    """The engine spaces pins for the photo fit to the window: with the Photos strip open the photo is smaller
    and neighbours touched or hid each other's numbers."""
    win, path = active_window, scene_path(room)
    win.open_paths([path])
    qtbot.waitUntil(lambda: win.controller.path == path and bool(win.view.pins), timeout=WAIT_MS)
    win.photo_dock.show()
    win.resize(900, 640)
    qtbot.waitUntil(lambda: win.view.viewport().width() < 600, timeout=WAIT_MS)
    view = win.view
    _check_pins(view)
    view.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    _check_pins(view)
    for _ in range(6):
        qtbot.keyClick(view, Qt.Key.Key_Plus)
    _check_pins(view)
    assert not any(leader.isVisible() for leader in view.leaders.values())  # close up, every pin is on its point
