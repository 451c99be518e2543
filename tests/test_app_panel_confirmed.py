"""The Photo tab once a merchandiser confirms a match, and the hover card in a crowded photo. Offscreen.

A confirmed match read "Similar 0.65" beside "✓ Confirmed" in the panel, on its pin's hover card and to a screen
reader, as if the merchandiser's answer were still the engine's guess: now each says it is confirmed, and the
rating is in the confirm button's tooltip. The hover card tried each side of its pin only centred on it: on a
photo with 22 tags it covered pins that the same side, slid a little, left free, and in a view too small for it
it was pushed over its own pin; zoomed until its pin left the view, it stayed, about a pin no longer shown.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QRect, Qt

from app.labels import match_word
from app.main_window import MainWindow
from app.widgets.floating import MARGIN
from app.widgets.hover_card import CARD_GAP, HoverCard
from app.widgets.pins import HALO, RADIUS

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a bed whose best matches are all "Similar"
CROWDED = "bamboo-for-something-fresh-and-new"  # a dining room: 22 tags, chairs round a table
REACH = math.ceil(RADIUS + HALO)  # px from a pin's centre to the edge of its halo


def open_scene(qtbot, win: MainWindow, path: Path) -> None:
    win.open_paths([path])
    qtbot.waitUntil(lambda: win.controller.scene is not None and win.controller.path == path, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(win.view.pins), timeout=WAIT_MS)


def hover(qtbot, win: MainWindow, number: int) -> HoverCard:
    """The card of pin ``number``, opened by moving the mouse onto the pin."""
    viewport, point = win.view.viewport(), win.view.mapFromScene(win.view.pins[number].pos())
    qtbot.mouseMove(viewport, point + QPoint(3, 3))
    qtbot.mouseMove(viewport, point)
    qtbot.waitUntil(lambda: win.view.card.isVisible() and win.view.card.number == number, timeout=WAIT_MS)
    return win.view.card


def test_a_confirmed_match_says_confirmed_not_similar_in_the_panel_the_card_and_to_a_screen_reader(
    qtbot, window, scene_path
):
    open_scene(qtbot, window, scene_path(ROOM))
    view, panel = window.view, window.panel
    tag = next(t for t in window.controller.scene.visible if len(t.obj.matches) > 1)
    best = tag.obj.matches[0]
    rated = f"{match_word(best.match)} {best.score:.2f}"  # "Similar 0.65"
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(view.pins[tag.number].pos()))
    qtbot.waitUntil(lambda: panel.number == tag.number and bool(panel.rows), timeout=WAIT_MS)
    assert panel.rows[0].badge.isVisibleTo(panel.rows[0]) and rated in panel.rows[0].accessibleName()
    assert f"{best.score:.2f}" in hover(qtbot, window, tag.number).badge.text()

    panel.rows[0].confirm.click()
    qtbot.waitUntil(lambda: bool(panel.rows) and panel.rows[0].confirm.isChecked(), timeout=WAIT_MS)
    row = panel.rows[0]
    assert row.confirm.text() == "✓ Confirmed" and not row.badge.isVisibleTo(row)  # no "Similar 0.65" beside it
    assert f"rated it {rated}" in row.confirm.toolTip()  # the engine's rating, for whoever wants it
    assert row.accessibleName().endswith(", confirmed") and rated not in row.accessibleName()
    assert all(other.badge.isVisibleTo(other) for other in panel.rows[1:])  # the others are still guesses
    shown = [r for r in panel.findChildren(type(row)) if r.isVisible()]
    assert shown == panel.rows  # the rows listed before the confirm are gone at once, not seen between the new

    card = hover(qtbot, window, tag.number)
    assert "✓ Confirmed" in card.badge.text() and f"{best.score:.2f}" not in card.badge.text()
    assert match_word(best.match) not in card.badge.text() and "confirmed" not in card.detail.text()

    assert view.current == tag.number  # clicked: what a screen reader says of the photo is about this tag
    assert ". Confirmed product: " in view.accessibleName() and rated not in view.accessibleName()

    panel.rows[0].confirm.click()  # withdrawn: the engine's guess again, said as one
    qtbot.waitUntil(lambda: bool(panel.rows) and not panel.rows[0].confirm.isChecked(), timeout=WAIT_MS)
    assert panel.rows[0].badge.isVisibleTo(panel.rows[0]) and rated in panel.rows[0].accessibleName()
    assert f"Best match: {best.name}" in view.accessibleName() and rated in view.accessibleName()


def covered(card: QRect, pins: list[QPoint]) -> int:
    """How many pins the card covers, even in part."""
    near = card.adjusted(-REACH, -REACH, REACH, REACH)
    return sum(near.contains(pin) for pin in pins)


def ring(anchor: QPoint, width: int, height: int) -> list[QRect]:
    """Every place, to the pixel, of a card ``CARD_GAP`` from the pin on its right, left, below or above it, slid
    along that side at most ``CARD_GAP`` past the pin: the places beside it, none over it."""
    x, y = anchor.x(), anchor.y()
    upright = [QRect(left, top, width, height) for left in (x + CARD_GAP, x - CARD_GAP - width)
               for top in range(y - CARD_GAP - height + 1, y + CARD_GAP + 1)]
    return upright + [QRect(left, top, width, height) for top in (y + CARD_GAP, y - CARD_GAP - height)
                      for left in range(x - CARD_GAP - width + 1, x + CARD_GAP + 1)]


def check_cards(qtbot, win: MainWindow) -> int:
    """Hover every pin inside the view: its card stays in the view, never on its pin, and covers no more of the
    other pins than the best place beside the pin, found by trying every one to the pixel; the pins checked."""
    view = win.view
    inner = view.viewport().rect().adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
    points = {n: view.mapFromScene(pin.pos()) for n, pin in view.pins.items()}
    hovered = [n for n, p in points.items() if inner.contains(p)]
    for number in hovered:
        anchor, others = points[number], [p for n, p in points.items() if n != number]
        shown = hover(qtbot, win, number).geometry()
        assert inner.contains(shown) and covered(shown, [anchor]) == 0, (number, anchor, shown)
        fewest = min(covered(place, others) for place in ring(anchor, shown.width(), shown.height())
                     if inner.contains(place))
        assert covered(shown, others) == fewest, (number, shown, fewest)
    return len(hovered)


def test_the_hover_card_in_a_crowded_photo_covers_the_fewest_pins_and_never_its_own(qtbot, window, scene_path):
    open_scene(qtbot, window, scene_path(CROWDED))
    view = window.view
    assert len(view.pins) >= 15 and check_cards(qtbot, window) == len(view.pins)
    # a view too small for the card on any side of its pin: the card goes off the view's edge, never on the pin
    number = next(iter(view.pins))
    card, anchor = hover(qtbot, window, number), view.mapFromScene(view.pins[number].pos())
    small = QRect(0, 0, card.width() + CARD_GAP, card.height() + CARD_GAP)
    small.moveCenter(anchor)
    card.show_tag(window.controller.scene.tag(number), "#2e9d49", anchor, small)
    assert card.geometry() in ring(anchor, card.width(), card.height())  # beside the pin, not over it

    view.zoom(3.0)  # the chairs round the table fill the view, pins at its edges
    qtbot.waitUntil(lambda: view.horizontalScrollBar().isVisible() and view.verticalScrollBar().isVisible())
    for bar in (view.horizontalScrollBar(), view.verticalScrollBar()):
        bar.setValue((bar.minimum() + bar.maximum()) // 2)
    assert check_cards(qtbot, window) >= 3


def test_the_hover_card_hides_when_a_zoom_takes_its_pin_out_of_the_view(qtbot, window, scene_path):
    """It followed its pin off the view's edge and was pushed back in: a card about a pin no longer shown."""
    open_scene(qtbot, window, scene_path(CROWDED))
    view = window.view
    middle = view.viewport().rect().center()
    points = {n: view.mapFromScene(pin.pos()) for n, pin in view.pins.items()}
    far = max(points, key=lambda n: (points[n] - middle).manhattanLength())  # the pin nearest a corner
    view.setFocus(Qt.FocusReason.TabFocusReason)
    while view.current != far:  # the arrows walk the pins; the card of each opens beside it, no mouse on it
        qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.card.isVisible() and view.card.number == far
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert not view.viewport().rect().contains(view.mapFromScene(view.pins[far].pos()))
    assert not view.card.isVisible()
