"""What a keyboard-only walk of the app found: a focused table with no ring, an invisible Tab stop in Settings,
buttons that could not act in an empty catalog, Train window fields a screen reader could not name, and a radio
pair whose Tab stop was the unchecked button. Offscreen (pytest-qt), on real data.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from ikea_feed import write_feed
from keys import press, shown
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAccessible, QColor
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit, QWidget

from app import theme
from app.settings import AppSettings
from app.thumbnails import Thumbnails
from app.workers import Runner
from engine.corrections import Tag
from engine.results import SceneObject

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
K = Qt.Key


def spoken(widget: QWidget) -> str:
    return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)


# -- 1. tables are ringed -------------------------------------------------------------------------------------------


def edge(view: QAbstractItemView, colour: str) -> int:
    """How many of the view's outermost columns of pixels, on the left at mid-height, are ``colour``."""
    image, wanted, middle = view.grab().toImage(), QColor(colour).name(), view.height() // 2
    return next((x for x in range(6) if image.pixelColor(x, middle).name() != wanted), 6)


@pytest.mark.parametrize("look", ["light", "dark"])
def test_a_focused_table_has_the_2_px_ring_a_list_has(qtbot, fresh_pipeline, look):
    """Review Uncertain Tags, Restore a Backup and the Train window's table showed nothing when the keyboard was on
    them: the stylesheet ringed lists only (and a list's ring was its 1 px border turned blue). A focused table or
    list now has a 2 px ring in the accent colour, in both themes, and its rows stay where they were."""
    from app.dialogs.backups import BackupsWindow
    from app.dialogs.review_queue import ReviewWindow
    from app.dialogs.settings import SettingsDialog
    from app.dialogs.train import TrainWindow

    app = QApplication.instance()
    theme.apply(app, look)
    try:
        accent = theme.colours().accent
        settings = AppSettings(QSettings(str(fresh_pipeline.data_dir / "s.ini"), QSettings.Format.IniFormat))
        dialog = SettingsDialog(settings, ["sofa", "chair"], fresh_pipeline.data_dir)
        windows = [ReviewWindow(fresh_pipeline), BackupsWindow(fresh_pipeline), TrainWindow(fresh_pipeline), dialog]
        views = [*(w.table for w in windows[:3]), dialog.categories]
        for window, view in zip(windows, views, strict=True):
            qtbot.addWidget(window)
            shown(qtbot, window)
            others = [w for w in window.findChildren(QWidget) if w.focusPolicy() & Qt.FocusPolicy.TabFocus
                      and w is not view and w.isVisible() and w.isEnabled()]
            others[0].setFocus(Qt.FocusReason.TabFocusReason)
            before, viewport = edge(view, accent), view.viewport().geometry()
            view.setFocus(Qt.FocusReason.TabFocusReason)
            assert view.hasFocus()
            assert before == 0 and edge(view, accent) >= 2, (window, edge(view, accent))
            assert view.viewport().geometry() == viewport, window
            window.close()
    finally:
        theme.apply(app, "light")


@pytest.mark.parametrize("look", ["light", "dark"])
def test_the_photos_strip_and_the_product_grid_are_ringed_too(qtbot, fresh_pipeline, look, qapp):
    """The Photos strip and the Catalog's product grid have no border of their own, and their id rule outranked the
    lists' focus ring: the keyboard on them showed nothing but the selected row. They are ringed as lists are,
    their rows where they were."""
    from app.widgets.catalog_view import CatalogView
    from app.widgets.photo_strip import PhotoStrip

    app = QApplication.instance()
    theme.apply(app, look)
    try:
        accent, io = theme.colours().accent, Runner(2, qapp)
        thumbnails = Thumbnails(io)
        catalog = CatalogView(fresh_pipeline, Runner(1, qapp), io, thumbnails)
        for view, window in ((PhotoStrip(thumbnails), None), (catalog.grid, catalog)):
            holder = window or QWidget()
            if window is None:
                view.setParent(holder)
                QLineEdit(holder).move(0, 300)  # somewhere else for the keyboard
            qtbot.addWidget(holder)
            shown(qtbot, holder)
            other = next(w for w in holder.findChildren(QLineEdit) if w.isVisible())
            other.setFocus(Qt.FocusReason.TabFocusReason)
            before, viewport = edge(view, accent), view.viewport().geometry()
            view.setFocus(Qt.FocusReason.TabFocusReason)
            assert view.hasFocus() and before == 0 and edge(view, accent) >= 2, (view, edge(view, accent))
            assert view.viewport().geometry() == viewport
            holder.close()
    finally:
        theme.apply(app, "light")


# -- 2. Settings: the keyboard starts on a control ----------------------------------------------------------------


