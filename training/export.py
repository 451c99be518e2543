"""Turn torch / ultralytics weights into the ONNX + model-card pairs the engine runs.

Every export writes ``<out_dir>/<name>.onnx`` and ``<name>.card.json``. The ONNX file is written
under a temporary name in ``out_dir`` and moved into place with ``os.replace``, and the card is written
after it, so a reader never sees a half-written model; the card's sha256 is the final file's.

Embedders take ``pixel_values`` (N, 3, S, S), RGB scaled to [0, 1], and return ``embedding`` (N, D),
L2-normalised. The weights' own normalisation (ImageNet mean/std, or 128/255 for the TFLite-derived
MobileNetV2) is baked into the graph, so every embedder card says mean 0 / std 1, like the stock
MobileNet ONNX files. The mean/std then travel with the weights and cannot be paired with the wrong
card, and the training loop feeds its module exactly what ``engine.preprocess.embed_batch`` gives
the exported model.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from engine.advice import INSTALL_TRAINING
from engine.errors import ModelError
from engine.files import sha256_of
from engine.models import write_card
from engine.onnx_cards import detector_card, embedder_card
from engine.people import POSE_CONF, pose_card
from engine.runtime import open_session

TRAIN_EXTRA = f"install the [train] extra: {INSTALL_TRAINING}"

try:
    import torch
    import torchvision
    from torch import nn
    from torch.nn import functional as F
except ImportError as exc:
    raise ModelError(f"exporting models needs torch and torchvision ({exc.name} is missing); {TRAIN_EXTRA}") \
        from exc
except RuntimeError as exc:  # a torchvision build that does not match torch fails at import time
    raise ModelError(f"torchvision does not work with this torch ({exc}); {TRAIN_EXTRA}") from exc

from training.weights import load_plain  # noqa: E402 - it imports torch: after the check that names the fix
from training.yolo import import_yolo

TASK_WORDS = {"detect": "detector", "pose": "pose model"}
OPSET = 17  # onnxruntime ≥ 1.17 runs it everywhere; ≥ 12 is all the YOLO and CNN graphs need
EMBEDDER_INPUT = "pixel_values"
EMBEDDER_OUTPUT = "embedding"
EXPORT_TOLERANCE = 1e-4  # torch vs onnxruntime on the same input; larger means a broken export
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class WeightsSpec:
    """How a known weights file must be built and fed (it cannot say so itself: it is a bare state dict)."""

    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


TFLITE_SCALE = (128 / 255,) * 3  # TF-slim maps [0, 255] to (x − 128) / 128
KNOWN_WEIGHTS = {
    "mobilenet_v2-imagenet-tflite.pth": WeightsSpec(1001, TFLITE_SCALE, TFLITE_SCALE),
}


# --- detectors -----------------------------------------------------------------------------------


def export_detector(
    weights: Path, out_dir: Path, imgsz: int = 640, name: str | None = None, conf: float = 0.25
) -> Path:
    """An ultralytics detection ``.pt`` → ``out_dir/<name>.onnx`` (static ``imgsz``², no NMS) + card.

    The graph outputs the raw head (1, 4 + classes, anchors) that ``engine.detect.decode`` expects;
    NMS stays in numpy so every detector is post-processed the same way. NMS-free heads (YOLOv10,
    YOLO26) are exported through their one-to-many branch for the same reason.
    """
    return _export_yolo(weights, out_dir, "detect", imgsz, name, conf)


def export_pose(
    weights: Path, out_dir: Path, imgsz: int = 640, name: str | None = None, conf: float = POSE_CONF
) -> Path:
    """An ultralytics pose ``.pt`` (YOLOv8-pose: people + 17 COCO keypoints) → ONNX + card of kind ``pose``.

    The raw head (1, 4 + 1 + 17·3, anchors) is decoded by ``engine.people`` in numpy, as detectors are,
    so the engine needs no torch to know where people, their bodies and their faces are.
    """
    return _export_yolo(weights, out_dir, "pose", imgsz, name, conf)


def export_yolo(weights: Path, out_dir: Path, imgsz: int = 640, name: str | None = None) -> Path:
    """A detection or pose ``.pt``, whichever it is (``decorlens models export`` takes either)."""
    task = _load_yolo(_ultralytics_yolo(), _existing(weights, "YOLO weights")).task
    if task == "pose":
        return export_pose(weights, out_dir, imgsz, name)
    return export_detector(weights, out_dir, imgsz, name)


def _export_yolo(weights: Path, out_dir: Path, task: str, imgsz: int, name: str | None, conf: float) -> Path:
    weights, out_dir = _existing(weights, f"{TASK_WORDS[task]} weights"), Path(out_dir)
    yolo_class = _ultralytics_yolo()
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{name or weights.stem}.onnx"
    with tempfile.TemporaryDirectory(prefix="decorlens-export-") as work:
        exported = _ultralytics_onnx(yolo_class, weights, Path(work), imgsz, task)
        card = (pose_card if task == "pose" else detector_card)(exported, name=final.stem, conf=conf)
        card.source = weights.name
        card.recipe = {
            "source_sha256": sha256_of(weights),
            "exporter": f"ultralytics {_ultralytics_version()}, torch {torch.__version__}",
            "opset": OPSET,
            "imgsz": imgsz,
            "nms": "outside the graph (engine.detect)",
        }
        if task == "pose":
            card.recipe["keypoints"] = "17 COCO keypoints (x, y, visibility) after the person score"
            card.recipe["nms"] = "outside the graph (engine.people)"
        _place(exported, final)
    write_card(final, card)
    return final


def _ultralytics_yolo() -> type:
    try:
        return import_yolo()
    except ImportError as exc:
        raise ModelError(f"exporting a detector needs ultralytics; {TRAIN_EXTRA}") from exc


def _ultralytics_version() -> str:
    return importlib.metadata.version("ultralytics")


def _load_yolo(yolo_class: type, weights: Path) -> Any:
    try:
        return yolo_class(str(weights))
    except Exception as exc:  # torch.load and ultralytics raise many unrelated types for a bad file
        raise ModelError(f"{weights}: not a loadable ultralytics checkpoint ({exc})") from exc


def _ultralytics_onnx(yolo_class: type, weights: Path, work: Path, imgsz: int, task: str = "detect") -> Path:
    """Export a copy of ``weights`` in ``work``: ultralytics writes beside the .pt, which may be read-only."""
    local = work / weights.name
    shutil.copyfile(weights, local)
    model = _load_yolo(yolo_class, local)
    if model.task != task:
        raise ModelError(f"{weights}: an ultralytics {model.task!r} model, not a {TASK_WORDS[task]}")
    path = model.export(
        format="onnx", imgsz=imgsz, opset=OPSET, dynamic=False, simplify=_has_onnxslim(), device="cpu"
    )
    path = Path(path)
    keypoints = int(np.prod(model.model.yaml.get("kpt_shape", [0]))) if task == "pose" else 0
    _check_raw_head(path, len(model.names) + keypoints)
    _drop_export_date(path)
    return path


def _drop_export_date(path: Path) -> None:
    """Remove the export time ultralytics stamps into the metadata: without it, the same weights and
    versions give the same bytes, so a model pack's sha256 can be reproduced by exporting again."""
    model = onnx.load(str(path))
    kept = [prop for prop in model.metadata_props if prop.key != "date"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.save(model, str(path))


def _has_onnxslim() -> bool:
    """Simplify only when onnxslim is installed: ultralytics would otherwise try to pip-install it."""
    return importlib.util.find_spec("onnxslim") is not None


def _check_raw_head(path: Path, channels: int) -> None:
    """Refuse graphs whose output is not (1, 4 + channels, anchors): the engine could not decode them."""
    shape = open_session(path, "cpu").get_outputs()[0].shape
    if len(shape) != 3 or shape[1] != 4 + channels:
        raise ModelError(f"{path.name}: exported output shape {shape} is not (1, {4 + channels}, anchors)")


# --- embedders -----------------------------------------------------------------------------------


class EmbeddingModel(nn.Module):
    """Normalise → backbone without classifier → optional projection → L2-normalise.

    ``recipe`` says where the weights came from; ``export_module`` copies it into the card.
    """

    def __init__(
        self, backbone: nn.Module, feature_dim: int, projection_dim: int | None,
        mean: Sequence[float], std: Sequence[float], recipe: dict[str, Any],
    ):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.backbone = backbone
        self.projection = _projection(feature_dim, projection_dim) if projection_dim else nn.Identity()
        self.output_dim = projection_dim or feature_dim
        self.recipe = recipe

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        features = self.backbone((pixel_values - self.mean) / self.std)
        return F.normalize(self.projection(features), dim=1)


def _projection(feature_dim: int, projection_dim: int) -> nn.Linear:
    """A seeded orthogonal map without bias: untrained, it keeps cosine geometry as well as a linear map can
    (and seeded, exports are reproducible)."""
    layer = nn.Linear(feature_dim, projection_dim, bias=False)
    nn.init.orthogonal_(layer.weight, generator=torch.Generator().manual_seed(0))
    return layer


def build_embedding_model(
    backbone: str,
    weights: Path | None = None,
    projection_dim: int | None = None,
    num_classes: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    input_size: int = 224,
) -> EmbeddingModel:
    """A torchvision classifier turned into an embedder taking RGB in [0, 1].

    ``weights`` is a state dict for ``torchvision.models.get_model(backbone, num_classes=...)``
    (loaded strictly, so a mismatch is an error, not silent random layers); None means torchvision's
    own pretrained weights (downloaded once into the torch cache). ``num_classes``, ``mean`` and
    ``std`` default to what a known weights file needs (``KNOWN_WEIGHTS``), else 1000 and ImageNet.

    Returned in eval mode. In train mode BatchNorm switches to batch statistics, which changes the
    function (for the TFLite-derived MobileNetV2 its BatchNorm layers are identities carrying folded
    biases): keep them in eval mode when fine-tuning.
    """
    weights = Path(weights) if weights is not None else None
    spec = KNOWN_WEIGHTS.get(weights.name) if weights else None
    mean = tuple(mean or (spec.mean if spec else IMAGENET_MEAN))
    std = tuple(std or (spec.std if spec else IMAGENET_STD))
    num_classes = num_classes or (spec.num_classes if spec else 1000)
    net = _load_backbone(backbone, weights, num_classes)
    feature_dim = strip_classifier(net)
    recipe = {
        "backbone": backbone,
        "weights": weights.name if weights else f"torchvision {backbone} DEFAULT",
        "weights_sha256": sha256_of(weights) if weights else "",
        "num_classes": num_classes,
        "feature_dim": feature_dim,
        "projection_dim": projection_dim,
        "normalisation": {"mean": list(mean), "std": list(std), "where": "in the graph"},
    }
    model = EmbeddingModel(net, feature_dim, projection_dim, mean, std, recipe).eval()
    _check_output(model, backbone, input_size)
    return model


def _load_backbone(backbone: str, weights: Path | None, num_classes: int) -> nn.Module:
    known = torchvision.models.list_models(module=torchvision.models)
    if backbone not in known:
        raise ModelError(f"unknown torchvision classification model {backbone!r} (known: {', '.join(known)})")
    if weights is None:
        try:
            return torchvision.models.get_model(backbone, weights="DEFAULT")
        except Exception as exc:  # download or cache failures surface as many types
            raise ModelError(
                f"cannot get torchvision's pretrained {backbone} weights ({exc}); pass a weights file instead"
            ) from exc
    net = torchvision.models.get_model(backbone, weights=None, num_classes=num_classes)
    state = _state_dict(_existing(weights, "embedder weights"))
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(
            f"{weights} does not fit torchvision {backbone}(num_classes={num_classes}): {exc}"
        ) from exc
    return net


def _state_dict(weights: Path) -> dict[str, torch.Tensor]:
    state = load_plain(weights, "torch state dict")
    if not isinstance(state, dict):
        raise ModelError(f"{weights}: holds a {type(state).__name__}, not a state dict")
    return state


def strip_classifier(net: nn.Module) -> int:
    """Replace the last Linear layer (the logits) by Identity; return its input width.

    torchvision classifiers end in a Linear under varying names (``fc``, ``classifier.1``,
    ``heads.head``, ``classifier.2`` after a LayerNorm), so finding it beats a per-model table and keeps
    whatever pooling and normalisation comes before it.
    """
    linears = [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ModelError(f"{type(net).__name__} has no Linear classifier to remove")
    name, layer = linears[-1]
    parent_name, _, child = name.rpartition(".")
    setattr(net.get_submodule(parent_name), child, nn.Identity())
    return layer.in_features


def _check_output(model: EmbeddingModel, backbone: str, input_size: int) -> None:
    with torch.no_grad():
        out = model(torch.zeros(1, 3, input_size, input_size))
    if tuple(out.shape) != (1, model.output_dim):
        raise ModelError(
            f"torchvision {backbone} without its classifier gives {tuple(out.shape)}, not (1, features)"
        )


def export_embedder(
    backbone: str,
    out_dir: Path,
    weights: Path | None = None,
    projection_dim: int | None = None,
    name: str | None = None,
    num_classes: int | None = None,
    input_size: int = 224,
) -> Path:
    """A pretrained torchvision backbone → ``out_dir/<name>.onnx`` embedder + card (not fine-tuned)."""
    model = build_embedding_model(backbone, weights, projection_dim, num_classes, input_size=input_size)
    default = Path(weights).stem if weights is not None else backbone
    name = name or (f"{default}-p{projection_dim}" if projection_dim else default)
    return export_module(model, out_dir, name, input_size)


def export_module(
    module: nn.Module,
    out_dir: Path,
    name: str,
    input_size: int = 224,
    recipe: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Any module mapping RGB in [0, 1] to embeddings → ``out_dir/<name>.onnx`` + card.

    The module is copied to the CPU in eval mode (the caller's training state is untouched), exported
    with a dynamic batch axis, and checked against onnxruntime before it replaces anything.
    ``recipe`` is added to the module's own ``recipe`` (if it has one) and its ``weights`` entry, the
    starting weights, is the card's ``source``; ``metrics`` go into the card.
    """
    model = copy.deepcopy(module).cpu().eval()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{name}.onnx"
    tmp = _temp_beside(final)
    try:
        sample = _export_torch(model, tmp, input_size)
        _check_agreement(model, tmp, sample)
        card = embedder_card(tmp, name=name)
        card.spatial_output = spatial_tensor(tmp)
        card.recipe = {
            **getattr(model, "recipe", {}),
            **(recipe or {}),
            "exporter": f"torch {torch.__version__}",
            "opset": OPSET,
        }
        card.source = card.recipe.get("weights", final.name)
        card.metrics = dict(metrics or {})
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    write_card(final, card)
    return final


def spatial_tensor(path: Path) -> str:
    """The feature map the embedding is pooled from, for the card (``engine.explain`` reads it there).

    torchvision's CNNs end in adaptive average pooling, exported as GlobalAveragePool: its input is the
    map. "" when the graph has none (a vision transformer's tokens): the card then offers no heat maps.
    """
    pools = [node for node in onnx.load(str(path)).graph.node if node.op_type == "GlobalAveragePool"]
    return pools[-1].input[0] if pools else ""


def _export_torch(model: nn.Module, path: Path, input_size: int) -> torch.Tensor:
    """TorchScript-based export (as ultralytics uses): mature, and dynamic axes are one argument."""
    sample = torch.rand(2, 3, input_size, input_size, generator=torch.Generator().manual_seed(0))
    torch.onnx.export(
        model, (sample,), str(path), input_names=[EMBEDDER_INPUT], output_names=[EMBEDDER_OUTPUT],
        dynamic_axes={EMBEDDER_INPUT: {0: "batch"}, EMBEDDER_OUTPUT: {0: "batch"}},
        opset_version=OPSET, dynamo=False,
    )
    return sample


def _check_agreement(model: nn.Module, path: Path, sample: torch.Tensor) -> None:
    with torch.no_grad():
        expected = model(sample).numpy()
    (got,) = open_session(path, "cpu").run([EMBEDDER_OUTPUT], {EMBEDDER_INPUT: sample.numpy()})
    diff = float(np.abs(got - expected).max())
    if diff > EXPORT_TOLERANCE:
        raise ModelError(f"ONNX export disagrees with torch (max abs difference {diff:.2e}); not written")


# --- files ---------------------------------------------------------------------------------------


def _existing(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{what} {path} not found" + (" (it is a folder)" if path.is_dir() else ""))
    return path


def _temp_beside(final: Path) -> Path:
    """A fresh temporary file in the target folder, so os.replace is an atomic rename."""
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}-", suffix=".onnx.tmp", dir=final.parent)
    os.close(fd)
    os.chmod(name, 0o644)  # mkstemp makes it private; a model file is meant to be shared
    return Path(name)


def _place(source: Path, final: Path) -> None:
    """Copy ``source`` (possibly on another filesystem) to ``final`` atomically."""
    tmp = _temp_beside(final)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)

