"""Which files the app opens, and where a pasted image goes.

Kept out of Qt code so the same rules apply to File ▸ Open Folder, drag-and-drop and the batch dialog.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path

from PIL import Image

from engine.batch import expand_scenes, walk_photos
from engine.errors import Cancelled, DecorLensError
from engine.files import open_regular, write_atomic
from engine.imageio import OPENERS
from engine.importer import IMAGE_SUFFIXES
from engine.words import day_month

PASTED = "pasted"
PASTED_NAME = re.compile(r"pasted-(\d{8}-\d{6})-\d+(?:-(\d+))?\.png")  # save_pasted's names: when, which of its second
EVERY_S = 0.1  # how often photos found are handed to the window after the first (each part is one strip insertion)


def scene_files(inputs: Iterable[str | os.PathLike[str]], leave_out: Path | None = None,
                cancelled: Callable[[], bool] = lambda: False) -> list[Path]:
    """Images among files and folders (recursively), in a stable order; other files are ignored, and so is
    ``leave_out`` (a batch's output folder) with all below it. ``cancelled`` stops the listing (``Cancelled``).
    A folder's files are told by their suffix (``walk_photos``), a file given by itself by its content too."""
    return [p for p in expand_scenes(inputs, leave_out, cancelled=cancelled) if given_photo(p)]


def each_scene_file(
    inputs: Iterable[str | os.PathLike[str]], cancelled: Callable[[], bool] = lambda: False
) -> Iterator[Path]:
    """``scene_files(inputs)``, one photo at a time as it is found, in the same order: a folder is walked in
    that order (names sorted, a subfolder's photos where its name sorts), so the first photo is known after
    reading the folders down to it, not the whole tree (20,000 photos, a slow network share). ``cancelled``
    is asked at every name, photo or not: a folder of thousands of other files stops when asked too. A file
    given by itself is a photo by its content too (``given_photo``); a folder's by their suffix."""
    for item in map(Path, inputs):
        if item.is_dir():
            yield from walk_photos(item, cancelled)
        elif given_photo(item):
            yield item


def given_photo(path: Path) -> bool:
    """Whether a file dropped, pasted or chosen by itself opens as a photo: by its suffix, or else by its content
    (its header read as a format DecorLens decodes). Browsers save a photo as ``photo.txt`` or with no suffix at
    all, and a designer does not care what it is called; it was refused by its name. Only files given one by one
    are read so: a folder's files are told by their suffix (``walk_photos``), as reading each file of a folder of
    20,000 on a network share to list it would take minutes where its names take a second."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    try:
        with open_regular(path) as fh, Image.open(fh, formats=OPENERS):
            return True
    except Image.DecompressionBombError:
        return True  # a photo too big to decode: opening it says so, not "not a photo"
    except (DecorLensError, OSError, ValueError):
        return False


def deliver_found(photos: Iterable[Path], deliver: Callable[[list[Path]], None], cancelled: Callable[[], bool],
                  every_s: float = EVERY_S) -> int:
    """Hand ``photos`` on in parts as they are found: the first alone at once (the window opens it while the
    rest is listed), then what was found each ``every_s``. Raises ``Cancelled`` when asked to stop; returns
    how many photos there were."""
    part: list[Path] = []
    count, last = 0, time.monotonic()
    for photo in photos:
        if cancelled():
            raise Cancelled(f"listing stopped after {count:,} photos")
        part.append(photo)
        count += 1
        if count == 1 or time.monotonic() - last >= every_s:
            deliver(part)
            part, last = [], time.monotonic()
    if part:
        deliver(part)
    return count


def save_pasted(data_dir: Path, png: bytes) -> Path:
    """Keep a pasted image as a file: results and corrections refer to scenes by path. The second picture pasted
    within a second is numbered ("pasted-20261207-191020-512003-2.png"), so its name (``caption``) tells it from
    the first: both read "Pasted 7 Dec 19:10:20", one picture to the eye."""
    folder = data_dir / PASTED
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now()
    second = f"pasted-{now:%Y%m%d-%H%M%S}-"
    count = sum(1 for _ in folder.glob(f"{second}*.png"))
    path = folder / f"{second}{now:%f}{f'-{count + 1}' if count else ''}.png"
    write_atomic(path, png)
    return path


def caption(photo: Path) -> str:
    """A photo's name as the app shows it (the Photos strip, the window's title, Where used, Review Uncertain Tags):
    a pasted picture's, when it was pasted, numbered after the first of its second. Its file name
    (pasted-20261207-191020-039407.png), cut short to the strip's width, read "pasted-20…39407.png": a designer's
    pasted pictures told apart by the microseconds. Today's are named by the time alone ("Pasted 19:10:20 (2)"): with
    the day, the second of a second's pictures was cut to the strip's width."""
    match = PASTED_NAME.fullmatch(photo.name)
    if match is None or photo.parent.name != PASTED:
        return photo.name
    try:
        when = datetime.strptime(match[1], "%Y%m%d-%H%M%S")
    except ValueError:  # named so by hand, no time ("pasted-20261399-…"): the strip's listing ended in the error
        return photo.name
    day = "" if when.date() == date.today() else f"{day_month(when)} "  # today's: the strip's width for a "(2)"
    return f"Pasted {day}{when:%H:%M:%S}" + (f" ({match[2]})" if match[2] else "")


def listed_names(photos: Iterable[Path], listed: Iterable[Path]) -> dict[Path, str]:
    """Those of ``photos`` (resolved, as the scene memory keeps them) that are ``listed`` (the Photos strip's), by the
    ``caption`` of the path they are listed by: a link's own name ("sofa-idea.jpg" for IMG_1234.jpg). Worker side:
    each listed path is resolved, a folder of 20,000 photos too."""
    wanted = set(photos)
    return {real: caption(path) for path in listed if (real := Path(os.path.realpath(path))) in wanted}
