"""Labelled scenes → a YOLO dataset (images, labels, data.yaml) and COCO JSON of the same boxes.

Ultralytics trains from the YOLO layout; the COCO JSON lets users open and correct the pseudo labels
in other tools (CVAT, Label Studio, FiftyOne). Images are written once, shrunk to at most
``max_side`` so each epoch decodes small JPEGs, and both formats use the written images' pixels.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from PIL import Image

from engine.errors import ModelError
from engine.files import write_atomic
from engine.imageio import load_image
from training.data import safe_name
from training.pseudo_labels import SceneLabels

DEFAULT_MAX_SIDE = 640
MIN_BOX = 2.0  # pixels in the written image; thinner boxes are dropped, YOLO cannot learn them


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
    """Class names and train labels per class of a YOLO dataset (any tool's), checked before a long run."""
    try:
        spec = yaml.safe_load(Path(data_yaml).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"{data_yaml}: not a readable YOLO data.yaml ({exc})") from exc
    names = spec.get("names") if isinstance(spec, dict) else None
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    if not names or not isinstance(spec.get("train"), str):
        raise ModelError(f"{data_yaml}: a YOLO data.yaml needs 'names' and a 'train' folder")
    root = Path(data_yaml).parent / spec.get("path", "")
    label_dir = root / spec["train"].replace("images", "labels", 1)
    counts = Counter(int(line.split()[0]) for f in sorted(label_dir.glob("*.txt"))
                     for line in f.read_text().splitlines() if line.strip())
    if not counts:
        raise ModelError(f"{data_yaml}: no labels in {label_dir}")
    return list(names), {names[i]: {"yolo": n} for i, n in sorted(counts.items()) if i < len(names)}


def _write_image(scene: SceneLabels, path: Path, max_side: int) -> tuple[tuple[int, int], list]:
    """The scene shrunk to ``max_side`` (EXIF-rotated as the engine reads it) and its boxes scaled."""
    pixels = load_image(scene.image, max_side=max_side)
    h, w = pixels.shape[:2]
    sx, sy = w / scene.width, h / scene.height
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=92)
    boxes = [(lab.category, (lab.box[0] * sx, lab.box[1] * sy, lab.box[2] * sx, lab.box[3] * sy))
             for lab in scene.labels]
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
