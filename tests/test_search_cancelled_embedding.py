"""A search cancelled while it embeds the catalog for its embedder (``search_scene``'s lazy preparation) stops.

The app's photo search waited behind the embedding Settings started for a new embedder and, once that was cancelled,
embedded the whole catalog itself for the embedder just given up (37 s for 1,955 products) with no way to stop it:
``_ensure_ready`` called ``prepare_matcher`` without the job's ``cancelled``. Three products: cheap."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.backups import list_backups
from engine.errors import Cancelled
from engine.pipeline import Pipeline

EFFNET = "effnet_lite0_gem.onnx"


def test_a_cancelled_search_leaves_the_new_embedder_unembedded(fresh_pipeline, ikea: Path, scene_path, tmp_path: Path):
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

    with pytest.raises(Cancelled):
        pipeline.search_scene(photo, require_catalog=False, cancelled=lambda: True)
    assert pipeline.catalog.embedders() == {stock: 3}  # nothing embedded for the new one
    assert [b.name for b in list_backups(path)] == before  # its backup went with the rollback

    pipeline.search_scene(photo, require_catalog=False)  # not cancelled: embeds, then searches
    assert pipeline.catalog.embedders()[pipeline.embedder.key] == 3
    pipeline.close()
