"""Results of background work that arrive after what they were for was replaced: each must be dropped, not applied
to what the window shows now. Each test holds the work on a gate of its own (a one-thread Runner runs its tasks in
order), changes what the work was for, then lets the result come: no timing, no sleep."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from shiboken6 import isValid

from app.scene_controller import SceneController
from app.settings import AppSettings
from app.thumbnails import Thumbnails
from app.widgets.duplicates_view import DuplicatesView
from app.workers import Runner
from engine.catalog import Product
from engine.pipeline import Pipeline

pytestmark = pytest.mark.gui
WAIT_MS = 60_000
EFFNET = "effnet_lite0_gem.onnx"


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


@pytest.mark.parametrize("check_first", [True, False], ids=["checked-then-tagged-again", "tagged-again-then-checked"])
def test_a_check_of_details_made_before_the_photo_was_tagged_again_is_not_the_new_tags(
        qtbot, fresh_pipeline, ikea: Path, scene_path, tmp_path: Path, qapp, check_first: bool):
    """Check details of tag N, and the photo tagged again with another embedder (Settings, the Train window's Use)
    before or after the check began: the check, made with the previous embedder on the previous tags, was kept for
    the new tag N, and the panel listed the previous embedder's checked matches under it (``checkedReady``) in place
    of its own. Tagging again emptied the checks when it began, not when its tags came, and a check landing after
    them was taken as theirs."""
    source = tmp_path / "photos"
    for category in ("chair", "table"):
        (source / category).mkdir(parents=True)
        for image in sorted((ikea / "products" / category).glob("*.jpg"))[:2]:
            shutil.copy(image, source / category / image.name)
    stock = fresh_pipeline
    stock.import_catalog(source)
    effnet = Pipeline(stock.settings.with_(embedder=(EFFNET,)))
    engine, io, saver = Runner(1, qapp), Runner(1, qapp), Runner(1, qapp)
    controller = SceneController(stock, AppSettings(QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat)),
                                 engine, io, saver)
    controller.open(scene_path("bright-kitchen"))
    qtbot.waitUntil(lambda: controller.scene is not None and not controller._running, timeout=WAIT_MS)
    before, number = controller.scene, controller.scene.visible[0].number

    gate = _gate(engine)
    if check_first:
        controller.check_details(number, any_category=False)
    controller.pipeline = effnet
    assert controller.search_again()
    if not check_first:
        controller.check_details(number, any_category=False)  # on the tags shown, while they are found again
    gate.set()
    qtbot.waitUntil(lambda: controller.scene is not before and not engine.busy(), timeout=WAIT_MS)
    checked: list[int] = []
    matched: list[int] = []
    controller.checkedReady.connect(lambda n, _any, _checked: checked.append(n))
    controller.matchesReady.connect(lambda n, _any, _matches: matched.append(n))
    controller.request_matches(number, any_category=False)

    assert (checked, matched) == ([], [number])  # the new tag's own matches, not the previous embedder's check
    assert not controller._running  # no busy line left behind
    for runner in (engine, io, saver):
        runner.shutdown()
    effnet.close()
