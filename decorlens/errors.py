"""The one place where an exception becomes the line a CLI user reads.

Every command ends either in its output or in one line on stderr, at most ``MAX_LINE`` characters, that
names what failed, the file and what to do, with a non-zero exit code. Engine errors
(:class:`DecorLensError`) already say that; library errors (SQLite, YAML, OpenCV, csv, the OS) are
translated here, where the command's files are known. Anything else is a bug: its traceback goes to a
log file the line names, or to stderr with ``--debug`` / ``DECORLENS_DEBUG=1``.
"""

from __future__ import annotations

import csv
import errno
import os
import re
import sqlite3
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from decorlens.terminal import escape_controls
from engine.errors import Cancelled, DecorLensError, yaml_problem

MAX_LINE = 200
USER_ERROR = 2  # bad input, missing file or model, broken settings: something the user fixes
INTERNAL_ERROR = 1  # a bug: the line points at the traceback
INTERRUPTED = 130
BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool whose reader went away
DEBUG_ENV = "DECORLENS_DEBUG"
LOG_NAME = "decorlens-error.log"
CATALOG_FILE = "catalog.sqlite"
ROOT = Path(__file__).resolve().parent.parent
PATH = re.compile(r"(?:[A-Za-z]:)?[/\\][^\s,;:()'\"]{24,}")  # a long absolute path in a message
OUR_PACKAGES = ("engine", "training", "decorlens", "app", "bench")

# Optional packages → the install that brings them (a ModuleNotFoundError names only the package).
EXTRAS = {
    "torch": "train", "torchvision": "train", "ultralytics": "train", "pytorch_metric_learning": "train",
    "onnx": "train", "PySide6": "gui", "pytestqt": "dev", "faiss": "bench", "psutil": "bench",
}


@dataclass(frozen=True)
class Context:
    """What the failing command was working on, to name it in the line."""

    data_dir: Path | None = None
    inputs: tuple[str, ...] = ()  # the files and folders given on the command line
    debug: bool = False

    @property
    def subject(self) -> str:
        """The input the command was reading, for errors that do not carry a file name."""
        return ", ".join(self.inputs) if self.inputs else "the input"

    @property
    def catalog(self) -> str:
        return str(self.data_dir / CATALOG_FILE) if self.data_dir else "the catalog"


