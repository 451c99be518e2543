"""The app's corrections as training data: scene–product pairs for the embedder, boxes for the detector.

The app saves every edited photo as ``<data dir>/corrections/<stem>-<sha[:16]>.json``
(``decorlens-corrections/1``, see ``engine/corrections.py``). Read here as what a merchandiser taught:

- a *confirmed* product on a visible tag is a pair (scene, product, category, box): the box comes
  with it, so the embedder trains on exactly the crop the user looked at, no detection needed;
- every *visible* tag of an edited photo is a detector label, with the category as corrected (a drawn
  box included): the user looked at the photo and kept it;
- a *removed* tag is a negative. The YOLO format has no negative boxes, so a removed box is simply
  not a label: in a labelled image every unlabelled region is background, which is what a removed
  false positive is. (Pseudo labelling, ``training.pseudo_labels.merge_user``, also drops any pseudo
  label on a removed box.)

The pairs are written in the layout ``decorlens train --data`` reads (``products.csv``, ``pairs.csv``
with boxes, ``scenes.csv`` naming the photos where they are), so the CLI and the app train on the same
folder. This module reads the JSON itself: ``training`` does not import the app.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from engine import corrections_file
from engine.boxes import four_numbers
from engine.corrections_file import FOLDER, MOVED_ASIDE, USER
from engine.files import write_atomic
from training.data import PairDataset, split_of
from training.pseudo_labels import Label, SceneLabels
from training.yolo_data import write_dataset


@dataclass(frozen=True)
class CorrectedTag:
    number: int
    category: str
    box: tuple[float, float, float, float]
    origin: str  # "detector" or "user" (drawn by hand)
    confirmed_sku: str
    removed: bool


@dataclass
class CorrectedPhoto:
    """One corrections file: the photo where it was last opened and the user's tags."""

    scene_id: str  # the corrections file's stem: unique per photo content
    image: Path
    width: int
    height: int
    tags: list[CorrectedTag]

    @property
    def kept(self) -> list[CorrectedTag]:
        return [t for t in self.tags if not t.removed]

    @property
    def removed(self) -> list[CorrectedTag]:
        return [t for t in self.tags if t.removed]


@dataclass
class AppData:
    """What the app's corrections teach, with what had to be left out and why."""

    photos: list[CorrectedPhoto]
    pairs: list[tuple[str, str, str, tuple[float, ...]]]  # scene id, sku, category, box
    missing_photos: list[str] = field(default_factory=list)  # corrections whose photo is gone
    unknown_products: list[str] = field(default_factory=list)  # confirmed SKUs the catalog no longer has
    unreadable: list[str] = field(default_factory=list)  # corrections files that cannot be read

    def pairs_per_category(self) -> Counter:
        return Counter(category for _s, _p, category, _b in self.pairs)

    def boxes_per_category(self) -> Counter:
        return Counter(t.category for p in self.photos for t in p.kept)

    @property
    def removed_count(self) -> int:
        return sum(len(p.removed) for p in self.photos)

    def scene_labels(self) -> list[SceneLabels]:
        """Detector labels: every kept tag, in its corrected category; removed tags are background."""
        return [
            SceneLabels(p.scene_id, p.image, p.width, p.height,
                        [Label(t.box, t.category, USER, t.confirmed_sku) for t in p.kept])
            for p in self.photos
        ]


class Corrections(NamedTuple):
    photos: list[CorrectedPhoto]  # whose photo still exists
    missing: list[str]  # files whose photo is gone
    unreadable: list[str]  # files that cannot be read as corrections


def read_photos(data_dir: Path) -> Corrections:
    """Every corrections file in ``data_dir``, by whether it can be trained on.

    A file the app already moved aside (``.unreadable.json``) is not counted again: it said so then.
    """
    found = Corrections([], [], [])
    folder = Path(data_dir) / FOLDER
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name.endswith(MOVED_ASIDE):
            continue
        photo = _read(path)
        if photo is None:
            found.unreadable.append(path.name)
        elif _is_file(photo.image):
            found.photos.append(photo)
        else:
            found.missing.append(path.name)
    return found


