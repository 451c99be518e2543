"""Model cards: the small JSON beside every ONNX model that says how to feed it and what it returns.

At run time the engine reads only ONNX files and cards. A card is looked up beside the model
(``name.onnx`` → ``name.card.json``), then among the stock cards shipped in ``resources/cards`` for
known files such as the shared MobileNetV2 and OIV7 detector (those folders may be read-only).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from engine import user_calibration
from engine.errors import ModelError
from engine.files import sha256_of, write_atomic
from engine.modelpack import read_pack
from engine.paths import model_search_path, resources_dir
from engine.remedies import EXPORT_WEIGHTS, FETCH_AGAIN, FETCH_PACK, WRITE_CARD

Kind = Literal["detector", "embedder", "pose"]
# A card's input side. Detectors here run at 416 or 640 px, ultralytics' large models at 1280; embedders at 160 to
# 288. A bigger side is no model this app needs: one 1280 px input is 20 MB of float32 before the model's own work,
# and a catalog import holds two chunks of product photos preprocessed for the embedder (engine.importer). A 4096 px
# card took 4.2 GB for one search; engine.embed also makes a batch of large inputs smaller.
MAX_INPUT_SIZE = 1280
MAX_EMBEDDER_INPUT = 512
# An embedder's vector: 1024 or 1280 floats for the stock ones, 2560 for a pair of trunks (training.combine), a
# projection far fewer. Every catalog photo stores one (4 bytes a float, in the catalog and in the index again).
MAX_OUTPUT_DIM = 16384
# A detector's classes: 80 for COCO, 601 for Open Images V7, 1203 for LVIS. Each name is a label the CLI prints, the
# window shows on tags and exports write out; a detector of more classes would score 4 + classes rows an anchor.
MAX_CLASSES = 4096
MAX_CLASS_NAME = 200  # characters: the longest stock class name (Open Images V7) is 27
# Characters of a card's name, the stock ones under 40. The name is the embedder's key (with 13 more), which names
# the index's folder and is stored with every vector: a card named in 300 failed an import with "File name too long".
MAX_MODEL_NAME = 120
# Normalisation after RGB is scaled to [0, 1]: a mean is a channel value (0.485, 0.5, 0), a std from 1/255 (a model
# fed 0..255) to 1. Past these bounds the input is no image a model was trained on, and float32 gives out: a std
# of 1e-300 is 0 as float32 (every pixel inf), a mean of 1e308 inf.
MAX_MEAN = 10.0
STD_RANGE = (0.001, 10.0)
MAX_CARD_BYTES = 1 << 20  # a card is a few KB, 35 KB with a training record: read no more than this
RESIZES = ("letterbox", "stretch")  # a detector's input is letterboxed, an embedder's stretched (engine.preprocess)


@dataclass
class ModelCard:
    """What a model is and how to run it.

    ``mean``/``std`` apply after scaling RGB to [0, 1]; models that normalise inside the graph use
    mean 0 and std 1. ``resize`` is ``"letterbox"`` for detectors (pad to a square, keep aspect) or
    ``"stretch"`` for embedders (the whole crop resized to the input size).
    """

    name: str
    kind: Kind
    input_size: int
    mean: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    std: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    resize: str = "stretch"
    input_name: str = "images"
    output_name: str = "output0"
    output_dim: int | None = None
    class_names: list[str] = field(default_factory=list)
    class_set: str = ""  # which category-map section the class names belong to, e.g. "coco"
    spatial_output: str = ""  # an embedder's feature map before pooling, (N, C, h, w): engine.explain's heat maps
    replaces: list[str] = field(default_factory=list)  # a trained detector: the stock detectors it stands in for
    default_conf: float = 0.25
    exact_threshold: float | None = None  # cosine at or above which a match counts as "exact"
    likely_threshold: float | None = None  # cosine at or above which it is "likely the same product"
    source: str = ""
    sha256: str = ""
    recipe: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    # Not in the card's file: why the user's calibration beside the model was not laid over this card (its line,
    # which whatever lists or runs the model says), "" when it was or there is none (``read_card``)
    calibration_problem: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k not in _NOT_IN_FILE}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in _NOT_IN_FILE}


_NOT_IN_FILE = ("calibration_problem",)


@dataclass(frozen=True)
class ResolvedModel:
    """An ONNX file on disk with its card."""

    path: Path
    card: ModelCard

    @property
    def key(self) -> str:
        """Identifies the exact weights (vectors are stored per embedder key)."""
        return f"{self.card.name}-{self.card.sha256[:12]}"


def check_matches_card(model: ResolvedModel, file_sha256: str | None = None) -> None:
    """Refuse a model file whose card records another file's sha256. Catalog vectors are stored under the
    card's name and sha256 (``ResolvedModel.key``): an ONNX file replaced beside its old card would
    otherwise be searched against the old model's vectors, and every match would be quietly wrong.

    ``file_sha256`` is the hash of bytes the caller has already read, so that what is checked is what runs.
    """
    if model.card.sha256 and model.card.sha256 != (file_sha256 or sha256_of(model.path)):
        raise ModelError(
            f"{model.path.name} does not match its model card (the card's sha256 is another file's: the file "
            f"was replaced or is damaged); {_how_to_restore(model.path)}"
        )


def _how_to_restore(path: Path) -> str:
    """What brings back the file a card was written for. Not ``models card``: a new card drops the old
    one's confidence (and a detector's class set, and the thresholds calibrated into a card of the user's
    own model), and its new name sends the whole catalog to be embedded again. A fetch keeps the user's
    calibration of a pack model (``engine.user_calibration``)."""
    try:
        in_pack = path.name in {entry.file for entry in read_pack().files}
    except ModelError:  # an unreadable pack manifest must not hide the refusal being worded
        in_pack = False
    if in_pack:  # fetch replaces a pack file whose sha256 is not the pack's; --out: where this one is
        return FETCH_AGAIN(folder=path.parent)
    return "put back the file the card was written for, or export or train it again"


def a_kind(kind: str) -> str:
    """A card's kind with its article, for messages: "an embedder", "a detector"."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"


