"""Thumbnails are decoded in the format their bytes say, not the one their name says.

``decode_fitted`` (the catalog grid, the map, the review queue, *Where used*) gave Qt a file path: a PNG named
.jpg (a download's usual mislabel) made Qt try its image plugins in turn, the SVG and PDF ones among them, which
render files no other part of DecorLens reads (and the SVG one's sniffing once hung the photo strip, which
decodes from bytes). Now every thumbnail is read once, its format named from its header by Pillow among the
formats the engine reads, and Qt told that format with its own guessing off.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QImage

from app.thumbnails import decode_fitted, decode_hashed


@pytest.fixture(scope="module")
def product_photo(ikea: Path) -> Path:
    """A real product photo of the shared IKEA data (a JPEG)."""
    with open(ikea / "products.csv", newline="") as fh:
        first = next(csv.DictReader(fh))
    return ikea / first["image"]


def _pixels(image: QImage) -> np.ndarray:
    """``image`` as an RGB array."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    return raw[:, : rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3).copy()


@pytest.mark.parametrize(("saved_as", "named"), [("PNG", "photo.jpg"), ("JPEG", "photo.png"), ("PNG", "photo")])
def test_a_photo_whose_name_says_another_format_decodes_to_its_own_picture(qapp, product_photo, tmp_path, saved_as,
                                                                           named):
    """A real product photo saved as PNG under a .jpg name (and a JPEG under .png, and one without a suffix)
    decodes, fitted to the size asked for, to the photo's own picture: what Pillow makes of it at that size."""
    original = Image.open(product_photo).convert("RGB")
    liar = tmp_path / named
    original.save(liar, format=saved_as)
    image = decode_fitted(str(liar), 160, 160, 2.0)
    assert not image.isNull() and image.devicePixelRatio() == 2.0
    assert max(image.width(), image.height()) == 160
    expected = np.asarray(original.resize((image.width(), image.height()), Image.Resampling.BOX), np.int16)
    assert np.abs(_pixels(image).astype(np.int16) - expected).mean() < 6


@pytest.mark.parametrize("decode", [lambda p: decode_fitted(p, 160, 160, 1.0),
                                    lambda p: decode_hashed(p, 160, 160, 1.0)[0]], ids=["fitted", "hashed"])
def test_a_file_in_no_photo_format_is_a_blank_tile_whatever_its_name(qapp, tmp_path, decode):
    """An SVG named .jpg is no photo the engine reads: its header names no format Pillow opens, so Qt is given
    none to try, and the tile is blank. Decoding by the file's name, Qt's SVG plugin found it after the JPEG
    one failed and rendered it: every plugin was tried in turn."""
    drawing = tmp_path / "drawing.jpg"
    drawing.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
                       '<rect width="40" height="40" fill="red"/></svg>')
    assert decode(str(drawing)).isNull()


def test_a_file_that_cannot_be_read_is_a_blank_tile(qapp, tmp_path):
    """Gone, or a folder named like a photo: a null image, not an error in the worker."""
    (tmp_path / "folder.jpg").mkdir()
    for path in (tmp_path / "gone.jpg", tmp_path / "folder.jpg"):
        assert decode_fitted(str(path), 160, 160, 1.0).isNull()
        assert decode_hashed(str(path), 160, 160, 1.0) == (QImage(), "")
