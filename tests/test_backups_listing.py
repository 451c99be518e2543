"""Catalog ▸ Restore a Backup…'s list, read in its worker: each backup opened once for both its count and how it
differs from the catalog now (it was opened twice, and its rows and the catalog's read into Python)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from app.dialogs.backups import read_listing
from engine.backups import backups_dir, list_backups
from engine.catalog import Product
from engine.pipeline import Pipeline
from engine.settings import Settings


def _product(number: int, price: str = "9.99") -> Product:
    return Product(f"S{number:02d}", f"N{number:02d}", "chair", f"/photos/{number}.jpg", f"h{number}", price=price)


def test_each_backup_is_opened_once_for_its_count_and_its_difference(tmp_path: Path, monkeypatch):
    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path))
    catalog = pipeline.catalog
    with catalog.transaction() as revision:
        for number in range(1, 9):
            catalog.upsert(_product(number), revision)
    catalog.remove([f"S{number:02d}" for number in range(1, 5)])  # backed up first: all 8
    with catalog.transaction() as revision:
        catalog.upsert(_product(5, price="12.50"), revision)
        catalog.upsert(_product(9), revision)
    taken = list_backups(catalog.path)[0].path
    unreadable = backups_dir(catalog.path) / "catalog-20200101T000000000000Z-remove.sqlite"
    unreadable.write_bytes(b"not a database" * 100)
    opened: list[str] = []
    connect = sqlite3.connect

    def counted(database, *args, **kwargs):
        opened.append(str(database))
        return connect(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", counted)
    listing = read_listing(pipeline)
    assert [sum(backup.name in name for name in opened) for backup in (taken, unreadable)] == [1, 1], opened
    assert [(backup.path, count) for backup, count in listing.backups] == [(taken, 8), (unreadable, None)]
    assert listing.products == 5
    assert listing.differences[taken.name].short() == \
        "4 more: N01 (S01), N02 (S02), N03 (S03) and 1 more; 1 fewer: N09 (S09); 1 changed since"
    assert list(listing.differences) == [taken.name]
