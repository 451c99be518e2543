"""The Photo tab once a merchandiser confirms a match. Offscreen.

A confirmed match read "Similar 0.65" beside "✓ Confirmed" in the panel, on its pin's hover card and to a screen
reader, as if the merchandiser's answer were still the engine's guess: now each says it is confirmed, and the
rating is in the confirm button's tooltip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from conftest import clear_user_edits
from PySide6.QtCore import QPoint, QSettings, Qt

from app.labels import match_word
from app.main_window import MainWindow
from app.settings import AppSettings
from app.widgets.hover_card import HoverCard

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a bed whose best matches are all "Similar"


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

    card = hover(qtbot, window, tag.number)
    assert "✓ Confirmed" in card.badge.text() and f"{best.score:.2f}" not in card.badge.text()
    assert match_word(best.match) not in card.badge.text() and "confirmed" not in card.detail.text()

    assert view.current == tag.number  # clicked: what a screen reader says of the photo is about this tag
    assert ". Confirmed product: " in view.accessibleName() and rated not in view.accessibleName()

    panel.rows[0].confirm.click()  # withdrawn: the engine's guess again, said as one
    qtbot.waitUntil(lambda: bool(panel.rows) and not panel.rows[0].confirm.isChecked(), timeout=WAIT_MS)
    assert panel.rows[0].badge.isVisibleTo(panel.rows[0]) and rated in panel.rows[0].accessibleName()
    assert f"Best match: {best.name}" in view.accessibleName() and rated in view.accessibleName()
