"""What a library error means for the person who met it, and what to do about it, in one line.

Engine errors (``DecorLensError``) already say that. SQLite, YAML, OpenCV, onnxruntime, csv and the OS
raise their own wording, which names no file ("database or disk is full") or blames the wrong one; the CLI
and the app both turn those into advice here, naming the catalog or the input they were working on.
"""

from __future__ import annotations

import csv
import errno
import os
import re
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.backups import COMPANIONS, DAMAGE_WORDS, RESTORE_UNCOUNTED, damage_advice
from engine.errors import yaml_problem
from engine.paths import CATALOG_FILE
from engine.remedies import EXPORT_AGAIN
from engine.words import cut

DETAIL_MAX = 300  # characters of a library's own wording kept in the line (the CLI shortens further)
FAT32_LARGEST = 2**32 - 1  # bytes: the largest file FAT32 (a USB stick's usual format) holds
UNWRITABLE_AROUND = 30  # characters either side of one that cannot be written, to say where it is
LAST_WRITE = 65_536 + 24  # bytes: SQLite's largest write (a page of 64 KiB and its WAL frame's header)

# Optional packages → the install that brings them (a ModuleNotFoundError names only the package).
INSTALL_TRAINING = "scripts/install --train"  # torch first, at the version torchvision needs, then the extra
EXTRAS = {
    "torch": "train", "torchvision": "train", "ultralytics": "train", "pytorch_metric_learning": "train",
    "onnx": "train", "PySide6": "gui", "pytestqt": "dev", "faiss": "bench", "psutil": "bench",
}


@dataclass(frozen=True)
class Context:
    """What the failing work was working on, to name it in the line."""

    data_dir: Path | None = None
    inputs: tuple[str, ...] = ()  # the files and folders it was given

    @property
    def subject(self) -> str:
        """The input being read, for errors that do not carry a file name."""
        return ", ".join(self.inputs) if self.inputs else "the input"

    @property
    def catalog(self) -> str:
        """"the catalog", by its path when the data folder is known (the app's tasks do not say)."""
        return f"the catalog {self.data_dir / CATALOG_FILE}" if self.data_dir else "the catalog"

    @property
    def folder(self) -> str:
        """The data folder, for advice about its permissions; "its folder" when not known."""
        return str(self.data_dir) if self.data_dir else "its folder"


def describe(exc: BaseException, context: Context) -> str | None:
    """The advice for a library error ``exc``, on one line; None for anything else (ours, or a bug).

    The app shows the line as it is (the CLI shortens it to its width): a library's message, or a file
    name, holding newlines would otherwise spread it over several lines."""
    describer = _describer_of(exc)
    return " ".join(describer(exc, context).split()) if describer is not None else None


def _describer_of(exc: BaseException) -> Callable[..., str] | None:
    for kind, describer in _DESCRIBERS:
        if isinstance(exc, kind):
            return describer
    opencv = _opencv_error()
    if opencv is not None and isinstance(exc, opencv):
        return _opencv
    if type(exc).__module__.startswith("onnxruntime"):
        return _onnxruntime
    return None


def _detail(text: object) -> str:
    """A library's own wording, cut to ``DETAIL_MAX``: an exception can carry a whole file in its message."""
    return cut(text, DETAIL_MAX)


def _sqlite(exc: sqlite3.Error, context: Context) -> str:
    text = _detail(exc)
    if "locked" in text or "busy" in text:
        return f"{context.catalog} is locked: another DecorLens is writing it; try again when it finishes"
    if (("I/O error" in text or sqlite_full(exc)) and context.data_dir
            and (problem := size_limit_problem(context.data_dir / CATALOG_FILE, context.catalog))):
        return problem
    if any(words in text for words in DAMAGE_WORDS):  # text not UTF-8 too: a flipped byte in a product's row
        advice = damage_advice(context.data_dir / CATALOG_FILE) if context.data_dir else (
            f"{RESTORE_UNCOUNTED()}, or move it aside and import the products again")
        return f"{context.catalog} is damaged ({text}); {advice}"
    if "readonly" in text or "read-only" in text:
        if _read_only_file_system(context.data_dir):
            return (f"{context.catalog} is on a read-only file system; copy the data folder somewhere writable, "
                    "or choose another data folder")
        return f"{context.catalog} is read-only; check the permissions of {context.folder}"
    if sqlite_full(exc):
        return (f"no space left to write {context.catalog} (the change was undone; what it held "
                "before is intact); free some disk space and try again")
    if "unable to open" in text:
        return f"cannot open {context.catalog}; check that {context.folder} exists and is writable"
    return f"{context.catalog} failed: {text}"


def sqlite_full(exc: sqlite3.Error) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL), whichever of its files ran out of room."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(exc)


