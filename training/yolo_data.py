"""Labelled scenes → a YOLO dataset (images, labels, data.yaml) and COCO JSON of the same boxes.

Ultralytics trains from the YOLO layout; the COCO JSON lets users open and correct the pseudo labels
in other tools (CVAT, Label Studio, FiftyOne). Images are written once, shrunk to at most
``max_side`` so each epoch decodes small JPEGs, and both formats use the written images' pixels.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from PIL import Image

from engine.boxes import scaled
from engine.errors import ModelError, yaml_problem
from engine.files import NotAFile, open_regular, write_atomic
from engine.imageio import load_image
from engine.models import class_names_problem
from training.data import category_name, safe_name
from training.pseudo_labels import SceneLabels

DEFAULT_MAX_SIDE = 640
MIN_BOX = 2.0  # pixels in the written image; thinner boxes are dropped, YOLO cannot learn them
LABEL_SLACK = 0.01  # how far outside 0–1 ultralytics lets a label coordinate lie (rounding)
# A data.yaml is a few lines and the class names (LVIS's 1,203 take 30 KB); a label file is a line of 5 numbers a box
# (a segment's polygon, some hundred numbers): KBs. Files past these are refused before being read, as are FIFOs and
# devices: a label symlinked to /dev/zero was read until memory ran out, a 540 MB one took 1 GB, a FIFO hung.
MAX_DATA_YAML_BYTES = 1 << 20
MAX_LABEL_BYTES = 8 << 20


def write_dataset(
    splits: Mapping[str, Sequence[SceneLabels]], classes: Sequence[str], out: Path, max_side: int = DEFAULT_MAX_SIDE,
) -> Path:
    """Write ``out/images/<split>``, ``out/labels/<split>``, ``out/coco/<split>.json``; return data.yaml."""
    index = {name: i for i, name in enumerate(classes)}
    for split, scenes in splits.items():
        coco = _coco_header(classes)
        for image_id, scene in enumerate(scenes, 1):
            stem = safe_name(scene.scene_id)
            size, boxes = _write_image(scene, out / "images" / split / f"{stem}.jpg", max_side)
            rows = [(index[cat], box) for cat, box in boxes if cat in index]
            _write_labels(out / "labels" / split / f"{stem}.txt", rows, size)
            _add_coco(coco, image_id, f"images/{split}/{stem}.jpg", size, rows)
        (out / "coco").mkdir(parents=True, exist_ok=True)
        write_atomic(out / "coco" / f"{split}.json", json.dumps(coco))
    data_yaml = out / "data.yaml"
    # no "path": ultralytics then resolves the splits beside data.yaml, so the folder can be moved or shared
    spec = {**{s: f"images/{s}" for s in splits}, "names": dict(enumerate(classes))}
    write_atomic(data_yaml, yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return data_yaml


def read_yolo_dataset(data_yaml: Path) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Class names and train labels per class of a YOLO dataset (any tool's), checked before a long run.

    A hand-edited dataset is checked as ultralytics would take it, since ultralytics itself fails late or
    quietly: it runs a ``download`` entry as Python or a shell command when a split folder is missing, skips
    an image whose label has a class id past ``names`` or coordinates outside 0–1 (a warning our quiet run
    never shows), and stops on a missing ``val`` with a SyntaxError. Each is one line here naming the file.
    """
    spec = _read_spec(Path(data_yaml))
    if isinstance(spec, dict) and "download" in spec:
        raise ModelError(f"{data_yaml}: remove its 'download' entry: ultralytics runs it as code when a folder "
                         "is missing")
    names = _class_names(data_yaml, spec.get("names") if isinstance(spec, dict) else None)
    if spec.get("nc", len(names)) != len(names):  # nc is not shown: a YAML alias there can expand to GBs of text
        raise ModelError(f"{data_yaml}: its 'nc' and the {len(names)} 'names' must agree")
    if not isinstance(spec.get("train"), str) or not isinstance(spec.get("path", ""), str | None):
        raise ModelError(f"{data_yaml}: a YOLO data.yaml needs 'names' and a 'train' folder")
    root = Path(data_yaml).parent / (spec.get("path") or "")
    label_dir = root / spec["train"].replace("images", "labels", 1)
    counts = Counter(c for f in sorted(label_dir.glob("*.txt")) for c in _label_classes(f, len(names)))
    if not counts:
        raise ModelError(f"{data_yaml}: no labels in {label_dir}")
    if not isinstance(spec.get("val"), str) or not (root / spec["val"]).exists():
        val = spec.get("val")
        shown = repr(val) if isinstance(val, str) else f"a {type(val).__name__}"  # a list may be an alias bomb
        raise ModelError(f"{data_yaml}: its 'val' names no folder of validation images ({shown})")
    val_labels = root / spec["val"].replace("images", "labels", 1)
    for path in sorted(val_labels.glob("*.txt")):
        _label_classes(path, len(names))
    return names, {names[i]: {"yolo": n} for i, n in sorted(counts.items())}


