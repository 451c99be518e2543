"""Finer categories: order a category's matches by the product type the crop looks like.

A catalog category ("lamp") holds many finer types (pendant lamp, table lamp, lamp shade); a feed names
them (IKEA's ``ikea_type``, a Shopify or Google feed's ``product_type``: kept in ``products.extra`` when the
category came from another column). A type's *centroid* is the normalised mean of its products' vectors of
the active embedder; a crop close to the pendant-lamp centroid is taken to show a pendant lamp. The top
``top`` candidates of a search are re-sorted by ``cosine + weight · cos(crop, centroid of their type)``
and the rest keep their place. Only the order changes: each match keeps the embedder's cosine, and so its
calibrated words ("exact", "likely the same").

Measured on the IKEA scenes (docs/results.md, "Finer categories"): off by default. Numpy only, no torch.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from engine.results import Match
from engine.setting_fields import mapping_fields
from engine.unit_vectors import unit

# Feed columns that name a product's finer type, most specific first (header names as the feed spells them,
# compared without case). A feed whose category came from ``product_type`` keeps no such column: no prior.
TYPE_KEYS = ("ikea_type", "product_type", "product type", "type")
MAX_TYPE_CHARS = 120  # a longer "type" is free text, not a type: treated as missing
CHUNK = 1024  # products read at a time while the centroids are summed
CHOSEN_WEIGHT = 0.15  # seed 0 train + val: the best top-1 balance of the weights tried (docs/results.md)


@dataclass(frozen=True)
class TypeOptions:
    """``weight``: how much the type centroid's cosine adds (0: off); ``top``: candidates re-sorted;
    ``min_products``: a type with fewer products shares its category's untyped centroid. The weight
    ``types: true`` sets was chosen on seed 0's training and validation scenes (docs/results.md)."""

    weight: float = 0.0
    top: int = 20
    min_products: int = 1

    @classmethod
    def from_raw(cls, raw: Any) -> TypeOptions:
        """From the ``query: types:`` setting: a weight, ``true`` for the measured one, or a mapping of these fields."""
        if raw in (None, False, 0):
            return cls()
        if raw is True:
            return cls(weight=CHOSEN_WEIGHT)
        if isinstance(raw, (int, float)):
            raw = {"weight": raw}
        fields = mapping_fields(cls, raw, "types", "a weight or a mapping (weight, top, min_products)")
        options = replace(cls(weight=CHOSEN_WEIGHT), **fields)
        if not 0 <= options.weight <= 10 or options.top < 1 or options.min_products < 1:
            raise ValueError(f"query types values out of range: {raw!r}")
        return options

    @property
    def on(self) -> bool:
        return self.weight > 0


def product_type(extra: Any) -> str:
    """The product's finer type from its feed's extra columns, normalised; "" when missing or unusable.

    Feeds are hostile: the value may be absent, empty, not a string, a taxonomy path, odd Unicode or a
    whole paragraph. Paths keep their last level (as the importer does with categories); case, width
    and runs of whitespace do not split a type; control characters are dropped.
    """
    if not isinstance(extra, dict):
        return ""
    lowered = {str(k).strip().casefold(): v for k, v in extra.items()}
    for key in TYPE_KEYS:
        value = lowered.get(key)
        if isinstance(value, str) and value.strip():
            return _normalised(value)
    return ""


def _normalised(value: str) -> str:
    leaf = unicodedata.normalize("NFKC", value).split(">")[-1]
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in leaf).split()).casefold()
    return text if len(text) <= MAX_TYPE_CHARS else ""


class VectorSource(Protocol):
    """What the prior reads from a catalog (engine.catalog.Catalog)."""

    def vectors(self, embedder: str) -> Iterator[tuple[int, str, np.ndarray]]: ...

    def get_many(self, ids: Iterable[int]) -> dict[int, Any]: ...


class TypePrior:
    """Type centroids of one embedder's catalog vectors, and each product's type: built once per catalog
    revision (a few ms per thousand products) and shared by every search until the catalog changes."""

    def __init__(self, ids: np.ndarray, groups: np.ndarray, centroids: np.ndarray):
        self.ids = ids  # sorted product ids
        self.groups = groups  # row of ``centroids`` per id
        self.centroids = centroids

    @classmethod
    def build(cls, catalog: VectorSource, embedder: str, min_products: int = 1) -> TypePrior:
        """Sum each (category, type)'s vectors; types with fewer than ``min_products`` products, and untyped
        products, fall back to their category's untyped group."""
        ids: list[int] = []
        keys: list[tuple[str, str]] = []
        sums: dict[tuple[str, str], np.ndarray] = {}
        for chunk in _chunks(catalog.vectors(embedder), CHUNK):
            products = catalog.get_many(pid for pid, _, _ in chunk)
            for pid, category, vector in chunk:
                product = products.get(pid)
                key = (category, product_type(product.extra) if product is not None else "")
                ids.append(pid)
                keys.append(key)
                sums[key] = sums[key] + vector if key in sums else vector.astype(np.float64)
        counts: dict[tuple[str, str], int] = {}
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        merged = [key if counts[key] >= min_products else (key[0], "") for key in keys]
        return cls._from_groups(np.array(ids, np.int64), merged, keys, sums)

    @classmethod
    def _from_groups(
        cls, ids: np.ndarray, merged: list[tuple[str, str]], keys: list[tuple[str, str]],
        sums: dict[tuple[str, str], np.ndarray],
    ) -> TypePrior:
        names = sorted(set(merged))
        row = {name: i for i, name in enumerate(names)}
        dim = next(iter(sums.values())).shape[0] if sums else 1
        total = np.zeros((len(names), dim), np.float64)
        for key, group in set(zip(keys, merged)):
            total[row[group]] += sums[key]
        groups = np.array([row[g] for g in merged], np.int64)
        order = np.argsort(ids, kind="stable")
        return cls(ids[order], groups[order], unit(total))

    def affinity(self, query: np.ndarray, product_ids: Sequence[int]) -> np.ndarray:
        """cos(query, centroid of each product's type); 0 for a product the prior does not know."""
        pids = np.asarray(product_ids, np.int64)
        if not len(pids) or not len(self.ids):
            return np.zeros(len(pids), np.float32)
        at = np.minimum(np.searchsorted(self.ids, pids), len(self.ids) - 1)
        known = self.ids[at] == pids
        q = np.asarray(query, np.float32).ravel()
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        cos = self.centroids[self.groups[at]] @ q if self.centroids.shape[1] == q.shape[0] else np.zeros(len(pids))
        return np.where(known, cos, 0.0).astype(np.float32)


def reorder(matches: Sequence[Match], query: np.ndarray, prior: TypePrior, options: TypeOptions) -> list[Match]:
    """The first ``options.top`` matches re-sorted by cosine + weight · type affinity (ties keep the search's
    order), the rest after them unchanged. The matches themselves, cosines included, are not altered."""
    head, tail = list(matches[: options.top]), list(matches[options.top:])
    if not options.on or len(head) < 2:
        return head + tail
    affinity = prior.affinity(query, [m.product_id for m in head])
    scores = np.array([m.score for m in head], np.float64) + options.weight * affinity
    order = np.argsort(-scores, kind="stable")
    return [head[i] for i in order] + tail


def _chunks(rows: Iterable[tuple[int, str, np.ndarray]], size: int) -> Iterator[list[tuple[int, str, np.ndarray]]]:
    chunk: list[tuple[int, str, np.ndarray]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
