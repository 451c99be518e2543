"""Catalog text reaches the terminal as text, never as terminal commands.

Names and SKUs come from feeds and bundles: an ``ESC [ …`` sequence in a product name could recolour,
retitle or clear the user's terminal, a carriage return could overwrite what a line said, and a
right-to-left override could make ``gpj.exe`` read as ``exe.jpg``. Every line the CLI prints goes
through ``escape_controls``: such characters show as ``\\uXXXX``, which inside a JSON string is the
same character again, so ``--json`` output keeps its meaning.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

from engine.advice import os_problem
from engine.categories import display_name
from engine.errors import DecorLensError
from engine.invisible import INVISIBLE
from engine.lookalike import sku_shown
from engine.paths import readable_path
from engine.words import named_as_counted

# C0 and C1 controls but tab and newline (which lay out the report), DEL, the line and paragraph separators (where
# str.splitlines breaks a line: a name holding U+2028 made its `catalog list` row two lines to a script), the bidi
# embeddings, overrides and isolates, and the characters that show as nothing (``engine.invisible.INVISIBLE``, the
# list the app marks too): a feed's "ABC-1" + U+200B is another SKU than "ABC-1", and was listed as the same.
UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069{INVISIBLE}]")
MAX_FIELD = 200  # characters of one catalog text a report line shows
_LAYOUT = str.maketrans({"\n": "\\u000a", "\t": "\\u0009"})  # what one_field escapes besides


def escape_controls(text: str) -> str:
    return UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    return _json_escaped(match.group())


def _json_escaped(char: str) -> str:
    """A character as JSON writes it escaped: past U+FFFF as its two UTF-16 halves (a tag character's ``\\ue0041``
    would read back as U+E004 and a "1")."""
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(data: object) -> str:
    """``data`` as the CLI's indented JSON. A file name's bytes that are not UTF-8 (lone surrogates, as ``os.fsdecode``
    gives them) are written ``\\udcXX``, which a JSON reader gives back as the same str, so the path still opens:
    printed as they were, they raised UnicodeEncodeError wherever the output is strict UTF-8."""
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8", "backslashreplace").decode("utf-8")


def catalog_field(text: object) -> str:
    """``one_field`` of stored catalog text, its first ``MAX_FIELD`` characters and its length beyond that: a catalog
    edited by hand (or by an older DecorLens) can hold a 200,000-character name, which ``catalog list``, ``show``,
    ``where`` and ``search`` printed whole, one row filling the terminal's scrollback. ``--json`` prints it whole."""
    text = str(text)
    if len(text) > MAX_FIELD:
        text = f"{text[: MAX_FIELD - 1]}… ({len(text):,} characters)"
    return one_field(text)


def sku_field(sku: str, alike: bool = False) -> str:
    """A SKU as a report line shows it (``catalog_field``): one that reads as another SKU of the catalog (``alike``:
    ``engine.importer.read_alike``, ``Match.alike``) has its characters drawn alike marked, a Cyrillic "АBC-1" as
    "⟨U+0410⟩BC-1", as the app and the shoppable page mark it (``engine.lookalike.sku_shown``); printed as held, it
    read as the catalog's "ABC-1" beside it. Its invisible characters stay escaped as every line escapes them
    (``\\u200b``, ``escape_controls``), not marked: ``--json`` reads that back as the SKU."""
    return catalog_field(sku_shown(escape_controls(sku), alike))


def category_field(category: str, names: Mapping[str, str] | None) -> str:
    """A category as a report line names it: the category map's name ("storage_furniture" → "Storage furniture",
    the app's and the shoppable pages' word), as ``catalog_field``. The key stays what ``--category`` takes, and
    ``--json`` and CSVs keep it."""
    return catalog_field(display_name(category, names))


def category_words(category: str, names: Mapping[str, str] | None) -> str:
    """A category as a sentence names it: the map's name as running text writes it ("storage furniture", "TV
    bench"), as ``catalog_field``: "a tag of its kind (boxes & baskets)", not "(box_basket)"."""
    return catalog_field(named_as_counted(display_name(category, names), 1))


def one_field(text: object) -> str:
    """Catalog text as one field of a report line, its newlines and tabs shown as ``\\u000a`` and ``\\u0009``.

    ``escape_controls`` keeps them, for the report's own layout; inside a name (a feed's quoted CSV field may
    hold one) they would print lines of their own, such as a forged sighting under ``decorlens where``.
    """
    return str(text).translate(_LAYOUT)


