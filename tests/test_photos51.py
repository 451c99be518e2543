"""Photos as cameras, phones and scanners save them: colour profiles and TIFFs Pillow cannot open (session 51).

No ICC profile ships with this machine or Pillow (``ImageCms.createProfile`` makes sRGB, LAB and XYZ only), so the
wide-gamut ones a phone or camera embeds are built here: an ICC v2 matrix/TRC display profile with Display P3's and
Adobe RGB's published D50-adapted primaries.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from engine.errors import ImageError
from engine.imageio import first_of_many, load_image, photo_size, upright_size

D50 = (0.9642, 1.0, 0.8249)
DISPLAY_P3 = ((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841), 2.2)
ADOBE_RGB = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446), 563 / 256)
SRGB_COLOURS = [(200, 40, 40), (40, 170, 60), (50, 70, 200), (230, 200, 60)]  # saturated: the gamuts differ there


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _matrix_profile(name: str, red: tuple, green: tuple, blue: tuple, gamma: float) -> bytes:
    """An ICC v2 RGB display profile: three colorants, one gamma curve for each channel, a D50 white point."""
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    text = name.encode() + b"\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 78
    tags = [(b"desc", desc), (b"wtpt", _xyz(*D50)), (b"rXYZ", _xyz(*red)), (b"gXYZ", _xyz(*green)),
            (b"bXYZ", _xyz(*blue)), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
            (b"cprt", b"text\0\0\0\0none\0")]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for signature, body in tags:
        data += b"\0" * (-(offset + len(data)) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    header = (struct.pack(">I", 128 + len(body)) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12
              + b"acsp" + b"APPL" + b"\0" * 24 + _s15(D50[0]) + _s15(D50[1]) + _s15(D50[2]) + b"\0" * 48)
    return header + body


def _tagged_photo(path: Path, icc: bytes, mode: str = "RGB", **save: object) -> np.ndarray:
    """A photo of ``SRGB_COLOURS`` in stripes, its numbers converted to the profile's space and the profile embedded,
    as a phone saves it; returns the sRGB stripes the file shows."""
    srgb = np.repeat(np.asarray(SRGB_COLOURS, np.uint8)[:, None, :], 16, axis=0).repeat(32, axis=1)
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    tagged = ImageCms.profileToProfile(Image.fromarray(srgb), ImageCms.createProfile("sRGB"), profile, outputMode="RGB")
    assert np.abs(np.asarray(tagged, int) - srgb).max() > 10  # read as sRGB, the file's numbers are visibly off
    tagged.convert(mode).save(path, icc_profile=icc, **save)
    return srgb


@pytest.mark.parametrize("name, space, suffix", [
    ("Display P3", DISPLAY_P3, ".png"), ("Adobe RGB (1998)", ADOBE_RGB, ".png"), ("Display P3", DISPLAY_P3, ".webp"),
])
def test_embedded_profile_is_converted_to_srgb(tmp_path: Path, name: str, space: tuple, suffix: str) -> None:
    """An iPhone photo (Display P3) or a camera's (Adobe RGB) is decoded to the sRGB colours it shows: its numbers
    were taken as sRGB, dull and off in hue in the app, the colour matcher and the exported page's picture."""
    path = tmp_path / f"phone{suffix}"
    srgb = _tagged_photo(path, _matrix_profile(name, *space), lossless=True)
    assert np.abs(load_image(path).astype(int) - srgb).max() <= 2


def test_profile_with_alpha_keeps_transparency(tmp_path: Path) -> None:
    """A tagged RGBA photo is converted with its alpha kept, then laid on white as every RGBA picture is."""
    path = tmp_path / "cutout.png"
    srgb = _tagged_photo(path, _matrix_profile("Display P3", *DISPLAY_P3), "RGBA")
    with Image.open(path) as img:
        rgba = np.asarray(img).copy()
    rgba[:16, :, 3] = 0  # the first stripe fully transparent
    Image.fromarray(rgba, "RGBA").save(path, icc_profile=_matrix_profile("Display P3", *DISPLAY_P3))
    pixels = load_image(path).astype(int)
    assert (pixels[:16] == 255).all()
    assert np.abs(pixels[16:] - srgb[16:]).max() <= 2


