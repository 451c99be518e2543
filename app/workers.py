"""Engine calls off the UI thread: QThreadPool workers, results and progress back as queued signals.

Every long step (model loading, detection, import, batch) goes through ``Runner.start`` so the window
never freezes. A task gets a ``Job`` to report progress and to ask whether the user cancelled; the
engine's own ``progress``/``cancelled`` parameters take those two directly. A task whose result comes
in parts (a folder's photos as they are found) hands each part on with ``Job.deliver``. Errors the user can act
on come back as their message (``DecorLensError``, ``ValueError``), or as ``engine.advice`` words a
library's (a full disk, a locked catalog); anything else as a short line, with the traceback logged,
so one bad file never takes the app down.

Each Runner has one long-lived signal object that every task emits on, keyed by task number: no
QObject is created or destroyed per task, so none can be deleted (or garbage-collected) while a pool
thread is still emitting on it, the classic way QRunnable-with-signals code crashes.

No task outlives the interpreter: a Runner that goes (with its window or dialog, its parent) cancels its
tasks and drops those not started, whose results nobody would get, and at exit every pool is emptied and waited
for. A pool thread still decoding or emitting while Python finalized and Qt tore its plugins down crashed the
process (a segfault after every test had passed, a thumbnail worker in ``QImageReader.read``).
"""

from __future__ import annotations

import atexit
import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThreadPool, Signal

from engine.advice import Context, describe
from engine.errors import Cancelled, DecorLensError

log = logging.getLogger(__name__)
_quitting = threading.Event()  # set at exit (``_finish_all``): every task is cancelled


class _Bridge(QObject):
    """Emitted from pool threads, delivered (queued) on the UI thread; the int is the task's key."""

    progress = Signal(int, int, int)
    delivered = Signal(int, object)
    done = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int, str)
    finished = Signal(int)


class Job:
    """What a running task sees: a progress callback and the cancel flag."""

    def __init__(self, task: Task):
        self._task = task

    def progress(self, done: int, total: int) -> None:
        self._task.bridge.progress.emit(self._task.key, done, total)

    def deliver(self, part: object) -> None:
        """Part of the result, passed to the ``delivered`` slot on the UI thread before ``done`` (in order)."""
        self._task.bridge.delivered.emit(self._task.key, part)

    def cancelled(self) -> bool:
        return self._task.is_cancelled()


class Task:
    """A handle on one call of ``work(job)``, to cancel it."""

    def __init__(self, key: int, work: Callable[[Job], Any], bridge: _Bridge):
        self.key = key
        self.bridge = bridge
        self._work = work
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set() or _quitting.is_set()

    def run(self) -> None:
        """Runs in a pool thread; always ends with ``finished``."""
        b, key = self.bridge, self.key
        try:
            result = self._work(Job(self))
        except Cancelled as exc:
            b.cancelled.emit(key, str(exc))
        except DecorLensError as exc:
            b.failed.emit(key, str(exc))
        except Exception as exc:  # noqa: BLE001 - a library's error becomes advice, a bug a report
            b.failed.emit(key, _message(exc))
        else:
            b.done.emit(key, result)
        finally:
            b.finished.emit(key)


