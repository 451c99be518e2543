"""The windows open as they were left: size, place, maximized state, splitters and tab, saved in the settings file
as they close (``app.window_memory``), and never off the screen or larger than it when the desktop changed since.

Real windows over a real settings file: each test's windows share ``main_window``'s settings.ini, as one session's
windows and the next's do. Saved geometry for screens this one lacks is written in Qt's own format (version 3, as
``QWidget.saveGeometry`` writes it) by ``geometry``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ikea_feed import write_feed
from PySide6.QtCore import QByteArray, QDataStream, QIODevice, QRect, QSize
from PySide6.QtGui import QGuiApplication

from app.main_window import CATALOG_TAB, MAP_TAB, PHOTO_TAB
from app.theme import SCREEN_SHARE

WAIT_MS = 30_000


@pytest.fixture
def shop(fresh_pipeline, ikea: Path, ikea_products: list[dict[str, str]]):
    """A catalog of three products (the last tab opens again only where the catalog holds some)."""
    feed = write_feed(ikea, ikea_products[:3], fresh_pipeline.data_dir / "feed.csv")
    assert fresh_pipeline.import_catalog(feed).added == 3
    return fresh_pipeline


def free_area() -> QRect:
    return QGuiApplication.primaryScreen().availableGeometry()


def first_start_size() -> QSize:
    """The main window's size where nothing is remembered (``theme.resize_to_screen(1360, 860)``)."""
    free = free_area().size() * SCREEN_SHARE
    return QSize(min(1360, free.width()), min(860, free.height()))


def least(win) -> QSize:
    """The smallest ``win`` can be: wider where a theme is applied (other tests may have applied one: 792 px of an
    800 px offscreen screen), so sizes the tests set are never below it."""
    return win.minimumSizeHint().expandedTo(win.minimumSize())


def placed(win, x: int, y: int, width: int, height: int) -> QRect:
    """A rect of at least ``least(win)`` at (``x``, ``y``) of the free area, moved left and up as far as it must to
    lie inside it."""
    free, size = free_area(), QSize(width, height).expandedTo(least(win))
    return QRect(min(free.x() + x, free.right() + 1 - size.width()), min(free.y() + y, free.bottom() + 1 - size.height()),
                 size.width(), size.height())


def geometry(rect: QRect, screen: int = 0, screen_width: int | None = None, frame: QRect | None = None) -> QByteArray:
    """What ``saveGeometry`` writes for a window at ``rect`` (``frame`` with its frame) on screen number ``screen`` of
    ``screen_width`` px, neither maximized nor full screen."""
    data = QByteArray()
    stream = QDataStream(data, QIODevice.OpenModeFlag.WriteOnly)
    stream.setVersion(QDataStream.Version.Qt_4_0)
    stream.writeUInt32(0x1D9D0CB)
    stream.writeUInt16(3)
    stream.writeUInt16(0)
    stream << (frame or rect) << rect  # the frame's geometry, the normal geometry
    stream.writeInt32(screen)
    stream.writeUInt8(0)  # maximized
    stream.writeUInt8(0)  # full screen
    stream.writeInt32(free_area().width() if screen_width is None else screen_width)
    stream << rect
    return data


def reopened(main_window, pipeline, before):
    """``before`` closed (saving what it remembers), and the next session's window over the same settings file."""
    before.close()
    return main_window(pipeline)


def test_geometry_matches_what_qt_writes(qtbot, main_window, fresh_pipeline):
    """``geometry`` writes Qt's format: the values the other tests craft are read as Qt's own."""
    win = main_window(fresh_pipeline)
    assert geometry(win.geometry(), frame=win.frameGeometry()) == win.saveGeometry()


