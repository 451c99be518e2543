"""Synthetic scene crops: catalog photos cut out of their white background and pasted into room photos.

Why: a scene pair yields a convincing anchor crop for only a few hundred products (the detector has
to find the object, and the crop has to look like it), so training sees a sliver of the catalog and
learns little that carries over to products it never saw. What separates a scene crop from its
catalog photo is mostly what surrounds the object: a floor, a wall, the next piece of furniture,
the room's light. A product pasted at a random place and size into a real room photo, with that
room's light cast over it, is an anchor for *every* product that has a clean catalog shot, teaching
the embedder to look at the object and not at its background.

Product photos that have no white background to cut away (a room shot, a close-up) are pasted
whole, like a photo on the wall: still a different surrounding, never a broken cut-out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from engine.errors import Cancelled
from engine.imageio import load_image
from engine.results import Box
from training.data import (
    PRODUCT_SIDE,
    IsCancelled,
    PairDataset,
    Progress,
    TrainingSet,
    context_example,
    shrink,
)

COMPOSITE_VERSION = 1  # part of every composite's origin, so cached views of older composites are not reused

WHITE = 235  # a background pixel of a product shot is at least this bright in every channel
MIN_SHARE = 0.05  # a cut-out smaller than this share of the photo is noise, not the product
MAX_SHARE = 0.97  # nearly no white background: paste the photo whole
SIDE_RANGE = (0.2, 0.65)  # the object's longer side as a share of the scene's shorter side
LIGHT_RANGE = (0.6, 1.05)  # brightness of the pasted object relative to its photo
TINT = 0.4  # how far the object's colour balance moves towards the scene's
SCENE_SIDE = 640  # scenes are decoded reduced: the stored anchor context is at most 320 px anyway


def cutout(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The product tightly cropped, and its alpha (float32 in [0, 1], soft at the edge).

    The background is the near-white region connected to the photo's border, so white parts
    *inside* the object (a white cushion on a grey sofa) stay opaque.
    """
    white = (photo.min(axis=2) >= WHITE).astype(np.uint8)
    _, labels = cv2.connectedComponents(white, connectivity=4)  # non-white pixels are label 0
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    background = np.isin(labels, border[border > 0])
    mask = ~background
    share = mask.mean()
    if share < MIN_SHARE or share > MAX_SHARE:
        return photo, np.ones(photo.shape[:2], np.float32)
    ys, xs = np.nonzero(mask)
    y1, y2, x1, x2 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    alpha = cv2.GaussianBlur(mask[y1:y2, x1:x2].astype(np.float32), (3, 3), 0)
    return photo[y1:y2, x1:x2], alpha


def paste(photo: np.ndarray, scene: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
    """``photo``'s product pasted into ``scene`` at a random place and size, lit like the scene.

    Returns the new scene and the product's box in it.
    """
    obj, alpha = cutout(photo)
    h, w = scene.shape[:2]
    side = rng.uniform(*SIDE_RANGE) * min(h, w)
    scale = side / max(obj.shape[:2])
    size = (max(8, round(obj.shape[1] * scale)), max(8, round(obj.shape[0] * scale)))
    size = (min(size[0], w), min(size[1], h))
    obj = cv2.resize(obj, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR)[..., None]
    x, y = int(rng.integers(0, w - size[0] + 1)), int(rng.integers(0, h - size[1] + 1))
    region = scene[y : y + size[1], x : x + size[0]].astype(np.float32)
    lit = relight(obj.astype(np.float32), region, rng)
    out = scene.copy()
    out[y : y + size[1], x : x + size[0]] = np.clip(alpha * lit + (1 - alpha) * region, 0, 255).astype(np.uint8)
    return out, (float(x), float(y), float(x + size[0]), float(y + size[1]))


def relight(obj: np.ndarray, region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Darken the studio-lit object at random and shift its colour balance towards the room's."""
    room = region.reshape(-1, 3).mean(axis=0) + 1.0
    tint = 1 + TINT * (room / room.mean() - 1)
    return obj * tint * rng.uniform(*LIGHT_RANGE)


def with_composites(
    train_set: TrainingSet, dataset: PairDataset, product_ids: Sequence[str], scenes: Sequence[Path],
    per_product: int, seed: int, progress: Progress | None = None, cancelled: IsCancelled = lambda: False,
) -> TrainingSet:
    """``train_set`` plus ``per_product`` composite anchors for each of ``product_ids``, pasted into ``scenes``.

    Products new to the set get a label of their own after the existing ones, so the labels of
    real anchors do not move. The composites are fixed by ``seed``: the view cache can key on them.
    """
    if not scenes:
        raise ValueError("composites need room photos to paste into")
    rng = np.random.default_rng([seed, COMPOSITE_VERSION])
    wanted = list(dict.fromkeys(product_ids))
    known = len(train_set.product_ids)
    trained = set(train_set.product_ids)
    ids = list(train_set.product_ids) + [pid for pid in wanted if pid not in trained]
    label = {pid: i for i, pid in enumerate(ids)}
    categories = list(train_set.categories) + [dataset.products[pid].category for pid in ids[known:]]
    rooms = [load_image(path, max_side=SCENE_SIDE) for path in scenes]  # a hundred rooms: ~100 MB
    origin = f"composite-v{COMPOSITE_VERSION}"
    photos, examples = list(train_set.products), []
    for done, pid in enumerate(wanted, 1):
        if cancelled():
            raise Cancelled("making composite training crops cancelled")
        photo = load_image(dataset.products[pid].images[0], max_side=1024)  # decoded once per product
        if label[pid] >= known:
            photos.append(shrink(photo, PRODUCT_SIDE))  # the pixels LazyImages would decode
        for _ in range(per_product):
            image, box = paste(photo, rooms[int(rng.integers(len(rooms)))], rng)
            examples.append(context_example(image, box, label[pid], origin))
        if progress:
            progress(done, len(wanted))
    return TrainingSet(train_set.examples + examples, photos, ids, categories)
