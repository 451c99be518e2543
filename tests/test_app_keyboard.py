"""The photo tab by keyboard and for screen readers, on the real app (pytest-qt, offscreen).

Every key goes to the widget that has the focus, as a keyboard's would (``press``), so a test fails where a
user would be stuck: a key swallowed by the wrong widget, focus lost, an empty stop.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from opened_urls import opened_urls  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QAccessible, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QPushButton, QScrollArea, QWidget  # noqa: E402

from app.labels import pretty  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.thumbnails import Thumbnails  # noqa: E402
from app.widgets.results_panel import MatchRow, ResultsPanel  # noqa: E402
from app.workers import Runner  # noqa: E402
from engine.corrections import Tag  # noqa: E402
from engine.results import Match, SceneObject  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a living room with a bed, chairs, tables, shelf, clock, frames
K = Qt.Key


@pytest.fixture
def window(active_window):
    return active_window


def open_room(qtbot, win: MainWindow, scene_path) -> None:
    path = scene_path(ROOM)
    win.open_paths([path])
    qtbot.waitUntil(lambda: win.controller.scene is not None and win.controller.path == path, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(win.view.pins), timeout=WAIT_MS)


def press(qtbot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> QWidget:
    """A key to whatever has the keyboard (the open list of a combo box included); returns what has it after."""
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard"
    qtbot.keyClick(target, key, modifier)
    return QApplication.focusWidget()


def open_tag_by_keyboard(qtbot, win: MainWindow) -> int:
    """Tab onto the first pin with matches and Enter it, as a keyboard user does; its number."""
    win.view.setFocus(Qt.FocusReason.OtherFocusReason)
    press(qtbot, K.Key_Tab)
    while not win.view.tags[win.view.current].obj.matches:
        press(qtbot, K.Key_Right)
    number = win.view.current
    press(qtbot, K.Key_Return)
    qtbot.waitUntil(lambda: win.panel.number == number and len(win.panel.rows) >= 3, timeout=WAIT_MS)
    return number


# -- the category box ---------------------------------------------------------------------------------


def test_arrows_on_the_closed_category_box_open_its_list_and_only_a_choice_there_changes_the_tag(
    qtbot, window, scene_path
):
    """One Down on the closed box turned a plant into a rug (a new search, a saved correction, an undo step),
    three Downs made three. Now keys that would step the closed box open its list, the wheel over it changes
    nothing, and the category changes once, when one is chosen in the list with Enter."""
    open_room(qtbot, window, scene_path)
    number = open_tag_by_keyboard(qtbot, window)
    panel, tag = window.panel, window.controller.scene.tag(number)
    box, before, steps = panel.category, tag.obj.category, window.controller.undo.count()
    asked: list[tuple[int, str]] = []
    panel.categoryRequested.connect(lambda n, c: asked.append((n, c)))

    box.setFocus(Qt.FocusReason.TabFocusReason)
    wheel = QWheelEvent(QPointF(5, 5), box.mapToGlobal(QPointF(5, 5)), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(box, wheel)
    for key in (K.Key_Down, K.Key_End, K.Key_Up, K.Key_Home):  # (Page Up / Down: the next photo)
        assert box.view().isVisible() is False
        qtbot.keyClick(box, key)  # the closed box itself
        assert box.view().isVisible(), f"{key} did not open the list"
        assert box.currentData() == before and not asked
        box.hidePopup()
    assert window.controller.scene.tag(number).obj.category == before
    assert window.controller.undo.count() == steps

    index = box.currentIndex()
    target = box.itemData(index + 1 if index + 1 < box.count() else index - 1)
    press(qtbot, K.Key_Down)  # opens the list at the current category
    assert box.view().isVisible() and box.currentData() == before
    press(qtbot, K.Key_Down if box.itemData(index + 1) == target else K.Key_Up)  # within the list: a preview
    assert box.currentData() == before and not asked
    press(qtbot, K.Key_Return)  # chosen
    assert asked == [(number, target)]
    qtbot.waitUntil(lambda: window.controller.scene.tag(number).obj.category == target, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.number == number and bool(panel.rows), timeout=WAIT_MS)
    assert window.controller.undo.count() == steps + 1
    assert asked == [(number, target)]


def test_a_letter_on_the_closed_category_box_opens_the_list_at_that_letter(qtbot, qapp):
    panel = ResultsPanel(Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(panel)
    panel.show()
    tag = Tag(1, SceneObject("plant_pot", "potted plant", 0.8, (0, 0, 10, 10), (5, 5), []))
    panel.show_tag(tag, "#2e9d49", ["plant_pot", "rug", "sofa", "chair"], ("plant_pot",))
    asked: list[str] = []
    panel.categoryRequested.connect(lambda _n, c: asked.append(c))
    qtbot.keyClick(panel.category, K.Key_S)
    assert panel.category.view().isVisible() and panel.category.currentData() == "plant_pot" and not asked
    assert panel.category.view().currentIndex().data(Qt.ItemDataRole.UserRole) == "sofa"
    qtbot.keyClick(panel.category.view(), K.Key_Return)
    assert asked == ["sofa"]


# -- from a pin to its matches and back ---------------------------------------------------------------


def test_enter_on_a_pin_puts_the_keyboard_on_its_first_match_and_escape_brings_it_back(qtbot, window, scene_path):
    """After Enter the keyboard stayed on the photo: Tab walked every other pin (some 30 in a busy kitchen), then
    an empty stop, before the first match. Now Enter lands on the first match; Up and Down walk the matches and
    select the one Why this match? explains; Escape returns to the pin, and Tab walks the pins as before."""
    open_room(qtbot, window, scene_path)
    view, panel = window.view, window.panel
    number = open_tag_by_keyboard(qtbot, window)
    rows = panel.rows
    assert QApplication.focusWidget() is rows[0] and panel.selected == rows[0].match.sku

    assert press(qtbot, K.Key_Down) is rows[1] and panel.selected == rows[1].match.sku
    assert press(qtbot, K.Key_Down) is rows[2] and panel.selected == rows[2].match.sku
    assert press(qtbot, K.Key_Up) is rows[1] and panel.selected == rows[1].match.sku
    assert press(qtbot, K.Key_Up) is rows[0] and press(qtbot, K.Key_Up) is rows[0]  # the first stays first

    window.panel.why.setChecked(True)  # Space selects the focused row: the one explained
    rows[2].setFocus(Qt.FocusReason.TabFocusReason)
    asked = []
    panel.explainRequested.connect(lambda n, m: asked.append((n, m.sku)))
    press(qtbot, K.Key_Space)
    assert panel.selected == rows[2].match.sku and asked == [(number, rows[2].match.sku)]
    press(qtbot, K.Key_Down)
    press(qtbot, K.Key_Return)
    assert panel.selected == rows[3].match.sku
    window.panel.why.setChecked(False)

    assert press(qtbot, K.Key_Escape) is view and view.current == number
    order = sorted(view.pins)
    after = order[(order.index(number) + 1) % len(order)]
    assert press(qtbot, K.Key_Tab) is view and view.current == after  # Tab still walks the tags (docs/app.md)


def test_the_card_of_a_pin_reached_by_keyboard_says_enter_not_click(qtbot, window, scene_path):
    """Tab onto a pin opened its hover card saying "Click for all matches" to someone with no mouse on it. A pin
    reached by Tab says Enter; the mouse over a pin says Click again."""
    open_room(qtbot, window, scene_path)
    view = window.view
    view.setFocus(Qt.FocusReason.OtherFocusReason)
    press(qtbot, K.Key_Tab)
    assert view.card.isVisible() and view.card.number == view.current
    assert view.card.hint.text() == "Enter for all matches"
    other = next(n for n in view.pins if n != view.current)
    point = view.mapFromScene(view.pins[other].pos())
    qtbot.mouseMove(view.viewport(), point + QPoint(40, 40))
    qtbot.mouseMove(view.viewport(), point)
    qtbot.waitUntil(lambda: view.card.isVisible() and view.card.number == other, timeout=WAIT_MS)
    assert view.card.hint.text() == "Click for all matches"


def test_tab_reaches_each_match_and_its_button_in_order_with_no_empty_stop(qtbot, window, scene_path):
    """Tab from the panel's buttons goes down the rows, each row then its Confirm button, then on to the rest
    of the window; the scroll area around them is no stop of its own. Shift+Tab walks back the same way."""
    open_room(qtbot, window, scene_path)
    open_tag_by_keyboard(qtbot, window)
    panel = window.panel
    panel.why.setFocus(Qt.FocusReason.TabFocusReason)
    expected = [w for row in panel.rows for w in (row, row.confirm)]  # (no product links in this catalog)
    assert [press(qtbot, K.Key_Tab) for _ in expected] == expected
    beyond = press(qtbot, K.Key_Tab)
    assert not isinstance(beyond, QScrollArea) and not panel.isAncestorOf(beyond)
    panel.rows[-1].confirm.setFocus(Qt.FocusReason.TabFocusReason)
    walked_back = [press(qtbot, K.Key_Tab, Qt.KeyboardModifier.ShiftModifier) for _ in expected]
    assert walked_back == [*expected[-2::-1], panel.why]


def test_confirming_by_keyboard_leaves_the_keyboard_on_the_confirm_button(qtbot, window, scene_path):
    """Confirm lists the matches again: the keyboard went out with the old row, and Tab started over at the
    top of the window. It stays on the same product's button, so Space again withdraws the confirmation."""
    open_room(qtbot, window, scene_path)
    number = open_tag_by_keyboard(qtbot, window)
    panel = window.panel
    sku = panel.rows[1].match.sku
    panel.rows[1].confirm.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_Space)
    qtbot.waitUntil(lambda: window.controller.scene.tag(number).confirmed_sku == sku, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: any(r.confirm.isChecked() for r in panel.rows), timeout=WAIT_MS)
    row = next(r for r in panel.rows if r.match.sku == sku)
    assert QApplication.focusWidget() is row.confirm and row.confirm.text() == "✓ Confirmed"
    press(qtbot, K.Key_Space)
    qtbot.waitUntil(lambda: window.controller.scene.tag(number).confirmed_sku == "", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not any(r.confirm.isChecked() for r in panel.rows), timeout=WAIT_MS)
    assert QApplication.focusWidget() is next(r for r in panel.rows if r.match.sku == sku).confirm


