"""Tag placement: the point on each detected object that a person clicks in the GUI.

The box centre is often not on the object (the air under a table, the wall behind a floor lamp's pole), so
each decor category gets a relative anchor inside its box, on the part people recognise the object by.
Then five adjustments, in this order:

1. Mask: with a segmentation mask the anchor is moved onto the object when it falls off it.
2. Uncover: an anchor on a smaller object lying on this one (a throw over an armchair, a cushion on a
   sofa) or on a person (``engine.people``: someone sitting on the sofa) moves to the nearest point of its
   own box that nothing smaller and nobody covers, so a click there opens the object the pin names, on
   the part of it that is seen, not the one on top.
3. Spread: tags closer than ``min_distance`` are pushed apart, never dropped, so every tag stays clickable.
4. Clamp: each tag stays inside its own box where possible and always inside the image, ``margin`` away
   from its edges, so the whole pin is on the photo.
5. Off people: a tag that spreading pushed onto a person moves off again; on a face, never: a pin on
   someone's face reads as a tag on the person, and covers what people look at first.

Coordinates are image pixels with pixel centres at integers, so a tag is always within
``margin <= x <= w - 1 - margin`` (likewise y) and ``mask[round(y), round(x)]`` is the pixel under it. Everything is deterministic: no
randomness, and the result for a detection does not depend on where it sits in the input list.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine.boxes import area, covered
from engine.results import Box, Detection

if TYPE_CHECKING:
    from engine.people import PeopleRegions

Point = tuple[float, float]
Bounds = tuple[float, float, float, float]  # x_lo, y_lo, x_hi, y_hi, inclusive

CENTRE = (0.5, 0.5)

# Category -> anchor as fractions (fx, fy) of the box width and height from its top-left corner.
# Lamps are not here: where their shade is depends on the lamp type, see ``lamp_anchor``.
ANCHORS: dict[str, tuple[float, float]] = {
    # Tabletops are the upper part of the box; the centre is usually the gap between the legs.
    "table": (0.5, 0.22),
    "desk": (0.5, 0.22),
    "tv_bench": (0.5, 0.22),
    # Seats and covers sit below the backrest or headboard, which takes the top of the box.
    "sofa": (0.5, 0.62),
    "armchair": (0.5, 0.62),
    "bed": (0.5, 0.62),
    "cot": (0.5, 0.62),
    # A chair's seat is near the middle: backrest above, legs below.
    "chair": (0.5, 0.58),
    "stool_bench": (0.5, 0.58),
    "footstool_pouffe": (0.5, 0.58),
    # The foliage is what makes a plant recognisable, and it fills the top of the box.
    "plant_pot": (0.5, 0.3),
    # A rug is seen in perspective: its near (lower) half is larger and less hidden by furniture.
    "rug": (0.5, 0.55),
    # Flat wall items fill their box, so the centre is on them.
    "frame_art": CENTRE,
    "mirror": CENTRE,
    "clock": CENTRE,
    "curtain_blind": CENTRE,
}

# Floor and table lamps: the shade is the top of the box. Pendants: the shade hangs at the bottom of the cord.
STANDING_LAMP_ANCHOR = (0.5, 0.15)
PENDANT_LAMP_ANCHOR = (0.5, 0.8)
# A box whose top is within this fraction of the image height from the top edge hangs from the ceiling...
PENDANT_TOP_FRACTION = 0.02
# ...unless it reaches below this fraction of the height: then it stands on the floor with its shade cut off.
PENDANT_MAX_BOTTOM_FRACTION = 2 / 3

# Of the image diagonal: about one tag icon at the GUI's fit-to-window zoom, so tags never cover each other.
DEFAULT_MIN_DISTANCE_FRACTION = 0.03
# Of the image's shorter side: a pin's radius at fit-to-window zoom, kept between a tag and the photo's edge.
EDGE_MARGIN_FRACTION = 0.02
# A smaller box with at least this share of its area inside a detection's box lies on (or before) it.
ON_TOP = 0.6
_UNCOVER_STEPS = 20  # candidate points per box side when looking for an uncovered one
_MAX_SPREAD_ROUNDS = 200  # enough for dozens of coinciding tags; rounds stop early once nothing moves
_OVERSHOOT = 1e-6  # pixels: pushed pairs end a hair beyond min_distance, so rounding never leaves them short


def place_tags(
    detections: Sequence[Detection],
    image_size: tuple[int, int],
    masks: Sequence[np.ndarray | None] | None = None,
    min_distance: float | None = None,
    margin: float | None = None,
    people: PeopleRegions | None = None,
) -> list[Point]:
    """One (x, y) tag per detection, in input order.

    ``image_size`` is (width, height), as PIL's ``Image.size``. ``masks``, if given, holds one boolean HxW
    array (or None) per detection. ``min_distance`` defaults to 3% of the image diagonal (0: no spreading),
    ``margin`` to 2% of its shorter side. ``people``, if given, holds the bodies and faces tags keep off.
    """
    width, height = image_size
    if masks is not None and len(masks) != len(detections):
        raise ValueError(f"{len(masks)} masks for {len(detections)} detections")
    if min_distance is None:
        min_distance = DEFAULT_MIN_DISTANCE_FRACTION * math.hypot(width, height)
    if min_distance < 0:
        raise ValueError(f"min_distance must be >= 0, got {min_distance}")

    if margin is None:
        margin = EDGE_MARGIN_FRACTION * min(width, height)
    image = image_bounds(image_size, margin)
    own = [clamp_bounds(d.box, image) for d in detections]
    per_detection = [None] * len(detections) if masks is None else masks
    points = [
        uncover(clamp(snap_to_mask(rule_point(d, image_size), d.box, mask, image_size), bounds), bounds,
                lying_on(i, detections), people)
        for i, (d, mask, bounds) in enumerate(zip(detections, per_detection, own))
    ]
    order = canonical_order(detections, points)
    spread = [points[i] for i in order]
    # Spread within the boxes first; only pairs that cannot separate there may leave their boxes.
    spread = spread_apart(spread, [own[i] for i in order], min_distance)
    spread = spread_apart(spread, [image] * len(spread), min_distance)
    result: list[Point] = [(0.0, 0.0)] * len(detections)
    for position, index in enumerate(order):
        result[index] = spread[position] if people is None else off_people(spread[position], own[index], image,
                                                                            people)
    return result


def rule_point(detection: Detection, image_size: tuple[int, int]) -> Point:
    """The category rule's point in image pixels, before masks, spreading and clamping."""
    fx, fy = anchor_for(detection, image_size)
    x1, y1, x2, y2 = detection.box
    return x1 + fx * (x2 - x1), y1 + fy * (y2 - y1)


