"""Photos edited, renamed, moved and deleted in other programs while DecorLens is open.

The thumbnail cache kept a picture by its path only: a photo retouched and saved over kept its old tile in the Photos
strip, and its old content key, which names its saved edits and its tags, so its ✓ and tag mark were another photo's
until the app restarted. The open photo stayed as it was opened, and its shop page was exported with the file as it is
now under the tags of its earlier version. Real files changed in temp folders, real widgets (offscreen), the app's
front/back signal emitted as the system emits it when the designer comes back from the other program.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QImage
from shiboken6 import delete

from app.dialogs.review_queue import _make_pictures
from app.scene_controller import GONE, SAME, SceneController, on_disk, page_of_photo_as_tagged
from app.settings import AppSettings
from app.thumbnails import Thumbnails
from app.widgets.photo_strip import FAILED, ICON, UNTAGGED, PhotoStrip
from app.widgets.thumb import Thumb
from app.widgets.where_used import _with_pictures
from app.workers import Runner
from engine.corrections import KEY_DIGITS
from engine.errors import DecorLensError
from engine.files import file_version, sha256_of
from engine.review_queue import ReviewItem
from engine.scene_memory import SeenObject, TagCounts, remember, where_used

pytestmark = pytest.mark.gui
WAIT_MS = 60_000
RED, BLUE = (200, 30, 30), (30, 30, 200)


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (300, 200), length: int = 0) -> bytes:
    """A plain JPEG of ``colour``, padded after its end to ``length`` bytes (a decoder stops at its end marker)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    assert len(data) <= length or not length
    return data + b"\0" * (length - len(data)) if length else data


def save_over(path: Path, data: bytes, keep_time: bool) -> None:
    """Write ``data`` over ``path`` in place, as an editor's Save does; with ``keep_time`` its modification time is put
    back (``cp -p``), so only the system's change time tells."""
    before = path.stat()
    with open(path, "r+b") as fh:
        fh.truncate(0)
        fh.write(data)
    if keep_time:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def centre_colour(picture) -> tuple[int, int, int]:
    image = (picture if isinstance(picture, QImage) else picture.toImage()).convertToFormat(QImage.Format.Format_RGB888)
    colour = image.pixelColor(image.width() // 2, image.height() // 2)
    return colour.red(), colour.green(), colour.blue()


def come_back(qapp) -> None:
    """The app comes back to the front, from the program the photos were edited in (what the system tells Qt)."""
    qapp.applicationStateChanged.emit(Qt.ApplicationState.ApplicationInactive)
    qapp.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)


@pytest.fixture
def strip(qtbot, qapp, tmp_path: Path):
    """A Photos strip of two photos (red, blue) in a folder of their own, shown, every tile made."""
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(jpeg(RED, length=4000))
    (folder / "b.jpg").write_bytes(jpeg(BLUE, length=4000))
    runner = Runner(2, qapp)
    thumbnails = Thumbnails(runner, qapp)
    widget = PhotoStrip(thumbnails)
    thumbnails.setParent(widget)  # gone with the strip: not told of the app's return in later tests
    qtbot.addWidget(widget)
    widget.resize(widget.width(), 600)
    widget.show()
    widget.show_photos(sorted(folder.iterdir()), folder=folder)
    widget.show_tags(TagCounts({}, {}))
    qtbot.waitUntil(lambda: all(widget.tags_of(row) == UNTAGGED for row in range(2)), timeout=WAIT_MS)
    yield widget
    runner.shutdown()


def tile(strip: PhotoStrip, row: int):
    return strip.thumbnails.for_widget(str(strip.photos[row]), strip, ICON, True)