def test_removing_the_tag_from_the_panel_by_keyboard_returns_to_the_photo(qtbot, window, scene_path):
    """Remove tag hides the panel's buttons: the keyboard went on to whatever followed them in the window."""
    open_room(qtbot, window, scene_path)
    number = open_tag_by_keyboard(qtbot, window)
    window.panel.remove.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_Space)
    qtbot.waitUntil(lambda: number not in window.view.tags, timeout=WAIT_MS)
    assert window.panel.number is None and QApplication.focusWidget() is window.view


def test_matches_still_searched_get_the_keyboard_when_they_come_unless_it_moved_on(qtbot):
    """Enter on a pin whose matches are still being searched (the whole catalog's): they take the keyboard
    when they come, but not from a control the user went to meanwhile."""
    panel = _panel_with_links(qtbot)
    photo, elsewhere = QPushButton("photo"), QPushButton("elsewhere")
    for button in (photo, elsewhere):
        panel.layout().addWidget(button)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    matches = [row.match for row in panel.rows]
    for moved_on in (False, True):
        panel.set_searching()
        photo.setFocus(Qt.FocusReason.OtherFocusReason)
        panel.focus_matches()
        assert QApplication.focusWidget() is photo
        if moved_on:
            elsewhere.setFocus(Qt.FocusReason.OtherFocusReason)
        panel.show_matches(matches)
        assert QApplication.focusWidget() is (elsewhere if moved_on else panel.rows[0])


