"""A trained model never takes a model-pack model's name, and `models fetch` never replaces a model trained here.

A model trained under a pack name was written over the pack's file, and the next `models fetch` (the remedy every
damaged-model line names) put the pack's file back over it: the user's training gone without a word.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decorlens.main import main
from engine import modelpack, user_calibration
from engine.errors import ModelError
from engine.files import sha256_of
from engine.models import read_card, write_card

PACK = modelpack.read_pack()
TARGET = "yolov8n-oiv7-int8.onnx"  # the smallest pack model: a trained detector sits under its name
TRAINED = "yolo11n-ovint8-dq.onnx"  # another real detector's bytes stand for the trained one


def _refusal(capsys, argv: list[str]) -> str:
    """The one error line ``argv`` ends in, exit status 2."""
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    return err


def test_training_under_a_pack_name_is_refused_before_any_work_naming_a_free_name(tmp_path: Path, capsys):
    pytest.importorskip("torch")
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    (models / "effnet_lite0_gem-trained.onnx").write_bytes(b"an earlier run's")  # taken: the next one is offered
    data = ["--data-dir", str(tmp_path / "data"), "-q"]
    runs = ([*data, "train", "--data", str(tmp_path / "pairs"), "--name", "MobileNet_V2_1.0_224_Quant.Float"],  # any case
            [*data, "train", "--data", str(tmp_path / "pairs"), "--name", "effnet_lite0_gem"],
            [*data, "train-detector", "--data", str(tmp_path / "pairs"), "--name", "yolov8n-oiv7-int8"],
            [*data, "models", "combine", "a.onnx", "b.onnx", "--name", "effnet_lite0_gem"])
    lines = [_refusal(capsys, argv) for argv in runs]
    assert "…" not in "".join(lines)  # whole, not shortened to fit a line: the longest pack name is among them
    assert lines[0].endswith("e.g. --name MobileNet_V2_1.0_224_Quant.Float-trained"), lines[0]
    assert lines[1] == ("decorlens: error: effnet_lite0_gem.onnx is the model pack's: `models fetch` would put it "
                        "back over your training; use e.g. --name effnet_lite0_gem-trained-2")
    assert lines[2].endswith("e.g. --name yolov8n-oiv7-int8-trained"), lines[2]
    assert lines[3] == lines[1]  # a combined pair is a model trained here too
    assert sorted(p.name for p in models.iterdir()) == ["effnet_lite0_gem-trained.onnx"]
    assert not (tmp_path / "data" / "training-runs").exists()


def test_a_train_window_job_under_a_pack_name_is_refused_before_training(tmp_path: Path):
    """The window names its runs my-photos-<time>; a job file naming a pack model is refused all the same."""
    pytest.importorskip("torch")
    from training.run import BOTH, Job, run_job

    job = Job(data_dir=str(tmp_path / "data"), run=str(tmp_path / "run"), kind=BOTH, name="mobilenet_v2_1.0_224_quant.float",
              dataset=str(tmp_path / "pairs"))
    with pytest.raises(ModelError, match=r"^mobilenet_v2_1\.0_224_quant\.float\.onnx is the model pack's.*"
                                         r"e\.g\. the name mobilenet_v2_1\.0_224_quant\.float-trained$"):
        run_job(job, lambda *_: None)
    assert not (tmp_path / "run").exists()


def test_fetch_sets_a_model_trained_under_a_pack_name_aside_with_its_card_and_calibration(
        tmp_path: Path, shared_models: Path):
    """A trained detector under the pack's name (as an older version let it be written), with its card and the
    user's calibration: the fetch installs the pack's file and keeps the user's under a free name, in one line."""
    folder = tmp_path / "models"
    folder.mkdir()
    mine = folder / TARGET
    mine.write_bytes((shared_models / TRAINED).read_bytes())
    card = read_card(shared_models / TRAINED)
    card.recipe.update({"base": "yolo11n-ovint8-dq.pt", "data": "/home/shop/pairs", "labels": {"lamp": 12}})
    write_card(mine, card)  # as training.detector.export_trained writes it
    user_calibration.save(mine, sha256_of(mine), 0.8, 0.7, {"tool": "decorlens models calibrate"})
    before = {p.name.replace("oiv7-int8", "oiv7-int8-trained"): p.read_bytes() for p in folder.iterdir()}
    pack = modelpack.Pack(PACK.name, PACK.version,
                          tuple(f for f in PACK.files if modelpack.model_stem(f.file) == mine.stem))
    report = modelpack.install(shared_models, folder, pack=pack)
    said = (f"{TARGET} was trained here (its card says so), not the pack's: kept as yolov8n-oiv7-int8-trained.onnx "
            f"with its card, the pack's {TARGET} put in its place; `decorlens models activate "
            "yolov8n-oiv7-int8-trained.onnx` to search with yours")
    assert report.summary().splitlines()[1:] == [said]
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert sha256_of(mine) == pack.files[0].sha256 and json.loads(mine.with_suffix(".card.json").read_text())[
        "sha256"] == pack.files[0].sha256
    assert not user_calibration.calibration_path(mine).exists()
    assert read_card(folder / "yolov8n-oiv7-int8-trained.onnx").exact_threshold == 0.8  # the calibration moved too
    again = modelpack.install(shared_models, folder, pack=pack)
    assert not again.set_aside and not again.installed


def test_fetch_still_repairs_a_damaged_pack_model_whose_card_is_the_packs(tmp_path: Path, shared_models: Path):
    """Only a card's training record sets a file aside: a damaged pack file is what the fetch is there to replace."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / TARGET).write_bytes((shared_models / TARGET).read_bytes()[:1000])
    write_card(folder / TARGET, read_card(shared_models / TARGET))
    pack = modelpack.Pack(PACK.name, PACK.version, tuple(f for f in PACK.files if f.file == TARGET))
    report = modelpack.install(shared_models, folder, pack=pack)
    assert report.installed == [TARGET] and not report.set_aside
    assert sorted(p.name for p in folder.iterdir()) == [".install.lock", "yolov8n-oiv7-int8.card.json", TARGET]
