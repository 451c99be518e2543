"""Time left, in words, for the windows that say how long their work has to go (Batch Tag, the Train window's Use)."""

from __future__ import annotations


def time_left(seconds: float) -> str:
    """The estimate in words, as rounded as it is sure: "about 0:37" or "about 83:20" read as exact."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    return f"about {minutes} min" if minutes < 60 else f"about {minutes // 60} h {minutes % 60:02d} min"
