"""The evidence a drawn box's "What is it?" weighs, by geometry: which detected things are in the box, and
which part of it is left beside the one that fills it (the search itself: tests/test_app_designer.py)."""

from __future__ import annotations

from engine.corrections import USER, Tag
from engine.drawn_guess import rest_of_box, seen_in
from engine.results import Box, SceneObject

BOX = (100.0, 100.0, 300.0, 400.0)  # a lamp over a chest of drawers: 200 × 300
CHEST = (100.0, 220.0, 300.0, 400.0)  # its lower 60%


def tag(number: int, category: str, box: Box, origin: str = "detector") -> Tag:
    return Tag(number, SceneObject(category, category, 0.5, box, (box[0], box[1])), origin)


def test_things_largely_inside_a_box_are_seen_in_it_but_not_a_cup_or_a_box_drawn_before():
    """The chest is closest (IoU), the lamp inside it next though its IoU is 0.17; a cup inside is too small a
    part of the box to be what it was drawn around, and a bed reaching in from outside is not in it."""
    tags = [tag(1, "lamp", (150, 100, 230, 230)), tag(2, "table", CHEST), tag(3, "cup", (250, 190, 270, 220)),
            tag(4, "bed", (250, 300, 900, 700)), tag(5, "mirror", BOX, USER)]
    assert seen_in(tags, BOX) == ["table", "lamp"]


def test_the_rest_of_a_box_is_the_widest_strip_beside_the_thing_that_fills_it():
    assert rest_of_box([tag(1, "table", CHEST)], BOX) == (100.0, 100.0, 300.0, 220.0)
    assert rest_of_box([tag(1, "table", (100, 120, 300, 400))], BOX) is None  # a margin is not another thing
    assert rest_of_box([tag(1, "lamp", (150, 100, 230, 230))], BOX) is None  # nothing fills it
