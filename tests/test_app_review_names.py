"""Catalog ▸ Review Uncertain Tags names the products a tag hesitates between, as the photo's panel does, and
shows the tag's object beside their photos.

Offscreen (pytest-qt), on a real IKEA scene tagged against real IKEA products with their names.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionViewItem

from app.dialogs.review_queue import (
    BEST,
    LIMIT,
    MISSING,
    PHOTO,
    PICTURE,
    PICTURE_LEAST,
    RUNNER_UP,
    SHOWN,
    ReviewWindow,
    _listing,
    _make_pictures,
    words,
)
from app.labels import BADGE_TIP, product_title, rich_tooltip
from app.widgets.where_used import CROP
from app.workers import Runner
from engine.results import SceneResult
from engine.review_queue import review_queue
from engine.scene_memory import objects_of, remember
from engine.words import match_word, rated

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
KITCHEN = "ikea-a-small-kitchen-for-smart-chefs__1364316014026-s4.jpg"


def _named_products(ikea: Path, out: Path, per_category: int = 4, full: bool = False) -> Path:
    """A few real products of every IKEA category, with their names, images by absolute path; ``full``: named as
    a shop's feed names them, type, colour and size after the name ("GRUNDTAL Wall shelf, Stainless steel, 80 cm")."""
    kept: dict[str, list[dict[str, str]]] = {}
    with open(ikea / "products.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if len(kept.setdefault(row["category"], [])) < per_category:
                kept[row["category"]].append(row)
    with open(out, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("product_id", "category", "name", "image"))
        writer.writerows((r["product_id"], r["category"], _full_name(r) if full else r["name"], str(ikea / r["image"]))
                         for rows in kept.values() for r in rows)
    return out


def _full_name(row: dict[str, str]) -> str:
    return ", ".join(part for part in (f"{row['name']} {row['ikea_type']}".strip(), row["color"], row["size"]) if part)


def _tagged_kitchen(pipeline, ikea: Path, tmp_path: Path) -> SceneResult:
    """A catalog of named products, and the kitchen photo tagged in the app over it."""
    pipeline.import_catalog(_named_products(ikea, tmp_path / "products.csv"))
    scene = ikea / "scenes" / KITCHEN
    result = pipeline.search_scene(scene)
    remember(pipeline, scene, (result.width, result.height), objects_of(result), "app")
    return result


def kitchen_review(qtbot, pipeline, ikea: Path, tmp_path: Path) -> ReviewWindow:
    """The review window, shown, over a catalog of named products and the kitchen photo tagged in the app."""
    _tagged_kitchen(pipeline, ikea, tmp_path)
    window = ReviewWindow(pipeline)
    qtbot.addWidget(window)
    window.show()
    return window


def test_the_review_queue_names_both_products_beside_their_skus(qtbot, fresh_pipeline, ikea, tmp_path):
    """Each row read 'SKU score vs SKU score' ('101.484.64 0.331 vs 801.484.65 0.331'): a merchandiser could not
    tell what the tag hesitates between without looking each SKU up. Now the best match and the runner-up have a
    column each, the product's name first, its SKU (which tells look-alike variants apart), then how sure the match
    is as the photo's panel rates it: "0.548" there read "Similar 0.55" in the results panel (and "similar" in the
    CLI) for the same match."""
    result = _tagged_kitchen(fresh_pipeline, ikea, tmp_path)
    window = ReviewWindow(fresh_pipeline)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.table.rowCount() > 0, timeout=WAIT_MS)
    headers = [window.table.horizontalHeaderItem(c).text() for c in range(window.table.columnCount())]
    best, runner_up = headers.index("Best match"), headers.index("Runner-up")
    catalog = fresh_pipeline.catalog
    for row, item in enumerate(window.items):
        matches = {m.sku: m for m in result.objects[item.number - 1].matches}  # the panel's matches of the tag
        for column, sku in ((best, item.best_sku), (runner_up, item.runner_up_sku)):
            product = catalog.get_by_sku(sku)
            title = product_title(product.name, product.sku, product.category)
            cell = window.table.item(row, column)
            rating = rated(match_word(matches[sku].match), matches[sku].score)  # the panel's badge's words
            assert cell.text() == f"{title} · {sku} · {rating}"
            assert cell.text().endswith(f"\u00a0{matches[sku].score:.2f}")  # a narrow column never parts the two
            assert cell.toolTip() == rich_tooltip(f"{cell.text()}\n{BADGE_TIP}")  # what the word and number mean
    assert any(catalog.get_by_sku(i.best_sku).name not in i.best_sku for i in window.items)  # real names shown


