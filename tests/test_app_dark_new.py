"""The day's new bits of the window as a person sees them, light and dark, at the window's least size: nothing cut
or squeezed (geometry), no colour of one theme in the other (theme.colours()). Offscreen (pytest-qt)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from test_app_designer import ARMCHAIR, ROOM, draw_box, guess_buttons

pytestmark = pytest.mark.gui
WAIT_MS = 90_000


def test_what_is_it_buttons_keep_their_height_at_the_least_window_size(qtbot, window, scene_path):
    """At the window's least size the panel's wrapped note was counted one line, so a drawn box's four What is it?
    buttons were squeezed to 15 px of their 22 and their names cut at top and bottom."""
    window.open_paths([scene_path(ROOM)])
    qtbot.waitUntil(lambda: window.controller.scene is not None and bool(window.view.pins), timeout=WAIT_MS)
    draw_box(qtbot, window, ARMCHAIR)
    for _ in range(2):  # narrower, the panel's notes wrap: its least height, and so the window's, grows
        qtbot.wait(100)
        window.resize(window.minimumSize())
    qtbot.wait(100)
    buttons = guess_buttons(window)
    assert len(buttons) == 4
    assert all(b.height() >= b.sizeHint().height() for b in buttons), ([b.height() for b in buttons], window.size())
