"""Training data from a dataset folder: scenes, products and "this product is in this scene" pairs.

The folder has the layout of ``../shared/datasets/*`` (and of a user's own tagged scenes exported):
``pairs.csv`` (scene_id, product_id, category[, x1, y1, x2, y2]), ``products.csv`` (product_id,
category, image), ``scenes.csv`` (scene_id, image) and optionally ``duplicate_images.csv`` (group,
product_id). A training example is an *anchor* (the object as it looks in a room photo) and a
*positive* (the product's catalog photo); the other products in a batch are the negatives.

Pairs rarely come with boxes, so anchors are found the way the app finds objects: the engine's
detectors run on the scene, and each product takes the detection of a category that searches its
catalog category whose crop looks most like the product under the pretrained embedder (one
detection per product, best cosine first). Detections and choices are cached per scene on disk, so
rerunning costs a JSON read. Splits are by scene, so no room photo is in two splits.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.boxes import four_numbers
from engine.crops import crop as cut_crop
from engine.crops import crops as cut_crops
from engine.crops import to_decoded, to_photo
from engine.errors import Cancelled, DecorLensError
from engine.files import write_atomic
from engine.imageio import load_image, photo_size
from engine.results import Box, Detection
from training.fingerprint import DETECTION_CODE, code_digest

SPLITS = {"train": 0.7, "val": 0.1, "test": 0.2}  # share of scenes per split
MAX_PAD = 80 / 256  # augmentation re-crops with 0–80 px of context around a box scaled to 256 px
CONTEXT_SIDE = 320  # stored anchor context is at most this big: the model sees 224 px
PRODUCT_SIDE = 256
DEFAULT_MIN_COSINE = 0.5  # below this the "best" detection is often another object (see docs/training.md)
Progress = Callable[[int, int], None]
IsCancelled = Callable[[], bool]  # checked between scenes; True stops the work


@dataclass(frozen=True)
class Product:
    id: str
    category: str
    images: tuple[Path, ...]  # the first is the iconic catalog photo


@dataclass(frozen=True)
class Pair:
    scene_id: str
    product_id: str
    category: str
    box: Box | None = None


@dataclass(frozen=True)
class Anchor:
    """Where a product is seen: an image, a box in it, and how sure the box is."""

    product_id: str
    category: str
    image: Path
    box: Box
    cosine: float  # pretrained crop↔product similarity; 1.0 for given boxes and catalog photos
    scene_id: str = ""  # empty for anchors taken from the catalog's extra photos


class DatasetError(DecorLensError):
    """The dataset folder is missing a file or column, or names images that do not exist."""


@dataclass
class PairDataset:
    root: Path
    scenes: dict[str, Path]
    products: dict[str, Product]
    pairs: list[Pair]
    same: dict[str, str]  # product id → the id standing for its group of byte-identical images

    @classmethod
    def load(cls, root: Path) -> PairDataset:
        root = Path(root)
        if root.is_file():  # "feed.csv: no products.csv" read as if the file were a folder missing one
            raise DatasetError(f"{root} is a file: give a dataset folder (pairs.csv, products.csv, scenes.csv)")
        if not (root / "products.csv").is_file():
            raise DatasetError(f"{root}: no products.csv (expected pairs.csv, products.csv, scenes.csv)")
        products = _read_products(root)
        pairs_file = root / "pairs.csv"
        pairs = _read_pairs(pairs_file, products) if pairs_file.is_file() else []
        scenes = _read_scenes(root, pairs)
        _check_scenes_listed(root, pairs, scenes)
        return cls(root, scenes, products, pairs, _read_duplicates(root))

    def digest(self) -> str:
        """sha256 over the CSV files: identifies the data a model was trained on (its card says it)."""
        digest = hashlib.sha256()
        for name in ("pairs.csv", "products.csv", "scenes.csv", "duplicate_images.csv"):
            path = self.root / name
            digest.update(name.encode() + (path.read_bytes() if path.is_file() else b""))
        return digest.hexdigest()

    def canonical(self, product_id: str) -> str:
        return self.same.get(product_id, product_id)

    def pairs_in(self, split: str, seed: int = 0) -> list[Pair]:
        return [p for p in self.pairs if split_of(p.scene_id, seed) == split]

    def scenes_in(self, split: str, seed: int = 0) -> list[str]:
        return sorted({p.scene_id for p in self.pairs_in(split, seed)})

    def held_out_products(self, seed: int = 0) -> set[str]:
        """The products (canonical ids) a validation or test pair shows: training that makes up its own
        views of catalog products leaves these out, so "unseen" stays unseen."""
        return {self.canonical(p.product_id) for s in ("val", "test") for p in self.pairs_in(s, seed)}


def split_of(scene_id: str, seed: int = 0) -> str:
    """The split of a scene from a hash of (seed, id): stable when scenes are added or removed.

    A shuffled list would move old test scenes into training the day a user adds photos.
    """
    digest = hashlib.sha256(f"{seed}:{scene_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for split, share in SPLITS.items():
        edge += share
        if u < edge:
            return split
    return split


# -- reading the CSVs -----------------------------------------------------------------------------


def _rows(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    """The rows of a CSV, each cell stripped. A file a spreadsheet saved in another encoding, or with a
    broken quote, is a DatasetError naming it: the csv module's own error names neither file nor fix."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        try:
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
            return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{path}: not UTF-8 text ({exc.reason}); save it again as CSV UTF-8") from exc
        except csv.Error as exc:
            raise DatasetError(f"{path}, line {reader.line_num}: not readable as CSV ({exc})") from exc


