"""Look-alike SKUs where a person still read them unmarked: the Restore a Backup window's products coming back and
going ("GRUNDTAL (９00.114.28)", a fullwidth 9, read as the catalog's "900.114.28"), the Train window's before /
after examples (a wrong match of a look-alike SKU read as the right product), and the "… is no longer in the
catalog" of a gone product with no name (its invisible characters). Each now shows the SKU as every screen does
(``app.labels.shown_sku``): "⟨U+FF19⟩00.114.28", "002.116.00⟨U+200B⟩". Real IKEA products and photos."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from engine.catalog import Product
from engine.pipeline import Pipeline
from engine.settings import Settings

pytestmark = pytest.mark.gui
WAIT_MS = 60_000
ZWSP = "\u200b"  # invisible: "ABC-1" + U+200B is another SKU than "ABC-1"


def _fullwidth(sku: str) -> str:
    """The SKU with its first digit fullwidth ("000.114.28" → "０00.114.28"): another SKU, read as the same."""
    return chr(0xFF10 + int(sku[0])) + sku[1:]


def _marked(sku: str) -> str:
    """``_fullwidth(sku)`` as a screen marks it."""
    return f"⟨U+{0xFF10 + int(sku[0]):04X}⟩{sku[1:]}"


def _pipeline(tmp_path: Path) -> Pipeline:
    return Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))


def _product(ikea: Path, row: dict[str, str], sku: str | None = None, name: str | None = None) -> Product:
    return Product(sku or row["product_id"], row["name"] if name is None else name, row["category"],
                   str(ikea / row["image"]))


def test_restore_a_backup_marks_a_look_alike_coming_back_or_going_and_a_sku_s_invisible_characters(
    qtbot, tmp_path: Path, ikea: Path, ikea_products: list[dict[str, str]]
) -> None:
    """The backup, taken before a removal, holds "A" and a feed's look-alike "Ａ" (fullwidth), "B" + U+200B with no
    name, and "C"; the catalog now holds "A" and a feed's "Ｃ" added since. The Compared-with-now cell and the
    question said "3 more: GRUNDTAL (Ａ), …; 1 fewer: VASEN (Ｃ)": the look-alikes read as the products kept, and
    "C" coming back as "Ｃ" going. Each is marked, read against the backup's SKUs and the catalog's."""
    from app.dialogs.backups import BackupsWindow, confirmation

    a, b, c = ikea_products[0], ikea_products[1], ikea_products[2]
    pipeline = _pipeline(tmp_path)
    catalog = pipeline.catalog
    with catalog.transaction() as revision:
        for product in (_product(ikea, a), _product(ikea, a, _fullwidth(a["product_id"])),
                        _product(ikea, b, b["product_id"] + ZWSP, ""), _product(ikea, c)):
            catalog.upsert(product, revision)
    assert catalog.remove([_fullwidth(a["product_id"]), b["product_id"] + ZWSP, c["product_id"]]) == 3  # backed up
    with catalog.transaction() as revision:
        catalog.upsert(_product(ikea, c, _fullwidth(c["product_id"])), revision)

    window = BackupsWindow(pipeline)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.listing is not None and window.table.rowCount() == 1, timeout=WAIT_MS)
    cell = window.table.item(0, 3).text()
    hidden = f"{b['product_id']}⟨U+200B⟩"
    back = sorted([f"{a['name']} ({_marked(a['product_id'])})", f"{hidden} ({hidden})",
                   f"{c['name']} ({c['product_id']})"])
    assert sorted(cell.split("; ")[0].removeprefix("3 more: ").split(", ")) == back, cell
    assert cell.endswith(f"; 1 fewer: {c['name']} ({_marked(c['product_id'])})"), cell
    backup, count = window.listing.backups[0]
    question = confirmation(window.listing, backup, count)
    assert f"({_marked(a['product_id'])})" in question and f"({_marked(c['product_id'])})" in question, question
    pipeline.close()


def test_training_s_before_after_marks_a_look_alike_match_of_the_right_product(qtbot, ikea: Path,
                                                                                 ikea_products) -> None:
    """The old model matched a feed's "Ａ" (fullwidth), another product of the right one's name: its caption read
    "✗ GRUNDTAL / A" over the right product's "GRUNDTAL / A", the right product judged wrong. A match of no name
    showed its SKU's U+200B as nothing."""
    from PySide6.QtWidgets import QLabel

    from app.widgets.before_after import BeforeAfterView, load_thumbnails

    right, other = ikea_products[0], ikea_products[1]
    sku = right["product_id"]
    shown = {"sku": sku, "name": right["name"], "thumb": str(ikea / right["image"])}
    twin = {"sku": _fullwidth(sku), "name": right["name"], "thumb": str(ikea / other["image"])}
    hidden = {"sku": other["product_id"] + ZWSP, "name": "", "thumb": str(ikea / other["image"])}
    examples = [{"category": right["category"], "crop": shown["thumb"], "before": {**twin, "right": False},
                 "after": {**shown, "right": True}, "right": shown},
                {"category": right["category"], "crop": shown["thumb"], "before": {**hidden, "right": False},
                 "after": {**shown, "right": True}, "right": shown}]
    view = BeforeAfterView()
    qtbot.addWidget(view)
    view.show_examples(examples, load_thumbnails({"examples": examples}))
    captions = [[view.examples.itemAtPosition(row, column).widget().findChildren(QLabel)[1] for column in range(4)]
                for row in (1, 2)]
    assert captions[0][1].text() == f"✗\N{NO-BREAK SPACE}{right['name']}\n{_marked(sku)}"
    assert captions[0][3].text() == f"{right['name']}\n{sku}"  # the right product, of ASCII, reads as itself
    assert captions[0][1].accessibleName() == f"Before: wrong, {right['name']}, {_marked(sku)}"
    assert captions[1][1].text() == f"✗\N{NO-BREAK SPACE}{other['product_id']}⟨U+200B⟩"