def size_limit_problem(catalog: Path, name: str) -> str | None:
    """What to do where a file of ``catalog`` (called ``name`` in the line) reached the largest size a file may
    have there (``size_limit``); None where none did. SQLite says only "disk I/O error" or "database or disk is
    full" of a write past it (EFBIG), which read as a damaged catalog (to be moved aside) or a full disk."""
    limit = size_limit(catalog)
    if limit is None:
        return None
    if limit == FAT32_LARGEST:
        return (f"{name} reached the largest file its drive can hold (4 GB: the drive is formatted FAT32); move the "
                "data folder to a drive formatted NTFS, ext4, APFS or exFAT")
    return (f"{name} reached the largest file this program may write ({limit:,} bytes: the limit ulimit -f sets); "
            "raise that limit, or run DecorLens where none is set")


def size_limit(catalog: Path) -> int | None:
    """The file-size limit that ``catalog`` or one of its ``COMPANIONS`` files is at (within SQLite's largest write
    of it): the process's (``RLIMIT_FSIZE``) or FAT32's; None where none is. A write past it fails with EFBIG."""
    limits = [limit for limit in (_process_size_limit(), FAT32_LARGEST) if limit is not None]
    for suffix in ("", *COMPANIONS):
        try:
            size = os.stat(f"{catalog}{suffix}").st_size
        except OSError:
            continue
        for limit in limits:
            if limit - LAST_WRITE < size <= limit:
                return limit
    return None


