"""Rows scaled to length 1: every vector DecorLens stores or searches is compared by its cosine."""

from __future__ import annotations

import numpy as np


def unit(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` (a row each) as float32 rows of length 1; a zero row stays zero (no division by zero)."""
    vectors = np.asarray(vectors, np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
