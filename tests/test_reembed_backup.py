"""A cancelled re-embedding (the app's Cancel, after Settings chose another embedder) leaves the backups as they were.

It took its "re-embed" backup first and pruned to the newest five then: each cancel pushed the oldest backup out,
for a catalog the transaction's rollback had left unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.backups import KEEP, list_backups
from engine.errors import Cancelled
from engine.pipeline import Pipeline

EFFNET = "effnet_lite0_gem.onnx"


def test_a_cancelled_re_embedding_pushes_no_backup_out(fresh_pipeline, ikea: Path, tmp_path: Path):
    source = tmp_path / "photos" / "lamp"
    source.mkdir(parents=True)
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]:
        shutil.copy(image, source / image.name)
    fresh_pipeline.import_catalog(source.parent)
    for _ in range(KEEP):
        fresh_pipeline.catalog.backup("remove")
    path, stock = fresh_pipeline.catalog.path, fresh_pipeline.embedder.key
    before = [b.name for b in list_backups(path)]
    fresh_pipeline.close()
    pipeline = Pipeline(fresh_pipeline.settings.with_(embedder=(EFFNET,)))

    with pytest.raises(Cancelled):
        pipeline.prepare_matcher(cancelled=lambda: True)
    assert [b.name for b in list_backups(path)] == before  # none pushed out, none added
    assert pipeline.catalog.embedders() == {stock: 3}  # no vector of its own left

    assert pipeline.prepare_matcher() == 3  # done: its backup stays, the oldest goes, as for any backup
    after = list_backups(path)
    assert after[0].reason == "re-embed" and [b.name for b in after[1:]] == before[: KEEP - 1]
    pipeline.close()
