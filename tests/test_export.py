"""training.export: ultralytics and torchvision weights → ONNX + card, checked on real files and photos.

Needs the [train] extra (skipped without it) and the shared models and dataset (conftest fixtures).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import needs_ultralytics

from engine.crops import crop
from engine.embed import Embedder
from engine.errors import ModelError
from engine.files import sha256_of
from engine.imageio import load_image
from engine.models import ResolvedModel, read_card
from engine.preprocess import embed_batch

pytestmark = pytest.mark.train
torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
needs_ultralytics()
export = pytest.importorskip("training.export")

REPO = Path(__file__).resolve().parents[1]
YOLO11N = "yolo11n-ovint8-dq.pt"
POSE_PT = "yolov8n-pose-ovint8-dq.pt"
MOBILENET_PTH = "mobilenet_v2-imagenet-tflite.pth"
MOBILENET_ONNX = "mobilenet_v2_1.0_224_quant.float.onnx"
PRODUCTS = ["lamp/000.379.80", "sofa/002.729.20", "rug/002.394.12", "chair", "vase_candle", "frame_art"]
SCENES = [
    "ikea-a-bed-that-folds-away-to-be-a-sofa-by-day__1364309472525-s4",
    "ikea-a-cosy-space-for-coffee-and-conversation__1364308407140-s4",
]
SCENE_BOXES = [(0.05, 0.3, 0.45, 0.95), (0.5, 0.1, 0.7, 0.6), (0.3, 0.55, 0.9, 0.75)]  # wide, tall, flat


def product_photo(ikea: Path, spec: str) -> Path:
    """``category/id``, or the first product of ``category``."""
    folder, _, pid = spec.partition("/")
    products = ikea / "products" / folder
    return products / f"{pid}.jpg" if pid else sorted(products.glob("*.jpg"))[0]


@pytest.fixture(scope="module")
def mobilenet_pth(shared_models: Path) -> Path:
    return shared_models / MOBILENET_PTH


@pytest.fixture(scope="module")
def real_crops(ikea: Path) -> list[np.ndarray]:
    """Product photos (500², white background) and crops of room photos of varied aspect ratios."""
    crops = [load_image(product_photo(ikea, p)) for p in PRODUCTS]
    for scene in SCENES:
        image = load_image(ikea / "scenes" / f"{scene}.jpg")
        h, w = image.shape[:2]
        crops += [crop(image, (x1 * w, y1 * h, x2 * w, y2 * h)) for x1, y1, x2, y2 in SCENE_BOXES]
    return crops


# --- detector export ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def detector_export(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> tuple[Path, Path]:
    """(source .pt copy, exported ONNX); the .pt is a private copy so we can see what appears beside it."""
    src_dir, out_dir = tmp_path_factory.mktemp("pt"), tmp_path_factory.mktemp("onnx")
    weights = src_dir / YOLO11N
    weights.write_bytes((shared_models / YOLO11N).read_bytes())
    return weights, export.export_detector(weights, out_dir, name="coco-test", conf=0.3)


def test_detector_export_writes_onnx_and_card(detector_export: tuple[Path, Path]) -> None:
    weights, path = detector_export
    card = read_card(path)
    assert path.name == "coco-test.onnx" and path.with_suffix(".card.json").is_file()
    assert (card.name, card.kind, card.class_set, card.input_size, card.resize) == (
        "coco-test", "detector", "coco", 640, "letterbox")
    assert len(card.class_names) == 80 and card.class_names[57] == "couch"
    assert card.default_conf == 0.3
    assert card.source == weights.name
    assert card.sha256 == sha256_of(path)
    assert card.recipe["source_sha256"] == sha256_of(weights)


def test_detector_export_is_static_raw_head_without_nms(detector_export: tuple[Path, Path]) -> None:
    model = onnx.load(str(detector_export[1]))
    assert dims(model.graph.input[0]) == [1, 3, 640, 640]
    assert dims(model.graph.output[0]) == [1, 84, 8400]
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 12
    assert not any(n.op_type == "NonMaxSuppression" for n in model.graph.node)


def test_detector_export_leaves_no_files_behind(detector_export: tuple[Path, Path]) -> None:
    weights, path = detector_export
    assert [p.name for p in weights.parent.iterdir()] == [weights.name]
    assert sorted(p.name for p in path.parent.iterdir()) == ["coco-test.card.json", "coco-test.onnx"]


def dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_value or d.dim_param for d in value.type.tensor_type.shape.dim]


def test_missing_detector_weights_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "yolo11n.pt"
    with pytest.raises(ModelError, match=r"detector weights .*nowhere/yolo11n\.pt not found"):
        export.export_detector(missing, tmp_path)


def test_corrupt_checkpoint_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "broken.pt"
    weights.write_bytes(b"not a torch checkpoint")
    with pytest.raises(ModelError, match="broken.pt: not a loadable ultralytics checkpoint"):
        export.export_detector(weights, tmp_path / "out")


def test_pose_checkpoint_is_not_a_detector(tmp_path: Path, shared_models: Path) -> None:
    with pytest.raises(ModelError, match="'pose' model, not a detector"):
        export.export_detector(shared_models / POSE_PT, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_ultralytics_asks_for_the_train_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_models: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # makes `import ultralytics` fail
    with pytest.raises(ModelError, match=r"install the \[train\] extra: scripts/install --train"):
        export.export_detector(shared_models / YOLO11N, tmp_path)


def test_missing_torch_asks_for_the_train_extra() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from engine.errors import ModelError\n"
        "try:\n    import training.export\nexcept ModelError as e:\n    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=60
    )
    assert "torch is missing" in out.stdout
    assert "install the [train] extra: scripts/install --train" in out.stdout


# --- embedder export -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mobilenet_export(tmp_path_factory: pytest.TempPathFactory, mobilenet_pth: Path) -> Path:
    out_dir = tmp_path_factory.mktemp("emb")
    return export.export_embedder("mobilenet_v2", out_dir, mobilenet_pth, num_classes=1001)


def test_embedder_card(mobilenet_export: Path, mobilenet_pth: Path) -> None:
    card = read_card(mobilenet_export)
    assert (card.kind, card.input_size, card.output_dim) == ("embedder", 224, 1280)
    assert (card.input_name, card.output_name, card.resize) == ("pixel_values", "embedding", "stretch")
    assert card.mean == [0.0] * 3 and card.std == [1.0] * 3  # normalisation is inside the graph
    assert card.sha256 == sha256_of(mobilenet_export)
    assert card.source == MOBILENET_PTH
    assert card.spatial_output in {o for node in onnx.load(str(mobilenet_export)).graph.node for o in node.output}
    assert card.recipe["weights_sha256"] == sha256_of(mobilenet_pth)
    assert card.recipe["normalisation"]["mean"] == pytest.approx([128 / 255] * 3)
    assert (card.recipe["backbone"], card.recipe["num_classes"], card.recipe["projection_dim"]) == (
        "mobilenet_v2", 1001, None)


def test_torch_and_onnx_agree_on_real_crops(
    mobilenet_export: Path, mobilenet_pth: Path, real_crops: list[np.ndarray]
) -> None:
    """The exported graph computes what torch computes, fed through the engine's own preprocessing."""
    card = read_card(mobilenet_export)
    module = export.build_embedding_model("mobilenet_v2", mobilenet_pth, num_classes=1001)
    with torch.no_grad():
        expected = module(torch.from_numpy(embed_batch(real_crops, card))).numpy()
    got = Embedder(ResolvedModel(mobilenet_export, card), device="cpu").embed(real_crops)
    assert got.shape == (len(real_crops), 1280)
    assert np.abs(got - expected).max() < 1e-4


