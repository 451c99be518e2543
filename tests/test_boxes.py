"""Box geometry: the overlap measures the detector merge, tag placement and training labels share."""

from __future__ import annotations

import pytest

from engine.boxes import area, covered, intersection, iou, overlap

BIG = (0.0, 0.0, 10.0, 10.0)  # area 100
CORNER = (5.0, 5.0, 15.0, 15.0)  # shares a 5 × 5 square with BIG
INSIDE = (2.0, 2.0, 4.0, 6.0)  # 2 × 4, wholly inside BIG
FAR = (20.0, 20.0, 30.0, 30.0)
EMPTY = (3.0, 3.0, 3.0, 8.0)  # zero width


def test_area_and_intersection() -> None:
    assert area(INSIDE) == 8.0
    assert area((5.0, 5.0, 1.0, 1.0)) == 0.0  # inverted: no area, not a positive product of negatives
    assert intersection(BIG, CORNER) == 25.0
    assert intersection(BIG, FAR) == 0.0


def test_iou_is_symmetric_shared_over_union() -> None:
    assert iou(BIG, CORNER) == pytest.approx(25 / 175)
    assert iou(CORNER, BIG) == iou(BIG, CORNER)
    assert iou(BIG, BIG) == 1.0
    assert iou(BIG, FAR) == 0.0
    assert iou(EMPTY, EMPTY) == 0.0


def test_covered_is_the_share_of_the_first_box() -> None:
    assert covered(INSIDE, BIG) == 1.0
    assert covered(BIG, INSIDE) == pytest.approx(0.08)
    assert covered(BIG, CORNER) == pytest.approx(0.25)
    assert covered(EMPTY, FAR) == 1.0  # nothing left to see of an empty box


def test_overlap_is_the_share_of_the_smaller_box() -> None:
    assert overlap(BIG, INSIDE) == overlap(INSIDE, BIG) == 1.0
    assert overlap(BIG, CORNER) == pytest.approx(0.25)
    assert overlap(BIG, FAR) == 0.0
