"""A photo's tag searches in flight stop once another photo opens, before they embed the catalog for an embedder.

After a switch of embedder the first search embeds the whole catalog (37 s for 1,955 products). A drawn box's search,
a tag's in another category or the whole catalog, and Check details went on to the end for a photo no longer shown
(with an embedder since given up, they embedded the catalog for it); only the photo's own search was cancelled. One
controller, no window, three products: cheap. The engine runs one task at a time, held by a gate of the test's own
until the next photo has opened, so that what is cancelled is not a race."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from PySide6.QtCore import QSettings

from app.scene_controller import SceneController
from app.settings import AppSettings
from app.workers import Runner
from engine.backups import list_backups
from engine.pipeline import Pipeline

EFFNET = "effnet_lite0_gem.onnx"
WAIT_MS = 60_000


def test_tag_searches_of_a_photo_left_stop_before_embedding(qtbot, fresh_pipeline, ikea: Path, scene_path,
                                                            tmp_path: Path, qapp):
    source = tmp_path / "photos" / "lamp"
    source.mkdir(parents=True)
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]:
        shutil.copy(image, source / image.name)
    stock = fresh_pipeline
    stock.import_catalog(source.parent)
    before = [b.name for b in list_backups(stock.catalog.path)]
    effnet = Pipeline(stock.settings.with_(embedder=(EFFNET,)))
    engine, io, saver = Runner(1, qapp), Runner(1, qapp), Runner(1, qapp)
    controller = SceneController(stock, AppSettings(QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat)),
                                 engine, io, saver)
    controller.open(scene_path("bright-kitchen"))
    qtbot.waitUntil(lambda: controller.scene is not None and not controller._running, timeout=WAIT_MS)
    controller.search_region((100.0, 100.0, 400.0, 400.0))  # a tag of its own: the photo may have no lamp
    qtbot.waitUntil(lambda: bool(controller.scene.visible) and not controller._running, timeout=WAIT_MS)
    tag = controller.scene.visible[-1]

    controller.pipeline = effnet  # another embedder chosen: the catalog has no vectors for it yet
    gate = threading.Event()
    engine.start(lambda _job: gate.wait(WAIT_MS / 1000))
    assert controller.guesses(tag.number) == ()  # asked with the stock pipeline: its box is searched again
    controller.change_category(tag.number, "lamp")
    controller.request_matches(tag.number, any_category=True)
    controller.check_details(tag.number, any_category=False)
    controller.search_region(tag.obj.box)
    controller.pipeline = stock  # the next photo is searched with vectors the catalog has: it embeds nothing
    other = scene_path("a-bed-that-folds-away-to-be-a-sofa-by-day")
    controller.open(other)
    qtbot.waitUntil(lambda: controller.path == other, timeout=WAIT_MS)
    controller.pipeline = effnet  # the whole catalog's and another category's search read it as they run
    gate.set()
    qtbot.waitUntil(lambda: not engine.busy() and controller.scene is not None and not controller._running,
                    timeout=WAIT_MS)

    assert effnet.catalog.embedders() == {stock.embedder.key: 3}  # nothing embedded for the embedder given up
    assert [b.name for b in list_backups(stock.catalog.path)] == before
    effnet.close()
