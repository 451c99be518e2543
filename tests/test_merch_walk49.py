"""What a merchandiser tagging a folder for the web shop met (session 49's walk): File ▸ Open Folder, corrections,
Review Uncertain Tags, Batch Tag Folder with pages, Export Shoppable Page.

Offscreen (pytest-qt), on real IKEA room photos over a few real IKEA products.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from app.dialogs.batch import BatchDialog
from app.dialogs.review_queue import ReviewWindow
from app.dialogs.shoppable import FOLDER_KEY, PageExportDialog, tagged_folder
from app.workers import Runner
from engine.corrections import EditableScene
from engine.files import sha256_of
from engine.scene_memory import remember_saved
from engine.shoppable import export_batch, write_scene_page

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "a-bed-that-folds-away"
PER_CATEGORY = 2  # products a category: enough for every tag to have matches, few to embed


def small_feed(ikea: Path, ikea_products: list[dict[str, str]], feed: Path) -> Path:
    """The first products of every IKEA category, their photos by absolute path."""
    kept: dict[str, list[dict[str, str]]] = {}
    for row in ikea_products:
        if len(kept.setdefault(row["category"], [])) < PER_CATEGORY:
            kept[row["category"]].append(row)
    with open(feed, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("sku", "category", "name", "image"))
        writer.writerows((r["product_id"], r["category"], r["name"], str(ikea / r["image"]))
                         for rows in kept.values() for r in rows)
    return feed


def heading(page: Path) -> str:
    return re.search(r"<h1>(.*?)</h1>", page.read_text(encoding="utf-8")).group(1)


def run_batch(qtbot, dialog: BatchDialog) -> None:
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS):
        dialog.start()


def test_batch_pages_are_headed_with_the_titles_given_in_export_page(qtbot, fresh_pipeline, ikea: Path,
                                                                      ikea_products, scene_path,
                                                                      tmp_path: Path, qapp):
    """A title typed in Export Shoppable Page heads that photo's page in the folder's Batch too, and a title changed
    since the last Batch is written, not kept: the batch headed every page with the file name's words, so the
    merchandiser who titled the shop's photos one by one found the folder's pages undoing it."""
    fresh_pipeline.import_catalog(small_feed(ikea, ikea_products, tmp_path / "feed.csv"))
    photos, out = tmp_path / "Spring shoot", tmp_path / "pages"
    photos.mkdir()
    out.mkdir()
    photo = photos / "IMG_2041.jpg"
    photo.symlink_to(scene_path(ROOM))
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)

    def titled(title: str) -> None:  # Export Shoppable Page, as the merchandiser fills it in
        dialog = PageExportDialog(store, photo)
        qtbot.addWidget(dialog)
        dialog.title.setText(title)
        dialog.folder.setText(str(out))
        dialog.accept()

    dialog = BatchDialog(fresh_pipeline, Runner(1, qapp), 3, folder=photos, store=store)
    qtbot.addWidget(dialog)
    dialog.target.setText(str(out))
    for title in ("Sofa bed for the guest room", "Guest room, spring"):
        titled(title)
        run_batch(qtbot, dialog)
        assert heading(out / "IMG_2041.html") == title


def test_the_review_queue_is_listed_again_on_coming_back_from_a_tag_it_opened(qtbot, fresh_pipeline, ikea: Path,
                                                                               ikea_products, scene_path,
                                                                               tmp_path: Path):
    """Working down Review Uncertain Tags: a row opens its tag in the photo's window, the merchandiser confirms it
    there and comes back. The tag just confirmed was still listed first until F5, so the next double-click opened
    it again; now it is gone and the keyboard is on the tag that was next."""
    fresh_pipeline.import_catalog(small_feed(ikea, ikea_products, tmp_path / "feed.csv"))
    photo = scene_path(ROOM)
    searched = fresh_pipeline.search_scene(photo)
    scene = EditableScene(searched, sha256_of(photo))
    remember_saved(fresh_pipeline, photo, scene.to_json(), searched)
    window = ReviewWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: len(window.items) >= 2, timeout=WAIT_MS)
    first, second = window.items[:2]
    opened = []
    window.openTag.connect(lambda path, number: opened.append((path, number)))
    window.table.activated.emit(window.table.model().index(0, 0))  # a double-click, or Enter
    # the scene memory keeps a photo by its resolved path: ../shared may be a link (on clean-clone CI it is)
    assert [(path.resolve(), n) for path, n in opened] == [(photo.resolve(), first.number)]
    tag = scene.tag(first.number)  # confirmed in the photo's window, as its Confirm match does
    scene.confirm(first.number, tag.obj.matches[0])
    remember_saved(fresh_pipeline, photo, scene.to_json(), searched)
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowActivate))  # back to the queue
    qtbot.waitUntil(lambda: first not in window.items, timeout=WAIT_MS)
    assert window.items[window.table.currentRow()] == second


def complete_the_look(page: Path) -> list[str]:
    """The article numbers under Complete the look (empty: the page has none)."""
    text = page.read_text(encoding="utf-8")
    _, found, below = text.partition('<h2 id="complete-title">')
    return re.findall(r"Art\. no\. ([^<]+)<", below) if found else []


def test_the_first_pages_of_a_batch_complete_the_look_as_export_page_does(fresh_pipeline, ikea: Path, ikea_products,
                                                                          scene_path, tmp_path: Path):
    """Complete the look comes from the other tagged photos: a folder's first batch page, written before the others
    were tagged, had none, while Export Shoppable Page of the same photo showed six. Once the batch has tagged them
    all, its early pages offer what the photo's exported page offers, and a run again still keeps every photo."""
    fresh_pipeline.import_catalog(small_feed(ikea, ikea_products, tmp_path / "feed.csv"))
    photos = [scene_path(name) for name in (ROOM, "a-bright-kitchen-idea", "a-cosy-space-for-coffee",
                                            "take-a-comfy-seat-on-the-sofa")]
    out = tmp_path / "pages"
    report = export_batch(fresh_pipeline, photos, out)
    assert report.done == photos and not report.failed
    first = photos[0]
    exported = write_scene_page(fresh_pipeline, json.loads((out / f"{first.stem}.json").read_text()), first,
                                tmp_path / "exported", first.stem)
    offered = complete_the_look(exported.path)
    assert offered, "the other photos give the first nothing to go with: the test shows nothing"
    assert complete_the_look(out / f"{first.stem}.html") == offered
    assert export_batch(fresh_pipeline, photos, out).kept == photos


