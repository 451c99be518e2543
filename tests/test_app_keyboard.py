"""The photo tab by keyboard and for screen readers, on the real app (pytest-qt, offscreen).

Every key goes to the widget that has the focus, as a keyboard's would (``press``), so a test fails where a
user would be stuck: a key swallowed by the wrong widget, focus lost, an empty stop.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from app.corrections import FOLDER, Tag  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.scene_files import PASTED  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.thumbnails import Thumbnails  # noqa: E402
from app.widgets.results_panel import ResultsPanel  # noqa: E402
from app.workers import Runner  # noqa: E402
from engine.results import SceneObject  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a living room with a bed, chairs, tables, shelf, clock, frames
K = Qt.Key


def _clean(data_dir: Path) -> None:
    for folder in (FOLDER, PASTED):
        shutil.rmtree(data_dir / folder, ignore_errors=True)


@pytest.fixture
def window(qtbot, pipeline, tmp_path):
    _clean(pipeline.data_dir)
    win = MainWindow(pipeline, AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(lambda: win.engine_info is not None and win.isActiveWindow(), timeout=WAIT_MS)
    yield win
    win.close()
    _clean(pipeline.data_dir)


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


def test_a_letter_on_the_closed_category_box_opens_the_list_at_that_letter(qtbot):
    panel = ResultsPanel(Thumbnails(Runner(1)))
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
