"""A user who upgrades: what an earlier DecorLens stored must open, restore and import in today's.

The old files are built here as the old code wrote them (its SQL copied below, with the commit it is from), so
these tests need no git history: a walk of three old versions (2026-11-22, 12-02 and 12-04) found each case.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import zipfile
from pathlib import Path

import numpy as np

from engine.bundle import CATALOG_FILE, export_bundle, import_bundle
from engine.catalog import Catalog

# engine/catalog.py's SCHEMA at commit 3b8f743 (2026-11-22, the first week's CLI) and unchanged until schema 2
# (2026-12-07, products.source): every catalog, backup and bundle made before then holds exactly these tables.
SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL,
    image_path TEXT NOT NULL,
    image_hash TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    price TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS products_category ON products (category);
CREATE TABLE IF NOT EXISTS vectors (
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    embedder TEXT NOT NULL,
    image_hash TEXT NOT NULL,
    revision INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (product_id, embedder)
);
CREATE INDEX IF NOT EXISTS vectors_revision ON vectors (embedder, revision);
CREATE TABLE IF NOT EXISTS tombstones (
    product_id INTEGER NOT NULL,
    category TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tombstones_revision ON tombstones (revision);
"""
OLD_EMBEDDER = "mobilenet_v2-imagenet-d328850cf896"  # the key 3b8f743 stored for the stock embedder


def _schema_1_catalog(path: Path, lamps: list[Path]) -> Path:
    """A catalog file as DecorLens 3b8f743 wrote it (its ``_migrate`` and ``put_vectors``): each lamp a product
    with a price and a link, and a vector of the stock embedder."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript(SCHEMA_1)
        db.execute("INSERT INTO schema_version (version) VALUES (1)")
        db.execute("INSERT INTO meta (key, value) VALUES ('revision', '1')")
        for number, image in enumerate(lamps, 1):
            db.execute(
                "INSERT INTO products (sku, name, category, image_path, image_hash, url, price) "
                "VALUES (?, ?, 'lamp', ?, ?, ?, ?)",
                (image.stem, f"Lamp {number}", str(image), f"hash{number}", f"https://example.com/{number}",
                 f"{number}9.99"),
            )
            vector = np.full(8, number, dtype=np.float32).tobytes()
            db.execute("INSERT INTO vectors VALUES (?, ?, ?, 1, ?)", (number, OLD_EMBEDDER, f"hash{number}", vector))
    return path


def test_a_backup_an_earlier_decorlens_took_restores(fresh_pipeline, ikea: Path, tmp_path: Path):
    """Every backup taken before schema 2 was refused: `catalog restore` and the app's Restore a Backup… said
    "backup … is not a complete DecorLens catalog: no column source in products", so after upgrading no backup
    the old version had taken (before a removal, an embedder switch, a restore) could be brought back. The restore
    itself gives such a backup's products source "" (``Catalog._restored_columns``); only the check before it,
    which compared the backup with today's schema, stopped it."""
    lamps = sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]
    backup = _schema_1_catalog(tmp_path / "catalog-20261204T100000000000Z-remove.sqlite", lamps)

    restored, aside, _why = fresh_pipeline.restore_backup(backup)

    assert (restored, aside) == (3, None)
    catalog = fresh_pipeline.catalog
    products = sorted(catalog.products(), key=lambda p: p.sku)
    assert [(p.sku, p.name, p.price, p.url, p.source) for p in products] == [
        (image.stem, f"Lamp {n}", f"{n}9.99", f"https://example.com/{n}", "") for n, image in enumerate(lamps, 1)
    ]
    stored = catalog.db.execute("SELECT COUNT(*) FROM vectors WHERE embedder = ?", (OLD_EMBEDDER,)).fetchone()[0]
    assert stored == 3  # the old vectors come back with their products: nothing to embed again for them


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def test_a_bundle_exported_today_is_one_an_earlier_decorlens_imports(fresh_pipeline, ikea: Path, tmp_path: Path):
    """A bundle was written at this machine's schema: since schema 2 (products.source) every DecorLens before it,
    the store tills HQ ships to, refused each one ("catalog schema 2 is newer than this DecorLens (1)") for a
    column no import reads. A bundle is now written at schema 1, as 3b8f743 wrote its catalogs (checked here:
    its version, in the manifest and in the database, and its products' columns), and imports here as before."""
    lamps = tmp_path / "feed" / "lamp"
    lamps.mkdir(parents=True)
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]:
        shutil.copy(image, lamps / image.name)
    fresh_pipeline.import_catalog(lamps.parent)
    skus = sorted(p.sku for p in fresh_pipeline.catalog.products())
    fresh_pipeline.close()

    bundle = export_bundle(fresh_pipeline.data_dir, tmp_path / "shop.dlcat")

    assert bundle.manifest["schema_version"] == 1
    with zipfile.ZipFile(bundle.path) as zf:
        (tmp_path / "inside.sqlite").write_bytes(zf.read(CATALOG_FILE))
    with contextlib.closing(sqlite3.connect(":memory:")) as old, \
            contextlib.closing(sqlite3.connect(tmp_path / "inside.sqlite")) as inside:
        old.executescript(SCHEMA_1)
        assert inside.execute("SELECT version FROM schema_version").fetchone() == (1,)
        assert _columns(inside, "products") == _columns(old, "products")
    import_bundle(bundle.path, tmp_path / "till", fresh_pipeline.embedder)
    with Catalog(tmp_path / "till" / CATALOG_FILE) as till:
        assert sorted(p.sku for p in till.products()) == skus


def test_a_catalog_is_backed_up_as_it_was_before_its_schema_is_upgraded(ikea: Path, tmp_path: Path):
    """The upgrade to schema 2 took no backup: the earlier DecorLens refuses the upgraded catalog ("schema 2 is
    newer"), so a user going back to it had nothing of theirs in backups/ to return to. The catalog as it was is
    now kept there, named for the upgrade, and the log says where."""
    from engine.backups import list_backups
    from engine.words import backup_reason

    lamps = sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]
    (tmp_path / "data").mkdir()
    path = _schema_1_catalog(tmp_path / "data" / "catalog.sqlite", lamps)
    said: list[str] = []
    with contextlib.closing(Catalog(path, log=said.append)) as catalog:
        assert catalog.count() == 3
    [backup] = list_backups(path)
    assert backup_reason(backup.reason) == "an upgrade of DecorLens" and backup.products() == 3
    with contextlib.closing(sqlite3.connect(backup.path)) as kept:
        assert kept.execute("SELECT version FROM schema_version").fetchone() == (1,)  # the old DecorLens opens it
        assert "source" not in _columns(kept, "products")
    assert any(str(backup.path) in line for line in said), said
    with contextlib.closing(Catalog(path)):  # upgraded once: no second backup
        pass
    assert len(list_backups(path)) == 1