def test_the_main_window_opens_at_the_size_place_splitters_and_tab_it_was_left_at(qtbot, main_window, shop):
    win = main_window(shop)
    free = free_area()
    win.setGeometry(placed(win, 40, 50, free.width() * 7 // 8, free.height() * 3 // 4))
    qtbot.waitUntil(lambda: win.splitter.width() == win.width())
    panel = win.splitter.sizes()[1] + 60
    win.splitter.moveSplitter(win.splitter.width() - panel, 1)  # as a drag of its handle does
    panel = win.splitter.sizes()[1]
    win.tabs.setCurrentIndex(CATALOG_TAB)
    split = win.catalog.split
    qtbot.waitUntil(lambda: split.isVisible() and sum(split.sizes()) + split.handleWidth() == split.width())
    split.moveSplitter(split.sizes()[0] - 80, 1)  # Matched in, 80 px wider
    where_used = split.sizes()[1]
    left = win.geometry()
    again = reopened(main_window, shop, win)
    assert again.geometry() == left and not again.isMaximized()
    qtbot.waitUntil(lambda: again.tabs.currentIndex() == CATALOG_TAB, timeout=WAIT_MS)
    assert again.catalog.split.sizes()[1] == where_used
    again.tabs.setCurrentIndex(PHOTO_TAB)
    qtbot.waitUntil(lambda: again.splitter.width() == again.width())
    assert again.splitter.sizes()[1] == panel


def test_a_maximized_window_opens_maximized_and_returns_to_the_size_it_had(qtbot, main_window, fresh_pipeline):
    win = main_window(fresh_pipeline)
    free = free_area()
    normal = placed(win, 20, 30, free.width() * 7 // 8, free.height() * 3 // 4)
    win.setGeometry(normal)
    win.showMaximized()
    qtbot.waitUntil(win.isMaximized)
    again = reopened(main_window, fresh_pipeline, win)
    assert again.isMaximized() and again.normalGeometry() == normal


def test_an_empty_catalog_opens_on_its_page_whatever_tab_was_left(qtbot, main_window, fresh_pipeline):
    """Left on the Map tab; the catalog empty now (a fresh data folder): its page, on the Room photo tab, as on a
    first start."""
    win = main_window(fresh_pipeline)
    win.tabs.setCurrentIndex(MAP_TAB)
    again = reopened(main_window, fresh_pipeline, win)
    qtbot.waitUntil(lambda: again.photo_stack.currentWidget() is again.welcome, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: again.status_line.products.text() != "", timeout=WAIT_MS)  # the catalog was read
    assert again.tabs.currentIndex() == PHOTO_TAB


def test_a_window_left_on_a_screen_now_gone_opens_centred_on_this_one(qtbot, main_window, fresh_pipeline):
    """Left on a second screen, right of this one, now unplugged: Qt put it at this one's right edge."""
    first = main_window(fresh_pipeline)  # left open: it saves nothing before the next one opens
    settings, size = first.settings, (free_area().size() * 0.9).expandedTo(least(first))
    settings.set_window_geometry("main", geometry(QRect(free_area().right() + 300, 100, size.width(), size.height()),
                                                  screen=1))
    settings.store.sync()
    win = main_window(fresh_pipeline)
    assert win.size() == size and win.geometry().center() == free_area().center()


@pytest.mark.parametrize("saved", [
    # on a screen three times as wide as this one: another resolution, another scale
    lambda: geometry(QRect(10, 10, 500, 400), screen_width=3 * free_area().width()),
    # larger than this screen, left on a second screen now gone: Qt shrank it to this one's edges, past its frame's
    lambda: geometry(QRect(-3000, -2000, 9000, 6000), screen=1),
    lambda: geometry(QRect(10, 10, -400, -300)),  # no size, written by hand: Qt made it a window of no size
    lambda: QByteArray(b"\x01\xd9\xd0\xcb\x00\x03"),  # cut short
    lambda: "1360x860+0+0",  # text, edited by hand
], ids=["wider screen", "larger", "no size", "cut short", "text"])
def test_a_saved_geometry_that_does_not_fit_this_screen_gives_the_first_start_size(qtbot, main_window, fresh_pipeline,
                                                                                    saved):
    first = main_window(fresh_pipeline)
    first.settings.store.setValue("windows/main", saved())
    first.settings.store.sync()
    win = main_window(fresh_pipeline)
    assert win.size() == first_start_size().expandedTo(least(win)) and free_area().contains(win.geometry())


def test_damaged_splitter_sizes_and_tab_are_ignored(qtbot, main_window, shop):
    first = main_window(shop)
    qtbot.waitUntil(lambda: first.splitter.width() == first.width())
    sizes = first.splitter.sizes()
    store = first.settings.store
    store.setValue("splitters/photo", "[0, 0]")
    store.setValue("splitters/catalog", "[true, 300]")
    store.setValue("splitters/map", "[1e9, 280]")
    store.setValue("splitters/map_compare", "[[[[")
    store.setValue("windows/tab", "settings")
    store.sync()
    win = main_window(shop)
    qtbot.waitUntil(lambda: win.status_line.products.text() != "", timeout=WAIT_MS)  # the catalog was read
    assert win.tabs.currentIndex() == PHOTO_TAB
    qtbot.waitUntil(lambda: win.splitter.width() == win.width())
    assert win.splitter.sizes() == sizes
    assert win.settings.splitter_sizes("map") == win.settings.splitter_sizes("catalog") == []


def test_a_tool_window_opens_at_its_size_even_when_left_open_at_quit(qtbot, main_window, fresh_pipeline):
    """The Backups window, resized and left open as the main window closed (it goes with the app, never hidden)."""
    win = main_window(fresh_pipeline)
    win.show_backups()
    free = free_area()
    left = QRect(free.x() + 30, free.y() + 40, free.width() // 2 + 11, free.height() // 2 + 7)
    win.backups_window.setGeometry(left)
    again = reopened(main_window, fresh_pipeline, win)
    again.show_backups()
    assert again.backups_window.geometry() == left
