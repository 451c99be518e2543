"""Batch tagging of scene photos: one JSON per scene and one CSV summary, shared by CLI and GUI.

Bad files do not stop the batch; they are listed in the report and in the summary. Each output file is written
atomically, so a cancelled batch leaves only complete files behind.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sqlite3
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import numpy as np

from engine.advice import Context, describe, folder_problem
from engine.categories import display_name
from engine.corrections import EditableScene, Tag, UnreadableEdits, edits_for, find_saved
from engine.errors import Cancelled, DecorLensError
from engine.files import NotAFile, TooLarge, check_writable, read_json_bounded, sha256_of, write_atomic
from engine.imageio import first_of_many, read_photo, upright_size
from engine.importer import IMAGE_SUFFIXES, Progress
from engine.lookalike import sku_shown
from engine.pipeline import Pipeline
from engine.results import Match, SceneResult
from engine.scene_memory import BATCH, objects_of, remember, remember_saved, stored_path

SUMMARY = "summary.csv"
EXCEL_UTF8 = "\ufeff"  # summary.csv's first character: the byte order mark by which Excel knows UTF-8
# Beside summary.csv: what each photo of the run was tagged from, so a run again into the folder keeps what is current
RESUME = ".decorlens-resume"  # JSON, not named *.json: scripts globbing *.json read the photos' alone
RESUME_VERSION = 1
# A resume entry is a few hundred bytes a photo (its path, stem and hashes): 64 MiB holds a batch of 100,000 photos
# with long paths, and bounds what the JSON parser builds from a file planted or grown in the output folder.
RESUME_MAX_BYTES = 64 << 20
PICTURE = re.compile(rb'\bsrc="(images/[^"]+)"')  # a shoppable page's pictures, in the folder beside it
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A formula start after a semicolon, a tab or a line break: where a spreadsheet splitting on ; or tab starts a cell
AFTER_SEPARATOR = re.compile(r"(?<=[;\t\r\n])(?=[=+\-@\t\r])")
# A file name holds at most 255 bytes; a stem leaves room for "-2", ".json" and write_atomic's temp name.
STEM_MAX_BYTES = 200
SUMMARY_COLUMNS = [
    "scene", "object", "category", "label", "score", "x1", "y1", "x2", "y2", "tag_x", "tag_y",
    "rank", "sku", "name", "match_category", "match_score", "match",
    "failed",  # why a photo could not be tagged (its one row); empty on a tagged photo's rows. Added after the others.
    # The SKU as the app and the page mark one that reads as another SKU of the catalog ("⟨U+0410⟩BC-1" of a
    # Cyrillic "АBC-1" beside "ABC-1"), empty for the others: ``sku`` stays exact for scripts. Added after ``failed``,
    # so the columns before keep their places for a reader of an older summary.csv.
    "alike",
    # ``category`` and ``match_category`` as the app and the pages name them ("Plants & pots" for "plant_pot"): a
    # spreadsheet filter on the names people see found nothing. Added after ``alike``.
    "category_name", "match_category_name",
]
FAILED = SUMMARY_COLUMNS.index("failed")
CONFIRMED = "confirmed"  # the summary's ``match`` of a product the user confirmed in the app
ANOTHER = "another output folder"  # what the advice for a full or read-only output folder says to choose
Unread = Callable[[Path, OSError], None]  # told of a folder that could not be listed, and why


@dataclass
class Tagged:
    """A photo of the batch as it is written: searched, or as the user corrected it in the app (``edited``)."""

    result: SceneResult  # its tags (an edited photo's as shown in the app)
    data: dict[str, Any]  # its JSON: the search's, or the corrections file's superset of it
    sha256: str  # the content hash of the photo tagged
    edited: EditableScene | None = None
    # read back as the last run into the folder wrote it (``_kept``), not tagged: the app's time left counts the
    # photos tagged, which a resumed batch's kept ones, done in a blink, made look ten times faster
    kept: bool = False


@dataclass
class BatchReport:
    done: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    # What summary.csv lists, in batch order: each tagged photo, or a photo that could not be tagged and why
    # (also in ``failed``).
    listed: list[Tagged | tuple[Path, str]] = field(default_factory=list)
    # Photos whose outputs the last run into this folder wrote from the same photo, catalog and settings: not
    # tagged again (also in ``done`` and ``listed``).
    kept: list[Path] = field(default_factory=list)
    # RESUME's entries: photo path → its output stem, its content's sha256, the run's key (``_run_key``) and its
    # outputs' sha256 by suffix (``_written``).
    made: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Why the last run's RESUME in the output folder was not used (every photo tagged again); "" when it was, or
    # when there was none.
    resume_unused: str = ""
    # Photos tagged on the first of the pictures their file holds (an animation's frames, a TIFF's pages), in batch
    # order (``first_picture_words``): the batch tagged one frame without a word, where the app says it.
    first_of_many: list[Path] = field(default_factory=list)

    @property
    def results(self) -> list[SceneResult]:
        """The tagged photos' results, in batch order."""
        return [item.result for item in self.listed if isinstance(item, Tagged)]

    @property
    def untagged(self) -> int:
        """The photos tagged without a single tag: a lamp shop's folder of rooms holds many."""
        return len(self.untagged_photos)

    @property
    def untagged_photos(self) -> list[Path]:
        """Those photos, in batch order, as given (``done``, which is appended with each tagged line of ``listed``):
        "1 photo has no tag" said not which, among hundreds tagged."""
        return [scene for scene, result in zip(self.done, self.results, strict=True) if not result.objects]

    @property
    def looked_for(self) -> tuple[str, ...] | None:
        """The decor categories the batch tagged (``SceneResult.looked_for``); None: every one (an empty catalog)."""
        return next((r.looked_for for r in self.results if r.looked_for is not None), None)

    @property
    def unfound(self) -> tuple[str, ...]:
        """The catalog categories no detector in use finds (``SceneResult.unfound``): never tagged."""
        return next((r.unfound for r in self.results if r.looked_for is not None), ())

    @property
    def unsold(self) -> dict[str, int]:
        """Objects seen in the photos but not tagged, as the catalog sells none of their category, per category,
        most first: why a shop's folder of rooms has so few tags."""
        seen: Counter[str] = Counter()
        for result in self.results:
            seen.update(result.unsold)
        return dict(seen.most_common())

    def resume_words(self, out_dir: Path) -> str:
        """Why the last run's RESUME in ``out_dir`` was not used, in a line; "" when it was, or there was none."""
        if not self.resume_unused:
            return ""
        return f"{out_dir / RESUME} not used ({self.resume_unused}), so each photo was tagged again"

    @property
    def edited(self) -> list[Path]:
        """The photos written as the user corrected them in the app."""
        return [Path(item.result.image) for item in self.listed if isinstance(item, Tagged) and item.edited]


