"""Catalog backups and ``catalog restore`` on a real catalog of IKEA products."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

from decorlens.main import main


def _without_column(backup: Path, out: Path, column: str) -> Path:
    """A copy of a real backup whose products table lacks ``column`` (a file made by another tool)."""
    shutil.copyfile(backup, out)
    with contextlib.closing(sqlite3.connect(out)) as db:
        db.execute(f"ALTER TABLE products DROP COLUMN {column}")
        db.commit()
    return out


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