def anchor_for(detection: Detection, image_size: tuple[int, int]) -> tuple[float, float]:
    """The relative anchor of a detection; unknown categories get the centre, likeliest to be on anything."""
    if detection.category == "lamp":
        return lamp_anchor(detection.box, image_size)
    return ANCHORS.get(detection.category, CENTRE)


def lamp_anchor(box: Box, image_size: tuple[int, int]) -> tuple[float, float]:
    """Shade of a lamp: near the bottom for a pendant, near the top for a floor or table lamp.

    A pendant hangs from the ceiling, so its box starts at the image's top edge (the ceiling is usually out of
    frame or the cord runs to it). A tall floor lamp can also be cut by the top edge, but it still reaches
    down into the lower third of the image where the floor is, so such a box counts as standing.
    """
    height = image_size[1]
    _, y1, _, y2 = box
    hangs = y1 <= PENDANT_TOP_FRACTION * height and y2 <= PENDANT_MAX_BOTTOM_FRACTION * height
    return PENDANT_LAMP_ANCHOR if hangs else STANDING_LAMP_ANCHOR


def snap_to_mask(point: Point, box: Box, mask: np.ndarray | None, image_size: tuple[int, int]) -> Point:
    """Move a point that is off its object to the nearest mask pixel whose centre lies inside the box.

    Only pixels inside the box count, because a mask may spill into a neighbour (an arm of the next chair) and
    a tag there would look like it belongs to the other object; tags stay in their boxes anyway. With no mask
    pixel in the box, mask and box disagree and the rule point is kept.
    """
    if mask is None:
        return point
    width, height = image_size
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (height, width):
        raise ValueError(f"mask shape {mask.shape} does not match image (height, width) {(height, width)}")
    col = min(max(round(point[0]), 0), width - 1)
    row = min(max(round(point[1]), 0), height - 1)
    if mask[row, col]:
        return point
    x1, y1, x2, y2 = clamp_bounds(box, image_bounds(image_size))
    x_lo, y_lo = math.ceil(x1), math.ceil(y1)
    in_box = mask[y_lo : math.floor(y2) + 1, x_lo : math.floor(x2) + 1]
    nearest = nearest_true(in_box, (point[0] - x_lo, point[1] - y_lo))
    return point if nearest is None else (nearest[0] + x_lo, nearest[1] + y_lo)