def first_picture_words(photo: Path) -> str:
    """What ``decorlens tag`` says of a photo in ``BatchReport.first_of_many``, in the app's words for it."""
    return f"{photo} holds more than one picture (an animation's frames or a TIFF's pages): the first was tagged"


def kept_words(count: int) -> str:
    """The photos a batch kept (``BatchReport.kept``) in the words of both the app and ``decorlens tag``: one said
    "the last batch", the other "the last run", of the same thing."""
    return f"{count:,} kept as the last batch tagged them"


def expand_scenes(inputs: Iterable[str | os.PathLike[str]], leave_out: Path | None = None,
                  unread: Unread = lambda _folder, _exc: None, cancelled: Callable[[], bool] = lambda: False,
                  ) -> list[Path]:
    """Image files from a mix of files and folders (folders are searched recursively), sorted. A folder
    named like a photo (``x.jpg/``) is searched, not listed: it was tagged as a photo and failed.

    ``leave_out`` (the output folder) and all below it is not searched when it lies inside a folder given:
    ``tag photos --out photos/tagged`` run again tagged its own page pictures and thumbnails, renamed the
    real outputs to make room for them and counted each room twice in Where used. A file named on its
    own is kept wherever it is: it was asked for. ``unread(folder, exc)`` hears of each folder that could not
    be listed, whose photos are left out; ``cancelled`` is asked at every name (``walk_photos``).
    """
    skip = leave_out.resolve() if leave_out is not None else None
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            keep = _outside(skip) if skip is not None and not item.resolve().is_relative_to(skip) else None
            found.extend(p for p in walk_photos(item, cancelled, unread) if keep is None or keep(p))
        else:
            found.append(item)
    return found


class Distinct(tuple[Path, ...]):
    """Photos ``each_once`` chose, each file once. Handed to it again (``decorlens tag`` counts the photos before
    ``tag_scenes`` tags them) they are returned as they are: each photo was looked at (``stat``) twice a run."""


