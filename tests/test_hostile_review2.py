"""Holes a second review of hostile input found in files a shared or synced data folder may hold, and in what
DecorLens generates from them: each a one-line error or a note, never a traceback, never markup run or shown.

test_hostile_review, test_hostile_inputs, test_hostile_models and test_hostile_training_inputs hold the attacks
thought of before (bundles, feeds, models, photos, corrections files).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.categories import CategoryMap
from engine.errors import DecorLensError


def _user_map(data: Path, text: str) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    (data / "categories.yaml").write_text(text)
    return data


@pytest.mark.parametrize("key", ["null", "yes", "~"])
def test_a_category_map_naming_no_text_as_a_category_is_one_line(tmp_path: Path, key: str) -> None:
    """``null:`` or ``yes:`` as a category was kept as None or True: the app's tag panel and Settings list then
    ended in a TypeError at its first display name."""
    data = _user_map(tmp_path, f"categories:\n  {key}: {{search: [lamp]}}\n  lamp: {{}}\n")
    with pytest.raises(DecorLensError, match="where a category or class name goes") as caught:
        CategoryMap.load(data)
    assert "\n" not in str(caught.value)


def test_a_category_map_naming_a_category_in_digits_reads_it_as_text(tmp_path: Path) -> None:
    """``2024:`` is the category "2024", shown and searched as text wherever the map's categories go."""
    data = _user_map(tmp_path, "categories:\n  2024: {}\n  lamp: {search: [lamp]}\n"
                               "detectors:\n  coco: {vase: 2024}\n  7: {chair: lamp}\nnames:\n  2024: Year\n")
    cats = CategoryMap.load(data)
    assert cats.categories == ["2024", "lamp"]
    assert cats.searched("2024") == ("2024",)
    assert [cats.display_name(c) for c in cats.categories] == ["Year", "Lamp"]
    assert cats.decor_category("coco", "vase") == "2024"
    assert cats.decor_category("7", "chair") == "lamp"
