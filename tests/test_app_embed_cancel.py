"""Cancel while the catalog is embedded for another embedder, photos opened meanwhile, and a drop's "Left out …" going
with its drop.

One walk over a copy of the session catalog (1,955 IKEA products, embedded for MobileNetV2): cheap, as the embedding
is cancelled at its first chunks, and so are the photo searches that waited for it."""

from __future__ import annotations

from pathlib import Path

import yaml
from PySide6.QtCore import Qt

from app.dialogs.settings import SettingsDialog
from engine.backups import list_backups
from engine.pipeline import Pipeline
from engine.settings import Settings, save_choice
from tests.scene_copy import copy_data_dir, without_vectors

EFFNET = "effnet_lite0_gem.onnx"
V1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
WAIT_MS = 120_000


def test_cancel_keeps_the_embedder_before_and_searches_with_it_and_left_out_news_goes_with_its_drop(
    qtbot, main_window, pipeline, scene_path, tmp_path: Path
):
    data = without_vectors(copy_data_dir(pipeline, tmp_path / "data"), EFFNET, V1)
    win = main_window(Pipeline(Settings.defaults().with_(data_dir=data)), (1280, 800))
    stock = win.pipeline.embedder.key
    had = set(win.pipeline.catalog.embedders())  # the session catalog's: tests before may have added the colour's
    first, other = scene_path("a-bed-that-folds-away-to-be-a-sofa-by-day"), scene_path("bright-kitchen")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")

    # a drop of a photo and notes.txt: "Left out" stays over its own photo opening, and goes once another opens
    win.open_paths([first, notes])
    qtbot.waitUntil(lambda: win.controller.path == first and win._listing is None, timeout=WAIT_MS)
    assert win.message.isVisible() and "Left out notes.txt" in win.message.text.text()
    win.message._timer.stop()  # read slowly: not faded by the time the next photo opens
    win.open_photo(other)
    qtbot.waitUntil(lambda: win.controller.path == other, timeout=WAIT_MS)
    assert "Left out" not in win.message.text.text() or not win.message.isVisible()
    qtbot.waitUntil(lambda: win.controller.scene is not None and not win.controller._running, timeout=WAIT_MS)

    # Settings choose EfficientNet, then (mid-run) MobileNetV1; Cancel by keyboard goes back to MobileNetV2. Photos
    # opened meanwhile say they wait; the first one's search, left for another photo, stops, as do those that waited
    # for an embedder given up (each embedded the whole catalog for it, 37 s, once its embedding stopped)
    before = win._engine_settings()
    dialog = SettingsDialog(win.settings, win._categories(), data, parent=win)
    dialog.embedder.setCurrentIndex(dialog.embedder.findData(EFFNET))
    dialog.accept()
    win.apply_settings(before)
    assert win.embedding_status.isVisible() and win.embedding_cancel.isVisible()
    assert win.embedding_label.text().startswith("Embedding the catalog for EfficientNet-Lite0 (ImageNet)")
    win.open_photo(first)
    qtbot.waitUntil(lambda: win.controller.path == first, timeout=WAIT_MS)
    assert win.view.busy.isVisible()
    assert win.view.busy.text() == "Waiting for the catalog to be embedded for EfficientNet-Lite0 (ImageNet)…"
    mid_run = win._engine_settings()
    save_choice(data, "embedder", [V1])
    win.apply_settings(mid_run)
    assert win.view.busy.text() == "Waiting for the catalog to be embedded for mobilenet_v1-imagenet…"
    win.open_photo(other)
    qtbot.waitUntil(lambda: win.controller.path == other, timeout=WAIT_MS)
    assert win.view.busy.text() == "Waiting for the catalog to be embedded for mobilenet_v1-imagenet…"
    qtbot.waitUntil(lambda: "mobilenet_v1-imagenet: " in win.embedding_label.text(), timeout=WAIT_MS)
    assert win.embedding_cancel.focusPolicy() & Qt.FocusPolicy.TabFocus  # Tab reaches it
    win.embedding_cancel.setFocus()
    qtbot.keyClick(win.embedding_cancel, Qt.Key.Key_Space)
    assert not win.embedding_status.isVisible()
    assert win.message.text.text() == ("Kept MobileNetV2 1.0/224 (ImageNet): the catalog was not embedded for "
                                       "mobilenet_v1-imagenet.")
    assert yaml.safe_load((data / "config.yaml").read_text())["embedder"] == list(before.embedder)
    assert win.pipeline.embedder.key == stock and win._choice == before
    assert win.view.busy.text() == "Finding furniture and decor…"  # the open photo, searched again with it
    qtbot.waitUntil(lambda: not win.engine.busy(), timeout=WAIT_MS)
    assert set(win.pipeline.catalog.embedders()) == had  # neither new embedder left a vector behind
    assert not list_backups(data / "catalog.sqlite")  # nor a backup (a cancel pushed the oldest of five out)
    assert win.controller.path == other and not win.controller._running and not win.view.busy.isVisible()
    assert win.controller.scene.result.embedder == stock and win.controller.scene.visible
    assert not win.embedding_status.isVisible()

    save_choice(data, "embedder", [EFFNET])  # quitting mid-run keeps the choice: the next search embeds for it
    win.apply_settings(before)
    assert win.embedding_status.isVisible()
    win.close()
    assert yaml.safe_load((data / "config.yaml").read_text())["embedder"] == [EFFNET]
