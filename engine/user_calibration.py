"""The user's own calibration of an embedder, kept apart from its card so that a card can be replaced.

A card (``engine.models``) says how to run a model; a pack card comes from ``resources/modelpack.yaml`` and
``models fetch`` replaces it whenever its bytes differ from the pack's, as it must for a newer card to come in.
The "exact" and "likely the same" thresholds a user measured on their own validation pairs
(``training.match_levels.calibrate_model``) are theirs, not the pack's: written into the card, a fetch (the
remedy a damaged model's error names) silently put the shipped thresholds back.

So they live beside the model in ``NAME.calibration.json``, keyed by the sha256 of the model file they were
measured on, and ``engine.models.read_card`` lays them over the card: they apply while the card describes
that file (a fetch that repairs it, a newer pack card for it), and not once another model takes the name.
A card calibrated in place by an older version keeps its thresholds as it is read; ``models fetch`` moves
them here before it replaces that card (``keep_from_card``) and drops, saying so, a calibration that no
longer applies (``drop_if_stale``). A damaged one (``Damaged``) leaves the card's thresholds, said in one line
wherever the model is listed or run, and is left for the user to delete or replace by calibrating again.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from engine.errors import ModelError
from engine.files import NotAFile, TooLarge, read_json_bounded, write_atomic

SUFFIX = ".calibration.json"
SHIPPED_BY = "python -m bench.exact_threshold"  # the "tool" a shipped card's calibration record names
MAX_BYTES = 1 << 20  # a calibration is a few hundred bytes: read no more than this


def calibration_path(model: Path) -> Path:
    """Where the user's calibration of ``model`` lives: beside it, as its card does."""
    return model.with_suffix(SUFFIX)


def save(model: Path, sha256: str, exact: float, likely: float, record: dict[str, Any]) -> Path:
    """The thresholds measured on the model file of ``sha256``, with what they were measured on."""
    target = calibration_path(model)
    write_atomic(target, json.dumps({"sha256": sha256, "exact_threshold": exact, "likely_threshold": likely,
                                     "calibration": record}, indent=2))
    return target


class Damaged(ModelError):
    """A calibration file there that cannot be used. Its line names the file, what is wrong with it and what to
    do, and says that the card's thresholds apply meanwhile: the model stays listed and usable (``engine.models``
    keeps the line on the card, for whatever lists or runs the model to say)."""


def load(model: Path) -> dict[str, Any] | None:
    """The user's calibration of ``model`` (checked), or None where there is none; ``Damaged`` where one is
    there but unusable (a link to nothing included: the user made it, and must not see it silently ignored)."""
    path = calibration_path(model)
    if not os.path.lexists(path):
        return None
    data, problem = _read(path)
    problem = problem or _problem(data)
    if problem:
        raise Damaged(f"calibration {path}: {problem}; the card's 'exact'/'likely the same' thresholds apply until "
                      "you delete it or calibrate the model again")
    return data


def _read(path: Path) -> tuple[Any, str | None]:
    """The JSON in ``path``, or why there is none to use (``read_json_bounded``: no FIFO, device or endless link is
    read, and at most ``MAX_BYTES``)."""
    try:
        return read_json_bounded(path, MAX_BYTES), None
    except TooLarge:
        return None, f"over {MAX_BYTES // 1024} KB (a calibration is a few hundred bytes)"
    except NotAFile as exc:
        if path.is_symlink() and not path.exists():
            return None, "a link to a file that is not there"
        return None, str(exc).removeprefix(f"{path}: ")
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or type(exc).__name__})"
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError: ValueErrors
        return None, f"not JSON ({type(exc).__name__})"


def _problem(data: Any) -> str | None:
    """What makes a calibration file one the engine must not use; None when nothing."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if not isinstance(data.get("sha256"), str):
        return "no 'sha256' of the model it was measured on"
    for key in ("exact_threshold", "likely_threshold"):
        value = data.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            return f"{key!r} must be a number"
    if not isinstance(data.get("calibration"), dict):
        return "'calibration' must be an object"
    return None


def keep_from_card(card: Path, model: Path) -> None:
    """Move a calibration an older version wrote into ``card`` to its own file, before the card is replaced.

    Only a record the user measured counts (a shipped card's names ``SHIPPED_BY`` as its tool, and an older
    pack card's thresholds must give way to the newer one's); one already kept apart is left as it is.
    """
    if calibration_path(model).exists():
        return
    try:  # at most MAX_BYTES read: a 3 GB sparse card was read whole, then cut
        data = read_json_bounded(card, MAX_BYTES)
    except (OSError, TooLarge, ValueError, RecursionError):
        return  # an unreadable card has no thresholds to keep
    metrics = data.get("metrics") if isinstance(data, dict) else None
    record = metrics.get("calibration") if isinstance(metrics, dict) else None
    if not isinstance(record, dict) or record.get("tool") == SHIPPED_BY:
        return
    found = {"sha256": data.get("sha256") or "", "exact_threshold": data.get("exact_threshold"),
             "likely_threshold": data.get("likely_threshold"), "calibration": record}
    if _problem(found) is None:
        save(model, found["sha256"], found["exact_threshold"], found["likely_threshold"], record)


def drop_if_stale(model: Path, sha256: str) -> str | None:
    """Remove the user's calibration of ``model`` if it was measured on a file other than ``sha256`` (the one
    now installed under that name), and say so in one line; None when there is none or it still applies.
    A damaged one is left for the user to look at, and its line said: the fetch goes on."""
    try:
        kept = load(model)
    except Damaged as exc:
        return str(exc)
    if kept is None or kept["sha256"] == sha256:
        return None
    calibration_path(model).unlink()
    return (f"{model.name}: your calibrated 'exact'/'likely the same' thresholds were measured on another "
            "model file than the pack's; dropped, the card's apply (measure them again for this model)")