def model_label(model: ResolvedModel) -> str:
    """A model as a merchandiser reads it, everywhere it is named (the app, `models list`, the HTML map page): a
    model-pack file (by name and weights) by the pack's own words for it, "MobileNetV2 1.0/224" rather than the
    card's "mobilenet_v2-imagenet"; any other model (a trained one, named by whoever trained it) by its card's name.
    Where it is shown, ``model_names`` (card name and file) goes in a tooltip or beside it."""
    return _pack_labels().get((model.path.name, model.card.sha256), model.card.name)


def model_names(model: ResolvedModel) -> str:
    """The engine's names of ``model``: its card's name and its file, "mobilenet_v2-imagenet (mobilenet….onnx)"."""
    return f"{model.card.name} ({model.path.name})"


@cache
def _pack_labels() -> dict[tuple[str, str], str]:
    """(file name, sha256) → the pack manifest's description's first clause, with its second in parentheses: the
    network and what it learned from, "YOLO11n (COCO 80 classes)" (the two detectors' networks alone, "YOLO11n" and
    "YOLOv8n", did not say which finds which things).

    The manifest is the one shipped in ``resources`` (package data, and in the frozen app), as much this code as a
    module is, and tests/test_modelpack.py reads it: an unreadable one is a broken install, so its ModelError is
    raised, not turned into card names that would hide it."""
    return {(f.file, f.sha256): _label(f.about) for f in read_pack().files if f.about}


def _label(about: str) -> str:
    """A pack file's label from its description: "YOLO11n, COCO 80 classes (Ultralytics …)" → "YOLO11n (COCO 80
    classes)"."""
    network, _, rest = about.split(" (")[0].partition(",")
    learned = rest.split(",")[0].strip()
    return f"{network.strip()} ({learned})" if learned else network.strip()


def is_shipped(model: Path) -> bool:
    """Whether DecorLens ships ``model``'s card (the model pack, ``resources/cards``): a fetch or an update
    replaces such a card, so what the user measures of the model is kept apart (``engine.user_calibration``)."""
    try:
        in_pack = model.name in {entry.file for entry in read_pack().files}
    except ModelError:
        in_pack = False
    return in_pack or (resources_dir() / "cards" / card_path_for(model).name).is_file()


def card_path_for(model: Path) -> Path:
    return model.with_suffix(".card.json")


def write_card(model: Path, card: ModelCard) -> Path:
    """Write the card beside the model atomically."""
    target = card_path_for(model)
    text = json.dumps(card.to_dict(), indent=2)
    problem = _card_problem(json.loads(text))
    if problem:  # a card read_card refuses would take the place of one it reads
        raise ModelError(f"model card {target} not written: {problem}")
    write_atomic(target, text)
    return target


def read_card(model: Path) -> ModelCard:
    """The card beside ``model``, else a stock card from ``resources/cards`` with the same file name, with the
    user's own calibration of that file laid over it (``engine.user_calibration``).

    A card is checked as it is read (it may come with a model from anywhere): a field of the wrong kind
    would otherwise fail deep inside a search, as a TypeError or IndexError instead of one line.
    """
    for candidate in (card_path_for(model), resources_dir() / "cards" / card_path_for(model).name):
        if candidate.is_file():
            try:
                data = json.loads(_card_bytes(candidate).decode("utf-8"))
            except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError: ValueErrors
                raise ModelError(f"model card {candidate} is unreadable: {_first_line(exc)}") from exc
            if not isinstance(data, dict):
                raise ModelError(f"model card {candidate} is unreadable: not a JSON object")
            problem = _card_problem(data)
            if problem:
                raise ModelError(f"model card {candidate}: {problem}")
            try:
                card = ModelCard.from_dict(data)
            except TypeError as exc:  # a required field is missing
                raise ModelError(f"model card {candidate} is unreadable: {exc}") from exc
            return _with_user_calibration(model, card)
    raise ModelError(
        f"no model card for {model}{WRITE_CARD(card=card_path_for(model).name)}"
    )


