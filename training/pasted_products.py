"""Catalog products pasted into copies of training scenes: detector labels for the categories scenes rarely show.

Why: the one trained detector learns what its labels show often. On the IKEA scenes a seed's train
split holds 15 rug, 18 frame and 11 mirror labels against hundreds of chairs and plants, and after
100 epochs it found none of them on the test scenes. Copy-paste augmentation (Ghiasi et al., "Simple
Copy-Paste is a Strong Data Augmentation Method for Instance Segmentation", CVPR 2021) multiplies such
labels from what the catalog already has: product photos on a white background, cut out
(``training.composites.cutout``) and pasted into real rooms.

A paste takes the size, place and shape of a real label of its category in some train scene, jittered:
a rug lies wide and low, a frame hangs high, a basket stands on the floor. The photo is squeezed halfway
from its own aspect towards that label's, a cheap stand-in for the perspective a room shows it in. The
copy keeps its scene's other labels unless a paste covers half of one. Only train scenes are copied and
only products no validation or test pair shows are pasted, so neither the card's confidence (chosen on
validation scenes) nor the test figures see a pasted product.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from engine.boxes import covered, overlap, scaled
from engine.errors import Cancelled
from engine.imageio import load_image
from engine.results import Box
from training.composites import cutout, relight
from training.data import IsCancelled, PairDataset, Progress, safe_name
from training.pseudo_labels import Label, SceneLabels

PASTE_VERSION = 1  # part of the random stream: a changed recipe gives other copies, never a mix
RARE_BELOW = 60  # a category with fewer train labels than this gets pasted products
PER_IMAGE = 3  # pastes per copied scene
MAX_COVER = 0.5  # a scene's label covered this much by a paste is dropped from the copy
MAX_OVERLAP = 0.2  # two pastes in one copy overlap at most this much of the smaller one
TRIES = 20  # placements tried per paste before it is left out
JITTER = 0.1  # a paste's centre moves up to this share of the photo from its model label's
SCALE_RANGE = (0.8, 1.25)  # a paste's area relative to its model label's, as a side factor
COPY_SIDE = 640  # copies are written at the YOLO dataset's image size


@dataclass(frozen=True)
class Shape:
    """A real label's place and size relative to its photo (centre x, centre y, width, height in [0, 1])."""

    cx: float
    cy: float
    w: float
    h: float


def rare_shapes(train: Sequence[SceneLabels], wanted: Sequence[str], below: int = RARE_BELOW) -> dict[str, list[Shape]]:
    """The wanted categories with fewer than ``below`` train labels (but at least one), with their labels' shapes."""
    counts = Counter(lab.category for scene in train for lab in scene.labels)
    shapes: dict[str, list[Shape]] = {}
    for scene in train:
        for lab in scene.labels:
            if lab.category in wanted and counts[lab.category] < below:
                x1, y1, x2, y2 = lab.box
                shapes.setdefault(lab.category, []).append(Shape(
                    (x1 + x2) / 2 / scene.width, (y1 + y2) / 2 / scene.height,
                    (x2 - x1) / scene.width, (y2 - y1) / scene.height))
    return shapes


def pasteable_products(dataset: PairDataset, categories: Sequence[str], held: set[str]) -> dict[str, list[str]]:
    """Per category, the catalog products not in ``held`` (validation and test products), by canonical id."""
    by_category: dict[str, list[str]] = {}
    for pid in sorted({dataset.canonical(p) for p in dataset.products} - held):
        product = dataset.products[pid]
        if product.category in categories and product.images:
            by_category.setdefault(product.category, []).append(pid)
    return by_category


def pasted_scenes(
    train: Sequence[SceneLabels], dataset: PairDataset, wanted: Sequence[str], count: int, out: Path, seed: int,
    progress: Progress | None = None, cancelled: IsCancelled = lambda: False,
) -> list[SceneLabels]:
    """``count`` copies of train scenes with ``PER_IMAGE`` rare-category products pasted in each, written to ``out``.

    Categories are drawn in proportion to how far they are below ``RARE_BELOW``, products at random
    among those that cut out cleanly. Returns the copies' labels, ready for ``training.yolo_data``.
    """
    shapes = rare_shapes(train, wanted)
    products = pasteable_products(dataset, list(shapes), dataset.held_out_products(seed))
    shapes = {c: s for c, s in shapes.items() if products.get(c)}
    if not count or not shapes or not train:
        return []
    have = Counter(lab.category for scene in train for lab in scene.labels)
    categories = sorted(shapes)
    weights = np.array([RARE_BELOW - have[c] for c in categories], np.float64)
    rng = np.random.default_rng([seed, PASTE_VERSION])
    cutouts = _Cutouts(dataset)
    copies = []
    for i in range(count):
        if cancelled():
            raise Cancelled("pasting products into training scenes cancelled")
        scene = train[int(rng.integers(len(train)))]
        picks = [categories[j] for j in rng.choice(len(categories), PER_IMAGE, p=weights / weights.sum())]
        pastes = [(c, products[c][int(rng.integers(len(products[c])))], shapes[c][int(rng.integers(len(shapes[c])))])
                  for c in picks]
        copies.append(_paste_into(scene, pastes, cutouts, f"pasted{i}-{scene.scene_id}", out, rng))
        if progress:
            progress(i + 1, count)
    return copies