def _panel_with_links(qtbot) -> ResultsPanel:
    panel = ResultsPanel(Thumbnails(Runner(1, QApplication.instance())))
    qtbot.addWidget(panel)
    panel.resize(360, 700)
    panel.show()
    tag = Tag(1, SceneObject("chair", "chair", 0.9, (0, 0, 10, 10), (5, 5), []))
    panel.show_tag(tag, "#ff8800", ["chair"], ("chair",))
    panel.show_matches([
        Match(i, f"70{i}.535.41", f"EKEDALEN {i}", "chair", 0.8 - i / 10, "similar", "", f"https://example.com/p/{i}",
              "49.00 EUR")
        for i in (1, 2)
    ])
    return panel


def test_the_product_link_opens_from_the_keyboard(qtbot):
    """The Product page link was mouse-only: Tab reaches it, Enter opens it (through safe_link, as a click)."""
    panel = _panel_with_links(qtbot)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    panel.rows[0].setFocus(Qt.FocusReason.TabFocusReason)
    assert press(qtbot, K.Key_Tab) is panel.rows[0].link
    with opened_urls("https") as opened:  # Qt's own handler hook: the browser is not started
        press(qtbot, K.Key_Return)
    assert opened == ["https://example.com/p/1"]
    assert press(qtbot, K.Key_Tab) is panel.rows[0].confirm


