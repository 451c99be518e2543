"""Loose photos dropped or pasted one after another gather in the Photos strip: a designer compares them.

Each drop or paste replaced the strip (``MainWindow.open_paths`` started a fresh listing), so the first inspiration
photo was gone from it once a second was dropped, and had to be found on disk again. Now loose photos join the loose
photos listed, after them and once each, the one dropped opened and selected; a folder still replaces the strip, and
loose photos dropped while a folder's photos are listed replace them in turn. Real photos, models and data dir,
offscreen (pytest-qt).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from file_drop import drop_file
from opened_urls import opened_urls
from PySide6.QtCore import QMimeData, QTimer, QUrl
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QMenu

from app.main_window import MainWindow
from app.scene_files import PASTED
from app.widgets.photo_strip import caption

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOMS = ("a-bright-kitchen", "a-rustic-way-to-dine", "a-living-space-to-snuggle", "a-bed-that-folds-away")


def copies(ikea: Path, folder: Path, names: list[str]) -> list[Path]:
    """Copies of the dataset's rooms named after ``ROOMS`` in ``folder``, as photos saved from the web are."""
    folder.mkdir(parents=True)
    photos = []
    for name, room in zip(names, ROOMS, strict=False):
        photo = folder / name
        shutil.copy(next((ikea / "scenes").glob(f"*{room}*.jpg")), photo)
        photos.append(photo)
    return photos


def settled(qtbot, win: MainWindow, path: Path) -> None:
    """``path`` open and shown (title and strip follow once it decoded), nothing left being listed or inserted."""
    qtbot.waitUntil(lambda: win.controller.path == path and win.windowTitle().startswith(caption(path))
                    and win._listing is None and not win.photo_list._insert_soon.isActive(), timeout=WAIT_MS)


def dropped(qtbot, win: MainWindow, path: Path) -> None:
    """``path`` dragged from the file manager onto the photo and dropped, then opened."""
    assert drop_file(win.view.viewport(), path)
    settled(qtbot, win, path)


def selected(win: MainWindow) -> Path:
    strip = win.photo_list
    return strip.photos[strip.currentRow()]


@pytest.fixture
def window(main_window, fresh_pipeline) -> MainWindow:
    return main_window(fresh_pipeline, (1280, 800))


def test_a_second_photo_dropped_joins_the_first_in_the_strip(qtbot, window, ikea, tmp_path):
    first, second = copies(ikea, tmp_path / "inspiration", ["kitchen.jpg", "dining.jpg"])
    dropped(qtbot, window, first)
    assert window.photo_list.photos == [first] and not window.photo_dock.isVisible()  # one photo: no strip yet

    dropped(qtbot, window, second)
    strip = window.photo_list
    assert strip.photos == [first, second]  # the first still there to compare with
    assert selected(window) == second and window.photo_dock.isVisible()

    clipboard = QGuiApplication.clipboard()
    clipboard.setImage(QImage(str(first)))  # a picture copied in a browser, pasted with Ctrl+V
    window.paste()
    qtbot.waitUntil(lambda: window.controller.path is not None and window.controller.path.parent.name == PASTED,
                    timeout=WAIT_MS)
    pasted = window.controller.path
    settled(qtbot, window, pasted)
    assert strip.photos == [first, second, pasted] and selected(window) == pasted

    strip.setFocus()
    strip.step(-1)  # Page Up: back to the photo dropped before
    settled(qtbot, window, second)
    assert selected(window) == second


def test_a_folder_replaces_the_strip_and_loose_photos_replace_a_folder(qtbot, window, ikea, tmp_path):
    loose = copies(ikea, tmp_path / "inspiration", ["kitchen.jpg", "dining.jpg"])
    folder = copies(ikea, tmp_path / "project", ["1-living.jpg", "2-bedroom.jpg", "3-kitchen.jpg"])
    for photo in loose:
        dropped(qtbot, window, photo)
    assert window.photo_list.photos == loose

    assert drop_file(window.view.viewport(), folder[0].parent)
    settled(qtbot, window, folder[0])
    assert window.photo_list.photos == folder  # the strip is the folder, as before
    assert selected(window) == folder[0] and window.photo_dock.isVisible()

    dropped(qtbot, window, loose[1])  # a loose photo on a folder's photos: the strip is no longer the folder
    assert window.photo_list.photos == [loose[1]] and not window.photo_dock.isVisible()
    dropped(qtbot, window, loose[0])
    assert window.photo_list.photos == [loose[1], loose[0]] and selected(window) == loose[0]


def test_a_photo_dropped_again_is_selected_not_listed_twice(qtbot, window, ikea, tmp_path):
    first, second, third = copies(ikea, tmp_path / "inspiration", ["kitchen.jpg", "dining.jpg", "living.jpg"])
    dropped(qtbot, window, first)
    dropped(qtbot, window, second)
    dropped(qtbot, window, first)
    assert window.photo_list.photos == [first, second] and selected(window) == first

    both = QMimeData()  # a selection of two in the file manager: one listed already, one new
    both.setUrls([QUrl.fromLocalFile(str(third)), QUrl.fromLocalFile(str(second))])
    window.open_dropped(both)
    settled(qtbot, window, third)
    assert window.photo_list.photos == [first, second, third] and selected(window) == third

    clipboard = QMimeData()  # its path copied as text (Windows' Copy as path), pasted
    clipboard.setText(f'"{second}"')
    QGuiApplication.clipboard().setMimeData(clipboard)
    window.paste()
    settled(qtbot, window, second)
    assert window.photo_list.photos == [first, second, third] and selected(window) == second


