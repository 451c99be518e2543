"""Colours for category pins, legend chips and the HTML export: one fixed colour per category.

A category keeps its colour in every photo and every session, so a merchandiser learns that orange is
a chair and never has to re-read the legend. The shipped categories each get their own colour, the
common ones (seen most in rooms) the most distinct; a category of a user's own map gets one from a
stable hash of its name (crc32, not ``hash()``, which changes from one run to the next).
"""

from __future__ import annotations

import zlib

# All readable with a white number on top. The first 16 (Tableau 10 and darker companions) go to the
# categories with the most pins, so those that meet in one room are the easiest to tell apart.
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
    "#3a7d44",
    "#b8860b",
    "#5f6b7a",
    "#17becf",
    "#8c564b",
    "#bcbd22",
    "#7f7f7f",
    "#1f77b4",
    "#e377c2",
    "#6b8e23",
    "#4b0082",
    "#b5651d",
    "#0b6e99",
    "#c71585",
    "#556b2f",
    "#cd5c5c",
)
# The shipped categories (resources/categories.yaml), most pins first, each its own colour; a few swapped so
# that a kitchen's appliances, sinks and plants are not three greens, nor a living room's stools and plants.
SHIPPED = (
    "sofa", "chair", "table", "plant_pot", "cushion_throw", "storage_furniture", "lamp",
    "tableware_kitchenware", "rug", "armchair", "bed", "vase_candle", "kitchen_appliance", "curtain_blind",
    "shelf", "frame_art", "cot", "desk", "tv_bench", "wardrobe", "bedding", "stool_bench", "mirror", "tap_sink",
    "box_basket", "clock", "hardware_fixture", "footstool_pouffe", "door_front", "bath", "toy_kids", "outdoor",
)
FIXED = dict(zip(SHIPPED, COLOURS, strict=True))
USER_COLOUR = "#222222"  # a drawn region whose category is not known yet


def category_colour(category: str) -> str:
    """The colour of ``category``, the same wherever and whenever it is asked for."""
    if not category:
        return USER_COLOUR
    return FIXED.get(category) or COLOURS[zlib.crc32(category.encode()) % len(COLOURS)]


class CategoryColours:
    """Category → colour for a view or a page; kept as an object so callers need not change."""

    def colour(self, category: str) -> str:
        return category_colour(category)
