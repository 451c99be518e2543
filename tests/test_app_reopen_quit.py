"""A photo opened again sees its latest edits, written yet or not; quitting waits for every window's writes.
Real photos, models and catalog, offscreen (pytest-qt).
"""

from __future__ import annotations

import os
import threading
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a living room with a bed, chairs, tables, shelf, clock, frames
OTHER = "bright-kitchen"


def shown(qtbot, win, path) -> None:
    """Wait until ``path`` is the open photo, its tags shown, and nothing runs for it."""
    c = win.controller
    qtbot.waitUntil(lambda: c.path == path and c.scene is not None and not c._running, timeout=WAIT_MS)


def test_a_photo_opened_again_while_its_last_edit_is_written_shows_that_edit(qtbot, window, scene_path):
    """Edit a photo, open another, open the first again before the edit is written: it read its file as it was
    before the edit, and showed it without that edit (the file got it a moment later) until opened once more.
    The save is held back on the saver, as a slow disk would hold it."""
    room, kitchen = scene_path(ROOM), scene_path(OTHER)
    c = window.controller
    window.open_paths([room])
    shown(qtbot, window, room)
    gone, tag = [t for t in c.scene.visible if t.obj.matches][:2]
    c.remove(gone.number)  # written: the file exists, without the confirmation below
    qtbot.waitUntil(lambda: not window.saver.busy(), timeout=WAIT_MS)

    release = threading.Event()
    window.saver.start(lambda _job: release.wait(WAIT_MS / 1000))  # the saver is busy: the next save waits
    try:
        c.confirm(tag.number, tag.obj.matches[0])
        window.open_paths([kitchen])
        shown(qtbot, window, kitchen)
        window.open_photo(room)  # as Open Recent or its row in the strip open it
        assert window.io.pool.waitForDone(WAIT_MS)  # decoded and its file read, the confirmation not yet in it
        QApplication.processEvents()  # the decoded photo is delivered: before, it was shown from that file
    finally:
        release.set()
    shown(qtbot, window, room)
    assert c.scene.tag(gone.number).removed
    assert c.scene.tag(tag.number).confirmed_sku == tag.obj.matches[0].sku


def test_closing_the_window_waits_for_the_review_queue_and_train_windows_writes(qtbot, window):
    """The review queue and the Train window each have a runner of their own (a run's folder prepared or removed,
    models installed), which closing the main window neither stopped nor waited for: a write still running at quit
    was cut off by the interpreter's exit."""
    window.show_review()
    window.show_training()
    runners = [window.review_window.io, window.train_window.io]
    qtbot.waitUntil(lambda: not any(runner.busy() for runner in runners), timeout=WAIT_MS)  # their first look
    started = [threading.Event() for _runner in runners]

    def writing(job, began: threading.Event) -> None:  # a write that ends when asked to, as a step of a long one does
        began.set()
        while not job.cancelled():
            time.sleep(0.01)

    tasks = [runner.start(lambda job, began=began: writing(job, began)) for runner, began in zip(runners, started, strict=True)]
    try:
        assert all(began.wait(WAIT_MS / 1000) for began in started)  # running, not only queued
        window.close()
        assert all(task.is_cancelled() for task in tasks)
        assert all(runner.pool.activeThreadCount() == 0 for runner in runners)
    finally:
        for task in tasks:
            task.cancel()  # without the wait, the writes would run on for ever
        for runner in runners:
            runner.pool.waitForDone(10_000)


def test_the_review_queue_opened_again_comes_to_the_front_with_the_keyboard(qtbot, window):
    """Review Uncertain Tags opened a second time from the menu was raised but not given the keyboard, as the
    Train window and Restore a Backup are: keys still went to the main window behind it."""
    window.show_review()
    qtbot.waitUntil(lambda: window.review_window.isActiveWindow(), timeout=WAIT_MS)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=WAIT_MS)
    window.show_review()
    qtbot.waitUntil(lambda: window.review_window.isActiveWindow(), timeout=5_000)


def test_a_tag_opened_from_the_review_queue_comes_up_in_front_of_it(qtbot, window, scene_path):
    """The queue was a window of the main one's, which window managers keep above it (Windows always does): a row
    opened its photo behind the queue's 1400 px. It is a window of its own now, and goes when the main one closes."""
    window.show_review()
    review = window.review_window
    qtbot.waitUntil(review.isActiveWindow, timeout=WAIT_MS)
    assert review.windowHandle().transientParent() is None
    review.openTag.emit(scene_path(ROOM), 1)
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    shown(qtbot, window, scene_path(ROOM))
    window.close()
    assert not review.isVisible()