def category_name(text: str) -> str:
    """A category or class name as one Unicode form (NFC): "Fauteuils_été" typed in a spreadsheet and the same
    name read from a macOS folder (decomposed, "e" + accent) are one name, so the detector trained on it, its card,
    the category map it adds to and the catalog's products all agree, and no print shows the accent apart."""
    return unicodedata.normalize("NFC", text)


def _read_products(root: Path) -> dict[str, Product]:
    """Products; several rows with one id, or ``a.jpg|b.jpg``, give a product several photos."""
    images: dict[str, list[Path]] = defaultdict(list)
    categories: dict[str, str] = {}
    for row in _rows(root / "products.csv", ("product_id", "category", "image")):
        categories.setdefault(row["product_id"], category_name(row["category"]))
        images[row["product_id"]] += [root / part for part in row["image"].split("|") if part]
    return {pid: Product(pid, categories[pid], tuple(paths)) for pid, paths in images.items() if paths}


def _read_pairs(path: Path, products: dict[str, Product]) -> list[Pair]:
    pairs = []
    for row_number, row in enumerate(_rows(path, ("scene_id", "product_id")), 2):
        product = products.get(row["product_id"])
        if product is None:
            continue  # a pair whose product has no photo cannot be trained on or scored
        box = _box(row, f"{path}, row {row_number}")
        pairs.append(Pair(row["scene_id"], product.id, category_name(row.get("category") or product.category), box))
    return pairs


def _box(row: dict[str, str], where: str) -> Box | None:
    """The row's x1, y1, x2, y2 (pixels, top-left and bottom-right corners), or None when it has none.

    A box that is not four finite numbers with x2 > x1 and y2 > y1 (text, NaN, a width in x2, a cell
    left empty) is refused: it would crop another region or nothing, and training would fail far from here.
    """
    values = [row.get(k, "") for k in ("x1", "y1", "x2", "y2")]
    if not any(values):
        return None
    try:
        x1, y1, x2, y2 = four_numbers(values)
    except ValueError:  # text, NaN, infinity or an empty cell
        x1 = y1 = x2 = y2 = 0.0
    if not (x2 > x1 and y2 > y1):
        raise DatasetError(f"{where}: the box (x1, y1, x2, y2) = {tuple(values)} is not a box; give the top-left "
                           "and bottom-right corners in pixels (x2 > x1, y2 > y1), or leave all four empty")
    return (x1, y1, x2, y2)


