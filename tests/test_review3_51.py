"""Review of catalog schema 3 (session 51): a backup is anyone's file, so the keys stored in it are never trusted."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from test_keys51 import NAME_ORDER, PRICE_ORDER, _at_schema_2, _catalog, _skus

from engine.backups import check_columns
from engine.catalog import Catalog, CatalogError, Product, restore_damaged


def test_keys_planted_in_a_backup_put_in_place_of_a_damaged_catalog_are_worked_out_again(tmp_path: Path) -> None:
    """A restore into a damaged catalog puts a copy of the backup in its place: a schema-3 backup recording this
    version's recipe kept the keys written in it, so a rug planted at 0.01 and "aaa" came first by price and by name,
    and a search for "sofa" found it."""
    live = tmp_path / "catalog.sqlite"
    _catalog(live).close()
    backup = tmp_path / "hostile.sqlite"
    shutil.copy(live, backup)
    with closing(sqlite3.connect(backup)) as db, db:
        db.execute("UPDATE products SET price_value = 0.01, name_key = 'aaa', search_name = 'sofa' WHERE sku = 'P1'")
        db.execute("UPDATE products SET price_value = 'cheap' WHERE sku = 'P2'")  # not even a number
    live.write_bytes(b"not a catalog any more" * 400)
    restore_damaged(live, backup)
    with Catalog(live) as catalog:
        assert _skus(catalog, order="name") == NAME_ORDER
        assert _skus(catalog, order="price") == PRICE_ORDER
        assert _skus(catalog, text="sofa") == []


def test_a_backup_declaring_a_key_of_another_type_is_refused_before_anything_changes(tmp_path: Path) -> None:
    """Put in place of a damaged catalog, a backup's tables are kept as it declares them: a price key declared TEXT
    stored each price worked out as text ("10.0" sorted before "9.0"). ``check_columns`` (which both restores ask
    first) refuses it, naming the column; backups DecorLens wrote, of schema 3 and 2, still pass."""
    live = tmp_path / "catalog.sqlite"
    _catalog(live).close()
    for version in (3, 2):
        good = tmp_path / f"schema{version}.sqlite"
        shutil.copy(live, good)
        if version == 2:
            _at_schema_2(good)
        check_columns(good)
    backup = tmp_path / "hostile.sqlite"
    shutil.copy(live, backup)
    with closing(sqlite3.connect(backup)) as db, db:
        db.execute("DROP INDEX products_price_value")
        db.execute("ALTER TABLE products DROP COLUMN price_value")
        db.execute("ALTER TABLE products ADD COLUMN price_value TEXT")
    with pytest.raises(CatalogError, match=r"products\.price_value is TEXT, not REAL; the catalog is unchanged"):
        check_columns(backup)


def test_characters_that_show_nothing_do_not_move_a_name_in_name_order(tmp_path: Path) -> None:
    """Search finds a name holding a soft hyphen or direction mark as the name it shows (``search_name``), but Name
    A-Z keyed it with them: a feed's "BILLY" holding a soft hyphen came after every name, one holding a
    right-to-left mark after "BILZ"."""
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        with catalog.transaction() as revision:
            for sku, name in (("Z", "BILZ"), ("H", "BI\u00adLLY"), ("M", "BIL\u200fLY bookcase"), ("A", "ALGOT")):
                catalog.upsert(Product(sku, name, "shelf", f"/nowhere/{sku}.jpg", f"h{sku}"), revision)
        assert _skus(catalog, order="name") == ["A", "H", "M", "Z"]
