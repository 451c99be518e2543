"""Hostile input against what session 51 added: run folders, backups' names, photos' profiles and TIFFs."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_photos51 import DISPLAY_P3, _matrix_profile

from engine.errors import ImageError
from engine.imageio import ICC_MAX, first_of_many, load_image


def _in_zone(zone: str, code: str) -> str:
    """What ``code`` prints in a Python whose local time is ``zone`` (TZ set in a subprocess: the tests' own stays)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "TZ": zone}, cwd=Path(__file__).resolve().parent.parent)
    return done.stdout.strip()


def test_runs_named_at_the_ends_of_the_calendar_are_listed(tmp_path: Path):
    """A run folder named at year 9999's last second (UTC) is past the calendar east of UTC, one named at year 1's
    first (local) before it west of UTC: reading their names raised OverflowError, and neither the Train window nor
    Resume could list any run."""
    for name in ("app-20261207-153700Z", "app-99991231-235959Z", "app-00010101-000000", "app-00010101-000000Z"):
        (tmp_path / name).mkdir()
    code = ("from pathlib import Path; from app.train_jobs import newest_first, started_words as s; "
            f"runs = newest_first(Path({str(tmp_path)!r})); print(runs[0].name, *map(s, runs), sep='|')")
    for zone in ("Pacific/Kiritimati", "America/Los_Angeles"):
        newest, *words = _in_zone(zone, code).split("|")
        assert newest == "app-20261207-153700Z" and len(words) == 4


def test_a_huge_colour_profile_is_not_applied(tmp_path: Path):
    """A TIFF's or WebP's embedded profile has no size limit: LittleCMS held a 95 MB one's lookup table several times
    over (1.6 s and 900 MB a photo, two photos at once in an import). One over ``ICC_MAX`` is left unapplied, as an
    unreadable one is; here a Display P3 profile padded past it, which would change the numbers were it applied."""
    stored = np.repeat(np.asarray([(200, 40, 40), (40, 170, 60)], np.uint8)[:, None, :], 8, axis=0).repeat(8, axis=1)
    path = tmp_path / "padded.tif"
    Image.fromarray(stored).save(path, icc_profile=_matrix_profile("Display P3", *DISPLAY_P3).ljust(ICC_MAX + 1, b"\0"))
    assert np.array_equal(load_image(path), stored)


def _tiff(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """A little-endian TIFF of one directory of ``entries`` (tag, type, count, value padded to 4 bytes), the strip
    at offset 200."""
    directory = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHI", *entry[:3]) + entry[3]
                                                          for entry in entries) + struct.pack("<I", 0)
    return (b"II*\0" + struct.pack("<I", 8) + directory).ljust(200, b"\0") + b"\0" * 12


def _short(value: int) -> bytes:
    return struct.pack("<HH", value, 0)


def test_a_tiff_refusal_is_one_line_whatever_its_tags_hold(tmp_path: Path):
    """A 32-bit float TIFF Pillow cannot open is refused naming its samples, read from its BitsPerSample tag: stored
    as text, that tag's first character (a line break) was given as its bits, and the refusal spanned two lines."""
    path = tmp_path / "text_bits.tif"
    path.write_bytes(_tiff([(256, 3, 1, _short(1)), (257, 3, 1, _short(1)), (258, 2, 2, b"\n\0\0\0"),
                            (259, 3, 1, _short(1)), (262, 3, 1, _short(2)), (273, 4, 1, struct.pack("<I", 200)),
                            (277, 3, 1, _short(3)), (279, 4, 1, struct.pack("<I", 12)), (339, 3, 1, _short(3))]))
    with pytest.raises(ImageError) as refused:
        load_image(path)
    assert "\n" not in str(refused.value) and "TIFF" in str(refused.value)


def test_an_animated_gif_cut_short_after_its_first_frame_shows_that_frame(tmp_path: Path):
    """An animated GIF cut short in its second frame's header (a download cut off) raised struct.error, no one-line
    error, as the app asked whether it held more pictures: its first frame, whole, is what it shows."""
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((200, 40, 40), (40, 40, 200))]
    whole = tmp_path / "whole.gif"
    frames[0].save(whole, save_all=True, append_images=frames[1:])
    first = tmp_path / "first.gif"
    frames[0].save(first)
    cut = tmp_path / "cut.gif"
    cut.write_bytes(first.read_bytes()[:-1] + b",\0\0")  # the first frame, then the start of an image descriptor
    assert first_of_many(load_image(whole)) and not first_of_many(load_image(first))
    shown = load_image(cut)
    assert np.array_equal(shown, load_image(first)) and not first_of_many(shown)
