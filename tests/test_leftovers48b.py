"""Leftovers of session 48: an edited photo's match waiting for the catalog's embedding runs once, Cancel on that
embedding stops the work waiting for it (no earlier embedder to go back to) and a cancel during its last chunk is not
let through, and quitting while a run of both models trains finding objects says what Resume then does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.dialogs.train import QUIT_KEEPS, QUIT_KEEPS_MATCHING, TrainWindow
from engine import corrections
from engine.corrections import EditableScene
from engine.errors import Cancelled
from engine.imageio import read_photo
from engine.models import find_first
from engine.pipeline import Pipeline
from engine.settings import Settings, save_choice
from tests.ikea_feed import write_feed

EFFNET = "effnet_lite0_gem.onnx"
PHOTO = "bright-kitchen"
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def edited(tmp_path_factory, exported_models: Path, ikea: Path, ikea_products, scene_path) -> Path:
    """A data dir of 50 products holding edits of the kitchen photo, matched with the default embedder, and
    EfficientNet-Lite0 chosen since, with no vector of it (its embedding was cancelled by quitting)."""
    data = tmp_path_factory.mktemp("edited") / "data"
    shutil.copytree(exported_models, data / "models")
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data))
    pipeline.import_catalog(write_feed(ikea, ikea_products[::40], data.parent / "feed.csv"))
    photo = scene_path(PHOTO)
    pixels, sha = read_photo(photo)
    result = pipeline.search_scene(photo, 5, decoded=pixels)
    scene = EditableScene(result, sha, matched_with=pipeline.embedder.key)
    scene.remove(scene.visible[-1].number)
    corrections.save(scene.to_json(), data)
    save_choice(data, "embedder", [EFFNET])
    return data


def _opened_waiting(qtbot, main_window, edited: Path, tmp_path: Path, scene_path):
    """The edited photo opened in a window on a copy of ``edited``: the window embeds the catalog as it opens, and
    the photo's match waits for it. Returns the window and the infos the photo said."""
    data = tmp_path / "data"
    shutil.copytree(edited, data)
    win = main_window(Pipeline(Settings.for_data_dir(data)), (1280, 800))
    said: list[str] = []
    win.controller.info.connect(said.append)
    win.open_photo(scene_path(PHOTO))
    assert win._embedding is not None
    qtbot.waitUntil(lambda: win.view.busy.text().startswith("Waiting for the catalog"), timeout=WAIT_MS)
    return win, said


def _matched_again(said: list[str]) -> list[str]:
    """What the photo said each time a match of its tags ended."""
    return [words for words in said if "matched again" in words]


def test_a_match_that_waited_for_the_embedding_runs_once(qtbot, main_window, edited, tmp_path, scene_path):
    """The embedding over, the window tags the photo again, which asked for a match of its tags while the one that
    waited was still running: the tags were matched twice, a second of the engine's work for nothing."""
    win, said = _opened_waiting(qtbot, main_window, edited, tmp_path, scene_path)
    effnet = find_first((EFFNET,), data_dir=win.pipeline.data_dir).key
    qtbot.waitUntil(lambda: win._embedding is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.controller.scene.matched_with == effnet and not win.engine.busy()
                    and not win.controller._running, timeout=WAIT_MS)
    assert len(_matched_again(said)) == 1


def test_cancel_with_no_embedder_to_go_back_to_stops_the_waiting_match(
    qtbot, main_window, edited, tmp_path, scene_path
):
    """Cancel on the embedding the match asked for put nothing back and let the match go on to embed the whole catalog
    itself, without progress or Cancel. It stops too; the photo says so and Embed the Catalog starts it again."""
    from app.main_window import EMBED_ACTION

    win, said = _opened_waiting(qtbot, main_window, edited, tmp_path, scene_path)
    effnet = find_first((EFFNET,), data_dir=win.pipeline.data_dir).key
    matched_with = win.controller.scene.matched_with
    win.cancel_embedding()
    assert not win.controller._running and not win.view.busy.isVisible()
    qtbot.waitUntil(lambda: not win.engine.busy(), timeout=WAIT_MS)
    assert effnet not in win.pipeline.catalog.embedders()  # nothing embedded it
    assert win.controller.scene.matched_with == matched_with and not _matched_again(said)
    assert "was not embedded for EfficientNet-Lite0" in win.message.text.text()
    assert win.message.button.text() == EMBED_ACTION and win.message.button.isVisibleTo(win.message)

    win.message.button.click()
    assert win.embedding_status.isVisible()
    qtbot.waitUntil(lambda: win.controller.scene.matched_with == effnet and not win.engine.busy(), timeout=WAIT_MS)
    assert win.pipeline.catalog.embedders()[effnet] == win.pipeline.catalog.count()
    assert len(_matched_again(said)) == 1


