"""training.class_confidence: per-class detector confidences chosen on scenes no test split holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.class_confidence import (
    FLOOR,
    LOWER,
    MAX_ADDED,
    SUPPORT,
    calibrate,
    choose,
    collect,
    tuning_scenes,
)
from training.data import PairDataset, split_of

SCENES = ["lean-in-to-leather", "stay-up-to-date-in-a-calm", "a-small-kitchen-for-smart"]  # cushions, clocks, a sink


@pytest.fixture(scope="module")
def dataset(ikea: Path) -> PairDataset:
    return PairDataset.load(ikea)


def test_tuning_scenes_are_in_no_seeds_test_split(dataset: PairDataset) -> None:
    tuning = set(tuning_scenes(dataset, [0, 1]))
    tests = set(dataset.scenes_in("test", 0)) | set(dataset.scenes_in("test", 1))
    assert tuning and not tuning & tests
    assert tuning | tests == {p.scene_id for p in dataset.pairs}
    assert all(split_of(s, 1) != "test" for s in tuning)


def test_pins_are_the_apps_at_the_floor_and_judged_as_eval_judges_them(dataset: PairDataset, fresh_pipeline) -> None:
    """Real detections of real scenes: every pin beats the floor, some lie below a card's confidence (so a
    class can be lowered), and a pin is right exactly when its category searches a paired category."""
    scenes = [next(s for s in dataset.scenes if s.startswith(f"ikea-{name}")) for name in SCENES]
    pins = collect(fresh_pipeline, dataset, scenes)
    cards = {d.model.card.class_set: d.model.card.default_conf for d in fresh_pipeline.detector.detectors}
    rows = [(key, row) for key, rows in pins.items() for row in rows]
    assert rows and all(score > FLOOR for _, (score, _, _) in rows)
    assert any(score <= cards[class_set] for (class_set, _), (score, _, _) in rows)
    assert ("oiv7", "Pillow") in pins and ("coco", "clock") in pins
    paired = {s: {p.category for p in dataset.pairs if p.scene_id == s} for s in scenes}
    categories = fresh_pipeline.categories
    for (class_set, label), (_, right, scene) in rows:
        category = categories.decor_category(class_set, label)
        assert right == any(c in paired[scene] for c in categories.searched(category))


def rows(spec: list[tuple[float, bool]], scenes: int = 10) -> list[tuple[float, bool, str]]:
    return [(score, right, f"scene-{i % scenes}") for i, (score, right) in enumerate(spec)]


def test_a_class_whose_low_pins_are_right_is_lowered() -> None:
    low = [(0.04, True)] * 9 + [(0.04, False)] + [(0.2, True)] * 8 + [(0.2, False)] * 2
    assert choose(rows(low), card_conf=0.1) == LOWER[0]


def test_lowering_that_adds_rows_of_parts_is_refused() -> None:
    """Ten compartments of one bookcase, all "right": more than MAX_ADDED pins per scene are parts of one thing."""
    low = [(0.04, True)] * 10 + [(0.2, True)] * 10
    assert choose(rows(low, scenes=1), card_conf=0.1) is None
    assert 10 > MAX_ADDED


def test_a_junk_band_is_raised_and_a_merely_unlisted_class_is_kept() -> None:
    junk = [(0.32, False)] * 5 + [(0.32, True)] + [(0.8, True)] * 4 + [(0.8, False)] * 2
    assert choose(rows(junk), card_conf=0.25) == 0.35
    unlisted = [(0.3, True), (0.3, False)] * 10 + [(0.8, True), (0.8, False)] * 5  # real chairs, half unlisted
    assert choose(rows(unlisted), card_conf=0.25) is None
    assert choose(rows(junk[: SUPPORT - 1]), card_conf=0.25) is None


def test_calibrate_writes_only_changed_classes_with_what_was_measured() -> None:
    pins = {("oiv7", "Pillow"): rows([(0.04, True)] * 9 + [(0.2, True)] * 9),
            ("coco", "chair"): rows([(0.3, True), (0.3, False)] * 10)}
    result = calibrate(pins, {"oiv7": 0.1, "coco": 0.25})
    assert result["confidence"] == {"oiv7": {"Pillow": LOWER[0]}}
    assert result["measured"]["oiv7/Pillow"] == {"card": 0.1, "conf": LOWER[0], "pins_changed": 9, "right_changed": 9}
