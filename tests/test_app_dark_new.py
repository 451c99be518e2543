"""The day's new bits of the window as a person sees them, light and dark, at the window's least size: nothing cut
or squeezed (geometry), no colour of one theme in the other (theme.colours()). Offscreen (pytest-qt)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QPushButton
from test_app_designer import ARMCHAIR, ROOM, draw_box, guess_buttons

from app import theme
from app.dialogs.review_queue import BEST, PHOTO, RUNNER_UP, ReviewWindow
from app.thumbnails import Thumbnails
from app.widgets.catalog_view import ProductModel
from app.widgets.where_used import CROP
from app.workers import Runner

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


def test_the_review_window_at_its_least_size_keeps_pictures_summary_and_refresh(qtbot, fresh_pipeline):
    """Review Uncertain Tags could be made 90 × 150 px: its summary a cut column of words, the table a sliver.
    At its least size now each picture's column holds its picture whole (its name beside it cut short, whole in the
    tooltip), two rows show, the summary is whole and Refresh is inside the window."""
    window = ReviewWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window.io.busy(), timeout=WAIT_MS)
    window.resize(1, 1)  # as small as it goes
    qtbot.wait(100)
    table, summary = window.table, window.summary
    assert all(table.columnWidth(c) >= CROP.width() + 20 for c in (PHOTO, BEST, RUNNER_UP)), window.size()
    assert table.viewport().height() >= 2 * table.verticalHeader().defaultSectionSize(), window.size()
    assert summary.height() >= summary.heightForWidth(summary.width()), window.size()
    refresh = window.findChild(QPushButton)
    assert window.rect().contains(refresh.geometry()), window.size()


@pytest.mark.parametrize("choice", ["light", "dark"])
def test_a_catalog_tile_waits_for_its_picture_in_the_theme_colour(qtbot, pipeline, ikea_products, choice):
    """A tile whose picture is not decoded yet showed a fixed light grey square (#f3f4f6): in the dark theme a grid
    of pale squares while a catalog's pictures came. It is the theme's panel colour now."""
    app = QApplication.instance()
    theme.apply(app, choice)
    try:
        model = ProductModel(Thumbnails(Runner(1, app)))
        model.set_products([pipeline.catalog.get_by_sku(ikea_products[0]["product_id"])])
        blank = model.picture(0, 1.0).toImage()  # asked at once: its picture is still being decoded
        assert blank.pixelColor(0, 0) == QColor(theme.colours().alternate)
    finally:
        theme.apply(app, "light")
