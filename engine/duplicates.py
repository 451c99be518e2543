"""Near-duplicate products: the same item in the catalog twice, under two SKUs.

Two products are alike when their image files are byte-identical (the catalog stores each image's
SHA-256) or when the active embedder's vectors of their photos are closer than ``THRESHOLD`` in
cosine. A group is a set of products every two of which are alike (complete linkage): it says "these
look like one product". Connected sets of alike pairs chain (A~B and B~C put A with C: on the IKEA
catalog 15 doors, mirrors and a fabric of 7 product names, its two ends 0.78 alike). Candidates come
from the catalog's own all-categories HNSW index (ten neighbours per product), so finding them costs one
k-NN query per product, not N², and two groups are compared only where a link joins them.

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
    score: float  # the cosine of its least alike pair (1.0 for identical images)

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
    vectors = {pid: v for pid, _, v in catalog.vectors(pipeline.embedder.key)}
    links = _same_image(products.values())
    links += _close_vectors(pipeline, vectors, threshold)
    variants = variant_pairs(catalog)
    links = [(a, b, score) for a, b, score in links  # an index a product left since holds its id
             if a in products and b in products and _pair(products[a], products[b]) not in variants]
    alike = _Alike(products, vectors, variants, threshold)
    groups = [_group(sorted((products[i] for i in members), key=lambda p: p.sku), alike)
              for members in _complete_linkage(links, alike)]
    return sorted(groups, key=lambda g: (not g.identical, -g.score, g.products[0].sku))


def mark_variants(catalog: Catalog, skus: Sequence[str], primary: str) -> int:
    """Record ``primary`` and the other SKUs as variants of one another: kept, no longer linked.

    Every pair of the group is stored, so a product added later that copies one of them is still found.
    """
    found = sorted({_product(catalog, sku).sku for sku in [*skus, primary]})
    with catalog.write():
        record_variants(catalog, [found])
    return len(found) - 1


def record_variants(catalog: Catalog, groups: Iterable[Iterable[str]]) -> None:
    """Store each group of stored SKUs as variants of one another, inside the caller's write: ``mark_variants``'
    own, or the transaction of an import that marks a Shopify product's variants (``engine.importer``)."""
    found = [sorted(set(group)) for group in groups]
    pairs = [(a, b) for skus in found for i, a in enumerate(skus) for b in skus[i + 1:]]
    if not pairs:  # the table is made on first use only
        return
    catalog.db.execute(_SCHEMA)
    catalog.db.executemany(f"INSERT OR IGNORE INTO {VARIANTS_TABLE} (sku_a, sku_b) VALUES (?, ?)", pairs)


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


def _pair(a: Product, b: Product) -> tuple[str, str]:
    return min(a.sku, b.sku), max(a.sku, b.sku)


def _same_image(products: Iterable[Product]) -> list[tuple[int, int, float]]:
    by_hash: dict[str, list[int]] = {}
    for p in products:
        by_hash.setdefault(p.image_hash, []).append(p.id)
    return [(ids[0], other, 1.0) for ids in by_hash.values() for other in ids[1:]]


def _close_vectors(pipeline: Pipeline, vectors: dict[int, np.ndarray], threshold: float,
                   ) -> list[tuple[int, int, float]]:
    """(a, b, cosine) for each product and each of its index neighbours above ``threshold``."""
    if not vectors:
        return []
    ids = list(vectors)
    hits = pipeline.index_for(pipeline.embedder).search(pipeline.catalog, np.stack(list(vectors.values())), None,
                                                         NEIGHBOURS)
    return [(a, b, score) for a, found in zip(ids, hits) for b, score in found if b != a and score >= threshold]


class _Alike:
    """Which products are alike: one image file, or vectors at least ``threshold`` in cosine; never a variant
    pair, nor a product the embedder holds no vector of (other than by its image file)."""

    def __init__(self, products: dict[int, Product], vectors: dict[int, np.ndarray],
                 variants: set[tuple[str, str]], threshold: float) -> None:
        self.products, self.vectors, self.variants, self.threshold = products, vectors, variants, threshold

    def cosines(self, a: Sequence[int], b: Sequence[int]) -> np.ndarray:
        """Every pair's cosine of ``a`` × ``b``: 1 for one image file, -inf for variants or a missing vector."""
        found = np.full((len(a), len(b)), -np.inf)
        have_a = [i for i, pid in enumerate(a) if pid in self.vectors]
        have_b = [j for j, pid in enumerate(b) if pid in self.vectors]
        if have_a and have_b:
            found[np.ix_(have_a, have_b)] = (np.stack([self.vectors[a[i]] for i in have_a])
                                             @ np.stack([self.vectors[b[j]] for j in have_b]).T)
        for i, j in np.ndindex(found.shape):
            first, second = self.products[a[i]], self.products[b[j]]
            if _pair(first, second) in self.variants:
                found[i, j] = -np.inf
            elif first.image_hash == second.image_hash:
                found[i, j] = 1.0
        return found

    def every_pair(self, a: Sequence[int], b: Sequence[int]) -> bool:
        return bool(self.cosines(a, b).min() >= self.threshold)


def _complete_linkage(links: list[tuple[int, int, float]], alike: _Alike) -> list[list[int]]:
    """Groups (of two or more ids) whose every two members are alike.

    Links are taken surest first (one image file, then by cosine); each joins its two ends' groups only where
    every member of one is alike to every member of the other, so a product joins the group it is alike to as a
    whole. Only groups a link joins are compared, so the cost follows the links (ten per product), not N².
    """
    group_of: dict[int, list[int]] = {}
    for a, b, _ in sorted(links, key=lambda link: (-link[2], link[0], link[1])):
        first, second = group_of.get(a, [a]), group_of.get(b, [b])
        if first is second or not alike.every_pair(first, second):
            continue
        joined = first + second
        for member in joined:
            group_of[member] = joined
    return list({id(g): g for g in group_of.values()}.values())


def _group(members: list[Product], alike: _Alike) -> DuplicateGroup:
    if len({p.image_hash for p in members}) == 1:
        return DuplicateGroup(members, identical=True, score=1.0)
    ids = [p.id for p in members]
    pairs = alike.cosines(ids, ids)[~np.eye(len(ids), dtype=bool)]
    return DuplicateGroup(members, identical=False, score=float(pairs.min()))
