"""Folders of many photos in the Photos strip: 20,000 photos open without a row's picture each.

The strip made a row with a tooltip per photo and asked a thumbnail of every photo at once: a
20,000-photo folder froze the window for about 14 s and then kept 20,000 decoded icons (about 1 GB).
Only the rows in view (and a few around them) get their tooltip and thumbnail now, again as the strip
scrolls, and icons of rows long out of view are let go.

The folder's first photo opens as soon as the listing finds it (it waited for the whole folder to be
listed); the strip fills as the listing goes on, in the listing's order, and Stop ends the listing.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from app.scene_files import deliver_found, each_scene_file, scene_files
from app.thumbnails import Thumbnails
from app.widgets.photo_strip import KEPT, ROWS_A_TURN, PhotoStrip
from app.workers import Runner
from engine.errors import Cancelled

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


def test_a_folder_of_20000_photos_decodes_and_keeps_the_pictures_in_view_only(qtbot, ikea, tmp_path, qapp):
    thumbnails = Thumbnails(Runner(2, qapp))
    asked: list[str] = []
    get = thumbnails.get
    thumbnails.get = lambda path, *args: (asked.append(path), get(path, *args))[1]
    strip = PhotoStrip(thumbnails)
    qtbot.addWidget(strip)
    strip.resize(strip.width(), 700)
    strip.show()
    photos = _big_folder(ikea, tmp_path / "photos")
    strip.show_photos(photos)
    assert strip.count() == ROWS_A_TURN  # the rest in the next turns of the event loop
    qtbot.waitUntil(lambda: strip.count() == PHOTOS, timeout=WAIT_MS)
    assert strip.photos == photos
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


def test_the_strip_finds_the_open_photo_and_steps_as_before(qtbot, ikea, qapp):
    scenes = sorted((ikea / "scenes").glob("*.jpg"))[:3]
    strip = PhotoStrip(Thumbnails(Runner(1, qapp)))
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


def _hostile_tree(ikea: Path, root: Path, photos: int) -> list[Path]:
    """A folder as merchandisers have them: ``photos`` links to the dataset's rooms, a subfolder whose photos
    sort before a file of the same stem (``a/…`` before ``a-1.jpg``: paths sort part by part), names with
    markup, a line break, bytes that are not UTF-8, a hidden and an upper-case one, a folder named like a
    photo, files that are not photos, a symlinked folder (not entered) and a symlinked photo. Returns the
    inputs to list: the folder, then a photo and a note given on their own."""
    scenes = sorted((ikea / "scenes").glob("*.jpg"))
    root.mkdir()
    for i in range(photos):
        os.symlink(scenes[i % len(scenes)], root / f"room-{i:05d}.jpg")
    names = ["a-1.jpg", "a/b.jpg", "a/c/d.JPG", "<b>bold</b>.jpg", "two\nlines.jpg", os.fsdecode(b"caf\xe9.jpg"),
             ".hidden.jpg", "x.jpg/inside.jpg", "notes.txt", "a/readme.md"]
    for i, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(scenes[i], root / name)
    (root / "notes.txt").unlink()  # given on its own below, a file is a photo by its content: a note's
    (root / "notes.txt").write_text("warm oak, linen")
    os.symlink(root / "a", root / "linked-folder")
    os.symlink(scenes[0], root / "linked.jpg")
    alone = root.parent / "alone.jpg"
    os.symlink(scenes[1], alone)
    return [root, alone, root / "notes.txt"]


def test_photos_found_one_by_one_are_the_listing_in_its_order(ikea, tmp_path):
    """The window opens the first photo as it is found: the walk finds exactly the photos the listing has,
    in the listing's order (so the first found stays first once the whole folder is listed)."""
    inputs = _hostile_tree(ikea, tmp_path / "photos", 50)
    listed = scene_files(inputs)
    assert list(each_scene_file(inputs)) == listed
    root = inputs[0]
    assert listed.index(root / "a" / "b.jpg") < listed.index(root / "a-1.jpg")  # not sorted as text
    assert root / "x.jpg" not in listed and root / "x.jpg" / "inside.jpg" in listed  # a folder, not a photo
    assert root / "notes.txt" not in listed
    assert not any("linked-folder" in str(p) for p in listed) and listed[-1] == inputs[1]

    parts: list[list[Path]] = []
    assert deliver_found(iter(listed), parts.append, lambda: False) == len(listed)
    assert parts[0] == [listed[0]] and [p for part in parts for p in part] == listed  # the first alone, first
    with pytest.raises(Cancelled):
        deliver_found(iter(listed), parts.append, lambda: True)


def test_stop_stops_a_folder_of_other_files_too(tmp_path):
    """Stop was asked only when a photo was found: a folder of thousands of other files (a camera's RAW dump, a
    project's documents) was walked to its end, on a slow share for minutes, whatever the user asked."""
    for i in range(2_000):
        (tmp_path / f"IMG_{i:04d}.CR2").write_bytes(b"")
    names: list[int] = []
    with pytest.raises(Cancelled):
        list(each_scene_file([tmp_path], lambda: names.append(1) or len(names) > 10))
    assert len(names) == 11


