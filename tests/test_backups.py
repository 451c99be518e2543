"""Catalog backups and ``catalog restore`` on a real catalog of IKEA products."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

from decorlens.main import main
from engine.backups import BEFORE_RESTORE, KEEP, BackupRun, list_backups
from engine.catalog import Catalog, Product
from engine.pipeline import Pipeline

V1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"  # an embedder other than the default


def _without_column(backup: Path, out: Path, column: str) -> Path:
    """A copy of a real backup whose products table lacks ``column`` (a file made by another tool)."""
    shutil.copyfile(backup, out)
    with contextlib.closing(sqlite3.connect(out)) as db:
        for (index,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'products' "
                                   "AND sql LIKE ?", (f"%{column}%",)).fetchall():  # SQLite keeps no index of none
            db.execute(f"DROP INDEX {index}")
        db.execute(f"ALTER TABLE products DROP COLUMN {column}")
        db.commit()
    return out


def _lamps(ikea: Path, out: Path, count: int) -> Path:
    """A folder of ``count`` real IKEA lamp photos, to import."""
    source = out / "photos" / "lamp"
    source.mkdir(parents=True)
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:count]:
        shutil.copy(image, source / image.name)
    return source.parent


def test_a_restore_keeps_every_backup_before_the_one_it_brings_back(fresh_pipeline, ikea: Path, tmp_path: Path):
    """Restoring the oldest of 5 backups, taken before an embedder switch, backed the catalog up twice (before the
    restore, then the restored catalog before it was re-embedded for the embedder in use), each pruning to the
    newest 5: the backup before it and the restored one itself were deleted, the points a user who restores to undo
    a mistake may want next. The backup a restore takes now comes on top of the 5 kept, and the restored catalog,
    unchanged, is re-embedded without another copy of the backup it came from."""
    fresh_pipeline.import_catalog(_lamps(ikea, tmp_path, 10))
    skus = sorted(p.sku for p in fresh_pipeline.catalog.products())
    path = fresh_pipeline.catalog.path
    fresh_pipeline.remove_products(skus[:1])  # a backup of 10 products, embedded by the default embedder only
    fresh_pipeline.close()
    pipeline = Pipeline(fresh_pipeline.settings.with_(embedder=(V1,)))  # another embedder put in use
    assert pipeline.prepare_matcher() == 9  # its re-embedding backs up first
    for sku in skus[1:4]:
        pipeline.remove_products([sku])
    before = list_backups(path)
    assert [b.reason for b in before] == ["remove"] * 3 + ["re-embed", "remove"] and len(before) == KEEP
    oldest = before[-1]

    assert pipeline.restore_backup(oldest.path)[0] == 10
    assert pipeline.prepare_matcher() == 10  # as Restore a Backup… does: the restored products lack V1's vectors
    after = list_backups(path)
    assert after[0].reason == BEFORE_RESTORE  # the restored catalog is not backed up again: its backup is oldest
    assert [b.name for b in after[1:]] == [b.name for b in before]  # none pushed out, the restored one neither
    assert [b.products() for b in after] == [6, 7, 8, 9, 9, 10]

    for sku in skus[4:9]:  # five removals later, only the newest 5 of theirs count: the older ones go
        pipeline.remove_products([sku])
    kept = list_backups(path)
    assert [b.reason for b in kept] == ["remove"] * KEEP + [BEFORE_RESTORE]
    assert kept[-1].name == after[0].name  # the catalog as it was before the restore, still there to go back to
    pipeline.close()


def test_restore_of_a_backup_without_a_column_names_the_backup(fresh_pipeline, ikea: Path, tmp_path: Path, capsys):
    """It said "the catalog …/catalog.sqlite failed: no such column: name", blaming the live catalog, which the
    rolled-back restore had left intact."""
    source = tmp_path / "photos" / "lamp"
    source.mkdir(parents=True)
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]:
        shutil.copy(image, source / image.name)
    fresh_pipeline.import_catalog(source.parent)
    skus = {p.sku for p in fresh_pipeline.catalog.products()}
    backup = fresh_pipeline.catalog.backup("manual")
    fresh_pipeline.close()
    broken = _without_column(backup, tmp_path / "elsewhere.sqlite", "name")

    assert main(["-q", "--data-dir", str(fresh_pipeline.data_dir), "catalog", "restore", str(broken)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "elsewhere.sqlite" in err and "name" in err, err
    assert "catalog.sqlite" not in err
    with contextlib.closing(sqlite3.connect(fresh_pipeline.data_dir / "catalog.sqlite")) as db:
        assert {r[0] for r in db.execute("SELECT sku FROM products")} == skus
    assert main(["-q", "--data-dir", str(fresh_pipeline.data_dir), "catalog", "restore", backup.name]) == 0


def test_the_app_finds_the_cli_restore_advice_in_every_damaged_catalog_line(fresh_pipeline, ikea: Path,
                                                                            tmp_path: Path):
    """The window swaps the CLI's `decorlens catalog restore` (which retail staff never see) for its Restore a
    Backup… button: it found the advice by a pattern of its own, which any rewording of these lines would have
    silently stopped matching. The pattern is the engine's, beside the words, and finds both forms."""
    from engine.advice import Context, describe
    from engine.backups import NO_BACKUP, cli_restore_advice

    damage = sqlite3.DatabaseError("database disk image is malformed")
    fresh_pipeline.import_catalog(_lamps(ikea, tmp_path, 3))
    without = describe(damage, Context(data_dir=fresh_pipeline.data_dir))
    assert NO_BACKUP in without and cli_restore_advice(without) is None
    for sku in sorted(p.sku for p in fresh_pipeline.catalog.products())[:2]:
        fresh_pipeline.remove_products([sku])  # each removal backs up first
    for context, count in ((Context(data_dir=fresh_pipeline.data_dir), 2), (Context(), None)):
        line = describe(damage, context)
        start, end, counted = cli_restore_advice(line)
        assert counted == count and "`decorlens catalog restore`" in line[start:end]
        assert "decorlens" not in line[:start] + line[end:]


def test_a_removal_run_carried_to_another_catalog_keeps_that_catalogs_first_backup(tmp_path: Path, ikea: Path,
                                                                                   ikea_products):
    """The duplicates window keeps its run of removals when the app's data dir changes under it: the backup it kept
    was the other catalog's, and this catalog's first one went with the next KEEP removals."""
    run = BackupRun()
    catalogs = [Catalog(tmp_path / name / "catalog.sqlite") for name in ("before", "after")]
    rows = ikea_products[:KEEP + 3]
    for catalog in catalogs:
        with catalog.transaction() as revision:
            for r in rows:
                catalog.upsert(Product(r["product_id"], r["name"], r["category"], str(ikea / r["image"])), revision)
    catalogs[0].remove([rows[0]["product_id"]], run)
    for r in rows[:KEEP + 2]:
        catalogs[1].remove([r["product_id"]], run)
    kept = list_backups(catalogs[1].path)
    assert [b.products() for b in kept] == [2, 3, 4, 5, 6, len(rows)]  # the newest KEEP and the one before them all
    for catalog in catalogs:
        catalog.close()