def _read_scenes(root: Path, pairs: Iterable[Pair]) -> dict[str, Path]:
    """Scene id → image: ``scenes.csv`` when present, else ``scenes/<id>.jpg``."""
    path = root / "scenes.csv"
    if path.is_file():
        return {r["scene_id"]: root / r["image"] for r in _rows(path, ("scene_id", "image"))}
    return {p.scene_id: root / "scenes" / f"{p.scene_id}.jpg" for p in pairs}


def _check_scenes_listed(root: Path, pairs: Iterable[Pair], scenes: dict[str, Path]) -> None:
    """Refuse pairs naming a scene that scenes.csv does not list: scoring or training failed on it later, as a
    bare KeyError."""
    unlisted = sorted({p.scene_id for p in pairs} - scenes.keys())
    if unlisted:
        more = f" and {len(unlisted) - 1} more" if len(unlisted) > 1 else ""
        raise DatasetError(f"{root / 'pairs.csv'}: scene {unlisted[0]!r}{more} not in scenes.csv; add it there "
                           "or remove its pairs")


def _read_duplicates(root: Path) -> dict[str, str]:
    path = root / "duplicate_images.csv"
    if not path.is_file():
        return {}
    groups: dict[str, list[str]] = defaultdict(list)
    for row in _rows(path, ("group", "product_id")):
        groups[row["group"]].append(row["product_id"])
    return {pid: min(ids) for ids in groups.values() for pid in ids}


# -- anchors --------------------------------------------------------------------------------------


def find_anchors(
    dataset: PairDataset,
    pairs: Sequence[Pair],
    pipeline,
    cache_dir: Path,
    conf: float | None = 0.1,
    min_cosine: float = DEFAULT_MIN_COSINE,
    progress: Progress | None = None,
    cancelled: IsCancelled = lambda: False,
) -> list[Anchor]:
    """One anchor per pair that has a given box or a convincing detection.

    ``pipeline`` is an ``engine.pipeline.Pipeline``: its detectors, category map, crop padding and
    embedder decide the boxes, exactly as the app would cut them.
    """
    by_scene: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        by_scene[pair.scene_id].append(pair)
    key = _cache_key(pipeline, conf)
    anchors: list[Anchor] = []
    for done, (scene_id, scene_pairs) in enumerate(sorted(by_scene.items()), 1):
        if cancelled():
            raise Cancelled("finding training crops cancelled; what was found so far is cached")
        found = _scene_anchors(dataset, scene_id, scene_pairs, pipeline, cache_dir, key, conf)
        anchors += [a for a in found if a.cosine >= min_cosine]
        if progress:
            progress(done, len(by_scene))
    return anchors


def _cache_key(pipeline, conf: float | None) -> str:
    return cache_key(pipeline, DETECTION_CODE, conf=conf)


def cache_key(pipeline, code: tuple[str, ...], **settings) -> str:
    """What a scene's cached detections or labels depend on: the code, the models, the category map's
    detection sections, the crop padding."""
    named = [f"{name}={value}" for name, value in settings.items()]
    padding = f"pad={pipeline.settings.padding}"
    categories = f"map={pipeline.categories.detection_digest()}"
    return "|".join([code_digest(code), pipeline.detector.name, *named, categories, padding, pipeline.embedder.key])


def catalog_anchors(dataset: PairDataset) -> list[Anchor]:
    """The fallback without scenes: each extra photo of a product is an anchor for its first photo."""
    return [
        Anchor(p.id, p.category, image, _whole(image), 1.0)
        for p in dataset.products.values()
        for image in p.images[1:]
    ]


def _whole(image: Path) -> Box:
    w, h = photo_size(load_image(image))  # anchors are in the photo's own pixels, as pairs.csv's boxes
    return (0.0, 0.0, float(w), float(h))


def _scene_anchors(
    dataset: PairDataset, scene_id: str, pairs: list[Pair], pipeline, cache_dir: Path, key: str, conf: float | None
) -> list[Anchor]:
    image_path = dataset.scenes.get(scene_id)
    if image_path is None:
        return []
    given = [Anchor(p.product_id, p.category, image_path, p.box, 1.0, scene_id) for p in pairs if p.box]
    unboxed = [p for p in pairs if p.box is None]
    if not unboxed:
        return given
    cache = _SceneCache(cache_dir, scene_id, key)
    chosen = cache.anchors([p.product_id for p in unboxed])
    if chosen is None:
        image = load_image(image_path)
        chosen = _assign(dataset, image, cache.detections(image, pipeline, conf), unboxed, pipeline)
        cache.save(anchors=chosen)
    found = [(p, chosen[p.product_id]) for p in unboxed if chosen.get(p.product_id)]
    return given + [Anchor(p.product_id, p.category, image_path, tuple(box), cos, scene_id) for p, (box, cos) in found]