def _message(exc: Exception) -> str:
    """What the window says of a failed task: a library's error as the CLI words it (a full disk, a locked
    catalog, a damaged file: each with what to do), a refusal of ours as raised; anything else is a bug,
    logged with its traceback."""
    described = describe(exc, Context())
    if described is not None:
        return described
    if isinstance(exc, ValueError):
        return str(exc)
    log.exception("task failed", exc_info=exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


@dataclass
class _Slots:
    done: Callable[[Any], None] | None
    failed: Callable[[str], None] | None
    progress: Callable[[int, int], None] | None
    cancelled: Callable[[str], None] | None
    delivered: Callable[[Any], None] | None = None


class Runner(QObject):
    """A thread pool whose results come back to the UI thread as calls of the given slots.

    ``stopped`` says its window is going (``shutdown``): what starts work here on its own (a file's watch, the app's
    return to the front) stops then, not only once the Runner is deleted, which may come later or never (a closed
    window Python still holds): a closed window reopened a photo changed on disk and listed its folder again.

    It must have a parent (its window or dialog; a script's or a test's application), so that Qt deletes it, on the
    UI thread: a parentless one was freed by Python's collector on whichever thread's allocation set a collection
    off, a pool thread's too, while Qt still had posted events for it (a segfault in ``QObject::event``: the
    catalog-view benchmark's, session 49).
    """

    stopped = Signal()

    def __init__(self, threads: int, parent: QObject):
        if parent is None:
            raise TypeError("a Runner needs a parent QObject, which Qt deletes it with (see Runner)")
        super().__init__(parent)
        self.is_stopped = False  # ``shutdown`` ran
        # Owned by the application too, and let go of once this Runner is gone: a pool deleted with its window
        # waits for its running tasks, and where that window overrides ``event`` (the Train window does), the
        # deletion ran inside Python, holding the GIL the tasks needed to finish: a hang (seen in CI, a Train
        # window closed while it counted its training data). ``_retire`` waits letting the GIL go instead.
        self.pool = QThreadPool(QCoreApplication.instance())
        self.pool.setMaxThreadCount(threads)
        # Owned by the application, not by this Runner: a pool thread may still be emitting on it
        # while the Runner's window is deleted (the connections to this Runner then simply go away).
        self._bridge = _Bridge(QCoreApplication.instance())
        self._bridge.progress.connect(self._progress)
        self._bridge.delivered.connect(self._delivered)
        self._bridge.done.connect(self._done)
        self._bridge.failed.connect(self._failed)
        self._bridge.cancelled.connect(self._cancelled)
        self._bridge.finished.connect(self._finished)
        self._tasks: dict[int, tuple[Task, _Slots]] = {}
        self._keys = itertools.count()
        # not a method: it runs once this Runner is gone, so it holds only the pool, the bridge and the tasks
        self.destroyed.connect(
            lambda *_, pool=self.pool, bridge=self._bridge, tasks=self._tasks: _retire(pool, bridge, tasks))

    def start(
        self,
        work: Callable[[Job], Any],
        done: Callable[[Any], None] | None = None,
        failed: Callable[[str], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[str], None] | None = None,
        delivered: Callable[[Any], None] | None = None,
    ) -> Task:
        task = Task(next(self._keys), work, self._bridge)
        self._tasks[task.key] = (task, _Slots(done, failed, progress, cancelled, delivered))
        self.pool.start(task.run)
        return task

    def _slot(self, key: int, name: str) -> Callable | None:
        entry = self._tasks.get(key)
        return getattr(entry[1], name) if entry else None

    def _progress(self, key: int, done: int, total: int) -> None:
        if slot := self._slot(key, "progress"):
            slot(done, total)

    def _delivered(self, key: int, part: object) -> None:
        if slot := self._slot(key, "delivered"):
            slot(part)

    def _done(self, key: int, value: object) -> None:
        if slot := self._slot(key, "done"):
            slot(value)

    def _failed(self, key: int, message: str) -> None:
        if slot := self._slot(key, "failed"):
            slot(message)

    def _cancelled(self, key: int, message: str) -> None:
        if slot := self._slot(key, "cancelled"):
            slot(message)

    def _finished(self, key: int) -> None:
        self._tasks.pop(key, None)

    def busy(self) -> bool:
        """Whether any task started here has not finished yet."""
        return bool(self._tasks)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel what can be cancelled and wait, so no file is left half-written on quit; ``stopped`` then."""
        if not self.is_stopped:
            self.is_stopped = True
            self.stopped.emit()
        self.pool.clear()  # tasks not started yet never will be
        for task, _slots in self._tasks.values():
            task.cancel()
        return self.pool.waitForDone(timeout_ms)


def _retire(pool: QThreadPool, bridge: _Bridge, tasks: dict[int, tuple[Task, _Slots]]) -> None:
    """A gone Runner's work: what has not started never will, what runs is asked to stop (its results would reach
    no slot), and the pool and the bridge go once it is done (no thread emits on the bridge then: every Runner of a
    window or dialog opened and closed left its bridge to the application to the end). Waited for here, where PySide
    lets the GIL go: the pool's own destructor waits holding it wherever the deletion runs inside a Python call
    (``QTest.qWait``, a window's ``event``), and a task then never got the GIL to see it was cancelled (a hang with
    no CPU)."""
    pool.clear()
    for task, _slots in list(tasks.values()):
        task.cancel()
    pool.waitForDone()
    pool.deleteLater()
    bridge.deleteLater()


# ``weakref.finalize`` registers its exit hook with the first finalizer made, and atexit runs the last registered
# first: made here, before ``_finish_all`` is registered, that hook runs after the pools are done. It closes each
# pool thread's catalog connection (``engine.catalog``); run first, it closed them under queries still running
# (a segfault at exit, or "Cannot operate on a closed database").
weakref.finalize(_quitting, lambda: None)


@atexit.register
def _finish_all() -> None:
    """Empty and wait for every pool before the interpreter finalizes: a pool thread that runs on then (a thumbnail
    still decoding in a Runner no window shut down, a test's) is cut off mid-call, or finds Qt's image plugins and
    Python's modules gone: a crash on exit. Cancelled tasks stop at their next check."""
    _quitting.set()
    app = QCoreApplication.instance()
    if app is None:
        return
    pools = app.findChildren(QThreadPool)
    for pool in pools:
        pool.clear()
    for pool in pools:
        pool.waitForDone()
