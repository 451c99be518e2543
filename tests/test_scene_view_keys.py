"""The photo by keyboard alone: a box drawn, moved, resized and searched without a mouse, as the mouse drags one."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QRectF, Qt

from app.widgets.scene_view import KEY_STEP
from engine.corrections import USER

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a living room with a bed, chairs, tables, shelf, clock, frames
K, SHIFT = Qt.Key, Qt.KeyboardModifier.ShiftModifier


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
