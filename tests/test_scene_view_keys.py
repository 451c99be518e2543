"""The photo by keyboard alone: a box drawn, moved, resized and searched without a mouse, as the mouse drags one."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.widgets.scene_view import KEY_STEP
from engine.corrections import USER

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a living room with a bed, chairs, tables, shelf, clock, frames
K, SHIFT = Qt.Key, Qt.KeyboardModifier.ShiftModifier


def press(qtbot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> QWidget:
    """A key to whatever has the keyboard, as a keyboard gives it; what has the keyboard after."""
    qtbot.keyClick(QApplication.focusWidget(), key, modifier)
    return QApplication.focusWidget()


@pytest.fixture
def room(qtbot, active_window, scene_path):
    path = scene_path(ROOM)
    active_window.open_paths([path])
    qtbot.waitUntil(lambda: active_window.controller.path == path and bool(active_window.view.pins), timeout=WAIT_MS)
    active_window.view.setFocus(Qt.FocusReason.OtherFocusReason)
    return active_window


def test_d_draws_a_box_the_arrows_move_and_resize_and_enter_searches(qtbot, room):
    """A designer without a mouse could not search a region the tags missed: only a drag drew a box."""
    view, before = room.view, {t.number for t in room.controller.scene.tags}
    qtbot.keyClick(view, K.Key_D)
    scene, step = view.sceneRect(), KEY_STEP / view.transform().m11()
    band = view._band
    assert band is not None and band.rect().center() == scene.center()  # no pin selected: mid-photo
    start = QRectF(band.rect())
    assert start.width() == pytest.approx(scene.width() / 4)
    assert "Box from 38% to 62% across, 38% to 62% down" in view.box_words()
    for key, modifier in ((K.Key_Right, Qt.KeyboardModifier.NoModifier), (K.Key_Right, Qt.KeyboardModifier.NoModifier),
                          (K.Key_Up, Qt.KeyboardModifier.NoModifier), (K.Key_Right, SHIFT), (K.Key_Down, SHIFT),
                          (K.Key_Down, SHIFT)):
        qtbot.keyClick(view, key, modifier)
    rect = band.rect()
    assert rect.left() == pytest.approx(start.left() + 2 * step) and rect.top() == pytest.approx(start.top() - step)
    assert rect.width() == pytest.approx(start.width() + step) and rect.height() == pytest.approx(start.height() + 2 * step)
    assert view.current is None  # the arrows moved the box, not the keyboard from pin to pin
    qtbot.keyClick(view, K.Key_Return)
    qtbot.waitUntil(lambda: bool({t.number for t in room.controller.scene.tags} - before), timeout=WAIT_MS)
    (added,) = [t for t in room.controller.scene.tags if t.number not in before]
    assert added.origin == USER
    x1, y1, x2, y2 = added.obj.box
    assert (x1, y1, x2, y2) == pytest.approx((rect.left(), rect.top(), rect.right(), rect.bottom()), abs=1.0)


def test_the_box_starts_on_the_selected_tag_stays_in_the_photo_and_escape_cancels_it(qtbot, room):
    view, before = room.view, len(room.controller.scene.tags)
    qtbot.keyClick(view, K.Key_Tab)
    box = view.boxes[view.current].rect()
    qtbot.keyClick(view, K.Key_D)
    assert view._band.rect() == view._band.rect().intersected(view.sceneRect())
    centre, expected = view._band.rect().center(), box.intersected(view.sceneRect()).center()
    assert (centre.x(), centre.y()) == pytest.approx((expected.x(), expected.y()))
    for _ in range(200):
        qtbot.keyClick(view, K.Key_Left)
        qtbot.keyClick(view, K.Key_Down, SHIFT)
    assert view.sceneRect().contains(view._band.rect()) and view._band.rect().left() == 0
    qtbot.keyClick(view, K.Key_Escape)
    assert view._band is None and len(room.controller.scene.tags) == before
    qtbot.keyClick(view, K.Key_Right)  # the arrows walk the pins again
    assert view.current is not None


@pytest.mark.parametrize("key", [K.Key_Delete, K.Key_Backspace])
def test_delete_while_a_box_is_drawn_takes_the_box_away_not_the_tag(qtbot, room, key):
    """Delete pressed while drawing a box removed the tag the box was started on."""
    view, before = room.view, {t.number for t in room.controller.scene.visible}
    qtbot.keyClick(view, K.Key_Tab)
    qtbot.keyClick(view, K.Key_D)
    qtbot.keyClick(view, key)
    assert view._band is None
    assert {t.number for t in room.controller.scene.visible} == before


def test_the_photo_shows_a_focus_ring_and_tab_back_into_it_starts_at_its_first_pin(qtbot, room):
    """With no pin selected nothing showed that the photo had the keyboard; and Tab back into the photo kept the
    pin Tab had left on, so the next Tab left again and the other pins were out of Tab's reach."""
    view = room.view
    highlight = view.palette().color(QPalette.ColorRole.Highlight)

    def edge():  # the middle of the photo view's left edge, as drawn now
        image = view.viewport().grab().toImage()
        return image.pixelColor(0, image.height() // 2)

    def around(key, modifier=Qt.KeyboardModifier.NoModifier):  # round the window's Tab order, back to the photo
        for _ in range(30):
            if press(qtbot, key, modifier) is view:
                return

    assert view.hasFocus() and view.current is None and edge() == highlight
    for _ in view.pins:
        press(qtbot, K.Key_Tab)
    assert view.current == max(view.pins)
    press(qtbot, K.Key_Tab)
    assert not view.hasFocus() and edge() != highlight
    around(K.Key_Tab)
    assert view.hasFocus() and view.current == min(view.pins)
    around(K.Key_Tab, SHIFT)  # Shift+Tab out before the first pin, and round back in on the last
    assert view.hasFocus() and view.current == max(view.pins)


def test_delete_selects_the_next_tag_and_after_the_last_the_one_before(qtbot, room):
    """Delete left the keyboard on no pin: the photo said only its count, and the next arrow started at tag 1."""
    view, order = room.view, sorted(room.view.pins)
    press(qtbot, K.Key_Tab)
    press(qtbot, K.Key_Tab)
    press(qtbot, K.Key_Delete)
    assert order[1] not in view.pins and view.current == order[2]
    assert view.accessibleName().startswith(f"Tag {order[2]}, 2 of {len(order) - 1}:")
    while view.current != order[-1]:
        press(qtbot, K.Key_Right)
    press(qtbot, K.Key_Delete)
    assert view.current == order[-2]
    for _ in range(2):  # the session's photo as it was, for the tests after
        room.undo_action.trigger()
    qtbot.waitUntil(lambda: sorted(view.pins) == order, timeout=WAIT_MS)


def test_the_legend_keeps_off_the_pins_a_scroll_brings_under_it(qtbot, room):
    """Zoomed in, the photo scrolls (the arrows' pin brought into view, a drag, the scroll bars); the legend, a child
    of the viewport, scrolled with it, out of sight or over pins: it was placed again only on zoom and resize."""
    view, legend = room.view, room.view.legend
    for _ in range(3):
        press(qtbot, K.Key_Plus)
    assert legend.isVisible()
    middle = view.viewport().rect().center()
    number = min(view.pins, key=lambda n: (view.mapFromScene(view.pins[n].pos()) - middle).manhattanLength())
    gap = view.mapFromScene(view.pins[number].pos()) - legend.geometry().center()
    for bar, by in ((view.horizontalScrollBar(), gap.x()), (view.verticalScrollBar(), gap.y())):
        bar.setValue(bar.value() + by)  # that pin scrolled to where the legend is
    if legend.isVisible():  # a child of the viewport, the legend was scrolled with the photo, out of sight
        assert view.viewport().rect().contains(legend.geometry()), legend.geometry()
    covered = [n for n, pin in view.pins.items() if legend.isVisible()
               and legend.geometry().contains(view.viewport().mapFrom(view, view.mapFromScene(pin.pos())))]
    assert not covered, f"tags {covered} under the legend"
    press(qtbot, K.Key_0)
