"""Where and in what format the app keeps a photo's corrections: one source for the app, which writes them, and
for ``training`` and the scene memory, which read them (``training`` does not import the app).

A file is ``<data dir>/corrections/<stem>-<sha[:16]>.json`` (``engine/corrections.py`` writes it); one the app
cannot read is renamed ``….unreadable.json`` and kept. ``read`` is the one reader of such a file, for the app
and for training alike.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from engine.errors import DecorLensError
from engine.files import NotAFile, open_regular

FOLDER = "corrections"
FORMAT = "decorlens-corrections/1"
FORMAT_PREFIX = "decorlens-corrections/"  # any version of the format
DETECTOR = "detector"  # a tag's origin: found by the detector
USER = "user"  # drawn by hand
MOVED_ASIDE = ".unreadable.json"
# An edited photo's file is some KB a tag (its top matches, each a name, a link and a picture's path): tens of KB,
# hundreds for a crowded room. 8 MiB leaves room for any real one and bounds what the JSON parser builds
# (a symlink to /dev/zero was read until memory ran out, 5 GB, and the error blamed the dataset).
MAX_BYTES = 8 << 20


class Unreadable(DecorLensError):
    """A corrections file that cannot be read as one; ``reason`` says why in a few words (the message adds the
    file's name), for callers that name the file in their own words."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path.name}: {reason}")
        self.reason = reason


def read(path: Path) -> dict[str, Any]:
    """The JSON of a corrections file (any version of the format), or ``Unreadable``.

    Only a regular file of at most ``MAX_BYTES`` is read, opened non-blocking (``engine.files.open_regular``): a
    FIFO named ``….json`` blocked training until killed, and a symlink to ``/dev/zero`` was read without end.
    JSON nested past Python's recursion limit (a 400 KB ``[[[…]]]``) is refused here too; it ended in
    'unexpected RecursionError' with a traceback. What the objects hold is for the caller to check.
    """
    path = Path(path)
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            raw = fh.read(MAX_BYTES + 1) if size <= MAX_BYTES else b""
        if size > MAX_BYTES or len(raw) > MAX_BYTES:  # the second: it grew while being read
            raise Unreadable(path, f"more than the {MAX_BYTES >> 20} MB a corrections file can be "
                                   f"({max(size, len(raw)) / 2**20:.1f} MB)")
        data = json.loads(raw.decode("utf-8"))
    except NotAFile as exc:  # its message starts with the path; the reason is the rest
        raise Unreadable(path, str(exc).removeprefix(f"{path}: ")) from exc
    except OSError as exc:
        raise Unreadable(path, exc.strerror or type(exc).__name__) from exc
    except UnicodeDecodeError as exc:
        raise Unreadable(path, f"not UTF-8 text (byte {exc.start + 1})") from exc
    except json.JSONDecodeError as exc:
        raise Unreadable(path, f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except ValueError as exc:  # a number of more digits than Python converts
        raise Unreadable(path, f"not JSON ({' '.join(str(exc).split())[:120]})") from exc
    except RecursionError as exc:
        raise Unreadable(path, "JSON nested too deeply") from exc
    header = data.get("corrections") if isinstance(data, dict) else None
    version = header.get("format") if isinstance(header, dict) else None
    if not isinstance(version, str) or not version.startswith(FORMAT_PREFIX):
        raise Unreadable(path, f"not a DecorLens corrections file (no '{FORMAT_PREFIX}…' format)")
    return data


def image_size(data: dict[str, Any]) -> tuple[int, int]:
    """The photo's ``width`` and ``height`` in a corrections file's JSON: whole numbers of pixels above 0, else a
    ValueError (a width of 0 stopped detector training with a ZeroDivisionError, 1e400 with an OverflowError)."""
    size = data.get("width"), data.get("height")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
        raise ValueError("width and height must be whole numbers of pixels above 0")
    return size  # type: ignore[return-value]


# -- fields of a saved tag, each checked as it is read -------------------------------------------------------
# A file that parses may still hold a list where a SKU goes, a string where a score goes or a point of three
# numbers: the photo opened, and the first hover or click raised TypeError inside Qt (found by a fuzz that
# replaced one field at a time). Each reader raises ValueError or TypeError, which the app turns into its one line.


def text(entry: dict[str, Any], key: str, default: str | None = None) -> str:
    """``entry[key]`` as text; ``default`` where it is missing (None: it is required)."""
    value = _field(entry, key, default)
    if not isinstance(value, str):
        raise TypeError(f"{key} must be text, not {value!r}"[:120])
    return value


def finite(entry: dict[str, Any], key: str, default: float | None = None) -> float:
    """``entry[key]`` as a finite number (a score, a coordinate); ``default`` where it is missing."""
    return _finite(_field(entry, key, default), key)


def whole(entry: dict[str, Any], key: str, default: int | None = None) -> int:
    """``entry[key]`` as a whole number from 0 to 2**31 - 1 (a tag's number, a product's id: Qt keeps them as int)."""
    value = _field(entry, key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ValueError(f"{key} must be a whole number from 0 to 2**31 - 1, not {value!r}"[:120])
    return value


def point(entry: dict[str, Any], key: str) -> tuple[float, float]:
    """``entry[key]`` as two finite numbers (a pin's place)."""
    value = entry[key]
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"{key} must be two numbers, not {value!r}"[:120])
    return _finite(value[0], key), _finite(value[1], key)


def _field(entry: dict[str, Any], key: str, default: Any) -> Any:
    return entry[key] if default is None else entry.get(key, default)


def _finite(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number, not {value!r}"[:120])
    return float(value)
