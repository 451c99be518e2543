"""What a long session's windows and dialogs leave behind once they go: nothing of their Runners."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThreadPool

from app.workers import Runner, _Bridge

ROUNDS = 5


def _left() -> tuple[int, int]:
    """The Runners' bridges and pools the application still owns, once deletions are done."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app = QCoreApplication.instance()
    return len(app.findChildren(_Bridge)), len(app.findChildren(QThreadPool))


def test_a_runner_gone_with_its_owner_leaves_neither_its_pool_nor_its_bridge(qapp):
    """A window or dialog opened and closed all day (each makes a Runner) left one signal bridge each to the
    application, for as long as it ran."""
    before = _left()
    for _ in range(ROUNDS):
        owner = QObject()
        done: list[int] = []
        Runner(1, owner).start(lambda _job: 1, done=done.append)
        owner.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # _retire: waits for the task
    assert _left() == before
