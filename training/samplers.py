"""Batches that favour one product category at a time.

Search is restricted to the detected category, so what the embedder must learn is to tell a lamp
from the *other lamps*. A random batch of 32 over 30 categories holds about one other lamp; a batch
drawn from one category makes nearly every in-batch negative one that matters (online triplets from
within the minibatch, as published). PML's ``MPerClassSampler`` is the alternative when products have
several anchors each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

import numpy as np


class CategoryBatchSampler:
    """Yields lists of example indices; each epoch visits every example once.

    A batch takes up to ``batch_size`` examples of one category (chosen with probability
    proportional to what it has left), then tops up from the ``related`` categories (those the same
    tag would search), then from any. Iterating again reshuffles, reproducibly from ``seed``.
    """

    def __init__(
        self, categories: Sequence[str], batch_size: int, seed: int = 0,
        related: Mapping[str, Sequence[str]] | None = None,
    ):
        if batch_size < 2:
            raise ValueError("a batch needs at least 2 examples to hold a negative")
        self.categories = list(categories)
        self.batch_size = batch_size
        self.related = dict(related or {})
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return -(-len(self.categories) // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        pools: dict[str, list[int]] = defaultdict(list)
        for index in self.rng.permutation(len(self.categories)):
            pools[self.categories[index]].append(int(index))
        while any(pools.values()):
            yield self._batch(pools)

    def _batch(self, pools: dict[str, list[int]]) -> list[int]:
        names = sorted(c for c, pool in pools.items() if pool)
        sizes = np.array([len(pools[c]) for c in names], dtype=np.float64)
        main = names[int(self.rng.choice(len(names), p=sizes / sizes.sum()))]
        batch: list[int] = []
        order = [main, *(c for c in self.related.get(main, ()) if c != main)]
        order += [c for c in self.rng.permutation(names) if c not in order]
        for category in order:
            pool = pools.get(category, [])
            take = min(len(pool), self.batch_size - len(batch))
            batch += pool[:take]
            del pool[:take]
            if len(batch) == self.batch_size:
                break
        return batch
