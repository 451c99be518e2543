"""Geometry tests for tag placement: per-category rules, masks, spreading, clamping, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.results import Detection
from engine.tags import place_tags

W, H = 1000, 800
DIAGONAL = math.hypot(W, H)


def det(category: str, box: tuple[float, float, float, float], score: float = 0.9) -> Detection:
    return Detection(box=box, score=score, label=category, category=category, source="test")


def only_tag(detection: Detection, **kwargs) -> tuple[float, float]:
    (tag,) = place_tags([detection], (W, H), **kwargs)
    return tag


def relative(tag: tuple[float, float], box: tuple[float, float, float, float]) -> tuple[float, float]:
    """Tag position as fractions of the box: (0, 0) top-left, (1, 1) bottom-right."""
    x1, y1, x2, y2 = box
    return (tag[0] - x1) / (x2 - x1), (tag[1] - y1) / (y2 - y1)


def inside(tag: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    return box[0] <= tag[0] <= box[2] and box[1] <= tag[1] <= box[3]


def in_image(tag: tuple[float, float]) -> bool:
    return 0 <= tag[0] <= W - 1 and 0 <= tag[1] <= H - 1


@pytest.mark.parametrize("category", ["table", "desk", "tv_bench"])
def test_table_tag_is_on_the_tabletop(category: str) -> None:
    box = (100.0, 400.0, 500.0, 700.0)
    fx, fy = relative(only_tag(det(category, box)), box)
    assert fx == pytest.approx(0.5)
    assert 0.15 <= fy <= 0.3


@pytest.mark.parametrize("category", ["sofa", "armchair", "bed", "cot"])
def test_seating_tag_is_lower_middle(category: str) -> None:
    box = (200.0, 300.0, 800.0, 700.0)
    fx, fy = relative(only_tag(det(category, box)), box)
    assert fx == pytest.approx(0.5)
    assert 0.58 <= fy <= 0.68


@pytest.mark.parametrize("category", ["chair", "stool_bench", "footstool_pouffe"])
def test_chair_tag_is_on_the_seat(category: str) -> None:
    box = (300.0, 300.0, 450.0, 600.0)
    fx, fy = relative(only_tag(det(category, box)), box)
    assert fx == pytest.approx(0.5)
    assert 0.53 <= fy <= 0.62


def test_plant_tag_is_on_the_foliage() -> None:
    box = (600.0, 200.0, 800.0, 700.0)
    fx, fy = relative(only_tag(det("plant_pot", box)), box)
    assert fx == pytest.approx(0.5)
    assert fy <= 0.35


def test_rug_tag_is_centre_or_a_little_lower() -> None:
    box = (100.0, 550.0, 900.0, 790.0)
    fx, fy = relative(only_tag(det("rug", box)), box)
    assert fx == pytest.approx(0.5)
    assert 0.5 <= fy <= 0.6


@pytest.mark.parametrize("category", ["frame_art", "mirror", "clock", "curtain_blind", "storage_furniture", "zzz"])
def test_wall_items_and_the_rest_get_the_centre(category: str) -> None:
    assert only_tag(det(category, (100.0, 100.0, 300.0, 400.0))) == pytest.approx((200.0, 250.0))


def test_pendant_lamp_tag_is_on_the_shade_at_the_bottom() -> None:
    box = (450.0, 0.0, 550.0, 350.0)  # hangs from the top edge, ends in the upper half
    fx, fy = relative(only_tag(det("lamp", box)), box)
    assert fx == pytest.approx(0.5)
    assert fy >= 0.7


def test_floor_lamp_tag_is_on_the_shade_at_the_top() -> None:
    box = (800.0, 250.0, 900.0, 780.0)
    fx, fy = relative(only_tag(det("lamp", box)), box)
    assert fx == pytest.approx(0.5)
    assert fy <= 0.25


def test_floor_lamp_cut_by_the_top_edge_still_counts_as_standing() -> None:
    box = (800.0, 0.0, 900.0, 780.0)  # touches the top but reaches the floor
    assert relative(only_tag(det("lamp", box)), box)[1] <= 0.25


def test_ring_mask_moves_the_tag_from_the_hole_onto_the_ring() -> None:
    box = (200.0, 200.0, 400.0, 400.0)
    rows, cols = np.mgrid[0:H, 0:W]
    radius = np.hypot(cols - 300, rows - 300)
    ring = (radius >= 80) & (radius <= 100)
    tag = only_tag(det("mirror", box), masks=[ring])
    assert ring[round(tag[1]), round(tag[0])]
    assert inside(tag, box)
    assert math.hypot(tag[0] - 300, tag[1] - 300) == pytest.approx(80, abs=1)  # nearest, not just any


def test_l_mask_moves_the_tag_to_the_nearest_mask_pixel() -> None:
    box = (200.0, 200.0, 400.0, 400.0)
    mask = np.zeros((H, W), dtype=bool)
    mask[200:401, 200:241] = True  # vertical bar, 60 px left of the centre
    mask[360:401, 200:401] = True  # horizontal bar, 60 px below the centre
    # Both bars are 60 px away; the tie goes to the first pixel in row-major order, on the vertical bar.
    assert only_tag(det("clock", box), masks=[mask]) == (240.0, 300.0)


def test_mask_pixels_outside_the_box_are_ignored() -> None:
    box = (200.0, 200.0, 400.0, 400.0)
    mask = np.zeros((H, W), dtype=bool)
    mask[410, 300] = True  # closest to the centre, but below the box: part of a neighbour
    mask[210, 210] = True
    assert only_tag(det("clock", box), masks=[mask]) == (210.0, 210.0)


def test_a_tag_already_on_the_mask_stays_on_its_rule_point() -> None:
    box = (100.0, 400.0, 500.0, 700.0)
    full = np.ones((H, W), dtype=bool)
    assert only_tag(det("table", box), masks=[full]) == only_tag(det("table", box))


def test_mask_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="mask shape"):
        place_tags([det("clock", (0.0, 0.0, 10.0, 10.0))], (W, H), masks=[np.ones((W, H), dtype=bool)])


def test_one_mask_per_detection_is_required() -> None:
    with pytest.raises(ValueError, match="masks for"):
        place_tags([det("clock", (0.0, 0.0, 10.0, 10.0))], (W, H), masks=[])


def test_identical_boxes_get_tags_min_distance_apart_inside_their_boxes() -> None:
    box = (100.0, 100.0, 500.0, 500.0)
    a, b = place_tags([det("table", box), det("table", box)], (W, H), min_distance=50.0)
    assert math.dist(a, b) >= 50.0
    assert math.dist(a, b) == pytest.approx(50.0, abs=1e-3)  # pushed just far enough
    assert a[1] == b[1] == pytest.approx(188.0)  # split sideways in a square box, each half the way
    assert a[0] + b[0] == pytest.approx(600.0)
    assert inside(a, box) and inside(b, box) and in_image(a) and in_image(b)


def test_default_min_distance_is_three_percent_of_the_diagonal() -> None:
    box = (100.0, 100.0, 500.0, 500.0)
    a, b = place_tags([det("sofa", box), det("sofa", box)], (W, H))
    assert 0.03 * DIAGONAL <= math.dist(a, b) <= 0.03 * DIAGONAL + 1e-3


def test_coinciding_tags_in_a_tall_thin_box_split_vertically_and_stay_inside() -> None:
    box = (480.0, 0.0, 500.0, 400.0)  # pendant lamp, narrower than min_distance
    a, b = place_tags([det("lamp", box), det("lamp", box, score=0.5)], (W, H), min_distance=40.0)
    assert math.dist(a, b) >= 40.0
    assert a[0] == b[0] == pytest.approx(490.0)
    assert inside(a, box) and inside(b, box)


def test_many_overlapping_tags_all_keep_min_distance() -> None:
    detections = [det("chair", (300.0 + i, 300.0, 450.0 + i, 600.0), score=0.5 + i / 100) for i in range(8)]
    tags = place_tags(detections, (W, H), min_distance=30.0)
    assert len(tags) == len(detections)
    for i in range(len(tags)):
        for j in range(i + 1, len(tags)):
            assert math.dist(tags[i], tags[j]) >= 30.0


def test_min_distance_zero_leaves_coinciding_tags_alone() -> None:
    box = (100.0, 100.0, 500.0, 500.0)
    a, b = place_tags([det("clock", box), det("clock", box)], (W, H), min_distance=0.0)
    assert a == b == (300.0, 300.0)


def test_tag_of_a_box_past_the_image_corner_is_clamped_into_the_image_with_a_margin() -> None:
    """The pin is a disc around the tag: 2 % of the shorter side keeps all of it on the photo."""
    margin = 0.02 * min(W, H)
    assert only_tag(det("clock", (900.0, 700.0, 1100.0, 900.0))) == (W - 1 - margin, H - 1 - margin)
    assert only_tag(det("clock", (-300.0, -100.0, -100.0, 100.0))) == (margin, margin)
    assert only_tag(det("clock", (900.0, 700.0, 1100.0, 900.0)), margin=0.0) == (W - 1, H - 1)


def test_a_tag_is_not_on_what_lies_on_its_object() -> None:
    """An armchair under a throw: its seat anchor is on the throw, so the pin moves to the chair beside it."""
    armchair = det("armchair", (600.0, 400.0, 900.0, 750.0))
    throw = det("cushion_throw", (650.0, 560.0, 850.0, 700.0), score=0.5)
    on_throw = only_tag(armchair)
    assert inside(on_throw, throw.box)
    tag, throw_tag = place_tags([armchair, throw], (W, H), min_distance=0.0)
    assert inside(tag, armchair.box) and not inside(tag, throw.box)
    step = (armchair.box[3] - armchair.box[1]) / 20  # the candidate grid's spacing
    assert math.dist(tag, on_throw) <= on_throw[1] - throw.box[1] + step  # just above the throw's top edge
    assert throw_tag == only_tag(throw)  # the throw's own pin stays on it


def test_a_wholly_covered_object_keeps_its_pin() -> None:
    rug = det("rug", (100.0, 600.0, 300.0, 700.0))
    sofa_on_it = det("sofa", (90.0, 590.0, 310.0, 710.0))  # larger: not "on" the rug
    left, right = det("table", (100.0, 600.0, 201.0, 700.0)), det("chair", (199.0, 600.0, 300.0, 700.0))
    assert place_tags([rug, left, right, sofa_on_it], (W, H), min_distance=0.0)[0] == only_tag(rug)


def test_tags_too_close_in_a_tiny_corner_box_leave_it_but_stay_in_the_image() -> None:
    box = (990.0, 790.0, 1000.0, 800.0)  # smaller than min_distance: they cannot separate inside it
    tags = place_tags([det("clock", box), det("vase_candle", box)], (W, H), min_distance=20.0)
    assert math.dist(*tags) >= 20.0
    assert all(in_image(t) for t in tags)


def scene() -> list[Detection]:
    return [
        det("sofa", (100.0, 300.0, 700.0, 700.0)),
        det("cushion_throw", (350.0, 400.0, 450.0, 480.0)),
        det("cushion_throw", (360.0, 410.0, 460.0, 490.0), score=0.6),
        det("table", (300.0, 500.0, 600.0, 750.0)),
        det("lamp", (480.0, 0.0, 520.0, 300.0)),
        det("lamp", (480.0, 0.0, 520.0, 300.0), score=0.4),
        det("frame_art", (380.0, 100.0, 420.0, 160.0)),
    ]


def test_same_input_gives_identical_output() -> None:
    assert place_tags(scene(), (W, H)) == place_tags(scene(), (W, H))


@pytest.mark.parametrize("permutation", [[6, 5, 4, 3, 2, 1, 0], [3, 0, 5, 1, 6, 2, 4]])
def test_input_order_does_not_change_any_detections_tag(permutation: list[int]) -> None:
    detections = scene()
    tags = place_tags(detections, (W, H))
    shuffled = place_tags([detections[i] for i in permutation], (W, H))
    assert shuffled == [tags[i] for i in permutation]
    assert tags != place_tags(detections, (W, H), min_distance=0.0)  # the scene really has tags to spread


def test_no_detections_give_no_tags() -> None:
    assert place_tags([], (W, H)) == []
    assert place_tags([], (W, H), masks=[]) == []


def test_category_names_come_from_the_map_and_a_users_map_can_rename(tmp_path):
    from engine.categories import CategoryMap, display_name

    shipped = CategoryMap.load()
    assert shipped.display_name("box_basket") == "Boxes & baskets"
    assert shipped.display_name("garden_sofa") == "Garden sofa"  # not in the map: its words
    assert display_name("") == "Product"
    user = tmp_path / "categories.yaml"
    user.write_text(shipped.source.read_text().replace("box_basket: Boxes & baskets", "box_basket: Storage boxes"))
    assert CategoryMap.load(tmp_path).display_name("box_basket") == "Storage boxes"