def test_cancel_with_no_embedder_to_go_back_to_stops_a_waiting_search(qtbot, main_window, edited, tmp_path, scene_path):
    """A photo opened while that embedding ran waits for it; Cancel let its search embed the catalog itself, unseen.
    It stops, and Embed the Catalog opens the photo again, its search waiting for the embedding."""
    win, _said = _opened_waiting(qtbot, main_window, edited, tmp_path, scene_path)
    effnet = find_first((EFFNET,), data_dir=win.pipeline.data_dir).key
    other = scene_path("a-bed-that-folds-away-to-be-a-sofa-by-day")
    win.open_photo(other)
    qtbot.waitUntil(lambda: win.controller.path == other and win.controller._searching is not None, timeout=WAIT_MS)
    win.cancel_embedding()
    assert win.controller._searching is None and not win.controller._running
    qtbot.waitUntil(lambda: not win.engine.busy(), timeout=WAIT_MS)
    assert effnet not in win.pipeline.catalog.embedders() and win.controller.scene is None

    win.message.button.click()
    qtbot.waitUntil(lambda: win.controller.scene is not None and not win.engine.busy(), timeout=WAIT_MS)
    assert win.controller.path == other and win.controller.scene.matched_with == effnet
    assert win.pipeline.catalog.embedders()[effnet] == win.pipeline.catalog.count()


def test_a_cancel_during_the_last_chunk_of_an_embedding_leaves_the_catalog_unchanged(edited, tmp_path):
    """``embed_missing`` asked whether it was cancelled before each chunk only: Cancel during the last one (a small
    catalog's only one) was let through, and the catalog was embedded while the app said it was not."""
    data = tmp_path / "data"
    shutil.copytree(edited, data)
    pipeline = Pipeline(Settings.for_data_dir(data))
    asked: list[bool] = []

    def progress(done: int, total: int) -> None:
        asked.append(done == total)  # Cancel pressed as the last chunk is embedded

    with pytest.raises(Cancelled):
        pipeline.prepare_matcher(progress=progress, cancelled=lambda: bool(asked) and asked[-1])
    assert asked[-1] and pipeline.embedder.key not in pipeline.catalog.embedders()


def _asked(window: TrainWindow) -> str:
    """The question quitting asks while the window's run trains, answered Keep Training."""
    asked: list[str] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        asked.append(box.text())
        next(b for b in box.buttons() if b.text() == "Keep Training").click()

    QTimer.singleShot(0, answer)
    assert not window._quit_asked(training=True)
    return asked[0]


@pytest.mark.parametrize("kind", ["both", None])  # None: a run of both resumed
def test_quitting_while_a_run_of_both_finds_objects_says_resume_begins_that_again(qtbot, fresh_pipeline, kind):
    """Resume trains finding objects from the start (the detector keeps no checkpoint): stopped while it found objects,
    a run of both models said "the epochs it finished are kept, and Resume continues from the last one"."""
    window = TrainWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window._running("replaying a run of both", kind)
    window._clock.stop()
    for step in (("train", 5, 10, "epoch 3 · loss=0.4"), ("validate", 3, 3, "")):
        window._progress(*step)
    assert _asked(window).endswith(QUIT_KEEPS)  # matching trains: its epochs are kept
    window._progress("detector", 3, 10, "labelling train")
    assert _asked(window) == f"A training is running. Quit and stop it: {QUIT_KEEPS_MATCHING}"
    window._running("a new run of both", "both")
    window._clock.stop()
    assert _asked(window).endswith(QUIT_KEEPS)
