"""The windows of their own (Review Uncertain Tags, Restore a Backup, Train) by keyboard alone, on real data.

Keys go to the widget that has the focus, as a keyboard's would, so a test fails where a keyboard user is stuck:
Tab walking a table's cells one by one instead of leaving it, Escape doing nothing in a window with no Close key.
Offscreen (pytest-qt).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from keys import press, shown
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from scene_copy import copy_data_dir

from engine.pipeline import Pipeline
from engine.scene_memory import objects_of, remember
from engine.settings import Settings

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
K = Qt.Key
ROOM = "bed-that-folds"  # a living room: a bed, chairs, tables, a shelf, a clock, frames


@pytest.fixture
def copied(pipeline, tmp_path: Path) -> Pipeline:
    """A copy of the whole IKEA catalog, for a test that writes."""
    return Pipeline(Settings.defaults().with_(data_dir=copy_data_dir(pipeline, tmp_path / "data")))


@pytest.fixture
def tagged(copied, scene_path) -> Pipeline:
    """That copy with one real room photo tagged, as the app tags it."""
    copy, photo = copied, scene_path(ROOM)
    result = copy.search_scene(photo)
    remember(copy, photo, (result.width, result.height), objects_of(result), "app")
    return copy


def test_tab_leaves_the_review_list_for_refresh_and_escape_closes_the_window(qtbot, tagged):
    """Tab walked the list's cells, six a row over 13 rows here (1,200 over the 200 rows of a tagged shop), so
    Refresh was never reached; Escape did nothing, the window had no key to close it. Now Tab goes from the list
    to Refresh and back, the arrows still walk the rows, and Escape closes the window as Close would."""
    from app.dialogs.review_queue import ReviewWindow

    window = ReviewWindow(tagged)
    qtbot.addWidget(window)
    shown(qtbot, window)
    qtbot.waitUntil(lambda: window.table.rowCount() > 3, timeout=WAIT_MS)
    window.table.setFocus(Qt.FocusReason.TabFocusReason)
    window.table.selectRow(0)
    assert press(qtbot, K.Key_Down) is window.table and window.table.currentRow() == 1
    refresh = press(qtbot, K.Key_Tab)
    assert refresh.text() == "Refresh", refresh
    assert press(qtbot, K.Key_Tab) is window.table
    press(qtbot, K.Key_Escape)
    assert not window.isVisible()


def test_tab_leaves_the_backups_list_for_its_buttons_and_escape_closes_the_window(qtbot, copied):
    """Restore a Backup: Tab walked each row's three cells before it reached Restore… and Close, and Escape did
    nothing. Now Tab goes from the list to Restore… and Close, and Escape closes the window as Close does."""
    from app.dialogs.backups import BackupsWindow

    for reason in ("remove", "re-embed"):
        assert copied.catalog.backup(reason) is not None
    window = BackupsWindow(copied)
    qtbot.addWidget(window)
    shown(qtbot, window)
    qtbot.waitUntil(lambda: window.table.rowCount() == 2 and window.restore.isEnabled(), timeout=WAIT_MS)
    window.table.setFocus(Qt.FocusReason.TabFocusReason)
    assert press(qtbot, K.Key_Down) is window.table and window.table.currentRow() == 1
    assert press(qtbot, K.Key_Tab) is window.restore
    assert press(qtbot, K.Key_Tab).text() == "Close"
    assert press(qtbot, K.Key_Tab) is window.table
    press(qtbot, K.Key_Escape)
    assert not window.isVisible()


def test_tab_leaves_the_train_windows_table_for_the_folder_and_start(qtbot, copied, ikea, tmp_path):
    """The Train window opens with the keyboard on its table of what it learns from, and Tab walked the table's
    cells (three a category: 27 over this slice's nine), so the dataset folder, what to train and Start were out
    of reach. Now Tab goes from the table to the folder's field, and on to Start."""
    from ikea_slice import write_slice

    from app.dialogs.train import TrainWindow

    window = TrainWindow(copied)
    qtbot.addWidget(window)
    shown(qtbot, window)
    window.folder.setText(str(write_slice(ikea, tmp_path / "slice", train=2, val=1)))
    window.refresh()
    qtbot.waitUntil(lambda: window.table.rowCount() > 3 and window.start_button.isEnabled(), timeout=WAIT_MS)
    window.table.setFocus(Qt.FocusReason.TabFocusReason)
    window.table.setCurrentCell(0, 0)
    assert press(qtbot, K.Key_Down) is window.table and window.table.currentRow() == 1
    assert press(qtbot, K.Key_Tab) is window.folder
    reached = [press(qtbot, K.Key_Tab) for _ in range(8)]
    assert window.start_button in reached, reached


def test_the_category_boxes_list_categories_by_the_name_shown(qtbot, active_window, scene_path):
    """The photo panel's Category box and the Catalog's filter listed categories by their keys: "Children's toys"
    (``toy_kids``) came near the foot of the list, after "Tableware", where neither the eye nor a typed C (which
    steps through Chair, Clock, Cot, …) looked for it. Both list them by the name shown, as Settings does."""
    from app.labels import pretty

    win = active_window
    win.open_paths([scene_path(ROOM)])
    qtbot.waitUntil(lambda: bool(win.view.pins), timeout=WAIT_MS)
    win.view.activate(min(win.view.pins))
    qtbot.waitUntil(lambda: win.panel.category.count() > 20, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.catalog.category.count() > 20, timeout=WAIT_MS)
    for box in (win.panel.category, win.catalog.category):
        keys = [box.itemData(i) for i in range(box.count()) if box.itemData(i) is not None]
        names = [pretty(key) for key in keys]
        assert "toy_kids" in keys and names == sorted(names, key=str.casefold), names
        assert names[names.index("Chair") + 1] == "Children's toys", names


def test_ctrl_2_puts_the_keyboard_in_the_catalog_search_from_anywhere_on_the_tab(qtbot, active_window):
    """Ctrl+2 on another tab brought the Catalog with the keyboard in its search box; pressed on the Catalog tab
    itself, with the keyboard in the product list, it did nothing, and the search box was a Shift+Tab walk away."""
    from app.main_window import CATALOG_TAB

    win = active_window
    qtbot.keyClick(QApplication.focusWidget() or win, K.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: win.tabs.currentIndex() == CATALOG_TAB, timeout=WAIT_MS)
    search = win.catalog.search
    qtbot.keyClicks(search, "lamp")
    win.catalog.grid.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.catalog.grid, timeout=WAIT_MS)
    qtbot.keyClick(win.catalog.grid, K.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is search and search.selectedText() == "lamp"  # typed over, as a browser's bar
