"""The one place where an exception becomes the line a CLI user reads.

Every command ends either in its output or in one line on stderr, at most ``MAX_LINE`` characters, that
names what failed, the file and what to do, with a non-zero exit code. Engine errors
(:class:`DecorLensError`) already say that; library errors (SQLite, YAML, OpenCV, csv, the OS) are
translated by ``engine.advice`` (the app's too), given the command's files. Anything else is a bug: its
traceback goes to a log file the line names, or to stderr with ``--debug`` / ``DECORLENS_DEBUG=1``.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import traceback
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from decorlens.terminal import escape_controls, one_field
from engine import advice
from engine.errors import Cancelled, DecorLensError
from engine.files import open_append, own_temp_folder
from engine.remedies import for_program

MAX_LINE = 200
USER_ERROR = 2  # bad input, missing file or model, broken settings: something the user fixes
INTERNAL_ERROR = 1  # a bug: the line points at the traceback
PARTLY_DONE = 1  # some photos, products or checks failed, each named above: a failure to a script, as a bug is
INTERRUPTED = 130
EXIT_CODES = (f"exit codes: 0 done; {PARTLY_DONE} done in part (what failed is named above) or an unexpected "
              f"error; {USER_ERROR} nothing done, for the reason the error line gives; {INTERRUPTED} interrupted")
BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool whose reader went away
DEBUG_ENV = "DECORLENS_DEBUG"
LOG_NAME = "decorlens-error.log"
LOG_MAX = 1 << 20  # bytes a log grows to before it becomes LOG_NAME.1 (the one before is dropped) and starts anew
ROOT = Path(__file__).resolve().parent.parent
# An absolute path in a message: folder names may hold single spaces ("/home/ana/My Documents/…"), as a user's
# deep folders do; the last name may not, or the words after a path would be taken for its end. Windows paths
# too ("C:\Users\Ana\My Pictures\room.jpg", "\\server\share\…", the backslashes doubled in an OS error): the app ships
# to Windows shops. A drive letter glued to a word is a URL's scheme ("https://…"), no drive. A folder's later words
# may be in parentheses ("C:\Program Files (x86)\…"); a detail in them after a path is not a folder (no separator).
_WORD = r"[^\s,;:()'\"/\\]+"
PATH = re.compile(rf"(?:(?<!\w)[A-Za-z]:)?[/\\]+(?:{_WORD}(?: (?:{_WORD}|\({_WORD}\)))*[/\\]+)*[^\s,;:()'\"]*")
# What a shortened Windows path keeps before its "…": the drive ("C:") or the share ("\\server\share").
WINDOWS_ROOT = re.compile(r"[A-Za-z]:|\\{2,}[^/\\]+\\+[^/\\]+")
LONG_PATH = 25  # characters: a shorter path is left whole
# A file name or a model's key as long as a shared model's (57 characters:
# "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"): no word of ours is this long. Cut in its middle
# to ``NAME_KEPT`` before the line's middle is.
LONG_NAME = re.compile(r"[\w.+-]{40,}")
NAME_KEPT = 32
OUR_PACKAGES = ("engine", "training", "decorlens", "app", "bench")


@dataclass(frozen=True)
class Context(advice.Context):
    """What the failing command was working on, to name it in the line; and whether to show the traceback."""

    debug: bool = False
    names: tuple[str, ...] = ()  # the names (less suffixes) of the files and folders the command was given


def report(exc: BaseException, context: Context) -> int:
    """Print the one line for ``exc`` (and the traceback in debug mode); returns the exit code."""
    if isinstance(exc, BrokenPipeError):
        return _reader_left()
    line, code = error_line(exc, context)
    with suppress(OSError):  # stderr full too (2>/dev/full): nothing can say so, the exit code still does
        print(line, file=sys.stderr)
    return code


def error_line(exc: BaseException, context: Context) -> tuple[str, int]:
    """The one line for ``exc`` and the exit code; a bug's traceback goes to the log (or stderr in debug mode)."""
    if context.debug:
        traceback.print_exception(exc, file=sys.stderr)
    message, code = explain(exc, context)
    if code == INTERNAL_ERROR and not context.debug:
        message = f"{message}; {_save_traceback(exc, context)}"
    name = _program()
    prefix = f"{name}: " if code == INTERRUPTED else error_prefix()
    message = for_program(message, name)
    return prefix + one_line(escape_controls(message), MAX_LINE - len(prefix), context.names), code