def report(exc: BaseException, context: Context) -> int:
    """Print the one line for ``exc`` (and the traceback in debug mode); returns the exit code."""
    if isinstance(exc, BrokenPipeError):
        return _reader_left()
    if context.debug:
        traceback.print_exception(exc, file=sys.stderr)
    message, code = explain(exc, context)
    if code == INTERNAL_ERROR and not context.debug:
        message = f"{message}; {_save_traceback(exc, context)}"
    prefix = "decorlens: " if code == INTERRUPTED else "decorlens: error: "
    print(prefix + one_line(escape_controls(message), MAX_LINE - len(prefix)), file=sys.stderr)
    return code


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
    for kind, describe in _DESCRIBERS:
        if isinstance(exc, kind):
            return describe(exc, context), USER_ERROR
    opencv = _opencv_error()
    if opencv is not None and isinstance(exc, opencv):
        return _opencv(exc, context), USER_ERROR
    if type(exc).__module__.startswith("onnxruntime"):
        return _onnxruntime(exc, context), USER_ERROR
    if isinstance(exc, ValueError) and _raised_by_us(exc):
        return str(exc), USER_ERROR
    return f"unexpected {type(exc).__name__}: {exc}", INTERNAL_ERROR


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` on one line within ``limit`` characters, shortened rather than wrapped.

    What goes first is what a user needs least: the longest parenthesised detail (a library's own
    wording), then the leading folders of long paths (the file name stays), then that detail whole;
    failing that, the middle.
    """
    flat = " ".join(str(text).split())
    excess = len(flat) - limit
    if excess <= 0:
        return flat
    detail = max(re.findall(r"\(([^()]{12,})\)", flat), key=len, default="")
    if len(detail) > excess + 8:
        return flat.replace(f"({detail})", f"({detail[:len(detail) - excess - 1]}…)", 1)
    for path in sorted(set(PATH.findall(flat)), key=len, reverse=True):
        flat = flat.replace(path, _tail(path, max(len(path) - (len(flat) - limit), 24)))
        if len(flat) <= limit:
            return flat
    detail = max(re.findall(r"\(([^()]{12,})\)", flat), key=len, default="")
    if detail:  # too short to absorb the excess: drop it whole, or the middle cut lands in the advice before it
        flat = flat.replace(f"({detail})", "(…)", 1)
        if len(flat) <= limit:
            return flat
    head = (limit - 1) * 2 // 3
    return flat[:head] + "…" + flat[len(flat) - (limit - 1 - head):]


def _tail(path: str, width: int) -> str:
    """The end of ``path`` in about ``width`` characters, cut at a folder boundary: ``…/data/catalog.sqlite``."""
    parts = path.split("/")
    kept = parts[-1]
    for part in reversed(parts[1:-1]):
        if len(kept) + len(part) + 3 > width:
            break
        kept = f"{part}/{kept}"
    return "…/" + kept if kept != path else path


def debug_requested(argv: list[str]) -> bool:
    """``--debug`` anywhere on the command line, or ``DECORLENS_DEBUG`` set to something true."""
    return "--debug" in argv or os.environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes")


# -- translations of library errors -------------------------------------------------------------


def _sqlite(exc: sqlite3.Error, context: Context) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (f"the catalog {context.catalog} is locked: another DecorLens is writing it; "
                "try again when it finishes")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (f"the catalog {context.catalog} is damaged ({text}); move it aside and import the "
                "products again, or restore a backup")
    if "readonly" in text or "read-only" in text:
        return f"the catalog {context.catalog} is read-only; check the permissions of {context.data_dir}"
    if "full" in text:
        return (f"no space left to write the catalog {context.catalog} (the change was undone; what it held "
                "before is intact); free some disk space and try again")
    if "unable to open" in text:
        return f"cannot open the catalog {context.catalog}; check that {context.data_dir} exists and is writable"
    return f"the catalog {context.catalog} failed: {text}"


def _yaml(exc: yaml.YAMLError, context: Context) -> str:
    mark = getattr(exc, "problem_mark", None)
    name = getattr(mark, "name", "") or ""
    where = name if name and not name.startswith("<") else f"a YAML file of {context.data_dir or 'DecorLens'}"
    return f"{where} is not valid YAML ({yaml_problem(exc)}); fix it, or delete it to use the defaults"


def _opencv(exc: Exception, context: Context) -> str:
    found = re.search(r"\(-\d+:[^)]*\)\s*(.*?)(?: in function '([^']+)')?\s*$", str(exc).strip(), re.DOTALL)
    detail = (found.group(1) or str(exc)) if found else str(exc)
    if found and found.group(2):
        detail = f"{detail} in {found.group(2)}"
    return (f"OpenCV could not process {context.subject} ({detail}); the image may be damaged or huge: "
            "open and save it again as JPEG or PNG")


def _onnxruntime(exc: Exception, context: Context) -> str:
    detail = re.sub(r"^\[ONNXRuntimeError\] : \d+ : ", "", str(exc))
    return (f"ONNX Runtime could not load or run {context.subject} ({detail}); check that it is an ONNX model, "
            "or export it again with `decorlens models export`")


def _csv(exc: csv.Error, context: Context) -> str:
    return (f"{context.subject}: the CSV cannot be parsed ({exc}); check its quoting and delimiters, "
            "or save it again as CSV (UTF-8) from a spreadsheet")


def _unicode(exc: UnicodeError, context: Context) -> str:
    if isinstance(exc, UnicodeDecodeError):
        detail = f"byte 0x{exc.object[exc.start]:02x} at position {exc.start} is not {exc.encoding}"
    else:
        detail = str(exc)
    return f"{context.subject}: not UTF-8 text ({detail}); save it again as UTF-8"


def _missing_module(exc: ModuleNotFoundError, _context: Context) -> str:
    package = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(package)
    if extra == "train":
        return f"this command needs {package}, which is not installed: run scripts/install --train"
    if extra:
        return f"this command needs {package}, which is not installed: pip install -e '.[{extra}]'"
    return f"the Python package {package or exc} is missing: run scripts/install again"


# What an OS error means for the path it names, and what the user can do about it.
OS_ERRORS = {
    errno.EACCES: "permission denied; check its owner and permissions, or choose another location",
    errno.EPERM: "permission denied; check its owner and permissions, or choose another location",
    errno.ENOSPC: "no space left on the device; free some disk space and try again",
    errno.EDQUOT: "disk quota exceeded; free some space and try again",
    errno.ENOENT: "no such file or folder; check the path",
    errno.EROFS: "the file system is read-only; choose another location (e.g. --data-dir)",
    errno.EISDIR: "is a folder, expected a file",
    errno.EEXIST: "already exists and is not a folder; give the path of a folder",
    errno.ENOTDIR: "a part of this path is a file, not a folder",
}


def _os(exc: OSError, context: Context) -> str:
    path = exc.filename or context.subject
    return f"{path}: {OS_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))}"


def _memory(_exc: MemoryError, context: Context) -> str:
    return (f"out of memory while working on {context.subject}; close other programs, or use smaller photos "
            "or fewer at once")


def _opencv_error() -> type[Exception] | None:
    """``cv2.error`` when OpenCV is already imported (commands that never load it need not pay for it)."""
    return getattr(sys.modules.get("cv2"), "error", None)


def _raised_by_us(exc: BaseException) -> bool:
    """Whether our own code raised it: a ``ValueError`` of ours is a refusal of bad input, not a bug."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return False
    where = Path(frames[-1].filename).resolve()
    return any(where.is_relative_to(ROOT / package) for package in OUR_PACKAGES)


_DESCRIBERS = (
    (sqlite3.Error, _sqlite),
    (yaml.YAMLError, _yaml),
    (csv.Error, _csv),
    (UnicodeError, _unicode),
    (ModuleNotFoundError, _missing_module),
    (OSError, _os),
    (MemoryError, _memory),
)


def _save_traceback(exc: BaseException, context: Context) -> str:
    """Append the traceback to the log; the clause naming where it went (or how to see it)."""
    folder = context.data_dir
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            log = folder / LOG_NAME
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')} {' '.join(sys.argv)}\n")
                fh.write("".join(traceback.format_exception(exc)))
            return f"details in {log}"
        except OSError:
            pass
    return f"rerun with --debug (or {DEBUG_ENV}=1) to see the details"