def _assign(
    dataset: PairDataset, image: np.ndarray, detections: list[Detection], pairs: list[Pair], pipeline
) -> dict[str, tuple[Box, float] | None]:
    """Greedy one-to-one assignment of detections to products by pretrained cosine."""
    chosen: dict[str, tuple[Box, float] | None] = {p.product_id: None for p in pairs}
    if not detections:
        return chosen
    crops = cut_crops(image, [d.box for d in detections], pipeline.settings.padding)
    det_vectors = pipeline.embedder.embed(crops)
    products = [dataset.products[p.product_id] for p in pairs]
    prod_vectors = pipeline.embedder.embed([load_image(p.images[0], max_side=1024) for p in products])
    cosine = prod_vectors @ det_vectors.T
    covers = np.array([
        [pipeline.categories.covers({d.category}, p.category) for d in detections] for p in pairs
    ])
    cosine = np.where(covers, cosine, -np.inf)
    while np.isfinite(cosine).any():
        i, j = np.unravel_index(int(np.argmax(cosine)), cosine.shape)
        chosen[pairs[i].product_id] = (to_photo(image, detections[j].box), float(cosine[i, j]))
        cosine[i, :] = -np.inf
        cosine[:, j] = -np.inf
    return chosen


class _SceneCache:
    """One JSON per scene: the detections and the anchors chosen among them, for one setting ``key``."""

    def __init__(self, cache_dir: Path, scene_id: str, key: str):
        self.path = cache_dir / f"{safe_name(scene_id)}.json"
        self.key = key
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            data = {}
        self.data = data if data.get("key") == key else {"key": key}

    def anchors(self, product_ids: list[str]) -> dict[str, tuple[Box, float] | None] | None:
        stored = self.data.get("anchors", {})
        if not set(product_ids) <= set(stored):
            return None
        return {pid: (tuple(v[0]), v[1]) if v else None for pid, v in stored.items()}

    def detections(self, image: np.ndarray, pipeline, conf: float | None) -> list[Detection]:
        if "detections" not in self.data:
            found = pipeline.detector.detect(image, conf)
            self.save(detections=[[*d.box, d.category, d.score, d.label, d.source] for d in found])
        return [Detection(tuple(r[:4]), r[5], r[6], r[4], r[7]) for r in self.data["detections"]]

    def save(self, **parts) -> None:
        for name, value in parts.items():
            if name == "anchors":
                value = {k: list(v) if v else None for k, v in value.items()}
            self.data[name] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(self.data))


def safe_name(name: str) -> str:
    """A file name for an id: readable, and a hash so ids that differ only in odd characters never collide."""
    short = hashlib.sha1(name.encode()).hexdigest()[:8]
    return re.sub(r"[^\w.-]", "_", name)[:80] + "-" + short


# -- images in memory and augmentation ------------------------------------------------------------


@dataclass
class Example:
    """An anchor's context crop in memory: the box plus MAX_PAD of context, at most CONTEXT_SIDE."""

    pixels: np.ndarray
    box: Box  # the object inside ``pixels``
    label: int
    origin: str = "scene"  # or "composite-v…" (training.composites); part of the view cache key


@dataclass
class TrainingSet:
    """What the loop trains on: anchors in memory, one photo per product label, labels' categories."""

    examples: list[Example]
    products: list[np.ndarray]  # label → iconic product photo (≤ PRODUCT_SIDE)
    product_ids: list[str]  # label → product id
    categories: list[str]  # label → catalog category

    @property
    def example_categories(self) -> list[str]:
        return [self.categories[e.label] for e in self.examples]