def error_prefix() -> str:
    """How an error line starts: with the program's name, ``decorlens``, or the packaged app's ``DecorLens``,
    whose staff have no ``decorlens`` and start it by that name."""
    return f"{_program()}: error: "


def _program() -> str:
    from decorlens.options import program  # options words its usage errors with this module's one_line

    return program()


def _reader_left() -> int:
    """``decorlens search … | head``: the reader has gone, which is no error to report; stay quiet as
    other command-line tools do (and keep Python from complaining when it flushes stdout at exit)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return BROKEN_PIPE


def explain(exc: BaseException, context: Context) -> tuple[str, int]:
    """The message and exit code for an exception, without printing anything."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; nothing half-written was kept", INTERRUPTED
    if isinstance(exc, Cancelled):
        return str(exc), INTERRUPTED
    if isinstance(exc, DecorLensError):
        return str(exc), USER_ERROR
    described = advice.describe(exc, context)
    if described is not None:
        return described, USER_ERROR
    if isinstance(exc, ValueError) and _raised_by_us(exc):
        return str(exc), USER_ERROR
    return f"unexpected {type(exc).__name__}: {exc}", INTERNAL_ERROR


def one_line(text: str, limit: int = MAX_LINE, names: Iterable[str] = ()) -> str:
    """``text`` on one line within ``limit`` characters, shortened rather than wrapped.

    What goes first is what a user needs least: the leading folders of long paths (the file name stays),
    then the longest parenthesised detail, cut or dropped whole, then the middle of very long names where
    that makes it fit; failing that, the middle of the line. Paths go first because a detail is as often
    our reason as a library's wording: cut first, with a deep backup folder kept whole, a restore's reason
    read "(no colum…)". Names go before the line's middle, which took the advice after a 57-character model
    name ("…run …ss the flag"). ``names`` are the files the command was given: one named in words ("Spring
    collection for the Oslo stores.dlcat") reads like our words, not like a name, unless it is known.
    """
    flat = _paths_shortened(" ".join(str(text).split()), limit)
    excess = len(flat) - limit
    if excess <= 0:
        return flat
    detail = max(re.findall(r"\(([^()]{12,})\)", flat), key=len, default="")
    if len(detail) > excess + 8:
        return flat.replace(f"({detail})", f"({detail[:len(detail) - excess - 1]}…)", 1)
    if detail:  # too short to absorb the excess: drop it whole, or the middle cut lands in the advice before it
        flat = flat.replace(f"({detail})", "(…)", 1)
        if len(flat) <= limit:
            return flat
    named = _names_shortened(flat, limit, [name for name in names if len(name) > NAME_KEPT])
    if len(named) <= limit:  # else the line's middle goes anyway, and the names are kept whole
        return named
    head = (limit - 1) * 2 // 3
    return flat[:head] + "…" + flat[len(flat) - (limit - 1 - head):]


def _paths_shortened(flat: str, limit: int) -> str:
    """``flat`` with its long paths cut to their ends, longest first, until it fits ``limit`` or none is left:
    to about 24 characters first; where the line still has no room, to the last name and any Windows drive or
    share; then to the last name alone. A folder the user can find again is worth less than any word of ours."""
    paths = sorted({p for p in PATH.findall(flat) if len(p) >= LONG_PATH}, key=len, reverse=True)
    shown = {path: path for path in paths}
    for least, root in ((24, True), (0, True), (0, False)):
        for path in paths:
            if len(flat) <= limit:
                return flat
            short = _tail(path, max(len(shown[path]) - (len(flat) - limit), least), root)
            flat, shown[path] = flat.replace(shown[path], short), short
    return flat


def _names_shortened(flat: str, limit: int, given: Iterable[str]) -> str:
    """``flat`` with its very long names cut in the middle, longest first, each to no fewer than ``NAME_KEPT``
    characters, until it fits ``limit``: the start of a name and its end (the extension, a key's digits) tell
    one file from another better than its middle."""
    for name in sorted({*LONG_NAME.findall(flat), *(name for name in given if name in flat)}, key=len, reverse=True):
        if len(flat) <= limit:
            break
        width = max(len(name) - (len(flat) - limit), NAME_KEPT)
        head = (width - 1) // 2
        flat = flat.replace(name, name[:head] + "…" + name[len(name) - (width - 1 - head):])
    return flat