def _process_size_limit() -> int | None:
    """The largest file this process may write (``ulimit -f``); None where unlimited, or no such limit (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def _read_only_file_system(folder: Path | None) -> bool:
    """Whether ``folder`` is on a file system mounted read-only, where no permission would help."""
    try:
        return folder is not None and bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # gone, or no statvfs (Windows): say what holds elsewhere
        return False


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
    return (f"OpenCV could not process {context.subject} ({_detail(detail)}); the image may be damaged or "
            "huge: open and save it again as JPEG or PNG")


_MODEL = "decorlens_model"  # the attribute ``blame_model`` sets


def blame_model(exc: BaseException, model: Path) -> None:
    """Mark ``exc``, an onnxruntime error met running ``model`` (``engine.runtime.Session``), as that model's:
    its line then names the model and its card, not the photo the command was given (whose pixels reach the
    model only as the card's preprocessing made them)."""
    if type(exc).__module__.startswith("onnxruntime"):
        setattr(exc, _MODEL, model)


def _onnxruntime(exc: Exception, context: Context) -> str:
    detail = re.sub(r"^\[ONNXRuntimeError\] : \d+ : ", "", str(exc))
    detail = re.sub(r"\S*onnxruntime_src/\S+:\d+ (?:[^()]*\([^()]*\) )?", "", detail)  # its source file and function
    detail = detail.replace("Please fix either the inputs/outputs or the model.", "")  # as the line says
    detail = re.sub(r"Non-zero status code returned while running (\S+) node\. Name:'(.*?)' Status Message: ",
                    lambda node: f"{node[1]} node '{node[2][:40]}': ", detail, count=1, flags=re.DOTALL)
    model = getattr(exc, _MODEL, None)
    if model is not None:
        return f"ONNX Runtime failed running the model {model} ({_detail(detail)}); check the model and its card"
    return (f"ONNX Runtime could not load or run {context.subject} ({_detail(detail)}); check that it is an "
            f"ONNX model{EXPORT_AGAIN()}")


def _csv(exc: csv.Error, context: Context) -> str:
    return (f"{context.subject}: the CSV cannot be parsed ({_detail(exc)}); check its quoting and "
            "delimiters, or save it again as CSV (UTF-8) from a spreadsheet")


def _unicode(exc: UnicodeError, context: Context) -> str:
    if isinstance(exc, UnicodeEncodeError) and isinstance(exc.object, str) and exc.start < len(exc.object):
        return _unwritable(exc)
    byte = exc.object[exc.start:exc.start + 1] if isinstance(exc, UnicodeDecodeError) else b""
    if byte:
        detail = f"byte 0x{byte[0]:02x} at position {exc.start} is not {exc.encoding}"
    else:  # a decoding error that points past its bytes
        detail = _detail(exc)
    return f"{context.subject}: not UTF-8 text ({detail}); save it again as UTF-8"


def _unwritable(exc: UnicodeEncodeError) -> str:
    """The text that could not be written, and why: a character the file or program written to does not take (its
    encoding not UTF-8), or half a character (a lone surrogate: Python's stand-in for a byte of a file name that is
    not UTF-8). It said the input was "not UTF-8 text" and to save it again, though nothing read was at fault."""
    char = exc.object[exc.start]
    around = exc.object[max(0, exc.start - UNWRITABLE_AROUND):exc.start + UNWRITABLE_AROUND]
    shown = cut(around.encode("utf-8", "backslashreplace").decode("utf-8"), DETAIL_MAX)
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        why = (f"byte 0x{code - 0xDC00:02x} of a file or folder name there is not UTF-8 (U+{code:04X} stands for "
               "it); rename that file or folder")
    elif 0xD800 <= code <= 0xDFFF:
        why = f"U+{code:04X} is half of a character, which no file holds; remove it"
    else:
        why = (f"{exc.encoding} has no {char} (U+{code:04X}); write to a file or terminal that takes UTF-8 "
               "(PYTHONUTF8=1 makes Python's own output UTF-8)")
    return f'cannot write "{shown}" as {exc.encoding} text: {why}'


def _missing_module(exc: ModuleNotFoundError, _context: Context) -> str:
    package = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(package)
    if getattr(sys, "frozen", False):  # no pip, no scripts/ in the app's folder: what it lacks came with it or never
        return _missing_from_app(package or str(exc), extra)
    if extra == "train":
        return f"this command needs {package}, which is not installed: run {INSTALL_TRAINING}"
    if extra:
        return f"this command needs {package}, which is not installed: pip install -e '.[{extra}]'"
    return f"the Python package {package or exc} is missing: run scripts/install again"


def _missing_from_app(package: str, extra: str | None) -> str:
    """The packaged app's line: training's packages are left out of it by design (docs/installer.md), any other
    is part of the app, so the installation is damaged. It said "run scripts/install again" and "pip install -e
    '.[gui]'", which its users have neither to run."""
    if extra == "train":
        return (f"this needs {package}, which the packaged DecorLens ships without (no PyTorch): do it in a Python "
                f"install with the training extra ({INSTALL_TRAINING})")
    return f"this DecorLens is missing a part ({package}): reinstall DecorLens"


# What an OS error means for the path it names, and what the user can do about it, to follow that path and a
# colon. ``{another}`` is what to choose instead: "another location" for any path (the CLI's data folder, a
# file the app writes), "another output folder" for a batch's (``folder_problem``).
OS_ERRORS = {
    errno.EACCES: "permission denied; check its owner and permissions, or choose {another}",
    errno.EPERM: "permission denied; check its owner and permissions, or choose {another}",
    errno.ENOSPC: "no space left on the device; free some disk space, or choose {another}",
    errno.EDQUOT: "disk quota exceeded; free some space, or choose {another}",
    errno.ENOENT: "no such file or folder; check the path",
    errno.EROFS: "the file system is read-only; choose {another}",
    errno.EISDIR: "is a folder, expected a file",
    errno.EEXIST: "already exists and is not a folder; give the path of a folder",
    errno.ENOTDIR: "a part of this path is a file, not a folder",
}
# The OS errors that no file of a folder would escape: its file system, its permissions, its disk.
WHOLE_FOLDER = frozenset({errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def os_problem(exc: OSError, another: str = "another location") -> str | None:
    """What ``exc`` means and what to do, to follow the path it concerns; None for an errno the table lacks."""
    known = OS_ERRORS.get(exc.errno or 0)
    return known.format(another=another) if known else None


def folder_problem(exc: OSError, folder: str, another: str = "another folder") -> str | None:
    """``exc``, met writing into ``folder`` (how the user knows it: "--out out/"), said of that folder; None
    when it concerns one file there (a folder where a JSON goes), which the OS's own file name says better.

    A batch's output folder is full or read-only for every file in it: the file the OS names, with a long
    photo name in it, crowded the advice out of the CLI's line."""
    if (exc.errno or 0) not in WHOLE_FOLDER:
        return None
    return f"{folder}: {os_problem(exc, another)}"


def _os(exc: OSError, context: Context) -> str:
    path = _detail(exc.filename or context.subject)
    known = os_problem(exc)
    if known:
        return f"{path}: {known}"
    return f"{path}: {_detail(exc.strerror or str(exc) or type(exc).__name__)}; check it and try again"


def _memory(_exc: MemoryError, context: Context) -> str:
    return (f"out of memory while working on {context.subject}; close other programs, or use smaller photos "
            "or fewer at once")


def _opencv_error() -> type[Exception] | None:
    """``cv2.error`` when OpenCV is already imported (commands that never load it need not pay for it)."""
    return getattr(sys.modules.get("cv2"), "error", None)


_DESCRIBERS: tuple[tuple[type[BaseException], Callable[..., str]], ...] = (
    (sqlite3.Error, _sqlite),
    (yaml.YAMLError, _yaml),
    (csv.Error, _csv),
    (UnicodeError, _unicode),
    (ModuleNotFoundError, _missing_module),
    (OSError, _os),
    (MemoryError, _memory),
)
