"""Pin colours fixed per category, and the legend's corner that never covers a pin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QRect, QSize

from app.palette import COLOURS, FIXED, USER_COLOUR, CategoryColours, category_colour
from app.widgets.floating import MARGIN
from app.widgets.legend import free_corner
from engine.categories import CategoryMap

ROOT = Path(__file__).resolve().parents[1]
VIEW = QRect(0, 0, 900, 700)
LEGEND = QSize(160, 180)


def test_every_shipped_category_has_its_own_colour() -> None:
    shipped = CategoryMap.load().categories
    assert set(shipped) <= set(FIXED)
    colours = [category_colour(c) for c in shipped]
    assert len(set(colours)) == len(colours)


def test_every_category_stands_out_on_the_map_in_both_themes() -> None:
    """On the dark Map, Hardware & fittings' indigo (1.05:1) and the armchairs' navy (1.6:1) all but vanished; on the
    light one the lamps' yellow (1.5:1). Every category of the shipped map, and every colour a user's own category
    may get, now stands 3:1 against the map's ground in either theme: the one colour its pins and legend have too."""
    from contrast import SHAPE_CONTRAST, contrast

    from app.widgets.map_canvas import PAPER

    for category in CategoryMap.load().categories:
        for ground in PAPER.values():
            assert contrast(category_colour(category), ground) >= SHAPE_CONTRAST, (category, ground)
    assert min(contrast(c, ground) for c in COLOURS for ground in PAPER.values()) >= SHAPE_CONTRAST


def test_colour_does_not_depend_on_the_photo_or_the_order_of_asking() -> None:
    one, other = CategoryColours(), CategoryColours()
    first = [one.colour(c) for c in ("lamp", "sofa", "my_own_category")]
    second = [other.colour(c) for c in ("my_own_category", "sofa", "lamp")][::-1]
    assert first == second
    assert one.colour("") == USER_COLOUR


def test_a_users_own_category_keeps_its_colour_from_one_session_to_the_next() -> None:
    """Python's str hash changes per process; the colour must not."""
    code = "from app.palette import category_colour; print(category_colour('outdoor_kitchen_island'))"
    seen = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(seen) == 1 and seen <= set(COLOURS)


def test_legend_takes_the_top_left_corner_when_it_is_free() -> None:
    assert free_corner(LEGEND, [QPoint(450, 350)], VIEW, 19) == QPoint(MARGIN, MARGIN)


def test_legend_moves_to_the_next_free_corner_away_from_pins() -> None:
    pins = [QPoint(60, 60), QPoint(VIEW.right() - 40, 40)]  # top-left and top-right taken
    corner = free_corner(LEGEND, pins, VIEW, 19)
    assert corner == QPoint(MARGIN, VIEW.bottom() - MARGIN - LEGEND.height())
    box = QRect(corner, LEGEND).adjusted(-19, -19, 19, 19)
    assert not any(box.contains(p) for p in pins)


def test_no_free_corner_is_none() -> None:
    pins = [QPoint(x, y) for x in (60, VIEW.right() - 60) for y in (60, VIEW.bottom() - 60)]
    assert free_corner(LEGEND, pins, VIEW, 19) is None
