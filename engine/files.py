"""Writing files so that a crash leaves the old version or the new one, never half of one.

Every file DecorLens writes that a user would miss (index, manifest, model cards, batch outputs,
corrections, bundles) goes through ``replace_atomically``: written beside its target, flushed to
disk, then renamed over it (rename is atomic on one filesystem), and the folder entry flushed too.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import io
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import yaml

from engine.errors import DecorLensError, yaml_problem

CHUNK_BYTES = 1 << 22
SHA256_HEX = re.compile(r"[0-9a-f]{64}")  # as ``sha256_of`` writes a digest
MAX_YAML_BYTES = 4 << 20  # a settings file or category map is a few KB, even one hand-edited for a big catalog
STALE_TEMP_SECONDS = 30 * 60  # a temp file this old belongs to a writer that was killed


class NotAFile(DecorLensError, OSError):
    """A path given as a photo or feed is missing, a folder, a FIFO, a device or a symlink loop.

    Also an OSError, so callers that handled a missing file from ``open`` handle this too."""


def replace_atomically(tmp: Path, target: Path) -> None:
    """Move a fully written ``tmp`` over ``target`` durably.

    A ``target`` that is a device, FIFO or socket is refused, not replaced: run as root, `catalog map --html
    /dev/null` put a regular file in the place of /dev/null, and every program's discarded output then went
    to disk (found by a fuzz of the commands' options).
    """
    check_writable(target)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; the rename itself is still atomic there
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_writable(target: Path) -> None:
    """Refuse a ``target`` that a file cannot replace (a folder, a device, a FIFO, a socket): asked before long
    work, so it is not done for nothing."""
    with suppress(FileNotFoundError):
        kind = os.lstat(target).st_mode
        if not (stat.S_ISREG(kind) or stat.S_ISLNK(kind)):
            raise NotAFile(f"{target}: {_kind(kind)}, not a file to write over; name a file")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to ``path`` atomically.

    The temp name is unique (two processes writing the same file must not share one); a failed
    write removes it. The file keeps the mode it had, or gets 0644 (mkstemp's 0600 would hide batch
    pages from the web server they are meant for). A file name that is not valid UTF-8 (its bytes come
    back from the OS as lone surrogates) is written escaped as ``\\udcXX``: a readable file, not a crash
    at the end of a batch.
    """
    prefix = f".{path.name}."
    clean_stale_temps(path.parent, prefix)  # left by a writer of this file that was killed
    with naming(path):
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
        tmp = Path(name)
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data)
            replace_atomically(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


@contextmanager
def naming(target: Path) -> Iterator[None]:
    """OS errors raised inside name ``target``, the file being written.

    Writing a temp file beside it, a full disk or a size limit raised errors that name no file, and the
    CLI blamed the photo or feed it was given ("feed.csv: no space left on the device", after the feed
    was imported and the index could not be saved) or "the input"; a read-only folder named the temp.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno is None:  # ours (NotAFile), already worded
            raise
        raise OSError(exc.errno, exc.strerror, str(target)) from exc


@contextmanager
def exclusive(lock: Path, busy: DecorLensError | None = None) -> Iterator[None]:
    """Hold the OS lock on the file ``lock`` (made empty if missing): one process at a time inside.

    The OS drops it with the process, so a writer killed inside never blocks the next; the file stays
    (deleting a lock file lets two processes lock two different files). Without ``busy`` it waits (on
    Windows it gives up after about 10 s, with an OSError); with it, it raises ``busy`` at once when
    another process holds the lock, and only then: an error of the same kind from inside passes as it is.
    """
    with _open_lock(lock) as fh:
        wait = busy is None
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            if busy is None:
                raise
            raise busy from exc
        yield


def _open_lock(lock: Path) -> BinaryIO:
    """The lock file, made if missing and never truncated, refused unless it is a regular file.

    Opened as "wb" it followed a planted symlink and emptied the file it pointed at (a root install's
    ``.install.lock`` could empty any file); a FIFO would block the open.
    """
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(lock, flags | getattr(os, "O_BINARY", 0), 0o644)
    except OSError as exc:
        if exc.errno != errno.ELOOP or not lock.is_symlink():
            raise
        raise NotAFile(f"{lock}: a symbolic link, not the lock file DecorLens makes; remove it") from exc
    return _regular(fd, lock, "r+b", "not the lock file DecorLens makes; remove it")


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading, refused unless it is a regular file.

    Checked on the open descriptor, not the name, and opened non-blocking: a FIFO named ``x.jpg``
    would otherwise block the open forever, and a symlink to ``/dev/zero`` would be read without end.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise NotAFile(f"{path}: {_why_unopenable(exc)}") from exc
    return _regular(fd, path, "rb", "not a regular file")


def not_a_file_words(exc: NotAFile, path: str | os.PathLike[str]) -> str:
    """What ``path`` is instead of a regular file, in ``open_regular``'s words without its path or refusal ("a FIFO
    (named pipe)", "a folder", "permission denied"), for a line of the caller's own."""
    return str(exc).removeprefix(f"{path}: ").removesuffix(", not a regular file").removeprefix("is ")


def _regular(fd: int, path: str | os.PathLike[str], mode: str, refusal: str) -> BinaryIO:
    """The descriptor ``fd``, opened non-blocking, as a blocking file object if it is a regular file; else
    closed and ``NotAFile`` ("PATH: a FIFO (named pipe), REFUSAL"). Checked on the descriptor, not the name."""
    try:
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            raise NotAFile(f"{path}: {_kind(kind)}, {refusal}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        raise


class TooLarge(DecorLensError):
    """A file past the bound its reader sets (``read_json_bounded``): far more than such a file holds."""


def read_json_bounded(path: str | os.PathLike[str], limit: int) -> Any:
    """The JSON in ``path``, a file DecorLens wrote that a user, a sync tool or an attacker may have replaced.

    Read through ``open_regular`` (a FIFO there would block the open, a link to /dev/zero be read without end) and
    at most ``limit`` bytes of it: the JSON parser's objects take many times the file's size. Raises ``NotAFile``
    (not a regular file, or not there), ``OSError`` (unreadable), ``TooLarge`` (over ``limit`` bytes),
    ``ValueError`` (not UTF-8, not JSON) or ``RecursionError`` (nested past Python's limit), for the caller to word
    as its user knows the file.
    """
    with open_regular(path) as fh:
        raw = fh.read(limit + 1)
    if len(raw) > limit:
        raise TooLarge(f"{path}: over {limit:,} bytes")
    return json.loads(raw.decode("utf-8"))


def open_append(path: Path) -> TextIO:
    """``path`` opened to append UTF-8 text (made, for this user only, if missing), refused with an OSError unless it
    is a regular file: the error log's name holding a FIFO blocked the app's start for ever, and a link (a synced
    data folder's) had the log written wherever it led."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o600)  # a FIFO: ENXIO, a link: ELOOP
    return io.TextIOWrapper(_regular(fd, path, "ab", "not a file to append to"), encoding="utf-8")


def create_anew(path: Path) -> BinaryIO:
    """``path`` made anew, empty, and opened to write: for a temp name of a fixed spelling (``out.dlcat.part``).

    What stands under the name (a killed writer's leftover, a link, a FIFO) is removed first, a link and not the
    file it leads to, and the file is created exclusively (``O_EXCL`` follows no link, even one planted meanwhile):
    opened "wb", a link there had the bundle written into the file it named (and then renamed into place as the
    bundle, a link to that file), and a FIFO blocked the export for ever."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    return os.fdopen(fd, "wb")


def own_temp_folder() -> Path | None:
    """``decorlens-UID`` in the temporary folder, made for this user alone: what DecorLens keeps there (the app's
    socket, its error log where the data folder cannot be written) must not be a name another user of a shared
    ``/tmp`` can take first (a socket answering in the app's place, a file or FIFO for the log). None where that
    folder is another's or open to others. Windows' temporary folder is the user's own already."""
    temp = Path(tempfile.gettempdir())
    if os.name == "nt":
        return temp
    folder = temp / f"decorlens-{os.getuid()}"
    with suppress(OSError):  # there already, or the temporary folder is read-only: is_own_folder says
        folder.mkdir(mode=0o700)
    return folder if is_own_folder(folder) else None


def is_own_folder(folder: Path) -> bool:
    """Whether ``folder`` is a folder (no link to one) of this user's that others can neither enter nor write in."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a regular file, read in chunks (index files can be gigabytes)."""
    with open_regular(path) as fh:
        return sha256_of_stream(fh)


def is_sha256(value: object) -> bool:
    """Whether ``value`` is a sha256 digest as ``sha256_of`` writes it (64 lowercase hex digits): what a stored or
    shipped hash must be before it is compared with one, or joined to a path."""
    return isinstance(value, str) and SHA256_HEX.fullmatch(value) is not None


def sha256_of_stream(fh: BinaryIO) -> str:
    """Hex sha256 of what is left to read in ``fh``, in chunks."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: fh.read(CHUNK_BYTES), b""):
        digest.update(chunk)
    return digest.hexdigest()


def absolute(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute and normalised without touching the disk (a symlink loop cannot raise here)."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _why_unopenable(exc: OSError) -> str:
    reasons = {
        errno.ENOENT: "no such file", errno.ELOOP: "symlink loop", errno.EISDIR: "is a folder, not a file",
        errno.EACCES: "permission denied", errno.ENXIO: "a FIFO or socket without a writer, not a regular file",
    }
    return reasons.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def _kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "is a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    return next((name for check, name in kinds if check(mode)), "a special file")


# Which version of a file is at a path: its inode, size, modification and change time (ns): ``version_of``.
FileVersion = tuple[int, int, int, int]


def version_of(found: os.stat_result) -> FileVersion:
    """Which version of a file ``found`` (its ``stat``) is. By modification time and size alone, a photo replaced by
    another of the same size and time (a camera's whose clock was never set, all of 1 Jan 1970, copied over it with
    ``cp -p``) was the same file; the change time is the system's, set on every write, which no copy sets."""
    return found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns


def file_version(path: str | os.PathLike[str]) -> FileVersion | None:
    """``version_of`` the file at ``path``; None where it is gone or cannot be looked at."""
    try:
        return version_of(os.stat(path))
    except (OSError, ValueError):  # ValueError: a path holding a NUL character
        return None


def stale(path: Path, older_than: float) -> bool:
    """Whether the file ``path`` was last written more than ``older_than`` seconds ago, or as far ahead of now: one
    written while the clock was ahead (set back since) is no write in progress either. Left by a killed backup then,
    a temp copy of the catalog stayed for as long as the clock had been ahead (years, a battery's reset). Raises
    ``OSError`` for a file gone."""
    return abs(time.time() - path.stat().st_mtime) > older_than


def clean_stale_temps(folder: Path, prefix: str, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Delete our own temp files (by ``prefix``) left by a killed writer (``stale``); returns how many."""
    removed = 0
    for path in folder.glob(glob.escape(prefix) + "*"):
        try:
            if path.is_file() and stale(path, older_than):
                path.unlink()
                removed += 1
        except OSError:  # another process cleaned it first, or it is in use (Windows)
            continue
    return removed


def read_yaml(path: Path, what: str, fallback: str) -> Any:
    """A YAML file a user may have edited by hand, or a one-line error naming it, the line, and the way out.

    ``what`` names the file for the user ("category map"); ``fallback`` is what deleting it gives back.
    Read at most MAX_YAML_BYTES, from a regular file: read whole, a 600 MB file took 1.3 GB before parsing,
    and a list nested 100,000 deep ended in "unexpected RecursionError".
    """
    try:
        with open_regular(path) as fh:
            data = fh.read(MAX_YAML_BYTES + 1)
        if len(data) > MAX_YAML_BYTES:
            raise DecorLensError(f"{what} {path} is over {MAX_YAML_BYTES >> 20} MB, far more than a {what} holds; "
                                 f"check it, or delete it to use {fallback}")
        return yaml.safe_load(data.decode("utf-8")) or {}
    except (OSError, UnicodeDecodeError) as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        raise DecorLensError(f"{what} {path} is unreadable ({reason}); check it, or delete it") from exc
    except RecursionError as exc:
        raise DecorLensError(f"{what} {path} is nested too deeply to be a {what}; fix it, or delete it to use "
                             f"{fallback}") from exc
    except yaml.YAMLError as exc:
        raise DecorLensError(
            f"{what} {path} is not valid YAML ({yaml_problem(exc)}); fix it, or delete it to use {fallback}"
        ) from exc
