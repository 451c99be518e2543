"""The evidence a drawn box's "What is it?" weighs, by geometry: which detected things are in the box, and
which part of it is left beside the largest; and a box searched in a real photo (the app's walk through it:
tests/test_app_designer.py)."""

from __future__ import annotations

from engine.corrections import USER, Tag
from engine.drawn_guess import category_guesses, guess_box, rest_of_box, seen_in
from engine.results import Box, Match, SceneObject

BOX = (100.0, 100.0, 300.0, 400.0)  # a lamp over a chest of drawers: 200 × 300
CHEST = (100.0, 220.0, 300.0, 400.0)  # its lower 60%
HALLWAY = "a-small-hallway-for-big-first"  # a table lamp on a console table, roses in a vase beside it
LAMP_AND_ROSES = (220.0, 545.0, 860.0, 860.0)  # the detector saw the roses (a plant, a third of it), not the lamp


def tag(number: int, category: str, box: Box, origin: str = "detector") -> Tag:
    return Tag(number, SceneObject(category, category, 0.5, box, (box[0], box[1])), origin)


def test_things_largely_inside_a_box_are_seen_in_it_but_not_a_cup_or_a_box_drawn_before():
    """The chest is closest (IoU), the lamp inside it next though its IoU is 0.17; a cup inside is too small a
    part of the box to be what it was drawn around, and a bed reaching in from outside is not in it."""
    tags = [tag(1, "lamp", (150, 100, 230, 230)), tag(2, "table", CHEST), tag(3, "cup", (250, 190, 270, 220)),
            tag(4, "bed", (250, 300, 900, 700)), tag(5, "mirror", BOX, USER)]
    assert seen_in(tags, BOX) == ["table", "lamp"]


def test_the_rest_of_a_box_is_the_widest_strip_beside_the_largest_thing_in_it():
    assert rest_of_box([tag(1, "table", CHEST)], BOX) == (100.0, 100.0, 300.0, 220.0)
    assert rest_of_box([tag(1, "table", (100, 120, 300, 400))], BOX) is None  # a margin is not another thing
    assert rest_of_box([tag(1, "lamp", (150, 100, 230, 230))], BOX) == (100.0, 230.0, 300.0, 400.0)  # 17% of it
    assert rest_of_box([tag(1, "cup", (250, 190, 270, 220))], BOX) is None  # no sizeable thing: all is the rest


def matches(*categories: str) -> list[Match]:
    return [Match(n, f"{n:03}", c, c, 0.6 - n / 100, "similar") for n, c in enumerate(categories)]


def test_after_the_best_match_categories_are_offered_by_their_matches_votes():
    """One bed and one rug ranked above three lamps: the lamps' category is offered before theirs, in the
    whole box's matches and in the rest's (where it comes even though the whole box's hold it lower)."""
    whole = matches("sofa", "bed", "rug", "lamp", "lamp", "lamp", "table", "table")
    assert category_guesses(whole, limit=3) == ("sofa", "lamp", "table")
    rest = matches("chair", "mirror", "mirror", "table", "table", "table")
    assert category_guesses(whole[:6], ["plant_pot"], rest) == ("sofa", "plant_pot", "table", "lamp")


def test_a_box_around_a_lamp_and_the_flowers_beside_it_is_offered_lamp(pipeline, scene_path):
    """The flowers, a third of the box, pulled its 40 matches to bedding and storage; 2 of them were lamps, 7th
    of its categories: it was offered Bedding, Plant, Storage, Frames. The rest of the box beside the flowers
    (a dominant thing's rest only, before) is 23 of 40 lamps, though its best match is a chair: Lamp, by vote."""
    path = scene_path(HALLWAY)
    result = pipeline.search_scene(path)
    tags = [Tag(n, o) for n, o in enumerate(result.objects, 1)]
    assert "lamp" not in {t.obj.category for t in tags} and "plant_pot" in seen_in(tags, LAMP_AND_ROSES)
    guess = guess_box(pipeline, path, None, LAMP_AND_ROSES, tags)
    assert "lamp" in guess.categories and len(set(guess.categories)) == len(guess.categories) == 4
    assert guess.categories[0] == guess.result.objects[0].matches[0].category