def nearest_true(mask: np.ndarray, point: Point) -> Point | None:
    """The True pixel nearest to ``point`` (ties: first in row-major order, so it is stable), or None."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    nearest = int(np.argmin((cols - point[0]) ** 2 + (rows - point[1]) ** 2))
    return float(cols[nearest]), float(rows[nearest])


def lying_on(index: int, detections: Sequence[Detection]) -> list[Box]:
    """Boxes of smaller objects lying mostly inside detection ``index``'s box: what sits on it or before it."""
    box = detections[index].box
    own = area(box)
    return [
        d.box for j, d in enumerate(detections)
        if j != index and area(d.box) < own and covered(d.box, box) >= ON_TOP
    ]


def uncover(point: Point, bounds: Bounds, covers: Sequence[Box], people: PeopleRegions | None = None) -> Point:
    """``point`` if nothing in ``covers`` and nobody in ``people`` holds it, else the nearest free point of a
    grid over ``bounds``.

    When the covering objects hide the whole box, the point stays: a pin on the cover beats no pin. People
    are avoided more firmly: with no point free of both, one off bodies (on a cover) wins, then one off
    faces, so a pin lies on a body only where the box shows nothing else, and on a face never when it can
    be helped.
    """

    def covered(p: Point) -> bool:
        return any(_holds(c, p) for c in covers)

    if people is None:
        return _nearest_free(point, bounds, [covered])

    def covered_or_body(p: Point) -> bool:
        return covered(p) or people.on_body(p)

    return _nearest_free(point, bounds, [covered_or_body, people.on_body, people.on_face])


def off_people(point: Point, bounds: Bounds, image: Bounds, people: PeopleRegions) -> Point:
    """``point`` moved off bodies within ``bounds`` where it can be; off faces within the image if it must."""
    moved = _nearest_free(point, bounds, [people.on_body, people.on_face])
    return moved if not people.on_face(moved) else _nearest_free(moved, image, [people.on_face])


def _nearest_free(point: Point, bounds: Bounds, tiers: Sequence[Callable[[Point], bool]]) -> Point:
    """``point`` if the first test passes it; else the grid point of ``bounds`` nearest to it that the first
    test passes; else the same with the second test (which must block less), …; else ``point``."""
    if not tiers[0](point):
        return point
    xs = np.linspace(bounds[0], bounds[2], _UNCOVER_STEPS + 1)
    ys = np.linspace(bounds[1], bounds[3], _UNCOVER_STEPS + 1)
    grid = [(float(x), float(y)) for y in ys for x in xs]
    for blocked in tiers:
        if not blocked(point):
            return point
        free = [p for p in grid if not blocked(p)]
        if free:
            return min(free, key=lambda p: (p[0] - point[0]) ** 2 + (p[1] - point[1]) ** 2)
    return point


def _holds(box: Box, point: Point) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def canonical_order(detections: Sequence[Detection], points: Sequence[Point]) -> list[int]:
    """Indices sorted by the detections' content, so spreading does not depend on the input order.

    Spreading visits pairs in sequence and breaks ties by position, so it runs over this order instead of the
    caller's. Fully identical detections keep their input order (stable sort): they are interchangeable.
    """

    def key(i: int) -> tuple:
        d = detections[i]
        return points[i], d.box, d.category, d.label, d.score, d.source

    return sorted(range(len(detections)), key=key)


