"""iPhone photos (HEIC): read everywhere a JPEG is, under the same limits, upright, and refused in one line when bad.

Every HEIC here is made at test time with pillow-heif's own encoder from a real IKEA scene, into a temp folder.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from decorlens.main import main
from engine.errors import ImageError
from engine.imageio import IMAGE_SUFFIXES, load_image
from engine.importer import read_source
from engine.pipeline import Pipeline
from engine.settings import Settings

SOFA_SCENE = "take-a-comfy-seat-on-the-sofa"


@pytest.fixture(scope="module")
def room(ikea: Path) -> Image.Image:
    return Image.open(next((ikea / "scenes").glob(f"*{SOFA_SCENE}*.jpg"))).convert("RGB")


def save_heic(image: Image.Image, path: Path, orientation: int = 1) -> Path:
    """``image`` written as an iPhone does, HEVC in a HEIF container, with an EXIF orientation tag."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    pillow_heif.from_pillow(image).save(path, quality=90, exif=exif.tobytes())  # not through Pillow's registry
    return path


def claiming(heic: Path, width: int, height: int) -> bytes:
    """``heic``'s bytes with its picture's size (the ``ispe`` box) changed to ``width`` × ``height``."""
    data = bytearray(heic.read_bytes())
    at = data.index(b"ispe") + 8  # box type, version and flags, then width and height
    data[at:at + 8] = struct.pack(">II", width, height)
    return bytes(data)


def test_heic_suffixes_are_read(tmp_path: Path, room: Image.Image):
    assert {".heic", ".heif", ".hif"} <= IMAGE_SUFFIXES
    arr = load_image(save_heic(room, tmp_path / "IMG_0001.HEIC"))
    assert arr.shape == (room.height, room.width, 3) and arr.dtype == np.uint8
    assert np.abs(arr.astype(int) - np.asarray(room, dtype=int)).mean() < 4  # lossy, close to the JPEG


def test_heic_orientation_6_is_shown_upright(tmp_path: Path, room: Image.Image):
    """Orientation 6 ("rotate 90° clockwise to view"), the one of a phone held upright: turned once, not twice
    (libheif applies the rotation and pillow-heif sets the EXIF tag to 1 then)."""
    arr = load_image(save_heic(room, tmp_path / "upright.heic", orientation=6)).astype(int)
    assert arr.shape[:2] == (room.width, room.height)
    clockwise = np.asarray(room.transpose(Image.Transpose.ROTATE_270), dtype=int)
    counter = np.asarray(room.transpose(Image.Transpose.ROTATE_90), dtype=int)
    assert np.abs(arr - clockwise).mean() < 4 < np.abs(arr - counter).mean()


@pytest.mark.parametrize(("width", "height", "message"), [
    (20000, 20000, "image too large (20000x20000 pixels; the limit is 250 Mpx)"),
    (12000, 12000, "image too large to decode (12000x12000 RGB, 549 MiB; the limit is 400 MiB)"),
    (40000, 40000, "image too large to decode safely"),
])
def test_heic_claiming_a_huge_size_is_refused_in_one_line(tmp_path: Path, room: Image.Image, width: int,
                                                          height: int, message: str):
    bomb = tmp_path / "bomb.heic"
    bomb.write_bytes(claiming(save_heic(room, tmp_path / "small.heic"), width, height))
    with pytest.raises(ImageError) as refused:
        load_image(bomb)
    assert str(refused.value) == f"{bomb}: {message}"


@pytest.mark.parametrize(("keep", "message"), [
    (0.5, "cannot decode image (file is truncated)"),
    (0.001, "cannot decode image (HEIC/HEIF file is damaged or truncated)"),  # cut inside its header
])
def test_truncated_heic_is_one_line(tmp_path: Path, room: Image.Image, keep: float, message: str):
    data = save_heic(room, tmp_path / "whole.heic").read_bytes()
    cut = tmp_path / "cut.heic"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ImageError) as refused:
        load_image(cut)
    assert str(refused.value) == f"{cut}: {message}"


def test_folder_import_imports_a_heic(tmp_path: Path, room: Image.Image, exported_models: Path):
    (tmp_path / "src" / "sofa").mkdir(parents=True)
    save_heic(room, tmp_path / "src" / "sofa" / "IMG_0042.HEIC", orientation=6)
    assert [(r.sku, r.skip) for r in read_source(tmp_path / "src")] == [("IMG_0042", "")]
    report = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data")).import_catalog(tmp_path / "src")
    assert (report.added, report.skipped) == (1, [])


def test_cli_searches_a_heic(pipeline: Pipeline, scene_path, tmp_path: Path, room: Image.Image, capsys):
    """``decorlens search IMG.heic`` finds what the JPEG it was made from finds."""
    found = []
    for photo in (scene_path(SOFA_SCENE), save_heic(room, tmp_path / "IMG_0042.heic")):
        assert main(["--data-dir", str(pipeline.data_dir), "search", str(photo), "--json", "--top-k", "1"]) == 0
        found.append(json.loads(capsys.readouterr().out))
    jpeg, heic = found
    assert (heic["width"], heic["height"]) == room.size and heic["objects"]
    assert sorted(o["category"] for o in heic["objects"]) == sorted(o["category"] for o in jpeg["objects"])


def test_heic_thumbnail_is_upright(qapp, tmp_path: Path, room: Image.Image):
    """Qt has no HEIC plugin: the thumbnail is decoded by engine.imageio (it was a blank tile)."""
    from app.thumbnails import decode_hashed

    image, key = decode_hashed(str(save_heic(room, tmp_path / "upright.heic", orientation=6)), 136, 96, 1.0)
    assert (image.width(), image.height()) == (72, 96) and len(key) > 0


@pytest.mark.gui
def test_a_dropped_heic_opens_with_its_thumbnail(qtbot, window, tmp_path: Path, room: Image.Image):
    from file_drop import drop_file

    heic = save_heic(room, tmp_path / "IMG_0042.HEIC", orientation=6)
    assert drop_file(window.view.viewport(), heic)
    qtbot.waitUntil(lambda: window.controller.path == heic and window.controller.scene is not None
                    and window._listing is None, timeout=90_000)
    assert not window.message.isVisible() or "Left out" not in window.message.text.text()
    strip = window.photo_list
    qtbot.waitUntil(lambda: not strip.item(0).icon().isNull(), timeout=90_000)
    assert strip.photos == [heic]
