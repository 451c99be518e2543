"""A feed import that changes products the catalog holds is backed up first (``engine.importer.backed_up_import``).

A weekly re-import (new names, prices, photos) took no backup: after a bad week's feed, Restore a Backup could not
bring last week's catalog back, only importing last week's file again could. Real imports of small IKEA feeds into a
data dir of each test's own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from decorlens.main import main
from engine.backups import IMPORTS_KEPT, KEEP, import_reason, list_backups, read_only
from engine.errors import Cancelled
from engine.words import backup_reason
from tests.ikea_feed import write_feed

PRODUCTS = 6


def _feed(ikea: Path, products: list[dict[str, str]], path: Path, renamed: int = 0, tag: str = "garbled") -> Path:
    """The first ``PRODUCTS`` products as a feed at ``path``, the first ``renamed`` of them renamed with ``tag``."""
    rows = [dict(row, name=f"{row['name']} {tag}") if n < renamed else row
            for n, row in enumerate(products[:PRODUCTS])]
    return write_feed(ikea, rows, path)


def _names(path: Path) -> dict[str, str]:
    with read_only(path) as db:
        return dict(db.execute("SELECT sku, name FROM products"))


def test_only_an_import_changing_held_products_leaves_a_backup(fresh_pipeline, ikea: Path, ikea_products,
                                                               tmp_path: Path):
    pipeline, path = fresh_pipeline, fresh_pipeline.catalog.path
    first = pipeline.import_catalog(_feed(ikea, ikea_products, tmp_path / "week1.csv"))
    assert first.added == PRODUCTS and first.backup is None  # an empty catalog: nothing to go back to
    again = pipeline.import_catalog(tmp_path / "week1.csv")
    assert again.unchanged == PRODUCTS and again.backup is None
    more = write_feed(ikea, ikea_products[: PRODUCTS + 2], tmp_path / "more.csv")
    assert pipeline.import_catalog(more).added == 2  # new products only: nothing held changed
    assert list_backups(path) == []  # each of those took a backup and deleted it
    last_week = _names(path)

    report = pipeline.import_catalog(_feed(ikea, ikea_products, tmp_path / "Week_2.csv", renamed=2))

    assert report.updated == 2 and report.backup is not None
    [backup] = list_backups(path)
    assert backup.path == report.backup and backup_reason(backup.reason) == "importing week_2.csv"
    assert _names(backup.path) == last_week != _names(path)
    pipeline.restore_backup(backup.path)
    assert _names(path) == last_week


def test_a_cancelled_or_failed_import_leaves_catalog_and_backups_as_they_were(fresh_pipeline, ikea: Path,
                                                                              ikea_products, tmp_path: Path):
    pipeline, path = fresh_pipeline, fresh_pipeline.catalog.path
    pipeline.import_catalog(_feed(ikea, ikea_products, tmp_path / "week1.csv"))
    for _ in range(KEEP):
        pipeline.catalog.backup("remove")
    before, names = [b.name for b in list_backups(path)], _names(path)
    bad = _feed(ikea, ikea_products, tmp_path / "week2.csv", renamed=3)

    with pytest.raises(Cancelled):
        pipeline.import_catalog(bad, cancelled=lambda: True)
    assert [b.name for b in list_backups(path)] == before and _names(path) == names

    def fails(_done: int, _total: int) -> None:
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        pipeline.import_catalog(bad, fails)
    assert [b.name for b in list_backups(path)] == before and _names(path) == names


def test_routine_imports_keep_the_newest_backups_taken_before_other_work(fresh_pipeline, ikea: Path, ikea_products,
                                                                         tmp_path: Path):
    pipeline, path = fresh_pipeline, fresh_pipeline.catalog.path
    pipeline.import_catalog(_feed(ikea, ikea_products, tmp_path / "week1.csv"))
    for _ in range(KEEP):
        pipeline.catalog.backup("remove")
    removals = [b.name for b in list_backups(path)]

    weeks = range(2, IMPORTS_KEPT + 4)
    for week in weeks:  # each renames a product: one more weekly import that changes what the catalog holds
        assert pipeline.import_catalog(_feed(ikea, ikea_products, tmp_path / f"week{week}.csv", 1, f"v{week}")).backup

    kept = list_backups(path)
    assert [b.reason for b in kept] == [import_reason(f"week{w}.csv") for w in reversed(weeks)][:IMPORTS_KEPT] + [
        "remove"] * (KEEP - IMPORTS_KEPT)
    assert [b.name for b in kept[IMPORTS_KEPT:]] == removals[: KEEP - IMPORTS_KEPT]  # the newest removals stay


def test_an_import_into_a_restored_catalog_takes_no_second_copy_of_it(fresh_pipeline, ikea: Path, ikea_products,
                                                                      tmp_path: Path):
    pipeline, path = fresh_pipeline, fresh_pipeline.catalog.path
    pipeline.import_catalog(_feed(ikea, ikea_products, tmp_path / "week1.csv"))
    bad = pipeline.import_catalog(_feed(ikea, ikea_products, tmp_path / "week2.csv", renamed=2))
    pipeline.restore_backup(bad.backup)
    before = [b.name for b in list_backups(path)]  # the restored one and the one the restore took

    fixed = pipeline.import_catalog(_feed(ikea, ikea_products, tmp_path / "week2-fixed.csv", 1, "fixed"))

    assert fixed.updated == 1 and fixed.backup is None  # its backup is the one restored, still kept
    assert [b.name for b in list_backups(path)] == before


def test_catalog_import_names_its_backup(fresh_pipeline, ikea: Path, ikea_products, tmp_path: Path, capsys):
    data = fresh_pipeline.data_dir
    fresh_pipeline.close()
    feed = ["-q", "--data-dir", str(data), "catalog", "import"]
    assert main([*feed, str(_feed(ikea, ikea_products, tmp_path / "week1.csv"))]) == 0
    assert "backed up" not in capsys.readouterr().err

    assert main([*feed, str(_feed(ikea, ikea_products, tmp_path / "week2.csv", renamed=1))]) == 0

    [backup] = list_backups(data / "catalog.sqlite")
    assert f"the catalog before is backed up as {backup.name}" in capsys.readouterr().err
    with sqlite3.connect(backup.path) as db:
        assert db.execute("SELECT COUNT(*) FROM products").fetchone()[0] == PRODUCTS


def test_the_backup_names_the_feed_as_a_file_name_can():
    assert import_reason("Week 49 (final).CSV") == "import-week-49-final.csv"
    assert import_reason("..") == "import-feed" and import_reason("каталог.csv") == "import-csv"
    assert len(import_reason("x" * 300)) < 80
    assert backup_reason(import_reason("lamps_2026.tsv")) == "importing lamps_2026.tsv"
    assert backup_reason("bundle-import") == "a bundle import"


def test_catalog_import_of_vectors_embedded_elsewhere_is_backed_up_too(fresh_pipeline, ikea: Path, ikea_products,
                                                                        tmp_path: Path):
    pytest.importorskip("pyarrow")
    import pyarrow as pa
    import pyarrow.parquet as pq

    from engine.vectors_import import EmbedderId, schema

    pipeline, data = fresh_pipeline, fresh_pipeline.data_dir
    pipeline.import_catalog(_feed(ikea, ikea_products, tmp_path / "week1.csv"))
    embedder = pipeline.embedder
    rows = pipeline.catalog.db.execute(  # the vectors as a Ray run writes them (``scale.embed``): the same model's
        "SELECT p.sku, p.category, p.image_hash, v.vector FROM products p JOIN vectors v ON v.product_id = p.id "
        "WHERE v.embedder = ?", (embedder.key,)).fetchall()
    vectors = np.concatenate([np.frombuffer(row[3], np.float32) for row in rows])
    card, n = embedder.model.card, len(rows)
    columns = [pa.array([row[i] for row in rows], pa.string()) for i in range(3)]
    columns += [pa.array([card.name] * n, pa.string()), pa.array([card.sha256] * n, pa.string()),
                pa.FixedSizeListArray.from_arrays(pa.array(vectors, pa.float32()), embedder.dim),
                pa.array([""] * n, pa.string())]
    (tmp_path / "vectors").mkdir()
    pq.write_table(pa.Table.from_arrays(columns, schema=schema(embedder.dim, EmbedderId.of(card))),
                   tmp_path / "vectors" / "part-0.parquet")
    pipeline.close()

    week2 = _feed(ikea, ikea_products, tmp_path / "week2.csv", renamed=2)
    assert main(["-q", "--data-dir", str(data), "catalog", "import", "--vectors", str(tmp_path / "vectors"),
                 str(week2)]) == 0

    assert [b.reason for b in list_backups(data / "catalog.sqlite")] == [import_reason("week2.csv")]
