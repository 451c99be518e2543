"""The Photos strip marks the photos whose edits are saved: back from a break, a merchandiser sees where they were.

Nothing in the strip told a corrected photo from one never touched. Now a ✓ badge sits on the thumbnail of a photo
with a corrections file, found by the photo's content (a photo corrected under another name or in another folder
is marked; another photo under the corrected one's name is not), as soon as the first edit of the open photo is
saved; an unreadable file, moved aside when its photo opens, takes the mark with it. Real photos, models, catalog
and data dir, offscreen (pytest-qt).

Nor did it tell a photo tagged from one never searched or one that could not be read: each thumbnail now carries a
tag mark (its number of tags, read from the scene memory, following each edit), said in its tooltip and accessible
name, in colours that stand 3:1 against their ring in either theme.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from contrast import SHAPE_CONTRAST, TEXT_CONTRAST, contrast
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QStyleOptionViewItem

from app import theme
from app.main_window import MainWindow
from app.widgets.photo_strip import FAILED, UNTAGGED, PhotoStrip, _picture, mark_look
from engine import corrections
from engine.corrections import MOVED_ASIDE, EditableScene, image_digest
from engine.words import counted

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
CORRECTED = "a-living-space-to-snuggle"  # a living room, corrected before the folder is opened
KITCHEN = "a-bright-kitchen"
DINING = "a-rustic-way-to-dine"
SAVED = "your edits are saved"


def folder_of(tmp_path: Path, photos: dict[str, Path]) -> list[Path]:
    """Copies of ``photos`` under the names given, in a folder of their own (sorted as the strip lists them)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, photo in photos.items():
        shutil.copy(photo, folder / name)
    return sorted(folder.iterdir())


def open_folder(qtbot, win: MainWindow, photos: list[Path]) -> PhotoStrip:
    """The folder opened, every row of the strip with its thumbnail (its photo's content key comes with it)."""
    win.open_paths([photos[0].parent])
    strip = win.photo_list
    qtbot.waitUntil(lambda: strip.photos == photos and win.controller.path == photos[0], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not any(strip.item(row).icon().isNull() for row in range(len(photos))), timeout=WAIT_MS)
    return strip


def marked(strip: PhotoStrip, row: int) -> bool:
    """Whether the row's tooltip says its photo's edits are saved (the badge and the accessible name go with it)."""
    return SAVED in strip.item(row).toolTip()


def badge_pixels(strip: PhotoStrip, row: int, colour: str | None = None) -> int:
    """Pixels of ``colour`` (the theme's accent: the ✓ badge's disc) on the row's picture as drawn (not on the open
    photo's ring round the row, in the same accent)."""
    image = strip.viewport().grab().toImage()
    option = QStyleOptionViewItem()
    strip.initViewItemOption(option)
    index = strip.model().index(row, 0)
    option.rect = strip.visualRect(index)
    area = _picture(strip.itemDelegate(), option, index).toRect()
    accent = QColor(colour or theme.colours().accent)
    near = 0
    for x in range(area.left(), area.right()):
        for y in range(area.top(), area.bottom()):
            c = image.pixelColor(x, y)
            near += max(abs(c.red() - accent.red()), abs(c.green() - accent.green()), abs(c.blue() - accent.blue())) < 12
    return near


def assert_marked(strip: PhotoStrip, row: int, saved: bool) -> None:
    item = strip.item(row)
    assert marked(strip, row) is saved and str(strip.photos[row]) in item.toolTip()
    accessible = item.data(Qt.ItemDataRole.AccessibleTextRole) or ""
    assert (SAVED in accessible) is saved and (not accessible or accessible.startswith(f"{strip.photos[row].name} — "))
    pixels = badge_pixels(strip, row)
    assert pixels > 150 if saved else pixels < 20, pixels


