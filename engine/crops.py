"""Object crops with a little context, as the matching method expects.

The published method pads each detected box by about 6% a side before embedding: a little context
helps the embedder while keeping neighbouring objects mostly out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.boxes import scaled
from engine.imageio import photo_size
from engine.results import Box

DEFAULT_PADDING = 0.06


def pad_box(box: Box, width: int, height: int, padding: float = DEFAULT_PADDING) -> tuple[int, int, int, int]:
    """Integer pixel box grown by ``padding`` × its size on each side, clipped to the image, ≥ 1 px."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * padding, (y2 - y1) * padding
    left = int(np.clip(np.floor(x1 - dx), 0, width - 1))
    top = int(np.clip(np.floor(y1 - dy), 0, height - 1))
    right = int(np.clip(np.ceil(x2 + dx), left + 1, width))
    bottom = int(np.clip(np.ceil(y2 + dy), top + 1, height))
    return left, top, right, bottom


def crop(image: np.ndarray, box: Box, padding: float = DEFAULT_PADDING) -> np.ndarray:
    """The padded crop of ``box`` from an (H, W, 3) image (a view, not a copy)."""
    h, w = image.shape[:2]
    left, top, right, bottom = pad_box(box, w, h, padding)
    return image[top:bottom, left:right]


def crops(image: np.ndarray, boxes: Sequence[Box], padding: float = DEFAULT_PADDING) -> list[np.ndarray]:
    return [crop(image, b, padding) for b in boxes]


def scale_of(pixels: np.ndarray) -> tuple[float, float]:
    """(x, y) factors from the photo's own pixels to ``pixels``' (1, 1 unless it was decoded downscaled)."""
    width, height = photo_size(pixels)
    return pixels.shape[1] / width, pixels.shape[0] / height


def to_decoded(pixels: np.ndarray, box: Box) -> Box:
    """A box in the photo's own pixels (what DecorLens reports and accepts) as a box on ``pixels``."""
    return scaled(box, *scale_of(pixels))


def to_photo(pixels: np.ndarray, box: Box) -> Box:
    """A box on ``pixels`` as a box in the photo's own pixels: the inverse of ``to_decoded``."""
    sx, sy = scale_of(pixels)
    return box[0] / sx, box[1] / sy, box[2] / sx, box[3] / sy
