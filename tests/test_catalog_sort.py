"""The Catalog tab's sort: the engine's orders (a whitelist; prices read from the feed's text, those without one
last) and the tab's sort box (remembered, reached by keyboard, the selection kept), on a small priced catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine.catalog import Catalog
from engine.prices import price_value

# sku, name, category, price as feeds write them; inserted in this order, so B6 is the one added last
PRODUCTS = (("B1", "oak table", "table", "$1,299.00"), ("B2", "Birch chair", "chair", "129.00 USD"),
            ("B3", "ash stool", "chair", ""), ("B4", "Cedar bench", "table", "12,50 €"),
            ("B5", "alder shelf", "shelf", "Call us"), ("B6", "Beech desk", "table", "1.299,50 €"))
WAIT_MS = 60_000


@pytest.fixture
def priced(tmp_path: Path, ikea: Path) -> Path:
    """A data dir whose catalog holds ``PRODUCTS``, each with a real product photo."""
    photos = sorted((ikea / "products" / "clock").glob("*.jpg"))
    with Catalog(tmp_path / "data" / "catalog.sqlite") as catalog, catalog.transaction():
        catalog.db.executemany(
            "INSERT INTO products (sku, name, category, image_path, image_hash, price) VALUES (?, ?, ?, ?, ?, ?)",
            [(sku, name, category, str(photos[i]), f"h{i}", price)
             for i, (sku, name, category, price) in enumerate(PRODUCTS)])
    return tmp_path / "data"


@pytest.mark.parametrize(("text", "value"), [
    ("$1,299.00", 1299.0), ("1.299,00 €", 1299.0), ("129.00 USD", 129.0), ("12,50 €", 12.5), ("1 299 kr", 1299.0),
    ("from $99", 99.0), ("1.299.000,50", 1299000.5), ("0", 0.0), ("", None), ("Call us", None)])
def test_a_price_is_read_as_feeds_write_it(text: str, value: float | None) -> None:
    assert price_value(text) == value


def test_the_catalog_lists_in_each_order_and_no_other(priced: Path) -> None:
    with Catalog(priced / "catalog.sqlite") as catalog:
        def skus(order: str, **kw) -> list[str]:
            return [p.sku for p in catalog.products(order=order, **kw)]

        assert skus("category") == ["B2", "B3", "B5", "B6", "B4", "B1"]
        assert skus("name") == ["B5", "B3", "B6", "B2", "B4", "B1"]  # upper and lower case together
        assert skus("price") == ["B4", "B2", "B1", "B6", "B5", "B3"]  # no price (none, "Call us") last
        assert skus("price_desc") == ["B6", "B1", "B2", "B4", "B5", "B3"]
        assert skus("sku") == ["B1", "B2", "B3", "B4", "B5", "B6"]
        assert skus("recent") == ["B6", "B5", "B4", "B3", "B2", "B1"]
        assert skus("price", category="table", limit=2) == ["B4", "B1"]  # filtered, then ordered, then cut
        with pytest.raises(ValueError, match=r"^unknown product order 'price; DROP TABLE products': one of "):
            catalog.products(order="price; DROP TABLE products")
        assert catalog.count() == len(PRODUCTS)


@pytest.mark.gui
def test_the_sort_box_lists_in_its_order_keeps_the_selection_and_is_remembered(qtbot, priced: Path,
                                                                                tmp_path: Path, qapp) -> None:
    from PySide6.QtCore import QItemSelectionModel, QSettings, Qt
    from PySide6.QtTest import QTest

    from app.settings import AppSettings
    from app.thumbnails import Thumbnails
    from app.widgets.catalog_view import CatalogView
    from app.workers import Runner
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    pipeline = Pipeline(Settings.defaults().with_(data_dir=priced))

    def opened() -> CatalogView:
        view = CatalogView(pipeline, Runner(1, qapp), Runner(1, qapp), Thumbnails(Runner(1, qapp)),
                           settings=AppSettings(store))
        qtbot.addWidget(view)
        view.resize(900, 400)  # a row or two of tiles in view: the grid scrolls
        view.show()
        view.refresh()
        qtbot.waitUntil(lambda: view.model.rowCount() == len(PRODUCTS), timeout=WAIT_MS)
        return view

    def listed(view: CatalogView) -> list[str]:
        return [p.sku for p in view.model.products]

    view = opened()
    assert listed(view) == ["B2", "B3", "B5", "B6", "B4", "B1"] and view.order.currentText() == "Category"
    assert view.order.accessibleName() == "Sort products by" and view.order_label.buddy() is view.order
    assert view.category.accessibleName() == "Show products of category"  # beside it, named too
    view.grid.selectionModel().select(view.model.index(listed(view).index("B1")),
                                      QItemSelectionModel.SelectionFlag.ClearAndSelect)
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow, timeout=WAIT_MS)
    view.category.setFocus()
    QTest.keyClick(view.category, Qt.Key.Key_Tab)  # the next stop after the category box
    assert view.order.hasFocus()
    view.search.setFocus()
    QTest.keyClick(view, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)  # the label's mnemonic: to the box
    assert view.order.hasFocus()
    QTest.keyClick(view.order, Qt.Key.Key_Down)  # Name A–Z
    QTest.keyClick(view.order, Qt.Key.Key_Down)  # Price low → high
    qtbot.waitUntil(lambda: listed(view) == ["B4", "B2", "B1", "B6", "B5", "B3"], timeout=WAIT_MS)
    assert view.selected_skus() == ["B1"] and view.grid.currentIndex().row() == 2  # still selected, keyboard on it
    assert view.grid.viewport().rect().intersects(view.grid.visualRect(view.grid.currentIndex()))  # and in view
    assert AppSettings(store).catalog_order == "price"
    view.grid.clearSelection()
    view.grid.scrollToBottom()
    assert view.grid.verticalScrollBar().value() > 0
    QTest.keyClick(view.order, Qt.Key.Key_Down)  # Price high → low, nothing selected: from the top
    qtbot.waitUntil(lambda: listed(view) == ["B6", "B1", "B2", "B4", "B5", "B3"], timeout=WAIT_MS)
    assert view.grid.verticalScrollBar().value() == 0
    assert AppSettings(store).catalog_order == "price_desc"
    view.close()

    again = opened()  # the next start lists in the order chosen
    assert again.order.currentText() == "Price high → low" and listed(again) == ["B6", "B1", "B2", "B4", "B5", "B3"]
    store.setValue("view/catalog_order", "price; DROP TABLE products")  # edited by hand: the default
    assert AppSettings(store).catalog_order == "category"
    pipeline.catalog.close()
