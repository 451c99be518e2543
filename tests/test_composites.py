"""Composite training crops: real catalog photos cut out and pasted into real room photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.imageio import load_image
from training.composites import cutout, paste, with_composites
from training.data import PairDataset, TrainingSet

SOFA = "products/sofa/903.007.25.jpg"  # FRIHETEN sofa-bed on a white background


def test_cutout_drops_the_white_background(ikea: Path):
    photo = load_image(ikea / SOFA)
    obj, alpha = cutout(photo)
    assert obj.shape[:2] == alpha.shape
    assert obj.shape[0] * obj.shape[1] < 0.8 * photo.shape[0] * photo.shape[1]  # cropped to the sofa
    transparent = alpha < 0.01
    assert 0 < transparent.mean() < 0.7  # some background remains inside the box (the sofa is not a rectangle)
    assert obj[transparent].min(axis=1).mean() > 230  # and what was dropped is white
    assert (alpha > 0.99).mean() > 0.3


def test_cutout_keeps_a_photo_without_white_background_whole(scene_path):
    room = load_image(scene_path("a-bed-that-folds-away"))
    obj, alpha = cutout(room)
    assert obj.shape == room.shape and np.all(alpha == 1)


def test_paste_changes_only_the_box(ikea: Path, scene_path):
    photo = load_image(ikea / SOFA)
    room = load_image(scene_path("a-bright-kitchen"), max_side=640)
    out, (x1, y1, x2, y2) = paste(photo, room, np.random.default_rng(0))
    h, w = room.shape[:2]
    assert out.shape == room.shape and 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
    inside = np.zeros((h, w), bool)
    inside[int(y1) : int(y2), int(x1) : int(x2)] = True
    assert np.array_equal(out[~inside], room[~inside])
    assert np.abs(out[inside].astype(int) - room[inside]).mean() > 10
    assert 0.2 * min(h, w) - 1 <= max(x2 - x1, y2 - y1) <= 0.65 * min(h, w) + 1


def test_with_composites_adds_labels_after_the_real_ones(ikea: Path):
    dataset = PairDataset.load(ikea)
    scenes = [dataset.scenes[s] for s in dataset.scenes_in("train")[:3]]
    first, *others = sorted(dataset.products)[:4]
    real = TrainingSet([], [load_image(dataset.products[first].images[0])], [first],
                       [dataset.products[first].category])
    made = with_composites(real, dataset, [first, *others], scenes, per_product=2, seed=0)
    assert made.product_ids == [first, *others]
    assert made.categories == [dataset.products[p].category for p in made.product_ids]
    assert len(made.products) == 4 and made.products[0] is real.products[0]
    assert [e.label for e in made.examples] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert all(e.origin.startswith("composite") for e in made.examples)
    for e in made.examples:
        x1, y1, x2, y2 = e.box
        assert 0 <= x1 < x2 <= e.pixels.shape[1] and 0 <= y1 < y2 <= e.pixels.shape[0]
    again = with_composites(real, dataset, [first, *others], scenes, per_product=2, seed=0)
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(made.examples, again.examples))
    other_seed = with_composites(real, dataset, [first], scenes, per_product=1, seed=1)
    assert not np.array_equal(other_seed.examples[0].pixels, made.examples[0].pixels)


def test_with_composites_needs_rooms(ikea: Path):
    dataset = PairDataset.load(ikea)
    with pytest.raises(ValueError, match="room photos"):
        with_composites(TrainingSet([], [], [], []), dataset, sorted(dataset.products)[:1], [], 1, 0)


def test_composites_leave_validation_and_test_products_unseen(ikea: Path, tmp_path: Path):
    pytest.importorskip("torch")
    from training.loop import TrainConfig, composite_products

    dataset = PairDataset.load(ikea)
    chosen = set(composite_products(dataset, dataset.pairs_in("train"), TrainConfig(data=ikea, out=tmp_path)))
    held = {dataset.canonical(p.product_id) for s in ("val", "test") for p in dataset.pairs_in(s)}
    assert chosen and not chosen & held
    assert chosen | held == {dataset.canonical(pid) for pid in dataset.products}