def _with_user_calibration(model: Path, card: ModelCard) -> ModelCard:
    """``card`` with the thresholds the user measured on this very file (``engine.user_calibration``): kept
    apart so that a pack fetch replacing the card keeps them, and not applied once the card is another file's.

    A damaged calibration file leaves the card's thresholds, and its line on the card: the model stays listed and
    usable (one bad file hid it from every list until deleted), and nothing falls back to them unsaid."""
    try:
        kept = user_calibration.load(model)
    except user_calibration.Damaged as exc:
        card.calibration_problem = str(exc)
        return card
    if kept is None or kept["sha256"] != (card.sha256 or sha256_of(model)):
        return card
    card.exact_threshold, card.likely_threshold = kept["exact_threshold"], kept["likely_threshold"]
    card.metrics = {k: v for k, v in card.metrics.items() if k != "exact_threshold_calibration"}
    card.metrics["calibration"] = kept["calibration"]
    return card


def _card_bytes(card: Path) -> bytes:
    """A card file's bytes, refused past ``MAX_CARD_BYTES`` without reading more (a 600 MB card took 1.3 GB)."""
    with card.open("rb") as fh:
        data = fh.read(MAX_CARD_BYTES + 1)
    if len(data) > MAX_CARD_BYTES:
        raise ModelError(f"model card {card} is unreadable: over {MAX_CARD_BYTES // 1024} KB (a card is a few KB)")
    return data


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _name(value: Any) -> bool:
    """A name shown in messages and lists: text without control characters (a newline, a terminal escape)."""
    return isinstance(value, str) and value.isprintable()


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(map(_text, value))


def _channels(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(map(_number, value))


def _mean(value: Any) -> bool:
    return _channels(value) and all(-MAX_MEAN <= v <= MAX_MEAN for v in value)


def _std(value: Any) -> bool:
    return _channels(value) and all(STD_RANGE[0] <= v <= STD_RANGE[1] for v in value)


def class_names_problem(names: list[str]) -> str | None:
    """What is wrong with a detector's class names (texts), worded to follow "'class_names' " or "its ONNX
    metadata 'names' "; None when nothing. A class name is a label shown in the terminal, on tags and in exports."""
    if len(names) > MAX_CLASSES:
        return f"lists {len(names):,} names, more than the {MAX_CLASSES:,} a detector may have"
    for i, name in enumerate(names):
        if not name.strip():
            return f"entry {i} is empty"
        if len(name) > MAX_CLASS_NAME:
            return f"entry {i} is {len(name):,} characters long, more than {MAX_CLASS_NAME}"
        if not name.isprintable():
            return f"entry {i} has control characters (a newline, a terminal escape)"
    return None


# Each card field a card file may hold: (its check, what it must be, as the error says).
_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (_name, "text without control characters"),
    "kind": (lambda v: v in ("detector", "embedder", "pose"), "detector, embedder or pose"),
    "input_size": (lambda v: type(v) is int and 0 < v <= MAX_INPUT_SIZE,
                   f"a side in pixels up to {MAX_INPUT_SIZE}"),
    "mean": (_mean, f"a list of 3 numbers from -{MAX_MEAN:g} to {MAX_MEAN:g}"),
    "std": (_std, f"a list of 3 non-zero numbers, each from {STD_RANGE[0]:g} to {STD_RANGE[1]:g}"),
    "resize": (lambda v: v in RESIZES, " or ".join(map(repr, RESIZES))),
    "input_name": (_text, "text"),
    "output_name": (_text, "text"),
    "output_dim": (lambda v: v is None or (type(v) is int and 0 < v <= MAX_OUTPUT_DIM),
                   f"a whole number from 1 to {MAX_OUTPUT_DIM}, or null"),
    "class_names": (_texts, "a list of texts"),
    "class_set": (_text, "text"),
    "spatial_output": (_text, "text"),
    "replaces": (lambda v: isinstance(v, list) and all(map(_name, v)), "a list of model names (no control characters)"),
    "default_conf": (lambda v: _number(v) and 0 <= v <= 1, "a number from 0 to 1"),
    "exact_threshold": (lambda v: v is None or _number(v), "a number or null"),
    "likely_threshold": (lambda v: v is None or _number(v), "a number or null"),
    "source": (_text, "text"),
    "sha256": (_text, "text"),
    "recipe": (lambda v: isinstance(v, dict), "an object"),
    "metrics": (lambda v: isinstance(v, dict), "an object"),
}