def _menu_on(qtbot, strip, row: int, choose: str, reason=QContextMenuEvent.Reason.Mouse) -> list[tuple[str, bool]]:
    """Right-click ``row`` of the strip (the Menu key: the selected row, wherever ``row`` is) and pick ``choose``
    (or close the menu when it is not there or greyed): the menu's actions, with whether each is enabled."""
    seen: list[tuple[str, bool]] = []

    def answer() -> None:  # in the menu's own event loop, or after the event when no menu opened
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            return
        seen.extend((a.text(), a.isEnabled()) for a in menu.actions())
        action = next((a for a in menu.actions() if a.text() == choose and a.isEnabled()), None)
        if action is None:
            menu.close()
        else:
            menu.hide()
            action.trigger()

    QTimer.singleShot(0, answer)
    point = strip.visualItemRect(strip.item(row)).center()
    event = QContextMenuEvent(reason, point, strip.viewport().mapToGlobal(point))
    QApplication.sendEvent(strip.viewport(), event)
    return seen


def test_a_loose_photo_is_taken_off_the_strip_from_its_menu_and_the_next_one_opens(qtbot, window, ikea, tmp_path):
    """Loose photos stay in the strip until a folder is opened: its right-click menu takes one off (the file
    stays), copies a photo's path and opens its folder; the photo open gives way to the one after it."""
    photos = copies(ikea, tmp_path / "inspiration", ["kitchen.jpg", "dining.jpg", "living.jpg"])
    for photo in photos:
        dropped(qtbot, window, photo)
    strip = window.photo_list
    with opened_urls() as opened:
        actions = _menu_on(qtbot, strip, 0, "Open Containing Folder")
    assert actions == [("Open Containing Folder", True), ("Copy Path", True), ("Remove from List", True)]
    assert opened == [str(photos[0].parent)]
    _menu_on(qtbot, strip, 1, "Copy Path")
    assert QGuiApplication.clipboard().text() == str(photos[1])

    _menu_on(qtbot, strip, 0, "Remove from List")  # not the one open: it stays open
    assert strip.photos == photos[1:] and selected(window) == photos[2] and photos[0].is_file()
    _menu_on(qtbot, strip, 1, "Remove from List")  # the one open, last in the strip: the one before opens
    settled(qtbot, window, photos[1])
    assert strip.photos == [photos[1]] and selected(window) == photos[1]
    assert _menu_on(qtbot, strip, 0, "Remove from List")[-1] == ("Remove from List", False)  # the last one stays


def test_a_folders_photos_are_not_removed_one_by_one(qtbot, window, ikea, tmp_path):
    folder = copies(ikea, tmp_path / "project", ["1-living.jpg", "2-bedroom.jpg"])
    assert drop_file(window.view.viewport(), folder[0].parent)
    settled(qtbot, window, folder[0])
    assert [text for text, _on in _menu_on(qtbot, window.photo_list, 1, "")] == ["Open Containing Folder",
                                                                                   "Copy Path"]
    _menu_on(qtbot, window.photo_list, 1, "Copy Path", QContextMenuEvent.Reason.Keyboard)  # the open photo's
    assert QGuiApplication.clipboard().text() == str(folder[0])


def test_batch_offers_the_folder_being_looked_through(qtbot, window, ikea, tmp_path):
    """Batch Tag Folder… opened with Photos empty while the merchandiser was stepping through a folder: they had to
    browse to the folder just opened. It now offers the folder the strip lists (with its results beside it), and
    nothing for loose photos."""
    from app.dialogs.batch import BatchDialog, tagged_folder

    folder = copies(ikea, tmp_path / "project", ["1-living.jpg", "2-bedroom.jpg"])
    assert drop_file(window.view.viewport(), folder[0].parent)
    settled(qtbot, window, folder[0])
    window.batch()
    dialog = window.findChild(BatchDialog)
    assert dialog.source.text() == str(folder[0].parent)
    assert dialog.target.text() == str(tagged_folder(folder[0].parent))  # as Browse… offers it (642e12a)
    window.batch()  # Ctrl+B again while it is open: it comes forward, no second batch beside it
    assert window.findChildren(BatchDialog) == [dialog]
    dialog.close()
    qtbot.waitUntil(lambda: window.findChild(BatchDialog) is None)  # deleted on close

    (loose,) = copies(ikea, tmp_path / "inspiration", ["kitchen.jpg"])
    dropped(qtbot, window, loose)
    window.batch()
    dialog = window.findChild(BatchDialog)
    assert dialog.source.text() == ""
    dialog.close()