def test_batch_axis_is_dynamic_and_output_is_unit_length(mobilenet_export: Path, real_crops: list) -> None:
    card = read_card(mobilenet_export)
    session = Embedder(ResolvedModel(mobilenet_export, card), device="cpu").session
    batch = embed_batch(real_crops, card)
    (whole,) = session.run(["embedding"], {"pixel_values": batch})
    (single,) = session.run(["embedding"], {"pixel_values": batch[3:4]})
    assert np.abs(whole[3:4] - single).max() < 1e-5
    assert np.allclose(np.linalg.norm(whole, axis=1), 1.0, atol=1e-5)


def test_tflite_weights_get_their_own_normalisation(
    mobilenet_export: Path, real_crops: list, shared_models: Path
) -> None:
    """Close to the reference MobileNet ONNX (MANIFEST: median cosine 0.895); ImageNet mean/std gives 0.77."""
    ours, reference = (
        Embedder(ResolvedModel(path, read_card(path)), device="cpu").embed(real_crops)
        for path in (mobilenet_export, shared_models / MOBILENET_ONNX)
    )
    assert np.median((ours * reference).sum(1)) > 0.85


def test_projection_export(tmp_path: Path, mobilenet_pth: Path, real_crops: list[np.ndarray]) -> None:
    path = export.export_embedder("mobilenet_v2", tmp_path, mobilenet_pth, projection_dim=128)
    card = read_card(path)
    assert path.name == "mobilenet_v2-imagenet-tflite-p128.onnx"
    assert card.output_dim == 128 and card.recipe["projection_dim"] == 128
    vectors = Embedder(ResolvedModel(path, card), device="cpu").embed(real_crops)
    assert vectors.shape == (len(real_crops), 128)


def test_export_module_keeps_the_training_module_and_records_recipe(
    tmp_path: Path, mobilenet_pth: Path
) -> None:
    module = export.build_embedding_model("mobilenet_v2", mobilenet_pth).train()
    path = export.export_module(
        module, tmp_path, "tuned", 224, recipe={"loss": "triplet", "epochs": 3}, metrics={"p_at_1": 0.71}
    )
    card = read_card(path)
    assert module.training  # the caller's module was not switched to eval
    assert card.recipe["loss"] == "triplet" and card.recipe["backbone"] == "mobilenet_v2"
    assert card.metrics == {"p_at_1": 0.71}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tuned.card.json", "tuned.onnx"]


@pytest.mark.parametrize(
    ("backbone", "width"), [("resnet18", 512), ("mobilenet_v3_small", 1024), ("efficientnet_b0", 1280)]
)
def test_strip_classifier_keeps_pooled_features(backbone: str, width: int) -> None:
    import torchvision

    net = torchvision.models.get_model(backbone, weights=None).eval()
    assert export.strip_classifier(net) == width
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 96, 96)).shape == (1, width)


def test_missing_embedder_weights_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"embedder weights .*missing\.pth not found"):
        export.export_embedder("mobilenet_v2", tmp_path, tmp_path / "missing.pth")


def test_weights_that_do_not_fit_are_refused(mobilenet_pth: Path) -> None:
    with pytest.raises(ModelError, match=r"does not fit torchvision mobilenet_v2\(num_classes=1000\)"):
        export.build_embedding_model("mobilenet_v2", mobilenet_pth, num_classes=1000)


def test_unknown_backbone_is_refused(mobilenet_pth: Path) -> None:
    with pytest.raises(ModelError, match="unknown torchvision classification model 'mobilenet_v9'"):
        export.build_embedding_model("mobilenet_v9", mobilenet_pth)
