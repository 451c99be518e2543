"""The user's calibration of a pack model survives `models fetch` while the model file is the pack's, and is
dropped, in one line, once the pack brings another model under that name (engine.user_calibration). The pack
here is the stock embedder and its card, installed from ../shared/models into a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import modelpack
from engine.errors import ModelError
from engine.files import sha256_of
from engine.models import ResolvedModel, card_path_for, check_matches_card, read_card
from engine.paths import resources_dir
from training.match_levels import keep_levels

EMBEDDER = "mobilenet_v2_1.0_224_quant.float.onnx"
CARD = card_path_for(Path(EMBEDDER)).name
FULL = modelpack.read_pack()
PACK = modelpack.Pack(FULL.name, FULL.version, tuple(f for f in FULL.files if f.file in (EMBEDDER, CARD)))
MINE = {"data": "my_shop, split(s) val of seed 0, tags of yolo11n-ovint8-dq", "scored_top1": 40}


def installed(tmp_path: Path, shared_models: Path) -> Path:
    """The embedder as `models fetch` installs it, in a folder of this test's own."""
    modelpack.install(shared_models, tmp_path / "models", pack=PACK)
    return tmp_path / "models" / EMBEDDER


def test_a_fetch_that_repairs_the_model_keeps_the_users_thresholds_and_brings_the_packs_card(
        tmp_path: Path, shared_models: Path):
    model = installed(tmp_path, shared_models)
    keep_levels(model, 0.81, 0.62, MINE)
    card_file = card_path_for(model)
    shipped = (resources_dir() / "cards" / CARD).read_bytes()
    assert card_file.read_bytes() == shipped  # the pack's card is not edited
    older = json.loads(shipped)
    older["source"] = "an older pack's card"
    card_file.write_text(json.dumps(older))
    damaged = bytearray(model.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    model.write_bytes(bytes(damaged))
    with pytest.raises(ModelError, match="models fetch"):  # the remedy the damaged model's error names
        check_matches_card(ResolvedModel(model, read_card(model)))
    report = modelpack.install(shared_models, model.parent, pack=PACK)
    assert sorted(report.installed) == sorted([EMBEDDER, CARD]) and not report.dropped
    assert card_file.read_bytes() == shipped  # the newer card came in whole
    card = read_card(model)
    assert (card.exact_threshold, card.likely_threshold, card.metrics["calibration"]) == (0.81, 0.62, MINE)


@pytest.mark.parametrize("measured_on", ["the pack's model", "an older model"])
def test_a_card_an_older_version_calibrated_in_place(tmp_path: Path, shared_models: Path, measured_on: str):
    model = installed(tmp_path, shared_models)
    card_file = card_path_for(model)
    card = json.loads(card_file.read_text())
    card.update(exact_threshold=0.81, likely_threshold=0.62, metrics={"calibration": MINE})
    if measured_on == "an older model":
        model.write_bytes(b"the model an older pack had under this name")
        card["sha256"] = sha256_of(model)
    card_file.write_text(json.dumps(card))
    assert read_card(model).likely_threshold == 0.62  # an old data dir reads as it did
    report = modelpack.install(shared_models, model.parent, pack=PACK)
    assert card_file.read_bytes() == (resources_dir() / "cards" / CARD).read_bytes()
    read = read_card(model)
    if measured_on == "the pack's model":
        assert (read.exact_threshold, read.likely_threshold, read.metrics["calibration"]) == (0.81, 0.62, MINE)
        assert not report.dropped
    else:
        shipped = json.loads(card_file.read_text())
        assert (read.exact_threshold, read.likely_threshold) == (shipped["exact_threshold"], shipped["likely_threshold"])
        assert len(report.dropped) == 1 and EMBEDDER in report.dropped[0] and "dropped" in report.dropped[0]
        assert report.summary().splitlines()[1:] == report.dropped
        assert modelpack.install(shared_models, model.parent, pack=PACK).dropped == []  # said once
