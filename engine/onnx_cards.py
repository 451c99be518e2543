"""Cards for models that are already ONNX: read what the file itself says.

Ultralytics exports carry ``names``, ``imgsz`` and ``task`` in their metadata, so a detector's card
can be written without torch. Embedders need their normalisation stated by the caller.
"""

from __future__ import annotations

import ast
from pathlib import Path

import onnxruntime as ort

from engine.errors import ModelError
from engine.files import sha256_of
from engine.models import ModelCard

COCO_NAMES_COUNT = 80


def detector_card(path: Path, name: str | None = None, class_set: str | None = None, conf: float = 0.25) -> ModelCard:
    """A card for an ultralytics ONNX detector, from its embedded metadata."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    if "names" not in meta:
        raise ModelError(f"{path}: no class names in the ONNX metadata (not an ultralytics export?)")
    names_map = ast.literal_eval(meta["names"])
    names = [names_map[i] for i in sorted(names_map)]
    imgsz = ast.literal_eval(meta.get("imgsz", "[640, 640]"))
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    return ModelCard(
        name=name or path.stem,
        kind="detector",
        input_size=int(imgsz[0]),
        resize="letterbox",
        input_name=inp.name,
        output_name=out.name,
        class_names=names,
        class_set=class_set or guess_class_set(names),
        default_conf=conf,
        source=path.name,
        sha256=sha256_of(path),
    )


def embedder_card(
    path: Path, name: str | None = None, mean: list[float] | None = None, std: list[float] | None = None,
    output_name: str = "embedding", exact_threshold: float | None = None,
) -> ModelCard:
    """A card for an ONNX embedder taking (N, 3, S, S) RGB in [0, 1] after ``mean``/``std``."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    outputs = {o.name: o for o in session.get_outputs()}
    if output_name not in outputs:
        raise ModelError(f"{path}: no output {output_name!r} (has {', '.join(outputs)})")
    dim = outputs[output_name].shape[-1]
    return ModelCard(
        name=name or path.stem,
        kind="embedder",
        input_size=int(inp.shape[-1]),
        mean=mean or [0.0, 0.0, 0.0],
        std=std or [1.0, 1.0, 1.0],
        resize="stretch",
        input_name=inp.name,
        output_name=output_name,
        output_dim=dim if isinstance(dim, int) else None,
        exact_threshold=exact_threshold,
        source=path.name,
        sha256=sha256_of(path),
    )


def guess_class_set(names: list[str]) -> str:
    """'coco' for the 80 COCO classes, 'oiv7' for Open Images V7, else 'decor' (fine-tuned)."""
    if len(names) == COCO_NAMES_COUNT and names[0] == "person":
        return "coco"
    if len(names) == 601 and "Accordion" in names:
        return "oiv7"
    return "decor"