def shown_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a line shows it: relative to the current folder when it lies inside it, else whole.

    The data dir is made absolute (``engine.paths.data_dir``) and photos are remembered by their full paths, so
    ``--data-dir shop`` printed "(/home/ana/work/shop/catalog.sqlite)" and ``where`` a long absolute path for a
    photo tagged as ``photos/room.jpg``: what the user typed, or the path from where they stand, is what they read.
    Its newlines and tabs as ``one_field`` shows them: a folder named with a line break printed a line of its own.
    """
    return one_field(_from_here(os.fspath(path)))


def _from_here(text: str) -> str:
    if not os.path.isabs(text):
        return text
    try:
        inside = Path(text).relative_to(Path.cwd())
    except (ValueError, OSError):  # elsewhere, or the current folder is gone
        return text
    return str(inside) if inside.parts else "."


def _unencodable_escaped(exc: UnicodeError) -> tuple[str, int]:
    """The codec error handler stdout writes with (``streams_fitted``): what its encoding lacks as ``\\uXXXX``."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return "".join(map(_json_escaped, exc.object[exc.start:exc.end])), exc.end


UNENCODABLE = "decorlens.json-escape"
codecs.register_error(UNENCODABLE, _unencodable_escaped)


class OutputFailed(DecorLensError):
    """stdout could not be written: closed by the shell (``>&-``), or its disk full (``> /dev/full``).

    A closed one is refused before the command runs; a full one is met as the report is written, the work done (an
    import stored, a batch's files written). The error line says which stream failed: a full stdout was blamed on
    "the input", and a closed one was an unexpected AttributeError with a traceback in the log."""


class EscapingWriter:
    """A text stream that writes through to ``stream`` with control characters escaped, and each byte of a file name
    that is not UTF-8 (a lone surrogate, as ``os.fsdecode`` gives it) as U+FFFD, as ``where`` shows them: on a
    strict UTF-8 stdout (a UTF-8 desktop's terminal, Windows) such a name in a report line (``tag --out`` into a
    folder so named, ``bundle export``'s "wrote …") ended the command, its work done, in "not UTF-8 text … save it
    again as UTF-8". ``--json`` writes them ``\\udcXX`` (``json_text``), which reads back as the exact path."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        text = readable_path(escape_controls(text))
        return self._written(lambda stream: stream.write(text))

    def flush(self) -> None:
        self._written(lambda stream: stream.flush())

    def _written(self, write: Callable[[TextIO], int | None]) -> int:
        """``write`` done on the stream, its failure an ``OutputFailed`` (a reader gone stays a BrokenPipeError)."""
        try:
            return write(self._stream) or 0
        except BrokenPipeError:
            raise
        except OSError as exc:
            why = os_problem(exc) or exc.strerror or type(exc).__name__
            raise OutputFailed(f"stdout: {why}") from exc

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def streams_fitted() -> None:
    """The standard streams made fit for what a script or a shell gives a command, before anything is written.

    stderr closed (``2>&-``), which Python leaves None, goes to /dev/null: the first progress bar ended ``catalog
    import`` in an AttributeError, and ``print``'s and tqdm's fallback to stdout put notes and the error line among
    the results (into ``--json``'s JSON too). stdout writes what its encoding lacks as ``\\u00f6``
    (``PYTHONIOENCODING=ascii``, a Windows file in cp1252): "Sköld – 北欧" in a listing, or the "→" of ``tag
    --help``, ended the command in "the input: not UTF-8 text"; so escaped, ``--json`` still reads back exactly."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors=UNENCODABLE)


@contextlib.contextmanager
def escaped(stream_name: str, needed: bool = True) -> Iterator[None]:
    """Replace ``sys.<stream_name>`` with an escaping writer for the duration of a command. A closed one is refused
    before any work where the command's report goes there (``needed``): not the app's window, which prints nothing
    and is started without a console too (``pythonw``, a desktop launcher)."""
    original = getattr(sys, stream_name)
    if original is None and needed:
        raise OutputFailed(f"{stream_name} is closed (>&-); send it to a file, or to /dev/null to drop it")
    if original is None:
        yield
        return
    writer = EscapingWriter(original)
    setattr(sys, stream_name, writer)
    try:
        yield
        writer.flush()  # a full disk is met here, inside the command's error handling, not at Python's exit
    finally:
        setattr(sys, stream_name, original)
