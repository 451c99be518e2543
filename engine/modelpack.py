"""The model pack: install the default models and their cards into ``<data dir>/models`` in one step.

``resources/modelpack.yaml`` lists every file with its size and sha256. A pack *source* is a folder
(a network share in a shop, ``../shared/models`` in development) or an HTTP(S) base URL (the
project's release assets, ``RELEASE_URL``). The list is the one shipped with this code, never one
read from the source, so a source can only supply bytes, and bytes that do not hash right are refused.

Each file is written to ``NAME.part`` beside its target and renamed over the target only once its
size and sha256 match: a bad, oversized or interrupted download never replaces a good model. An
interrupted download keeps its ``.part``, and the next run asks the server for the rest (HTTP Range);
a server that ignores Range sends the whole file again and the ``.part`` starts over.

Downloads go through ``engine.downloads``, as the catalog importer's do: redirects to http(s) only, and each
file within a deadline that allows ``GRACE_S`` plus a second per ``MIN_RATE`` bytes, so a server that
dribbles a byte every few seconds (which no per-read timeout ends) is given up and resumed later.
"""

from __future__ import annotations

import http.client
import itertools
import os
import reprlib
import shutil
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import yaml

from engine import user_calibration
from engine.downloads import Overdue, chunks, failed_at, not_http, open_until, untrusted
from engine.errors import Cancelled, ModelError
from engine.files import (
    NotAFile,
    TooLarge,
    check_writable,
    exclusive,
    is_sha256,
    open_regular,
    read_json_bounded,
    replace_atomically,
    sha256_of,
)
from engine.links import has_credentials, without_credentials
from engine.paths import resources_dir
from engine.remedies import ACTIVATE_SET_ASIDE, FETCH_FROM_FOLDER

# Where the release assets live: the one place to change when the pack is published elsewhere.
RELEASE_URL = "https://github.com/decorlens/decorlens/releases/download/models-2026.12.02/"
TIMEOUT_S = 30  # per connection attempt and per read: a stalled server fails instead of hanging
CHUNK = 1 << 20  # at most; a read returns what has arrived, so progress moves with a slow server too
# A file's deadline: GRACE_S, plus a second for every MIN_RATE bytes still to come (a 14 MB model: 15 minutes).
# A server that sends a byte every few seconds never trips TIMEOUT_S, and held `models fetch` for ever.
GRACE_S = 60.0
MIN_RATE = 16 * 1024  # bytes a second, on average over the file
# Held while an install writes into the folder. Two installs at once (the app's first start and a
# `models fetch`) wrote the same NAME.part: each refused the other's bytes as "not the pack's file" or lost
# its .part to the other's rename, and one appending after that rename wrote into the installed model.
LOCK_FILE = ".install.lock"
ROLES = ("detector", "embedder", "pose", "card")
# Recipe entries that only DecorLens's own training (`decorlens train`, `train-detector`, the Train window), its
# combining of two embedders and its int8 copies write into a card; no pack card has any of them.
MADE_HERE = ("data", "combined", "int8")
CARD_MAX_BYTES = 1 << 20  # a card past this is read as no card (a card is a few KB)
SET_ASIDE = "-trained"  # a trained model's free name: its own with this after it (then -2, -3, …)

Progress = Callable[[int, int], None]  # (bytes done, bytes in the pack)


class SourceUnreachable(ModelError):
    """The pack's URL could not be reached at all (offline, DNS, refused): the line ends in what to do instead, a copy
    of the pack folder installed from there (``FETCH_FROM_FOLDER``; the app's setup page said only "could not reach
    github.com ([Errno -2] Name or service not known)" beside the Download button that had just failed)."""


class NotAtSource(ModelError):
    """The source has no such file (not in the folder, HTTP 404): an optional file is then skipped."""


@dataclass(frozen=True)
class PackFile:
    """One file of the pack, as the manifest lists it."""

    file: str
    role: str  # detector, embedder, pose or card
    size: int
    sha256: str
    about: str = ""
    optional: bool = False  # a source without it still installs the pack; the feature it serves stays off


