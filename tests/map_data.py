"""Synthetic catalog maps for the map tests that need more products than the shared data has, or products
on one spot."""

from __future__ import annotations

import dataclasses

import numpy as np

from engine.catalog import Product
from engine.catalog_map import CatalogMap


def synthetic(n: int, seed: int = 0) -> tuple[CatalogMap, dict[int, Product]]:
    """``n`` products at seeded random places, three categories, no photo (nothing to decode)."""
    ids = np.arange(1, n + 1)
    products = {int(i): Product(sku=f"S{i}", name=f"product {i}", category=("sofa", "lamp", "rug")[i % 3],
                                image_path="", id=int(i)) for i in ids}
    xy = np.random.default_rng(seed).random((n, 2)).astype(np.float32)
    return CatalogMap("test", "test", 0, ids, xy), products


def stacked(result: CatalogMap, onto: int, movers: list[int], nudge: float = 1e-6) -> CatalogMap:
    """``result`` with the products at ``movers`` (places in its arrays) moved onto the place of ``onto``, as
    a photo imported twice lands, the last a hair (``nudge`` of the map) down and right, as a near copy does."""
    xy = result.xy.copy()
    xy[movers] = xy[onto]
    xy[movers[-1]] += nudge
    return dataclasses.replace(result, xy=xy)
