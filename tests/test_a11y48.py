"""Session 48's walk of the app by keyboard and screen reader alone: what a person who cannot see the screen, or
uses no mouse, met in the dialogs, and one look each at a progress bar's fill and a form's labels. Offscreen
(pytest-qt)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from contrast import SHAPE_CONTRAST, contrast, settle
from PySide6.QtWidgets import QApplication, QProgressBar

from app import theme

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("choice", ["light", "dark"])
def test_a_progress_bars_fill_stands_3_to_1_on_its_track(qtbot, restore_light, choice):
    """Check Installation's bar (every bar: one stylesheet) filled in the accent blue, 2.8:1 on the dark theme's
    track, under WCAG's 3:1 for what a graphic says (how far the work is)."""
    theme.apply(QApplication.instance(), choice)
    bar = QProgressBar(textVisible=False)
    qtbot.addWidget(bar)
    bar.setRange(0, 100)
    bar.setValue(50)
    bar.resize(200, 6)
    settle(qtbot)
    image = bar.grab().toImage()
    fill, track = image.pixelColor(50, 3), image.pixelColor(150, 3)
    assert contrast(fill, track) >= SHAPE_CONTRAST, (choice, fill.name(), track.name())
