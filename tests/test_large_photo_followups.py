"""Follow-ups to test_large_photo_pixels, on a real photo past ``engine.imageio.MAX_SIDE`` (a shared IKEA scene
upscaled to 5000x3750, decoded at 4096x3072): a memory of tagged photos written before boxes were in the photo's
pixels is read in them without reading the photo's header once per object."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from decorlens.main import main
from engine import scene_memory
from engine.imageio import MAX_SIDE, upright_size
from engine.scene_memory import BATCH, SeenObject, remember

SIZE = (5000, 3750)
DECODED = (MAX_SIDE, 3072)  # SIZE brought to MAX_SIDE: a scale of 0.8192
SKU = "00000001"


def _photo(scene: Path, out: Path, size: tuple[int, int]) -> Path:
    with Image.open(scene) as img:
        img.convert("RGB").resize(size, Image.Resampling.BILINEAR).save(out, quality=80)
    return out


def test_where_reads_a_legacy_photos_header_once_per_state_of_its_file(fresh_pipeline, scene_path, tmp_path,
                                                                       monkeypatch, capsys):
    """Three objects of one large photo, remembered at its decoded size as DecorLens did before: `where` (JSON and
    text) shows their boxes in the photo's pixels from one header read; the photo replaced by a larger one is read
    again and its boxes follow."""
    photo = _photo(scene_path("take-a-comfy-seat-on-the-sofa"), tmp_path / "room.jpg", SIZE)
    key, dim = fresh_pipeline.embedder.key, fresh_pipeline.embedder.dim
    stored = [(100.0 * n, 200.0, 100.0 * n + 400.0, 3072.0) for n in range(1, 4)]
    objects = [SeenObject(n, "sofa", box, ((SKU, 0.9 - n / 100, "likely"),), vector=np.ones(dim, np.float32),
                          embedder=key) for n, box in enumerate(stored, 1)]
    remember(fresh_pipeline, photo, DECODED, objects, BATCH)  # every vector handed on: nothing decoded
    fresh_pipeline.close()
    reads: list[str] = []

    def counted(path):
        reads.append(str(path))
        return upright_size(path)

    monkeypatch.setattr(scene_memory, "upright_size", counted)

    def where_boxes() -> list[float]:
        assert main(["-q", "--data-dir", str(tmp_path), "where", SKU, "--json"]) == 0
        return [v for s in json.loads(capsys.readouterr().out)["photos"] for v in s["box"]]

    scale = SIZE[0] / DECODED[0]
    assert where_boxes() == pytest.approx([v * scale for box in stored for v in box], abs=0.05)
    assert main(["-q", "--data-dir", str(tmp_path), "where", SKU]) == 0
    assert "box 122,244,610,3750" in capsys.readouterr().out  # the first object, 100,200,500,3072 at 1/0.8192
    assert len(reads) == 1, reads

    _photo(photo, photo, (6000, 4500))  # replaced in place: another size, another state of the file
    scale = 6000 / DECODED[0]
    assert where_boxes() == pytest.approx([v * scale for box in stored for v in box], abs=0.05)
    assert len(reads) == 2, reads


def _differs(shown: Image.Image, expected: Image.Image) -> float:
    """Mean absolute difference of two pictures of one size, 0-255."""
    assert shown.size == expected.size
    return float(np.abs(np.asarray(shown, np.int16) - np.asarray(expected.convert("RGB"), np.int16)).mean())


def test_training_reports_cut_a_large_photos_box_where_it_is(fresh_pipeline, scene_path, ikea, tmp_path):
    """Detector training's review sheet (a pseudo label) and the Train window's before/after example (a detection)
    are given boxes in the photo's own pixels, as every label and detection is: both cut them from the photo decoded
    smaller, where a box reaching past 4096 px came out black or cut short, and of another part of the room."""
    from training.before_after import THUMB, _example
    from training.data import PairDataset, Product
    from training.evaluate import Outcome
    from training.pseudo_labels import Label, SceneLabels
    from training.review import TILE, contact_sheet

    photo = _photo(scene_path("take-a-comfy-seat-on-the-sofa"), tmp_path / "room.jpg", SIZE)
    box = (3000.0, 2000.0, 4800.0, 3600.0)  # the bottom right, past MAX_SIDE
    with Image.open(photo) as img:
        expected = img.crop(tuple(int(v) for v in box))
    product = Product("000.114.28", "shelf", (ikea / "products" / "shelf" / "000.114.28.jpg",))
    dataset = PairDataset(tmp_path, {"room": photo}, {product.id: product}, [], {})

    label = Label(box, "sofa", "pair", product.id, 0.5)
    sheet = contact_sheet(dataset, [(SceneLabels("room", photo, *SIZE, [label]), 0)], tmp_path / "review.png")
    tile = expected.copy()
    tile.thumbnail((TILE - 4, TILE - 4))
    with Image.open(sheet) as img:  # the first tile's region, pasted beside its product photo
        assert _differs(img.crop((TILE + 2, 2, TILE + 2 + tile.width, 2 + tile.height)), tile) < 8

    outcome = Outcome("room", product.id, "sofa", "evaluated", False, boxes=[box],
                      firsts={"finetuned": [None], "pretrained": [None]})
    (tmp_path / "examples").mkdir()
    entry = _example(dataset, outcome, fresh_pipeline, tmp_path / "examples", 0)
    thumb = expected.copy()
    thumb.thumbnail((THUMB, THUMB))
    with Image.open(entry["crop"]) as img:
        assert _differs(img, thumb) < 8
