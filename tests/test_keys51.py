"""Schema 3: each product's price as a number, name key and name without invisible characters are stored as it is
written (``engine.catalog.KEYS``), so the price and name orders and search read them rather than every price or name
with Python at the first sort of each start. Older catalogs and backups get them filled; a change of their recipes
fills them again; bundles stay at schema 1."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from engine.bundle import BUNDLE_SCHEMA, _at_bundle_schema
from engine.catalog import (
    KEY_RECIPE,
    KEYS,
    RECIPE_KEY,
    SCHEMA_VERSION,
    Catalog,
    CatalogError,
    Product,
    product_keys,
)
from engine.name_order import name_key

# sku, name, price: names beyond ASCII, with numbers, with a right-to-left mark inside; prices as feeds write them
PRODUCTS = (("P1", "Zebra rug", "$1,299.00"), ("P2", "Écran 10", "129.00 USD"), ("P3", "écran 2", ""),
            ("P4", "BIL\u200fLY bookcase", "12,50 €"), ("P5", "Äpplarö chair", "Call us"))
NAME_ORDER = ["P5", "P4", "P3", "P2", "P1"]  # äpplarö, billy, ecran 2, ecran 10, zebra
PRICE_ORDER = ["P4", "P2", "P1", "P5", "P3"]  # 12.50, 129, 1,299, then the unpriced by name


def _catalog(path: Path) -> Catalog:
    catalog = Catalog(path)
    with catalog.transaction() as revision:
        for sku, name, price in PRODUCTS:
            catalog.upsert(Product(sku, name, "chair", f"/nowhere/{sku}.jpg", f"h{sku}", price=price), revision)
    return catalog


def _skus(catalog: Catalog, **kwargs: str) -> list[str]:
    return [p.sku for p in catalog.products(**kwargs)]


def _stored_keys(path: Path) -> dict[str, tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return {row[0]: tuple(row[1:]) for row in db.execute(f"SELECT sku, {', '.join(KEYS)} FROM products")}


def _at_schema_2(path: Path, version: int = 2) -> None:
    """The catalog as DecorLens wrote it before schema 3 (or 2): no keys, their indexes, nor their recipe (nor
    sources)."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("DROP INDEX products_price_value")
        db.execute("DROP INDEX products_name_key")
        for column in KEYS:
            db.execute(f"ALTER TABLE products DROP COLUMN {column}")
        if version == 1:
            db.execute("DROP INDEX products_source")
            db.execute("ALTER TABLE products DROP COLUMN source")
        db.execute("DELETE FROM meta WHERE key = ?", (RECIPE_KEY,))
        db.execute("UPDATE schema_version SET version = ?", (version,))


def _expected() -> dict[str, tuple[object, ...]]:
    return {sku: product_keys(name, price) for sku, name, price in PRODUCTS}


def test_keys_are_written_with_products_and_orders_and_search_read_them(tmp_path: Path) -> None:
    with _catalog(tmp_path / "catalog.sqlite") as catalog:
        assert _stored_keys(catalog.path) == _expected()
        assert _stored_keys(catalog.path)["P4"][2] == "BILLY bookcase"  # the shown name: without the mark
        assert _stored_keys(catalog.path)["P1"][2] is None  # none for a name of no invisible character
        assert _skus(catalog, order="name") == NAME_ORDER
        assert _skus(catalog, order="price") == PRICE_ORDER
        assert _skus(catalog, order="price_desc") == ["P1", "P2", "P4", "P5", "P3"]
        assert _skus(catalog, text="billy") == ["P4"]  # U+200F inside the stored name
        assert _skus(catalog, text="BILLY BOOK") == ["P4"]
        assert _skus(catalog, text="\u200fbil\u200fly") == ["P4"]

        with catalog.transaction() as revision:  # renamed and repriced by a feed's next import
            catalog.upsert(Product("P1", "Aardvark rug", "chair", "/nowhere/P1.jpg", "hP1", price="1 €"), revision)
            catalog.upsert(Product("P4", "BILLY bookcase", "chair", "/nowhere/P4.jpg", "hP4", price=""), revision)
        assert _skus(catalog, order="name") == ["P1", "P5", "P4", "P3", "P2"]
        assert _skus(catalog, order="price") == ["P1", "P2", "P4", "P5", "P3"]  # the unpriced by name
        assert _stored_keys(catalog.path)["P4"] == (None, "billy bookcase", None)

        with catalog.transaction():  # a row written in SQL, without its keys, is keyed as the change commits
            catalog.db.execute("INSERT INTO products (sku, name, category, image_path, image_hash, price) "
                               "VALUES ('P6', 'Ångström 3', 'chair', '/nowhere/P6.jpg', 'hP6', '5')")
        assert _stored_keys(catalog.path)["P6"] == (5.0, "angstrom 013", None)
        assert _skus(catalog, order="price")[:2] == ["P1", "P6"]


