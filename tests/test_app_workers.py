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


def test_many_qt_calls_and_tasks_do_not_run_none_and_true_out_of_references(qtbot, qapp):
    """PySide6 6.12.0 drops a reference to None per void Qt call and to True per emit on CPython 3.11.

    Far more of both than those objects have references: on such a PySide6 this test aborts, which
    is why the [gui] extra pins PySide6 below 6.12.
    """
    label = QLabel()
    for n in range(30_000):
        label.setText(str(n))
    runner, done, progress = Runner(2, qapp), [], []
    count = 3000

    def work(job):
        job.progress(1, 1)
        return 1

    for _ in range(count):
        runner.start(work, done=done.append, progress=lambda d, _t: progress.append(d))
    qtbot.waitUntil(lambda: len(done) == count, timeout=60_000)
    assert len(progress) == count
    assert runner.shutdown(5_000)


def test_a_match_shows_price_and_product_link_when_the_catalog_has_them(qtbot, qapp):
    match = Match(
        1, "702.535.41", "EKEDALEN", "chair", 0.83, "exact", "", "https://example.com/p/1", "49.00 EUR"
    )
    row = MatchRow(1, match, False, Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(row)
    texts = " ".join(label.text() for label in row.findChildren(QLabel))
    assert "49.00 EUR" in texts and 'href="https://example.com/p/1"' in texts and "Exact" in texts


def test_errors_and_cancel_come_back_as_messages(qtbot, qapp):
    runner, seen = Runner(1, qapp), []

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
thumbnails = Thumbnails(Runner(2, app))  # as a test's strip's: no window shuts this Runner down
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
    """Once its Runner is gone (its window or dialog deleted), no slot gets a task's result:
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


TESTS_THAT_LEAVE_WORK_AND_GARBAGE = r'''
import gc
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from app.workers import Runner

kept, ended, deleted = [], [], []


def test_closes_its_window(qtbot):
    window = QWidget()
    qtbot.addWidget(window)  # closed and deleted later, when an event loop next runs (pytest-qt)
    window.destroyed.connect(lambda *_: deleted.append(1))
    window.show()
    kept.append(window)  # as a window a closure of the test still holds


def test_begins_once_that_window_is_deleted():
    assert deleted, "the window of the test before was still there"


def test_leaves_its_work_running(qtbot, qapp):
    runner = Runner(1, qapp)
    runner.start(lambda _job: (time.sleep(2), ended.append(1)))
    kept.append(runner)  # a test's Runner that nothing shuts down


def test_begins_once_that_work_ended():
    assert ended, "the work of the test before still ran"


def test_leaves_a_running_timer_in_a_reference_cycle(qtbot):
    timer = QTimer()  # the test's own, as a test's Runner or widget: freed by a collection, not as the test ends
    timer.timeout.connect(lambda: None)
    timer.start(5)
    timer.cycle = timer
    gc.disable()  # as when no collection on the GUI thread happened to come before a worker's


def test_a_worker_collects_while_the_gui_thread_runs_on(qtbot, qapp):
    runner, done = Runner(1, qapp), []
    runner.start(lambda _job: gc.collect(), done=done.append)  # a worker's allocation sets collections off too
    qtbot.waitUntil(lambda: bool(done))
    gc.enable()
    qtbot.wait(300)  # the GUI thread's timers fire
'''

WITH_THE_SUITES_CLEANUP = r'''
import importlib.util
import sys

spec = importlib.util.spec_from_file_location("suite_conftest", {conftest!r})
suite = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # as an import would: its dataclasses need it
spec.loader.exec_module(suite)
_no_work_left_running = suite._no_work_left_running  # the suite's cleanup after each test, here too
'''


def test_a_gui_tests_work_and_garbage_are_done_with_before_the_next_test(tmp_path):
    """The suite's cleanup after each GUI test (tests/conftest.py) deletes the windows the test closed, waits for the
    work it left running and collects its garbage, on the GUI thread. The windows were deleted in the next test's
    first wait, and the work ran on into the next test; and a test's Qt objects in reference
    cycles were freed by the next collection, on whichever thread it ran: on a pool thread Qt could not stop a
    timer's timers, and the GUI thread fired one for the deleted object (a segfault)."""
    (tmp_path / "conftest.py").write_text(WITH_THE_SUITES_CLEANUP.format(conftest=str(Path(__file__).with_name(
        "conftest.py"))))
    (tmp_path / "test_left.py").write_text(TESTS_THAT_LEAVE_WORK_AND_GARBAGE)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                          "test_left.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 0, (run.returncode, run.stdout[-1000:], run.stderr[:1000])


A_TASK_ENDING_AS_THE_APP_QUITS = r"""
import atexit, os, sys, threading, time
outcome = []
atexit.register(lambda: print(outcome[-1] if outcome else "never ended"))  # registered first: runs last
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from app.workers import Runner
from engine.catalog import Catalog

app = QCoreApplication([])
catalog = Catalog(Path(sys.argv[2]))
started = threading.Event()

def work(job):
    catalog.count()  # this thread's connection, open
    started.set()
    while not job.cancelled():  # as an import does, until the app quits
        time.sleep(0.01)
    try:
        outcome.append(f"ended: {catalog.count()} products")  # as it rolls back, on that connection
    except Exception as exc:
        outcome.append(f"failed: {exc}")

runner = Runner(1, app)
runner.start(work)
started.wait()  # and the script ends: the app quits while the task runs
"""


def test_a_task_the_quit_stops_still_has_its_catalog_connection_as_it_ends(tmp_path):
    """At exit, ``weakref.finalize``'s hook closed each pool thread's catalog connection before ``_finish_all``
    cancelled the tasks and waited for them: a task stopping there (an import rolling back) found its connection
    closed ("Cannot operate on a closed database"), and a query still running had it closed under it (a segfault)."""
    done = run_script(tmp_path, A_TASK_ENDING_AS_THE_APP_QUITS, str(tmp_path / "catalog.db"),
                      hung="the process did not end with a task running")
    assert done.returncode == 0 and done.stdout.strip() == "ended: 0 products", (done.returncode, done.stdout,
                                                                                 done.stderr[:1500])
