"""Wheel and pinch events as a mouse or a trackpad sends them, and the laptop-sized room photo view that the
trackpad tests (session 51) send them to."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QNativeGestureEvent, QPointingDevice, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.thumbnails import Thumbnails
from app.widgets.scene_view import SceneView
from app.workers import Runner


def wheel(widget: QWidget, pixels: QPoint, angle: QPoint, at: QPoint | None = None,
          phase: Qt.ScrollPhase = Qt.ScrollPhase.ScrollUpdate,
          modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """One wheel event at ``at`` (default: the middle) of ``widget`` (a view's viewport): a trackpad's carries
    ``pixels``, a mouse wheel's none."""
    point = QPointF(at if at is not None else widget.rect().center())
    QApplication.sendEvent(widget, QWheelEvent(point, QPointF(widget.mapToGlobal(point.toPoint())), pixels, angle,
                                               Qt.MouseButton.NoButton, modifiers, phase, False))


def pinch(widget: QWidget, change: float) -> None:
    """One event of a trackpad pinch over the middle of ``widget``: the scale grew by ``change`` since the last."""
    at = QPointF(widget.rect().center())
    QApplication.sendEvent(widget, QNativeGestureEvent(
        Qt.NativeGestureType.ZoomNativeGesture, QPointingDevice.primaryPointingDevice(), 2, at, at,
        QPointF(widget.mapToGlobal(at.toPoint())), change, QPointF(), 0))


def room_view(qtbot, runner: Runner, scene_path: Callable[[str], object]) -> SceneView:
    """The photo view, laptop-sized, showing a real room photo fit to it."""
    view = SceneView(Thumbnails(runner))
    qtbot.addWidget(view)
    view.resize(560, 400)
    view.show()
    qtbot.waitExposed(view)
    view.show_photo(QImage(str(scene_path("a-living-space-to-snuggle"))))
    return view