def test_a_schema_2_catalog_is_upgraded_with_its_keys_and_backed_up_first(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    _catalog(path).close()
    _at_schema_2(path)
    notes: list[str] = []
    with Catalog(path, log=notes.append) as catalog:
        assert catalog.db.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 3
        assert _stored_keys(path) == _expected()
        assert _skus(catalog, order="name") == NAME_ORDER and _skus(catalog, text="billy") == ["P4"]
        assert catalog._recipe() == KEY_RECIPE
    assert notes and notes[0].startswith("catalog upgraded from schema 2 to 3; as it was before: ")
    backup = Path(notes[0].rsplit(": ", 1)[1])
    with closing(sqlite3.connect(backup)) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (2,)
        assert db.execute("SELECT COUNT(*) FROM products").fetchone() == (len(PRODUCTS),)


def test_an_upgrade_that_fails_leaves_the_catalog_as_it_was(tmp_path: Path) -> None:
    """A catalog edited by hand that already holds one of the new columns: the step fails at its third statement, and
    the two before it are rolled back with it."""
    path = tmp_path / "catalog.sqlite"
    _catalog(path).close()
    _at_schema_2(path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("ALTER TABLE products ADD COLUMN search_name TEXT")
        before = db.execute("SELECT * FROM products ORDER BY id").fetchall()
    with pytest.raises(CatalogError, match="duplicate column name: search_name"):
        Catalog(path)
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (2,)
        assert db.execute("SELECT * FROM products ORDER BY id").fetchall() == before  # no price_value, no name_key


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_backup_restores_with_its_keys(tmp_path: Path, version: int) -> None:
    old = tmp_path / "old.sqlite"
    _catalog(old).close()
    _at_schema_2(old, version)
    with _catalog(tmp_path / "data" / "catalog.sqlite") as catalog:
        with catalog.transaction() as revision:
            catalog.upsert(Product("P1", "Aardvark rug", "chair", "/nowhere/P1.jpg", "hP1", price="1 €"), revision)
        assert catalog.restore_from(old) == len(PRODUCTS)
        assert _stored_keys(catalog.path) == _expected()  # P1's keys of the backup's name and price
        assert _skus(catalog, order="name") == NAME_ORDER and _skus(catalog, order="price") == PRICE_ORDER
        assert _skus(catalog, text="billy") == ["P4"]


def test_a_change_of_key_recipe_keys_every_product_again_as_the_catalog_opens(tmp_path: Path) -> None:
    """Stored keys of another recipe (the name order before numbers went by value: "écran 10" before "écran 2")."""
    path = tmp_path / "catalog.sqlite"
    _catalog(path).close()
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE products SET name_key = lower(name), price_value = NULL, search_name = NULL")
        db.execute("UPDATE meta SET value = 'price 1, name 1, search 1' WHERE key = ?", (RECIPE_KEY,))
    with Catalog(path) as catalog:
        assert _stored_keys(path) == _expected()
        assert _skus(catalog, order="name") == NAME_ORDER
        assert catalog._recipe() == KEY_RECIPE
    assert name_key("écran 2") < name_key("Écran 10")


def test_a_bundle_is_still_written_at_schema_1(tmp_path: Path) -> None:
    """Export writes its copy of the catalog at ``BUNDLE_SCHEMA``: without the keys and their indexes, which the
    DecorLens versions before schema 3 would refuse (and the importing one writes itself)."""
    path = tmp_path / "catalog.sqlite"
    _catalog(path).close()
    snapshot = tmp_path / "bundle.sqlite"
    shutil.copy(path, snapshot)
    _at_bundle_schema(snapshot)
    with closing(sqlite3.connect(snapshot)) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (BUNDLE_SCHEMA,) == (1,)
        columns = {row[1] for row in db.execute("PRAGMA table_info(products)")}
        assert columns == {"id", "sku", "name", "category", "image_path", "image_hash", "url", "price", "extra"}
        indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql "
                                                "IS NOT NULL")}
        assert indexes == {"products_category", "vectors_revision", "tombstones_revision"}
