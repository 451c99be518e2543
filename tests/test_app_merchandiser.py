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

from conftest import clear_user_edits  # tests/ is on sys.path
from PySide6.QtCore import QSettings, QTimer

from app.main_window import MainWindow
from app.settings import AppSettings

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a living room with a bed, chairs, tables, shelf, clock, frames
KITCHEN = "bright-kitchen"


@pytest.fixture
def window(qtbot, pipeline, tmp_path: Path):
    clear_user_edits(pipeline.data_dir)
    win = MainWindow(pipeline, AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitUntil(lambda: win.engine_info is not None, timeout=WAIT_MS)
    yield win
    win.close()
    clear_user_edits(pipeline.data_dir)


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
