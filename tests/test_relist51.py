"""The Photos strip follows its folder on disk; Open Recent and missing photos; big colour profiles in tiles.

A folder's strip was listed once: a photo renamed there stayed under its old name, unreadable, one added (a camera
import saving into the folder) never showed, one deleted stayed, unreadable. Real files in temp folders, real
widgets (offscreen), the folder's own watch telling of the change.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image, ImageCms
from PySide6.QtCore import QObject

from app.main_window import RECENT_GONE
from app.thumbnails import Thumbnails, decode_fitted
from app.widgets.photo_strip import UNTAGGED, UNTAGGED_WORDS, PhotoStrip
from app.workers import Runner
from engine.imageio import ICC_MAX, load_image_bytes

pytestmark = pytest.mark.gui
WAIT_MS = 60_000


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (120, 80), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


def photos_in(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        (folder / name).write_bytes(jpeg((40 * i % 255, 120, 200)))
    return [folder / name for name in names]


def test_the_strip_follows_its_folder_renamed_added_and_deleted_photos_and_keeps_the_open_one(
        qtbot, main_window, fresh_pipeline, tmp_path: Path):
    """Renamed, added and deleted in the file manager while the folder is open: the strip lists the folder as it is
    now, the open photo still listed and selected, even once its own file is deleted."""
    folder = tmp_path / "room photos"
    a, b, c = photos_in(folder, "a.jpg", "b.jpg", "c.jpg")
    window = main_window(fresh_pipeline, (1280, 800))
    strip = window.photo_list
    with qtbot.waitSignal(window.controller.opened, timeout=WAIT_MS):
        window.open_paths([folder])
    qtbot.waitUntil(lambda: strip.photos == [a, b, c] and window._listing is None, timeout=WAIT_MS)
    strip.setCurrentRow(1)  # b opens
    qtbot.waitUntil(lambda: window.controller.path == b, timeout=WAIT_MS)

    a.rename(folder / "aa.jpg")
    (folder / "d.jpg").write_bytes(jpeg((10, 200, 10)))
    c.unlink()
    qtbot.waitUntil(lambda: strip.photos == [folder / "aa.jpg", b, folder / "d.jpg"], timeout=WAIT_MS)
    assert [strip.item(row).text() for row in range(strip.count())] == ["aa.jpg", "b.jpg", "d.jpg"]
    assert strip.currentRow() == 1 and window.controller.path == b  # nothing else opened

    b.unlink()  # the open photo's file: its row stays (the window shows it), the new photo joins in order
    (folder / "e.jpg").write_bytes(jpeg((200, 200, 10)))
    qtbot.waitUntil(lambda: folder / "e.jpg" in strip.photos, timeout=WAIT_MS)
    assert strip.photos == [folder / "aa.jpg", b, folder / "d.jpg", folder / "e.jpg"]
    assert strip.currentRow() == 1 and window.controller.path == b


def test_relisting_10000_photos_touches_only_the_rows_that_changed(qtbot, qapp, tmp_path: Path):
    """500 photos copied into a folder of 10,000 and one deleted: 500 rows made where the listing puts them, one
    taken; the other rows are the same rows (their pictures and marks kept), the open photo selected still."""
    holder = QObject()
    thumbnails = Thumbnails(Runner(1, holder), holder)
    strip = PhotoStrip(thumbnails)
    thumbnails.setParent(strip)
    qtbot.addWidget(strip)
    folder = tmp_path / "photos"  # names only: the strip's rows, not their files, are what is looked at
    photos = [folder / f"{i:05d}.jpg" for i in range(0, 20_000, 2)]
    strip.show_photos(photos, folder=folder)
    qtbot.waitUntil(lambda: strip.count() == len(photos), timeout=WAIT_MS)
    strip.select(photos[7_000])
    kept_item = strip.item(9_999)
    kept_item.setData(256 + 50, "mark")

    added = [folder / f"{i:05d}.jpg" for i in range(1, 1_000, 2)]
    listing = sorted([*photos, *added])
    listing.remove(photos[3])
    strip.relist(listing)

    assert strip.photos == listing and strip.count() == len(listing)
    assert [strip.item(row).text() for row in (0, 1, 2, 10_498)] == ["00000.jpg", "00001.jpg", "00002.jpg", "19998.jpg"]
    assert strip.currentItem().text() == "14000.jpg" and strip.photos[strip.currentRow()] == photos[7_000]
    assert strip.item(strip.photos.index(photos[9_999])).data(256 + 50) == "mark"


def test_a_loose_photos_strip_is_not_relisted(qtbot, qapp, tmp_path: Path):
    """Loose photos (dropped one at a time) keep their rows: a gone one shows unreadable, as before."""
    holder = QObject()
    thumbnails = Thumbnails(Runner(1, holder), holder)
    strip = PhotoStrip(thumbnails)
    thumbnails.setParent(strip)
    qtbot.addWidget(strip)
    a, b = photos_in(tmp_path / "loose", "a.jpg", "b.jpg")
    strip.show_photos([a, b], loose=True)
    strip.relist([a])
    assert strip.photos == [a, b]


def test_open_recent_marks_a_photo_gone_and_takes_it_off_when_chosen(qtbot, main_window, fresh_pipeline, tmp_path):
    """A recent photo moved or deleted said "could not be opened: no such file" and stayed in the menu for good: the
    menu marks it once a worker looked, and choosing it takes it off, saying why."""
    here, gone = photos_in(tmp_path / "recent", "here.jpg", "gone.jpg")
    window = main_window(fresh_pipeline, (1280, 800))
    window.settings.add_recent(gone)
    window.settings.add_recent(here)
    gone.unlink()
    window.recent.aboutToShow.emit()
    entries = window.recent.actions()[:2]
    qtbot.waitUntil(lambda: entries[1].text() == f"{gone}{RECENT_GONE}", timeout=WAIT_MS)
    assert entries[0].text() == str(here)

    entries[1].trigger()
    qtbot.waitUntil(lambda: window.settings.recent == [str(here)], timeout=WAIT_MS)
    assert "gone.jpg is no longer in" in window.message.text.text() and "taken off Open Recent" in window.message.text.text()
    with qtbot.waitSignal(window.controller.opened, timeout=WAIT_MS):
        entries[0].trigger()
    assert window.controller.path == here


def swapped_profile(length: int) -> bytes:
    """An RGB colour profile whose red and blue primaries are swapped (applied, red turns blue), padded to
    ``length`` bytes (its header says so; what follows its tags is not read)."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    entries = {bytes(icc[at:at + 4]): at for at in range(132, 132 + 12 * struct.unpack(">I", icc[128:132])[0], 12)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    icc[red + 4:red + 8], icc[blue + 4:blue + 8] = icc[blue + 4:blue + 8], icc[red + 4:red + 8]
    icc += bytes(length - len(icc))
    icc[0:4] = struct.pack(">I", length)
    return bytes(icc)