def test_the_photo_and_the_two_products_share_the_width_and_long_names_keep_their_tooltip(qtbot, fresh_pipeline,
                                                                                        ikea, tmp_path):
    """The product columns were as wide as the longest product text in the queue: with names as a shop's feed
    writes them ("… Wall shelf, Stainless steel, 80 cm") they took most of the window, the photo's name was left a
    sliver, five lines of a slug cut in its middle, and the table scrolled sideways. The photo and the two
    products now share what the tag, category and margin (whole) leave; a name longer than its column wraps on its
    tall row and, longer still, is cut with … (its whole text in the tooltip)."""
    fresh_pipeline.import_catalog(_named_products(ikea, tmp_path / "products.csv", full=True))
    for scene in (KITCHEN, LIVING):
        _tag(fresh_pipeline, ikea / "scenes" / scene)
    window = ReviewWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.resize(1360, 720)  # as take_review_queue.py shoots it
    window.show()
    _pictures_made(qtbot, window)
    table = window.table
    metrics = table.fontMetrics()
    for width in (1360, 1000):
        window.resize(width, 720)
        qtbot.waitUntil(lambda width=width: window.width() == width, timeout=WAIT_MS)
        QApplication.processEvents()  # the table laid out anew
        widths = [table.columnWidth(c) for c in range(table.columnCount())]
        assert sum(widths) <= table.viewport().width() and table.horizontalScrollBar().maximum() == 0, widths
        assert abs(widths[PHOTO] - widths[BEST]) <= 1 and abs(widths[BEST] - widths[RUNNER_UP]) <= 1, widths
        assert widths[PHOTO] >= CROP.width() + 100, widths  # the photo's name beside its picture
        for row in range(table.rowCount()):
            for column in (1, 2, 5):  # the tag, the category and the margin are never cut
                assert widths[column] > metrics.horizontalAdvance(table.item(row, column).text()), (row, column)
    longer = [(row, column) for row in range(table.rowCount()) for column in (BEST, RUNNER_UP)
              if metrics.horizontalAdvance(table.item(row, column).text()) > widths[column] - CROP.width()]
    assert longer, "names longer than their column, at 1000 px"
    assert table.textElideMode() == Qt.TextElideMode.ElideMiddle  # cut in the middle: the score stays at the end
    assert all(table.item(row, column).toolTip() == rich_tooltip(f"{table.item(row, column).text()}\n{BADGE_TIP}")
               for row, column in longer)
    # the photo's path, escaped: a file named "<img src=…>.jpg" put a picture of Qt's choosing in its tooltip
    assert all(table.item(row, PHOTO).toolTip().startswith("<qt>") for row in range(table.rowCount()))
    # the window a 1366 × 768 screen at 150 % opens at (838 px): the words beside a 96 px picture were cut to
    # "STR…ON · 503.….16 · Simi… 0.55"; the pictures shrink instead, and every word is whole
    window.resize(838, 471)
    qtbot.waitUntil(lambda: window.width() == 838, timeout=WAIT_MS)
    QApplication.processEvents()
    for row in range(table.rowCount()):
        for column in (BEST, RUNNER_UP):
            option = _painted(table, row, column)
            assert PICTURE_LEAST <= option.decorationSize.width() < CROP.width()
            room = table.style().subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, table).width()
            text = table.item(row, column).text()
            assert all(metrics.horizontalAdvance(word) <= room for word in words(text)), (room, text)


def _painted(table, row: int, column: int) -> QStyleOptionViewItem:
    """The style option a cell is painted with: its rect, then what its delegate sets (as ``QStyledItemDelegate``)."""
    index = table.model().index(row, column)
    option = QStyleOptionViewItem()
    table.initViewItemOption(option)
    option.rect = table.visualRect(index)
    table.itemDelegate().initStyleOption(option, index)
    return option


# -- each row shows its object and the two products' photos ------------------------------------------------------

LIVING = "ikea-a-bed-that-folds-away-to-be-a-sofa-by-day__1364309472525-s4.jpg"
STILL_THERE = "ikea-classic-comfort-in-every-detail__1364308470745-s4.jpg"


def _tag(pipeline, photo: Path, copy_to: Path | None = None) -> None:
    """Tag a real IKEA scene into the scene memory as the app does (a copy of it, where ``copy_to`` is given)."""
    if copy_to is not None:
        shutil.copyfile(photo, copy_to)
        photo = copy_to
    result = pipeline.search_scene(photo)
    remember(pipeline, photo, (result.width, result.height), objects_of(result), "app")


def _pictures_made(qtbot, window: ReviewWindow) -> None:
    qtbot.waitUntil(lambda: window.table.rowCount() > 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.io.busy(), timeout=WAIT_MS)  # the queue read, then its rows' pictures


def _icon_pixels(window: ReviewWindow, row: int, column: int) -> np.ndarray:
    """The cell's picture as RGBA pixels, at the window's logical size (the offscreen screen's ratio is 1)."""
    image = window.table.item(row, column).icon().pixmap(CROP).toImage()
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    assert image.size() == CROP
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)[
        :, : image.width()].copy()


