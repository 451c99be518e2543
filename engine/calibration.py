"""Calibrating the words a match is labelled with, per embedder, from labelled top-1 matches.

A match is shown as "exact" when its cosine reaches the card's ``exact_threshold``, "likely" (the same
product) when it reaches ``likely_threshold``, else "similar". The right values depend on the embedder,
so they are measured: over scene objects whose top-1 product is known to be right or wrong, take the
lowest score at which labels are right at least the target share of the time (with enough support to
trust it). A level no score reaches gets ``NEVER``, above any cosine: a pretrained embedder that is
right 1 time in 3 at best must not call anything exact, however high its score.

``calibrate_exact`` (one level, falling back to the best-precision score) is what training writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EXACT_TARGET = 0.8  # "exact": right at least 4 times in 5
LIKELY_TARGET = 0.5  # "likely the same product": right more often than not
NEVER = 1.01  # a threshold above any cosine similarity: the level is never shown


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


@dataclass(frozen=True)
class Levels:
    """The "exact" and "likely" thresholds of one embedder, and what they were measured on."""

    exact: Calibration
    likely: Calibration
    scored: int  # labelled top-1 matches
    right: int  # of which right

    @property
    def exact_threshold(self) -> float:
        return round(self.exact.threshold, 3) if self.exact.reached_target else NEVER

    @property
    def likely_threshold(self) -> float:
        return round(self.likely.threshold, 3) if self.likely.reached_target else NEVER

    def as_metrics(self, exact_target: float, likely_target: float) -> dict[str, object]:
        """What a model card records under ``metrics``: enough to judge the thresholds without re-running."""
        return {
            "scored_top1": self.scored,
            "top1_right": round(self.right / self.scored, 3),
            "exact": {"target_precision": exact_target, **_level(self.exact)},
            "likely": {"target_precision": likely_target, **_level(self.likely)},
        }


def card_levels(
    exact: float | None, likely: float | None, metrics: dict[str, object]
) -> tuple[float | None, float]:
    """(exact, likely) thresholds a card's fields and metrics support; None: the card says nothing.

    Cards written by ``bench.exact_threshold`` carry both. ``decorlens train`` writes one threshold at
    50 % precision as ``exact_threshold`` with its measured ``exact_precision``: that is a "likely"
    level, so it is read as one unless it reached ``EXACT_TARGET``. Older cards have no evidence and
    keep their "exact" threshold.
    """
    if likely is not None:
        return exact, likely
    precision = metrics.get("exact_precision")
    if exact is None or not isinstance(precision, (int, float)):
        return exact, NEVER
    if precision >= EXACT_TARGET:
        return exact, NEVER
    return NEVER, exact if precision >= LIKELY_TARGET else NEVER


def _level(cal: Calibration) -> dict[str, object]:
    return {"reached_target": cal.reached_target, "threshold": round(cal.threshold, 3),
            "precision": round(cal.precision, 3), "support": cal.support}


def calibrate_levels(
    scores: Sequence[float], correct: Sequence[bool], exact: float = EXACT_TARGET, likely: float = LIKELY_TARGET,
    min_support: int = 10,
) -> Levels:
    """Both thresholds from the same labelled matches; an unreached level is reported, never faked."""
    return Levels(
        calibrate_exact(scores, correct, exact, min_support),
        calibrate_exact(scores, correct, likely, min_support),
        len(scores), int(sum(bool(c) for c in correct)),
    )
