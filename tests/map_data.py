"""A synthetic catalog map for the map tests that need more products than the shared data has."""

from __future__ import annotations

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
