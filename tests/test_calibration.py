"""The exact-threshold calibration on hand-made score lists."""

import pytest

from engine.calibration import calibrate_exact


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
