"""Two embedders as one graph: the members' vectors side by side, refused when they cannot be, and
calibrated on validation scenes by the CLI before the engine labels a match "likely the same"."""

from __future__ import annotations

import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from ikea_slice import write_slice

from decorlens.main import main
from engine.calibration import NEVER
from engine.embed import Embedder
from engine.errors import ModelError
from engine.imageio import load_image
from engine.models import ResolvedModel, find_model, read_card
from engine.pipeline import Pipeline
from engine.preprocess import embed_input
from engine.settings import Settings
from training.combine import combine_embedders

LITE0 = "effnet_lite0_gem.onnx"


@pytest.fixture(scope="module")
def members(shared_models: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[ResolvedModel, ResolvedModel]:
    """MobileNetV2 exported by torch as `decorlens train` exports it, and the pack's EfficientNet-Lite0:
    the two trunks `train --backbone` fine-tunes, both fed RGB in [0, 1] at 224 px."""
    from training.export import export_embedder

    out = tmp_path_factory.mktemp("members")
    path = export_embedder("mobilenet_v2", out, shared_models / "mobilenet_v2-imagenet-tflite.pth", num_classes=1001)
    return ResolvedModel(path, read_card(path)), find_model(LITE0, shared_models)


@pytest.fixture(scope="module")
def combined(members, tmp_path_factory: pytest.TempPathFactory) -> ResolvedModel:
    path = combine_embedders(*members, tmp_path_factory.mktemp("combined"), "pair")
    return ResolvedModel(path, read_card(path))


def _photos(pipeline: Pipeline, card, n: int = 8) -> list[np.ndarray]:
    return [embed_input(load_image(p.image_path), card) for p in pipeline.catalog.sample(n)]


def test_combined_vectors_are_the_members_side_by_side(pipeline: Pipeline, members, combined: ResolvedModel) -> None:
    tensors = _photos(pipeline, combined.card)
    first, second = (Embedder(m, "cpu").embed_tensors(tensors) for m in members)
    both = Embedder(combined, "cpu").embed_tensors(tensors)
    assert both.shape == (len(tensors), first.shape[1] + second.shape[1])
    np.testing.assert_allclose(both[:, : first.shape[1]] * math.sqrt(2), first, atol=1e-4)
    np.testing.assert_allclose(both[:, first.shape[1]:] * math.sqrt(2), second, atol=1e-4)
    # what search ranks by: the combined cosine is the mean of the members' cosines
    np.testing.assert_allclose(both @ both.T, (first @ first.T + second @ second.T) / 2, atol=1e-4)


def test_combined_card_names_its_members_and_claims_no_thresholds(members, combined: ResolvedModel) -> None:
    card = combined.card
    assert card.output_dim == sum(m.card.output_dim for m in members)
    assert (card.input_size, card.mean, card.std, card.resize) == (224, [0.0] * 3, [1.0] * 3, "stretch")
    assert [m["sha256"] for m in card.recipe["combined"]["members"]] == [m.card.sha256 for m in members]
    assert (card.exact_threshold, card.likely_threshold) == (NEVER, NEVER), "the members' thresholds are not carried"
    assert not list(combined.path.parent.glob(".combine-*")), "the work folder is removed"


def test_heat_maps_read_the_first_members_feature_map(combined: ResolvedModel, scene_path) -> None:
    spatial = Embedder(combined, "cpu").spatial(load_image(scene_path("living")))
    assert spatial.ndim == 3 and spatial.shape[0] == 1280  # MobileNetV2's last 7×7 map


def test_what_cannot_be_one_embedder_is_refused_and_nothing_is_written(
    pipeline: Pipeline, members, combined: ResolvedModel, tmp_path: Path
) -> None:
    first, second = members
    refusals = [
        ((first, pipeline.detector.detectors[0].model), "only embedders"),
        ((first, first), "the same weights"),
        ((combined, second), "already a combination"),
        ((first, replace(second, card=replace(second.card, input_size=260))), "fed differently .input_size 224 against 260"),
        ((first, replace(second, card=replace(second.card, mean=[0.5] * 3))), "fed differently .mean"),
        ((first, replace(second, path=first.path)), "does not match its model card"),  # another file, its card
    ]
    for pair, why in refusals:
        with pytest.raises(ModelError, match=why):
            combine_embedders(*pair, tmp_path, "refused")
    assert not list(tmp_path.iterdir())


def test_cli_combines_calibrates_on_validation_scenes_and_leaves_it_ready(
    members, ikea: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, models = tmp_path / "data", tmp_path / "data" / "models"
    models.mkdir(parents=True)
    for file in (members[0].path, members[0].path.with_suffix(".card.json")):
        shutil.copy(file, models)  # the pack's Lite0 is found where the pack is
    dataset = write_slice(ikea, tmp_path / "slice", train=0, val=3)
    Pipeline(Settings.defaults().with_(data_dir=data)).import_catalog(dataset / "products.csv")
    first, second = (m.path.name for m in members)
    assert main(["-q", "--data-dir", str(data), "models", "combine", first, second, "--name", "pair",
                 "--calibrate", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {models / 'pair.onnx'}" in out and "validation tags:" in out
    assert "decorlens models activate pair.onnx" in out
    card = read_card(models / "pair.onnx")
    calibration = card.metrics["calibration"]
    assert calibration["data"].startswith("slice, split(s) val of seed 0") and calibration["scored_top1"] > 0
    for level, threshold in (("exact", card.exact_threshold), ("likely", card.likely_threshold)):
        assert threshold == (calibration[level]["threshold"] if calibration[level]["reached_target"] else NEVER)
    active = Pipeline(Settings.defaults().with_(data_dir=data, embedder=("pair.onnx",)))
    assert active.catalog.count() > 0 and not active.catalog.missing_vectors(active.embedder.key), \
        "calibrating embedded the catalog, so activating it is immediate"


def test_cli_refuses_a_bad_dataset_or_name_in_one_line_before_writing(
    members, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for file in (members[0].path, members[0].path.with_suffix(".card.json")):
        shutil.copy(file, models)  # the pack's Lite0 is found where the pack is
    first, second = (m.path.name for m in members)
    command = ["-q", "--data-dir", str(tmp_path), "models", "combine", first, second]
    code = main([*command, "--name", "pair", "--calibrate", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and "no products.csv" in err, err
    with pytest.raises(SystemExit) as usage:
        main([*command, "--name", "../pair"])
    err = capsys.readouterr().err.strip()
    assert usage.value.code != 0 and len(err.splitlines()) == 1 and "not a model name" in err, err
    assert [p.name for p in models.iterdir() if p.suffix == ".onnx"] == [first]
