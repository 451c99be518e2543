"""Bad and unusual image files: every one is either loaded upright as RGB or refused in one line."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import ImageError
from engine.imageio import load_image


@pytest.fixture(scope="module")
def room(ikea: Path) -> Image.Image:
    path = min((ikea / "scenes").glob("*.jpg"))
    return Image.open(path).convert("RGB")


def test_real_jpeg_loads_as_rgb(ikea: Path):
    path = min((ikea / "scenes").glob("*.jpg"))
    arr = load_image(path)
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
    assert arr.shape[1] == Image.open(path).width


def test_exif_rotation_is_applied(tmp_path: Path, room: Image.Image):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    room.save(path, exif=exif)
    arr = load_image(path)
    assert arr.shape[:2] == (room.width, room.height)  # width and height swapped


def test_cmyk_is_converted(tmp_path: Path, room: Image.Image):
    path = tmp_path / "cmyk.jpg"
    room.convert("CMYK").save(path)
    arr = load_image(path)
    assert arr.shape == (room.height, room.width, 3)
    # Colours survive the round trip approximately
    assert np.abs(arr.astype(int).mean(axis=(0, 1)) - np.asarray(room).mean(axis=(0, 1))).max() < 20


@pytest.mark.parametrize("mode", ["P", "LA", "L", "RGBA", "I;16"])
def test_other_modes_become_rgb(tmp_path: Path, room: Image.Image, mode: str):
    small = room.resize((64, 48))
    img = small.convert("I;16") if mode == "I;16" else small.convert(mode)
    if mode == "I;16":
        img = Image.fromarray(np.asarray(small.convert("L"), np.uint16) * 257)
    path = tmp_path / f"img-{mode.replace(';', '')}.png"
    img.save(path)
    arr = load_image(path)
    assert arr.shape == (48, 64, 3) and arr.dtype == np.uint8
    assert arr.max() > 100  # 16-bit scaled down, not clipped to black or white


def test_transparent_png_is_composited_on_white(tmp_path: Path):
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (10, 10), (255, 0, 0, 0)).save(path)
    assert load_image(path)[0, 0].tolist() == [255, 255, 255]


def test_huge_image_is_downscaled(tmp_path: Path):
    path = tmp_path / "huge.png"
    Image.new("RGB", (10_000, 9_500), (10, 200, 30)).save(path)  # 95 Mpx: beyond Pillow's warning limit
    arr = load_image(path, max_side=2048)
    assert max(arr.shape[:2]) == 2048
    assert arr[1000, 1000].tolist() == [10, 200, 30]


def test_huge_jpeg_is_decoded_reduced(tmp_path: Path, room: Image.Image):
    path = tmp_path / "big.jpg"
    room.resize((8000, 6000)).save(path, quality=70)
    arr = load_image(path, max_side=1000)
    assert max(arr.shape[:2]) == 1000


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty file"), (b"hello, not an image", "not an image"), (None, "no such file")],
)
def test_unusable_files_give_one_clear_line(tmp_path: Path, content: bytes | None, message: str):
    path = tmp_path / "bad.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        load_image(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


@pytest.mark.skipif("AVIF" not in Image.OPEN, reason="this Pillow reads no AVIF")
@pytest.mark.parametrize(("damage", "message"), [("payload", "Decoding of color planes failed"),
                                                 ("primary-item", "Missing or empty image item")])
def test_damaged_avif_is_refused_in_one_line(tmp_path: Path, damage: str, message: str):
    """Pillow's AVIF plugin raises RuntimeError on a damaged file (found by fuzzing): zeroed coded pixels
    fail in load(), a primary item id that names no item fails in open()."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, "AVIF")
    data = bytearray(buffer.getvalue())
    if damage == "payload":
        start = data.index(b"mdat") + 4
        data[start:] = bytes(len(data) - start)
    else:
        item = data.index(b"pitm") + 8  # box type, version and flags, then the item id
        data[item : item + 2] = b"\x00\x09"
    path = tmp_path / "damaged.avif"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=message) as info:
        load_image(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_truncated_jpeg_is_refused(tmp_path: Path, room: Image.Image):
    buffer = io.BytesIO()
    room.save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    with pytest.raises(ImageError, match="truncated"):
        load_image(path)


def test_folder_is_not_an_image(tmp_path: Path):
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "PA", "RGBA", "RGBa", "I;16", "I;16B", "I", "F", "CMYK",
                                  "YCbCr", "LAB", "HSV"])