@pytest.mark.parametrize("icc", [b"not a profile at all", None])
def test_unusable_profile_leaves_pixels_as_they_are(tmp_path: Path, icc: bytes | None) -> None:
    """A damaged profile, or an RGB profile on a grey photo, is no reason to refuse a photo whose pixels are fine."""
    path = tmp_path / "odd.png"
    grey = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (8, 1))
    Image.fromarray(grey, "L").save(path, icc_profile=icc or _matrix_profile("Display P3", *DISPLAY_P3))
    assert (load_image(path) == grey[..., None]).all()


def test_float_tiff_refusal_says_what_and_what_to_do(tmp_path: Path) -> None:
    """Photoshop's 32-bit (HDR) TIFF, which Pillow cannot open, was "not an image (unknown or unsupported format;
    DecorLens reads … TIFF …)": a TIFF refused as not a TIFF. The line now names the kind and what to save it as."""
    path = tmp_path / "merged-hdr.tif"
    assert cv2.imwrite(str(path), np.full((24, 32, 3), 1.5, np.float32))
    with pytest.raises(ImageError) as refused:
        load_image(path)
    message = str(refused.value)
    assert message == (f"{path}: a TIFF of 32-bit floating-point (HDR) samples, which DecorLens cannot read; "
                       "save it as an 8- or 16-bit TIFF, PNG or JPEG")


def test_damaged_tiff_header_still_one_line(tmp_path: Path) -> None:
    """A TIFF whose first directory points past its end is still refused in one line naming it."""
    path = tmp_path / "cut.tif"
    path.write_bytes(b"II*\0" + struct.pack("<I", 10**6) + b"\0" * 8)
    with pytest.raises(ImageError) as refused:
        load_image(path)
    assert str(refused.value) == (f"{path}: a damaged TIFF, or one of a kind DecorLens cannot read; "
                                  "save it as an 8- or 16-bit TIFF, PNG or JPEG")


STORED = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
          5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_270}  # how a camera stores an upright picture for each EXIF orientation


def _turned(path: Path, stored: Image.Image, exif_orientation: int) -> None:
    """``stored`` saved with an EXIF orientation tag, as a phone saves a photo it was held sideways for."""
    exif = Image.Exif()
    exif[0x0112] = exif_orientation
    stored.save(path, exif=exif)


def _tile(path: Path, width: int = 136, height: int = 96) -> np.ndarray:
    """The Photos strip's tile of ``path`` as an RGB array."""
    from PySide6.QtGui import QImage

    from app.thumbnails import decode_fitted

    image = decode_fitted(str(path), width, height, 1.0).convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(int)


def _halves() -> Image.Image:
    """A 120 x 80 picture, red left, blue right, a green band on top: any turn or mirror of it is told apart."""
    pixels = np.zeros((80, 120, 3), np.uint8)
    pixels[:, :60] = (220, 30, 30)
    pixels[:, 60:] = (30, 30, 220)
    pixels[:12] = (30, 200, 30)
    return Image.fromarray(pixels)


def _upright(tile: np.ndarray) -> bool:
    """Whether a tile shows ``_halves`` upright: green on top, red left, blue right."""
    return bool(tile[:8, :, 1].mean() > 150 and tile[20:, :50, 0].mean() > 180 and tile[20:, 70:, 2].mean() > 180)


@pytest.mark.parametrize("exif_orientation", sorted(STORED))
def test_turned_png_tile_is_turned_as_search_turns_it(qapp, tmp_path: Path, exif_orientation: int) -> None:
    """Qt's PNG reader ignores a PNG's EXIF orientation, which search (``load_image``) applies: the strip's tile lay
    on its side or mirrored beside the upright photo it opens to."""
    upright = _halves()
    stored = upright.transpose(STORED[exif_orientation])
    path = tmp_path / "sideways.png"
    _turned(path, stored, exif_orientation)
    assert (load_image(path) == np.asarray(upright)).all()
    tile = _tile(path)
    assert tile.shape == (80, 120, 3)
    assert _upright(tile)  # as search shows it