def test_the_focused_match_row_is_ringed(qtbot):
    """Focus on a match row shows: a ring in the highlight colour, gone when the keyboard leaves."""
    panel = _panel_with_links(qtbot)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    row = panel.rows[0]
    plain = row.grab().toImage()
    row.setFocus(Qt.FocusReason.TabFocusReason)
    ringed = row.grab().toImage()
    highlight = row.palette().color(row.palette().ColorRole.Highlight)
    middle = ringed.height() // 2
    assert ringed.pixelColor(1, middle).name() == highlight.name() != plain.pixelColor(1, middle).name()
    panel.rows[1].setFocus(Qt.FocusReason.TabFocusReason)
    assert row.grab().toImage() == plain


# -- screen readers -------------------------------------------------------------------------------------


def _accessible_name(widget: QWidget) -> str:
    return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)


def test_the_photo_names_the_tag_the_keyboard_is_on(qtbot, window, scene_path):
    """Pins are drawn items a screen reader cannot see, and the view had no name: nothing was said as the
    arrows moved. The view is named after the tag it is on (number, place, category, best match), and Qt
    tells assistive technology each time that name changes."""
    view = window.view
    assert _accessible_name(view) == "Room photo" and "Enter" in view.accessibleDescription()
    open_room(qtbot, window, scene_path)
    count = len(view.pins)
    assert _accessible_name(view) == f"Room photo, {count} tags"
    view.setFocus(Qt.FocusReason.OtherFocusReason)
    order = sorted(view.pins)
    for place, key in enumerate((K.Key_Tab, K.Key_Right, K.Key_Right)):
        press(qtbot, key)
        tag = window.controller.scene.tag(view.current)
        best = tag.best
        said = _accessible_name(view)
        assert said.startswith(f"Tag {tag.number}, {order.index(tag.number) + 1} of {count}: "
                               f"{pretty(tag.obj.category)}. Best match: "), said
        assert place == order.index(tag.number)
        if best is not None:
            assert best.sku in said and f"{best.score:.2f}" in said
    press(qtbot, K.Key_Escape)
    assert _accessible_name(view) == f"Room photo, {count} tags"


def test_match_rows_are_named_for_screen_readers(qtbot):
    panel = _panel_with_links(qtbot)
    assert _accessible_name(panel.rows[0]) == "Match 1: EKEDALEN 1, 701.535.41 · Chair · 49.00 EUR, Similar 0.70"
    assert panel.category.accessibleName() == "Category"
    assert isinstance(panel.rows[0], MatchRow)