def test_export_page_offers_the_batch_folder_that_holds_the_photos_page(qtbot, fresh_pipeline, ikea: Path,
                                                                        ikea_products, scene_path, tmp_path: Path):
    """A photo corrected after its folder's Batch: Export Shoppable Page offers the Batch's folder, where the page
    it writes replaces the batch's. It offered the last folder used (another set's, or none at first), so the
    corrected page went elsewhere and the folder uploaded kept the uncorrected one. Without such a page there, the
    last folder used is offered, as before."""
    fresh_pipeline.import_catalog(small_feed(ikea, ikea_products, tmp_path / "feed.csv"))
    photos, elsewhere = tmp_path / "Spring shoot", tmp_path / "Winter pages"
    photos.mkdir()
    elsewhere.mkdir()
    photo = photos / "living room.jpg"
    photo.symlink_to(scene_path(ROOM))
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    store.setValue(FOLDER_KEY, str(elsewhere))

    def offered() -> tuple[str, str]:
        dialog = PageExportDialog(store, photo)
        qtbot.addWidget(dialog)
        return dialog.folder.text(), dialog.note.text()

    assert offered() == (str(elsewhere), "Writes living room.html and an images folder there, ready to upload.")
    assert export_batch(fresh_pipeline, [photo], tagged_folder(photos)).done == [photo]
    replacing = "Writes living room.html (replacing the one there) and an images folder there, ready to upload."
    assert offered() == (str(tagged_folder(photos)), replacing)
