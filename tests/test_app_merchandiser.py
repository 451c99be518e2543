"""What a merchandiser tagging a folder of room photos saw that misled them, found walking the app on the whole
IKEA catalog: the legend of the photo before, a matches line that read as a search still running. Offscreen
(pytest-qt), real photos, models and catalog.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer

from app.labels import pretty
from app.main_window import MainWindow
from engine.corrections import USER

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a living room with a bed, chairs, tables, shelf, clock, frames
KITCHEN = "bright-kitchen"


def open_and_wait(qtbot, win: MainWindow, path: Path) -> None:
    win.open_paths([path])
    qtbot.waitUntil(lambda: win.controller.scene is not None and win.controller.path == path, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(win.view.pins), timeout=WAIT_MS)


def test_the_next_photo_shows_no_legend_of_the_last_one_while_it_is_tagged(qtbot, window, scene_path):
    """The next photo showed, still without pins ("Finding furniture and decor…"), under the legend of the photo
    before: its colours and counts, folded to a chip, for categories this photo may not have."""
    open_and_wait(qtbot, window, scene_path(ROOM))
    view, kitchen = window.view, scene_path(KITCHEN)
    assert view.legend.isVisible()
    while_tagged: list[bool] = []

    def look() -> None:
        if window.controller.path == kitchen and window.controller.scene is None and view.photo is not None:
            while_tagged.append(view.legend.isVisible())

    timer = QTimer(interval=5, timeout=look)
    timer.start()
    open_and_wait(qtbot, window, kitchen)
    timer.stop()
    assert while_tagged, "the kitchen was never seen being tagged"
    assert not any(while_tagged)
    assert view.legend.isVisible() and view.legend.counts  # its own legend, once its tags came


def test_the_matches_line_says_where_the_listed_matches_come_from(qtbot, window, scene_path, pipeline):
    """Under a finished list of chairs the line read "Searching Chair, Armchair, Stools & benches", as if a
    search still ran; and under a box drawn around a paper lamp, whose own matches (every category) listed
    wardrobes, a mirror and a lamp, it read "Searching Wardrobe, Storage furniture" with *Same category* on."""
    balcony = scene_path("urban-oasis-in-4-metres")
    open_and_wait(qtbot, window, balcony)
    panel, categories = window.panel, pipeline.categories
    chair = next(t for t in window.controller.scene.visible if t.obj.category == "chair" and t.obj.matches)
    window.view.activate(chair.number)
    qtbot.waitUntil(lambda: panel.number == chair.number and bool(panel.rows), timeout=WAIT_MS)
    named = ", ".join(pretty(c) for c in categories.searched("chair"))
    assert panel.searched.text() == f"Matches from {named}"

    window.controller.search_region((880.0, 370.0, 1000.0, 500.0))  # the paper lamp by the door, which no pin has
    qtbot.waitUntil(lambda: panel.tag is not None and panel.tag.origin == USER and bool(panel.rows), timeout=WAIT_MS)
    searched = categories.searched(panel.tag.obj.category)
    assert any(row.match.category not in searched for row in panel.rows)  # its matches come from every category
    assert panel.searched.text().startswith("Matches from the whole catalog (a box you draw searches every category)")

    panel.any.click()
    qtbot.waitUntil(lambda: bool(panel.rows), timeout=WAIT_MS)
    assert panel.searched.text() == "Matches from the whole catalog"


def test_the_busy_notice_and_the_legend_keep_above_the_message_bar(qtbot, window, scene_path):
    """The message bar floats over the photo's bottom (it never moves the photo): "Finding furniture and decor…"
    lay under its "Open a photo and wait for its tags first", which asked to wait for just that. The notice and the
    legend now keep above a message, and go back down once it is gone."""
    from PySide6.QtCore import QPoint

    from app.main_window import PHOTO_TAB

    open_and_wait(qtbot, window, scene_path(ROOM))
    view = window.view
    view.set_busy("Finding furniture and decor…")
    low = view.busy.geometry().bottom()
    window.show_message("Open a photo and wait for its tags first.", "info", page=PHOTO_TAB)
    bar_top = view.viewport().mapFromGlobal(window.message.mapToGlobal(QPoint(0, 0))).y()
    assert bar_top < view.viewport().height(), "the message bar lies over the photo's bottom"
    assert view.busy.geometry().bottom() < bar_top < low
    assert not view.legend.isVisible() or view.legend.geometry().bottom() < bar_top
    window.message.dismiss()
    assert view.busy.geometry().bottom() == low