def each_once(paths: Sequence[Path]) -> Distinct:
    """``paths`` with each file once, under its own name rather than a symlink's: a folder given with a subfolder
    of it, or a symlink or hard link beside the photo it names, tagged the photo again, repeated its rows in
    summary.csv, counted it twice in "tagged N photos" and wrote its JSON twice (the first renamed ``sub_…`` to
    make room for the second). A file that cannot be looked at is kept: tagging it says why it fails. Listing
    (``expand_scenes``) keeps them all: the app's strip shows what the folder holds."""
    if isinstance(paths, Distinct):
        return paths
    chosen: dict[object, int] = {}
    for n, path in enumerate(paths):
        key = _identity(path)
        if key not in chosen or (paths[chosen[key]].is_symlink() and not path.is_symlink()):
            chosen[key] = n
    return Distinct(paths[n] for n in sorted(chosen.values()))


def _identity(path: Path) -> object:
    """The file ``path`` names, however it is reached (its device and inode), or the path where it cannot be
    looked at."""
    try:
        found = path.stat()
    except OSError:
        return str(path)
    return found.st_dev, found.st_ino


def walk_photos(folder: Path, cancelled: Callable[[], bool] = lambda: False,
                unread: Unread = lambda _folder, _exc: None) -> Iterator[Path]:
    """Images below ``folder`` in the order of ``sorted(folder.rglob("*"))``: names sorted, a subfolder's photos
    where its name sorts (paths compare part by part, so ``a/b.jpg`` sorts before ``a-1.jpg``). Hidden names
    count, a symlinked folder is not entered (a link to ``..`` or ``/`` would list forever), a folder named like
    a photo is entered, not listed, and a folder that cannot be listed (unreadable, gone, its path past the
    system's limit) is passed over, told to ``unread``. ``cancelled`` is asked at every name, photo or not.

    The folders being read are a stack, not recursion: ``rglob`` and a recursive walk died of RecursionError
    in a tree 1,000 folders deep, and of "File name too long" below 4,096 bytes of path, with a traceback.
    """
    stack = [iter(_entries(folder, unread))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if cancelled():
            raise Cancelled("listing stopped")
        if _is_dir(entry) and not entry.is_symlink():
            stack.append(iter(_entries(Path(entry.path), unread)))
        elif Path(entry.name).suffix.lower() in IMAGE_SUFFIXES and not _is_dir(entry):
            yield Path(entry.path)


def _entries(folder: Path, unread: Unread) -> list[os.DirEntry[str]]:
    """``folder``'s entries sorted as ``Path`` compares names; none where it cannot be listed (told to
    ``unread``)."""
    try:
        with os.scandir(folder) as found:
            return sorted(found, key=lambda entry: os.path.normcase(entry.name))
    except OSError as exc:
        unread(folder, exc)
        return []


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # gone or unreadable since it was listed
        return False


def _outside(folder: Path) -> Callable[[Path], bool]:
    """A test of whether a found file lies outside ``folder``, resolving each file's folder once."""
    seen: dict[Path, bool] = {}

    def outside(path: Path) -> bool:
        if path.parent not in seen:
            seen[path.parent] = not path.parent.resolve().is_relative_to(folder)
        return seen[path.parent]

    return outside


def check_not_an_input(out: Path, inputs: Iterable[str | os.PathLike[str]], name: str = "the output folder") -> None:
    """Refuse an output folder that is itself a folder being tagged (``name``: how the caller's user knows it).

    Its pages' pictures (``images/``) would mix with the photos, be tagged as rooms on the next run, and
    overwrite photos of the same name kept in an ``images/`` folder of one's own. An output folder inside
    the input folder is fine: it is left out of the tagging.
    """
    for item in map(Path, inputs):
        if item.is_dir() and item.resolve() == out.resolve():
            raise DecorLensError(f"{name} {out} is the folder being tagged; save the results in a folder of their "
                                 f"own, e.g. {item / 'tagged'} (left out of the tagging)")


def check_out_dir(out_dir: Path, name: str = "the output folder", make: bool = True) -> None:
    """``out_dir`` found writable (made first if missing and ``make``), before the first photo, or a
    one-line error.

    A read-only or full folder otherwise failed at the first photo's JSON, with the OS's words about a
    long file name. ``name`` is how the caller's user knows the folder (the CLI says ``--out``). The probe
    is an unnamed temporary file: nothing is left behind. Without ``make`` (a check before minutes of
    other work, which Ctrl-C may end) the nearest existing folder above it is probed, and nothing is made.
    """
    try:
        if make:
            out_dir.mkdir(parents=True, exist_ok=True)
        probed = next((p for p in (out_dir, *out_dir.parents) if p.exists()), out_dir)
        if not probed.is_dir():
            return  # a file where a folder should be: the writes that follow name it
        with tempfile.TemporaryFile(dir=probed):
            pass
    except OSError as exc:
        problem = folder_problem(exc, f"{name} {out_dir}", ANOTHER)
        if problem is None:
            raise
        raise DecorLensError(problem) from exc


def tag_scenes(
    pipeline: Pipeline, scenes: Sequence[Path], out_dir: Path, top_k: int | None = None,
    progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False,
    on_result: Callable[[Path, str, dict[str, Any]], None] | None = None, outputs: Mapping[str, str] | None = None,
    on_photo: Callable[[Path, Tagged | tuple[Path, str]], None] | None = None,
) -> BatchReport:
    """Tag every scene, write ``<stem>.json`` per scene and ``summary.csv`` for the batch.

    A photo the last run into ``out_dir`` tagged is kept, not tagged again, while its outputs are there and what
    made them is unchanged (``_kept``): a merchandiser who stopped a batch of 2,000 photos at 1,500 and started it
    again waited for all 2,000 again. ``outputs`` names what ``on_result`` writes beside each JSON, by suffix, and
    how (``{".html": "page"}``): a run with other outputs tags every photo again.

    A photo corrected in the app is written as corrected (``engine.corrections.edits_for``), not searched
    again: a merchandiser who removed the pins on books and confirmed products there published pages of the
    detector's guesses. ``on_result(scene, stem, data)`` runs after each scene's JSON (``data``) is written, for
    outputs of one's own beside it (the shoppable HTML pages). ``on_photo(scene, line)`` gets each photo's line of
    ``listed`` (tagged, kept, or why it failed) as it is done, before ``progress``: the app marks each photo in its
    Photos strip as the batch goes, not all at its end.
    """
    check_out_dir(out_dir)
    _check_outputs_writable(out_dir)
    scenes = each_once(scenes)
    report = BatchReport()
    stems = unique_stems(scenes)
    outputs = dict(outputs or {})
    key = _run_key(pipeline, top_k, outputs)
    previous, report.resume_unused = _previous(out_dir)
    for n, (scene, stem) in enumerate(zip(scenes, stems), 1):
        if cancelled():
            _write_summary(pipeline, out_dir, report)
            raise Cancelled(f"batch cancelled after {len(report.done):,} of {len(scenes):,} photos")
        kept = _kept(pipeline, scene, stem, key, previous.get(str(scene)), out_dir, outputs)
        if kept is not None:
            report.done.append(scene)
            report.listed.append(kept)
            report.kept.append(scene)
            report.made[str(scene)] = previous[str(scene)]
        else:
            _tag_one(pipeline, scene, stem, (key, outputs), top_k, out_dir, report, on_result, len(scenes))
        if on_photo:
            on_photo(scene, report.listed[-1])
        if progress:
            progress(n, len(scenes))
    _write_summary(pipeline, out_dir, report)
    return report


def _tag_one(pipeline: Pipeline, scene: Path, stem: str, made_by: tuple[str | None, Mapping[str, str]],
             top_k: int | None, out_dir: Path, report: BatchReport,
             on_result: Callable[[Path, str, dict[str, Any]], None] | None, total: int) -> None:
    """One photo tagged and its outputs written, or its failure reported; recorded for a run again (``made``) when
    nothing about it failed. ``made_by``: the run's key and ``outputs`` (``tag_scenes``).

    A folder, FIFO or device under one of its outputs' names fails this photo alone: it stopped the whole batch, as
    a full disk does, though every other photo's outputs could be written. A write the OS refuses (a full disk, a
    folder gone) still stops it: the next photo would fail alike."""
    failures = len(report.failed)
    key, outputs = made_by
    try:
        for suffix in (".json", *outputs):  # refused before the photo is tagged, not after
            _refuse_unwritable(out_dir / f"{stem}{suffix}")
        pixels, sha256 = read_photo(scene)  # read once: its hash and pixels serve every step below
        tagged = _tag(pipeline, scene, pixels, sha256, top_k, report)
        if first_of_many(pixels):
            report.first_of_many.append(scene)
    except DecorLensError as exc:
        report.failed.append((scene, str(exc)))
        report.listed.append((scene, str(exc)))
        return
    try:
        _keep(pipeline, scene, stem, tagged, pixels, out_dir, report, on_result)
    except OSError as exc:  # the output folder is full or gone: no later scene would fare better
        raise _cut_short(pipeline, out_dir, report, total, exc) from exc
    files = _written(out_dir, stem, outputs) if key is not None and len(report.failed) == failures else None
    if files is not None:
        report.made[str(scene)] = {"stem": stem, "sha256": sha256, "key": key, "files": files}


def _run_key(pipeline: Pipeline, top_k: int | None, outputs: Mapping[str, str]) -> str | None:
    """What a photo's outputs depend on besides the photo: the catalog (which file, at which revision), the
    embedder, the settings (detectors, thresholds, device), the matches per tag and the other outputs. None
    where the embedder or catalog cannot be read: each photo then fails saying why, and none is kept."""
    try:
        parts = [RESUME_VERSION, top_k or pipeline.settings.top_k, pipeline.catalog.identity,
                 pipeline.catalog.revision, pipeline.embedder.key, repr(pipeline.settings), sorted(outputs.items())]
    except (DecorLensError, sqlite3.Error):
        return None
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _check_outputs_writable(out_dir: Path) -> None:
    """A one-line refusal, before the first photo, of a folder, FIFO or device named as the summary or RESUME in
    ``out_dir``: the batch tagged every photo and then ended in an error writing them."""
    for name in (SUMMARY, RESUME):
        _refuse_unwritable(out_dir / name)


def _refuse_unwritable(target: Path) -> None:
    """A one-line ``DecorLensError`` if ``target``, an output of the batch, is a folder, FIFO or device: "PATH: is a
    folder, not a file to write over; move it, or choose another output folder"."""
    try:
        check_writable(target)
    except NotAFile as exc:
        raise DecorLensError(f"{str(exc).removesuffix('name a file')}move it, or choose {ANOTHER}") from exc


def _previous(out_dir: Path) -> tuple[dict[str, dict[str, Any]], str]:
    """The last run's RESUME entries in ``out_dir``, and why none were read ("" when they were, or there was no such
    file): every photo is then tagged again. Only a regular file of at most ``RESUME_MAX_BYTES`` is read, opened
    non-blocking: a FIFO planted under its name blocked the batch before its first photo, deaf to Ctrl-C, and a
    ``[[[…]]]`` ended it in 'unexpected RecursionError'."""
    path = out_dir / RESUME
    if not (path.exists() or path.is_symlink()):
        return {}, ""
    try:
        data = read_json_bounded(path, RESUME_MAX_BYTES)
    except TooLarge:
        return {}, f"over {RESUME_MAX_BYTES >> 20} MB"
    except NotAFile as exc:
        return {}, str(exc).removeprefix(f"{path}: ")
    except OSError as exc:
        return {}, exc.strerror or type(exc).__name__
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past Python's recursion limit
        return {}, "not JSON as DecorLens writes it: cut short or edited"
    photos = data.get("photos") if isinstance(data, dict) and data.get("version") == RESUME_VERSION else None
    if not isinstance(photos, dict):
        return {}, f"not a version {RESUME_VERSION} resume file"
    return {k: entry for k, v in photos.items() if (entry := _entry(v)) is not None}, ""


def _entry(value: object) -> dict[str, Any] | None:
    """A RESUME entry as ``_tag_one`` writes it (``stem``, ``sha256``, ``key``: text; ``files``: text by suffix),
    with nothing else it may hold (a run keeping the photo writes it again); None: not one."""
    if not isinstance(value, dict) or not isinstance(value.get("files"), dict):
        return None
    entry = {name: value[name] for name in ("stem", "sha256", "key", "files") if name in value}
    texts = [entry.get("stem"), entry.get("sha256"), entry.get("key"), *entry["files"], *entry["files"].values()]
    return entry if all(isinstance(text, str) for text in texts) else None


def _kept(pipeline: Pipeline, scene: Path, stem: str, key: str | None, entry: dict[str, Any] | None,
          out_dir: Path, outputs: Mapping[str, str]) -> Tagged | None:
    """The photo as the last run wrote it, read back from its JSON, when that run tagged this photo's content
    under the same stem and ``key``, its outputs are the files it wrote, Where used still holds it, and the app holds no
    corrections of it (they are written as corrected, which may have changed since); else None: it is tagged
    again."""
    if key is None or entry is None or entry.get("key") != key or entry.get("stem") != stem:
        return None
    try:
        sha256 = sha256_of(scene)
        if sha256 != entry.get("sha256") or find_saved(pipeline.data_dir, sha256) is not None:
            return None
        if not _remembered(pipeline, scene, sha256):
            return None
        files = _written(out_dir, stem, outputs)
        if files is None or files != entry.get("files"):
            return None
        if ".html" in outputs and not _pictures_there(out_dir, out_dir / f"{stem}.html"):
            return None
        data = json.loads((out_dir / f"{stem}.json").read_text(encoding="utf-8"))
        # another photo's JSON, or one written at the decoded size by a DecorLens before
        if data["image"] != str(scene) or (data["width"], data["height"]) != upright_size(scene):
            return None
        return Tagged(SceneResult.from_json(data), data, sha256, kept=True)
    except (OSError, ValueError, KeyError, TypeError, RecursionError, DecorLensError):  # gone, unreadable, forged
        return None


def _pictures_there(out_dir: Path, page: Path) -> bool:
    """Whether every picture a page shows (its ``src="images/…"``) is still in ``out_dir``: with ``images/`` moved or
    cleared since, a run again kept the page, which showed empty frames, and the same command never mended it."""
    return all((out_dir / os.fsdecode(unquote_to_bytes(src.decode()))).is_file()
               for src in PICTURE.findall(page.read_bytes()))


def _written(out_dir: Path, stem: str, outputs: Mapping[str, str]) -> dict[str, str] | None:
    """The sha256 of each of a photo's outputs (its JSON and those ``outputs`` name), by suffix: a run again keeps
    the photo only while they are still these files, not ones written over them since (by hand, or by a run with
    other settings or giving the stem to another photo, ended before it could say so). None: one is missing or
    cannot be read."""
    try:
        return {suffix: sha256_of(out_dir / f"{stem}{suffix}") for suffix in (".json", *outputs)}
    except (OSError, DecorLensError):
        return None


def _remembered(pipeline: Pipeline, scene: Path, sha256: str) -> bool:
    """Whether Where used still holds the photo as tagged (``engine.scene_memory``'s ``scenes`` rows): one forgotten
    since, or replaced by a copy of it tagged under another name, is tagged again to be remembered again."""
    try:
        row = pipeline.catalog.db.execute("SELECT 1 FROM scenes WHERE path = ? AND sha256 = ?",
                                          (stored_path(scene.resolve()), sha256)).fetchone()
    except sqlite3.Error:  # no photo remembered yet: no such table
        return False
    return row is not None


def _tag(pipeline: Pipeline, scene: Path, pixels: np.ndarray, sha256: str, top_k: int | None,
         report: BatchReport) -> Tagged:
    """The photo (its ``pixels`` and content hash, from one read) as corrected in the app if it was, else searched.
    Edits that cannot be read (moved aside by ``load``) are reported, and the photo searched: its other outputs are
    still wanted."""
    try:
        edited = edits_for(pipeline, scene, pixels, sha256, top_k)
    except UnreadableEdits as exc:
        report.failed.append((scene, f"{exc}; tagged without them"))
        edited = None
    if edited is not None:
        return Tagged(edited.shown, edited.to_json(), sha256, edited)
    result = pipeline.search_scene(scene, top_k, decoded=pixels)
    return Tagged(result, result.to_json(), sha256)


def _keep(pipeline: Pipeline, scene: Path, stem: str, tagged: Tagged, pixels: np.ndarray, out_dir: Path,
          report: BatchReport, on_result: Callable[[Path, str, dict[str, Any]], None] | None) -> None:
    """A tagged scene's JSON written, the scene remembered (its boxes embedded on ``pixels``, as tagged), and
    ``on_result`` run; what fails is reported."""
    write_atomic(out_dir / f"{stem}.json", json.dumps(tagged.data, indent=2))
    report.done.append(scene)
    report.listed.append(tagged)
    try:  # Where used and Goes with learn from every tagged photo
        if tagged.edited is not None:
            remember_saved(pipeline, scene, tagged.data, decoded=pixels)
        else:
            result = tagged.result
            remember(pipeline, scene, (result.width, result.height), objects_of(result), BATCH, tagged.sha256,
                     pixels)
    except (DecorLensError, sqlite3.Error) as exc:  # a full disk or a locked catalog: the tags are written
        why = describe(exc, Context(data_dir=pipeline.data_dir)) or str(exc)
        report.failed.append((scene, f"tagged but not remembered for Where used: {why}"))
    if on_result:
        try:
            on_result(scene, stem, tagged.data)
        except DecorLensError as exc:  # e.g. a page whose photo vanished: the batch goes on
            report.failed.append((scene, str(exc)))


def _cut_short(pipeline: Pipeline, out_dir: Path, report: BatchReport, total: int, exc: OSError) -> DecorLensError:
    """The batch stopped by an output it could not write: the summary of the scenes done is written if it can
    be (the last scene's files may take more room than it), and the line says where they are."""
    reason = (folder_problem(exc, f"the output folder {out_dir}", ANOTHER)
              or describe(exc, Context(inputs=(str(out_dir),))))
    done = f"stopped after tagging {len(report.done):,} of {total:,} photos"
    try:
        _write_summary(pipeline, out_dir, report)
    except OSError:
        kept = f", whose JSON files are in {out_dir} ({SUMMARY} could not be written either)" if report.done else ""
        return DecorLensError(f"{done}{kept}: {reason}")
    return DecorLensError(f"{done}, listed in {out_dir / SUMMARY}: {reason}")


def summary_rows(result: SceneResult, edited: EditableScene | None = None,
                 alike: Collection[str] = frozenset(), names: Mapping[str, str] | None = None) -> list[list[object]]:
    """A row per match of each tag; a tag without matches gets one with empty match cells, and a photo in
    which nothing was tagged one with only its ``scene``: without it, a merchandiser reading the spreadsheet
    could not tell such a photo from one left out of the batch. ``failed`` is empty on all of them. A photo
    corrected in the app (``edited``) lists its tags as shown there: by their pin's number, a confirmed product
    first, its ``match`` "confirmed". A SKU of ``alike`` (it reads as another of the catalog's) shows marked in the
    ``alike`` column (``sku_shown``); the category columns' names come from ``names`` (the category map's)."""
    if not result.objects:
        return [[result.image] + [""] * (len(SUMMARY_COLUMNS) - 1)]
    rows: list[list[object]] = []
    for tag in _tags(result, edited):
        obj = tag.obj
        base = [result.image, tag.number, obj.category, obj.label, round(obj.score, 4), *[round(v, 1) for v in obj.box],
                *[round(v, 1) for v in obj.tag]]
        named = display_name(obj.category, names)
        for rank, (m, kind) in enumerate(_listed(tag), 1):
            marked = sku_shown(m.sku, True) if m.sku in alike else ""
            rows.append(base + [rank, m.sku, m.name, m.category, round(m.score, 4), kind, "", marked, named,
                                display_name(m.category, names)])
        if not obj.matches and not tag.confirmed:
            rows.append(base + [""] * (SUMMARY_COLUMNS.index("category_name") - len(base)) + [named, ""])
    return rows


def _listed(tag: Tag) -> list[tuple[Match, str]]:
    """A tag's products in the summary's order, each with its ``match``: the confirmed one first."""
    if tag.confirmed is None:
        return [(m, m.match) for m in tag.obj.matches]
    others = [(m, m.match) for m in tag.obj.matches if m.sku != tag.confirmed.sku]
    return [(tag.confirmed, CONFIRMED), *others]


def _tags(result: SceneResult, edited: EditableScene | None) -> list[Tag]:
    """The tags a photo's summary rows list: as corrected in the app (``edited``), else as searched."""
    return edited.visible if edited is not None else [Tag(n, obj) for n, obj in enumerate(result.objects, 1)]


def failed_row(scene: Path, reason: str) -> list[object]:
    """The one row of a photo that could not be tagged (unreadable, corrupt, too large): its ``scene`` and, in
    ``failed``, why. It had no row, so a spreadsheet did not show it was skipped. The reason is one line,
    without the photo's path it starts with (``scene`` names the photo; nothing else is added)."""
    row: list[object] = [str(scene)] + [""] * (len(SUMMARY_COLUMNS) - 1)
    row[FAILED] = " ".join(reason.removeprefix(f"{scene}: ").split())
    return row


def _write_summary(pipeline: Pipeline, out_dir: Path, report: BatchReport) -> None:
    """``summary.csv`` of the photos listed, and beside it RESUME of those a run again may keep.

    Its ``alike`` cells say which SKUs read as another of the catalog's as the catalog now says
    (``Pipeline.alike_among``, as the pages say it), not as each search did: a photo corrected in the app keeps
    the flags of its last search, and a photo kept from the last run those of that run.

    ``summary.csv`` is UTF-8 with a byte order mark (``EXCEL_UTF8``): Excel, opening a CSV by double-click, reads
    it as UTF-8 only then; without it a photo named ``Salon_été.jpg`` or a product named ``RÅDVIKEN`` read
    ``Salon_Ã©tÃ©.jpg`` and ``RÃ…DVIKEN``. LibreOffice, Google Sheets, Numbers and pandas take the mark as such;
    Python's ``csv`` reads it with ``encoding="utf-8-sig"``."""
    buffer = io.StringIO()
    buffer.write(EXCEL_UTF8)
    writer = csv.writer(buffer)
    writer.writerow(SUMMARY_COLUMNS)
    tagged = [item for item in report.listed if isinstance(item, Tagged)]
    alike = pipeline.alike_among(m.sku for item in tagged for tag in _tags(item.result, item.edited)
                                 for m, _kind in _listed(tag))
    for item in report.listed:
        rows = (summary_rows(item.result, item.edited, alike, pipeline.categories.names) if isinstance(item, Tagged)
                else [failed_row(*item)])
        writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    write_atomic(out_dir / SUMMARY, buffer.getvalue())
    write_resume(out_dir, report)


def write_resume(out_dir: Path, report: BatchReport) -> None:
    """RESUME of the photos a run again may keep (``report.made``): written with the summary, and again by a caller
    that rewrote outputs of the run since (``engine.shoppable.export_batch``)."""
    write_atomic(out_dir / RESUME, json.dumps({"version": RESUME_VERSION, "photos": report.made}))


def spreadsheet_safe(cell: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading quote, so it shows as text.

    Product names and SKUs come from feeds: ``=HYPERLINK(…)`` or ``+cmd|…`` would otherwise act when a
    merchandiser opens ``summary.csv``. A spreadsheet set to split on semicolons (as in much of Europe) or
    tabs (a CSV import's other common choice) cuts ``Lamp;=cmd|…`` into two cells, whatever the quoting, so a
    formula start after either is quoted too; and after a line break (a feed's names may hold one): such a
    spreadsheet reads the comma-quoted cell's quote as a letter, so the break ends its row and the next starts
    with the formula. Numbers we computed stay numbers.
    """
    if not isinstance(cell, str):
        return cell
    cell = AFTER_SEPARATOR.sub("'", cell)
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def unique_stems(scenes: Sequence[Path]) -> list[str]:
    """An output stem per scene, never two alike, nor two differing only in case (macOS and Windows) or in how
    an accent is encoded (macOS): ``café`` typed with one character é and ``café`` with e and a combining accent,
    as files copied from a Mac hold it, are one file name there, and the second photo's outputs overwrote the
    first's.

    The file stem, prefixed by its folder's name when two scenes share a stem; when even that clashes
    (``a/x/1.jpg`` and ``b/x/1.jpg``) a number follows, so no scene's outputs overwrite another's. A long
    stem is cut (``fit_stem``): a photo named near the 255-byte limit must not stop the batch at writing.
    """
    counts = Counter(_folded(s.stem) for s in scenes)
    used: set[str] = set()
    stems: list[str] = []
    for scene in scenes:
        stem = scene.stem if counts[_folded(scene.stem)] == 1 else f"{scene.parent.name}_{scene.stem}"
        stem = fit_stem(stem)
        candidate, n = stem, 1
        while _folded(candidate) in used:
            n += 1
            candidate = f"{stem}-{n}"
        used.add(_folded(candidate))
        stems.append(candidate)
    return stems


def _folded(stem: str) -> str:
    """``stem`` as a file system that ignores case and Unicode normalization compares it."""
    return unicodedata.normalize("NFC", stem).casefold()


def fit_stem(stem: str) -> str:
    """``stem`` cut to ``STEM_MAX_BYTES`` as the file system stores it (a character may take 4 bytes)."""
    stem = stem[:STEM_MAX_BYTES]
    while len(os.fsencode(stem)) > STEM_MAX_BYTES:
        stem = stem[:-1]
    return stem
