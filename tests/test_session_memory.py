"""A day of photos: what the window keeps must not grow with every photo opened (``bench/session_memory.py``).

Stepping through 120 photos, the one thing that grew without bound was the catalog's SQLite connections:
two more per photo (the search's and the scene memory's jobs), each with its statements, page cache and
three open files, none ever closed. ``Catalog.db`` keeps a thread's connection in a ``threading.local``,
and a Qt pool thread is a new Python thread to ``threading`` on each job it runs (PySide creates and drops
its thread state around every call into Python), so every job that touches the catalog opened a connection
and ``Catalog._connections`` kept it open until the catalog closed. Now it closes with the job's thread state.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from app.workers import Runner
from engine.catalog import Catalog

pytestmark = pytest.mark.gui

JOBS = 30


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files through /proc")
def test_worker_jobs_reading_the_catalog_do_not_each_keep_a_connection_open(qtbot, tmp_path, qapp):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    runner, done = Runner(1, qapp), []
    try:
        runner.start(lambda _job: catalog.count(), done=done.append)  # the worker's thread and connection exist
        qtbot.waitUntil(lambda: len(done) == 1, timeout=30_000)
        files, connections = open_files(), len(catalog._connections)
        for n in range(2, JOBS + 2):  # as JOBS photos' searches would, one after another on the one thread
            runner.start(lambda _job: catalog.count(), done=done.append)
            qtbot.waitUntil(lambda n=n: len(done) == n, timeout=30_000)
        assert len(catalog._connections) <= connections + 1, "a connection kept open per job"
        assert open_files() <= files + 3, "open files grew with the jobs"
    finally:
        assert runner.shutdown(5_000)
        catalog.close()
