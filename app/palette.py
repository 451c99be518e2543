"""Colours for category pins, legend chips and the HTML export: one fixed colour per category.

A category keeps its colour in every photo and every session, so a merchandiser learns that orange is
a chair and never has to re-read the legend. The shipped categories each get their own colour, the
common ones (seen most in rooms) the most distinct; a category of a user's own map gets one from a
stable hash of its name (crc32, not ``hash()``, which changes from one run to the next).
"""

from __future__ import annotations

import zlib

# Each stands 3:1 or more against the catalog map's ground in both themes (``map_canvas.PAPER``; WCAG's contrast for
# a shape), and so 3.4:1 to 4.3:1 under a pin's white number. They were Tableau 10 and darker companions, from a
# pale yellow to a near-black indigo: on the dark Map, Hardware & fittings' indigo and the armchairs' navy all but
# vanished, on the light one the lamps' yellow and the rugs' pink. Each kept its hue where it could (a chair is
# still orange, a lamp ochre) at a luminance both grounds allow; the few that then came too close to the colour of
# a category with more pins took another hue, so no two are nearer than 15 (CIELAB ΔE). The first ones go to the
# categories with the most pins. Those seen together (the 13 most common, and a kitchen's, living room's or bedroom's
# own) are 14 or more apart in CIEDE2000, which weighs hue and chroma as the eye does: a table's red and a shelf's
# salmon (7.8), a sofa's and an armchair's blues (4.8) were hard to tell apart on small pins, so the sofa took a
# lighter blue, the shelf an orchid (a tan read as the chairs' orange in a kitchen), the rug a grey, the bed a
# violet and the cushions a greyer mauve.
COLOURS = (
    "#0f91c3",
    "#d4700d",
    "#e15759",
    "#559a4b",
    "#a08291",
    "#9c755f",
    "#a78610",
    "#4f9691",
    "#8c8c7d",
    "#4979d8",
    "#e100fa",
    "#d45087",
    "#846faf",
    "#008f7a",
    "#b946b9",
    "#8c68c6",
    "#219e36",
    "#8d7a44",
    "#6e7b8d",
    "#1395af",
    "#e53b19",
    "#8f8f1a",
    "#b46371",
    "#5971ed",
    "#dd58b4",
    "#6b8e23",
    "#ad3dff",
    "#a76f38",
    "#1781cc",
    "#e51899",
    "#68833a",
    "#cf552c",
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