def test_a_photo_with_saved_edits_is_marked_by_its_content_not_its_name(qtbot, window, pipeline, scene_path,
                                                                          tmp_path):
    corrected = scene_path(CORRECTED)
    scene = EditableScene(pipeline.search_scene(corrected), image_digest(corrected), matched_with=pipeline.embedder.key)
    scene.remove(scene.tags[0].number)
    saved = corrections.save(scene.to_json(), pipeline.data_dir)  # as the app saves it, under its first name
    dining = scene_path(DINING)
    aside = corrections.corrections_path(pipeline.data_dir, dining, image_digest(dining))
    aside.with_name(aside.stem + MOVED_ASIDE).write_text("{ not json")  # unreadable edits, kept aside: none
    photos = folder_of(tmp_path, {"1-dining.jpg": dining, "2-renamed.jpg": corrected,
                                  f"{corrected.stem}.jpg": scene_path(KITCHEN)})  # the corrected photo's name
    assert saved.name.startswith(corrected.stem)

    strip = open_folder(qtbot, window, photos)
    qtbot.waitUntil(lambda: marked(strip, 1), timeout=WAIT_MS)
    assert_marked(strip, 1, True)  # corrected under another name, in another folder
    assert_marked(strip, 0, False)
    assert_marked(strip, 2, False)  # the corrected photo's name on another photo


def says(strip: PhotoStrip, row: int, words: str) -> bool:
    """Whether the row's tooltip and accessible name both say ``words`` of its photo."""
    item = strip.item(row)
    return words in item.toolTip() and words in (item.data(Qt.ItemDataRole.AccessibleTextRole) or "")


def test_an_edit_marks_the_open_photos_thumbnail_as_soon_as_it_is_saved(qtbot, window, scene_path, tmp_path):
    """The tag marks too: the photo that could not be opened (tried first), the open one's number of tags as the memory
    keeps it (one fewer once a tag is removed), a photo never searched; in colours seen on either theme."""
    from PIL import Image

    photos = folder_of(tmp_path, {"1-kitchen.jpg": scene_path(KITCHEN), "2-room.jpg": scene_path(CORRECTED)})
    unread, untagged = photos[0].with_name("0-unread.jpg"), photos[0].with_name("3-untagged.jpg")
    unread.write_bytes(b"not a photo " * 100)
    Image.open(scene_path(DINING)).save(untagged, quality=81, comment=b"never tagged")  # content no test tagged
    window.open_paths([photos[0].parent])
    strip = window.photo_list
    qtbot.waitUntil(lambda: strip.photos == [unread, *photos, untagged] and window.controller.path == photos[0]
                    and bool(window.view.pins), timeout=WAIT_MS)
    tags = len(window.controller.scene.visible)
    qtbot.waitUntil(lambda: strip.tags_of(1) == tags and strip.tags_of(3) == UNTAGGED, timeout=WAIT_MS)
    assert says(strip, 1, counted(tags, "tag")) and says(strip, 3, "not tagged yet")
    assert strip.tags_of(0) == FAILED and says(strip, 0, "could not be opened")
    c = theme.colours()
    assert badge_pixels(strip, 1, c.text) > 60 and badge_pixels(strip, 0, c.error) > 60
    assert_marked(strip, 1, False)  # nothing edited yet

    window.controller.remove(min(window.view.pins))
    qtbot.waitUntil(lambda: marked(strip, 1) and strip.tags_of(1) == tags - 1, timeout=10_000)
    assert_marked(strip, 1, True)
    assert says(strip, 1, f"{counted(tags - 1, 'tag')}, {SAVED}")
    assert corrections.find_saved(window.pipeline.data_dir, image_digest(photos[0])) is not None
    assert_marked(strip, 2, False)
    for colours in (theme.LIGHT, theme.DARK):  # each mark is ringed in the window colour
        for state in (tags, 0, UNTAGGED, FAILED):
            fill, outline, ink = mark_look(state, colours)
            assert contrast(outline if fill == colours.window else fill, colours.window) >= SHAPE_CONTRAST
            assert state == UNTAGGED or contrast(ink, fill) >= TEXT_CONTRAST