def test_sideways_jpeg_tile_fills_its_cell(qapp, tmp_path: Path) -> None:
    """A JPEG stored on its side (EXIF 6, every phone photo taken in landscape on some phones) was scaled to fit the
    cell before Qt turned it: a 4:3 photo's tile was 96 x 72 in a 136 x 96 cell, not 128 x 96."""
    path = tmp_path / "phone.jpg"
    _turned(path, Image.new("RGB", (300, 400), (120, 140, 160)), 6)  # stored 300 x 400, upright 400 x 300
    assert _tile(path).shape == (96, 128, 3)


def test_profiled_tile_shows_the_colours_search_sees(qapp, tmp_path: Path) -> None:
    """Qt keeps a photo's colour profile beside its numbers and draws the numbers: a Display P3 photo's tile showed
    other colours than the photo it opens to (decoded in sRGB)."""
    path = tmp_path / "iphone.png"
    srgb = _tagged_photo(path, _matrix_profile("Display P3", *DISPLAY_P3))
    tile = _tile(path, 32, 64)
    assert tile.shape == srgb.shape
    assert np.abs(tile - srgb).max() <= 3


def _animation(path: Path, **save: object) -> None:
    """Three frames, the first the red and blue halves, then black, then grey, saved as one file."""
    first = _halves()
    later = [Image.new("RGB", first.size, (shade,) * 3) for shade in (0, 128)]
    first.save(path, save_all=True, append_images=later, **save)


@pytest.mark.parametrize("name", ["loop.gif", "loop.webp", "loop.png", "pages.tif"])
def test_animation_and_pages_are_said_first_decoded(tmp_path: Path, name: str) -> None:
    """An animated GIF, WebP or PNG, or a multi-page TIFF: its first picture is decoded and the count kept, so the
    app can say which one it tagged; a camera's MPO (a preview beside the photo) is one photo, and so is a still."""
    path = tmp_path / name
    _animation(path, **({"lossless": True} if name.endswith(".webp") else {}))
    pixels = load_image(path)
    assert first_of_many(pixels)
    assert (np.abs(pixels.astype(int) - np.asarray(_halves(), int)) <= 2).all()
    mpo = tmp_path / "camera.mpo"
    _halves().save(mpo, "MPO", save_all=True, append_images=[_halves()])
    assert not first_of_many(load_image(mpo))
    _halves().save(tmp_path / "still.gif")
    assert not first_of_many(load_image(tmp_path / "still.gif"))


def test_app_says_which_frame_it_tags(main_window, fresh_pipeline, qtbot, tmp_path: Path) -> None:
    """An animated GIF from a shop's site was tagged on its first frame without a word; the app now says it."""
    path = tmp_path / "showroom.gif"
    _animation(path)
    window = main_window(fresh_pipeline)
    window.open_photo(path)
    qtbot.waitUntil(lambda: "showroom.gif holds more than one picture" in window.message.text.text(), timeout=10_000)
    assert "the first is shown and tagged" in window.message.text.text()


@pytest.mark.parametrize("exif_orientation", sorted(STORED))
@pytest.mark.parametrize("compression", [None, "tiff_deflate"])
def test_turned_tiff_is_turned_once(qapp, tmp_path: Path, exif_orientation: int, compression: str | None) -> None:
    """Pillow 13 turns a TIFF by its orientation tag itself, its header size upright already: DecorLens turned it
    again, the picture (search, the app, the exported page) and its size (the boxes' frame) on the other side, while
    the strip's tile (Qt) was upright."""
    upright = _halves()
    path = tmp_path / "scan.tif"
    exif = Image.Exif()
    exif[0x0112] = exif_orientation
    upright.transpose(STORED[exif_orientation]).save(path, exif=exif, compression=compression)
    pixels = load_image(path)
    assert (pixels == np.asarray(upright)).all()
    assert photo_size(pixels) == upright_size(path) == (120, 80)
    tile = _tile(path)
    assert _upright(tile)