def load_training_set(dataset: PairDataset, anchors: Sequence[Anchor]) -> TrainingSet:
    """Decode every anchor's context and every product photo once (a few hundred MB at most)."""
    product_ids = sorted({dataset.canonical(a.product_id) for a in anchors})
    label = {pid: i for i, pid in enumerate(product_ids)}
    examples = []
    for image, group in _by_image(anchors).items():
        pixels = load_image(image)
        examples += [context_example(pixels, _inside(a, pixels), label[dataset.canonical(a.product_id)])
                     for a in group]
    products = list(LazyImages([dataset.products[pid].images[0] for pid in product_ids]))
    categories = [dataset.products[pid].category for pid in product_ids]
    return TrainingSet(examples, products, product_ids, categories)


def _inside(anchor: Anchor, pixels: np.ndarray) -> Box:
    """The anchor's box, in the photo's own pixels (pairs.csv's, the app's corrections), clipped to the photo and
    brought to ``pixels`` (a photo past ``MAX_SIDE`` is decoded smaller). A given box wholly outside it (drawn on
    another size of the photo, say) is refused naming the photo: it would crop nothing and stop training with a
    ZeroDivisionError."""
    w, h = photo_size(pixels)
    x1, y1, x2, y2 = anchor.box
    box = (min(max(x1, 0.0), w), min(max(y1, 0.0), h), min(max(x2, 0.0), w), min(max(y2, 0.0), h))
    if box[2] - box[0] < 1 or box[3] - box[1] < 1:
        raise DatasetError(f"{anchor.image}: the box {','.join(f'{v:g}' for v in anchor.box)} of product "
                           f"{anchor.product_id} lies outside the photo ({w}×{h} pixels)")
    return to_decoded(pixels, box)


def _by_image(anchors: Iterable[Anchor]) -> dict[Path, list[Anchor]]:
    groups: dict[Path, list[Anchor]] = defaultdict(list)
    for a in anchors:
        groups[a.image].append(a)
    return groups


