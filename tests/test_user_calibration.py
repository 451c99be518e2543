"""The user's calibration of a pack model survives `models fetch` while the model file is the pack's, and is
dropped, in one line, once the pack brings another model under that name (engine.user_calibration). The pack
here is the stock embedder and its card, installed from ../shared/models into a temporary folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from decorlens.main import main
from engine import modelpack, user_calibration
from engine.errors import ModelError
from engine.files import sha256_of
from engine.models import ResolvedModel, available_models, card_path_for, check_matches_card, read_card
from engine.paths import resources_dir
from engine.pipeline import Pipeline
from engine.settings import Settings
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


def beside_a_link(tmp_path: Path, shared_models: Path, damage: str) -> tuple[Path, Path]:
    """The stock embedder linked into a folder of this test's own (its card is the stock one), with its calibration
    file damaged as ``damage`` says; the model and the calibration file."""
    folder = tmp_path / "models"
    folder.mkdir()
    model = folder / EMBEDDER
    model.symlink_to(shared_models / EMBEDDER)
    path = user_calibration.calibration_path(model)
    if damage == "FIFO":
        os.mkfifo(path)
    elif damage == "folder":
        path.mkdir()
    elif damage == "link to nothing":
        path.symlink_to(tmp_path / "gone.json")
    else:
        path.write_bytes({"bad JSON": b'{"sha256": "ab', "wrong types": b'{"sha256": "ab", "exact_threshold": "high"}',
                          "huge": b" " * (user_calibration.MAX_BYTES + 1)}[damage])
    return model, path


DAMAGES = {"bad JSON": "not JSON (JSONDecodeError)", "wrong types": "'exact_threshold' must be a number",
           "FIFO": "a FIFO (named pipe), not a regular file", "folder": "is a folder, not a regular file",
           "link to nothing": "a link to a file that is not there", "huge": "over 1024 KB (a calibration is a few "
                                                                             "hundred bytes)"}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_calibration_leaves_the_model_listed_with_its_cards_thresholds_and_its_line(
        tmp_path: Path, shared_models: Path, damage: str):
    """A damaged NAME.calibration.json was a ModelError of read_card, so the model left every list until the file
    was deleted (a FIFO or a link to nothing was ignored without a word). Now the card's thresholds apply and the
    card carries the line that says so, for whatever lists or runs the model."""
    model, path = beside_a_link(tmp_path, shared_models, damage)
    (listed,) = [m for m in available_models(model.parent, tmp_path / "data") if m.path == model]
    stock = json.loads((resources_dir() / "cards" / CARD).read_text())
    assert (listed.card.exact_threshold, listed.card.likely_threshold) == (stock["exact_threshold"],
                                                                           stock["likely_threshold"])
    assert listed.card.calibration_problem == (
        f"calibration {path}: {DAMAGES[damage]}; the card's 'exact'/'likely the same' thresholds apply until you "
        "delete it or calibrate the model again")
    assert "calibration_problem" not in listed.card.to_dict()  # not a card field: never written into a card


def test_a_damaged_calibration_is_said_where_the_model_is_listed_used_and_fetched(
        tmp_path: Path, shared_models: Path, capsys: pytest.CaptureFixture[str]):
    model, path = beside_a_link(tmp_path, shared_models, "bad JSON")
    line = read_card(model).calibration_problem
    data = str(tmp_path / "data")
    listing = ["--data-dir", data, "--models-dir", str(model.parent), "--embedder", EMBEDDER,
               "--detector", str(shared_models / "yolo11n-ovint8-dq.onnx"), "models", "list"]
    capsys.readouterr()
    assert main(listing) == 0
    rows = capsys.readouterr().out.splitlines()
    at = next(i for i, row in enumerate(rows) if row.strip().startswith("embedder"))
    assert str(model) in rows[at] and rows[at + 1].strip() == line
    assert main([*listing, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["calibration_problem"] for row in listed["models"] if row["role"] == "embedder"] == [line]
    assert [m["calibration_problem"] for m in listed["installed"] if m["path"] == str(model)] == [line]
    said: list[str] = []
    pipeline = Pipeline(Settings.for_data_dir(data).with_(models_dir=model.parent, embedder=(EMBEDDER,)), said.append)
    assert pipeline.embedder.model.path == model and said == [line]  # the card's thresholds label its matches
    report = modelpack.install(shared_models, model.parent, pack=PACK)  # the fetch goes on, and says it
    assert report.dropped == [line] and path.read_bytes() == b'{"sha256": "ab'
