"""Trackpad input: two-finger scrolling by the distance the fingers moved (lists scroll, a zoomed photo or map pans),
pinch zoom, and no zoom after the fingers lift.

A trackpad (macOS, libinput on Wayland) sends many small wheel events, each with the distance moved in pixels
(``pixelDelta``) beside a small ``angleDelta``. Qt's scroll bars read only the angle, as a mouse wheel's notches:
in the catalog's grid, whose step is a row of tiles, each 3 px of finger travel moved the tiles 114 px. A pinch
comes as a ``QNativeGestureEvent`` (``ZoomNativeGesture``), which views ignore unless they read it; the scroll that
macOS keeps sending after the fingers lift (``ScrollMomentum``) kept a wheel-zoomed photo zooming. On the photo and
the map, where the wheel zooms, a two-finger scroll zoomed too and a zoomed view could be moved only by dragging:
there it pans now, as in photo and map apps, and zooms with Ctrl held (``pan_by_pixels``).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea

STEADY = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier  # Qt's own page / axis scrolling


def scroll_by_pixels(area: QAbstractScrollArea, event: QWheelEvent) -> bool:
    """Move ``area``'s contents by the pixels a trackpad says the fingers moved; False (left to Qt) for a mouse
    wheel, which says none, or with Ctrl or Shift held."""
    return _follow(area, event, STEADY)


def pan_by_pixels(view: QAbstractScrollArea, event: QWheelEvent) -> bool:
    """Pan a zoomable view (the photo, the map) by the pixels a two-finger scroll moved, the scroll that goes on
    after the fingers lift included (their fling); False for what zooms: a mouse wheel (no pixels) or Ctrl held.
    Where the whole view shows, nothing moves: the scroll bars have no range."""
    return _follow(view, event, Qt.KeyboardModifier.ControlModifier)


def _follow(area: QAbstractScrollArea, event: QWheelEvent, unless: Qt.KeyboardModifier) -> bool:
    """Move ``area``'s contents by ``event``'s pixels, unless it has none or one of ``unless`` is held."""
    moved = event.pixelDelta()
    if moved.isNull() or event.modifiers() & unless:
        return False
    for bar, delta in ((area.horizontalScrollBar(), moved.x()), (area.verticalScrollBar(), moved.y())):
        bar.setValue(bar.value() - delta)
    event.accept()
    return True


class PixelScroll(QObject):
    """Scrolls a scroll area by a trackpad's pixels (``scroll_by_pixels``): installed on its viewport, where wheel
    events arrive."""

    def __init__(self, area: QAbstractScrollArea):
        super().__init__(area)
        self.area = area
        area.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        return event.type() == QEvent.Type.Wheel and scroll_by_pixels(self.area, event)


def pinch(event: QEvent) -> float | None:
    """The factor a trackpad pinch zooms by (``value`` is the change of scale since the last event), else None."""
    if event.type() == QEvent.Type.NativeGesture and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
        return max(0.5, 1.0 + event.value())  # one event never flips or collapses the view
    return None


def coasting(event: QWheelEvent) -> bool:
    """Whether the system is still scrolling after the fingers lifted (macOS's momentum): not the user zooming."""
    return event.phase() == Qt.ScrollPhase.ScrollMomentum

