"""A new merchandiser's first hour, offscreen on real data: the first import, then Batch Tag Folder on the folder
being looked through. Each test is a step that left them stuck or guessing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings

from app.dialogs.batch import EMPTY_CATALOG, BatchDialog
from app.main_window import MainWindow
from app.settings import AppSettings
from app.widgets.catalog_view import FIRST_IMPORT_NEXT
from app.workers import Runner
from engine.batch import SUMMARY

pytestmark = pytest.mark.gui
WAIT_MS = 90_000


def test_the_first_import_says_what_to_do_next_and_waits_to_be_read(qtbot, fresh_pipeline, tmp_path, ikea,
                                                                      ikea_products):
    """The first import said "Catalog import done: 3 added." on the catalog tab and faded in
    8 seconds: nothing said that a room photo comes next. A later import is the usual report."""
    from ikea_feed import write_feed

    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(fresh_pipeline, settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine_info is not None, timeout=WAIT_MS)
    view = win.catalog
    said: list[str] = []
    view.message.connect(lambda text, _level: said.append(text))
    feed = write_feed(ikea, [r for r in ikea_products if r["category"] == "chair"][:3], tmp_path / "feed.csv")
    for _ in range(2):
        with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
            view.import_from(feed)
        qtbot.waitUntil(lambda: view.total == 3, timeout=WAIT_MS)
        if len(said) == 2:  # "Importing feed.csv…", then the first report
            assert win.message.isVisible() and win.message.waiting and FIRST_IMPORT_NEXT in win.message.text.text()
    first, again = said[1], said[3]
    assert first.split("\n") == ["Catalog import done: 3 added.", FIRST_IMPORT_NEXT]
    assert again == "Catalog import done: 3 unchanged."


def test_batch_offers_a_results_folder_beside_the_photos_and_starts_at_once(qtbot, fresh_pipeline, tmp_path,
                                                                           scene_path, ikea, ikea_products,
                                                                           qapp):
    """Opened over the folder the window looks through, Batch Tag Folder filled in its Photos and left Save to
    empty: Start answered "Choose the photos folder and where to save the results." Browse… for the photos
    offered ``<folder>-tagged``; the folder given is offered the same."""
    from ikea_feed import write_feed

    photos = tmp_path / "Room photos"
    photos.mkdir()
    shutil.copy(scene_path("bed-that-folds"), photos)
    dialog = BatchDialog(fresh_pipeline, Runner(1, qapp), 3, folder=photos)
    qtbot.addWidget(dialog)
    assert Path(dialog.target.text()) == tmp_path / "Room photos-tagged"
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS) as finished:
        dialog.start_button.click()
    # an empty catalog: said once, in the app's words, not as every photo failing with the CLI's command
    assert finished.args[0] == EMPTY_CATALOG and dialog.status.text() == EMPTY_CATALOG
    fresh_pipeline.import_catalog(write_feed(ikea, [r for r in ikea_products if r["category"] == "table"][:3],
                                             tmp_path / "feed.csv"))
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS) as finished:
        dialog.start_button.click()
    assert len(finished.args[0].done) == 1, finished.args[0]
    assert (tmp_path / "Room photos-tagged" / SUMMARY).is_file() and dialog.open_button.isEnabled()
    assert "shoppable page (.html)" in dialog.status.text() and "Open results folder" in dialog.status.text()


def test_the_offered_results_folder_follows_the_photos_browsed_for(qtbot, fresh_pipeline, tmp_path,
                                                                   monkeypatch, qapp):
    """Offered from the start, the results folder would have stayed the first folder's when Browse… chose other
    photos: their pages would have gone beside the wrong folder. One typed in stays."""
    from PySide6.QtWidgets import QFileDialog

    chosen = tmp_path / "Autumn"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_args: str(chosen))
    dialog = BatchDialog(fresh_pipeline, Runner(1, qapp), 3, folder=tmp_path / "Spring")
    qtbot.addWidget(dialog)
    dialog._browse(dialog.source, "Folder of room photos")
    assert Path(dialog.target.text()) == tmp_path / "Autumn-tagged"
    dialog.target.setText(str(tmp_path / "web"))
    chosen = tmp_path / "Winter"
    dialog._browse(dialog.source, "Folder of room photos")
    assert Path(dialog.source.text()) == chosen and Path(dialog.target.text()) == tmp_path / "web"


def test_the_first_start_pages_import_goes_to_the_catalog_only_once_a_feed_is_chosen(
        qtbot, monkeypatch, fresh_pipeline, tmp_path, ikea, ikea_products):
    """Import products… ▸ A CSV file switched to the Catalog tab before its file dialog opened: cancelled, the new
    user was left on an empty Catalog tab instead of the page that explains the import."""
    from ikea_feed import write_feed

    from app.main_window import CATALOG_TAB

    win = MainWindow(fresh_pipeline, AppSettings(QSettings(str(tmp_path / "settings.ini"),
                                                           QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine_info is not None, timeout=WAIT_MS)
    start = win.tabs.currentIndex()
    assert start != CATALOG_TAB and win.photo_stack.currentWidget() is win.welcome
    chosen = ""  # the user's answer to the file dialog: none (Cancel), then a feed
    monkeypatch.setattr("app.widgets.catalog_view.QFileDialog.getOpenFileName", lambda *_a, **_k: (chosen, ""))
    win.welcome.importCsv.emit()
    assert win.tabs.currentIndex() == start
    chosen = str(write_feed(ikea, [r for r in ikea_products if r["category"] == "chair"][:3], tmp_path / "feed.csv"))
    with qtbot.waitSignal(win.catalog.importFinished, timeout=WAIT_MS):
        win.welcome.importCsv.emit()
        assert win.tabs.currentIndex() == CATALOG_TAB


def test_the_first_imports_next_step_goes_once_a_photo_is_open(qtbot, fresh_pipeline, tmp_path, ikea, ikea_products,
                                                               scene_path):
    """"Next: open a room photo…" waits on the Catalog tab to be read; once a photo was open it came back there each
    time the tab did, telling the user to do what they had done."""
    from ikea_feed import write_feed

    from app.main_window import CATALOG_TAB

    win = MainWindow(fresh_pipeline, AppSettings(QSettings(str(tmp_path / "settings.ini"),
                                                           QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine_info is not None, timeout=WAIT_MS)
    win.tabs.setCurrentIndex(CATALOG_TAB)
    with qtbot.waitSignal(win.catalog.importFinished, timeout=WAIT_MS):
        win.catalog.import_from(write_feed(ikea, [r for r in ikea_products if r["category"] == "bed"][:3],
                                           tmp_path / "feed.csv"))
    qtbot.waitUntil(lambda: FIRST_IMPORT_NEXT in win.message.text.text() and win.message.isVisible(), timeout=WAIT_MS)
    room = scene_path("bed-that-folds")
    win.open_paths([room])
    qtbot.waitUntil(lambda: win.controller.path == room and win.controller.scene is not None, timeout=WAIT_MS)
    win.tabs.setCurrentIndex(CATALOG_TAB)
    assert not win.message.isVisible()