def test_a_gone_product_of_no_name_is_said_with_its_sku_s_invisible_characters_marked(
    qtbot, tmp_path: Path, ikea: Path, ikea_products, qapp
) -> None:
    """Confirming a match the catalog no longer holds said "002.116.00 is no longer in the catalog", its U+200B
    unseen: the SKU read as the catalog's "002.116.00", which is there."""
    from PIL import Image
    from PySide6.QtCore import QSettings

    from app.scene_controller import SceneController
    from app.settings import AppSettings
    from app.workers import Runner
    from engine.corrections import EditableScene
    from engine.results import Match, SceneObject, SceneResult

    row = ikea_products[0]
    pipeline = _pipeline(tmp_path)
    catalog = pipeline.catalog
    sku = row["product_id"] + ZWSP
    with catalog.transaction() as revision:
        catalog.upsert(_product(ikea, row), revision)
        catalog.upsert(_product(ikea, row, sku, ""), revision)
    product = catalog.get_by_sku(sku)
    photo = ikea / row["image"]
    width, height = Image.open(photo).size
    match = Match(product.id, sku, "", row["category"], 0.9, "exact", str(photo))
    obj = SceneObject(row["category"], row["category"], 0.9, (0.0, 0.0, width / 2, height / 2),
                      (width / 4, height / 4), [match])
    runners = [Runner(1, qapp), Runner(1, qapp), Runner(1, qapp)]
    controller = SceneController(pipeline, AppSettings(QSettings(str(tmp_path / "settings.ini"),
                                                                 QSettings.Format.IniFormat)), *runners)
    controller.scene = EditableScene(SceneResult(str(photo), width, height, "CPU", {}, [obj]), "ab" * 32)
    catalog.remove([sku])
    with qtbot.waitSignal(controller.tagChanged, timeout=WAIT_MS):  # the window's refresh: the product is gone
        controller.refresh_from_catalog()
    with qtbot.waitSignal(controller.failed, timeout=WAIT_MS) as said:
        controller.confirm(1, match)
    assert said.args == [f"{row['product_id']}⟨U+200B⟩ is no longer in the catalog: it cannot be confirmed."]
    for runner in runners:
        runner.shutdown()
    pipeline.close()
