"""The bench scripts read a photo past ``engine.imageio.MAX_SIDE`` in one scale, the photo's own, as DecorLens
reports its boxes (the scene memory's stored beside the size they refer to): bench.people_photos places people
by the photo's detections, bench.review_rounds cuts the Review queue's tags and writes them as corrections.
A shared IKEA scene and the same upscaled 6x (6144 px, decoded at 4096) read alike."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from engine.imageio import upright_size
from engine.pipeline import Pipeline
from engine.review_queue import ReviewItem
from training.data import PairDataset

people_photos = pytest.importorskip("bench.people_photos")
pytest.importorskip("torch")  # bench.review_rounds trains
review_rounds = pytest.importorskip("bench.review_rounds")

FACTOR = 6
ROOM = "a-living-space-to-snuggle"  # paired with products of detected categories; a sofa to stand before


@pytest.fixture(scope="module")
def rooms(tmp_path_factory: pytest.TempPathFactory, scene_path) -> tuple[Path, Path]:
    """(the shared scene, it upscaled ``FACTOR`` times in a temp folder)."""
    small = scene_path(ROOM).resolve()  # bench.review_rounds knows a queue's photo by its resolved path
    large = tmp_path_factory.mktemp("large-room").resolve() / f"{small.stem}.jpg"
    with Image.open(small) as img:
        img.resize((img.width * FACTOR, img.height * FACTOR), Image.Resampling.BICUBIC).save(large, quality=90)
    return small, large


def test_people_are_placed_alike_in_a_large_photo(rooms, pipeline: Pipeline):
    """Fractions of the photo's size, as its detections are in its pixels: at the decoded size the person stood
    1.5x further right than the sofa's pin (off the picture here)."""
    small, large = rooms
    (before,), (after,) = (people_photos.auto_placements(pipeline, [path], 1)[0] for path in (small, large))
    assert (after.centre_x, after.feet_y, after.height) == pytest.approx(
        (before.centre_x, before.feet_y, before.height), abs=0.01)


def test_review_round_answers_and_corrections_of_a_large_photo(rooms, ikea: Path, pipeline: Pipeline):
    """The queue's tags of the large photo (boxes in its pixels, or at its decoded size as a memory written before
    stored them) are cut where they are and answered as on the shared scene; the corrections say the photo's size
    and boxes in its pixels, as the app saves them."""
    small, large = rooms
    dataset = PairDataset.load(ikea)
    pairs = [p for p in dataset.pairs if p.scene_id == small.stem]
    own = replace(dataset, scenes={"small": small, "large": large},
                  pairs=[replace(p, scene_id=s) for s in ("small", "large") for p in pairs])
    size = upright_size(large)
    by_number = {}
    for n, obj in enumerate(pipeline.search_scene(small).objects, 1):
        best, second = (obj.matches + obj.matches)[:2]
        by_number[n] = ReviewItem(small, n, obj.category, best.sku, best.score, second.sku, second.score, obj.box)
    answered = review_rounds.answers(pipeline, own, list(by_number.values()))
    assert len(answered) >= 2
    for stored in (size, (4096, round(size[1] * 4096 / size[0]))):  # as the memory stores them now, and before
        on_large = [replace(i, photo=large, box=tuple(v * FACTOR * stored[0] / size[0] for v in i.box), size=stored)
                    for i in by_number.values()]
        again = review_rounds.answers(pipeline, own, on_large)
        assert [(a.item.number, a.sku) for a in again] == [(a.item.number, a.sku) for a in answered]
        assert [a.cosine for a in again] == pytest.approx([a.cosine for a in answered], abs=0.05)
        (photo,) = review_rounds.corrections(again, own).photos
        assert (photo.width, photo.height) == size
        for tag in photo.tags:
            assert tag.box == pytest.approx([v * FACTOR for v in by_number[tag.number].box], abs=0.5)