def _class_names(data_yaml: Path, names: object) -> list[str]:
    """``names`` as a list or a ``{0: name, 1: …}`` mapping of text, each in one Unicode form; anything else is
    refused."""
    if isinstance(names, dict) and set(names) == set(range(len(names))):
        names = [names[i] for i in range(len(names))]
    if not names or not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ModelError(f"{data_yaml}: a YOLO data.yaml needs 'names': a list of class names, or a mapping "
                         "0: name, 1: name, …")
    problem = class_names_problem(names)  # the trained model's card would refuse them, after the whole run
    if problem:
        raise ModelError(f"{data_yaml}: its 'names' {problem}")
    return [category_name(n) for n in names]


def _read_spec(data_yaml: Path) -> object:
    """A data.yaml parsed, read only from a regular file of at most ``MAX_DATA_YAML_BYTES``; errors are one line.

    YAML aliases are not expanded by parsing (they share one object), so a "billion laughs" costs nothing here;
    what the spec holds is checked by type, never shown with ``str``/``repr`` (as ``engine.categories`` does).
    """
    try:
        with open_regular(data_yaml) as fh:
            size = os.fstat(fh.fileno()).st_size
            text = fh.read(MAX_DATA_YAML_BYTES + 1) if size <= MAX_DATA_YAML_BYTES else b""
        if max(size, len(text)) > MAX_DATA_YAML_BYTES:
            raise ModelError(f"{data_yaml}: more than the {MAX_DATA_YAML_BYTES >> 20} MB a YOLO data.yaml can be "
                             f"({max(size, len(text)) / 2**20:.1f} MB)")
        return yaml.safe_load(text.decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise ModelError(f"{data_yaml}: not a readable YOLO data.yaml ({_why(exc, data_yaml)})") from exc


def _label_classes(path: Path, classes: int) -> list[int]:
    """The class id of each ``class cx cy w h`` line (or segment polygon) of one label file, checked.

    Read line by line from a regular file of at most ``MAX_LABEL_BYTES``: a FIFO or a device is refused without
    being read (``open_regular``), a larger file before it is read, and one that grows past the cap meanwhile there.
    """
    found: list[int] = []
    number = 0
    try:
        with open_regular(path) as fh:
            used = os.fstat(fh.fileno()).st_size
            if used <= MAX_LABEL_BYTES:
                used = 0
            while used <= MAX_LABEL_BYTES and (raw := fh.readline(MAX_LABEL_BYTES + 1 - used)):
                used += len(raw)
                # \r and the other breaks ultralytics' splitlines() takes end a line too; bytes that are not UTF-8
                # stay as lone surrogates until the line they are on is known
                for line in raw.decode("utf-8-sig" if number == 0 else "utf-8", "surrogateescape").splitlines():
                    number += 1
                    if not line.isascii() and not _utf8(line):
                        raise ModelError(f"{path}: not a readable label file (line {number} is not UTF-8 text)")
                    if line.strip():
                        found.append(_class_of(path, number, line, classes))
        if used > MAX_LABEL_BYTES:
            raise ModelError(f"{path}: more than the {MAX_LABEL_BYTES >> 20} MB a YOLO label file can be "
                             f"({used / 2**20:.1f} MB)")
    except OSError as exc:
        raise ModelError(f"{path}: not a readable label file ({_why(exc, path)})") from exc
    return found


def _utf8(line: str) -> bool:
    """Whether ``line`` (decoded with ``surrogateescape``) was UTF-8: it has no lone surrogates."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _why(exc: Exception, path: Path) -> str:
    """A reading or parsing error in a few words, without the path ``NotAFile``'s message starts with."""
    if isinstance(exc, NotAFile):
        return str(exc).removeprefix(f"{path}: ")
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, yaml.YAMLError):
        return yaml_problem(exc)
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)


