"""One evaluation against an earlier one, pair by pair: did a change of detector or embedder find more?

Two runs of ``decorlens eval`` on the same split, differing in one thing (a trained detector against the
stock pair, new labels against old), differ by a few points on a few hundred pairs, and whether that is
luck depends on how many pairs only one of them gets right. Each ``eval.json`` lists its pairs with
their status and ranks, so a later run compares itself with an earlier report on the pairs both scored:
coverage (some pin of the pair's category) and end-to-end top-1 / top-5 per matcher the two share, each
as wins, losses and an exact McNemar p.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from engine.advice import os_problem
from engine.errors import DecorLensError
from training.evaluate import TOP_K, versus

KS = {"top1": 1, "top5": TOP_K}


def load_earlier(path: Path) -> dict[str, Any]:
    """An earlier ``eval.json``, with the per-pair list this comparison needs."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:  # "…: [Errno 21] Is a directory: '…'" named the path twice, in Python's words
        raise DecorLensError(f"{path}: {os_problem(exc) or exc.strerror}; --against takes an earlier run's "
                             "eval.json") from exc
    except ValueError as exc:
        raise DecorLensError(f"{path}: not JSON; --against takes an earlier run's eval.json") from exc
    if not isinstance(data, dict) or not isinstance(data.get("pairs"), list):
        raise DecorLensError(f"{path} lists no pairs (written before eval recorded them): run that eval again")
    if not isinstance(data.get("overall"), dict) or not all(_well_formed(p) for p in data["pairs"]):
        raise DecorLensError(f"{path} is not an eval.json written by decorlens eval")
    return data


def _well_formed(pair: Any) -> bool:
    return (isinstance(pair, dict) and all(isinstance(pair.get(k), str) for k in ("scene", "product", "status"))
            and isinstance(pair.get("rank"), dict)
            and all(r is None or isinstance(r, int) for r in pair["rank"].values()))


def against(data: dict[str, Any], earlier: dict[str, Any], source: str) -> dict[str, Any]:
    """``data`` against ``earlier`` on the pairs both scored: wins are pairs only ``data`` gets."""
    before = {(p["scene"], p["product"]): p for p in earlier["pairs"]}
    common = [(p, before[p["scene"], p["product"]]) for p in data["pairs"] if (p["scene"], p["product"]) in before]
    if not common:
        raise DecorLensError(f"{source} shares no scene-product pair with this run: was it another split or dataset?")
    matchers = [m for m in data["overall"] if m in earlier["overall"]]
    return {
        "source": source,
        "pairs": len(common),
        "covered": _counts([(_covered(new), _covered(old)) for new, old in common]),
        "end_to_end": {m: {name: _counts([(_within(new, m, k), _within(old, m, k)) for new, old in common])
                           for name, k in KS.items()} for m in matchers},
    }


def _covered(pair: dict[str, Any]) -> bool:
    return pair["status"] == "evaluated"


def _within(pair: dict[str, Any], matcher: str, k: int) -> bool:
    rank = pair["rank"].get(matcher)
    return rank is not None and rank <= k


def _counts(outcomes: list[tuple[bool, bool]]) -> dict[str, Any]:
    new, old = np.array(outcomes, bool).reshape(-1, 2).T
    return {"now": int(new.sum()), "before": int(old.sum()), **versus(new, old)}