def _tail(path: str, width: int, root: bool = True) -> str:
    """The end of ``path`` in about ``width`` characters, cut at a folder boundary: ``…/data/catalog.sqlite``.

    A Windows path keeps its drive or share too (unless ``root`` is false), ``C:\\…\\Pictures\\room.jpg``:
    which disk or server holds the file is what a user of several cannot guess, and it is short."""
    found = WINDOWS_ROOT.match(path)
    pieces = re.split(r"([/\\]+)", path[found.end():] if found else path)  # names at even places, separators at odd
    lead = found.group() + pieces[1] if found and root else ""
    start = len(pieces) - 1  # where the kept end begins: the file name, then a folder more while it fits
    while start >= 6 and len(lead + "…" + "".join(pieces[start - 3:])) <= width:
        start -= 2
    if start < 4:  # no folder to elide
        return path
    return lead + "…" + "".join(pieces[start - 1:])


def debug_requested(argv: list[str]) -> bool:
    """``--debug`` anywhere on the command line, or ``DECORLENS_DEBUG`` set to something true."""
    return "--debug" in argv or os.environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes")


# -- translations of library errors -------------------------------------------------------------


def _raised_by_us(exc: BaseException) -> bool:
    """Whether our own code raised it: a ``ValueError`` of ours is a refusal of bad input, not a bug."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return False
    where = Path(frames[-1].filename).resolve()
    return any(where.is_relative_to(ROOT / package) for package in OUR_PACKAGES)


def log_file(folder: Path | None) -> Path | None:
    """Where the app logs its errors: the data folder's log, or one in the user's own temporary folder where the data
    folder cannot be written (the error may be just that), so there is nearly always one to name. Not the shared
    ``/tmp``'s: another user could make ``/tmp/decorlens-error.log`` first, and read what it was given or, as a FIFO,
    hold the app's start for ever. None where there is no such folder."""
    if folder is not None and folder.is_dir() and os.access(folder, os.W_OK):
        return folder / LOG_NAME
    temp = own_temp_folder()
    return None if temp is None else temp / LOG_NAME


def log_error(line: str, exc: BaseException, folder: Path | None) -> Path | None:
    """Append ``line`` and the traceback of ``exc`` to :func:`log_file`; the log, or None if none could be written.

    The packaged app on Windows has no console: what went wrong before its window opened is kept here."""
    log = log_file(folder)
    if log is None:
        return None
    try:
        with open_log(log) as fh:
            fh.write(f"{log_header()}\n{line}\n")
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        return None
    return log


def open_log(log: Path) -> TextIO:
    """``log`` opened to append an entry (``open_append``), the full one set aside first as ``LOG_NAME.1``: a bug met
    at every photo of a folder, or a start failing at every login, grew it by kilobytes each time, for good."""
    rotate_log(log)
    return open_append(log)


def rotate_log(log: Path) -> None:
    """``log`` renamed ``LOG_NAME.1`` (replacing the one before) once it holds ``LOG_MAX`` bytes or more."""
    with suppress(OSError):  # none yet; or it cannot be renamed, and open_append says what is wrong with it
        if stat.S_ISREG((found := log.lstat()).st_mode) and found.st_size >= LOG_MAX:
            os.replace(log, log.with_name(f"{log.name}.1"))


def log_header() -> str:
    """The line that opens an entry of the log: when, and the command line, its control characters escaped (a file
    named with a line break, given to the app, would otherwise start a forged entry of its own)."""
    return f"--- {datetime.now(UTC).isoformat(timespec='seconds')} {one_field(escape_controls(' '.join(sys.argv)))}"


def _save_traceback(exc: BaseException, context: Context) -> str:
    """Append the traceback to the log; the clause naming where it went (or how to see it)."""
    folder = context.data_dir
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            log = folder / LOG_NAME
            with open_log(log) as fh:
                fh.write(f"{log_header()}\n")
                fh.write("".join(traceback.format_exception(exc)))
            return f"details in {log}"
        except OSError:
            pass
    return f"rerun with --debug (or {DEBUG_ENV}=1) to see the details"
