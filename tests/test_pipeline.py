"""End to end on the real models and the real IKEA catalog: products find themselves, scenes get tags."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from ikea_feed import write_feed
from PIL import Image

from engine.errors import CatalogError
from engine.pipeline import COLOUR, Pipeline

SOFA_SCENE = "take-a-comfy-seat-on-the-sofa"
LIVING_ROOM = "a-living-space-to-snuggle"  # a cushion found whole and in part


@pytest.fixture(scope="module")
def duplicates(ikea: Path) -> dict[str, str]:
    """product id → its byte-identical group (IKEA reuses photos for variants)."""
    with open(ikea / "duplicate_images.csv", newline="") as fh:
        return {row["product_id"]: row["group"] for row in csv.DictReader(fh)}


def _same(a: str, b: str, duplicates: dict[str, str]) -> bool:
    return a == b or (a in duplicates and duplicates.get(a) == duplicates.get(b))


def test_product_photos_find_themselves_first(pipeline: Pipeline, ikea_products, ikea: Path, duplicates):
    """A sample over every category: searching a product's own photo ranks it first, at a cosine near 1."""
    rng = random.Random(7)
    by_cat: dict[str, list[dict]] = {}
    for row in ikea_products:
        by_cat.setdefault(row["category"], []).append(row)
    sample = [p for rows in by_cat.values() for p in rng.sample(rows, min(4, len(rows)))]
    misses = []
    for product in sample:
        path = ikea / product["image"]
        w, h = Image.open(path).size
        result = pipeline.search_region(path, (0, 0, w, h), category=product["category"], top_k=3)
        top = result.objects[0].matches[0]
        if not _same(top.sku, product["product_id"], duplicates):
            misses.append((product["product_id"], top.sku))
        assert top.score > 0.95, (product["product_id"], top.score)  # its own photo, nearly identical
    assert not misses, misses


def test_scene_search_tags_inside_image_with_matches_from_searched_categories(pipeline: Pipeline, scene_path):
    path = scene_path(SOFA_SCENE)
    result = pipeline.search_scene(path, top_k=5)
    assert (result.width, result.height) == Image.open(path).size
    assert result.device.startswith(("CPU", "GPU"))
    assert set(result.timings_ms) >= {"decode", "detect", "embed", "search"}
    categories = {o.category for o in result.objects}
    assert "sofa" in categories
    for obj in result.objects:
        x1, y1, x2, y2 = obj.box
        assert 0 <= x1 < x2 <= result.width and 0 <= y1 < y2 <= result.height
        assert 0 <= obj.tag[0] < result.width and 0 <= obj.tag[1] < result.height
        assert x1 <= obj.tag[0] <= x2 and y1 <= obj.tag[1] <= y2
        assert len(obj.matches) == 5
        searched = set(pipeline.categories.searched(obj.category))
        assert {m.category for m in obj.matches} <= searched
        assert [m.score for m in obj.matches] == sorted((m.score for m in obj.matches), reverse=True)


def test_scene_search_finds_paired_products(pipeline: Pipeline, ikea_pairs, scene_path):
    """Over a few real scenes, some paired product is in some object's top-5 (the pretrained baseline)."""
    scenes = sorted({p["scene_id"] for p in ikea_pairs})[:8]
    hits = 0
    for scene in scenes:
        wanted = {p["product_id"] for p in ikea_pairs if p["scene_id"] == scene}
        result = pipeline.search_scene(scene_path(scene), top_k=5)
        hits += any(m.sku in wanted for o in result.objects for m in o.matches)
    assert hits >= 2, hits


def test_any_category_searches_the_whole_catalog(pipeline: Pipeline, scene_path):
    result = pipeline.search_scene(scene_path(SOFA_SCENE), top_k=20, any_category=True)
    found = {m.category for o in result.objects for m in o.matches}
    searched = set().union(*(pipeline.categories.searched(o.category) for o in result.objects))
    assert found - searched  # categories outside the detected ones appear


