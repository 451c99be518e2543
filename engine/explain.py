"""Why this match: which parts of an object's crop and of a product photo the match came from, as heat maps.

An embedder pools a feature map (C channels on a grid of cells, 7 × 7 for a 224 px input) into the vector
the catalog is searched with. With average pooling the cosine of two vectors splits exactly into one share
per cell: cos(a, b) = Σᵢ fᵢ · b̂ / (n |a|), so a crop cell's share is its features projected on the
product's unit vector, and a product cell's share the same against the crop (the decomposition of
Stylianou et al., "Visualizing Deep Similarity Networks", WACV 2019). Hot cells are what the score came
from: the object itself, or the floor and the wall around it. For a GeM-pooled embedder
(EfficientNet-Lite0) the split is close but not exact. The feature map is the tensor the model card names
(``spatial_output``), read through ``Embedder.spatial``; the grid is upsampled to the picture, which the
embedder stretched to its square input, so cells map evenly onto it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.crops import crop as cut_crop
from engine.crops import to_decoded
from engine.embed import Embedder
from engine.imageio import load_image
from engine.importer import CATALOG_MAX_SIDE
from engine.results import Box

OVERLAY_ALPHA = 0.55  # of the heat colour where the heat is 1; cold cells leave the picture as it is
PANEL_HEIGHT = 320  # px of each picture in ``side_by_side``: a product photo is 800 px at most
PANEL_GAP = 16  # px of white between (and around) the two pictures
MAX_PANEL_ASPECT = 4  # a picture in ``side_by_side`` is at most this many times as wide as the panel is high


@dataclass(frozen=True)
class Explanation:
    """A tag's crop and a product photo, each with its heat map (float32 in [0, 1], the picture's size)."""

    crop: np.ndarray
    product: np.ndarray
    crop_heat: np.ndarray
    product_heat: np.ndarray

    def overlays(self) -> tuple[np.ndarray, np.ndarray]:
        """The crop and the product photo (RGB uint8) with their heat laid over them."""
        return overlay(self.crop, self.crop_heat), overlay(self.product, self.product_heat)

    def side_by_side(self, height: int = PANEL_HEIGHT) -> np.ndarray:
        """RGB uint8: the crop (left) and the product photo (right), each under its heat, scaled to one
        height on white, so one image file shows a match the way the app's panel shows it."""
        pictures = [_to_fit(picture, height, MAX_PANEL_ASPECT * height) for picture in self.overlays()]
        width = sum(p.shape[1] for p in pictures) + PANEL_GAP * (len(pictures) + 1)
        sheet = np.full((height + 2 * PANEL_GAP, width, 3), 255, np.uint8)
        left = PANEL_GAP
        for picture in pictures:
            top = PANEL_GAP + (height - picture.shape[0]) // 2
            sheet[top : top + picture.shape[0], left : left + picture.shape[1]] = picture
            left += picture.shape[1] + PANEL_GAP
        return sheet


def explain_match(embedder: Embedder, crop: np.ndarray, product_image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(crop heat, product heat): each cell's share of the match, scaled so the hottest cell is 1, upsampled
    to the crop's and the product photo's (H, W)."""
    crop_map, product_map = embedder.spatial(crop), embedder.spatial(product_image)
    crop_shares, product_shares = shares(crop_map, product_map), shares(product_map, crop_map)
    return _upsampled(crop_shares, crop.shape[:2]), _upsampled(product_shares, product_image.shape[:2])


def explain_tag(embedder: Embedder, photo: str | Path | np.ndarray, box: Box, padding: float,
                product_path: str | Path, parts: Sequence[Box] = ()) -> Explanation:
    """The explanation of one tag's match: its crop cut as the search cuts it, the product photo decoded
    as the catalog import decodes it. A tag with parts (a lamp and its shade, ``SceneObject.parts``) lists
    each product at its best look, so the look explained is the one whose crop is closest to the product.
    ``photo``: its file, or its pixels as the search decoded them (the app's open photo); ``box`` and ``parts`` are
    in the photo's own pixels, as the search reports them."""
    pixels = photo if isinstance(photo, np.ndarray) else load_image(photo)
    crops = [np.ascontiguousarray(cut_crop(pixels, to_decoded(pixels, look), padding)) for look in (box, *parts)]
    product = load_image(product_path, max_side=CATALOG_MAX_SIDE)
    crop = crops[0] if len(crops) == 1 else _closest(embedder, crops, product)
    crop_heat, product_heat = explain_match(embedder, crop, product)
    return Explanation(crop, product, crop_heat, product_heat)


def _closest(embedder: Embedder, crops: Sequence[np.ndarray], product: np.ndarray) -> np.ndarray:
    """The crop whose embedding has the highest cosine with the product photo's."""
    vectors = embedder.embed([*crops, product])
    return crops[int(np.argmax(vectors[:-1] @ vectors[-1]))]


def shares(own: np.ndarray, other: np.ndarray) -> np.ndarray:
    """(h, w) shares of the cosine between two pooled maps that fall on the cells of ``own``.

    They sum to the cosine of the two average-pooled vectors.
    """
    cells = own.reshape(own.shape[0], -1).T  # (h·w, C)
    mine, theirs = cells.mean(axis=0), other.reshape(other.shape[0], -1).mean(axis=1)
    scale = len(cells) * max(float(np.linalg.norm(mine)), 1e-12) * max(float(np.linalg.norm(theirs)), 1e-12)
    return (cells @ theirs / scale).reshape(own.shape[1:]).astype(np.float32)


def overlay(image: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """RGB uint8: the image under a colour scale of ``heat``, more opaque where it is hotter."""
    colours = cv2.applyColorMap(np.uint8(np.clip(heat, 0, 1) * 255), cv2.COLORMAP_INFERNO)[..., ::-1]
    alpha = (OVERLAY_ALPHA * np.clip(heat, 0, 1))[..., None]
    return np.uint8(np.round(image * (1 - alpha) + colours * alpha))


def _to_fit(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` scaled to ``height``, or less where that would make it wider than ``width``. Scaled to the height
    alone, the crop of a box drawn 2 px high across a photo became a PNG 82,288 px wide (500 MB to write)."""
    scale = min(height / image.shape[0], width / image.shape[1])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def _upsampled(cell_shares: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Shares scaled to [0, 1] (negative ones count as none) and resized smoothly to (H, W)."""
    positive = np.clip(cell_shares, 0, None)
    top = float(positive.max())
    scaled = positive / top if top > 0 else positive
    height, width = size
    return np.clip(cv2.resize(scaled, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1).astype(np.float32)
