"""The main window on a small laptop screen: 1366 × 768 at 150 % is 911 × 512 logical pixels.

With a folder open the window was at least 956 px wide (the Catalog tab's 770 px least width beside the Photos
strip), so Settings, Remove tag and the status bar's end were off the screen; at a narrower least width the
catalog's buttons were cut ("emove selecte"). Widths in logical pixels do not change with the scale (fonts scale
with it), so the budget is checked at 100 %, offscreen, in the app's theme (its buttons are wider than plain Qt's). An empty catalog's tag said "No product of the searched
categories", as if one category were missing: it says the catalog is empty, in the message bar's words.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QRect
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from app import theme
from app.widgets.results_panel import CATALOG_EMPTY

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
LAPTOP_150 = 911  # px: a 1366 px wide screen at 150 %


def _cut(widget: QWidget, within: QWidget, needs: int | None = None) -> list[tuple]:
    """``widget`` narrower than ``needs`` (its size hint's width: a button's words), hidden, or not wholly inside
    ``within``: (its text, its rect, within's)."""
    rect = QRect(widget.mapTo(within, widget.rect().topLeft()), widget.size())
    needs = widget.sizeHint().width() if needs is None else needs
    whole = widget.isVisible() and widget.width() >= needs and within.rect().contains(rect)
    return [] if whole else [(getattr(widget, "text", str)(), rect.getRect(), within.rect().getRect())]


def test_the_window_with_a_folder_open_fits_a_laptop_at_150_percent_with_every_button_whole(
        qtbot, window, scene_path, tmp_path: Path):
    theme.apply(QApplication.instance(), "light")  # the app's look and its buttons' widths, as a user sees them
    folder = tmp_path / "photos"
    folder.mkdir()
    for fragment in ("a-living-space-to-snuggle", "a-bright-kitchen"):
        shutil.copy(scene_path(fragment), folder)
    window.open_paths([folder])
    qtbot.waitUntil(lambda: window.photo_list.count() == 2 and window.photo_dock.isVisible() and bool(window.view.pins),
                    timeout=WAIT_MS)
    window.show_tag(min(window.view.pins))
    qtbot.waitUntil(lambda: bool(window.panel.rows), timeout=WAIT_MS)
    least = window.minimumSizeHint().width()
    assert least <= LAPTOP_150
    window.resize(least, 480)
    QTest.qWait(0)
    assert window.width() == least
    panel = window.panel
    # Remove tag whole; the category box inside the panel (its least width follows the longest category name of the
    # session's catalog, which other tests in the same process may have given longer names)
    assert _cut(panel.remove, panel) + _cut(panel.category, panel, 0) == []
    catalog = window.catalog
    window.tabs.setCurrentWidget(catalog)
    qtbot.waitUntil(lambda: catalog.total > 1900, timeout=WAIT_MS)
    QTest.qWait(0)
    buttons = [catalog.import_folder, catalog.import_csv, catalog.remove, catalog.find_duplicates]
    cut = [cut for w in [*buttons, catalog.order, catalog.category] for cut in _cut(w, catalog)]
    assert cut + _cut(catalog.search, catalog, catalog.search.minimumWidth()) == []
    rects = [QRect(b.mapTo(catalog, b.rect().topLeft()), b.size()) for b in buttons]
    assert not [(a.getRect(), b.getRect()) for i, a in enumerate(rects) for b in rects[i + 1:] if a.intersects(b)]


def test_a_tag_in_an_empty_catalog_says_the_catalog_is_empty(qtbot, main_window, fresh_pipeline, scene_path):
    win = main_window(fresh_pipeline)
    qtbot.waitUntil(lambda: win.panel.products == 0, timeout=WAIT_MS)  # the Catalog tab's first listing
    win.open_paths([scene_path("a-living-space-to-snuggle")])
    qtbot.waitUntil(lambda: bool(win.view.pins), timeout=WAIT_MS)
    win.show_tag(min(win.view.pins))
    qtbot.waitUntil(lambda: win.panel.status.text() != "Searching…", timeout=WAIT_MS)
    assert win.panel.status.isVisible() and win.panel.status.text() == CATALOG_EMPTY
    assert not win.panel.why.isEnabled() and not win.panel.check.isEnabled()  # nothing to explain or check
