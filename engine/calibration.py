"""Calibrating the "exact" threshold of an embedder from labelled top-1 matches.

A match is shown as "exact" when its cosine reaches the card's ``exact_threshold``. The right value
depends on the embedder, so it is measured: over scene objects whose top-1 product is known to be
right or wrong, take the lowest score at which "exact" labels are right at least ``target`` of the
time (with enough support to trust it). When no score gets there, fall back to the score with the
best precision, so "exact" stays rare rather than meaningless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    threshold: float
    precision: float  # share of "exact" labels that are right at this threshold
    support: int  # how many top-1 matches reach it
    reached_target: bool

    def as_metrics(self) -> dict[str, float | int | bool]:
        return {
            "exact_threshold": round(self.threshold, 3),
            "exact_precision": round(self.precision, 3),
            "exact_support": self.support,
            "exact_reached_target": self.reached_target,
        }


def calibrate_exact(
    scores: Sequence[float], correct: Sequence[bool], target: float = 0.5, min_support: int = 10
) -> Calibration:
    """The lowest threshold whose precision is ≥ ``target`` with ≥ ``min_support`` matches above it."""
    s = np.asarray(scores, np.float64)
    c = np.asarray(correct, bool)
    if len(s) == 0:
        raise ValueError("no scores to calibrate from")
    order = np.argsort(-s, kind="stable")
    s, c = s[order], c[order]
    precision = np.cumsum(c) / np.arange(1, len(s) + 1)  # precision when thresholding at s[i]
    support = np.arange(1, len(s) + 1)
    eligible = support >= min(min_support, len(s))
    ok = np.flatnonzero(eligible & (precision >= target))
    if ok.size:
        i = int(ok.max())  # the lowest score (largest support) still meeting the target
        return Calibration(float(s[i]), float(precision[i]), int(support[i]), True)
    i = int(np.flatnonzero(eligible)[np.argmax(precision[eligible])])
    return Calibration(float(s[i]), float(precision[i]), int(support[i]), False)
