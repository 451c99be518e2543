"""Found walking the app as an interior designer with inspiration photos (session 49): real photos, models and
the IKEA catalog, offscreen (pytest-qt)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from test_app_designer import FLOOR_LAMP, ROOM, WAIT_MS, draw_box

pytestmark = pytest.mark.gui


def wheel(view, at: QPoint, notches: int = 1) -> None:
    """The mouse wheel turned over the photo at ``at`` (viewport pixels), the mouse not moved first."""
    event = QWheelEvent(QPointF(at), QPointF(view.viewport().mapToGlobal(at)), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def test_the_wheel_zooms_on_the_point_under_the_mouse_right_after_a_box_is_drawn(qtbot, window, scene_path):
    """Drawing a box is a drag the view's own mouse handling never saw, so a wheel turned where the drag ended
    zoomed about where it began, and the photo jumped by the box's size; the point under the mouse stays put."""
    window.open_paths([scene_path(ROOM)])
    qtbot.waitUntil(lambda: window.controller.scene is not None and bool(window.view.pins), timeout=WAIT_MS)
    draw_box(qtbot, window, FLOOR_LAMP)
    view = window.view
    end = view.mapFromScene(QPointF(*FLOOR_LAMP[2:]))
    under = view.mapToScene(end)
    for _ in range(3):
        wheel(view, end)
        moved = view.mapFromScene(under) - end
        assert abs(moved.x()) <= 1 and abs(moved.y()) <= 1, moved