@pytest.mark.parametrize("keep_time", [False, True], ids=["saved-over", "same-size-and-time"])
def test_a_photo_saved_over_gets_its_new_tile_edits_mark_and_tags_when_the_app_comes_back(
        qtbot, qapp, strip: PhotoStrip, keep_time: bool):
    """Retouched and saved over in place (same name; same size and modification time too): its tile, content key, ✓
    and tag mark were the old photo's while the app ran."""
    photo = strip.photos[0]
    old_key = strip.thumbnails.digest(str(photo))
    assert old_key == sha256_of(photo)[:KEY_DIGITS] and centre_colour(tile(strip, 0))[0] > 150
    strip.show_saved({old_key})
    strip.mark_tags(str(photo), sha256_of(photo), 3)
    assert strip.is_saved(0) and strip.tags_of(0) == 3

    save_over(photo, jpeg(BLUE, length=4000), keep_time)
    with qtbot.waitSignal(strip.thumbnails.changed, check_params_cb=lambda path: path == str(photo), timeout=WAIT_MS):
        come_back(qapp)
    qtbot.waitUntil(lambda: strip.thumbnails.digest(str(photo)) is not None, timeout=WAIT_MS)

    assert strip.thumbnails.digest(str(photo)) == sha256_of(photo)[:KEY_DIGITS] != old_key
    qtbot.waitUntil(lambda: tile(strip, 0) is not None, timeout=WAIT_MS)
    assert centre_colour(tile(strip, 0))[2] > 150  # the new picture
    assert not strip.is_saved(0) and strip.tags_of(0) == UNTAGGED  # the edits and tags are the old content's
    assert strip.thumbnails.digest(str(strip.photos[1])) is not None  # the other photo's, unchanged, are kept


def test_a_photo_renamed_deleted_or_unplugged_shows_as_gone_and_back_when_it_is_back(
        qtbot, qapp, strip: PhotoStrip, tmp_path: Path):
    """Renamed in the file manager while listed (no coming back to the app: the folder watch tells), its row said it
    was there; a folder removed (a USB stick unplugged) likewise; back, the row is readable again, its failure
    forgotten."""
    photo = strip.photos[1]
    changed = strip.thumbnails.changed
    with qtbot.waitSignal(changed, check_params_cb=lambda path: path == str(photo), timeout=WAIT_MS):
        photo.rename(photo.with_name("renamed.jpg"))
    qtbot.waitUntil(lambda: strip.tags_of(1) == FAILED, timeout=WAIT_MS)
    assert "could not be read" in strip.item(1).toolTip()

    with qtbot.waitSignal(changed, check_params_cb=lambda path: path == str(photo), timeout=WAIT_MS):
        photo.with_name("renamed.jpg").rename(photo)
    qtbot.waitUntil(lambda: strip.tags_of(1) == UNTAGGED, timeout=WAIT_MS)
    assert centre_colour(tile(strip, 1))[2] > 150

    stick = tmp_path / "stick"
    shutil.copytree(photo.parent, stick)
    shutil.rmtree(photo.parent)  # the USB stick unplugged: the folder gone, its watch with it; the app's return tells
    with qtbot.waitSignal(changed, timeout=WAIT_MS):
        come_back(qapp)
    qtbot.waitUntil(lambda: strip.tags_of(0) == FAILED and strip.tags_of(1) == FAILED, timeout=WAIT_MS)
    shutil.copytree(stick, photo.parent)  # plugged back in
    with qtbot.waitSignal(changed, timeout=WAIT_MS):
        come_back(qapp)
    qtbot.waitUntil(lambda: strip.tags_of(0) == UNTAGGED and strip.tags_of(1) == UNTAGGED, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not strip._recheck_soon.isActive(), timeout=WAIT_MS)  # the unplugging's news all told
    assert strip._watcher.directories() == [str(photo.parent)]  # watched again once its photos were back
    with qtbot.waitSignal(changed, check_params_cb=lambda path: path == str(photo), timeout=WAIT_MS):
        photo.unlink()  # deleted in the file manager: the strip is told
    qtbot.waitUntil(lambda: strip.tags_of(1) == FAILED, timeout=WAIT_MS)