def test_settings_opens_on_its_first_control_and_the_scroll_area_is_no_tab_stop(qtbot, fresh_pipeline):
    """Settings opened with the keyboard on its scroll area, which showed no ring, and Tab stopped there again every
    time round. It opens on "Tags on a photo", Tab goes round the controls and OK and Cancel only, and the control
    Tab reaches is scrolled into view in a dialog too short for them all."""
    from app.dialogs.settings import SettingsDialog

    settings = AppSettings(QSettings(str(fresh_pipeline.data_dir / "s.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings, ["sofa", "chair", "table", "lamp"], fresh_pipeline.data_dir)
    qtbot.addWidget(dialog)
    shown(qtbot, dialog)
    assert QApplication.focusWidget() is dialog.max_tags
    dialog.advanced_toggle.setChecked(True)
    dialog.resize(dialog.width(), 300)  # the settings scroll
    qtbot.waitUntil(lambda: dialog.body.verticalScrollBar().maximum() > 0, timeout=WAIT_MS)
    reached = []
    for _ in range(30):
        focus = press(qtbot, K.Key_Tab)
        reached.append(focus)
        if dialog.body.isAncestorOf(focus):
            seen = dialog.body.viewport().rect()
            top_left = focus.mapTo(dialog.body.viewport(), focus.rect().topLeft())
            assert seen.contains(top_left), (focus, top_left, seen)
    assert dialog.body not in reached and dialog.max_tags in reached and dialog.threshold not in reached
    assert dialog.use_card in reached and dialog.ok in reached


# -- 3. the Catalog tab's buttons act or say why not ----------------------------------------------------------------


def test_remove_and_find_duplicates_wait_for_products_and_a_selection(qtbot, fresh_pipeline, ikea, ikea_products,
                                                                     tmp_path, qapp):
    """With no product, Remove selected and Find duplicates… were enabled and did nothing; Remove selected did nothing
    without a selection either. Each is enabled once it can act, and its tooltip says what it waits for."""
    from app.widgets.catalog_view import CatalogView

    io = Runner(2, qapp)
    view = CatalogView(fresh_pipeline, Runner(1, qapp), io, Thumbnails(io))
    qtbot.addWidget(view)
    shown(qtbot, view)
    with qtbot.waitSignal(view.catalogChanged, timeout=WAIT_MS) as listed:
        view.refresh()
    assert listed.args == [0]
    assert not view.remove.isEnabled() and "Select" in view.remove.toolTip()
    assert not view.find_duplicates.isEnabled() and "two products" in view.find_duplicates.toolTip()
    fresh_pipeline.import_catalog(write_feed(ikea, ikea_products[:6], tmp_path / "feed.csv"))
    with qtbot.waitSignal(view.catalogChanged, timeout=WAIT_MS) as listed:
        view.refresh()
    assert listed.args[0] == 6 and view.find_duplicates.isEnabled() and not view.remove.isEnabled()
    view.grid.setCurrentIndex(view.model.index(3))
    assert view.remove.isEnabled() and "Delete" in view.remove.toolTip()
    view.grid.clearSelection()
    assert not view.remove.isEnabled()


# -- 4. the Train window's names ---------------------------------------------------------------------------------


def test_the_train_windows_folder_and_table_have_names_a_screen_reader_reads(qtbot, fresh_pipeline):
    """The dataset folder's field had only placeholder text, gone once a folder is typed, and its table no name: a
    screen reader said "edit" and "table"."""
    from app.dialogs.train import TrainWindow

    window = TrainWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.folder.setText("/data/shop")
    assert spoken(window.folder) == "Dataset folder (optional)"
    assert spoken(window.table) == "What it learns from, by category"


# -- 5. the Matches panel's radio pair ------------------------------------------------------------------------------


def test_the_scope_radios_are_one_tab_stop_on_the_checked_one(qtbot, qapp):
    """After Any category was chosen by keyboard and a new tag checked Same category again, Tab and Shift+Tab
    reached the unchecked Any category and never Same category. The pair is one Tab stop, the checked button, and
    the arrows switch between them, as in any radio group."""
    from app.widgets.results_panel import ResultsPanel

    panel = ResultsPanel(Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(panel)
    panel.resize(420, 700)
    shown(qtbot, panel)
    panel.show_tag(Tag(1, SceneObject("chair", "chair", 0.9, (0, 0, 10, 10), (5, 5), [])), "#ff8800",
                   ["chair", "sofa"], ("chair",))
    panel.remove.setFocus(Qt.FocusReason.TabFocusReason)
    assert press(qtbot, K.Key_Tab) is panel.same
    assert press(qtbot, K.Key_Right) is panel.any and panel.any.isChecked()
    panel.show_tag(Tag(2, SceneObject("sofa", "sofa", 0.9, (0, 0, 10, 10), (5, 5), [])), "#2e9d49",
                   ["chair", "sofa"], ("sofa",))
    assert panel.same.isChecked()
    panel.remove.setFocus(Qt.FocusReason.TabFocusReason)
    assert press(qtbot, K.Key_Tab) is panel.same
    after = press(qtbot, K.Key_Tab)
    assert after is not panel.any, "Tab stopped on both radio buttons"
    assert press(qtbot, K.Key_Backtab) is panel.same
    assert press(qtbot, K.Key_Backtab) is panel.remove
