"""Near-duplicate products: the same item in the catalog twice, under two SKUs.

Two products are linked when their image files are byte-identical (the catalog stores each image's
SHA-256) or when the active embedder's vectors of their photos are closer than ``THRESHOLD`` in
cosine; a group is a connected set of links. Neighbours come from the catalog's own all-categories
HNSW index (ten per product), so finding them costs one k-NN query per product, not N².

``THRESHOLD`` was calibrated on the shared IKEA catalog with both stock embedders, MobileNetV2 and
EfficientNet-Lite0 GeM, which agree (docs/results.md, "Near-duplicates"): a product photo re-encoded, rescaled and trimmed stays above it, while the
products above it that are not the same photo are, by eye, mostly colour or size variants shot
identically. Products the user said are variants of one another (two colours of one chair) are not
linked again: each such pair is a row of ``duplicate_variants``, a small table created on first use
beside the catalog's own (bundle export drops it, as it drops every table the catalog schema does not
define: the decision belongs to this shop's catalog, and a pair of SKUs is all it holds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.catalog import Catalog, Product
from engine.errors import CatalogError

if TYPE_CHECKING:
    from engine.pipeline import Pipeline

THRESHOLD = 0.93
NEIGHBOURS = 10
VARIANTS_TABLE = "duplicate_variants"
_SCHEMA = (f"CREATE TABLE IF NOT EXISTS {VARIANTS_TABLE} (sku_a TEXT NOT NULL, sku_b TEXT NOT NULL, "
           "PRIMARY KEY (sku_a, sku_b)) WITHOUT ROWID")


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
    variants = variant_pairs(catalog)
    links = [link for link in links if _pair(products, link) not in variants]
    groups = [_group(products, members, scores) for members, scores in _components(links)]
    groups = [g for g in groups if len(g.products) > 1]
    return sorted(groups, key=lambda g: (not g.identical, -g.score, g.products[0].sku))


def mark_variants(catalog: Catalog, skus: Sequence[str], primary: str) -> int:
    """Record ``primary`` and the other SKUs as variants of one another: kept, no longer linked.

    Every pair of the group is stored, so a product added later that copies one of them is still found.
    """
    found = sorted({_product(catalog, sku).sku for sku in [*skus, primary]})
    with catalog.write():
        catalog.db.execute(_SCHEMA)
        catalog.db.executemany(f"INSERT OR IGNORE INTO {VARIANTS_TABLE} (sku_a, sku_b) VALUES (?, ?)",
                               [(a, b) for i, a in enumerate(found) for b in found[i + 1:]])
    return len(found) - 1


def variant_pairs(catalog: Catalog) -> set[tuple[str, str]]:
    """The (smaller, larger) SKU pairs marked as variants; none before the first mark (no table yet)."""
    exists = catalog.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                (VARIANTS_TABLE,)).fetchone()
    if not exists:
        return set()
    return {(a, b) for a, b in catalog.db.execute(f"SELECT sku_a, sku_b FROM {VARIANTS_TABLE}")}


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


def _pair(products: dict[int, Product], link: tuple[int, int, float]) -> tuple[str, str] | None:
    a, b = products.get(link[0]), products.get(link[1])
    return None if a is None or b is None else (min(a.sku, b.sku), max(a.sku, b.sku))


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
