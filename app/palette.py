"""Colours for category pins, legend chips and the HTML export.

Colours are handed out in order of first appearance within one scene rather than fixed per category:
a room shows 4–10 categories and those must be told apart at a glance, which a fixed map of 30+
categories onto a dozen distinguishable colours cannot guarantee.
"""

from __future__ import annotations

# Tableau 10 followed by darker/lighter companions; all readable with a white number on top.
COLOURS = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#59a14f",
    "#b07aa1",
    "#9c755f",
    "#edc948",
    "#76b7b2",
    "#ff9da7",
    "#2f4b7c",
    "#a05195",
    "#d45087",
    "#665191",
    "#008f7a",
    "#c34a36",
    "#845ec2",
)
USER_COLOUR = "#222222"  # a drawn region whose category is not known yet


class CategoryColours:
    """Category → colour, stable for the lifetime of one scene."""

    def __init__(self) -> None:
        self._assigned: dict[str, str] = {}

    def colour(self, category: str) -> str:
        if not category:
            return USER_COLOUR
        if category not in self._assigned:
            self._assigned[category] = COLOURS[len(self._assigned) % len(COLOURS)]
        return self._assigned[category]

    def reset(self) -> None:
        self._assigned.clear()
