"""The one definition of how pixels become model inputs.

Inference, export checks and training all call these functions, so a fine-tuned embedder sees crops
exactly as the engine will give them to it. Inputs are RGB uint8 arrays (H, W, 3); outputs are
float32 NCHW arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from engine.models import ModelCard

LETTERBOX_FILL = 114  # ultralytics' grey, so our detections match its own


@dataclass(frozen=True)
class Letterbox:
    """How an image was placed into the square detector input, to map boxes back."""

    ratio: float
    pad_x: float
    pad_y: float

    def unmap(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (N, 4) in input pixels → original image pixels."""
        out = boxes.astype(np.float32, copy=True)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.ratio
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.ratio
        return out


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping aspect and pad to ``size``², as ultralytics does for a fixed-shape export."""
    h, w = image.shape[:2]
    ratio = min(size / h, size / w)
    new_w, new_h = max(1, round(w * ratio)), max(1, round(h * ratio))  # a 20000x1 strip keeps 1 row, not 0
    pad_x, pad_y = (size - new_w) / 2, (size - new_h) / 2
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(pad_y - 0.1), round(pad_y + 0.1)
    left, right = round(pad_x - 0.1), round(pad_x + 0.1)
    canvas = cv2.copyMakeBorder(
        image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(LETTERBOX_FILL,) * 3
    )
    return _to_nchw(canvas[None]), Letterbox(ratio, left, top)


def embed_input(crop: np.ndarray, card: ModelCard) -> np.ndarray:
    """One crop → (3, S, S) float32, stretched to the card's input size and normalised."""
    size = card.input_size
    h, w = crop.shape[:2]
    interp = cv2.INTER_AREA if h > size or w > size else cv2.INTER_LINEAR
    resized = cv2.resize(crop, (size, size), interpolation=interp)
    chw = _to_nchw(resized[None])[0]
    mean = np.asarray(card.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(card.std, dtype=np.float32)[:, None, None]
    return (chw - mean) / std


def embed_batch(crops: Sequence[np.ndarray], card: ModelCard) -> np.ndarray:
    """Crops → (N, 3, S, S) float32 batch for the embedder."""
    if not crops:
        return np.zeros((0, 3, card.input_size, card.input_size), np.float32)
    return np.stack([embed_input(c, card) for c in crops])


def _to_nchw(batch: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 → (N, 3, H, W) float32 in [0, 1]."""
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)