def _held_listing(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """The window's listing, held after the folder's first photo until ``release`` (as a slow share holds it).
    Returns (held: the listing waits, release)."""
    import app.main_window

    held, release = threading.Event(), threading.Event()

    def held_back(paths, cancelled):
        found = each_scene_file(paths, cancelled)
        yield next(found)
        held.set()
        release.wait(WAIT_MS / 1000)
        yield from found

    monkeypatch.setattr(app.main_window, "each_scene_file", held_back, raising=False)
    return held, release


def test_the_first_photo_opens_while_the_folder_is_still_being_listed(qtbot, main_window, fresh_pipeline, ikea,
                                                                       tmp_path, monkeypatch):
    """It opened once the whole folder was listed (0.3 s at 20,000 photos here, more on a network share)."""
    window = main_window(fresh_pipeline, (1280, 800))
    inputs = _hostile_tree(ikea, tmp_path / "photos", 2_000)
    listed = scene_files(inputs)
    held, release = _held_listing(monkeypatch)
    try:
        window.open_paths(inputs)
        qtbot.waitUntil(lambda: window.controller.path == listed[0], timeout=WAIT_MS)
        assert held.is_set() and window.listing_status.isVisible()  # opened while the listing is held
        assert window.view.photo is not None and window.windowTitle().startswith(listed[0].name)
        assert window.photo_list.photos == [listed[0]] and window.photo_list.currentRow() == 0
        assert "1 found" in window.listing_status.label.text()
    finally:
        release.set()
    strip = window.photo_list
    qtbot.waitUntil(lambda: not window.listing_status.isVisible() and strip.count() == len(listed), timeout=WAIT_MS)
    assert strip.photos == listed  # filled as found, in the listing's order
    assert strip.currentRow() == 0 and window.controller.path == listed[0]  # the first stays first
    assert window.photo_dock.isVisible()
    qtbot.waitUntil(lambda: 0 in _iconed(strip), timeout=WAIT_MS)
    assert set(_iconed(strip)) <= set(strip.visible_rows())  # thumbnails of the rows in view only
    strip.step(1)
    qtbot.waitUntil(lambda: window.controller.path == listed[1], timeout=WAIT_MS)


def test_stop_keeps_the_photos_found_and_another_folder_ends_the_listing(qtbot, main_window, fresh_pipeline, ikea,
                                                                         tmp_path, monkeypatch):
    window = main_window(fresh_pipeline, (1280, 800))
    inputs = _hostile_tree(ikea, tmp_path / "photos", 300)
    first = scene_files(inputs)[0]
    held, release = _held_listing(monkeypatch)
    try:
        window.open_paths(inputs)
        qtbot.waitUntil(lambda: window.controller.path == first and held.is_set(), timeout=WAIT_MS)
        qtbot.mouseClick(window.listing_status.stop, Qt.MouseButton.LeftButton)
        assert not window.listing_status.isVisible()
        assert window.statusBar().currentMessage() == "Stopped listing: 1 photo listed."
    finally:
        release.set()
    qtbot.wait(500)  # the stopped listing's rest is never shown
    assert window.photo_list.photos == [first]

    other = tmp_path / "other"
    other.mkdir()
    kitchen = other / "kitchen.jpg"
    os.symlink(sorted((ikea / "scenes").glob("*.jpg"))[5], kitchen)
    held, release = _held_listing(monkeypatch)
    try:
        window.open_paths(inputs)
        qtbot.waitUntil(held.is_set, timeout=WAIT_MS)
        monkeypatch.undo()
        window.open_paths([other])  # while the first is still being listed
    finally:
        release.set()
    qtbot.waitUntil(lambda: window.controller.path == kitchen and not window.listing_status.isVisible(),
                    timeout=WAIT_MS)
    qtbot.wait(500)
    assert window.photo_list.photos == [kitchen] and not window.photo_dock.isVisible()


def test_batch_tag_folder_can_be_cancelled_while_it_looks_for_photos(qtbot, pipeline, tmp_path: Path,
                                                                     scene_path, qapp):
    """Listing a folder on a slow share takes minutes, and Cancel waited for it: the listing did not ask. Here the
    dialog's one worker is busy, Cancel is pressed while the batch waits, and the listing is the first to see it."""
    import shutil

    from app.dialogs.batch import BatchDialog

    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(scene_path("bed-that-folds"), photos)
    runner, release = Runner(1, qapp), threading.Event()
    dialog = BatchDialog(pipeline, runner, 3, folder=photos)
    qtbot.addWidget(dialog)
    runner.start(lambda _job: release.wait(60))  # the batch waits behind it, as behind a slow listing
    try:
        dialog.start_button.click()
        dialog.cancel_button.click()
    finally:
        release.set()
    with qtbot.waitSignal(dialog.finished_batch, timeout=60_000) as finished:
        pass
    assert finished.args[0] == "Stopped while looking for photos: nothing was tagged."
    assert not (tmp_path / "photos-tagged").exists()
