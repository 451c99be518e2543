"""Detector copy-paste: real catalog photos of rare categories pasted into copies of real train scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.boxes import covered
from engine.imageio import load_image
from training.data import PairDataset
from training.pasted_products import RARE_BELOW, pasted_scenes, rare_shapes
from training.pseudo_labels import Label, SceneLabels


def _train_scenes(dataset: PairDataset, n: int) -> list[SceneLabels]:
    """``n`` real train scenes, each with a rug label across its lower fifth and a frame label high on the wall,
    plus many chair labels (a category common enough never to be pasted)."""
    scenes = []
    for scene_id in dataset.scenes_in("train")[:n]:
        path = dataset.scenes[scene_id]
        h, w = load_image(path).shape[:2]
        labels = [Label((0.2 * w, 0.8 * h, 0.8 * w, 0.95 * h), "rug", "pair"),
                  Label((0.4 * w, 0.1 * h, 0.55 * w, 0.3 * h), "frame_art", "pair")]
        labels += [Label((0.05 * w, 0.05 * h, 0.15 * w, 0.15 * h), "chair", "teacher")] * (RARE_BELOW // n + 1)
        scenes.append(SceneLabels(scene_id, path, w, h, labels))
    return scenes


def test_only_categories_below_the_bar_are_rare(ikea: Path):
    train = _train_scenes(PairDataset.load(ikea), 3)
    shapes = rare_shapes(train, ["rug", "frame_art", "chair"])
    assert sorted(shapes) == ["frame_art", "rug"]  # chair has more than RARE_BELOW labels
    (rug, *_) = shapes["rug"]
    assert abs(rug.cx - 0.5) < 0.01 and abs(rug.cy - 0.875) < 0.01 and abs(rug.w - 0.6) < 0.01
    assert rare_shapes(train, ["chair"]) == {}


def test_copies_hold_pasted_held_in_products_where_such_labels_lie(ikea: Path, tmp_path: Path):
    dataset = PairDataset.load(ikea)
    train = _train_scenes(dataset, 3)
    copies = pasted_scenes(train, dataset, ["rug", "frame_art", "chair"], 4, tmp_path, seed=0)
    assert len(copies) == 4
    held = dataset.held_out_products(0)
    pasted = [lab for copy in copies for lab in copy.labels if lab.source == "pasted"]
    assert len(pasted) >= 8  # three a copy, fewer only where no clear place was found
    assert {lab.category for lab in pasted} <= {"rug", "frame_art"}
    for lab in pasted:
        assert lab.product_id not in held and dataset.products[lab.product_id].category == lab.category
    for copy in copies:
        image = load_image(copy.image)
        assert image.shape[:2] == (copy.height, copy.width) and max(image.shape[:2]) <= 640
        source = next(s for s in train if copy.scene_id.endswith(f"-{s.scene_id}"))
        assert copy.scene_id.startswith("pasted")  # a copy is told apart at a glance in the written dataset
        original = load_image(source.image, max_side=640)
        for lab in copy.labels:
            x1, y1, x2, y2 = lab.box
            assert 0 <= x1 < x2 <= copy.width and 0 <= y1 < y2 <= copy.height
            if lab.source == "pasted":
                inside = np.s_[int(y1) + 1 : int(y2) - 1, int(x1) + 1 : int(x2) - 1]
                assert np.abs(image[inside].astype(int) - original[inside]).mean() > 5  # the photo is there
                if lab.category == "rug":
                    assert (y1 + y2) / 2 > 0.5 * copy.height  # shaped after the rug labels: low in the room
        pastes = [lab.box for lab in copy.labels if lab.source == "pasted"]
        kept = [lab for lab in copy.labels if lab.source != "pasted"]
        sx, sy = copy.width / source.width, copy.height / source.height
        for lab in source.labels:
            box = (lab.box[0] * sx, lab.box[1] * sy, lab.box[2] * sx, lab.box[3] * sy)
            hidden = any(covered(box, p) >= 0.5 for p in pastes)
            assert any(np.allclose(k.box, box) and k.category == lab.category for k in kept) != hidden


def test_copies_are_fixed_by_the_seed(ikea: Path, tmp_path: Path):
    dataset = PairDataset.load(ikea)
    train = _train_scenes(dataset, 2)
    first = pasted_scenes(train, dataset, ["rug", "frame_art"], 2, tmp_path / "a", seed=0)
    again = pasted_scenes(train, dataset, ["rug", "frame_art"], 2, tmp_path / "b", seed=0)
    other = pasted_scenes(train, dataset, ["rug", "frame_art"], 2, tmp_path / "c", seed=1)
    assert [c.labels for c in first] == [c.labels for c in again]
    assert all(np.array_equal(load_image(a.image), load_image(b.image)) for a, b in zip(first, again))
    assert [c.labels for c in first] != [c.labels for c in other]


def test_no_copies_without_rare_categories_or_when_none_are_asked(ikea: Path, tmp_path: Path):
    dataset = PairDataset.load(ikea)
    train = _train_scenes(dataset, 2)
    assert pasted_scenes(train, dataset, ["chair"], 3, tmp_path, seed=0) == []
    assert pasted_scenes(train, dataset, ["rug"], 0, tmp_path, seed=0) == []
    assert not any(tmp_path.iterdir())
