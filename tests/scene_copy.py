"""A copy of the session's data dir with no photo remembered: tests that tag photos write there, never to it."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

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
