"""Workers under load (and the PySide6 version that keeps them alive), and small widgets."""

from __future__ import annotations

import os
import sqlite3

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QLabel  # noqa: E402

from app.thumbnails import Thumbnails  # noqa: E402
from app.widgets.results_panel import MatchRow  # noqa: E402
from app.workers import Runner  # noqa: E402
from engine.errors import Cancelled, ImageError  # noqa: E402
from engine.results import Match  # noqa: E402

pytestmark = pytest.mark.gui


def test_many_qt_calls_and_tasks_do_not_run_none_and_true_out_of_references(qtbot):
    """PySide6 6.12.0 drops a reference to None per void Qt call and to True per emit on CPython 3.11.

    Far more of both than those objects have references: on such a PySide6 this test aborts, which
    is why the [gui] extra pins PySide6 below 6.12.
    """
    label = QLabel()
    for n in range(30_000):
        label.setText(str(n))
    runner, done, progress = Runner(2), [], []
    count = 3000

    def work(job):
        job.progress(1, 1)
        return 1

    for _ in range(count):
        runner.start(work, done=done.append, progress=lambda d, _t: progress.append(d))
    qtbot.waitUntil(lambda: len(done) == count, timeout=60_000)
    assert len(progress) == count
    assert runner.shutdown(5_000)


def test_a_match_shows_price_and_product_link_when_the_catalog_has_them(qtbot):
    match = Match(
        1, "702.535.41", "EKEDALEN", "chair", 0.83, "exact", "", "https://example.com/p/1", "49.00 EUR"
    )
    row = MatchRow(1, match, False, Thumbnails(Runner(1)))
    qtbot.addWidget(row)
    texts = " ".join(label.text() for label in row.findChildren(QLabel))
    assert "49.00 EUR" in texts and 'href="https://example.com/p/1"' in texts and "Exact" in texts


def test_errors_and_cancel_come_back_as_messages(qtbot):
    runner, seen = Runner(1), []

    def cancellable(job):
        while not job.cancelled():
            pass
        raise Cancelled("stopped as asked")

    def fail(_job):
        raise ImageError("x.jpg: not an image")

    def bug(_job):
        raise KeyError("oops")

    def full(_job):  # a library's error: the window said "unexpected error: OperationalError: ..."
        raise sqlite3.OperationalError("database or disk is full")

    runner.start(fail, failed=seen.append)
    runner.start(bug, failed=seen.append)
    runner.start(full, failed=seen.append)
    task = runner.start(cancellable, cancelled=seen.append)
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=60_000)
    task.cancel()
    qtbot.waitUntil(lambda: len(seen) == 4, timeout=60_000)
    assert seen[:2] == ["x.jpg: not an image", "unexpected error: KeyError: 'oops'"]
    assert seen[2].startswith("no space left to write the catalog") and seen[3] == "stopped as asked"