def _class_of(path: Path, number: int, line: str, classes: int) -> int:
    """The class id of line ``number``, a ``class cx cy w h`` (or polygon) line, checked as ultralytics would."""
    try:
        values = [float(v) for v in line.split()]
    except ValueError:
        values = []
    if len(values) < 5 or values[0] % 1 or not 0 <= values[0] < classes:
        raise ModelError(f"{path}, line {number}: expected 'class cx cy w h' with a class 0–{classes - 1}, "
                         f"got {line.strip()[:60]!r}")
    if not all(-LABEL_SLACK <= v <= 1 + LABEL_SLACK for v in values[1:]):
        raise ModelError(f"{path}, line {number}: coordinates must lie in 0–1 (of the image's size), got "
                         f"{line.strip()[:60]!r}")
    return int(values[0])


def _write_image(scene: SceneLabels, path: Path, max_side: int) -> tuple[tuple[int, int], list]:
    """The scene shrunk to ``max_side`` (EXIF-rotated as the engine reads it) and its boxes scaled."""
    pixels = load_image(scene.image, max_side=max_side)
    h, w = pixels.shape[:2]
    sx, sy = w / scene.width, h / scene.height
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=92)
    boxes = [(lab.category, scaled(lab.box, sx, sy)) for lab in scene.labels]
    return (w, h), [(c, _clip(b, w, h)) for c, b in boxes if _valid(_clip(b, w, h))]


def _clip(box: Sequence[float], w: int, h: int) -> tuple[float, float, float, float]:
    return (min(max(box[0], 0), w), min(max(box[1], 0), h), min(max(box[2], 0), w), min(max(box[3], 0), h))


def _valid(box: Sequence[float]) -> bool:
    return box[2] - box[0] >= MIN_BOX and box[3] - box[1] >= MIN_BOX


def _write_labels(path: Path, rows: Sequence[tuple[int, Sequence[float]]], size: tuple[int, int]) -> None:
    """One ``class cx cy w h`` line per box, normalised to the image (an empty file: no objects)."""
    w, h = size
    lines = [
        f"{c} {(b[0] + b[2]) / 2 / w:.6f} {(b[1] + b[3]) / 2 / h:.6f} {(b[2] - b[0]) / w:.6f} {(b[3] - b[1]) / h:.6f}"
        for c, b in rows
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


def _coco_header(classes: Sequence[str]) -> dict:
    return {
        "info": {"description": "DecorLens pseudo labels"},
        "images": [],
        "annotations": [],
        "categories": [{"id": i + 1, "name": name} for i, name in enumerate(classes)],
    }


def _add_coco(coco: dict, image_id: int, file_name: str, size: tuple[int, int], rows) -> None:
    coco["images"].append({"id": image_id, "file_name": file_name, "width": size[0], "height": size[1]})
    for c, (x1, y1, x2, y2) in rows:
        coco["annotations"].append({
            "id": len(coco["annotations"]) + 1, "image_id": image_id, "category_id": c + 1,
            "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
            "area": round((x2 - x1) * (y2 - y1), 2), "iscrowd": 0,
        })
