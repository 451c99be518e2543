"""Training caches carry a digest of the code that filled them: other code's entries are never read."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from engine.pipeline import Pipeline  # noqa: E402
from engine.settings import Settings  # noqa: E402
from training.data import PairDataset, find_anchors, safe_name  # noqa: E402
from training.fingerprint import DETECTION_CODE, code_digest  # noqa: E402

pytestmark = pytest.mark.train


def test_digest_follows_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    module = tmp_path / "fingerprinted_module.py"
    module.write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = code_digest(("fingerprinted_module",))
    assert code_digest(("fingerprinted_module",)) == before
    module.write_text("VALUE = 2\n")
    code_digest.cache_clear()
    assert code_digest(("fingerprinted_module",)) != before
    sys.modules.pop("fingerprinted_module", None)


def test_anchor_cache_of_other_code_is_recomputed(tmp_path: Path, exported_models: Path, ikea: Path):
    shutil.copytree(exported_models, tmp_path / "models")
    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path))
    dataset = PairDataset.load(ikea)
    scene = dataset.scenes_in("train")[0]
    pairs = [p for p in dataset.pairs_in("train") if p.scene_id == scene]
    cache = tmp_path / "cache"
    find_anchors(dataset, pairs, pipeline, cache, min_cosine=-1.0)
    path = cache / f"{safe_name(scene)}.json"

    def plant(key: str) -> list:
        """A recognisable fake anchor for every product, stored under ``key``."""
        data = json.loads(path.read_text())
        data["key"] = key
        data["anchors"] = {pid: [[1.0, 2.0, 3.0, 4.0], 0.99] for pid in data["anchors"]}
        path.write_text(json.dumps(data))
        return find_anchors(dataset, pairs, pipeline, cache, min_cosine=-1.0)

    key = json.loads(path.read_text())["key"]
    assert key.startswith(code_digest(DETECTION_CODE) + "|")
    assert {a.box for a in plant(key)} == {(1.0, 2.0, 3.0, 4.0)}  # this code's entry is read back
    older = "0" * 12 + key[key.index("|"):]  # the same settings, written by other code
    assert (1.0, 2.0, 3.0, 4.0) not in {a.box for a in plant(older)}
    assert json.loads(path.read_text())["key"] == key
