"""An upgrade started again after it failed takes no second backup (session 51's review of schema 3)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from test_keys51 import _at_schema_2, _catalog

from engine.backups import UPGRADE, list_backups, take_backup
from engine.catalog import Catalog


def _interrupted_upgrade(path: Path) -> None:
    """What an upgrade killed while keying leaves: its backup of the catalog, the catalog still at schema 2."""
    with closing(sqlite3.connect(path)) as db:
        take_backup(db, path, UPGRADE)


def test_an_upgrade_started_again_keeps_the_backup_of_its_first_try(tmp_path: Path) -> None:
    """Each start of an upgrade that failed (a full disk, the app closed while keying 200,000 products) took one more
    backup of the same catalog, and five starts pushed out every backup from before the upgrade."""
    path = tmp_path / "catalog.sqlite"
    _catalog(path).close()
    _at_schema_2(path)
    _interrupted_upgrade(path)
    with Catalog(path):
        pass
    assert [b.reason for b in list_backups(path)] == [UPGRADE]


def test_a_catalog_changed_since_its_upgrade_backup_is_backed_up_again(tmp_path: Path) -> None:
    """Changed by the older DecorLens after a failed upgrade, the catalog is not the one backed up: one more."""
    path = tmp_path / "catalog.sqlite"
    _catalog(path).close()
    _at_schema_2(path)
    _interrupted_upgrade(path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")
    with Catalog(path):
        pass
    assert [b.reason for b in list_backups(path)] == [UPGRADE, UPGRADE]
