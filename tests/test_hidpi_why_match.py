"""Why this match? on a short screen: opening it must not make the main window taller than a 960 × 600 screen
(1920 × 1200 at 200 %, the audit's shortest), so its two heat pictures shrink where the panel is short."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication

from app.thumbnails import Thumbnails
from app.widgets.results_panel import ResultsPanel
from app.widgets.why_match import LEAST
from app.workers import Runner
from engine.corrections import EditableScene
from engine.results import Match, SceneObject, SceneResult

pytestmark = pytest.mark.gui

# the panel's size in the main window as it opens on a 960 × 600 screen (1920 × 1200 at 200 %: 883 × 552, the
# screen less room for its title bar), measured under Xvfb with QT_SCALE_FACTOR=2
PANEL_WIDTH, PANEL_HEIGHT = 360, 428


def _panel(qtbot, ikea: Path) -> ResultsPanel:
    """The panel on a sofa tag with five matches (the shared catalog's photos), Why this match? open."""
    photos = sorted((ikea / "products").glob("*/*.jpg"))[:5]
    matches = [Match(i, f"{i}00.000.0{i}", f"PRODUCT {i}", "sofa", 0.8 - i / 10, "exact", str(p))
               for i, p in enumerate(photos)]
    obj = SceneObject("sofa", "couch", 0.9, (0, 0, 400, 300), (200, 150), matches)
    scene = EditableScene(SceneResult("room.jpg", 800, 600, "CPU", {}, [obj]), "ab" * 32)
    panel = ResultsPanel(Thumbnails(Runner(1, QApplication.instance())))
    qtbot.addWidget(panel)
    panel.resize(PANEL_WIDTH, 500)
    panel.show()
    QApplication.processEvents()
    panel.show_tag(scene.tag(1), "#3b82f6", ["sofa"], ("sofa",))
    panel.show_matches(matches)
    QApplication.processEvents()
    return panel


def test_opening_why_this_match_keeps_the_window_within_a_960_by_600_screen(qtbot, ikea):
    """The two pictures were a fixed 150 px: opened, Why this match? needed more height than the panel has on a
    960 × 600 screen, so the main window grew from 552 to 578 px, past the screen's bottom edge under its title
    bar, the status bar out of sight. They now shrink to ``LEAST`` where the window is short, their pictures with
    them, and grow back to 150 px where there is room."""
    panel = _panel(qtbot, ikea)
    panel.why.click()
    panel.why_view.show_overlays(np.full((300, 200, 3), 200, np.uint8), np.full((500, 500, 3), 90, np.uint8),
                                 "PRODUCT 0 000.000.00")
    for _ in range(2):
        QApplication.processEvents()  # the layout requests: the note wrapped at the panel's width
    opened = panel.minimumSizeHint().height()
    assert opened <= PANEL_HEIGHT, opened

    panel.resize(PANEL_WIDTH, opened)  # as short as the panel goes: the pictures at their least, fitted to it
    qtbot.waitUntil(lambda: panel.why_view.product.height() < 150)
    for label in (panel.why_view.crop, panel.why_view.product):
        shown = label.pixmap().deviceIndependentSize().toSize()
        assert label.height() >= LEAST and shown.boundedTo(label.size()) == shown, (label.size(), shown)
    panel.resize(PANEL_WIDTH, opened + 400)  # room again: full size
    qtbot.waitUntil(lambda: panel.why_view.product.pixmap().deviceIndependentSize().toSize() == QSize(150, 150))