def test_every_mode_becomes_rgb(room: Image.Image, mode: str):
    from engine.imageio import to_rgb

    small = room.resize((64, 48))
    grey = np.asarray(small.convert("L"))
    wide = {"I;16": grey.astype(np.uint16) * 257, "I;16B": (grey.astype(np.uint16) * 257).astype(">u2"),
            "I": grey.astype(np.int32) * 257, "F": grey / np.float32(255)}  # as 16-bit, 32-bit, float TIFFs hold them
    img = Image.fromarray(wide[mode]) if mode in wide else small.convert(mode)
    assert img.mode == mode
    arr = np.asarray(to_rgb(img))
    assert arr.shape == (48, 64, 3) and arr.dtype == np.uint8
    reference = np.asarray(small.convert("L" if mode in ("1", "L", "LA", "I;16", "I;16B", "I", "F") else "RGB"))
    reference = reference if reference.ndim == 3 else np.stack([reference] * 3, -1)
    tolerance = 80 if mode == "1" else 12  # 1-bit is dithered; palettes quantise
    assert np.abs(arr.astype(int).mean(axis=(0, 1)) - reference.mean(axis=(0, 1))).max() < tolerance


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: os.mkfifo(p), "FIFO"),
        (lambda p: p.symlink_to("/dev/zero"), "device"),
        (lambda p: p.symlink_to(p), "symlink loop"),
    ],
)
def test_special_files_are_refused_before_reading(tmp_path: Path, make, message: str):
    path = tmp_path / "x.jpg"
    make(path)
    with pytest.raises(ImageError, match=message):
        load_image(path)


def test_jpeg_cut_short_but_closed_is_truncated_not_grey(tmp_path: Path, room: Image.Image):
    """libjpeg fills a cut JPEG that still ends with an end marker with grey and only warns."""
    buffer = io.BytesIO()
    room.save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2] + b"\xff\xd9")
    with pytest.raises(ImageError, match="truncated"):
        load_image(path)


def test_decode_budget_refuses_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("engine.imageio.DECODE_BUDGET", 1000 * 1000 * 4 - 1)
    path = tmp_path / "big.png"
    Image.new("RGB", (1000, 1000)).save(path)
    with pytest.raises(ImageError, match=r"too large to decode \(1000x1000 RGB"):
        load_image(path)
    Image.new("L", (1000, 1000)).save(path)  # one byte a pixel: within the same budget
    assert load_image(path).shape == (1000, 1000, 3)


def test_a_progressive_jpeg_counts_the_buffers_draft_mode_does_not_shrink(tmp_path: Path, room: Image.Image,
                                                                          monkeypatch: pytest.MonkeyPatch):
    """libjpeg holds every coefficient of a progressive JPEG at full size (2 bytes each, 3 full components
    at 4:4:4): a budget that the picture alone fits refuses the progressive file and passes the baseline one."""
    w, h = room.size
    monkeypatch.setattr("engine.imageio.DECODE_BUDGET", w * h * 4 + w * h * 3)
    baseline, progressive = tmp_path / "baseline.jpg", tmp_path / "progressive.jpg"
    room.save(baseline, "JPEG", subsampling=0)
    room.save(progressive, "JPEG", subsampling=0, progressive=True)
    assert load_image(baseline).shape == (h, w, 3)
    with pytest.raises(ImageError, match=rf"too large to decode \(a progressive JPEG of {w}x{h}, "):
        load_image(progressive)


def test_a_small_progressive_jpeg_claiming_a_huge_size_is_refused_before_decoding(tmp_path: Path):
    """A noisy 400x400 progressive JPEG (big enough to pass the "can it hold that many blocks" check) whose
    header says 15800x15800: its draft picture fits the budget, its coefficient buffers (0.75 GB at 4:2:0) do not.
    It decoded them, at 1.75 GB of memory, before this was counted."""
    noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    path = tmp_path / "claim.jpg"
    Image.fromarray(noise).save(path, "JPEG", quality=95, progressive=True)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc2")  # start of frame, progressive: length, precision, height, width
    data[sof + 5:sof + 9] = (15800).to_bytes(2, "big") * 2
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=r"a progressive JPEG of 15800x15800, \d+ MiB; the limit is 400 MiB"):
        load_image(path)


@pytest.mark.parametrize("whole", [True, False])
def test_read_photo_gives_load_images_pixels_and_the_files_hash(tmp_path: Path, ikea: Path, room: Image.Image,
                                                              monkeypatch: pytest.MonkeyPatch, whole: bool):
    """One read for both (a batch read each photo three times): the same pixels and the same one-line errors as
    ``load_image``, and the hash ``sha256_of`` gives, whether the file is held whole or streamed (over the cap)."""
    from engine.files import sha256_of
    from engine.imageio import read_photo

    if not whole:
        monkeypatch.setattr("engine.imageio.WHOLE_READ_MAX", 1000)
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    room.save(rotated, exif=exif)
    for photo in (next((ikea / "scenes").glob("*.jpg")), rotated):
        pixels, sha256 = read_photo(photo)
        assert np.array_equal(pixels, load_image(photo)) and sha256 == sha256_of(photo)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(rotated.read_bytes()[: rotated.stat().st_size // 2] + b"\xff\xd9")
    (tmp_path / "empty.jpg").write_bytes(b"")
    os.mkfifo(tmp_path / "fifo.jpg")
    for bad in (cut, tmp_path / "empty.jpg", tmp_path / "fifo.jpg", tmp_path / "gone.jpg", tmp_path):
        with pytest.raises(ImageError) as expected:
            load_image(bad)
        with pytest.raises(ImageError) as got:
            read_photo(bad)
        assert str(got.value) == str(expected.value)
