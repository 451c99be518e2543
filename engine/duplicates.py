"""Near-duplicate products: the same item in the catalog twice, under two SKUs.

Two products are alike when their image files are byte-identical (the catalog stores each image's
SHA-256) or when the active embedder's vectors of their photos are closer than ``THRESHOLD`` in
cosine. A group is a set of products every two of which are alike (complete linkage): it says "these
look like one product". Groups were the connected sets of links, and links chain: on the IKEA catalog
A~B and B~C put 15 doors, mirrors and a fabric (7 product names) into one group, its two ends
far apart. Candidates come from the catalog's own all-categories HNSW index (ten neighbours per
product), so finding them costs one k-NN query per product, not N²; only within a connected set of
links are all pairs compared.

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
    groups = []
    for component in _components(links):
        members = sorted((products[i] for i in component), key=lambda p: p.sku)
        alike = _similarities(members, vectors, variants)
        groups += [_group([members[i] for i in cluster], alike[np.ix_(cluster, cluster)])
                   for cluster in _complete_linkage(alike, threshold)]
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


def _components(links: list[tuple[int, int, float]]) -> list[set[int]]:
    """Connected sets of linked ids (union-find): no group reaches across two of them."""
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
    for x in parent:
        members.setdefault(root(x), set()).add(x)
    return list(members.values())


def _similarities(members: list[Product], vectors: dict[int, np.ndarray], variants: set[tuple[str, str]],
                  ) -> np.ndarray:
    """Every pair's cosine: 1 for one image file, -inf for variants (never grouped), 0 for a product the
    embedder holds no vector of (the index did not link it)."""
    alike = np.zeros((len(members), len(members)))
    have = [i for i, p in enumerate(members) if p.id in vectors]
    if have:
        matrix = np.stack([vectors[members[i].id] for i in have])
        alike[np.ix_(have, have)] = matrix @ matrix.T
    hashes = np.array([p.image_hash for p in members])
    alike[hashes[:, None] == hashes[None, :]] = 1.0
    for i, a in enumerate(members):
        for j, b in enumerate(members):
            if _pair(a, b) in variants:
                alike[i, j] = -np.inf
    return alike


def _complete_linkage(alike: np.ndarray, threshold: float) -> list[list[int]]:
    """Clusters (of two or more indices) whose every pair is at least ``threshold`` alike.

    Agglomerative: the two clusters whose least alike pair is the most alike are merged, while that pair is
    at least ``threshold``, so the surest pairs (one image file) join first and a product joins the group it
    is alike to as a whole. A cluster's row of ``link`` is its least alike pair with each other cluster.
    """
    link = np.array(alike, dtype=float)
    np.fill_diagonal(link, -np.inf)
    clusters = [[i] for i in range(len(link))]
    while link.size:
        a, b = np.unravel_index(np.argmax(link), link.shape)
        if link[a, b] < threshold:
            break
        clusters[a] += clusters[b]
        clusters[b] = []
        link[a] = link[:, a] = np.minimum(link[a], link[b])
        link[b] = link[:, b] = -np.inf
    return [sorted(c) for c in clusters if len(c) > 1]


def _group(members: list[Product], alike: np.ndarray) -> DuplicateGroup:
    identical = len({p.image_hash for p in members}) == 1
    return DuplicateGroup(members, identical, 1.0 if identical else float(alike.min()))
