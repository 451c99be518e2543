"""Colour-histogram matcher: the baseline of the published method.

A joint RGB histogram over the object's foreground, where the foreground comes from mean adaptive
thresholding (pixels darker than their neighbourhood mean minus a constant: the object on a white
product shot, its edges and texture in a scene crop). Vectors are L2-normalised so that the same
cosine index serves both this and the CNN embedder.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


class ColourHistogram:
    """Matcher with the same surface as the ONNX embedder: ``key``, ``dim``, ``embed(crops)``."""

    def __init__(self, bins: int = 8, block_size: int = 31, constant: float = 5.0, work_size: int = 128):
        if block_size % 2 == 0 or block_size < 3:
            raise ValueError("block_size must be an odd number ≥ 3")
        self.bins = bins
        self.block_size = block_size
        self.constant = constant
        self.work_size = work_size  # crops are shrunk first: the histogram needs no detail
        self.key = f"colour-hist-b{bins}-m{block_size}-z{constant:g}"
        self.dim = bins**3
        self.device = "CPU"

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, bins³) float32, L2-normalised joint RGB histograms."""
        out = np.zeros((len(crops), self.dim), np.float32)
        for i, crop in enumerate(crops):
            out[i] = self._histogram(self._shrink(crop))
        return out

    def foreground_mask(self, crop: np.ndarray) -> np.ndarray:
        """Boolean (H, W) mask from mean adaptive thresholding; all True when it finds nothing."""
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        block = min(self.block_size, _largest_odd(min(grey.shape)))
        if block < 3:
            return np.ones(grey.shape, bool)
        mask = cv2.adaptiveThreshold(
            grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, self.constant
        ).astype(bool)
        return mask if mask.any() else np.ones(grey.shape, bool)

    def _histogram(self, crop: np.ndarray) -> np.ndarray:
        pixels = crop[self.foreground_mask(crop)]
        idx = (pixels.astype(np.int32) * self.bins) // 256
        flat = (idx[:, 0] * self.bins + idx[:, 1]) * self.bins + idx[:, 2]
        hist = np.bincount(flat, minlength=self.dim).astype(np.float32)
        return hist / max(float(np.linalg.norm(hist)), 1e-12)

    def _shrink(self, crop: np.ndarray) -> np.ndarray:
        h, w = crop.shape[:2]
        scale = self.work_size / max(h, w)
        if scale >= 1:
            return crop
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return cv2.resize(crop, size, interpolation=cv2.INTER_AREA)


def _largest_odd(n: int) -> int:
    return n if n % 2 else n - 1