def placed_among(point: Point, box: Box, pins: Sequence[Point], image_size: tuple[int, int]) -> Point:
    """A tag added to a scene's (a box the user drew): ``point`` moved within ``box`` away from the ``pins``
    already shown, which stay put. Placed on its own, a box drawn around a lamp and the chest under it put its
    pin on the centre of the chest, over the chest's own."""
    width, height = image_size
    own = clamp_bounds(box, image_bounds(image_size, EDGE_MARGIN_FRACTION * min(width, height)))
    fixed: list[Bounds] = [(x, y, x, y) for x, y in pins]
    spread = spread_apart([*pins, point], [*fixed, own], DEFAULT_MIN_DISTANCE_FRACTION * math.hypot(width, height))
    return spread[-1]


def spread_apart(points: Sequence[Point], bounds: Sequence[Bounds], min_distance: float) -> list[Point]:
    """Push pairs closer than ``min_distance`` apart along the line joining them, each kept within its bounds.

    Each close pair moves half the shortfall each way; a point stopped by its bounds leaves the rest to later
    rounds, which move its partner. Rounds end when nothing moves any more: all pairs are far enough apart, or
    the remaining close ones are pinned by their bounds.
    """
    xy = [list(p) for p in points]
    for _ in range(_MAX_SPREAD_ROUNDS):
        moved = False
        for i in range(len(xy)):
            for j in range(i + 1, len(xy)):
                moved |= _push_pair(xy[i], xy[j], bounds[i], bounds[j], min_distance)
        if not moved:
            break
    return [(x, y) for x, y in xy]


def _push_pair(
    a: list[float], b: list[float], bounds_a: Bounds, bounds_b: Bounds, min_distance: float
) -> bool:
    """Push ``a`` and ``b`` (in place) towards ``min_distance`` apart; True if either moved."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    distance = math.hypot(dx, dy)
    if distance >= min_distance:
        return False
    ux, uy = (dx / distance, dy / distance) if distance > 0 else split_direction(bounds_a, bounds_b)
    step = (min_distance - distance + _OVERSHOOT) / 2
    before = (*a, *b)
    a[0], a[1] = clamp((a[0] - ux * step, a[1] - uy * step), bounds_a)
    b[0], b[1] = clamp((b[0] + ux * step, b[1] + uy * step), bounds_b)
    return (*a, *b) != before


def split_direction(bounds_a: Bounds, bounds_b: Bounds) -> Point:
    """Direction to separate coinciding points, which have no joining line: along the bounds' longer side.

    The first point of the pair goes left (or up), the second right (or down), a fixed choice that keeps the
    result deterministic; the longer side gives the most room to separate without leaving the boxes, e.g.
    vertically for two detections of one tall pendant lamp.
    """
    width = (bounds_a[2] - bounds_a[0]) + (bounds_b[2] - bounds_b[0])
    height = (bounds_a[3] - bounds_a[1]) + (bounds_b[3] - bounds_b[1])
    return (1.0, 0.0) if width >= height else (0.0, 1.0)


def image_bounds(image_size: tuple[int, int], margin: float = 0.0) -> Bounds:
    """Pixel-centre bounds of the image, ``margin`` in from each edge (never past its middle)."""
    width, height = image_size
    mx = min(max(margin, 0.0), (width - 1) / 2)
    my = min(max(margin, 0.0), (height - 1) / 2)
    return mx, my, float(width - 1) - mx, float(height - 1) - my


def clamp_bounds(box: Box, image: Bounds) -> Bounds:
    """The part of ``box`` inside the image; a box wholly outside shrinks to the nearest image edge."""
    x1, y1, x2, y2 = box
    ix1, iy1, ix2, iy2 = image
    return (
        min(max(x1, ix1), ix2),
        min(max(y1, iy1), iy2),
        min(max(x2, ix1), ix2),
        min(max(y2, iy1), iy2),
    )


def clamp(point: Point, bounds: Bounds) -> Point:
    """``point`` moved to the nearest position within ``bounds``."""
    x_lo, y_lo, x_hi, y_hi = bounds
    return min(max(point[0], x_lo), x_hi), min(max(point[1], y_lo), y_hi)
