"""How a detected object becomes the vector the catalog is searched with.

A single crop is one noisy look at an object: a mirrored crop, a tighter or a looser box see the same
product differently, and averaging their unit vectors keeps what they agree on. Each lever was
measured on the IKEA test scenes (docs/results.md, "Pretrained embedder and query levers"); the
defaults in ``resources/defaults.yaml`` are the ones that won. (Query expansion over the catalog was
measured too and lost on both splits: it is not offered.) ``rerank`` re-orders the top of the search by
local features (engine.rerank), after the search these views made; ``types`` re-sorts it by the product
type the crop looks like (engine.type_prior).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from engine.crops import DEFAULT_PADDING, crop
from engine.rerank import RerankOptions
from engine.results import Box
from engine.setting_fields import cast, shown
from engine.type_prior import TypeOptions
from engine.unit_vectors import unit

MAX_PADDINGS = 4  # crops per object: tight, context, wide, and one more to try


@dataclass(frozen=True)
class QueryOptions:
    """``paddings``: one crop per padding (fraction of the box per side); ``flip``: each crop mirrored too;
    ``rerank``: the top candidates re-ordered by geometric verification; ``types``: re-sorted by the crop's
    likely product type (both off unless set)."""

    paddings: tuple[float, ...] = (DEFAULT_PADDING,)
    flip: bool = False
    rerank: RerankOptions = field(default_factory=RerankOptions)
    types: TypeOptions = field(default_factory=TypeOptions)

    @classmethod
    def from_raw(cls, raw: dict[str, Any] | None, padding: float = DEFAULT_PADDING) -> QueryOptions:
        """From the ``query:`` mapping of the settings; no paddings listed means the settings' one."""
        raw = raw or {}
        if not isinstance(raw, dict):
            raise ValueError(f"query must be a mapping (paddings, flip, rerank, types), got {shown(raw)}")
        unknown = set(raw) - {"paddings", "flip", "rerank", "types"}
        if unknown:
            raise ValueError(f"unknown query setting(s) {', '.join(sorted(map(str, unknown)))}")
        return cls(
            _paddings(raw.get("paddings") or [padding]), cast(raw.get("flip", False), bool, "flip"),
            RerankOptions.from_raw(raw.get("rerank")), TypeOptions.from_raw(raw.get("types")),
        )

    @property
    def views(self) -> int:
        """Crops embedded per object."""
        return len(self.paddings) * (2 if self.flip else 1)


def _paddings(raw: Any) -> tuple[float, ...]:
    """A list of at most ``MAX_PADDINGS`` numbers in [0, 1]: each is one more crop embedded per object and per tag
    (20 took a photo's embedding from 0.4 s to 6.5 s), and a number alone is not a list (it ended in a TypeError)."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PADDINGS:
        raise ValueError(f"query paddings must be a list of 1 to {MAX_PADDINGS} numbers, got {shown(raw)}")
    paddings = tuple(cast(p, float, "paddings") for p in raw)
    if any(not 0 <= p <= 1 for p in paddings):
        raise ValueError(f"query paddings must lie in [0, 1], got {list(paddings)}")
    return paddings


def views(image: np.ndarray, box: Box, options: QueryOptions) -> list[np.ndarray]:
    """The crops one object is queried with: one per padding, then each mirrored when ``flip``."""
    crops = [crop(image, box, p) for p in options.paddings]
    return crops + [cv2.flip(np.ascontiguousarray(c), 1) for c in crops] if options.flip else crops


def pool(vectors: np.ndarray, per_object: int) -> np.ndarray:
    """(N·V, d) unit vectors, V consecutive views per object → (N, d) unit vectors of their mean."""
    mean = vectors.reshape(-1, per_object, vectors.shape[1]).mean(axis=1)
    return unit(mean)
