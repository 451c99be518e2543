"""`decorlens self-check`: passes with the real models, and names what is broken when it fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from decorlens.frozen import frozen_entry
from decorlens.main import main
from engine.models import ModelCard, read_card, write_card
from engine.selfcheck import run_self_check
from engine.settings import Settings

EMBEDDER = "mobilenet_v2_1.0_224_quant.float.onnx"


def _settings(data: Path, models: Path) -> Settings:
    return Settings.defaults().with_(data_dir=data, models_dir=models)


@pytest.fixture
def data_with_coco(tmp_path: Path, exported_models: Path) -> Path:
    """A data dir whose models/ holds the exported COCO detector, as a user's would."""
    data = tmp_path / "data"
    shutil.copytree(exported_models, data / "models")
    return data


def test_passes_with_real_models(data_with_coco: Path, shared_models: Path):
    report = run_self_check(_settings(data_with_coco, shared_models))
    assert report.ok, report.summary()
    line = report.summary()
    assert line.startswith("self-check OK") and "\n" not in line
    assert report.device.startswith(("CPU", "GPU"))
    assert "4/4 products found" in line
    # the models by the words the app names them with, not the cards' names; the step lines name them too
    assert "detectors YOLO11n (COCO 80 classes), YOLOv8n (Open Images V7" in line, line
    assert "embedder MobileNetV2 1.0/224 (ImageNet), 1280-d on " in line, line
    assert "yolo11n-ovint8-dq" not in line and "mobilenet_v2-imagenet" not in line
    details = {s.name: s.detail for s in report.steps}
    assert details["embedder"] == "MobileNetV2 1.0/224 (ImageNet), 1280-d"
    assert details["detector"].startswith("YOLO11n (COCO 80 classes): "), details["detector"]
    # the files, for a support call, each folder once after its files (full paths ran past a note's 200 characters)
    assert details["models"] == (f"detector 1 yolo11n-ovint8-dq.onnx, detector 2 yolov8n-oiv7-int8.onnx, "
                                 f"embedder {EMBEDDER} in {shared_models}"), details["models"]
    assert [s.name for s in report.steps] == [
        "resources", "models", "runtime", "scene", "detector", "embedder", "catalog", "search"
    ]
    # the user's own catalog is never created by a self-check
    assert not (data_with_coco / "catalog.sqlite").exists()


def test_cli_prints_one_line_and_exits_zero(data_with_coco: Path, shared_models: Path, capsys):
    code = main(["-q", "--data-dir", str(data_with_coco), "--models-dir", str(shared_models), "self-check"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0, out
    assert len(out) == 1 and out[0].startswith("self-check OK")


def test_cli_json(data_with_coco: Path, shared_models: Path, capsys):
    code = main(["--data-dir", str(data_with_coco), "--models-dir", str(shared_models), "self-check", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["ok"] is True
    assert result["versions"]["onnxruntime"]
    assert set(result["models"]) == {"detector 1", "detector 2", "embedder"}


def test_empty_models_dir_names_missing_files(tmp_path: Path, capsys):
    empty = tmp_path / "models"
    empty.mkdir()
    code = main(["-q", "--data-dir", str(tmp_path / "data"), "--models-dir", str(empty), "self-check"])
    out = capsys.readouterr().out
    assert code != 0
    assert "FAILED at models" in out
    assert EMBEDDER in out and "yolo11n-ovint8-dq.onnx" in out and "yolov8n-oiv7-int8.onnx" in out
    assert str(empty) in out  # says where it looked


def test_card_not_matching_the_file(tmp_path: Path, data_with_coco: Path, shared_models: Path):
    models = tmp_path / "models"
    shutil.copytree(shared_models, models, ignore=shutil.ignore_patterns("*.pt", "*.pth", "*.tflite", "*_model"))
    card = read_card(models / EMBEDDER).to_dict()
    card["sha256"] = "0" * 64
    write_card(models / EMBEDDER, ModelCard.from_dict(card))
    report = run_self_check(_settings(data_with_coco, models))
    assert not report.ok
    assert report.failed.name == "models"
    assert EMBEDDER in report.failed.detail and "does not match its model card" in report.failed.detail


def test_broken_onnx_file_is_an_onnxruntime_failure(tmp_path: Path, data_with_coco: Path, shared_models: Path):
    models = tmp_path / "models"
    shutil.copytree(shared_models, models, ignore=shutil.ignore_patterns("*.pt", "*.pth", "*.tflite", "*_model"))
    good = read_card(models / EMBEDDER)
    damaged = models / EMBEDDER
    damaged.chmod(0o644)
    damaged.write_bytes(damaged.read_bytes()[: 1 << 16])  # a truncated download
    card = ModelCard.from_dict({**good.to_dict(), "sha256": ""})  # no checksum: onnxruntime must catch it
    write_card(damaged, card)
    report = run_self_check(_settings(data_with_coco, models))
    assert not report.ok
    assert report.failed.name == "runtime"
    assert "cannot load ONNX model" in report.failed.detail and EMBEDDER in report.failed.detail


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--self-check"], ["self-check"]),
        (["--self-check", "--json", "--models-dir", "m"], ["--models-dir", "m", "self-check", "--json"]),
        ([], ["gui"]),
        (["room.jpg", "hall.png"], ["gui", "room.jpg", "hall.png"]),
        (["--data-dir", "d", "room.jpg"], ["--data-dir", "d", "gui", "room.jpg"]),
        (["catalog", "stats"], ["catalog", "stats"]),
        (["--data-dir", "d", "search", "x.jpg"], ["--data-dir", "d", "search", "x.jpg"]),
        (["--version"], ["--version"]),
        (["-psn_0_12345"], ["gui"]),
    ],
)
def test_frozen_entry_routes_before_qt(monkeypatch, argv, expected):
    seen = []
    monkeypatch.setattr("decorlens.frozen.main", lambda args: seen.append(list(args)) or 0)
    assert frozen_entry(argv) == 0
    assert seen == [expected]


def test_an_sqlite_without_json_functions_fails_the_catalog_step_naming_the_fix(pipeline, tmp_path: Path):
    """SQLite before 3.38 (an installer built against an old one) has no json_each: the Catalog tab's Show in
    Catalog would fail there, so the self-check says so, naming the version to build with. Such an SQLite is
    made here by hiding json_each behind a temporary table of that name on the catalog's connection (the
    query then fails as an old SQLite's does: an OperationalError)."""
    import sqlite3

    from engine.catalog import Catalog
    from engine.selfcheck import _check_listing_by_sku, _StepFailed

    copy = tmp_path / "catalog.sqlite"
    with sqlite3.connect(pipeline.catalog.path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with Catalog(copy) as catalog:
        _check_listing_by_sku(catalog)  # this SQLite has them: the step passes
        catalog.db.execute("CREATE TEMP TABLE json_each (value)")
        with pytest.raises(_StepFailed, match=r"^SQLite [\d.]+ lacks the JSON functions the Catalog tab needs "
                                              r"\(.*json_each.*\): build with SQLite 3\.38 or newer$"):
            _check_listing_by_sku(catalog)
