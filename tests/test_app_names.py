"""Names people read: product titles after a folder import (SKUs only) and after a later CSV import
(real names), categories by their display names, and hostile catalog text shown as text, never as HTML
or a dangerous link. Real photos, models and IKEA products, offscreen (pytest-qt).
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QScrollArea

from app.labels import pretty
from app.main_window import MainWindow
from app.widgets.hover_card import NAME_WIDTH
from app.widgets.results_panel import MatchRow
from engine.corrections import Tag
from engine.results import Match, SceneObject

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a living room with chairs
CATEGORIES = ("chair", "armchair")


@pytest.fixture
def window(main_window, fresh_pipeline):
    return main_window(fresh_pipeline, (1280, 800))


@pytest.fixture
def chair_folder(tmp_path: Path, ikea: Path) -> Path:
    """A folder import: one subfolder per category, products known only by their file name (the SKU)."""
    root = tmp_path / "chairs"
    for category in CATEGORIES:
        (root / category).mkdir(parents=True)
        for photo in sorted((ikea / "products" / category).glob("*.jpg"))[:4]:
            shutil.copy(photo, root / category / photo.name)
    return root


def feed_names(ikea_products: list[dict[str, str]], folder: Path) -> dict[str, str]:
    """The IKEA feed's names of the folder's products (brand name and type, as a shop lists them)."""
    skus = {p.stem for p in folder.rglob("*.jpg")}
    return {
        r["product_id"]: f"{r['name']} {r['ikea_type']}" for r in ikea_products if r["product_id"] in skus
    }


def import_and_wait(qtbot, win: MainWindow, source: Path) -> None:
    with qtbot.waitSignal(win.catalog.importFinished, timeout=WAIT_MS) as finished:
        win.catalog.import_from(source)
    assert not isinstance(finished.args[0], str), finished.args[0]


def rows_show(win: MainWindow) -> list[tuple[str, str]]:
    return [(r.name.text(), r.detail.text()) for r in win.panel.rows]


def test_names_after_a_folder_import_and_after_a_later_csv_import(
    qtbot, window, chair_folder, ikea_products, scene_path, tmp_path
):
    import_and_wait(qtbot, window, chair_folder)
    window.open_paths([scene_path(ROOM)])
    qtbot.waitUntil(lambda: window.controller.scene is not None and bool(window.view.pins), timeout=WAIT_MS)
    tag = next(t for t in window.controller.scene.visible if t.obj.matches)
    window.view.activate(tag.number)
    qtbot.waitUntil(lambda: bool(window.panel.rows), timeout=WAIT_MS)
    for row, (title, detail) in zip(window.panel.rows, rows_show(window), strict=True):
        sku = row.match.sku
        assert sku not in title and title.endswith(pretty(row.match.category))  # "1. Armchair"
        assert detail == sku  # the SKU once, not "sku / sku · armchair"
    # the catalog tiles read the same
    qtbot.waitUntil(lambda: window.catalog.model.rowCount() == 8, timeout=WAIT_MS)
    model = window.catalog.model
    assert {model.index(i).data() for i in range(model.rowCount())} == {pretty(c) for c in CATEGORIES}
    window.controller.confirm(tag.number, window.panel.rows[0].match)  # saved with the SKU-only names

    # a CSV feed names the same products: the open photo's matches show the names at once
    names = feed_names(ikea_products, chair_folder)
    feed = tmp_path / "feed.csv"
    with open(feed, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "name", "category", "image"])
        for photo in sorted(chair_folder.rglob("*.jpg")):
            writer.writerow([photo.stem, names[photo.stem], photo.parent.name, str(photo)])
    import_and_wait(qtbot, window, feed)
    expected = [names[r.match.sku] for r in window.panel.rows]
    qtbot.waitUntil(
        lambda: [title.split(". ", 1)[1] for title, _ in rows_show(window)] == expected, timeout=WAIT_MS
    )
    for row, (_, detail) in zip(window.panel.rows, rows_show(window), strict=True):
        assert detail == f"{row.match.sku} · {pretty(row.match.category)}"
    # undo and redo of the confirm made before the import put the tag back with the names of now (its
    # snapshots hold the SKU-only ones, which an undo showed and saved again)
    window.controller.undo.undo()
    undone = window.controller.scene.tag(tag.number)
    assert undone.confirmed is None and all(m.name == names[m.sku] for m in undone.obj.matches)
    window.controller.undo.redo()
    redone = window.controller.scene.tag(tag.number)
    assert redone.confirmed.name == names[redone.confirmed.sku]

    # a photo tagged before the import shows the new names when opened again
    window.open_paths([scene_path("bright-kitchen")])
    qtbot.waitUntil(lambda: window.controller.path == scene_path("bright-kitchen"), timeout=WAIT_MS)
    window.open_paths([scene_path(ROOM)])
    qtbot.waitUntil(
        lambda: window.controller.path == scene_path(ROOM) and window.controller.scene is not None,
        timeout=WAIT_MS,
    )
    restored = window.controller.scene.tag(tag.number)
    qtbot.waitUntil(lambda: restored.confirmed.name == names[restored.confirmed.sku], timeout=WAIT_MS)
    assert all(m.name == names[m.sku] for m in restored.obj.matches)


def test_hostile_product_text_is_plain_and_unsafe_links_are_not_links(qtbot, window):
    hostile = '<img src="file:///etc/passwd"><b>Chair</b>'
    link_rows = {}
    for url in (
        "javascript:alert(1)",
        "file:///etc/passwd",
        "smb://host/share",
        "https://shop.example/p?a=1&b=2",
    ):
        match = Match(1, "<i>001.002.03</i>", hostile, "chair", 0.9, "exact", "", url, "<b>9€</b>")
        row = MatchRow(1, match, False, window.thumbnails)
        qtbot.addWidget(row)
        link_rows[url] = row
    row = link_rows["javascript:alert(1)"]
    assert row.name.textFormat() == Qt.TextFormat.PlainText and row.name.text() == f"1. {hostile}"
    assert row.detail.textFormat() == Qt.TextFormat.PlainText and "<i>001.002.03</i>" in row.detail.text()
    for url in ("javascript:alert(1)", "file:///etc/passwd", "smb://host/share"):
        assert link_rows[url].link is None
        labels = link_rows[url].findChildren(QLabel)
        assert not any("href" in label.text() for label in labels)
        assert not any(
            url in label.text() and label.textFormat() != Qt.TextFormat.PlainText for label in labels
        )
    safe = link_rows["https://shop.example/p?a=1&b=2"].link
    assert safe is not None and 'href="https://shop.example/p?a=1&amp;b=2"' in safe.text()
    # every label that is not plain text holds no catalog markup
    for row in link_rows.values():
        for label in row.findChildren(QLabel):
            if label.textFormat() != Qt.TextFormat.PlainText:
                assert "<img" not in label.text() and "<i>" not in label.text()


def test_long_product_names_wrap_in_the_panel_and_on_the_hover_card(qtbot, window):
    """A feed's long titles and SKUs stay inside the matches panel (no sideways scrolling, prices not cut off)
    and the hover card, which stays beside its pin instead of spreading over the photo."""
    sentence = "TUSENSKNA Bedspread with an extra-long descriptive title, White, 250x250 cm, Scandinavian design"
    names = ("Supercalifragilisticexpialidociousunbreakablelongword" * 2, sentence, "INDIRA")
    matches = [Match(i, f"{i}01.917.55-VARIANT-EXTRA-LONG-SKU-CODE", name, "bedding", 0.6, "similar", "", "",
                     "1 299,00 €") for i, name in enumerate(names, 1)]
    tag = Tag(1, SceneObject("bed", "bed", 0.8, (10, 10, 200, 200), (100, 100), matches))
    window.photo_stack.setCurrentWidget(window.splitter)  # the empty catalog's welcome page stood there
    panel = window.panel
    panel.show_tag(tag, "#a050a0", ["bed", "bedding"], ("bed", "bedding"))
    panel.show_matches(matches)
    qtbot.waitUntil(lambda: all(row.isVisible() and row.width() > 0 for row in panel.rows))
    scroll = panel.findChild(QScrollArea)
    assert scroll.horizontalScrollBar().maximum() == 0
    assert all(row.geometry().right() <= scroll.viewport().width() for row in panel.rows)
    assert panel.rows[0].name.toolTip() and names[0] in panel.rows[0].name.toolTip()

    view = window.view
    anchor = view.viewport().rect().center()
    for match in matches[:2]:
        view.card.show_tag(Tag(2, replace(tag.obj, matches=[match])), "#a050a0", anchor, view.viewport().rect())
        assert view.card.name.text().endswith("…") and view.card.name.sizeHint().width() <= NAME_WIDTH + 4
        assert not view.card.geometry().contains(anchor + QPoint(8, 0))  # the pin's right half is not covered
