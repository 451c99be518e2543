"""Box geometry (x1, y1, x2, y2 in pixels): the one place the detector merge, the tag placement and the
training labels measure overlap, so they agree on what "the same object" and "covered" mean."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

BoxLike = Sequence[float]


def four_numbers(raw: Iterable[Any]) -> tuple[float, float, float, float]:
    """A box read from outside (a saved file, the command line): four finite numbers, else a ValueError."""
    try:
        values = tuple(float(v) for v in raw)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 4 or not all(map(math.isfinite, values)):
        raise ValueError(f"a box must be four finite numbers, not {raw!r}"[:120])
    return values  # type: ignore[return-value]


def scaled(box: BoxLike, sx: float, sy: float) -> tuple[float, float, float, float]:
    """The box in a picture ``sx`` times as wide and ``sy`` times as high (the photo decoded smaller, a training
    image shrunk): what the engine, the scene memory and training scale boxes with."""
    return box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy


def moved(box: BoxLike, dx: float, dy: float) -> tuple[float, float, float, float]:
    """The box shifted by (``dx``, ``dy``): a box found in a tile of a photo, in the photo's pixels."""
    return box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy


def area(box: BoxLike) -> float:
    """The box's area; 0 for an empty or inverted box."""
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def intersection(a: BoxLike, b: BoxLike) -> float:
    """The area the two boxes share."""
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def iou(a: BoxLike, b: BoxLike) -> float:
    """Intersection over union; 0 when both boxes are empty."""
    inter = intersection(a, b)
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def covered(box: BoxLike, by: BoxLike) -> float:
    """The share of ``box`` that ``by`` covers; an empty box counts as fully covered."""
    own = area(box)
    return intersection(box, by) / own if own > 0 else 1.0


def overlap(a: BoxLike, b: BoxLike) -> float:
    """The share of the smaller box that the two share; 1 when either is empty."""
    smaller = min(area(a), area(b))
    return intersection(a, b) / smaller if smaller > 0 else 1.0