def _card_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with a card's fields, as a model card's error says it; None when nothing."""
    for name, (check, wanted) in _FIELDS.items():
        if name in data and not check(data[name]):
            return f"{name!r} must be {wanted}"
    if len(data.get("name", "")) > MAX_MODEL_NAME:  # the embedder's key: it names the index's folder (see there)
        return f"'name' is {len(data['name']):,} characters long, more than {MAX_MODEL_NAME}"
    if data.get("kind") == "embedder" and data.get("input_size", 0) > MAX_EMBEDDER_INPUT:
        return f"'input_size' must be a side in pixels up to {MAX_EMBEDDER_INPUT} for an embedder"
    problem = class_names_problem(data.get("class_names", []))
    return f"'class_names' {problem}" if problem else None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def find_model(
    file_name: str, models_dir: str | os.PathLike[str] | None = None, data_dir: Path | None = None
) -> ResolvedModel:
    """Locate ``file_name`` on the model search path and load its card.

    Raises ModelError naming every directory searched, so the user knows where to put the file.
    """
    path = locate(file_name, models_dir, data_dir)
    return ResolvedModel(path, read_card(path))


def available_models(
    models_dir: str | os.PathLike[str] | None = None, data_dir: Path | None = None
) -> list[ResolvedModel]:
    """Every ONNX model with a card on the model search path, sorted by kind then name.

    For the user to choose from by file name, as ``models activate`` and ``config.yaml`` do: a name
    found in several folders is listed once, from the folder ``locate`` would pick, so the model
    chosen is the one that runs. A file without a readable card (an export in progress, a stray
    file) is left out rather than raised, so one bad file does not hide the others; so is a folder that cannot
    be listed (a name too long, no permission, a share gone), which raised out of the Settings dialog.
    """
    seen: set[str] = set()
    found: list[ResolvedModel] = []
    for folder in model_search_path(models_dir, data_dir):
        try:
            paths = sorted(folder.glob("*.onnx"))
        except OSError:
            continue
        for path in paths:
            if path.name in seen:
                continue
            seen.add(path.name)
            try:
                found.append(ResolvedModel(path, read_card(path)))
            except ModelError:
                continue
    return sorted(found, key=lambda m: (m.card.kind, m.card.name, m.path.name))


def find_first(
    choices: Sequence[str], models_dir: str | os.PathLike[str] | None = None, data_dir: Path | None = None
) -> ResolvedModel:
    """The first of several alternative model files that exists (official before rebuilt), with its card.

    None found is one short ModelError naming the files, the folders searched and how to get them.
    """
    folders = model_search_path(models_dir, data_dir)
    for name in choices:
        path = _named(name)
        candidates = [path] if path.is_absolute() or path.parent != Path(".") else [d / name for d in folders]
        for candidate in candidates:
            if candidate.is_file():
                return ResolvedModel(candidate, read_card(candidate))
    raise _not_found(list(choices), folders)


def locate(
    file_name: str, models_dir: str | os.PathLike[str] | None = None, data_dir: Path | None = None
) -> Path:
    """The first ``file_name`` on the model search path (a path with folders is taken as it is)."""
    path = _named(file_name)
    if path.is_absolute() or path.parent != Path("."):
        if path.is_file():
            return path
        raise _not_found([file_name], [])
    folders = model_search_path(models_dir, data_dir)
    for folder in folders:
        if (folder / file_name).is_file():
            return folder / file_name
    raise _not_found([file_name], folders)


def _named(file_name: str) -> Path:
    """``file_name`` as a path, refused where it names no file ("", ".", "/": `--embedder ''` ended in
    'unexpected ValueError: PosixPath('.') has an empty name')."""
    path = Path(file_name)
    if not path.name:
        raise ModelError(f"{file_name!r} names no model file: give an ONNX file's name, e.g. yolo11n-ovint8-dq.onnx")
    return path


def _not_found(names: list[str], folders: list[Path]) -> ModelError:
    where = f" in {', '.join(str(f) for f in folders)}" if folders else ""
    return ModelError(f"model {' or '.join(names)} not found{where}{_how_to_get(names, folders)}")


def _how_to_get(names: list[str], folders: list[Path]) -> str:
    """The fix that exists, with its "; ": the model pack for its files, an export for a .pt that is there, else a
    folder."""
    if any(f.file in names for f in read_pack().files):
        return FETCH_PACK()
    for name in names:
        weights = Path(name).with_suffix(".pt").name
        if any((folder / weights).is_file() for folder in folders):
            return EXPORT_WEIGHTS(weights=weights)
    if not folders:
        return "; check the path"
    return "; put it in one of those folders, or set DECORLENS_MODELS_DIR to a folder that holds it"