def test_the_open_photo_changed_on_disk_opens_again_as_it_is_and_its_page_is_not_exported_from_another(
        qtbot, qapp, fresh_pipeline, tmp_path: Path):
    """The open photo cropped in another program and saved over: it stayed shown as it was, and Export a shop page put
    the cropped file under the earlier version's pins."""
    photo = tmp_path / "room.jpg"
    photo.write_bytes(jpeg(RED, (320, 240)))
    runners = [Runner(1, qapp) for _ in range(3)]
    controller = SceneController(fresh_pipeline, AppSettings(QSettings(str(tmp_path / "app.ini"),
                                                                       QSettings.Format.IniFormat)), *runners)
    shown: list[QImage] = []
    said: list[str] = []
    controller.photoShown.connect(shown.append)
    controller.info.connect(said.append)
    with qtbot.waitSignal(controller.opened, timeout=WAIT_MS):
        controller.open(photo)
    first_sha = sha256_of(photo)

    os.utime(photo)  # touched, the same bytes: not opened again (hashed, compared)
    seen = file_version(photo)
    assert on_disk(photo, seen, first_sha) == (SAME, seen)
    with qtbot.assertNotEmitted(controller.opened, wait=0):
        come_back(qapp)
        qtbot.waitUntil(lambda: controller._on_disk[0] == seen, timeout=WAIT_MS)

    photo.write_bytes(jpeg(BLUE, (200, 240)))  # cropped
    with pytest.raises(DecorLensError, match="room.jpg changed on disk since it was tagged"):
        page_of_photo_as_tagged(fresh_pipeline, {"objects": []}, photo, first_sha, tmp_path / "page", "")
    assert not (tmp_path / "page").exists()
    with qtbot.waitSignal(controller.opened, timeout=WAIT_MS):
        come_back(qapp)
    assert shown[-1].width() == 200 and "room.jpg changed on disk" in said[-1]

    with qtbot.waitSignal(controller.opened, timeout=WAIT_MS):  # the app in front: a sync client replaced it
        photo.write_bytes(jpeg(RED, (100, 240)))
    assert shown[-1].width() == 100

    photo.unlink()  # deleted, or its drive unplugged: said once, the photo stays
    assert on_disk(photo, file_version(photo), first_sha)[0] == GONE
    with qtbot.waitSignal(controller.info, timeout=WAIT_MS):
        come_back(qapp)
    assert "no longer where it was opened from" in said[-1] and controller.path == photo
    qtbot.waitUntil(lambda: controller.scene is not None, timeout=WAIT_MS)
    assert controller.scene.image_sha256 != first_sha
    for runner in runners:
        runner.shutdown()


def test_where_used_and_review_cut_no_crop_from_a_photo_changed_since_it_was_tagged(
        qtbot, qapp, fresh_pipeline, tmp_path: Path):
    """A tagged photo cropped or retouched in another program and saved over: Where used and Review Uncertain Tags cut
    its tags' boxes from the file as it is now, showing other things than were tagged. The memory's content hash of
    each photo goes with its sightings and queue rows; a file holding other content gives the empty square, as a
    photo gone does."""
    photo = tmp_path / "room.jpg"
    photo.write_bytes(jpeg(RED, (320, 240)))
    tagged = sha256_of(photo)
    key = fresh_pipeline.embedder.key
    vector = np.ones(fresh_pipeline.embedder.dim, np.float32) / np.sqrt(fresh_pipeline.embedder.dim)
    obj = SeenObject(1, "chair", (10.0, 10.0, 200.0, 200.0), (("CHAIR-1", 0.5, "similar"), ("CHAIR-2", 0.45, "similar")),
                     vector=vector, embedder=key)
    remember(fresh_pipeline, photo, (320, 240), [obj], "app")
    (seen,) = where_used(fresh_pipeline.catalog, "CHAIR-1")
    assert seen.sha256 == tagged
    item = ReviewItem(photo, 1, "chair", "CHAIR-1", 0.5, "CHAIR-2", 0.45, obj.box, (320, 240), tagged)

    def pictures() -> tuple[QImage, QImage | None]:
        parts: list = []
        runner = Runner(1, qapp)
        runner.start(lambda job: _make_pictures([item], {}, 1.0, job), delivered=parts.append)
        qtbot.waitUntil(lambda: not runner.busy(), timeout=WAIT_MS)
        return _with_pictures([seen], 1.0)[0][1], parts[0][0][1]

    where, review = pictures()
    assert centre_colour(where)[0] > 150 and review is not None
    photo.write_bytes(jpeg(BLUE, (320, 240)))  # retouched, same size: the box now on another picture
    where, review = pictures()
    assert centre_colour(where)[2] < 100 and review is None  # the empty square, not the blue picture


