"""``bench/drawn_guess.py --boxes``: the hand-drawn rug and lamp boxes it measures "What is it?" on, read and checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from bench.drawn_guess import read_boxes

BOXES = Path(__file__).resolve().parent.parent / "bench" / "drawn_boxes.csv"


def test_the_hand_drawn_boxes_lie_in_their_photos_and_a_bad_row_is_one_line(ikea, tmp_path):
    """Each of the 13 boxes (7 rugs, 6 lamps) is a real box inside its scene's photo; a row with a word for a
    coordinate stops the bench with one line naming the file's line."""
    boxes = read_boxes(BOXES)
    drawn = [(scene, category, box) for scene, rows in boxes.items() for category, box in rows]
    assert sorted(c for _s, c, _b in drawn).count("rug") == 7 and len(drawn) == 13
    for scene, _category, (x1, y1, x2, y2) in drawn:
        with Image.open(ikea / "scenes" / f"{scene}.jpg") as photo:
            assert 0 <= x1 < x2 <= photo.width and 0 <= y1 < y2 <= photo.height, scene
    bad = tmp_path / "boxes.csv"
    bad.write_text("scene_id,category,x1,y1,x2,y2\ns,rug,1,2,3,4\ns,rug,1,two,3,4\n")
    with pytest.raises(SystemExit) as stop:
        read_boxes(bad)
    assert str(stop.value).endswith("boxes.csv:3: not scene_id,category,x1,y1,x2,y2")