def _is_file(path: Path) -> bool:
    """Whether the photo is there; a name too long for the file system is not (``is_file`` raised an OSError
    for it, and one such corrections file stopped training)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _read(path: Path) -> CorrectedPhoto | None:
    """The photo of one corrections file, or ``None`` when it cannot be read as one (``corrections_file.read``:
    a FIFO, a device, an oversized or too deeply nested file is refused there, without blocking or reading on)."""
    try:
        data = corrections_file.read(path)
        tags = [_tag(o, False) for o in data["objects"]] + [_tag(o, True) for o in data.get("removed", [])]
        return CorrectedPhoto(path.stem, Path(data["image"]), *corrections_file.image_size(data),
                              sorted(tags, key=lambda t: t.number))
    except (corrections_file.Unreadable, ValueError, KeyError, TypeError, AttributeError, OverflowError):
        return None


def _tag(entry: dict, removed: bool) -> CorrectedTag:
    return CorrectedTag(int(entry["number"]), str(entry["category"]), four_numbers(entry["box"]),
                        entry.get("origin", "detector"), str(entry.get("confirmed_sku") or ""), removed)


def collect(data_dir: Path, catalog_skus: Iterable[str]) -> AppData:
    """Pairs from confirmed products the catalog still has, and the photos for detector labels."""
    photos, missing, unreadable = read_photos(data_dir)
    known = set(catalog_skus)
    pairs, unknown = [], []
    for photo in photos:
        for tag in photo.kept:
            if not tag.confirmed_sku:
                continue
            if tag.confirmed_sku in known:
                pairs.append((photo.scene_id, tag.confirmed_sku, tag.category, tag.box))
            else:
                unknown.append(tag.confirmed_sku)
    return AppData(photos, pairs, missing, sorted(set(unknown)), unreadable)


def write_pairs_folder(
    data: AppData, products: Iterable[tuple[str, str, str]], out: Path, extra: Path | None = None, seed: int = 0
) -> Path:
    """``out/products.csv``, ``pairs.csv`` (with boxes) and ``scenes.csv``: what ``train --data`` reads.

    ``products`` are the catalog's (sku, category, image path). ``extra`` is a dataset folder of the
    same layout whose pairs, scenes and products are added (the catalog's row wins for a shared id).
    Paths are absolute, so the folder names the photos where they are instead of copying them.
    """
    rows = {sku: (sku, category, str(Path(image).resolve())) for sku, category, image in products}
    pairs = [(s, p, c, *_cells(box)) for s, p, c, box in data.pairs]
    scenes = {p.scene_id: str(p.image.resolve()) for p in data.photos if any(s == p.scene_id for s, *_ in pairs)}
    if extra is not None:
        dataset = PairDataset.load(extra)
        for product in dataset.products.values():
            rows.setdefault(product.id, (product.id, product.category, "|".join(str(i.resolve()) for i in product.images)))
        pairs += [(p.scene_id, p.product_id, p.category, *_cells(p.box)) for p in dataset.pairs]
        scenes.update({s: str(Path(i).resolve()) for s, i in dataset.scenes.items()})
    pairs, scenes = _a_validation_photo(pairs, scenes, {p.scene_id for p in data.photos}, seed)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "products.csv", ("product_id", "category", "image"), sorted(rows.values()))
    _write_csv(out / "pairs.csv", ("scene_id", "product_id", "category", "x1", "y1", "x2", "y2"), pairs)
    _write_csv(out / "scenes.csv", ("scene_id", "image"), sorted(scenes.items()))
    return out


def _a_validation_photo(
    pairs: list[tuple[str, ...]], scenes: dict[str, str], movable: set[str], seed: int
) -> tuple[list[tuple[str, ...]], dict[str, str]]:
    """One photo to check each epoch on where the scene hash set none aside for validation: with 12 corrected
    photos (the Train window asks for 10) it sets none aside about 1 time in 4, and the run stopped after
    preparing its data with "no validation pair can be detected; add scenes or try another --seed". The last
    training photo corrected in the app, by id, takes an id the hash sends to val: the same one on every run
    while no other photo is in val."""
    if any(split_of(s, seed) == "val" for s in scenes):
        return pairs, scenes
    training = sorted(s for s in scenes if s in movable and split_of(s, seed) == "train")
    if len(training) < 2:
        return pairs, scenes
    old = training[-1]
    new = next(f"{old}~{n}" for n in itertools.count(1) if split_of(f"{old}~{n}", seed) == "val")
    renamed = lambda scene: new if scene == old else scene
    return [(renamed(s), *rest) for s, *rest in pairs], {renamed(s): image for s, image in scenes.items()}


def write_detector_folder(data: AppData, out: Path, seed: int = 0, min_labels: int = 1) -> Path | None:
    """A YOLO dataset of the corrected photos (train/val by the same scene hash as embedder training).

    Classes are the categories with at least ``min_labels`` boxes; returns ``data.yaml``, or ``None``
    when there is nothing to label.
    """
    scenes = data.scene_labels()
    counts = Counter(label.category for s in scenes for label in s.labels)
    classes = sorted(c for c, n in counts.items() if n >= min_labels)
    if not classes:
        return None
    splits: dict[str, list[SceneLabels]] = {"train": [], "val": []}
    for scene in scenes:
        splits["val" if split_of(scene.scene_id, seed) != "train" else "train"].append(scene)
    return write_dataset(_neither_empty(splits), classes, out)


def _neither_empty(splits: dict[str, list[SceneLabels]]) -> dict[str, list[SceneLabels]]:
    """Train and val each with a photo where there are two or more: the scene hash sends all of a few corrected
    photos to one split about as often as not (5 photos: 1 time in 6 to train alone), and ultralytics stops
    without a val photo. The last photo of the full split, by id, moves over: the same one on every run."""
    full, empty = sorted(splits, key=lambda name: len(splits[name]), reverse=True)
    if splits[empty] or len(splits[full]) < 2:
        return splits
    moved = max(splits[full], key=lambda scene: scene.scene_id)
    return {full: [s for s in splits[full] if s is not moved], empty: [moved]}


def _cells(box: Sequence[float] | None) -> tuple[str, ...]:
    return tuple(f"{v:.1f}" for v in box) if box else ("", "", "", "")


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_atomic(path, buffer.getvalue())
