"""The exact/likely calibration on hand-made score lists, and the card and pipeline that use it."""

import json
import shutil
from pathlib import Path

import pytest

from engine.calibration import NEVER, calibrate_exact, calibrate_levels, card_levels

EMBEDDER = "mobilenet_v2_1.0_224_quant.float.onnx"


def test_lowest_threshold_meeting_the_target():
    scores = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6]
    correct = [True, True, False, True, False, False]
    cal = calibrate_exact(scores, correct, target=0.75, min_support=2)
    # at 0.8: 3 right of 4 = 0.75 (meets); at 0.7: 3 of 5 = 0.6 (does not)
    assert (cal.threshold, cal.precision, cal.support, cal.reached_target) == (0.8, 0.75, 4, True)


def test_unreachable_target_falls_back_to_best_precision_with_support():
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    correct = [False, True, True, False, False]
    cal = calibrate_exact(scores, correct, target=0.9, min_support=3)
    assert not cal.reached_target
    assert (cal.threshold, cal.support) == (0.7, 3) and cal.precision == pytest.approx(2 / 3)


def test_no_scores_is_an_error():
    with pytest.raises(ValueError):
        calibrate_exact([], [])


def test_levels_never_fake_an_unreached_exact():
    """Right 1 time in 3 at best: no "exact" at all, "likely" where half the matches are right."""
    scores = [0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55]
    correct = [True, False, True, False, False, False, False, False]
    levels = calibrate_levels(scores, correct, exact=0.8, likely=0.5, min_support=2)
    assert levels.exact_threshold == NEVER and not levels.exact.reached_target
    assert levels.likely_threshold == 0.75 and levels.likely.precision == 0.5  # 2 right of 4
    metrics = levels.as_metrics(0.8, 0.5)
    assert metrics["top1_right"] == 0.25 and metrics["scored_top1"] == 8
    assert metrics["exact"]["reached_target"] is False and metrics["likely"]["support"] == 4


def test_the_card_records_the_calibration_and_the_pipeline_uses_it(tmp_path: Path, shared_models: Path):
    from engine.pipeline import Pipeline
    from engine.settings import Settings
    from training.match_levels import write_levels

    model = tmp_path / "models" / EMBEDDER
    model.parent.mkdir()
    shutil.copy(shared_models / EMBEDDER, model)
    stock = Path(__file__).parents[1] / "resources" / "cards" / model.with_suffix(".card.json").name
    card = model.with_suffix(".card.json")
    shutil.copy(stock, card)
    levels = calibrate_levels([0.9, 0.8, 0.7, 0.6], [True, True, False, False], 0.8, 0.5, min_support=1)
    write_levels(model, levels.exact_threshold, levels.likely_threshold, levels.as_metrics(0.8, 0.5))
    written = json.loads(card.read_text())
    assert (written["exact_threshold"], written["likely_threshold"]) == (0.8, 0.6)
    assert written["metrics"]["calibration"]["exact"]["precision"] == 1.0
    assert "exact_threshold_calibration" not in written["metrics"]
    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path, embedder=(str(model),)))
    kinds = [pipeline.match_kind(s) for s in (0.95, 0.8, 0.75, 0.6, 0.59)]
    assert kinds == ["exact", "exact", "likely", "likely", "similar"]


def test_a_trained_cards_50_percent_threshold_reads_as_likely_not_exact():
    """`decorlens train` writes its 50 %-precision threshold as exact_threshold with the precision it measured."""
    assert card_levels(0.67, None, {"exact_precision": 0.5, "exact_reached_target": True}) == (NEVER, 0.67)
    assert card_levels(0.9, None, {"exact_precision": 0.85}) == (0.9, NEVER)
    assert card_levels(0.7, None, {"exact_precision": 0.3}) == (NEVER, NEVER)  # right less than half the time
    assert card_levels(0.75, None, {}) == (0.75, NEVER)  # no evidence: kept as it was
    assert card_levels(NEVER, NEVER, {"calibration": {}}) == (NEVER, NEVER)  # bench.exact_threshold's card


def test_the_stock_mobilenet_is_never_called_exact(shared_models: Path, tmp_path: Path):
    """Its calibration (resources/cards) found no score where even half the top-1 matches are right."""
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path, embedder=(EMBEDDER,)))
    assert pipeline.embedder.model.path == shared_models / EMBEDDER
    calibration = pipeline.embedder.card.metrics["calibration"]
    assert not calibration["exact"]["reached_target"] and not calibration["likely"]["reached_target"]
    assert [pipeline.match_kind(s) for s in (0.99, 0.8, 0.5)] == ["similar"] * 3
