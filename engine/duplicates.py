"""Near-duplicate products: the same item in the catalog twice, under two SKUs.

Two products are linked when their image files are byte-identical (the catalog stores each image's
SHA-256) or when the active embedder's vectors of their photos are closer than ``THRESHOLD`` in
cosine; a group is a connected set of links. Neighbours come from the catalog's own all-categories
HNSW index (ten per product), so finding them costs one k-NN query per product, not N².

``THRESHOLD`` was calibrated on the shared IKEA catalog with both stock embedders, MobileNetV2 and
EfficientNet-Lite0 GeM, which agree (docs/results.md, "Near-duplicates"): a product photo re-encoded, rescaled and trimmed stays above it, while the
products above it that are not the same photo are, by eye, mostly colour or size variants shot
identically. Products marked as variants of one another (``extra["variant_of"]``) are not listed again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.catalog import Catalog, Product
from engine.errors import CatalogError

if TYPE_CHECKING:
    from engine.pipeline import Pipeline

THRESHOLD = 0.93
NEIGHBOURS = 10
VARIANT_OF = "variant_of"


@dataclass
class DuplicateGroup:
    """Products that look like one: ``identical`` when all share one image file content."""

    products: list[Product]
    identical: bool
    score: float  # the weakest link's cosine (1.0 for identical images)

    def to_json(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "score": round(self.score, 4),
            "products": [{"sku": p.sku, "name": p.name, "category": p.category, "image": p.image_path}
                         for p in self.products],
        }


def find_duplicates(pipeline: Pipeline, threshold: float = THRESHOLD) -> list[DuplicateGroup]:
    """Groups of two or more products, identical images first, then the closest near-duplicates."""
    catalog = pipeline.catalog
    products = {p.id: p for p in catalog.products()}
    links = _same_image(products.values())
    links += _close_vectors(pipeline, threshold)
    groups = [_group(products, members, scores) for members, scores in _components(links)]
    groups = [g for g in groups if len(g.products) > 1 and not _marked(g.products)]
    return sorted(groups, key=lambda g: (not g.identical, -g.score, g.products[0].sku))


def mark_variants(catalog: Catalog, skus: Sequence[str], primary: str) -> int:
    """Record the other SKUs as variants of ``primary`` (kept, no longer listed as duplicates)."""
    found = [_product(catalog, sku) for sku in skus]
    _product(catalog, primary)
    with catalog.transaction() as revision:
        for product in found:
            if product.sku != primary:
                catalog.upsert(replace(product, extra={**product.extra, VARIANT_OF: primary}), revision)
    return len([p for p in found if p.sku != primary])


def group_of(groups: Sequence[DuplicateGroup], sku: str) -> DuplicateGroup:
    """The group holding ``sku``; a SKU in no group is an error that says so."""
    for group in groups:
        if any(p.sku == sku for p in group.products):
            return group
    raise CatalogError(f"{sku} is in no duplicate group (see `decorlens catalog duplicates`)")


def _product(catalog: Catalog, sku: str) -> Product:
    product = catalog.get_by_sku(sku)
    if product is None:
        raise CatalogError(f"no product {sku!r} in the catalog {catalog.path}")
    return product


def _same_image(products: Iterable[Product]) -> list[tuple[int, int, float]]:
    by_hash: dict[str, list[int]] = {}
    for p in products:
        by_hash.setdefault(p.image_hash, []).append(p.id)
    return [(ids[0], other, 1.0) for ids in by_hash.values() for other in ids[1:]]


def _close_vectors(pipeline: Pipeline, threshold: float) -> list[tuple[int, int, float]]:
    """(a, b, cosine) for each product and each of its index neighbours above ``threshold``."""
    catalog = pipeline.catalog
    rows = list(catalog.vectors(pipeline.embedder.key))
    if not rows:
        return []
    ids = [pid for pid, _, _ in rows]
    matrix = np.stack([v for _, _, v in rows])
    hits = pipeline.index_for(pipeline.embedder).search(catalog, matrix, None, NEIGHBOURS)
    return [(a, b, score) for a, found in zip(ids, hits) for b, score in found if b != a and score >= threshold]


def _components(links: list[tuple[int, int, float]]) -> list[tuple[set[int], list[float]]]:
    """Connected sets of linked ids (union-find), each with its links' scores."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _ in links:
        parent[root(a)] = root(b)
    members: dict[int, set[int]] = {}
    scores: dict[int, list[float]] = {}
    for a, b, score in links:
        r = root(a)
        members.setdefault(r, set()).update((a, b))
        scores.setdefault(r, []).append(score)
    return [(members[r], scores[r]) for r in members]


def _group(products: dict[int, Product], members: set[int], scores: list[float]) -> DuplicateGroup:
    found = sorted((products[i] for i in members if i in products), key=lambda p: p.sku)
    identical = len({p.image_hash for p in found}) == 1
    return DuplicateGroup(found, identical, 1.0 if identical else min(scores))


def _marked(products: Sequence[Product]) -> bool:
    """Whether the user already said these are variants of one product (all point to one of them)."""
    roots = {p.extra.get(VARIANT_OF, p.sku) for p in products}
    return len(roots) == 1