def _shown_part(rgba: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The opaque part of a picture centred on a transparent square, as RGB, and its (width, height)."""
    ys, xs = np.nonzero(rgba[:, :, 3] == 255)
    part = rgba[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1, :3].astype(np.float32)
    return part, (part.shape[1], part.shape[0])


def _difference(part: np.ndarray, picture: Image.Image) -> float:
    """Mean absolute difference, per channel out of 255, between ``part`` and ``picture`` resized onto it."""
    resized = np.asarray(picture.convert("RGB").resize((part.shape[1], part.shape[0]), Image.Resampling.BILINEAR))
    return float(np.abs(part - resized.astype(np.float32)).mean())


def test_each_row_shows_its_object_cut_from_the_photo_and_both_products_photos(qtbot, fresh_pipeline, ikea,
                                                                               tmp_path):
    """A row named only its photo (cut in its middle), the tag's number and two products: a merchandiser opened
    each photo to know what it was about. Each row now shows the object cut from its photo (the tag's box) beside
    the best match's and the runner-up's product photos, made in the worker."""
    fresh_pipeline.import_catalog(_named_products(ikea, tmp_path / "products.csv"))
    for scene in (KITCHEN, LIVING):
        _tag(fresh_pipeline, ikea / "scenes" / scene)
    window = ReviewWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    _pictures_made(qtbot, window)
    catalog = fresh_pipeline.catalog
    assert {item.photo.name for item in window.items} == {KITCHEN, LIVING}
    for row, item in enumerate(window.items):
        assert [window.table.item(row, c).data(PICTURE) for c in (PHOTO, BEST, RUNNER_UP)] == [SHOWN] * 3
        photo = Image.open(item.photo)
        shown, (width, height) = _shown_part(_icon_pixels(window, row, PHOTO))
        box = (math.floor(item.box[0]), math.floor(item.box[1]), math.ceil(item.box[2]), math.ceil(item.box[3]))
        fitted = min(CROP.width() / (box[2] - box[0]), CROP.height() / (box[3] - box[1]))  # the box fitted in
        assert abs(width - fitted * (box[2] - box[0])) <= 1 and abs(height - fitted * (box[3] - box[1])) <= 1
        own = _difference(shown, photo.crop(box))
        assert own < 6, (row, own)  # the box's pixels, only scaled
        assert own < _difference(shown, photo) / 3  # not the whole photo squeezed into the square
        for column, sku in ((BEST, item.best_sku), (RUNNER_UP, item.runner_up_sku)):
            shown, _size = _shown_part(_icon_pixels(window, row, column))
            assert _difference(shown, Image.open(catalog.get_by_sku(sku).image_path)) < 6, (row, column)


def test_a_photo_gone_or_unreadable_gets_a_placeholder_and_its_row_still_opens(qtbot, fresh_pipeline, ikea,
                                                                              tmp_path):
    """Photos deleted or damaged since they were tagged: their rows get the crossed-out square (and say so to a
    screen reader), the other rows their pictures, nothing fails, and Enter still asks to open the photo (the
    main window then says it is gone, as before)."""
    fresh_pipeline.import_catalog(_named_products(ikea, tmp_path / "products.csv"))
    gone, broken = tmp_path / "gone.jpg", tmp_path / "broken.jpg"
    _tag(fresh_pipeline, ikea / "scenes" / KITCHEN, copy_to=gone)
    _tag(fresh_pipeline, ikea / "scenes" / LIVING, copy_to=broken)
    _tag(fresh_pipeline, ikea / "scenes" / STILL_THERE)
    gone.unlink()
    broken.write_bytes(broken.read_bytes()[:200])  # cut off in its header: not decodable
    window = ReviewWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    _pictures_made(qtbot, window)
    assert {item.photo.name for item in window.items} == {"gone.jpg", "broken.jpg", STILL_THERE}
    assert window.summary.text().startswith(f"{len(window.items)} tags to look at")
    for row, item in enumerate(window.items):
        cell = window.table.item(row, PHOTO)
        missing = item.photo.name != STILL_THERE
        assert cell.data(PICTURE) == (MISSING if missing else SHOWN) and not cell.icon().isNull()
        assert cell.data(Qt.ItemDataRole.AccessibleDescriptionRole) == ("the photo is gone or unreadable" if missing
                                                                         else None)
        assert [window.table.item(row, c).data(PICTURE) for c in (BEST, RUNNER_UP)] == [SHOWN] * 2
    row = next(r for r, item in enumerate(window.items) if item.photo.name == "gone.jpg")
    window.table.setFocus()
    window.table.selectRow(row)
    with qtbot.waitSignal(window.openTag) as opened:
        qtbot.keyClick(window.table, Qt.Key.Key_Return)
    assert opened.args == [window.items[row].photo, window.items[row].number]


def test_the_rows_pictures_are_made_for_the_screens_pixel_ratio(qtbot, fresh_pipeline, ikea, tmp_path, qapp):
    """On a 200 % screen a 96 px picture covers 192 screen pixels: the objects and product photos are made at
    twice the size and marked 2, as the Where used panel's and the catalog's are, and delivered a photo at a time
    (a photo holding several rows once)."""
    fresh_pipeline.import_catalog(_named_products(ikea, tmp_path / "products.csv"))
    for scene in (KITCHEN, LIVING):
        _tag(fresh_pipeline, ikea / "scenes" / scene)
    listing = _listing(fresh_pipeline)
    items, paths = listing.items, {sku: product.image_path for sku, product in listing.products.items()}
    parts: list = []
    runner = Runner(1, qapp)
    runner.start(lambda job: _make_pictures(items, paths, 2.0, job), delivered=parts.append)
    qtbot.waitUntil(lambda: not runner.busy(), timeout=WAIT_MS)
    assert len(parts) == 2  # one delivery for each photo
    assert sorted(row for part in parts for row, *_images in part) == list(range(len(items)))
    for part in parts:
        for _row, *images in part:
            assert all(image.size() == CROP * 2 and image.devicePixelRatio() == 2.0 for image in images)


def test_a_queue_longer_than_the_list_says_how_many_tags_it_holds(qtbot, fresh_pipeline, ikea, tmp_path):
    """Over the whole IKEA catalog's 40 tagged scenes the window said "200 tags to look at" and listed 200: the
    queue held 426, cut at the window's 200 rows without a word. Now it says which ones it lists, of how many."""
    fresh_pipeline.import_catalog(_named_products(ikea, tmp_path / "products.csv"))
    for scene in sorted((ikea / "scenes").glob("*.jpg")):
        _tag(fresh_pipeline, scene)
        if len(review_queue(fresh_pipeline.catalog, LIMIT + 1)) > LIMIT:
            break
    total = len(review_queue(fresh_pipeline.catalog, 10**6))
    assert total > LIMIT
    window = ReviewWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.table.rowCount() > 0, timeout=WAIT_MS)
    assert window.table.rowCount() == LIMIT
    assert window.summary.text().startswith(f"The {LIMIT} least sure of {total} tags: double-click one")


def _confirm(pipeline, photo: Path, numbers: set[int] | None = None) -> None:
    """The tags ``numbers`` (None: all) of a tagged photo confirmed on their best match, as the photo's panel
    saves them."""
    result = pipeline.search_scene(photo)
    objects = [dataclasses.replace(o, confirmed=o.matches[0]) if numbers is None or o.number in numbers else o
               for o in objects_of(result)]
    remember(pipeline, photo, (result.width, result.height), objects, "app")


def test_f5_lists_the_queue_again_with_the_keyboard_on_the_next_tag(qtbot, fresh_pipeline, ikea, tmp_path):
    """Back from confirming a tag in the photo, the list still showed it, and re-reading the queue took a Tab to
    Refresh, Space and a Tab back to the list. F5 on the list reads it again: the tag confirmed is gone and the
    keyboard is on the one after it, which Enter opens."""
    window = kitchen_review(qtbot, fresh_pipeline, ikea, tmp_path)
    qtbot.waitUntil(lambda: window.table.rowCount() > 2, timeout=WAIT_MS)
    table, listed = window.table, window.items
    table.setFocus()
    table.selectRow(1)
    _confirm(fresh_pipeline, ikea / "scenes" / KITCHEN, {listed[1].number})
    qtbot.keyClick(table, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.items is not listed, timeout=WAIT_MS)
    assert window.items == [listed[0], *listed[2:]] and table.currentRow() == 1 and table.hasFocus()
    with qtbot.waitSignal(window.openTag) as opened:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert opened.args == [listed[2].photo, listed[2].number]


def test_with_every_tag_confirmed_it_says_nothing_is_left_not_to_tag_photos(qtbot, fresh_pipeline, ikea, tmp_path):
    """Once the last tag was confirmed the window said "Nothing to review yet: open photos in the main window, or
    tag a folder with Batch", as to a shop that had tagged nothing. It says nothing is left, of how many photos."""
    window = kitchen_review(qtbot, fresh_pipeline, ikea, tmp_path)
    qtbot.waitUntil(lambda: window.table.rowCount() > 0, timeout=WAIT_MS)
    _confirm(fresh_pipeline, ikea / "scenes" / KITCHEN)
    window.refresh()
    qtbot.waitUntil(lambda: window.table.rowCount() == 0, timeout=WAIT_MS)
    assert window.summary.text().startswith("Nothing left to review: every tag of the 1 photo tagged so far is "
                                            "confirmed"), window.summary.text()