class _Cutouts:
    """Product cut-outs, decoded once; ``None`` for a photo with no white background to cut away."""

    def __init__(self, dataset: PairDataset):
        self.dataset = dataset
        self.cache: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}

    def get(self, product_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        if product_id not in self.cache:
            photo = load_image(self.dataset.products[product_id].images[0], max_side=512)
            obj, alpha = cutout(photo)
            self.cache[product_id] = None if alpha.min() >= 1.0 else (obj, alpha)
        return self.cache[product_id]


def _paste_into(scene: SceneLabels, pastes: Sequence[tuple[str, str, Shape]], cutouts: _Cutouts, name: str,
                out: Path, rng: np.random.Generator) -> SceneLabels:
    """One copy of ``scene`` named ``name`` with ``pastes`` (category, product, model shape) in it, written to ``out``."""
    image = load_image(scene.image, max_side=COPY_SIDE)
    h, w = image.shape[:2]
    sx, sy = w / scene.width, h / scene.height
    placed: list[Label] = []
    for category, product_id, shape in pastes:
        piece = cutouts.get(product_id)
        box = _place(piece[0].shape[:2], shape, (h, w), [lab.box for lab in placed], rng) if piece else None
        if box is None:
            continue
        image = _blend(image, piece, box, rng)
        placed.append(Label(box, category, "pasted", product_id))
    kept = [Label(scaled(lab.box, sx, sy), lab.category, lab.source, lab.product_id, lab.score)
            for lab in scene.labels]
    kept = [lab for lab in kept if all(covered(lab.box, p.box) < MAX_COVER for p in placed)]
    path = out / f"{safe_name(name)}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, quality=92)
    return SceneLabels(name, path, w, h, kept + placed)


def _place(size: tuple[int, int], shape: Shape, frame: tuple[int, int], taken: Sequence[Box],
           rng: np.random.Generator) -> Box | None:
    """A box for a product photo of ``size`` (h, w), shaped like ``shape`` jittered, clear of ``taken``; or None."""
    h, w = frame
    own = size[1] / size[0]
    target = shape.w * w / max(shape.h * h, 1.0)
    aspect = float(np.sqrt(own * target))  # halfway (geometrically) between the photo's and the label's
    for _ in range(TRIES):
        area = shape.w * w * shape.h * h * rng.uniform(*SCALE_RANGE) ** 2
        bw, bh = min(np.sqrt(area * aspect), w), min(np.sqrt(area / aspect), h)
        cx = (shape.cx + rng.uniform(-JITTER, JITTER)) * w
        cy = (shape.cy + rng.uniform(-JITTER, JITTER)) * h
        x1, y1 = float(np.clip(cx - bw / 2, 0, w - bw)), float(np.clip(cy - bh / 2, 0, h - bh))
        box = (x1, y1, x1 + bw, y1 + bh)
        if bw >= 8 and bh >= 8 and all(overlap(box, t) <= MAX_OVERLAP for t in taken):
            return box
    return None


def _blend(image: np.ndarray, piece: tuple[np.ndarray, np.ndarray], box: Box, rng: np.random.Generator) -> np.ndarray:
    """``piece`` (cut-out, alpha) resized into ``box`` of ``image``, lit like the room around it."""
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    size = (max(1, x2 - x1), max(1, y2 - y1))
    obj = cv2.resize(piece[0], size, interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.resize(piece[1], size, interpolation=cv2.INTER_LINEAR)[..., None]
    region = image[y1:y2, x1:x2].astype(np.float32)
    out = image.copy()
    out[y1:y2, x1:x2] = np.clip(alpha * relight(obj, region, rng) + (1 - alpha) * region, 0, 255).astype(np.uint8)
    return out
