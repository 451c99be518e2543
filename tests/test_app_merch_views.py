"""The review queue, the duplicates window and Why this match?, as a merchandiser walking them finds them.

Each test is a fault seen in screenshots of the whole IKEA catalog: a control out of the window, a blurred
picture on a scaled screen.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from conftest import run_on_scaled_screen
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QScrollArea
from test_app_review_names import kitchen_review

from app.dialogs.review_queue import ReviewWindow
from app.labels import product_detail
from app.thumbnails import Thumbnails
from app.widgets.before_after import BeforeAfterView, load_thumbnails
from app.widgets.duplicates_view import DuplicatesView, photos_using
from app.workers import Runner
from engine.backups import KEEP, list_backups
from engine.catalog import Product
from engine.duplicates import DuplicateGroup
from engine.imageio import load_image
from engine.pipeline import EMBEDDER
from engine.scene_memory import APP, SeenObject, remember

pytestmark = pytest.mark.gui


def _products(ikea: Path, rows: list[dict[str, str]]) -> list[Product]:
    return [Product(r["product_id"], r["name"], r["category"], str(ikea / r["image"])) for r in rows]


def _shown_over(qtbot, pipeline, products: list[Product]) -> DuplicatesView:
    """The duplicates window, shown, over ``pipeline`` once its catalog holds ``products``."""
    with pipeline.catalog.transaction() as revision:
        for product in products:
            pipeline.catalog.upsert(product, revision)
    app = QApplication.instance()
    window = DuplicatesView(pipeline, Runner(1, app), Thumbnails(Runner(1, app)))
    qtbot.addWidget(window)
    window.show()
    return window


def test_a_big_duplicate_group_wraps_and_every_not_duplicates_stays_in_the_window(qtbot, ikea, ikea_products,
                                                                                  qapp):
    """The IKEA catalog has a group of 15 nearly identical doors: its cards in one row made every group 15 cards
    wide, a scroll bar along the bottom, and each group's *Not duplicates* (at its row's right) past the window's
    edge. The cards now wrap: nothing to scroll sideways, and every group's button is in view."""
    products = _products(ikea, ikea_products[:17])
    window = DuplicatesView(None, Runner(1, qapp), Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(window)
    window.resize(900, 640)
    window.show()
    window._show([DuplicateGroup(products[:15], False, 0.95), DuplicateGroup(products[15:], True, 1.0)])
    scroll = window.findChild(QScrollArea)
    qtbot.waitUntil(lambda: all(row.isVisible() for row in window.rows))
    assert scroll.horizontalScrollBar().maximum() == 0
    viewport = scroll.viewport()
    for row in window.rows:
        right = row.not_duplicates.mapTo(viewport, QPoint(row.not_duplicates.width(), 0)).x()
        assert right <= viewport.width(), (right, viewport.width())
        for card in row.cards:  # each card whole inside its group's frame, under the group's heading
            assert row.rect().contains(card.geometry()), (card.geometry(), row.rect())
            assert card.geometry().top() > row.not_duplicates.geometry().bottom()
    big = window.rows[0]
    assert len({card.y() for card in big.cards}) > 1  # wrapped onto more than one line
    # the list of groups, a Tab stop of its own (Page Up/Down scroll it), has a name and shows a ring with the keyboard
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    highlight = scroll.palette().color(QPalette.ColorRole.Highlight)
    assert scroll.accessibleName() == "Duplicate groups"
    assert scroll.grab().toImage().pixelColor(0, scroll.height() // 2) != highlight
    scroll.setFocus(Qt.FocusReason.TabFocusReason)
    assert scroll.grab().toImage().pixelColor(0, scroll.height() // 2) == highlight
    # Escape closes it, from a button of a group too (it did nothing: no Close button, no way out by keyboard)
    big.not_duplicates.setFocus()
    qtbot.keyClick(big.not_duplicates, Qt.Key.Key_Escape)
    assert not window.isVisible()


def test_finding_duplicates_in_a_catalog_not_yet_read_shows_progress_and_can_be_cancelled(qtbot, fresh_pipeline, ikea,
                                                                                            ikea_products,
                                                                                            qapp):
    """A catalog not yet embedded (new, or the matcher changed) is embedded before duplicates are looked for:
    minutes on a large one, while the window said only "Looking for duplicates…" and nothing could stop it.
    It counts the photos read and Cancel stops it, the catalog unchanged."""
    catalog = fresh_pipeline.catalog
    with catalog.transaction() as revision:
        for product in _products(ikea, ikea_products[:600]):
            catalog.upsert(product, revision)
    window = DuplicatesView(fresh_pipeline, Runner(1, qapp), Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(window)
    window.show()
    window.refresh()
    assert window.cancel.isVisible() and window.progress.isVisible() and not window.refresh_button.isEnabled()
    qtbot.waitUntil(lambda: "of 600" in window.status.text(), timeout=120_000)
    assert window.progress.maximum() == 600 and 0 < window.progress.value() < 600
    qtbot.mouseClick(window.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.refresh_button.isEnabled, timeout=120_000)
    assert "Stopped" in window.status.text() and not window.cancel.isVisible() and not window.progress.isVisible()
    key = fresh_pipeline.matcher(EMBEDDER).key
    assert len(catalog.missing_vectors(key)) == 600


WHY_SCALED = r"""
import json, sys
import numpy as np
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.widgets.why_match import SIDE, WhyMatch
screen = app.primaryScreen()
view = WhyMatch()
view.show()
view.show_overlays(np.full((300, 400, 3), 200, np.uint8), np.full((500, 500, 3), 100, np.uint8), "STRANDMON")
found = {"dpr": screen.devicePixelRatio(), "screen": screen.availableGeometry().getRect(), "side": SIDE}
for name, label in (("crop", view.crop), ("product", view.product)):
    pixmap = label.pixmap()
    found[name] = {"size": pixmap.size().toTuple(), "dpr": pixmap.devicePixelRatio()}
print(json.dumps(found))
"""


def test_why_this_match_pictures_are_made_for_a_scaled_screen(tmp_path: Path):
    """At 150 % the two heat pictures were scaled to 150 pixels and stretched by Qt over 225, blurred beside the
    sharp text under them: they are now scaled to the screen's pixels (the overlays are the photos' own size)."""
    found = run_on_scaled_screen(WHY_SCALED, [], tmp_path, 1920, 1080, 1.5)
    side = round(found["side"] * 1.5)
    assert found["product"] == {"size": [side, side], "dpr": 1.5}
    assert found["crop"]["dpr"] == 1.5 and found["crop"]["size"][0] == side  # 4:3, as wide as the square


def test_the_train_windows_examples_name_each_product_and_their_captions_start_level(qtbot, ikea, ikea_products):
    """Training writes each example product's name beside its SKU, but the before / after rows showed
    '✗ 002.116.00' alone: which product the old model chose took a catalog search. A caption of one line
    ("Chair", "no match") stood halfway down beside the two-line ones."""
    chair, stool, right = _products(ikea, ikea_products[:3])
    example = {"category": "chair", "crop": chair.image_path,
               "before": {"sku": stool.sku, "name": stool.name, "thumb": stool.image_path, "right": False},
               "after": {"sku": "", "name": "", "thumb": "", "right": False},
               "right": {"sku": right.sku, "name": right.name, "thumb": right.image_path}}
    view = BeforeAfterView()
    qtbot.addWidget(view)
    view.show_examples([example], load_thumbnails({"examples": [example]}))
    view.show()
    qtbot.waitExposed(view)
    captions = [view.examples.itemAtPosition(1, column).widget().findChildren(QLabel)[1] for column in range(4)]
    assert [c.text() for c in captions] == ["Chair", f"✗\u00a0{stool.name}\n{stool.sku}", "no match",
                                            f"{right.name}\n{right.sku}"]
    assert len({c.y() for c in captions}) == 1, [c.y() for c in captions]
    assert all(c.height() == c.sizeHint().height() for c in captions)  # taller, a label centres its line in it


def test_the_duplicates_count_follows_the_groups_dealt_with(qtbot, fresh_pipeline, ikea, ikea_products):
    """"148 groups: …" stayed above the list as the merchandiser dealt with group after group; it counts those
    left (one group is "1 group", not "1 groups")."""
    products = _products(ikea, ikea_products[:4])
    window = _shown_over(qtbot, fresh_pipeline, products)
    window._show([DuplicateGroup(products[:2], True, 1.0), DuplicateGroup(products[2:], False, 0.97)])
    assert window.status.text().startswith("2 groups to look at: 1 of identical photos, 1 of nearly identical")
    qtbot.mouseClick(window.rows[0].not_duplicates, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.rows) == 1)
    assert window.status.text().startswith("1 group to look at: 0 of identical photos, 1 of nearly identical")
    qtbot.mouseClick(window.rows[0].not_duplicates, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.rows)
    assert window.status.text() == "No duplicates in the catalog."


def test_a_duplicate_card_says_what_tells_it_from_the_others(qtbot, fresh_pipeline, ikea, ikea_products, scene_path):
    """The cards showed a name and a SKU alone (two "MELODI" in most IKEA groups): nothing to decide which to keep
    by. Each now says its category and price, the tagged photos it is matched in, and the feed's details that
    differ in its group (the same "Brand" on both is not said)."""
    first, second = _products(ikea, ikea_products[:2])
    products = [replace(first, price="19.99", extra={"Color": "White", "Brand": "IKEA"}),
                replace(second, extra={"Color": "Black", "Brand": "IKEA"})]
    window = _shown_over(qtbot, fresh_pipeline, products)
    photo = scene_path("take-a-comfy-seat-on-the-sofa")
    height, width = load_image(photo).shape[:2]
    remember(fresh_pipeline, photo, (width, height),
             [SeenObject(1, "lamp", (40.0, 40.0, 200.0, 200.0), (), (products[0].sku, 0.9, "exact"))], APP)
    groups = [DuplicateGroup(products, True, 1.0)]
    window._show(groups, photos_using(fresh_pipeline, groups))
    said = [[label.text() for label in card.findChildren(QLabel) if label.text()] for card in window.rows[0].cards]
    first_detail = product_detail(products[0].name, products[0].sku, products[0].category, "19.99")
    assert said[0][1:] == [first_detail, "In 1 tagged photo", "Color: White"] and first_detail.endswith(" · 19.99")
    assert said[1][2:] == ["In no tagged photo", "Color: Black"]


def test_keep_this_one_group_after_group_keeps_the_catalog_from_before_the_first(qtbot, fresh_pipeline, ikea,
                                                                                  ikea_products):
    """Each *Keep this one* backs the catalog up first, and only the newest KEEP backups were kept: a merchandiser
    working through 20 groups could no longer restore the catalog as it was before the first removal, and what was
    done was said in the main window, behind this one. The window's removals are one run: its first backup stays
    on top of the newest KEEP, the window says what it did, and a removal after the window closed prunes as ever."""
    groups = KEEP + 2
    products = _products(ikea, ikea_products[:2 * groups + 1])
    window = _shown_over(qtbot, fresh_pipeline, products)
    window._show([DuplicateGroup(products[2 * i:2 * i + 2], True, 1.0) for i in range(groups)])
    for left in range(groups - 1, -1, -1):
        keep = window.rows[0].cards[1].keep
        qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda left=left: len(window.rows) == left)
    backups = list_backups(fresh_pipeline.catalog.path)
    assert len(backups) == KEEP + 1
    assert backups[-1].products() == len(products)  # the catalog as it was before the first removal
    assert [b.products() for b in backups[:KEEP]] == list(range(groups + 2, groups + 2 + KEEP))
    assert window.said.isVisible()
    assert window.said.text().startswith(f"Kept {products[-2].sku}; removed 1 product from the catalog.")
    assert "before this window's first removal" in window.said.text()

    window.close()  # the run ends: a removal of its own prunes to the newest KEEP, as every other caller's does
    assert not window.said.isVisible()
    fresh_pipeline.remove_products([products[-1].sku])
    assert [b.products() for b in list_backups(fresh_pipeline.catalog.path)] == list(range(groups + 1,
                                                                                            groups + 1 + KEEP))


def test_an_empty_review_queue_says_where_photos_are_tagged(qtbot, fresh_pipeline):
    """With no tagged photo the window said "open them here": the review window opens no photo. It names the main
    window and Batch, where photos are tagged."""
    window = ReviewWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.summary.text().startswith("Nothing to review"), timeout=60_000)
    assert "here" not in window.summary.text().split("and the tags")[0]
    assert "main window" in window.summary.text() and "Batch" in window.summary.text()


def test_the_review_list_selects_the_row_the_keyboard_is_on_and_a_refresh_keeps_it(qtbot, fresh_pipeline, ikea,
                                                                                   tmp_path: Path):
    """The list opened with one cell of the first row tinted and no row selected; a Refresh after confirming the
    fifth tag sent the keyboard back to the first. The row is selected whole, and stays where it was."""
    window = kitchen_review(qtbot, fresh_pipeline, ikea, tmp_path)
    qtbot.waitUntil(lambda: window.table.rowCount() > 3, timeout=90_000)
    table = window.table
    assert [i.row() for i in table.selectionModel().selectedRows()] == [0] and table.currentRow() == 0
    table.selectRow(3)
    listed = window.items
    window.refresh()
    qtbot.waitUntil(lambda: window.items is not listed, timeout=90_000)
    assert [i.row() for i in table.selectionModel().selectedRows()] == [3] and table.currentRow() == 3
