"""Work that waits for the catalog's embedding for a new embedder: a photo search given up meanwhile lets its engine
worker go at once, and an edited photo's tags matched again with an embedder the catalog has no vectors for wait for
them (embedded, with progress and Cancel in the status bar) instead of taking empty lists."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.models import find_first
from engine.pipeline import Pipeline
from engine.settings import Settings, save_choice
from tests.ikea_feed import write_feed
from tests.scene_copy import copy_data_dir, without_vectors

EFFNET = "effnet_lite0_gem.onnx"
WAIT_MS = 120_000


def test_a_search_given_up_while_it_waits_for_the_embedding_lets_its_worker_go(
    qtbot, main_window, pipeline, scene_path, tmp_path: Path
):
    """The engine has two workers: the embedding holds one, and a photo search waiting for it held the other to the
    embedding's end (37 s for 1,955 products here) though another photo had replaced it; a third search then queued
    behind both, and the photo shown said "Waiting…" with nothing waiting for it."""
    data = without_vectors(copy_data_dir(pipeline, tmp_path / "data"), EFFNET)
    win = main_window(Pipeline(Settings.defaults().with_(data_dir=data)), (1280, 800))
    first, other = scene_path("a-bed-that-folds-away-to-be-a-sofa-by-day"), scene_path("bright-kitchen")
    before = win._engine_settings()
    save_choice(data, "embedder", [EFFNET])
    win.apply_settings(before)
    embedding = win._embedding
    assert embedding is not None
    win.open_photo(first)
    qtbot.waitUntil(lambda: win.controller.path == first and win.controller._searching is not None, timeout=WAIT_MS)
    given_up = win.controller._searching.task
    win.open_photo(other)
    qtbot.waitUntil(lambda: win.controller.path == other, timeout=WAIT_MS)

    qtbot.waitUntil(lambda: given_up.key not in win.engine._tasks, timeout=WAIT_MS)
    assert win._embedding is embedding and embedding.key in win.engine._tasks  # it ended first, the embedding runs on
    assert win.view.busy.text().startswith("Waiting for the catalog to be embedded for EfficientNet-Lite0")
    win.cancel_embedding()
    qtbot.waitUntil(lambda: not win.engine.busy(), timeout=WAIT_MS)


def test_edits_matched_again_with_an_embedder_the_catalog_lacks_wait_for_its_vectors(
    qtbot, main_window, exported_models, ikea, ikea_products, scene_path, tmp_path: Path
):
    """DecorLens quit while it embedded the catalog for the embedder Settings chose (the choice stays, the vectors
    do not): an edited photo opened next had its tags matched again with that embedder against no vectors at all,
    and every tag lost its matches, saved so, and said it was matched with the new embedder (never again)."""
    data = tmp_path / "data"
    shutil.copytree(exported_models, data / "models")
    Pipeline(Settings.defaults().with_(data_dir=data)).import_catalog(
        write_feed(ikea, ikea_products[::40], tmp_path / "feed.csv"))
    photo = scene_path("bright-kitchen")
    win = main_window(Pipeline(Settings.defaults().with_(data_dir=data)), (1280, 800))
    win.open_photo(photo)
    qtbot.waitUntil(lambda: win.controller.scene is not None and not win.controller._running, timeout=WAIT_MS)
    removed = win.controller.scene.visible[-1].number
    win.controller.remove(removed)
    matched = sum(bool(t.obj.matches) for t in win.controller.scene.visible)
    assert matched
    qtbot.waitUntil(lambda: not win.saver.busy(), timeout=WAIT_MS)
    win.close()

    save_choice(data, "embedder", [EFFNET])
    win = main_window(Pipeline(Settings.for_data_dir(data)), (1280, 800))
    effnet = win.pipeline.embedder.key
    assert effnet == find_first((EFFNET,), data_dir=data).key
    win.open_photo(photo)
    assert win.embedding_status.isVisible()  # embedded as the photo opens, progress and Cancel: its search did it unseen
    qtbot.waitUntil(lambda: win.view.busy.text().startswith("Waiting for the catalog"), timeout=WAIT_MS)
    assert win.embedding_label.text().startswith("Embedding the catalog for EfficientNet-Lite0")
    assert win.view.busy.text().startswith("Waiting for the catalog to be embedded for EfficientNet-Lite0")
    win.cancel_embedding()  # nothing to put back: the match stops too, and Embed the Catalog starts both again
    assert not win.controller._running
    win.message.button.click()
    qtbot.waitUntil(lambda: win.controller.scene is not None and win.controller.scene.matched_with == effnet
                    and not win.controller._running, timeout=WAIT_MS)
    scene = win.controller.scene
    assert scene.tag(removed).removed  # the edit, restored
    assert sum(bool(t.obj.matches) for t in scene.visible) == matched
    assert win.pipeline.catalog.embedders()[effnet] == win.pipeline.catalog.count()


def test_a_photo_opened_with_an_embedder_the_catalog_lacks_embeds_it_with_progress_and_cancel(
    qtbot, main_window, pipeline, scene_path, tmp_path: Path
):
    """DecorLens quit while it embedded the catalog for the embedder Settings chose: the next photo's search embedded
    the whole catalog itself behind "Finding furniture and decor…" (37 s here, hours for a large catalog), with no
    progress and no way to stop it. It is embedded as the photo opens, in the status bar, and Cancel stops both."""
    from app.main_window import EMBED_ACTION

    data = without_vectors(copy_data_dir(pipeline, tmp_path / "data"), EFFNET)
    save_choice(data, "embedder", [EFFNET])
    win = main_window(Pipeline(Settings.for_data_dir(data)), (1280, 800))
    assert win.engine_info.unembedded and not win.embedding_status.isVisible()
    photo = scene_path("bright-kitchen")
    win.open_photo(photo)
    assert win.embedding_status.isVisible()
    assert win.embedding_label.text().startswith("Embedding the catalog for EfficientNet-Lite0")
    qtbot.waitUntil(lambda: win.controller.path == photo and win.controller._searching is not None, timeout=WAIT_MS)
    win.cancel_embedding()
    assert win.controller._searching is None and win.message.button.text() == EMBED_ACTION
    qtbot.waitUntil(lambda: not win.engine.busy(), timeout=WAIT_MS)
    assert win.pipeline.embedder.key not in win.pipeline.catalog.embedders()  # nothing embedded it meanwhile
