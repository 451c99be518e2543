"""Cards for models that are already ONNX: read what the file itself says.

Ultralytics exports carry ``names``, ``imgsz`` and ``task`` in their metadata, so a detector's card
can be written without torch. Embedders need their normalisation stated by the caller. A model file may
come from anywhere: what it says is checked here, so a card is never written that ``read_card`` refuses
(it would replace a good card) and a file that is not what a card needs is a one-line ModelError.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

import onnxruntime as ort

from engine.errors import ModelError
from engine.files import sha256_of
from engine.models import MAX_EMBEDDER_INPUT, MAX_INPUT_SIZE, MAX_OUTPUT_DIM, ModelCard, class_names_problem
from engine.runtime import open_session

COCO_NAMES_COUNT = 80
# Characters of one metadata entry read as a Python literal: an Open Images V7 detector's 601 class names take 10,330,
# and this leaves 64 an entry for MAX_CLASSES of them. Parsing costs some 470 bytes a character (135 MB here).
MAX_LITERAL = 256 * 1024


def detector_card(path: Path, name: str | None = None, class_set: str | None = None, conf: float = 0.25) -> ModelCard:
    """A card for an ultralytics ONNX detector, from its embedded metadata."""
    session = _open(path)
    meta = session.get_modelmeta().custom_metadata_map
    if "names" not in meta:
        raise ModelError(f"{path}: no class names in the ONNX metadata (not an ultralytics export?)")
    names_map = _literal(path, "names", meta["names"])
    if not (isinstance(names_map, dict) and names_map and all(type(i) is int for i in names_map)
            and all(isinstance(n, str) for n in names_map.values())):
        raise ModelError(f"{path}: its ONNX metadata 'names' is not a mapping of class ids to class names")
    names = [names_map[i] for i in sorted(names_map)]
    problem = class_names_problem(names)  # labels the CLI prints and tags show: no terminal escapes
    if problem:
        raise ModelError(f"{path}: its ONNX metadata 'names' {problem}")
    imgsz = _literal(path, "imgsz", meta.get("imgsz", "[640, 640]"))
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    rows = out.shape[1] if len(out.shape) == 3 and meta.get("task", "detect") == "detect" else None  # not pose
    if isinstance(rows, int) and rows != 4 + len(names):  # engine.detect reads (1, 4 + classes, boxes)
        raise ModelError(f"{path}: its ONNX metadata names {len(names)} classes but its output scores "
                         f"{rows - 4} a box")
    return ModelCard(
        name=name or path.stem,
        kind="detector",
        input_size=_side(path, imgsz[0] if isinstance(imgsz, list | tuple) and imgsz else None,
                         "ONNX metadata 'imgsz'"),
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
    session = _open(path)
    inp = session.get_inputs()[0]
    outputs = {o.name: o for o in session.get_outputs()}
    if output_name not in outputs:
        raise ModelError(f"{path}: no output {output_name!r} (has {', '.join(outputs)})")
    sizes = outputs[output_name].shape[1:]  # after the batch axis, as engine.embed counts a vector
    dim = math.prod(sizes) if all(isinstance(s, int) for s in sizes) else None
    if dim is not None and dim > MAX_OUTPUT_DIM:
        raise ModelError(f"{path}: its output {output_name!r} gives {dim:,} floats a crop, more than the "
                         f"{MAX_OUTPUT_DIM:,} an embedder may give")
    return ModelCard(
        name=name or path.stem,
        kind="embedder",
        input_size=_side(path, inp.shape[-1] if inp.shape else None, f"input {inp.name!r}", MAX_EMBEDDER_INPUT),
        mean=mean or [0.0, 0.0, 0.0],
        std=std or [1.0, 1.0, 1.0],
        resize="stretch",
        input_name=inp.name,
        output_name=output_name,
        output_dim=dim if isinstance(dim, int) and dim > 0 else None,
        exact_threshold=exact_threshold,
        source=path.name,
        sha256=sha256_of(path),
    )


def _open(path: Path) -> ort.InferenceSession:
    """A CPU session of the file (one that is not ONNX is a ModelError), with an input and an output."""
    session = open_session(path, "cpu")
    if not session.get_inputs() or not session.get_outputs():
        raise ModelError(f"{path}: the model has no input or no output")
    return session


def _literal(path: Path, key: str, text: str) -> Any:
    """The metadata entry ``key`` as the Python literal ultralytics writes there, or a one-line ModelError.

    Refused past ``MAX_LITERAL`` characters before it is parsed: Python's parser takes some 470 bytes a character,
    and a 10 MB model whose 'imgsz' was a list of five million zeros took 4.7 GB and 30 s to be refused."""
    if len(text) > MAX_LITERAL:
        raise ModelError(f"{path}: its ONNX metadata {key!r} is {len(text):,} characters long, more than "
                         f"{MAX_LITERAL:,} (an Open Images detector's class names take 10,330)")
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        why = type(exc).__name__
        raise ModelError(f"{path}: its ONNX metadata {key!r} is not a Python literal ({why})") from exc


def _side(path: Path, side: Any, where: str, most: int = MAX_INPUT_SIZE) -> int:
    """The square input's side in pixels that the file gives in ``where``, as a card's input_size."""
    if type(side) is not int or not 0 < side <= most:
        raise ModelError(f"{path}: its {where} gives no input side in pixels up to {most}")
    return side


def guess_class_set(names: list[str]) -> str:
    """'coco' for the 80 COCO classes, 'oiv7' for Open Images V7, else 'decor' (fine-tuned)."""
    if len(names) == COCO_NAMES_COUNT and names[0] == "person":
        return "coco"
    if len(names) == 601 and "Accordion" in names:
        return "oiv7"
    return "decor"
