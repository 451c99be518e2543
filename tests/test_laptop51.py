"""A designer on a 13-inch laptop with a trackpad (session 51): two-finger scrolling, pinch zoom and the wheel on
the photo, the map, the catalog's grid and the matches, as real widgets get the events a trackpad sends (small
``angleDelta``, the fingers' travel in ``pixelDelta``, a pinch as a ``QNativeGestureEvent``)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from map_data import synthetic
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QApplication, QListWidgetItem, QScrollArea, QWidget
from trackpad_events import pinch, room_view, wheel

from app.dialogs.guide import GUIDE, GuideWindow
from app.thumbnails import Thumbnails
from app.widgets.catalog_view import CatalogView
from app.widgets.duplicates_view import DuplicatesView
from app.widgets.map_canvas import MapCanvas
from app.widgets.results_panel import ResultsPanel
from app.widgets.scene_view import SceneView
from app.widgets.where_used import CROP, WhereUsedPanel
from app.workers import Runner

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
FINGERS = QPoint(0, -3)  # px: a slow two-finger swipe upwards moves the page 3 px per event
ANGLE = QPoint(0, -24)  # what Qt makes of it as a wheel's turn: a fifth of a notch


def swipe(widget: QWidget, pixels: QPoint = FINGERS, angle: QPoint = ANGLE,
          phase: Qt.ScrollPhase = Qt.ScrollPhase.ScrollUpdate) -> None:
    """One wheel event of a two-finger swipe over the middle of ``widget`` (a view's viewport)."""
    wheel(widget, pixels, angle, phase=phase)


@pytest.fixture
def photo_view(qtbot, runner, scene_path) -> SceneView:
    """The photo view, laptop-sized, showing a real room photo fit to it."""
    return room_view(qtbot, runner, scene_path)


def test_a_pinch_zooms_the_photo_about_the_fingers(photo_view: SceneView):
    """A pinch did nothing: the photo zoomed only by the wheel, + and −."""
    viewport = photo_view.viewport()
    middle = photo_view.mapToScene(viewport.rect().center())
    fit = photo_view.transform().m11()
    for _ in range(5):
        pinch(viewport, 0.1)
    assert photo_view.transform().m11() == pytest.approx(fit * 1.1**5, rel=1e-3)
    still = photo_view.mapFromScene(middle) - viewport.rect().center()
    assert abs(still.x()) <= 1 and abs(still.y()) <= 1, still
    pinch(viewport, -0.1)
    assert photo_view.transform().m11() == pytest.approx(fit * 1.1**5 * 0.9, rel=1e-3)


def test_a_pinch_zooms_the_map_and_its_momentum_does_not(qtbot, runner):
    canvas = MapCanvas(Thumbnails(runner))
    qtbot.addWidget(canvas)
    canvas.resize(600, 420)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.show_map(*synthetic(200))
    start = canvas.transform().m11()
    pinch(canvas.viewport(), 0.2)
    assert canvas.transform().m11() == pytest.approx(start * 1.2, rel=1e-3)
    for _ in range(20):
        swipe(canvas.viewport(), QPoint(0, 2), QPoint(0, 16), Qt.ScrollPhase.ScrollMomentum)
    assert canvas.transform().m11() == pytest.approx(start * 1.2, rel=1e-3)
    canvas.clear()


def test_the_catalog_grid_follows_the_fingers_and_a_notch_scrolls_one_row(qtbot, pipeline, qapp):
    """Each 3 px of a swipe moved the tiles 114 px (Qt read the angle, its step a row of tiles); a notch of the
    wheel moved three rows, 570 px, more than the grid shows on a laptop, so rows went by unseen."""
    view = CatalogView(pipeline, Runner(1, qapp), Runner(2, qapp), Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(view)
    view.resize(900, 520)
    view.show()
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() > 100, timeout=WAIT_MS)
    grid, bar = view.grid, view.grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 2000, timeout=WAIT_MS)
    for moved in range(1, 6):
        swipe(grid.viewport())
        assert bar.value() == 3 * moved
    row = grid.gridSize().height()
    before = bar.value()
    swipe(grid.viewport(), QPoint(), QPoint(0, -120), Qt.ScrollPhase.NoScrollPhase)  # a mouse's notch: no pixels
    assert abs(bar.value() - before - row) <= QApplication.wheelScrollLines()
    assert bar.value() - before < grid.viewport().height()


def test_the_matches_follow_the_fingers(qtbot, runner):
    """Each 3 px of a swipe moved the matches 12 px."""
    panel = ResultsPanel(Thumbnails(runner))
    qtbot.addWidget(panel)
    panel.resize(360, 420)
    panel.show()
    panel.scroll.widget().setMinimumHeight(2000)  # a long list of matches, taller than the panel
    qtbot.waitUntil(lambda: panel.scroll.verticalScrollBar().maximum() > 1000)
    bar = panel.scroll.verticalScrollBar()
    for moved in range(1, 4):
        swipe(panel.scroll.viewport())
        assert bar.value() == 3 * moved  # Qt's 12 px per 3 px


def test_the_duplicate_groups_follow_the_fingers(qtbot, runner, pipeline):
    """Each 3 px of a swipe moved the groups 12 px."""
    window = DuplicatesView(pipeline, runner, Thumbnails(runner))
    qtbot.addWidget(window)
    window.resize(640, 420)
    window.show()
    window.list.setMinimumHeight(2000)  # many groups, taller than the window
    groups = window.findChild(QScrollArea, "duplicateGroups")
    bar = groups.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 1000)
    for moved in range(1, 4):
        swipe(groups.viewport())
        assert bar.value() == 3 * moved


def test_the_guide_follows_the_fingers(qtbot):
    """Each 3 px of a swipe moved the guide's text 12 px."""
    window = GuideWindow(GUIDE)
    qtbot.addWidget(window)
    window.resize(640, 420)
    window.show()
    bar = window.browser.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 1000)
    for moved in range(1, 4):
        swipe(window.browser.viewport())
        assert bar.value() == 3 * moved


def test_where_used_follows_the_fingers(qtbot, runner, pipeline, scene_path):
    """Its rows (a photo crop each) moved in jumps of a whole row, every other 3 px of a swipe."""
    panel = WhereUsedPanel(pipeline, runner)
    qtbot.addWidget(panel)
    panel.resize(340, 420)
    panel.show()
    crop = QIcon(QPixmap.fromImage(QImage(str(scene_path("a-living-space-to-snuggle"))).scaled(CROP)))
    for number in range(30):
        panel.sightings.addItem(QListWidgetItem(crop, f"a room photo, tag {number}"))
    first = panel.sightings.item(0)
    qtbot.waitUntil(lambda: panel.sightings.verticalScrollBar().maximum() > 0)
    top = panel.sightings.visualItemRect(first).top()
    for moved in range(1, 4):
        swipe(panel.sightings.viewport())
        assert panel.sightings.visualItemRect(first).top() == top - 3 * moved