def test_region_search_returns_one_object(pipeline: Pipeline, scene_path):
    result = pipeline.search_region(scene_path(SOFA_SCENE), (300, 400, 900, 700), top_k=4)
    assert len(result.objects) == 1
    obj = result.objects[0]
    assert obj.box == (300.0, 400.0, 900.0, 700.0) and len(obj.matches) == 4
    assert 300 <= obj.tag[0] <= 900 and 400 <= obj.tag[1] <= 700


def test_a_tag_searched_again_searches_its_parts_as_the_scene_search_did(pipeline: Pipeline, scene_path):
    """The README's living room has a cushion pin holding a second box: scope and category changes reuse both."""
    scene = pipeline.search_scene(scene_path(LIVING_ROOM), top_k=5)
    (folded, *_) = [o for o in scene.objects if o.parts]
    again = pipeline.search_region(scene.image, folded.box, folded.category, 5, parts=folded.parts).objects[0]
    assert [m.sku for m in again.matches] == [m.sku for m in folded.matches]
    alone = pipeline.search_region(scene.image, folded.box, folded.category, 5).objects[0]
    assert [m.sku for m in alone.matches] != [m.sku for m in folded.matches]
    assert scene.to_json()["objects"][scene.objects.index(folded)]["parts"] == [
        [round(v, 1) for v in part] for part in folded.parts]


def test_pixels_already_decoded_are_searched_instead_of_the_file(pipeline: Pipeline, scene_path, tmp_path: Path):
    """The app searches the photo it shows (``decoded``): the result is the file's, and the file is not read
    (here it is another photo's name, then a name with no file)."""
    from engine.imageio import load_image

    photo = scene_path(SOFA_SCENE)
    pixels = load_image(photo)
    read = pipeline.search_scene(photo, top_k=3)
    given = pipeline.search_scene(scene_path(LIVING_ROOM), top_k=3, decoded=pixels)
    assert [(o.box, [m.sku for m in o.matches]) for o in given.objects] == [
        (o.box, [m.sku for m in o.matches]) for o in read.objects]
    box = read.objects[0].box
    again = pipeline.search_region(tmp_path / "gone.jpg", box, None, 3, decoded=pixels).objects[0]
    assert [m.sku for m in again.matches] == [m.sku for m in pipeline.search_region(photo, box, None, 3).objects[0].matches]


def test_region_outside_image_is_refused(pipeline: Pipeline, scene_path):
    with pytest.raises(ValueError, match="empty or outside"):
        pipeline.search_region(scene_path(SOFA_SCENE), (5000, 5000, 6000, 6000))


def test_colour_matcher_ranks_products_by_colour(fresh_pipeline: Pipeline, ikea_products, ikea: Path,
                                                 tmp_path: Path):
    """On a catalog of 20 shared rugs of its own: a colour search embeds the catalog's histograms first, which on
    the session catalog left them (1,955 vectors, their indexes and a re-embed backup) to every later test of the
    worker."""
    rugs = [p for p in ikea_products if p["category"] == "rug"][:20]
    fresh_pipeline.import_catalog(write_feed(ikea, rugs, tmp_path / "rugs.csv"))
    product = rugs[0]
    path = ikea / product["image"]
    w, h = Image.open(path).size
    result = fresh_pipeline.search_region(path, (0, 0, w, h), category="rug", matcher=COLOUR)
    top = result.objects[0].matches[0]
    assert top.sku == product["product_id"] and top.score == pytest.approx(1.0, abs=1e-4)
    assert top.match == "similar"  # the colour baseline never claims an exact match


def test_search_with_empty_catalog_is_a_clear_error(fresh_pipeline: Pipeline, scene_path):
    with pytest.raises(CatalogError, match="empty"):
        fresh_pipeline.search_scene(scene_path(SOFA_SCENE))


def test_empty_catalog_can_still_show_tags(fresh_pipeline: Pipeline, scene_path):
    """The GUI shows pins on a fresh install and asks for a catalog, instead of showing nothing."""
    result = fresh_pipeline.search_scene(scene_path(SOFA_SCENE), require_catalog=False)
    assert result.objects and all(not o.matches for o in result.objects)
    assert "sofa" in {o.category for o in result.objects}
