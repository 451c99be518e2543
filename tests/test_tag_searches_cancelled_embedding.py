"""Searches cancelled while they embed the catalog for a new embedder stop, and leave it as it was.

After a switch of embedder the first search embeds the whole catalog (37 s for 1,955 products here). None could be
stopped there (``_ensure_ready`` called ``prepare_matcher`` without the job's ``cancelled``): the app's photo search
(``search_scene``), a drawn box's ("What is it?": ``guess_box``), a tag searched again in another category or in the
whole catalog (``search_region``) and Check details (``check_object``) went on embedding for a photo left, or an
embedder given up. Three products: cheap."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.backups import list_backups
from engine.drawn_guess import guess_box
from engine.errors import Cancelled
from engine.imageio import load_image
from engine.pipeline import Pipeline

EFFNET = "effnet_lite0_gem.onnx"
BOX = (100.0, 100.0, 400.0, 400.0)


def test_cancelled_tag_searches_leave_the_new_embedder_unembedded(fresh_pipeline, ikea: Path, scene_path,
                                                                  tmp_path: Path):
    source = tmp_path / "photos" / "lamp"
    source.mkdir(parents=True)
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]:
        shutil.copy(image, source / image.name)
    fresh_pipeline.import_catalog(source.parent)
    stock, path = fresh_pipeline.embedder.key, fresh_pipeline.catalog.path
    before = [b.name for b in list_backups(path)]
    fresh_pipeline.close()
    pipeline = Pipeline(fresh_pipeline.settings.with_(embedder=(EFFNET,)))
    photo = scene_path("bright-kitchen")
    pixels = load_image(photo)

    searches = {
        "the photo's search": lambda stop: pipeline.search_scene(photo, require_catalog=False, cancelled=stop),
        "another category": lambda stop: pipeline.search_region(photo, BOX, "lamp", decoded=pixels, cancelled=stop),
        "the whole catalog": lambda stop: pipeline.search_region(photo, BOX, None, any_category=True, cancelled=stop),
        "a drawn box": lambda stop: guess_box(pipeline, photo, pixels, BOX, [], cancelled=stop),
        "check details": lambda stop: pipeline.check_object(pixels, BOX, "lamp", cancelled=stop),
    }
    for name, search in searches.items():
        with pytest.raises(Cancelled):
            search(lambda: True)
        assert pipeline.catalog.embedders() == {stock: 3}, name  # nothing embedded for the new one
        assert [b.name for b in list_backups(path)] == before, name  # its backup went with the rollback

    pipeline.search_scene(photo, require_catalog=False)  # not cancelled: embeds, then searches
    assert pipeline.catalog.embedders()[pipeline.embedder.key] == 3
    pipeline.close()
