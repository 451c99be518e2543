"""A catalog holding a name that is not UTF-8 (a damaged page) still upgrades to schema 3 and opens (session 51)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from test_keys51 import _at_schema_2, _catalog

from engine.catalog import SCHEMA_VERSION, Catalog


def test_a_name_that_is_not_utf8_is_keyed_and_the_catalog_upgrades(tmp_path: Path) -> None:
    """Schema 3's upgrade reads every name to key it: one whose bytes were not UTF-8 failed it whole, so a catalog
    that opened before (refusing only that product where it was shown) no longer opened at all."""
    path = tmp_path / "catalog.sqlite"
    _catalog(path).close()
    _at_schema_2(path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE products SET name = CAST(x'5a65627261ff20727567' AS TEXT) WHERE sku = 'P1'")
    with Catalog(path) as catalog:
        assert catalog._version() == SCHEMA_VERSION
        assert [p.sku for p in catalog.products(skus=["P2", "P3"], order="name")] == ["P3", "P2"]
