"""``decorlens tag`` of an animation or a multi-page TIFF: only the first picture is tagged, which the app says of the
photo it opens; the batch said nothing. Its report now names each such photo, as the app does."""

from __future__ import annotations

import os
from pathlib import Path

from ikea_feed import write_feed
from PIL import Image

from decorlens.main import main

SCENE = "a-cosy-space-for-coffee-and-conversation"


def test_the_batch_names_each_photo_of_several_pictures(fresh_pipeline, ikea: Path, ikea_products, scene_path,
                                                        tmp_path: Path, capsys) -> None:
    sofas = [r for r in ikea_products if r["category"] == "sofa"][:2]
    assert fresh_pipeline.import_catalog(write_feed(ikea, sofas, tmp_path / "feed.csv")).added == 2
    photos = tmp_path / "photos"
    photos.mkdir()
    room = Image.open(scene_path(SCENE)).convert("RGB").reduce(2)
    room.save(photos / "room.jpg")
    later = [Image.new("RGB", room.size, (shade,) * 3) for shade in (0, 128)]
    room.save(photos / "showroom.gif", save_all=True, append_images=later)
    room.save(photos / "pages.tif", save_all=True, append_images=later)
    capsys.readouterr()
    code = main(["--data-dir", str(fresh_pipeline.data_dir), "tag", str(photos), "--out", str(tmp_path / "out")])
    assert code == 0
    said = sorted(line for line in capsys.readouterr().err.splitlines() if "holds more than one picture" in line)
    words = " holds more than one picture (an animation's frames or a TIFF's pages): the first was tagged"
    assert len(said) == 2  # a long tmp_path is shortened in the line from its leading folders: the name stays
    assert said[0].endswith(f"{os.sep}pages.tif{words}") and said[1].endswith(f"{os.sep}showroom.gif{words}")