def test_a_product_photo_replaced_shows_its_new_picture_in_the_panel_when_the_app_comes_back(
        qtbot, qapp, tmp_path: Path):
    """A product's photo in the catalog's image folder replaced with the supplier's new shot (same name): the panel's
    rows, the hover card, the catalog grid and the map showed the old one until the app restarted or the feed was
    imported again. Every widget showing a thumbnail asks again when its file changed, as when one is decoded."""
    picture = tmp_path / "products" / "CHAIR-1.jpg"
    picture.parent.mkdir()
    picture.write_bytes(jpeg(RED, (200, 200)))
    runner = Runner(1, qapp)
    thumbnails = Thumbnails(runner, qapp)
    thumb = Thumb(thumbnails, 64)
    thumbnails.setParent(thumb)
    qtbot.addWidget(thumb)
    thumb.show()
    thumb.show_path(str(picture))
    qtbot.waitUntil(lambda: not thumb.pixmap().isNull() and centre_colour(thumb.pixmap())[0] > 150, timeout=WAIT_MS)

    save_over(picture, jpeg(BLUE, (200, 200)), keep_time=False)
    with qtbot.waitSignal(thumbnails.changed, timeout=WAIT_MS):
        come_back(qapp)
    qtbot.waitUntil(lambda: not thumb.pixmap().isNull() and centre_colour(thumb.pixmap())[2] > 150, timeout=WAIT_MS)
    runner.shutdown()


def test_the_controller_of_a_closed_window_looks_at_no_file(qtbot, qapp, fresh_pipeline, tmp_path: Path):
    """The window closed (its workers deleted with it) while Python still held its controller: the app's next return
    to the front started a look at the photo on a deleted thread pool ("Internal C++ object already deleted"), and so
    did a change of the photo's file."""
    photo = tmp_path / "room.jpg"
    photo.write_bytes(jpeg(RED, (320, 240)))
    window = QObject()
    runners = [Runner(1, window) for _ in range(3)]
    controller = SceneController(fresh_pipeline, AppSettings(QSettings(str(tmp_path / "app.ini"),
                                                                       QSettings.Format.IniFormat)), *runners)
    with qtbot.waitSignal(controller.opened, timeout=WAIT_MS):
        controller.open(photo)
    qtbot.waitUntil(lambda: controller.scene is not None, timeout=WAIT_MS)
    with qtbot.waitSignal(runners[1].pool.destroyed, timeout=WAIT_MS):  # the io pool goes once its work is done
        delete(window)
    photo.write_bytes(jpeg(BLUE, (320, 240)))
    come_back(qapp)  # an exception in its slot fails the test (pytest-qt)
    assert controller.path == photo and not controller._watch.files()


def test_a_thumbnail_cache_whose_runner_went_with_its_window_rechecks_nothing(qtbot, qapp, tmp_path: Path):
    """A cache without a parent (the hover card's in tests, any widget's own) outlived the runner deleted with its
    window, and the app's return to the front started a recheck on the deleted pool."""
    picture = tmp_path / "chair.jpg"
    picture.write_bytes(jpeg(RED))
    window = QObject()
    runner = Runner(1, window)
    thumbnails = Thumbnails(runner)
    with qtbot.waitSignal(thumbnails.ready, timeout=WAIT_MS):
        thumbnails.get(str(picture))
    with qtbot.waitSignal(runner.pool.destroyed, timeout=WAIT_MS):  # its pool goes once its work is done
        delete(window)
    come_back(qapp)  # an exception in its slot fails the test (pytest-qt)
    assert thumbnails.get(str(picture)) is not None


def test_a_photo_changed_on_disk_does_not_win_over_the_photo_asked_for_meanwhile(
        qtbot, qapp, fresh_pipeline, tmp_path: Path):
    """Back to the app and at once on the next photo: the look at the open photo's file, found changed, opened it
    again after the next one was asked for, and that one (its open still decoding) never showed."""
    first, second = tmp_path / "a.jpg", tmp_path / "b.jpg"
    first.write_bytes(jpeg(RED, (320, 240)))
    second.write_bytes(jpeg(BLUE, (160, 240)))
    runners = [Runner(1, qapp) for _ in range(3)]
    controller = SceneController(fresh_pipeline, AppSettings(QSettings(str(tmp_path / "app.ini"),
                                                                       QSettings.Format.IniFormat)), *runners)
    with qtbot.waitSignal(controller.opened, timeout=WAIT_MS):
        controller.open(first)
    first.write_bytes(jpeg(BLUE, (200, 240)))
    come_back(qapp)  # its look runs on the io thread before the next photo's open
    with qtbot.waitSignal(controller.opened, timeout=WAIT_MS):
        controller.open(second)
    qtbot.waitUntil(lambda: controller.scene is not None and not controller._running, timeout=WAIT_MS)
    assert controller.path == second
    for runner in runners:
        runner.shutdown()
