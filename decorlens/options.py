"""Argument types shared by several commands."""

from __future__ import annotations

import argparse

CONF_HELP = "detector confidence for every detector (default 0.1), or 'card': each model card's own"


def confidence(value: str) -> float | None:
    """A confidence in [0, 1], or ``card`` (None) for each detector's card default, as the app runs them."""
    if value == "card":
        return None
    try:
        conf = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is neither a number nor 'card'") from None
    if not 0.0 <= conf <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not a confidence between 0 and 1")
    return conf
