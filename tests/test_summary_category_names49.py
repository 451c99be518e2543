"""summary.csv names each category as the app and the pages do (session 49): its ``category`` and
``match_category`` hold the map's keys ("plant_pot"), so a merchandiser filtering the spreadsheet on "Plants & pots",
the words of every screen, found nothing. Two columns added at the end give the names."""

from __future__ import annotations

import csv
from pathlib import Path

from scene_copy import copy_data_dir

from engine.batch import SUMMARY, tag_scenes
from engine.categories import display_name
from engine.pipeline import Pipeline
from engine.settings import Settings

SCENE = "a-living-space-to-snuggle"


def test_each_row_names_its_categories_as_the_app_does(pipeline, scene_path, tmp_path: Path):
    own = Pipeline(Settings.defaults().with_(data_dir=copy_data_dir(pipeline, tmp_path / "data")))
    tag_scenes(own, [scene_path(SCENE)], tmp_path / "out")  # it remembers the photo: not in the session's catalog
    with open(tmp_path / "out" / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    names = own.categories.names
    assert rows and all(r["category_name"] == display_name(r["category"], names) for r in rows)
    matched = [r for r in rows if r["sku"]]
    assert matched and all(r["match_category_name"] == display_name(r["match_category"], names) for r in matched)
    assert any(r["category_name"] != r["category"] for r in rows)  # a key such as "storage_furniture" is no name