def test_a_tile_leaves_out_a_colour_profile_over_icc_max_as_search_does(tmp_path: Path):
    """Qt's tile decoder parsed and applied any embedded profile (a crafted 95 MB one: 0.9 s and ~600 MB a tile);
    search ignores those over ICC_MAX. The tile now shows the colours search sees."""
    photo = tmp_path / "big-profile.jpg"
    photo.write_bytes(jpeg((200, 30, 30), icc_profile=swapped_profile(ICC_MAX + 2**20)))
    searched = load_image_bytes(photo.read_bytes(), str(photo), 200)[40, 60]
    assert tuple(searched) == pytest.approx((200, 30, 30), abs=6)

    image = decode_fitted(str(photo), 136, 96, 1.0)
    colour = image.pixelColor(image.width() // 2, image.height() // 2)
    assert (colour.red(), colour.green(), colour.blue()) == pytest.approx(tuple(map(int, searched)), abs=6)


def test_with_an_empty_catalog_the_open_photos_mark_counts_its_tags(qtbot, main_window, fresh_pipeline, ikea: Path,
                                                                     tmp_path: Path):
    """Nothing to match (no catalog imported yet), the photo's things are still found and shown as tags, but the scene
    memory keeps nothing: its row said "not tagged yet" under the tags the window showed."""
    folder = tmp_path / "rooms"
    folder.mkdir()
    (folder / "a-room.jpg").write_bytes(min((ikea / "scenes").glob("*.jpg")).read_bytes())
    (folder / "b-other.jpg").write_bytes(jpeg((90, 90, 90)))
    window = main_window(fresh_pipeline, (1280, 800))
    assert fresh_pipeline.catalog.count() == 0
    strip = window.photo_list
    with qtbot.waitSignal(window.controller.sceneChanged, timeout=WAIT_MS):
        window.open_paths([folder])
    tags = len(window.controller.scene.tags)
    assert tags > 0, "the room's things found as tags"
    qtbot.waitUntil(lambda: strip.count() == 2 and strip.tags_of(0) not in (None, UNTAGGED), timeout=WAIT_MS)
    assert strip.tags_of(0) == tags
    assert UNTAGGED_WORDS not in strip.item(0).toolTip()
