"""Results of background work that arrive after what they were for was replaced: each must be dropped, not applied
to what the window shows now. Each test holds the work on a gate of its own (a one-thread Runner runs its tasks in
order), changes what the work was for, then lets the result come: no timing, no sleep."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from shiboken6 import isValid

from app.thumbnails import Thumbnails
from app.widgets.duplicates_view import DuplicatesView
from app.workers import Runner
from engine.catalog import Product

pytestmark = pytest.mark.gui
WAIT_MS = 60_000


def _gate(runner: Runner) -> threading.Event:
    """A task holding ``runner``'s one thread until the event returned is set: what is started after it waits."""
    gate = threading.Event()
    runner.start(lambda _job: gate.wait(WAIT_MS / 1000))
    return gate


def test_a_failed_not_duplicates_of_a_group_listed_again_meanwhile_leaves_its_deleted_row_alone(
        qtbot, fresh_pipeline, ikea: Path):
    """Find again, then Not duplicates on a group still listed: the listing replaced (deleted) the row before the
    marking failed (one of its products was removed meanwhile), and the failure re-enabled the deleted row's buttons:
    RuntimeError, "Internal C++ object already deleted", in the window's event loop."""
    image = str(min((ikea / "products" / "lamp").glob("*.jpg")))
    with fresh_pipeline.catalog.transaction() as revision:
        for sku in ("LAMP-A", "LAMP-B"):  # one photo: identical duplicates
            fresh_pipeline.catalog.upsert(Product(sku, f"Lamp {sku[-1]}", "lamp", image), revision)
    app = QApplication.instance()
    engine = Runner(1, app)
    window = DuplicatesView(fresh_pipeline, engine, Thumbnails(Runner(1, app)))
    qtbot.addWidget(window)
    window.show()
    window.refresh()
    qtbot.waitUntil(lambda: len(window.rows) == 1 and window._finding is None, timeout=WAIT_MS)
    (row,) = window.rows
    messages: list[str] = []
    window.message.connect(lambda text, _level: messages.append(text))

    listing = _gate(engine)
    window.refresh()  # Find again
    marking = _gate(engine)
    window.not_duplicates(row)  # the group as listed before
    fresh_pipeline.remove_products(["LAMP-B"])  # by the Catalog tab or the CLI, meanwhile
    listing.set()
    qtbot.waitUntil(lambda: window._finding is None and not isValid(row), timeout=WAIT_MS)
    marking.set()
    qtbot.waitUntil(lambda: bool(messages), timeout=WAIT_MS)

    assert "LAMP-B" in messages[-1], messages  # the failure is said; nothing else happens to the gone row
    assert window.rows == []
    for runner in (engine, window.thumbnails.runner):
        runner.shutdown()
