"""Session 48's leftovers: a thumbnail decode that raises, look-alike SKUs in a vector folder's import, embedders
named by their model in `catalog stats` and `catalog show`."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _damaged_avif(path: Path) -> Path:
    """An AVIF whose primary item id names no item: Pillow's AVIF plugin raises RuntimeError as it reads the header
    (``tests/test_imageio.py`` refuses it in search), where the thumbnails' format check catches OSError only."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, "AVIF")
    data = bytearray(buffer.getvalue())
    item = data.index(b"pitm") + 8  # box type, version and flags, then the item id
    data[item : item + 2] = b"\x00\x09"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.gui
@pytest.mark.skipif("AVIF" not in Image.OPEN, reason="this Pillow reads no AVIF")
def test_a_thumbnail_whose_decode_raises_is_an_unreadable_tile_not_pending_for_good(qtbot, tmp_path: Path):
    """The decode ran with no failure slot: its exception became the worker's "failed" signal, which went nowhere,
    and the picture stayed pending for the session (a grey square, never asked for again, never "couldn't read").
    It ends as every unreadable picture does: a null pixmap, and for the Photos strip an empty content key."""
    pytest.importorskip("PySide6")
    from app.thumbnails import Thumbnails
    from app.workers import Runner

    path = str(_damaged_avif(tmp_path / "damaged.avif"))
    runner = Runner(1)
    thumbnails = Thumbnails(runner)
    assert thumbnails.get(path, digest=True) is None  # queued
    qtbot.waitUntil(lambda: not runner.busy(), timeout=60_000)
    shown = thumbnails.get(path, digest=True)
    assert shown is not None and shown.isNull()
    assert thumbnails.digest(path) == ""
