"""Folders of many photos in the Photos strip: 20,000 photos open without a row's picture each.

The strip made a row with a tooltip per photo and asked a thumbnail of every photo at once: a
20,000-photo folder froze the window for about 14 s and then kept 20,000 decoded icons (about 1 GB).
Only the rows in view (and a few around them) get their tooltip and thumbnail now, again as the strip
scrolls, and icons of rows long out of view are let go.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from app.thumbnails import Thumbnails
from app.widgets.photo_strip import KEPT, PhotoStrip
from app.workers import Runner

pytestmark = pytest.mark.gui
WAIT_MS = 60_000
PHOTOS = 20_000


def _big_folder(ikea: Path, folder: Path) -> list[Path]:
    """``PHOTOS`` photos of distinct names (links to the dataset's rooms), as a merchandiser's folder has."""
    scenes = sorted((ikea / "scenes").glob("*.jpg"))
    folder.mkdir()
    photos = []
    for i in range(PHOTOS):
        photo = folder / f"{i:05d}.jpg"
        os.symlink(scenes[i % len(scenes)], photo)
        photos.append(photo)
    return photos


def _iconed(strip: PhotoStrip) -> list[int]:
    return [row for row in range(strip.count()) if not strip.item(row).icon().isNull()]


def test_a_folder_of_20000_photos_decodes_and_keeps_the_pictures_in_view_only(qtbot, ikea, tmp_path):
    thumbnails = Thumbnails(Runner(2))
    asked: list[str] = []
    get = thumbnails.get
    thumbnails.get = lambda path, *args: (asked.append(path), get(path, *args))[1]
    strip = PhotoStrip(thumbnails)
    qtbot.addWidget(strip)
    strip.resize(strip.width(), 700)
    strip.show()
    photos = _big_folder(ikea, tmp_path / "photos")
    strip.show_photos(photos)
    assert strip.count() == PHOTOS and strip.photos == photos
    row = strip.visualRect(strip.model().index(0, 0))
    assert row.size() == strip.gridSize()  # room for the picture and the name under it, decoded or not

    qtbot.waitUntil(lambda: 0 in _iconed(strip), timeout=WAIT_MS)  # the first row's picture, once decoded
    shown = strip.visible_rows()
    assert 0 in shown and len(shown) < 30
    qtbot.waitUntil(lambda: set(_iconed(strip)) == set(shown), timeout=WAIT_MS)
    assert len(set(asked)) == len(shown)  # not 20,000 decodes queued
    assert str(photos[0]) in strip.item(0).toolTip()
    assert not strip.item(PHOTOS - 1).toolTip()  # made when it comes into view

    # far down the folder (Open Recent, Page Down held): that row gets its picture and tooltip too
    strip.select(photos[15_000])
    assert strip.currentRow() == 15_000
    qtbot.waitUntil(lambda: 15_000 in _iconed(strip), timeout=WAIT_MS)
    assert str(photos[15_000]) in strip.item(15_000).toolTip()
    assert 15_000 in strip.visible_rows() and 0 not in strip.visible_rows()

    # stepping through a long way keeps a bounded number of icons, not one per photo seen
    chosen = []
    strip.photoChosen.connect(chosen.append)
    strip.setFocus()
    for _ in range(60):
        qtbot.keyClick(strip, Qt.Key.Key_PageDown)
        qtbot.wait(5)
    assert chosen and strip.currentRow() > 15_000
    for row in range(0, PHOTOS, 97):
        strip.scrollToItem(strip.item(row))
        qtbot.wait(1)
    qtbot.wait(200)
    assert len(_iconed(strip)) <= KEPT + len(strip.visible_rows())


def test_the_strip_finds_the_open_photo_and_steps_as_before(qtbot, ikea):
    scenes = sorted((ikea / "scenes").glob("*.jpg"))[:3]
    strip = PhotoStrip(Thumbnails(Runner(1)))
    qtbot.addWidget(strip)
    strip.show()
    strip.show_photos(scenes)
    chosen = []
    strip.photoChosen.connect(chosen.append)
    strip.select(scenes[1])
    assert strip.currentRow() == 1 and not chosen  # select does not ask to open
    strip.step(1)
    assert chosen == [scenes[2]]
    strip.step(1)  # past the last: nothing
    assert chosen == [scenes[2]]
    strip.select(Path("/not/listed.jpg"))
    assert strip.currentRow() == -1
    strip.select(None)
    assert strip.currentRow() == -1
    qtbot.waitUntil(lambda: len(_iconed(strip)) == 3, timeout=WAIT_MS)
