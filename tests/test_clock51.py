"""Users whose clocks and time zones are not simple: a clock set back, a laptop that travels, the DST change."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from engine.backups import KEEP, back_up_file, backups_dir, list_backups, take_backup

AHEAD = "99991231T23595900000{}Z"  # a backup's time from a clock far ahead (set back since, or another machine's)


def _catalog(folder: Path) -> Path:
    """A small SQLite file standing for the catalog (the backups copy any database)."""
    path = folder / "catalog.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE products (sku TEXT)")
    return path


def test_backups_taken_after_the_clock_was_set_back_are_the_newest(tmp_path: Path):
    """Five backups named after now (taken while the clock was ahead) sorted before every backup taken since, so
    each backup taken pushed the one before it out: of two removals made since, the first could not be undone."""
    catalog = _catalog(tmp_path)
    folder = backups_dir(catalog)
    folder.mkdir()
    for n in range(KEEP):
        (folder / f"catalog-{AHEAD.format(n)}-remove.sqlite").write_bytes(catalog.read_bytes())
    first = take_backup(catalog, catalog, "remove")
    second = take_backup(catalog, catalog, "remove")
    found = [b.path for b in list_backups(catalog)]
    assert found[:2] == [second, first] and len(found) == KEEP
    assert [p.name for p in found[2:]] == [f"catalog-{AHEAD.format(n)}-remove.sqlite" for n in (4, 3, 2)]


def test_file_copies_taken_after_the_clock_was_set_back_are_kept(tmp_path: Path):
    """The copies of categories.yaml (a bundle import's) pruned the same way: each pushed out the one before it."""
    catalog = _catalog(tmp_path)
    folder = backups_dir(catalog)
    folder.mkdir()
    for n in range(KEEP):
        (folder / f"categories-{AHEAD.format(n)}-bundle-import.yaml").write_text("lamp: lamp\n")
    source = tmp_path / "categories.yaml"
    source.write_text("chair: chair\n")
    first = back_up_file(source, catalog, "bundle-import")
    second = back_up_file(source, catalog, "bundle-import")
    assert first.is_file() and second.is_file()
    assert len(list(folder.glob("categories-*"))) == KEEP
