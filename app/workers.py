"""Engine calls off the UI thread: a QRunnable per call, results and progress back as queued signals.

Every long step (model loading, detection, import, batch) goes through ``Runner.start`` so the window
never freezes. A task gets a ``Job`` to report progress and to ask whether the user cancelled; the
engine's own ``progress``/``cancelled`` parameters take those two directly. Errors the user can act
on (``DecorLensError``, ``ValueError``) come back as their message; anything else as a short line,
with the traceback logged, so one bad file never takes the app down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from engine.errors import Cancelled, DecorLensError

log = logging.getLogger(__name__)


class Job:
    """What a running task sees: a progress callback and the cancel flag."""

    def __init__(self, signals: TaskSignals, cancel: threading.Event):
        self._signals = signals
        self._cancel = cancel

    def progress(self, done: int, total: int) -> None:
        self._signals.progress.emit(done, total)

    def cancelled(self) -> bool:
        return self._cancel.is_set()


class TaskSignals(QObject):
    progress = Signal(int, int)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal(str)
    finished = Signal()


class Task(QRunnable):
    """One call of ``work(job)`` in a pool thread."""

    def __init__(self, work: Callable[[Job], Any]):
        super().__init__()
        self.setAutoDelete(False)  # the Runner keeps it until `finished` has been delivered
        self.signals = TaskSignals()
        self._work = work
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            result = self._work(Job(self.signals, self._cancel))
        except Cancelled as exc:
            self.signals.cancelled.emit(str(exc))
        except (DecorLensError, ValueError) as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # a bug or an unexpected library error: report, keep the app alive
            log.exception("task failed")
            self.signals.failed.emit(f"unexpected error: {type(exc).__name__}: {exc}")
        else:
            self.signals.done.emit(result)
        finally:
            self.signals.finished.emit()


class Runner(QObject):
    """A thread pool that keeps its tasks alive until their signals are delivered."""

    def __init__(self, threads: int, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._tasks: set[Task] = set()

    def start(
        self,
        work: Callable[[Job], Any],
        done: Callable[[Any], None] | None = None,
        failed: Callable[[str], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[str], None] | None = None,
    ) -> Task:
        task = Task(work)
        for signal, slot in (
            (task.signals.done, done),
            (task.signals.failed, failed),
            (task.signals.progress, progress),
            (task.signals.cancelled, cancelled),
        ):
            if slot is not None:
                signal.connect(slot)
        task.signals.finished.connect(lambda: self._tasks.discard(task))
        self._tasks.add(task)
        self.pool.start(task)
        return task

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel what can be cancelled and wait, so no file is left half-written on quit."""
        self.pool.clear()  # tasks not started yet never will be
        for task in list(self._tasks):
            task.cancel()
        return self.pool.waitForDone(timeout_ms)
