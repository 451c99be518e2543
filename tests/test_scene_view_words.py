"""What the photo says of the objects it saw but did not tag, as a screen reader reads it (no "×", read "times")."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from app.widgets.scene_view import seen_names


def test_objects_seen_are_counted_in_words_most_first() -> None:
    counts = {"table": 1, "chair": 4, "cushion_throw": 2, "shelf": 3, "tv_bench": 2, "bed": 1}
    assert seen_names(counts) == "4 chairs, 3 shelves, 2 cushions & throws, 2 TV benches and 2 more"


def test_one_object_and_names_without_a_plural() -> None:
    assert seen_names({"bed": 1, "storage_furniture": 2, "bedding": 3}) == "3 bedding, 2 storage furniture, 1 bed"