@dataclass(frozen=True)
class Pack:
    name: str
    version: str
    files: tuple[PackFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass
class InstallReport:
    """What ``install`` did: files written, files already in place."""

    folder: Path
    installed: list[str]
    kept: list[str]
    skipped: list[str] = field(default_factory=list)  # optional files the source does not have
    dropped: list[str] = field(default_factory=list)  # a line for each user calibration that no longer applies
    set_aside: list[str] = field(default_factory=list)  # a line for each trained model moved off a pack name

    def summary(self) -> str:
        skipped = f"; optional, not at the source: {', '.join(self.skipped)}" if self.skipped else ""
        counts = f"{len(self.installed):,} installed, {len(self.kept):,} already there"
        return "\n".join([f"model pack in {self.folder}: {counts}{skipped}", *self.set_aside, *self.dropped])


def manifest_path() -> Path:
    return resources_dir() / "modelpack.yaml"


def read_pack(path: Path | None = None) -> Pack:
    """The pack manifest (the shipped one by default)."""
    path = path or manifest_path()
    try:
        raw = yaml.safe_load(path.read_text())
        files = tuple(PackFile(**entry) for entry in raw["files"])
        pack = Pack(str(raw["name"]), str(raw["version"]), files)
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ModelError(f"model pack manifest {path} is unreadable: {exc}") from exc
    for entry in pack.files:
        problem = _entry_problem(entry)
        if problem:
            raise ModelError(f"model pack manifest {path}: {reprlib.repr(entry.file)} {problem}")
    return pack


def _entry_problem(entry: PackFile) -> str | None:
    """What makes a manifest entry one ``install`` must not act on; None when nothing. Each name is joined to the
    install folder as it is: "../x" or "/x" wrote outside it, and a size that is no number ended in TypeError."""
    name = entry.file
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name:
        return "is not a plain file name (no folders)"
    if not name.isprintable() or name.startswith("."):
        return "is not a plain file name (no control characters, not hidden)"
    if entry.role not in ROLES:
        return f"has role {reprlib.repr(entry.role)}, not one of {', '.join(ROLES)}"
    if type(entry.size) is not int or entry.size <= 0:
        return "has no size in bytes above 0"
    if not is_sha256(entry.sha256):
        return "has no sha256 of 64 lowercase hex digits"
    return None


def model_stem(file: str) -> str:
    """The model name a pack file belongs to: ``NAME.onnx`` and ``NAME.card.json`` are both NAME's."""
    return file.removesuffix(".card.json").removesuffix(".onnx")


def refuse_pack_name(names: Iterable[str], folder: Path, option: str = "--name ") -> None:
    """Refuse, before any training, to write a trained model under a pack model's name; the line names a free one.

    The export writes ``folder/NAME.onnx`` and its card, over the pack's files of that name, and `models fetch` (the
    remedy every damaged-model line names) then put the pack's file back over the user's training, unsaid. Names
    are compared without case: on Windows and macOS "EffNet_Lite0_GEM.onnx" is the pack's file. The first of
    ``names`` is the one the user chose (the others are made from it: a pair's members).
    """
    names = list(names)
    pack = {model_stem(f.file).casefold(): f.file for f in read_pack().files if f.role != "card"}
    taken = next((pack[n.casefold()] for n in names if n.casefold() in pack), None)
    if taken:
        raise ModelError(f"{taken} is the model pack's: `models fetch` would put it back over your training; "
                         f"use e.g. {option}{free_name(folder, names[0])}")


def free_name(folder: Path, name: str) -> str:
    """``name`` + ``SET_ASIDE`` (then -2, -3, …): a model name with no file in ``folder`` and no pack model's."""
    pack = {model_stem(f.file).casefold() for f in read_pack().files}
    for n in itertools.count(1):
        candidate = f"{name}{SET_ASIDE}" + (f"-{n}" if n > 1 else "")
        files = (folder / f"{candidate}{suffix}" for suffix in (".onnx", ".card.json", user_calibration.SUFFIX))
        if candidate.casefold() not in pack and not any(os.path.lexists(f) for f in files):
            return candidate
    raise AssertionError("unreachable")  # itertools.count never ends


def is_url(source: str | Path) -> bool:
    return str(source).startswith(("http://", "https://"))


def install(
    source: str | Path,
    folder: Path,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    pack: Pack | None = None,
) -> InstallReport:
    """Install every file of the pack from ``source`` (folder or URL) into ``folder``.

    Files already there with the right sha256 are kept as they are; the first file that cannot be
    had (missing at the source, unreachable, wrong size or hash) stops the install with a one-line
    ModelError, leaving the files installed so far and every earlier model untouched. An optional
    file the source does not have is skipped, and so is the card of a skipped model. The user's own
    calibration of a pack model is kept while the model file is the pack's, else dropped with a line in
    the report (``engine.user_calibration``).
    """
    pack = pack or read_pack()
    if is_url(source):
        _check_url(str(source))
    else:
        _check_folder(source)
        source = pack_folder(Path(source), pack)
    folder.mkdir(parents=True, exist_ok=True)
    busy = ModelError(f"another DecorLens is installing the model pack into {folder}; let it finish, "
                      "then run this again")
    with exclusive(folder / LOCK_FILE, busy):  # one install at a time: two wrote the same NAME.part
        return _install_pack(source, folder, pack, progress, cancelled)


def pack_folder(source: Path, pack: Pack) -> Path:
    """``source``, or the one folder inside it that holds the pack's models: staff handed a USB stick with the pack
    in a folder on it choose the stick (the setup page asks for the "Folder holding the DecorLens model pack"), and
    were told that its first model "is not in the model pack folder". A folder holding any model of the pack is
    the pack's, and its missing files are named as before; so is ``source`` where no folder, or several, inside it
    hold them all."""
    models = [entry.file for entry in pack.files if entry.role != "card" and not entry.optional]
    if any(os.path.lexists(source / name) for name in models):
        return source
    try:
        inside = [sub for sub in source.iterdir()
                  if sub.is_dir() and all(os.path.lexists(sub / name) for name in models)]
    except OSError:  # unreadable: the install names the first model as missing there
        return source
    return inside[0] if len(inside) == 1 else source


def _check_url(url: str) -> None:
    """Refuse, in one line, an http(s) source urllib cannot open: no host, a bad port or IPv6 address ("https://[::1"
    ended in "unexpected ValueError: Invalid IPv6 URL"), or a user name or password, which urllib never sends (it
    looked "user:pw@host" up as a host, and "could not reach" printed the password)."""
    shown = without_credentials(url)
    try:
        parts = urllib.parse.urlsplit(url)
        host, _port = parts.hostname, parts.port  # .port raises on a port that is no number up to 65535
    except ValueError as exc:
        raise ModelError(f"model pack source {shown}: not a valid URL ({' '.join(str(exc).split())})") from exc
    if has_credentials(url):
        raise ModelError(f"model pack source {shown}: a user name or password in the URL is never sent; give a URL "
                         "that needs none, or a folder holding the pack")
    if not host:
        raise ModelError(f"model pack source {shown}: no host in the URL")


def _check_folder(source: str | Path) -> None:
    """Refuse a source that is neither an http(s) URL nor a folder, saying what it is instead: an archive,
    a file:// URL or another scheme were all "does not exist", which sent the user looking for a path."""
    text, what = str(source), "a pack is a folder or an http(s) URL of one"
    if text.startswith("file://"):
        folder = urllib.request.url2pathname(urllib.parse.urlsplit(text).path)
        raise ModelError(f"model pack source {text}: give the folder {folder} itself, not a file:// URL; {what}")
    if "://" in text:
        raise ModelError(f"model pack source {text}: only http(s) URLs are fetched; {what}")
    if Path(source).is_dir():
        return
    if Path(source).exists():
        raise ModelError(f"model pack source {text} is a file, not a folder (unpack an archive first); {what}")
    raise ModelError(f"model pack folder {text} does not exist; {what}")


def _install_pack(
    source: str | Path, folder: Path, pack: Pack, progress: Progress | None,
    cancelled: Callable[[], bool] | None,
) -> InstallReport:
    """``install``'s work, under its lock."""
    report = InstallReport(folder, [], [])
    done = 0
    models = {entry.file: entry.sha256 for entry in pack.files if entry.role != "card"}
    for entry in pack.files:
        target = folder / entry.file
        model = folder / _model_of(entry.file)
        if _same_size(target, entry.size) and sha256_of(target) == entry.sha256:
            report.kept.append(entry.file)
        elif entry.optional and _card_of_skipped(entry, report.skipped):
            report.skipped.append(entry.file)
        else:
            if entry.role == "card" and target.is_file():
                user_calibration.keep_from_card(target, model)  # an older version calibrated in the card
            try:
                part = _install_file(source, entry, target, _offset(progress, done, pack.size), cancelled)
            except NotAtSource:
                if not entry.optional:
                    raise
                report.skipped.append(entry.file)
            else:
                if entry.role != "card" and _trained_here(target):  # the manifest lists a model before its card
                    report.set_aside.append(_set_aside(target))
                replace_atomically(part, target)
                report.installed.append(entry.file)
        if entry.role == "card" and model.name in models and entry.file not in report.skipped:
            dropped = user_calibration.drop_if_stale(model, models[model.name])
            if dropped:
                report.dropped.append(dropped)
        done += entry.size
        if progress:
            progress(done, pack.size)
    return report


def _trained_here(model: Path) -> bool:
    """Whether ``model`` (not the pack's file: its sha256 differs) is one DecorLens trained, by its card's recipe.
    No card, or none readable, is a damaged pack file: the fetch is there to repair it. A card over a MiB is none
    (a card is a few KB), read through ``read_json_bounded``: a FIFO under its name blocks nothing."""
    if not model.is_file():
        return False
    try:
        card = read_json_bounded(model.with_suffix(".card.json"), CARD_MAX_BYTES)
    except (OSError, ValueError, RecursionError, TooLarge):  # NotAFile is an OSError
        return False
    recipe = card.get("recipe") if isinstance(card, dict) else None
    return isinstance(recipe, dict) and any(key in recipe for key in MADE_HERE)


def _set_aside(model: Path) -> str:
    """Move a trained model off the pack's name, with its card and calibration, to a free name; say so in a line.

    Setting it aside rather than keeping it in place: `models fetch` is the remedy every damaged-model line names,
    and it must leave the pack's model there to do that; kept in place, the trained file stayed under the pack's
    name, the stock model never came back and every later fetch said the same. Moved, both are there and the
    user's training is one `models activate` away under the name the line says.
    """
    new = free_name(model.parent, model.stem)
    for old in (model.with_suffix(".card.json"), user_calibration.calibration_path(model), model):
        if old.is_file():
            os.replace(old, old.with_name(new + old.name[len(model.stem):]))
    return (f"{model.name} was trained here (its card says so), not the pack's: kept as {new}.onnx with its card, "
            f"the pack's {model.name} put in its place; {ACTIVATE_SET_ASIDE(model=f'{new}.onnx')}")


def _card_of_skipped(entry: PackFile, skipped: list[str]) -> bool:
    return entry.role == "card" and _model_of(entry.file) in skipped


def _model_of(card: str) -> str:
    """The model file a card file of the pack describes (``engine.models.card_path_for`` the other way)."""
    return card.removesuffix(".card.json") + ".onnx"


def _install_file(
    source: str | Path, entry: PackFile, target: Path, progress: Callable[[int], None], cancelled
) -> Path:
    """``entry`` into ``target``'s ``NAME.part``, checked against the pack's sha256; returns the part to move into
    place (the caller first sets aside a trained model under that name)."""
    check_writable(target)  # after the download, a folder there left the whole file in NAME.part
    part = target.with_name(target.name + ".part")
    _clear_part(part)
    stock = resources_dir() / "cards" / entry.file
    if entry.role == "card" and _same_size(stock, entry.size) and sha256_of(stock) == entry.sha256:
        with open(stock, "rb") as src, _open_part(part, append=False) as out:
            shutil.copyfileobj(src, out)
    else:
        _fetch(source, entry, part, progress, cancelled)
    got = sha256_of(part)
    if got != entry.sha256:
        part.unlink()
        raise ModelError(f"{entry.file} from {source} is not the pack's file (sha256 {got[:12]}…, expected "
                         f"{entry.sha256[:12]}…); refused, nothing installed or replaced")
    return part


def _clear_part(part: Path) -> None:
    """Remove a ``part`` that is a symlink or a hard link; refuse one that is a folder or special file.

    Only an install writes ``NAME.part``, as a plain file of one name: a link planted there was followed, the model
    written into whatever it pointed at outside the folder, and the sha256 check then blamed the source. A hard
    link is another name of a file elsewhere: a card copied into it truncated that file, and the rename that
    installs the card took it away from where it was.
    """
    try:
        found = part.lstat()
    except FileNotFoundError:
        return
    mode = found.st_mode
    if stat.S_ISLNK(mode) or (stat.S_ISREG(mode) and found.st_nlink > 1):
        part.unlink()  # the link only; the file it points at is never opened
    elif not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "a special file"
        raise ModelError(f"{part} is {what} where the download is written; remove it and run this again")


def _open_part(part: Path, append: bool) -> BinaryIO:
    """``part`` opened for writing without following a link (one planted after ``_clear_part`` fails)."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(part, flags | (os.O_APPEND if append else os.O_TRUNC), 0o644)
    return os.fdopen(fd, "ab" if append else "wb")


def _fetch(source: str | Path, entry: PackFile, part: Path, progress: Callable[[int], None], cancelled) -> None:
    """Bring ``entry`` into ``part``, resuming a partial ``part`` where the source allows it."""
    have = part.stat().st_size if part.is_file() else 0
    if have > entry.size:
        part.unlink()
        have = 0
    if have == entry.size:
        return  # complete from an earlier run: the caller checks its hash
    allowed = GRACE_S + (entry.size - have) / MIN_RATE
    deadline = time.monotonic() + allowed
    try:
        stream, start = _open(source, entry.file, have, deadline)
    except Overdue as exc:
        raise _too_slow(entry, part, allowed) from exc
    try:
        with stream, _open_part(part, append=bool(start)) as out:
            written = _copy(stream, out, start, entry.size, deadline, progress, cancelled)
    except Overdue as exc:
        raise _too_slow(entry, part, allowed) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise ModelError(f"{entry.file} stopped at {_size_of(part):,} of {entry.size:,} bytes ({exc}); run the "
                         "same command again to resume") from exc
    if written > entry.size:
        part.unlink()
        raise ModelError(f"{entry.file} at {source} is larger than the pack's {entry.size:,} bytes; refused")
    if written < entry.size:
        if is_url(source):
            raise ModelError(f"download of {entry.file} stopped at {written:,} of {entry.size:,} bytes; run the "
                             "same command again to resume")
        part.unlink()
        raise ModelError(f"{Path(source) / entry.file} is shorter than the pack's file ({written:,} of "
                         f"{entry.size:,} bytes); copy the pack folder again")


def _too_slow(entry: PackFile, part: Path, allowed: float) -> ModelError:
    return ModelError(f"{entry.file} came too slowly: {_size_of(part):,} of {entry.size:,} bytes in {allowed:,.0f} s "
                      f"(under {MIN_RATE // 1024} KiB/s); run the same command again to resume")


def _copy(stream: BinaryIO, out: BinaryIO, start: int, size: int, deadline: float, progress, cancelled) -> int:
    """Append ``stream`` to ``out`` until ``deadline`` (``Overdue``); stops at the first chunk beyond ``size``
    (the size cap)."""
    written = start
    for chunk in chunks(stream, deadline, CHUNK):
        written += len(chunk)
        if written > size:
            return written
        out.write(chunk)
        progress(written)
        if cancelled and cancelled():
            raise Cancelled("model pack install cancelled; the next run resumes where it stopped")
    return written


def _open(source: str | Path, name: str, offset: int, deadline: float) -> tuple[BinaryIO, int]:
    """A stream of ``name`` from ``offset`` if the source can start there, else from 0; and where. A server's
    answer is read by ``deadline`` from its status line on: headers dribbled a byte at a time are ``Overdue``."""
    if not is_url(source):
        fh = _open_in_folder(Path(source), name)
        fh.seek(offset)
        return fh, offset
    url = str(source).rstrip("/") + "/" + name
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = open_until(request, TIMEOUT_S, deadline)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the .part is no prefix the server knows: start over
            return _open(source, name, 0, deadline)
        why = f"could not download {failed_at(exc, url)}: HTTP {exc.code} {' '.join(str(exc.reason).split())}"
        raise (NotAtSource if exc.code == 404 else ModelError)(why) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = untrusted(exc) or getattr(exc, "reason", exc)
        host = urllib.parse.urlsplit(failed_at(exc, url)).netloc
        raise SourceUnreachable(f"could not reach {host} ({reason}){FETCH_FROM_FOLDER()}") from exc
    except http.client.HTTPException as exc:  # a server that does not speak HTTP: a bad status line, huge headers
        raise ModelError(f"could not download {failed_at(exc, url)}: {not_http(exc)}") from exc
    except ValueError as exc:  # a URL urllib cannot parse (a bad port or IPv6 address, an empty host label)
        raise ModelError(f"could not download {url}: {' '.join(str(exc).split())}") from exc
    resumed = response.status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {offset}-")
    return response, offset if resumed else 0


def _open_in_folder(folder: Path, name: str) -> BinaryIO:
    """``name`` in the pack folder, opened for reading; refused in one line unless it is a regular file (a
    FIFO would block the copy, a link to /dev/zero feed it for ever; both were "not in the folder")."""
    path = folder / name
    if not path.exists():  # a link to nothing too: the test packs link to ../shared/models
        raise NotAtSource(f"{name} is not in the model pack folder {folder}; copy the whole pack folder")
    try:
        return open_regular(path)
    except NotAFile as exc:
        raise ModelError(f"model pack file {exc}; copy the whole pack folder again") from exc


def _same_size(path: Path, size: int) -> bool:
    return path.is_file() and path.stat().st_size == size


def _size_of(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _offset(progress: Progress | None, before: int, total: int) -> Callable[[int], None]:
    """Per-file byte counts as progress over the whole pack."""
    return (lambda n: progress(before + n, total)) if progress else (lambda _n: None)
