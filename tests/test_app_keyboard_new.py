"""A keyboard-only walk, with a screen reader's ears, of the screens the last sessions added or changed: a drawn
box's What is it?, a match's copy menu, the message along the bottom, the setup page and the Train window's before /
after. Real photo, models and IKEA catalog, offscreen (pytest-qt); every key goes to what has the keyboard.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from keys import WAIT_MS, press, shown
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAccessible, QGuiApplication, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QPushButton, QWidget
from test_app_designer import FLOOR_LAMP, draw_box, guess_buttons

from app.labels import pretty
from app.widgets.message_bar import MessageBar

pytestmark = pytest.mark.gui
K = Qt.Key
ROOM = "bed-that-folds"  # a living room: bed, chairs, tables, shelf, clock, frames; FLOOR_LAMP its lamp's box


def spoken(widget: QWidget) -> str:
    """What a screen reader says a widget is."""
    return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)


def open_room(qtbot, window, scene_path) -> None:
    window.open_paths([scene_path(ROOM)])
    qtbot.waitUntil(lambda: window.controller.scene is not None and bool(window.view.pins), timeout=WAIT_MS)


def in_menu(keys: list[Qt.Key], seen: list[list[str]]) -> None:
    """Once the menu about to open runs its own event loop: its items' names into ``seen``, then ``keys`` to it
    (nothing when no menu opened)."""
    def act() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            return
        seen.append([a.text() for a in menu.actions()])
        for key in keys:  # to the open menu, as a keyboard's go to it
            QTest.keyClick(menu, key)
    QTimer.singleShot(0, act)


# -- a match's copy menu ------------------------------------------------------------------------------------------


def test_shift_f10_on_a_match_opens_its_copy_menu(qtbot, active_window, scene_path):
    """Copy Name / Product Code / Link were a right-click's: Ctrl+C copied the name, but Qt makes no context menu of
    Shift+F10 on Linux (nor of any key on a keyboard without a Menu key), so a keyboard could not copy a product code.
    Shift+F10 on a match opens the menu at the row; Down twice and Enter copy the code, and the keyboard is back on the row."""
    window = active_window
    open_room(qtbot, window, scene_path)
    window.view.setFocus(Qt.FocusReason.OtherFocusReason)
    press(qtbot, K.Key_Tab)
    press(qtbot, K.Key_Return)  # the tag's matches, the keyboard on the first
    qtbot.waitUntil(lambda: bool(window.panel.rows) and window.panel.rows[0].hasFocus(), timeout=WAIT_MS)
    row = window.panel.rows[0]
    QGuiApplication.clipboard().setText("")
    seen: list[list[str]] = []
    in_menu([K.Key_Down, K.Key_Down, K.Key_Return], seen)  # the first Down lights Copy Name
    qtbot.keyClick(row, K.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert seen == [["Copy Name", "Copy Product Code"]]  # the IKEA catalog has no product pages
    assert QGuiApplication.clipboard().text() == row.match.sku
    assert window.focusWidget() is row  # the window's keyboard stays on the row (offscreen, no window is re-activated)
    assert "Shift+F10" in row.accessibleDescription()  # what a screen reader says of the row tells of it


# -- a drawn box's What is it? ------------------------------------------------------------------------------------


def test_what_is_it_answers_are_said_with_the_question_and_confirmed_is_said_without_its_tick(
        qtbot, active_window, scene_path):
    """Tab from Remove tag to a drawn box's answers said "Bed, button": the words "What is it?" above them name no
    control, so a screen reader never heard the question. Each answer's description now starts with it. Space
    answers; the keyboard waits on the Category box, which says the answer. A confirmed match's button was said
    "check mark Confirmed" (its "✓ Confirmed"): it is "Confirmed"."""
    window = active_window
    open_room(qtbot, window, scene_path)
    number = draw_box(qtbot, window, FLOOR_LAMP)
    panel = window.panel
    panel.remove.setFocus(Qt.FocusReason.TabFocusReason)
    answers = guess_buttons(window)
    for answer in answers:
        assert press(qtbot, K.Key_Tab) is answer
        assert spoken(answer) == answer.name and answer.accessibleDescription().startswith("What is it? ")
    lamp = next(a for a in answers if a.name == pretty("lamp"))
    lamp.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_Space)
    qtbot.waitUntil(lambda: window.controller.scene.tag(number).obj.category == "lamp" and bool(panel.rows)
                    and not window.controller._running, timeout=WAIT_MS)
    assert QApplication.focusWidget() is panel.category and panel.category.currentData() == "lamp"

    row = panel.rows[0]
    row.confirm.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_Space)
    qtbot.waitUntil(lambda: window.controller.scene.tag(number).confirmed_sku == row.match.sku
                    and bool(panel.rows) and panel.rows[0].confirm.isChecked(), timeout=WAIT_MS)
    confirm = panel.rows[0].confirm
    assert confirm.text() == "✓ Confirmed" and spoken(confirm) == "Confirmed"


def test_an_answer_named_with_an_ampersand_shows_it_and_has_no_alt_key(qtbot, window, scene_path):
    """"Cushions & throws" on a What is it? button showed "Cushions _throws": Qt took the "&" for the mark of an
    Alt shortcut, underlined the space after it and made Alt+Space press the button."""
    open_room(qtbot, window, scene_path)
    draw_box(qtbot, window, FLOOR_LAMP)
    answers = {a.name: a for a in guess_buttons(window)}
    cushions = answers[pretty("cushion_throw")]
    assert "&" in cushions.name and cushions.text() == cushions.name.replace("&", "&&")
    assert all(QKeySequence.mnemonic(a.text()).isEmpty() for a in answers.values())
    assert spoken(cushions) == cushions.name


# -- the message along the bottom ---------------------------------------------------------------------------------


def to_the_bar(qtbot, bar: QWidget) -> tuple[QWidget, QWidget]:
    """Shift+Tab until the keyboard is on the message bar (as a user goes back to it): what has it there, and
    what had it before."""
    focus = QApplication.focusWidget()
    for _ in range(12):
        before, focus = focus, press(qtbot, K.Key_Backtab)
        if bar.isAncestorOf(focus):
            return focus, before
    raise AssertionError(f"Shift+Tab never reached the message bar (it went round to {focus})")


def test_the_message_bar_gives_the_keyboard_back_and_escape_closes_it(qtbot, main_window, fresh_pipeline):
    """A click on the message bar's Dismiss took the keyboard there, and once the bar hid it fell to the tab bar, the
    next control: the page's button the keyboard had been on lost it, and the arrow keys switched tabs. It goes back
    where it was (its call to action's too, unless what it does moves it: the empty catalog's goes to the Catalog
    tab). By keyboard, Escape on the bar did nothing: it dismisses it, the keyboard back on the control it came to
    the bar from."""
    window = main_window(fresh_pipeline, (1180, 760))
    shown(qtbot, window)
    qtbot.waitUntil(lambda: window.photo_stack.currentWidget() is window.welcome, timeout=WAIT_MS)
    start, bar = window.welcome.import_button, window.message
    dismiss = next(b for b in bar.findChildren(QPushButton) if b is not bar.button)
    start.setFocus(Qt.FocusReason.TabFocusReason)
    window.show_message("Could not read the feed: no sku column", "error", "Retry")
    qtbot.mouseClick(dismiss, Qt.MouseButton.LeftButton)
    assert bar.isHidden() and QApplication.focusWidget() is start

    start.setFocus(Qt.FocusReason.TabFocusReason)
    window.show_message("Could not read the feed: no sku column", "error", "Retry")
    on, before = to_the_bar(qtbot, bar)
    assert spoken(on) == "Dismiss"
    press(qtbot, K.Key_Escape)
    assert bar.isHidden() and QApplication.focusWidget() is before

    page = QWidget()  # a call to action that leaves the page as it is
    back = QPushButton("Open a photo…", page)
    message = MessageBar()
    message.float_over(page)
    qtbot.addWidget(page)
    shown(qtbot, page)
    back.setFocus(Qt.FocusReason.TabFocusReason)
    message.show_message("The photo moved", "error", "Find it…")
    qtbot.mouseClick(message.button, Qt.MouseButton.LeftButton)
    assert message.isHidden() and QApplication.focusWidget() is back


def test_a_message_is_told_to_a_screen_reader_as_it_comes(qtbot, main_window, fresh_pipeline, monkeypatch):
    """A message came up along the bottom in silence: the keyboard was elsewhere, and nothing told assistive
    technology of it. Each is announced as it comes, an error over what the screen reader is saying; news said
    below a kept message is announced alone."""
    told: list[tuple[str, QAccessible.AnnouncementPoliteness]] = []
    update = QAccessible.updateAccessibility

    def heard(event) -> None:  # what Qt hands the platform's accessibility, passed on unchanged
        if event.type() == QAccessible.Event.Announcement:
            told.append((event.message(), event.politeness()))
        update(event)

    monkeypatch.setattr(QAccessible, "updateAccessibility", staticmethod(heard))
    window = main_window(fresh_pipeline, (1180, 760))
    qtbot.waitUntil(lambda: window.photo_stack.currentWidget() is window.welcome, timeout=WAIT_MS)
    told.clear()
    window.show_message("Left out notes.txt: not a photo", "info", kept=True)
    window.show_message("Restored your edits to room.jpg", "info")
    assert window.message.text.text() == "Left out notes.txt: not a photo\nRestored your edits to room.jpg"
    window.show_message("Could not read the feed: no sku column", "error")
    polite, assertive = QAccessible.AnnouncementPoliteness.Polite, QAccessible.AnnouncementPoliteness.Assertive
    assert told == [("Left out notes.txt: not a photo", polite), ("Restored your edits to room.jpg", polite),
                    ("Could not read the feed: no sku column", assertive)]


# -- the Train window's before / after ----------------------------------------------------------------------------


def test_the_before_after_is_said_in_words_not_ticks_and_each_number_with_what_it_measures(qtbot, ikea, ikea_products):
    """A screen reader read the examples' captions as "multiplication x STOOL" and "check mark …" (their ✗ and ✓), and
    the numbers as bare "62%" or "en dash", with nothing of which row or side they were. Each caption is said with its
    column and its verdict in words, each number with its row and side."""
    from app.widgets.before_after import ROWS, BeforeAfterView, load_thumbnails

    chair, stool, right = ({"sku": r["product_id"], "name": r["name"], "thumb": str(ikea / r["image"])}
                           for r in ikea_products[:3])
    example = {"category": "chair", "crop": chair["thumb"], "before": {**stool, "right": False},
               "after": {**right, "right": True}, "right": right}
    view = BeforeAfterView()
    qtbot.addWidget(view)
    view.show_numbers({"top1": 0.62, "top5": 0.8}, {"top1": 0.7, "top5": 0.9, "coverage": 0.5})
    view.show_examples([example], load_thumbnails({"examples": [example]}))
    view.show()
    captions = [view.examples.itemAtPosition(1, column).widget().findChildren(QLabel)[1] for column in range(4)]
    assert captions[1].text().startswith("✗") and captions[2].text().startswith("✓")  # what the eye reads
    assert [spoken(c) for c in captions] == [
        "On the photo: Chair",
        f"Before: wrong, {stool['name']}, {stool['sku']}",
        f"After: right, {right['name']}, {right['sku']}",
        f"Right product: {right['name']}, {right['sku']}",
    ]
    before, after = view.cells["top5"]
    assert (spoken(before), spoken(after)) == (f"{ROWS[1][0]}, before: 80%", f"{ROWS[1][0]}, after: 90%")
    assert spoken(view.cells["coverage"][0]) == f"{ROWS[3][0]}, before: not measured"


# -- the setup page -----------------------------------------------------------------------------------------------


def test_the_setup_page_keeps_the_keyboard_through_an_install_and_says_how_it_ended(qtbot, tmp_path,
                                                                                    monkeypatch, qapp):
    """Space on Download greyed it while the pack installed, and the keyboard fell to the next button (Choose models
    folder…), a key away from choosing another folder mid-install; once the install failed Cancel hid under it and
    it fell to the tab bar, and a screen reader heard nothing of the failure. The keyboard goes to Cancel, then back
    to Download, and the failure is told. (The pack's address here is an empty folder: it fails at once, for real.)"""
    from app.widgets.setup_page import SetupPage
    from app.workers import Runner

    told: list[str] = []
    update = QAccessible.updateAccessibility

    def heard(event) -> None:
        if event.type() == QAccessible.Event.Announcement:
            told.append(event.message())
        update(event)

    monkeypatch.setattr(QAccessible, "updateAccessibility", staticmethod(heard))
    (tmp_path / "empty").mkdir()
    page = SetupPage(Runner(1, qapp), lambda: tmp_path / "models")
    page.download_url = str(tmp_path / "empty")
    qtbot.addWidget(page)
    shown(qtbot, page)
    assert spoken(page.progress) == "Installing the model pack"
    page.download.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_Space)
    assert QApplication.focusWidget() is page.cancel and not page.download.isEnabled()  # the worker's answer is queued
    qtbot.waitUntil(lambda: not page.cancel.isVisible(), timeout=WAIT_MS)
    assert QApplication.focusWidget() is page.download and page.download.isEnabled()
    assert len(told) == 1 and told[0] in page.status.text() and "empty" in told[0]


