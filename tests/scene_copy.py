"""A copy of the session's data dir with no photo remembered: tests that tag photos write there, never to it.

The catalog is copied through SQLite's backup, never as files: reading catalog.sqlite or its -shm with ``open`` in
this process and closing it drops every POSIX lock the process holds on it (the session pipeline's too), so a later
process on the session data dir (a bench's child) took itself for the last user, checkpointed and deleted the WAL
under the pipeline's open map of it, and every later test of the session catalog read "file is not a database"."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from engine.models import find_first
from engine.pipeline import Pipeline
from engine.scene_memory import TABLES, VERSION_KEY


def copy_data_dir(pipeline: Pipeline, target: Path) -> Path:
    """The session's data dir (catalog, index, models) copied, with no photo remembered yet."""
    shutil.copytree(pipeline.data_dir / "models", target / "models")
    shutil.copytree(pipeline.data_dir / "index", target / "index")
    with sqlite3.connect(target / "catalog.sqlite") as copy:
        pipeline.catalog.db.backup(copy)
        for table in TABLES:
            copy.execute(f"DROP TABLE IF EXISTS {table}")
        copy.execute("DELETE FROM meta WHERE key = ?", (VERSION_KEY,))
    return target


def without_vectors(data: Path, *embedders: str) -> Path:
    """``data`` with no vector for ``embedders`` (model file names): a test before in this process may have embedded
    the session catalog for one, and an embedding of it would then end at once, before anything waited for it."""
    keys = [find_first((name,), data_dir=data).key for name in embedders]
    with sqlite3.connect(data / "catalog.sqlite") as db:
        db.executemany("DELETE FROM vectors WHERE embedder = ?", [(key,) for key in keys])
    db.close()
    return data