def test_unreadable_edits_moved_aside_when_their_photo_opens_take_the_mark_with_them(qtbot, window, pipeline,
                                                                                     scene_path, tmp_path):
    photos = folder_of(tmp_path, {"1-kitchen.jpg": scene_path(KITCHEN), "2-dining.jpg": scene_path(DINING)})
    broken = corrections.corrections_path(pipeline.data_dir, photos[1], image_digest(photos[1]))
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("{ not json")
    strip = open_folder(qtbot, window, photos)
    qtbot.waitUntil(lambda: marked(strip, 1), timeout=WAIT_MS)  # a file of its key, not yet read

    strip.step(1)
    qtbot.waitUntil(lambda: window.controller.path == photos[1] and not marked(strip, 1),
                    timeout=WAIT_MS)
    assert not broken.exists() and broken.with_name(broken.stem + MOVED_ASIDE).exists()
    assert_marked(strip, 1, False)


def test_a_photo_whose_name_says_another_format_still_gets_its_thumbnail_and_key(qtbot, scene_path, tmp_path):
    """The strip decodes a photo from the bytes it hashes, where no file name tells Qt the format: it is read from
    the bytes' header, so a PNG saved as .jpg (a download's usual mislabel) shows, as it did when read by path."""
    from PIL import Image

    from app.thumbnails import decode_hashed

    mislabelled = tmp_path / "room.jpg"
    Image.open(scene_path(KITCHEN)).save(mislabelled, format="PNG")
    image, key = decode_hashed(str(mislabelled), 136, 96, 1.0)
    assert not image.isNull() and max(image.width(), image.height()) <= 136
    assert key == image_digest(mislabelled)[:corrections.KEY_DIGITS]


def test_a_batch_marks_each_photo_on_the_strip_as_it_finishes_it(qtbot, window, scene_path, tmp_path):
    """A merchandiser batch-tagging a folder of 300 photos saw no mark change on the strip until the batch ended. Each
    photo's mark is now set as the batch finishes it: when the dialog's bar says a photo is done, its mark is already
    there and the next photo's is not, before the batch ends; no catalog statement runs on the GUI thread for it."""
    from PIL import Image

    from app.dialogs.batch import BatchDialog

    names = {"1-kitchen.jpg": KITCHEN, "2-dining.jpg": DINING, "3-living.jpg": CORRECTED}
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, scene in names.items():  # content no other test tagged: never tagged until this batch
        Image.open(scene_path(scene)).save(folder / name, quality=82, comment=b"batch marks")
    photos = sorted(folder.iterdir())
    strip = open_folder(qtbot, window, photos)  # the first photo opens and is tagged
    qtbot.waitUntil(lambda: strip.tags_of(0) >= 0 and strip.tags_of(1) == strip.tags_of(2) == UNTAGGED,
                    timeout=WAIT_MS)
    window.batch()
    dialog = window.findChild(BatchDialog)
    seen: list[tuple[int, int | None, int | None, bool]] = []
    ended: list[object] = []
    dialog.progress.valueChanged.connect(lambda done: seen.append((done, strip.tags_of(1), strip.tags_of(2),
                                                                   bool(ended))))
    dialog.finished_batch.connect(ended.append)
    on_gui_thread: list[str] = []
    window.pipeline.catalog.db.set_trace_callback(on_gui_thread.append)  # this thread's connection
    try:
        with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS):
            dialog.start_button.click()
    finally:
        window.pipeline.catalog.db.set_trace_callback(None)
    after_second = next(s for s in seen if s[0] == 2)
    assert after_second[1] >= 0 and after_second[2] == UNTAGGED and not after_second[3], seen
    assert next(s for s in seen if s[0] == 3)[2] >= 0 and not on_gui_thread, (seen, on_gui_thread)
    qtbot.waitUntil(lambda: strip.tags_of(2) >= 0 and not window.io.busy(), timeout=WAIT_MS)
    assert [strip.tags_of(1), strip.tags_of(2)] == [after_second[1], seen[-1][2]]  # as the memory, read again, holds
    assert says(strip, 1, counted(after_second[1], "tag") if after_second[1] else "searched, no tags")
