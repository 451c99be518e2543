"""Workers under load (and the PySide6 version that keeps them alive), and small widgets."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

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


def run_script(tmp_path: Path, source: str, *args: str, hung: str, timeout: int = 60) -> subprocess.CompletedProcess:
    """``source`` run as a script of its own, given the repository's root and ``args``; ``hung`` fails the test
    when it does not end within ``timeout`` s (what these scripts reproduce is a hang or a crash at exit)."""
    script = tmp_path / "script.py"
    script.write_text(source)
    root = Path(__file__).resolve().parents[1]
    try:
        return subprocess.run([sys.executable, str(script), str(root), *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(hung)


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


WINDOW_CLOSED_WHILE_A_TASK_RUNS = r"""
import os, sys, threading, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QWidget
from app.workers import Runner

class Window(QWidget):
    def event(self, event):  # as the Train window's: a deletion of the window runs inside this Python call
        return super().event(event)

app = QApplication([])
window = Window()
started, ended = threading.Event(), []
Runner(1, window).start(lambda _job: (started.set(), time.sleep(0.5), ended.append(sum(range(100_000)))))
started.wait()
window.deleteLater()  # as pytest-qt does with a window closed while it still counts its training data
loop = QEventLoop()
QTimer.singleShot(3_000, loop.quit)
loop.exec()
print("ended" if ended else "not ended")
"""


def test_a_window_deleted_while_its_task_runs_lets_the_task_end(tmp_path):
    """The Train window's pool was deleted with the window, inside its Python ``event``: the pool waited for the
    running task while holding the GIL the task needed to go on, and the app (and CI's whole test run) hung."""
    done = run_script(tmp_path, WINDOW_CLOSED_WHILE_A_TASK_RUNS,
                      hung="the window's deletion waited for its task, which waited for the GIL: hung")
    assert done.returncode == 0 and done.stdout.strip() == "ended", done.stderr


THUMBNAILS_LEFT_DECODING_AT_EXIT = r"""
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from PySide6.QtWidgets import QApplication
from app.thumbnails import Thumbnails
from app.workers import Runner
app = QApplication([])
thumbnails = Thumbnails(Runner(2))  # as a test's strip has them: no window shuts this Runner down
for scene in sorted(Path(sys.argv[2]).glob("*.jpg")):
    thumbnails.get(str(scene), 400, digest=True)
print("queued")
"""


def test_the_interpreter_exits_cleanly_while_thumbnails_are_still_decoding(ikea, tmp_path):
    """A process that ends while pool threads still decode (the Photos strip of a test, here the rooms' thumbnails
    queued and the script at its end) crashed in the interpreter's exit: the workers ran on in ``QImageReader.read``
    while Python finalized and Qt tore down (a segfault after ``6 passed``: tests/test_app_folders.py run alone)."""
    done = run_script(tmp_path, THUMBNAILS_LEFT_DECODING_AT_EXIT, str(ikea / "scenes"), timeout=120,
                      hung="the process did not end with thumbnails still decoding")
    assert done.returncode == 0 and done.stdout.strip() == "queued", (done.returncode, done.stderr[-2000:])


def test_a_runner_gone_stops_its_tasks_and_drops_those_not_started(qtbot):
    """Once its Runner is gone (its window or dialog deleted, or a test's collected), no slot gets a task's result:
    the running one is told to stop and those queued never start. They all ran on: a test's hundreds of thumbnail
    decodes went on through the next tests, on CI's two cores."""
    import threading
    import time

    from PySide6.QtCore import QObject

    owner = QObject()
    runner = Runner(1, owner)
    stopped, queued_ran, pool_gone = threading.Event(), [], []

    def running(job):
        ends = time.monotonic() + 15  # on its own, where nothing stops it
        while not job.cancelled() and time.monotonic() < ends:
            time.sleep(0.001)
        if job.cancelled():
            stopped.set()

    runner.start(running)
    for _ in range(5):
        runner.start(lambda _job: queued_ran.append(1))
    runner.pool.destroyed.connect(lambda *_: pool_gone.append(1))
    del runner
    owner.deleteLater()
    qtbot.waitUntil(lambda: bool(pool_gone), timeout=60_000)  # deleted once every task it ran has ended
    assert stopped.is_set() and not queued_ran


RUNNER_GONE_IN_A_WAIT_HOLDING_THE_GIL = r"""
import os, sys, threading, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QObject
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from app.workers import Runner
app = QApplication([])
owner, started = QObject(), threading.Event()

def running(job):
    started.set()
    while not job.cancelled():
        time.sleep(0.001)

Runner(1, owner).start(running)
started.wait()
owner.deleteLater()
QTest.qWait(100)  # runs the deletion holding the GIL, as a window's Python ``event`` does
print("back")
"""


def test_a_runner_deleted_inside_a_python_call_does_not_wait_holding_the_gil(tmp_path):
    """The gone Runner's pool was deleted in the event loop and waited for its running task there: where that loop
    runs inside a Python call (``QTest.qWait``, a window's ``event``) it held the GIL, so the task never saw it was
    cancelled and both waited for ever, with no CPU (a GUI test hung so)."""
    done = run_script(tmp_path, RUNNER_GONE_IN_A_WAIT_HOLDING_THE_GIL,
                      hung="the pool's deletion waited for its task holding the GIL the task needed: hung")
    assert done.returncode == 0 and done.stdout.strip() == "back", done.stderr[-2000:]