# -- Review Uncertain Tags ----------------------------------------------------------------------------------------


def test_review_uncertain_tags_list_says_what_it_lists_and_how_to_open_a_row(qtbot, window, scene_path):
    """Review Uncertain Tags opens with the keyboard on its list, which a screen reader called "Uncertain tags, table"
    and no more: the line above it, how many tags it lists and that Enter opens one, is a label of no control. The
    list's description is that line, and follows it."""
    open_room(qtbot, window, scene_path)
    window.show_review()
    review = window.review_window
    qtbot.waitUntil(lambda: review.table.rowCount() > 0, timeout=WAIT_MS)
    assert review.focusWidget() is review.table and spoken(review.table) == "Uncertain tags"  # its keyboard's
    said = QAccessible.queryAccessibleInterface(review.table).text(QAccessible.Text.Description)
    assert said == review.summary.text() and "press Enter" in said
    review.close()


def test_enter_on_a_drawn_box_that_asks_what_it_is_goes_to_its_answers(qtbot, active_window, scene_path):
    """Enter on a drawn box's pin took the keyboard to its first match, past the question the box asks: its matches
    are the whole catalog's until it is answered, and the answers were four Shift+Tabs back, never heard. Enter goes
    to the first answer, and Enter there answers (a button outside a dialog took Space only); once answered, Enter on
    the pin goes to the matches again."""
    window = active_window
    open_room(qtbot, window, scene_path)
    number = draw_box(qtbot, window, FLOOR_LAMP)
    view, panel = window.view, window.panel
    view.setFocus(Qt.FocusReason.OtherFocusReason)
    press(qtbot, K.Key_Escape)  # no pin current: the arrows start over
    for _ in range(len(view.pins)):
        if view.current == number:
            break
        press(qtbot, K.Key_Left)  # the last pin first: the box drawn last
    assert view.current == number
    assert press(qtbot, K.Key_Return) is guess_buttons(window)[0]
    press(qtbot, K.Key_Return)  # this answer (the box's category as it is), as Space would
    qtbot.waitUntil(lambda: not panel.guess_row.isVisible() and bool(panel.rows) and not window.controller._running,
                    timeout=WAIT_MS)
    press(qtbot, K.Key_Escape)
    assert QApplication.focusWidget() is view and view.current == number
    press(qtbot, K.Key_Return)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.rows[0], timeout=WAIT_MS)
