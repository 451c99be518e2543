"""A very wide or very tall photo's thumbnail shows its centre, not a sliver of the whole.

A 12,000 × 3,000 panorama fitted whole to the Photos strip's 136 × 96 cell was 136 × 34 pixels: a strip too thin to
know the photo by. Now a thumbnail is at most ``WIDEST`` (2.5) times as long as it is high (or high as long), its
photo's centre at that shape; an ordinary photo is shown whole, as before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

from app.thumbnails import decode_fitted, decode_hashed

RED, BLUE = (220, 20, 20), (20, 20, 220)


def _pixels(image: QImage) -> np.ndarray:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    return raw[:, : rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3).astype(int)


def _panorama(scene: Path, path: Path, tall: bool) -> Path:
    """A 4:1 panorama of a real room photo (three copies side by side), its two ends red and blue bars that a
    thumbnail of its centre leaves out; turned upright when ``tall``."""
    room = Image.open(scene).convert("RGB").resize((400, 300))
    pano = Image.new("RGB", (1200, 300))
    for x in (0, 400, 800):
        pano.paste(room, (x, 0))
    pano.paste(RED, (0, 0, 100, 300))
    pano.paste(BLUE, (1100, 0, 1200, 300))
    (pano.transpose(Image.Transpose.ROTATE_90) if tall else pano).save(path, quality=90)
    return path


def test_a_panorama_thumbnail_is_its_centre_at_a_shape_that_can_be_seen(qapp, scene_path, tmp_path):
    """Wide: 136 × 54 in the strip's 136 × 96 cell (not 136 × 34), none of its red and blue ends; the strip's own
    decode (with the content key) too. Tall: 38 × 96. A 4:3 room photo is still whole: 128 × 96."""
    scene = scene_path("ikea-a-rustic-way-to-dine")
    wide = _panorama(scene, tmp_path / "wide.jpg", tall=False)
    image = decode_hashed(str(wide), 136, 96, 1.0)[0]
    assert (image.width(), image.height()) == (136, 54)
    ends = _pixels(image)[:, [0, -1]].mean(axis=0)
    assert np.linalg.norm(ends - [RED, BLUE], axis=1).min() > 100, ends  # neither end is the red or blue bar
    tall = decode_fitted(str(_panorama(scene, tmp_path / "tall.jpg", tall=True)), 136, 96, 1.0)
    assert (tall.width(), tall.height()) == (38, 96)
    Image.open(scene).convert("RGB").resize((400, 300)).save(tmp_path / "room.jpg")
    room = decode_fitted(str(tmp_path / "room.jpg"), 136, 96, 1.0)
    assert (room.width(), room.height()) == (128, 96)
