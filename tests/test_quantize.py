"""An int8 embedder for the CPU: calibrated on the real catalog, checked against the float model, refused
when it cannot be done, and loaded by the engine like any other embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from ikea_feed import write_feed

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
def quantised(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("int8")
    return quantize_embedder(pipeline.embedder.model, pipeline.catalog, out, calibration_photos=CALIBRATION)


def test_int8_model_is_quantised_and_recorded(pipeline: Pipeline, quantised) -> None:
    path, agreement = quantised
    float_model = pipeline.embedder.model
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
    pipeline: Pipeline, quantised, scene_path
) -> None:
    """Scene crops were never calibrated on (only product photos were): their int8 vectors must still
    match the float ones."""
    path, _ = quantised
    int8 = Embedder(ResolvedModel(path, read_card(path)), "cpu")
    scene = pipeline.search_scene(scene_path("living"))
    pixels = load_image(scene_path("living"))
    crops = [crop(pixels, obj.box) for obj in scene.objects]
    assert len(crops) >= 3
    cosines = np.sum(pipeline.embedder.embed(crops) * int8.embed(crops), axis=1)
    assert cosines.min() > 0.93, cosines
    assert int8.spatial(pixels).ndim == 3, "heat maps still find the feature map in the int8 graph"


def test_already_int8_and_detectors_are_refused(pipeline: Pipeline, quantised, tmp_path: Path) -> None:
    path, _ = quantised
    int8 = ResolvedModel(path, read_card(path))
    with pytest.raises(ModelError, match="already int8"):
        quantize_embedder(int8, pipeline.catalog, tmp_path)
    detector = pipeline.detector.detectors[0].model
    with pytest.raises(ModelError, match="only embedders"):
        quantize_embedder(detector, pipeline.catalog, tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_small_catalog_is_refused_and_nothing_is_written(
    fresh_pipeline: Pipeline, ikea: Path, ikea_products: list[dict[str, str]], tmp_path: Path
) -> None:
    fresh_pipeline.import_catalog(write_feed(ikea, ikea_products[:40], tmp_path / "few.csv"))
    out = tmp_path / "out"
    with pytest.raises(ModelError, match="at least 96 products, the catalog has 40"):
        quantize_embedder(fresh_pipeline.embedder.model, fresh_pipeline.catalog, out)
    assert not out.exists() or not list(out.iterdir())


def test_cancel_leaves_nothing(pipeline: Pipeline, tmp_path: Path) -> None:
    seen: list[int] = []
    with pytest.raises(Cancelled):
        quantize_embedder(pipeline.embedder.model, pipeline.catalog, tmp_path,
                          progress=lambda done, _total: seen.append(done), cancelled=lambda: len(seen) >= 3,
                          calibration_photos=CALIBRATION)
    assert seen == [1, 2, 3]
    assert not list(tmp_path.iterdir())


def test_cli_writes_the_model_and_says_how_to_use_it(
    pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(pipeline.data_dir, data, ignore=shutil.ignore_patterns("index", "backups"))
    name = pipeline.embedder.model.path.name
    assert main(["-q", "--data-dir", str(data), "models", "quantize", name, "--photos", str(CALIBRATION)]) == 0
    out = capsys.readouterr().out
    written = data / "models" / f"{pipeline.embedder.model.path.stem}-int8.onnx"
    assert f"wrote {written}" in out
    assert f"decorlens models activate {written.name}" in out
    active = Pipeline(Settings.defaults().with_(data_dir=data, embedder=(written.name,)))
    assert active.embedder.key == f"{read_card(written).name}-{read_card(written).sha256[:12]}"
