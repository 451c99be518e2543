"""The catalog's "Name A–Z" sorts names as a reader of any language expects (``engine.name_order``): accented
letters with their base letters, upper and lower case together, "ß" as "ss", Turkish ı and İ as i, ø, æ and œ as
o, ae and oe. SQLite's NOCASE, the order before, put "Écran", "Äpplarö", "Øresund" and "ışık" after "Zebra"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine.catalog import Catalog

# The names in "Name A–Z" order: Danish, Swedish, German, French, Turkish; names of the same letters ("Ecran",
# "Écran", "écran") in one order, that of their code points.
IN_ORDER = ("Ærø chair", "Äpplarö bench", "Årstid lamp", "Ecran", "Écran", "écran", "élan vase", "Große Vase",
            "ışık lamp", "İstanbul rug", "Kissen", "Œuvre frame", "Øresund table", "Straße bench", "Strasse shelf", "Zebra lamp", "zebra rug")
SHUFFLED = (7, 16, 0, 12, 4, 15, 9, 1, 5, 11, 2, 8, 14, 3, 13, 6, 10)  # the order they are added in
WAIT_MS = 60_000


def sku_of(name: str) -> str:
    return f"N{IN_ORDER.index(name):02d}"


def add(catalog: Catalog, products: list[tuple[str, str]], photos: list[Path]) -> None:
    """``products`` (SKU, name) of ``catalog``, each with a real product photo, as an import writes them."""
    with catalog.transaction():
        catalog.db.executemany(
            "INSERT INTO products (sku, name, category, image_path, image_hash, price) VALUES (?, ?, ?, ?, ?, '')",
            [(sku, name, "lamp", str(photos[i % len(photos)]), f"h{sku}") for i, (sku, name) in enumerate(products)])


@pytest.fixture
def photos(ikea: Path) -> list[Path]:
    return sorted((ikea / "products" / "clock").glob("*.jpg"))


@pytest.fixture
def named(tmp_path: Path, photos: list[Path]) -> Path:
    """A data dir whose catalog holds the products named ``IN_ORDER``, added in another order."""
    with Catalog(tmp_path / "data" / "catalog.sqlite") as catalog:
        add(catalog, [(sku_of(IN_ORDER[i]), IN_ORDER[i]) for i in SHUFFLED], photos)
    return tmp_path / "data"


def test_names_sort_with_their_base_letters_in_any_language(named: Path) -> None:
    with Catalog(named / "catalog.sqlite") as catalog:
        assert [p.name for p in catalog.products(order="name")] == list(IN_ORDER)
        assert [p.name for p in catalog.products(text="lamp", order="name")] == [
            "Årstid lamp", "ışık lamp", "Zebra lamp"]


def test_a_sort_after_products_are_added_places_them(named: Path, photos: list[Path]) -> None:
    """Products added after a sort, by another connection (an import's) or by the sorting one, take their places
    in the next sort: their name keys are read then."""
    with Catalog(named / "catalog.sqlite") as catalog, Catalog(named / "catalog.sqlite") as importer:
        assert len(catalog.products(order="name")) == len(IN_ORDER)
        add(importer, [("A1", "Ångström shelf"), ("A2", "Ölkrug"), ("A3", "Apple tray")], photos)
        names = [p.name for p in catalog.products(order="name")]
        assert names[:4] == ["Ærø chair", "Ångström shelf", "Äpplarö bench", "Apple tray"]
        assert names[names.index("Œuvre frame"):names.index("Øresund table") + 1] == [
            "Œuvre frame", "Ölkrug", "Øresund table"]
        add(catalog, [("A4", "Çay glass")], photos)
        names = [p.name for p in catalog.products(order="name")]
        assert names[names.index("Årstid lamp") + 1] == "Çay glass"


@pytest.mark.gui
def test_the_catalog_tab_lists_names_in_that_order(qtbot, named: Path, tmp_path: Path, qapp) -> None:
    from PySide6.QtCore import QSettings

    from app.settings import AppSettings
    from app.thumbnails import Thumbnails
    from app.widgets.catalog_view import CatalogView
    from app.workers import Runner
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.catalog_order = "name"  # chosen in the Sort box at the last start
    view = CatalogView(Pipeline(Settings.defaults().with_(data_dir=named)), Runner(1, qapp), Runner(1, qapp),
                       Thumbnails(Runner(1, qapp)), settings=settings)
    qtbot.addWidget(view)
    view.show()
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() == len(IN_ORDER), timeout=WAIT_MS)
    assert view.order.currentText() == "Name A–Z"
    assert [p.name for p in view.model.products] == list(IN_ORDER)
