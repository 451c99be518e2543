"""An int8 embedder for the CPU: calibrated on the real catalog, checked against the float model, refused
when it cannot be done, and loaded by the engine like any other embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from ikea_feed import write_feed
from scene_copy import copy_data_dir

from decorlens.main import main
from engine.crops import crop
from engine.embed import Embedder
from engine.errors import Cancelled, ModelError
from engine.imageio import load_image
from engine.models import ResolvedModel, read_card
from engine.pipeline import Pipeline
from engine.settings import Settings
from training.quantize import MIN_AGREEMENT, quantize_embedder

CALIBRATION = 48  # enough for ranges that agree; the command's 256 only tighten them


@pytest.fixture(scope="module")
def float_model(shared_models: Path, tmp_path_factory: pytest.TempPathFactory) -> ResolvedModel:
    """MobileNetV2 with the pack's ImageNet weights, exported by torch as `decorlens train` exports."""
    from training.export import export_embedder

    out = tmp_path_factory.mktemp("float")
    path = export_embedder("mobilenet_v2", out, shared_models / "mobilenet_v2-imagenet-tflite.pth", num_classes=1001)
    return ResolvedModel(path, read_card(path))


@pytest.fixture(scope="module")
def quantised(pipeline: Pipeline, float_model: ResolvedModel, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("int8")
    return quantize_embedder(float_model, pipeline.catalog, out, calibration_photos=CALIBRATION)


def test_int8_model_is_quantised_and_recorded(float_model: ResolvedModel, quantised) -> None:
    path, agreement = quantised
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert path.stat().st_size < float_model.path.stat().st_size / 2  # int8 weights: a quarter, plus scales
    card = read_card(path)
    assert card.name == f"{float_model.card.name}-int8"
    assert card.recipe["int8"]["from"] == float_model.key
    assert card.recipe["int8"]["calibration_photos"] == CALIBRATION
    assert card.recipe["int8"]["agreement"]["mean_cosine"] == agreement.mean_cosine >= MIN_AGREEMENT
    assert card.exact_threshold == float_model.card.exact_threshold
    assert not list(path.parent.glob(".quantize-*")), "the work folder is removed"


def test_engine_embeds_scene_crops_with_it_like_the_float_model(
    pipeline: Pipeline, float_model: ResolvedModel, quantised, scene_path
) -> None:
    """Scene crops were never calibrated on (only product photos were): their int8 vectors must still
    match the float ones."""
    path, _ = quantised
    int8 = Embedder(ResolvedModel(path, read_card(path)), "cpu")
    scene = pipeline.search_scene(scene_path("living"))
    pixels = load_image(scene_path("living"))
    crops = [crop(pixels, obj.box) for obj in scene.objects]
    assert len(crops) >= 3
    cosines = np.sum(Embedder(float_model, "cpu").embed(crops) * int8.embed(crops), axis=1)
    assert cosines.mean() >= MIN_AGREEMENT and cosines.min() > 0.9, cosines  # the command's bar for photos
    assert int8.spatial(pixels).ndim == 3, "heat maps still find the feature map in the int8 graph"


def test_int8_tensorflow_conversions_and_detectors_are_refused(pipeline: Pipeline, quantised, tmp_path: Path) -> None:
    path, _ = quantised
    with pytest.raises(ModelError, match="already int8"):
        quantize_embedder(ResolvedModel(path, read_card(path)), pipeline.catalog, tmp_path)
    with pytest.raises(ModelError, match="converted from TensorFlow and would run slower in int8"):
        quantize_embedder(pipeline.embedder.model, pipeline.catalog, tmp_path)  # the pack's MobileNetV2
    with pytest.raises(ModelError, match="only embedders"):
        quantize_embedder(pipeline.detector.detectors[0].model, pipeline.catalog, tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_small_catalog_is_refused_and_nothing_is_written(
    fresh_pipeline: Pipeline, float_model: ResolvedModel, ikea: Path, ikea_products: list[dict[str, str]],
    tmp_path: Path,
) -> None:
    fresh_pipeline.import_catalog(write_feed(ikea, ikea_products[:40], tmp_path / "few.csv"))
    out = tmp_path / "out"
    with pytest.raises(ModelError, match="at least 96 products, the catalog has 40"):
        quantize_embedder(float_model, fresh_pipeline.catalog, out)
    assert not out.exists() or not list(out.iterdir())


def test_cancel_leaves_nothing(pipeline: Pipeline, float_model: ResolvedModel, tmp_path: Path) -> None:
    seen: list[int] = []
    with pytest.raises(Cancelled):
        quantize_embedder(float_model, pipeline.catalog, tmp_path,
                          progress=lambda done, _total: seen.append(done), cancelled=lambda: len(seen) >= 3,
                          calibration_photos=CALIBRATION)
    assert seen == [1, 2, 3]
    assert not list(tmp_path.iterdir())


def test_cli_writes_the_model_and_says_how_to_use_it(
    pipeline: Pipeline, float_model: ResolvedModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy_data_dir(pipeline, tmp_path / "data")
    for file in (float_model.path, float_model.path.with_suffix(".card.json")):
        shutil.copy(file, data / "models")
    name = float_model.path.name
    assert main(["-q", "--data-dir", str(data), "models", "quantize", name, "--photos", str(CALIBRATION)]) == 0
    out = capsys.readouterr().out
    written = data / "models" / f"{float_model.path.stem}-int8.onnx"
    assert f"wrote {written}" in out
    assert f"decorlens models activate {written.name}" in out
    active = Pipeline(Settings.defaults().with_(data_dir=data, embedder=(written.name,)))
    assert active.embedder.key == f"{read_card(written).name}-{read_card(written).sha256[:12]}"


def test_cli_refusal_is_one_line(pipeline: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-q", "--data-dir", str(pipeline.data_dir), "models", "quantize", pipeline.embedder.model.path.name])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and "converted from TensorFlow" in err, err


def test_a_float_file_its_card_was_not_written_for_is_refused_before_any_work(
    pipeline: Pipeline, float_model: ResolvedModel, shared_models: Path, tmp_path: Path
) -> None:
    """measure_agreement opens the float file under its card less the hash: another file beside the card
    was quantised, and the int8 card named the card's model as its source and carried its thresholds."""
    replaced = tmp_path / float_model.path.name
    replaced.write_bytes((shared_models / "effnet_lite0_gem.onnx").read_bytes())
    shutil.copy(float_model.path.with_suffix(".card.json"), replaced.with_suffix(".card.json"))
    with pytest.raises(ModelError, match="does not match its model card"):
        quantize_embedder(ResolvedModel(replaced, read_card(replaced)), pipeline.catalog, tmp_path / "out",
                          calibration_photos=CALIBRATION)
    assert not (tmp_path / "out").exists()