def context_example(image: np.ndarray, box: Box, label: int, origin: str = "scene") -> Example:
    """Keep the box and the most context augmentation can ask for, scaled down to CONTEXT_SIDE."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * MAX_PAD, (y2 - y1) * MAX_PAD
    left, top = int(max(0, np.floor(x1 - dx))), int(max(0, np.floor(y1 - dy)))
    right, bottom = int(min(w, np.ceil(x2 + dx))), int(min(h, np.ceil(y2 + dy)))
    context = image[top:bottom, left:right]
    scale = min(1.0, CONTEXT_SIDE / max(context.shape[:2]))
    context = _resize(context, scale)
    inner = ((x1 - left) * scale, (y1 - top) * scale, (x2 - left) * scale, (y2 - top) * scale)
    return Example(context, inner, label, origin)


def shrink(image: np.ndarray, side: int) -> np.ndarray:
    return _resize(image, min(1.0, side / max(image.shape[:2])))


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    if scale >= 1.0:
        return np.ascontiguousarray(image)
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def anchor_view(example: Example, rng: np.random.Generator | None, padding: float) -> np.ndarray:
    """The anchor as training sees it: re-cropped with random context, flipped, colour-jittered.

    Without ``rng`` it is the crop the app would cut (``padding`` of context, no jitter), which is
    what validation measures.
    """
    if rng is None:
        return cut_crop(example.pixels, example.box, padding)
    view = cut_crop(example.pixels, example.box, float(rng.uniform(0.0, MAX_PAD)))
    return jitter(view, rng)


def product_view(image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    return image if rng is None else jitter(image, rng)


def jitter(image: np.ndarray, rng: np.random.Generator, strength: float = 0.2) -> np.ndarray:
    """Random horizontal flip, then brightness, contrast and saturation each scaled by 1 ± strength."""
    out = image[:, ::-1] if rng.random() < 0.5 else image
    out = out.astype(np.float32) * rng.uniform(1 - strength, 1 + strength)
    mean = out.mean()
    out = (out - mean) * rng.uniform(1 - strength, 1 + strength) + mean
    grey = out.mean(axis=2, keepdims=True)
    out = (out - grey) * rng.uniform(1 - strength, 1 + strength) + grey
    return np.clip(out, 0, 255).astype(np.uint8)


# -- validation: scenes scored as the app searches them -------------------------------------------


class LazyImages(Sequence):
    """Catalog photos decoded when asked for (once their trunk features are cached, never)."""

    def __init__(self, paths: Sequence[Path], side: int = PRODUCT_SIDE):
        self.paths, self.side = list(paths), side

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        return shrink(load_image(self.paths[index], max_side=1024), self.side)


@dataclass
class ValidationSet:
    """Validation scenes scored the way ``decorlens eval`` scores them, to choose the best epoch.

    Every detection that could answer a pair is a query; a pair counts as found at rank r when its
    product is r-th, for any of its queries, among the catalog's products in the categories that
    query's category searches. Unlike training anchors, nothing here is picked by the pretrained
    embedder, so validation is not biased towards what it already finds.
    """

    queries: list[Example]
    searched: list[tuple[str, ...]]  # per query: the catalog categories the app searches for it
    pairs: list[tuple[int, list[int]]]  # (gallery index of the product, indices of its queries)
    gallery_ids: list[str]  # the whole catalog, byte-identical duplicates once
    gallery_categories: list[str]
    gallery: LazyImages


def validation_set(
    dataset: PairDataset, pairs: Sequence[Pair], pipeline, cache_dir: Path, conf: float | None = 0.1,
    progress: Progress | None = None, cancelled: IsCancelled = lambda: False, gallery: Iterable[str] | None = None,
) -> ValidationSet:
    """``gallery``: the product ids ranked (default: the whole catalog, as search ranks them)."""
    ids = sorted({dataset.canonical(pid) for pid in (dataset.products if gallery is None else gallery)})
    index = {pid: i for i, pid in enumerate(ids)}
    by_scene: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        by_scene[pair.scene_id].append(pair)
    queries: list[Example] = []
    searched: list[tuple[str, ...]] = []
    scored: list[tuple[int, list[int]]] = []
    covers = pipeline.categories.covers
    key = _cache_key(pipeline, conf)
    for done, (scene_id, scene_pairs) in enumerate(sorted(by_scene.items()), 1):
        if cancelled():
            raise Cancelled("preparing validation cancelled")
        image = load_image(dataset.scenes[scene_id])
        detections = _SceneCache(cache_dir, scene_id, key).detections(image, pipeline, conf)
        slot: dict[int, int] = {}
        for pair in scene_pairs:
            covering = [j for j, d in enumerate(detections) if covers({d.category}, pair.category)]
            for j in covering:
                if j not in slot:
                    slot[j] = len(queries)
                    queries.append(context_example(image, detections[j].box, -1))
                    searched.append(pipeline.categories.searched(detections[j].category))
            if covering:
                scored.append((index[dataset.canonical(pair.product_id)], [slot[j] for j in covering]))
        if progress:
            progress(done, len(by_scene))
    photos = LazyImages([dataset.products[pid].images[0] for pid in ids])
    return ValidationSet(queries, searched, scored, ids, [dataset.products[pid].category for pid in ids], photos)


def _anchor_example(anchor: Anchor) -> Example:
    """A query of the anchor's photo: its box (in the photo's own pixels) brought to the pixels decoded."""
    pixels = load_image(anchor.image)
    return context_example(pixels, _inside(anchor, pixels), -1)


def catalog_validation_set(dataset: PairDataset, anchors: Sequence[Anchor]) -> ValidationSet:
    """Without scenes: each held-out extra photo is a query for its product, within the product's category."""
    ids = sorted({dataset.canonical(pid) for pid in dataset.products})
    index = {pid: i for i, pid in enumerate(ids)}
    queries = [_anchor_example(a) for a in anchors]
    pairs = [(index[dataset.canonical(a.product_id)], [i]) for i, a in enumerate(anchors)]
    photos = LazyImages([dataset.products[pid].images[0] for pid in ids])
    categories = [dataset.products[pid].category for pid in ids]
    return ValidationSet(queries, [(a.category,) for a in anchors], pairs, ids, categories, photos)
