"""A whole catalog as one file: export on the machine that built it, import on many others.

A bundle (``.dlcat``) is a zip archive::

    manifest.json        format, versions, embedder keys and vector counts, every member's size and sha256
    catalog.sqlite       a consistent snapshot (sqlite3 backup API), single-file journal mode,
                         image paths rewritten to ``images/<sha256>.<ext>``
    images/…             the product images, named by content hash (deduplicated, verified on import)
    categories.yaml      the store's category map, when its data dir has one
    maps/…               each embedder's catalog map when its cache is current (``engine.bundle_map``), so
                         a shop shows the map made at HQ without computing it

Product images travel inside the bundle by default. A store shipping one catalog to many tills and
laptops cannot rely on the paths of the machine that imported it (a NAS path, ``C:\\Users\\…``, a
download cache), the GUI shows product pictures from those paths, and a machine whose embedder
differs can only re-embed from the pictures. Content-hash names make the copy deduplicated and
verifiable. ``include_images=False`` keeps the original paths instead, for sites where every machine
sees the same shared folder; importing such a bundle needs that folder named (``images_from``), and
every path must lie inside it.

A bundle is untrusted input (it may come from anyone): ``engine.bundle_archive`` checks the archive
(caps, names, links, checksums) and ``engine.bundle_rows`` copies its database row by row into a fresh
catalog of this machine's schema. An imported product's image is either a file that came in the
bundle, now in ``<data dir>/catalog-images``, or a regular, decodable image inside a folder the user
named; never any other local file, so nothing exported later can carry a file the user did not import.
No index file of a bundle is ever loaded: the index is rebuilt here from the imported vectors (older
bundles carried one; it is skipped).

Import replaces the catalog of a data dir and never leaves it half-replaced: the bundle is unpacked
and checked in a staging folder inside the data dir, images are added (content-addressed, so adding
is harmless; taken back if the bundle is refused before the commit point), then the old index is
moved aside, the new database replaces the old in one ``os.replace`` (the commit point), and the new
index is moved in. A crash at any moment leaves the old or the new database with a matching index or
none (which the engine rebuilds from stored vectors), never a mismatched one. The previous database is
backed up first (``engine.backups``: ``catalog restore`` lists and restores it), and so is a local
``categories.yaml`` that the bundle's replaces (it may hold hand edits; it is copied back by hand).

A bundle embedded with another model than this machine's is refused with a message naming both,
unless ``re_embed`` is asked for: then the missing vectors are computed here before the swap.

An export of a large catalog (a million products, each with a picture) takes minutes, so it names each step as it
starts (``EXPORT_STEPS``), counts within it, and stops between two parts of any step when cancelled: the snapshot
copies its pages a batch at a time, the pictures go one by one, SQLite's own work (compacting the copy) is
interrupted. Cancelled, it raises ``Cancelled`` and leaves nothing: the temporary folder and the ``.part`` file go.

An import takes as long (every picture is decoded to be checked), and does the same with ``IMPORT_STEPS``: it stops
between two megabytes unpacked, two products checked, two pictures moved in, two chunks re-embedded, and while the
index is built (SQLite's reading of the vectors is interrupted). Cancelled, it leaves the data dir as it was: the
staging folder goes, the pictures it moved in are taken back. The last step (``REPLACING``: the old catalog backed
up, the new one swapped in) is never stopped: a backup taken and then thrown away could have pushed an older one out
of the newest five, and the swap itself is the commit point.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image

from engine.advice import sqlite_full
from engine.backups import BEFORE_RESTORE, KEEP, back_up_file, list_backups, read_only, set_aside, take_backup
from engine.bundle_archive import (
    CATALOG,
    CATEGORIES,
    FORMAT,
    FORMAT_VERSION,
    MAX_IMAGE_BYTES,
    BundleArchive,
    Staged,
)
from engine.bundle_map import adopt_map, export_maps, install_map, member_name
from engine.bundle_rows import ImagePath, copy_catalog
from engine.catalog import IDENTITY, SCHEMA, Catalog, columns_added_since, is_damage
from engine.categories import CategoryMap
from engine.errors import Cancelled, CatalogError, DecorLensError, ImageError
from engine.files import (
    MAX_YAML_BYTES,
    NotAFile,
    create_anew,
    exclusive,
    open_regular,
    replace_atomically,
    sha256_of,
)
from engine.imageio import IMAGE_SUFFIXES, OPENERS, READABLE, load_image
from engine.importer import Matcher, Progress, embed_missing
from engine.index import CatalogIndex
from engine.paths import refuse_overwrite, wide_folder
from engine.remedies import IMAGES_FROM
from engine.words import counted

SUFFIX = ".dlcat"
CATALOG_FILE = CATALOG
IMAGES_DIR = "catalog-images"  # inside the data dir: images that came with a bundle
CATEGORIES_FILE = CATEGORIES
STAGING_PREFIX = ".bundle-import-"
# The catalog schema a bundle's database is written at: the oldest that holds all a bundle carries. Schema 2's
# products.source names this machine's feeds, which no import reads (a bundle's products come from no feed here), and
# schema 3's keys (``engine.catalog.KEYS``) the importing DecorLens works out itself, so bundles stay at schema 1
# and readable by the DecorLens versions before it (``_at_bundle_schema``).
BUNDLE_SCHEMA = 1
# Held by a running import; STAGING_PREFIX folders are then no leftovers. A second import at once took the
# first one's staging folder for a killed import's leftover and deleted it: the first then refused its
# bundle as broken, and taking back the images it had added could leave the second's catalog without them.
IMPORT_LOCK = ".bundle-import.lock"
CHECK_SIDE = 256  # images are checked by decoding them this small (JPEG draft mode keeps it cheap)

Log = Callable[[str], None]

# The steps of an export, as it names them when each starts; each counts in its own unit.
COPYING = "copying the catalog"  # the snapshot: SQLite pages
CHECKING = "checking the pictures"  # every product's picture: found (looked up, not read)
WRITING = "writing the pictures"  # every distinct picture file: read once, hashed, written into the bundle
PACKING = "packing the catalog"  # compacting the copy, then writing it into the bundle: megabytes
# The pictures go before the catalog: the catalog names each by the sha256 of the bytes shipped, known only once
# read, and each is read once (checked and written from the same bytes).
EXPORT_STEPS = (COPYING, CHECKING, WRITING, PACKING)
SNAPSHOT_PAGES = 2048  # pages the snapshot copies between two reports (8 MB of 4 KB pages)
REPORTS = 500  # counts a step reports at most: a million queued reports flooded the app's event loop
SQLITE_OPS = 100_000  # virtual machine steps between two looks at the Cancel button while SQLite compacts
MB = 1 << 20
EXPORT_CANCELLED = "export cancelled; no bundle was written"

# The steps of an import, as it names them when each starts; CHECKING (every product with its picture) is the export's.
UNPACKING = "unpacking the bundle"  # every member written out and checked against the manifest: megabytes
ADDING = "adding the pictures"  # the checked pictures moved into the data dir's picture folder
EMBEDDING = "computing vectors"  # a bundle of another embedder only (re_embed): products
INDEXING = "building the index"  # from the imported vectors: not counted, but stoppable
REPLACING = "replacing the catalog"  # the old one backed up, the new one swapped in: never stopped
IMPORT_STEPS = (UNPACKING, CHECKING, ADDING, EMBEDDING, INDEXING, REPLACING)
IMPORT_CANCELLED = "import cancelled; the catalog is unchanged"


@dataclass
class BundleInfo:
    """What a bundle holds (its manifest), as exported or as read back."""

    path: Path
    manifest: dict[str, Any]

    @property
    def products(self) -> int:
        return int(self.manifest["products"])

    @property
    def embedders(self) -> dict[str, int]:
        return dict(self.manifest["embedders"])

    def summary(self, whole_path: bool = False) -> str:
        """One line of what the bundle holds, opening with its file's name (``whole_path``: its path, for an
        export, whose file is not always the one named: ``shop/`` writes ``shop/<data dir>.dlcat``)."""
        m = self.manifest
        size = self.path.stat().st_size / 1e6 if self.path.exists() else 0.0
        vectors = ", ".join(f"{one_line(k)} ({n:,})" for k, n in m["embedders"].items()) or "none"
        images = (f"{counted(m.get('image_files', 0), 'image')} inside" if m["images"] == "embedded"
                  else "images by original path")
        maps = f", catalog map of {one_line(', '.join(m['maps']))}" if m.get("maps") else ""
        return (
            f"{self.path if whole_path else self.path.name}: {counted(m['products'], 'product')} in "
            f"{counted(len(m['categories']), 'category', 'categories')}, {images}, "
            f"vectors {vectors}{maps}, {size:.1f} MB, made {one_line(m.get('created', '?'))} by DecorLens "
            f"{one_line(m.get('decorlens', '?'))}"
        )


# What str.splitlines breaks a line at (a terminal, a log or a Qt label breaks at some of them), shown as "\\u000a".
_LINE_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(text: str) -> str:
    """A manifest's text as part of one line, its line breaks shown as ``\\u000a``: a bundle is a stranger's file,
    and a newline in the date or an embedder's name it gives printed a line of its own under `bundle info` (a
    forged "imported" line), or split the one-line refusal of a bundle of another embedder."""
    return text.translate(_LINE_BREAKS)


@dataclass
class ImportResult:
    products: int
    embedder: str
    re_embedded: int = 0
    images_added: int = 0
    missing_images: int = 0
    previous: Path | None = None  # the backup of the catalog it replaced
    damaged: Path | None = None  # the damaged catalog it replaced, set aside (no backup can be taken of it)
    categories_replaced: bool = False  # the bundle's category map differs from the one here and replaced it
    categories_kept: Path | None = None  # the backup of that local map
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        text = f"imported {self.products:,} products (vectors {self.embedder})"
        if self.re_embedded:
            text += f", re-embedded {self.re_embedded:,} here"
        if self.images_added:
            text += f", {self.images_added:,} images added"
        if self.missing_images:
            text += f", {counted(self.missing_images, 'image')} missing"
        text += f" in {self.seconds:.1f} s"
        if self.previous:
            text += f"; previous catalog backed up as {self.previous.name} (`decorlens catalog restore` lists it)"
        if self.damaged:
            text += f"; the damaged catalog it replaced is kept as {self.damaged.name}"
        if self.categories_kept:
            text += f"; categories.yaml replaced by the bundle's, the previous one kept as {self.categories_kept}"
        elif self.categories_replaced:
            text += "; categories.yaml is the bundle's"
        return text


# -- export -----------------------------------------------------------------------------------


@dataclass
class _Report:
    """How an export or an import says where it is: ``step`` names each step as it starts (one of ``EXPORT_STEPS``
    or ``IMPORT_STEPS``), ``progress`` counts within it, and ``check`` raises ``Cancelled`` (in the words ``stopped``)
    once ``cancelled`` says so."""

    step: Log
    progress: Progress
    cancelled: Callable[[], bool]
    stopped: str = EXPORT_CANCELLED
    last: tuple[int, int] = (0, 0)  # the count reported last

    def begin(self, name: str) -> None:
        self.last = (0, 0)
        self.step(name)

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled(self.stopped)

    def count(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` (at most ``REPORTS`` times a step, and always its end; nothing while the total
        is unknown, as while the snapshot waits for a writer; never the same count twice); then ``check``."""
        if total and (done == total or done % max(1, total // REPORTS) == 0) and (done, total) != self.last:
            self.last = (done, total)
            self.progress(done, total)
        self.check()

    def megabytes(self, done: int, total: int) -> None:
        """``count`` of bytes, in megabytes begun: many small pictures fall in one, reported once."""
        self.count(-(-done // MB), -(-total // MB))


def export_bundle(
    data_dir: Path,
    out: Path,
    include_images: bool = True,
    log: Log = lambda _msg: None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    step: Log = lambda _step: None,
) -> BundleInfo:
    """Write the catalog of ``data_dir`` (database, images, category map) to ``out``.

    The live database is only read (through the sqlite3 backup API, so a running app may keep
    using it); ``out`` appears complete or not at all. No index travels: the importer rebuilds it.
    ``step`` is told each of ``EXPORT_STEPS`` as it starts and ``progress`` how far it is; ``cancelled`` is
    asked between its parts, and ends the export with ``Cancelled``, nothing written.
    """
    report = _Report(step, progress or (lambda _done, _total: None), cancelled)
    data_dir = Path(data_dir)
    source = data_dir / CATALOG_FILE
    if not source.is_file():
        raise CatalogError(f"no catalog in {data_dir} to export (import products first)")
    out = _bundle_path(Path(out), data_dir)
    refuse_overwrite(out, data_dir, SUFFIX, "bundle")
    made = _make_folders(out.parent)  # now: a folder that cannot be made says so before minutes of work
    try:
        manifest = _export(data_dir, out, include_images, log, report)
    except BaseException:  # cancelled or refused: no folder of ours is left behind either
        for folder in made:
            with contextlib.suppress(OSError):  # only while empty
                folder.rmdir()
        raise
    return BundleInfo(out, manifest)  # the caller reports its summary (logged here too, it showed twice)


def _export(data_dir: Path, out: Path, include_images: bool, log: Log, report: _Report) -> dict[str, Any]:
    """The bundle prepared in a temporary folder and written to ``out`` through ``out.part``; its manifest."""
    with tempfile.TemporaryDirectory(prefix="decorlens-export-") as tmp:
        stage = Path(tmp)
        part = out.with_name(out.name + ".part")
        try:
            with create_anew(part) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
                manifest = _stage(data_dir, stage, zf, include_images, log, report)
            replace_atomically(part, out)
        except sqlite3.OperationalError as exc:
            if not sqlite_full(exc):
                raise
            raise CatalogError(  # SQLite's own line blamed the catalog, which is only read
                f"no space left in {stage.parent} to prepare the bundle (the catalog is untouched); free some "
                "disk space there, or set TMPDIR to a folder with room, and export again"
            ) from exc
        finally:
            part.unlink(missing_ok=True)
    return manifest


def _make_folders(folder: Path) -> list[Path]:
    """``folder.mkdir(parents=True)``; the folders it made, deepest first, to take back if the export stops."""
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _bundle_path(out: Path, data_dir: Path) -> Path:
    """The file to write: ``out`` with the bundle suffix if it has none; an existing folder gets the bundle inside,
    named after the data dir (``shop/`` → ``shop/<data dir>.dlcat``), as copying a file into a folder does.
    The suffix was added to the folder's name before, and the bundle landed beside the folder."""
    if out.is_dir():
        return out / f"{data_dir.resolve().name or 'catalog'}{SUFFIX}"
    return out.with_suffix(SUFFIX) if out.suffix == "" else out


def _stage(
    data_dir: Path, stage: Path, zf: zipfile.ZipFile, include_images: bool, log: Log, report: _Report
) -> dict[str, Any]:
    """The bundle written into ``zf``: the pictures first, each read once, then the catalog (whose image paths
    name the pictures by the hash of the bytes shipped), its companions and the manifest; the manifest."""
    db_path = stage / CATALOG_FILE
    report.begin(COPYING)
    _snapshot(data_dir / CATALOG_FILE, db_path, report)
    _strip_foreign(db_path)
    _at_bundle_schema(db_path)
    report.begin(CHECKING)
    pictures = _find_pictures(db_path, report)
    images: dict[str, int] = {}
    stale: list[str] = []
    if include_images and pictures:
        report.begin(WRITING)
        images, stale = _write_pictures(zf, pictures, db_path, report)
        if stale:
            log(f"{len(stale):,} product images changed on disk since they were imported; their vectors "
                "describe the old pictures (re-import the catalog to refresh them)")
    report.begin(PACKING)
    _finalise_db(db_path, report)
    members = {CATALOG_FILE: db_path}
    if (held := _map_here(data_dir / CATEGORIES_FILE, "export again")) is not None:
        (stage / CATEGORIES_FILE).write_bytes(held)
        members[CATEGORIES_FILE] = stage / CATEGORIES_FILE
    maps = export_maps(data_dir, db_path, stage)
    members.update({member_name(path): path for path in maps.values()})
    listing = _listing(members, images)
    manifest = _manifest(db_path, include_images, images, len(stale), listing[CATALOG_FILE]["sha256"])
    manifest["categories_file"] = CATEGORIES_FILE in members
    manifest["maps"] = {key: member_name(path) for key, path in maps.items()}
    manifest["files"] = listing
    _write_members(zf, members, report)
    zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def _snapshot(source: Path, target: Path, report: _Report) -> None:
    """A consistent copy of a live database, even mid-write by another process (SQLite then copies again)."""
    try:  # closed on failure too: an open copy kept its file (and a full disk's space) until collected
        # The catalog is only read; a writer elsewhere just makes it wait: the backup tries again every 250 ms
        # for as long as the catalog is locked, and asks ``count`` each time, so Cancel works meanwhile (with a
        # 30 s busy timeout, it was not asked for the first 30 s). Copied a batch of pages at a time, to count
        # them and to stop between two (Cancelled, raised by ``count``, ends the backup).
        with contextlib.closing(sqlite3.connect(source, timeout=1)) as src, \
                contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst, pages=SNAPSHOT_PAGES,
                       progress=lambda _status, left, total: report.count(total - left, total))
            version = dst.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        if sqlite_full(exc):  # the copy's disk, not the catalog: export_bundle says so
            raise
        raise CatalogError(f"catalog {source} cannot be read for export: {exc}") from exc
    if version is None:
        raise CatalogError(f"{source} is not a DecorLens catalog (no schema version)")


@dataclass
class _Picture:
    """One picture file of the catalog: the products showing it (id: sku, and the sha256 each was imported with),
    and, once read, the sha256 of the bytes shipped."""

    skus: dict[int, str] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)
    digest: str = ""


def _find_pictures(db_path: Path, report: _Report) -> dict[str, _Picture]:
    """Every product's picture file, found (``CHECKING``, product by product): {path: its products}. Only looked
    up, not read: ``_write_pictures`` reads each once. A missing one refuses the export before any is read."""
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        rows = db.execute("SELECT id, sku, image_path, image_hash FROM products ORDER BY id").fetchall()
    pictures: dict[str, _Picture] = {}
    missing: list[str] = []
    for done, (pid, sku, image_path, image_hash) in enumerate(rows):
        report.count(done, len(rows))  # counted before it: a row may ``continue``
        if not Path(image_path).is_file():
            missing.append(f"{sku}: {image_path}")
            continue
        picture = pictures.setdefault(image_path, _Picture())
        picture.skus[pid] = sku
        picture.hashes[pid] = image_hash
    report.count(len(rows), len(rows))
    _refuse_missing(missing)
    return pictures


def _refuse_missing(missing: list[str]) -> None:
    if missing:
        shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
        raise CatalogError(
            f"{len(missing):,} product images cannot be read ({shown}); re-import or remove those products, "
            "then export again"
        )


def _write_pictures(
    zf: zipfile.ZipFile, pictures: dict[str, _Picture], db_path: Path, report: _Report
) -> tuple[dict[str, int], list[str]]:
    """Each picture file read once and written into the bundle (``WRITING``, file by file) from those very bytes,
    named by their sha256: the bundle ships the bytes it checked, however the file changes meanwhile. Before, each
    was read twice (hashed, then zipped and hashed again), doubling an export's reads of a network share.

    Bytes unlike the ones imported (a path in a shared folder now naming another file, a symlink retargeted at a
    key file, say) go only if they decode as a picture; the others refuse the export. The staged catalog's image
    paths are rewritten to the names shipped. Returns {archive name: size} and the skus of changed pictures."""
    images: dict[str, int] = {}
    stale: list[str] = []
    missing: list[str] = []
    updates: list[tuple[str, int]] = []
    for done, (image_path, picture) in enumerate(pictures.items(), 1):
        changed_skus = []
        try:
            data = _read_picture(Path(image_path))
            picture.digest = hashlib.sha256(data).hexdigest()
            changed_skus = [sku for pid, sku in picture.skus.items() if picture.hashes[pid] != picture.digest]
            _check_header(data, image_path)
            if changed_skus:
                _check_bytes(data, db_path.with_name(f"changed-{picture.digest}"))
        except DecorLensError as exc:  # unreadable, or read but no longer a picture
            why = " (changed since its import)" if changed_skus else ""
            missing.extend(f"{sku}: {exc}{why}" for sku in changed_skus or picture.skus.values())
        else:
            stale.extend(changed_skus)
            suffix = Path(image_path).suffix.lower()  # a feed's local path may end in anything ("photo.jpg.bak")
            name = f"images/{picture.digest}{suffix if suffix in IMAGE_SUFFIXES else ''}"
            if name not in images:  # JPEG/PNG/WebP are compressed already
                zf.writestr(name, data, compress_type=zipfile.ZIP_STORED)
                images[name] = len(data)
            updates.extend((name, pid) for pid in picture.skus)
        report.count(done, len(pictures))
    _refuse_missing(missing)
    with contextlib.closing(sqlite3.connect(db_path)) as db, db:
        db.executemany("UPDATE products SET image_path = ? WHERE id = ?", updates)
    return images, stale


def _read_picture(path: Path) -> bytes:
    """The bytes of a regular file (ImageError as one line): a FIFO or device put in a picture's place is not read,
    nor more than a bundle's picture may hold (the path may now name any file: it is read into memory)."""
    try:
        with open_regular(path) as fh:
            data = fh.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise ImageError(f"{path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"{path}: larger than {MAX_IMAGE_BYTES >> 20} MB, more than a bundle's picture may be")
    return data


def _check_header(data: bytes, image_path: str) -> None:
    """``data`` opens as one of the formats DecorLens reads (ImageError otherwise), by its header only, so every
    picture is checked cheaply: a catalog edited by hand can name any file (/etc/passwd, a key) with that file's
    own hash as ``image_hash``, and the changed-bytes check alone then shipped it in the bundle."""
    try:
        with Image.open(io.BytesIO(data), formats=OPENERS):
            return
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{image_path}: not an image ({READABLE} only)") from exc


def _check_bytes(data: bytes, copy: Path) -> None:
    """``data`` decodes as a picture (ImageError otherwise): decoded from a copy, never from its path again."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(data)
    try:
        load_image(copy, max_side=CHECK_SIDE)
    finally:
        copy.unlink(missing_ok=True)


def _vector_dim(catalog: Catalog, key: str) -> int:
    row = catalog.db.execute("SELECT vector FROM vectors WHERE embedder = ? LIMIT 1", (key,)).fetchone()
    return len(row[0]) // 4 if row else 0


def _strip_foreign(db_path: Path) -> None:
    """Drop from the snapshot every object the catalog schema does not define, before anything writes to it.

    A catalog imported by an older DecorLens may hold a trigger a hostile bundle planted; dropped
    here, it neither fires on the export's own path rewriting nor travels on in the bundle.
    """
    known = sqlite3.connect(":memory:")
    known.executescript(SCHEMA)
    names = {name for (name,) in known.execute("SELECT name FROM sqlite_master")}
    known.close()
    db = sqlite3.connect(db_path)
    foreign = db.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND type IN "
                         "('trigger', 'view', 'index', 'table') ORDER BY type = 'table'").fetchall()
    for kind, name in foreign:
        if name not in names:
            db.execute(f'DROP {kind.upper()} IF EXISTS "{name.replace(chr(34), chr(34) * 2)}"')
    db.commit()
    db.execute("PRAGMA user_version = 0")
    db.close()


def _at_bundle_schema(db_path: Path) -> None:
    """Write the snapshot at ``BUNDLE_SCHEMA``: the columns later schemas added (``columns_added_since``) and their
    indexes dropped. Every bundle was written at this machine's schema, so once schema 2 came the store tills
    still on an earlier DecorLens refused each bundle HQ exported ("catalog schema 2 is newer than this
    DecorLens"), for a column no import reads."""
    with contextlib.closing(sqlite3.connect(db_path)) as db, db:
        for table, added in columns_added_since(BUNDLE_SCHEMA).items():
            present = added & {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for (index,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND "
                                       "sql IS NOT NULL", (table,)).fetchall():
                if present & {row[2] for row in db.execute(f'PRAGMA index_info("{index}")')}:
                    db.execute(f'DROP INDEX "{index}"')
            for column in sorted(present):
                db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("UPDATE schema_version SET version = ?", (BUNDLE_SCHEMA,))


def _finalise_db(db_path: Path, report: _Report) -> None:
    """One self-contained file: no WAL beside it, free pages dropped. VACUUM rewrites the whole copy (a minute for
    gigabytes), so SQLite looks at ``report.cancelled`` as it goes, and stops there."""
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        db.set_progress_handler(report.cancelled, SQLITE_OPS)  # true: SQLite stops, "interrupted"
        try:
            db.execute("PRAGMA journal_mode = DELETE")
            db.execute("VACUUM")
        except sqlite3.OperationalError as exc:
            if report.cancelled():  # SQLite's "interrupted"
                raise Cancelled(EXPORT_CANCELLED) from exc
            raise


def _manifest(
    db_path: Path, include_images: bool, images: dict[str, int], stale: int, catalog_sha256: str
) -> dict[str, Any]:
    import hnswlib  # noqa: F401 - its presence is what matters; it has no __version__
    import numpy
    import onnxruntime

    from engine import __version__

    db = sqlite3.connect(db_path)
    try:
        categories = dict(db.execute("SELECT category, COUNT(*) FROM products GROUP BY category ORDER BY category"))
        embedders = dict(db.execute("SELECT embedder, COUNT(*) FROM vectors GROUP BY embedder ORDER BY embedder"))
        products = db.execute("SELECT COUNT(*) FROM products").fetchone()[0]
        revision = int(db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])
        schema = db.execute("SELECT version FROM schema_version").fetchone()[0]
    finally:
        db.close()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "decorlens": __version__,
        "schema_version": schema,
        "revision": revision,
        "products": products,
        "categories": categories,
        "embedders": embedders,
        "images": "embedded" if include_images else "external",
        "image_files": len(images),
        "stale_images": stale,
        "catalog_sha256": catalog_sha256,  # what importers before the "files" listing check
        "versions": {"numpy": numpy.__version__, "onnxruntime": onnxruntime.__version__},
    }


def _listing(members: dict[str, Path], images: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Every member but the manifest with its size and sha256: the importer refuses anything else. A picture's
    are those of the bytes shipped (its name is their sha256), not of its file, which may have changed since."""
    listing = {name: {"size": path.stat().st_size, "sha256": sha256_of(path)} for name, path in members.items()}
    for name, size in images.items():
        listing[name] = {"size": size, "sha256": PurePosixPath(name).stem}
    return listing


def _write_members(zf: zipfile.ZipFile, members: dict[str, Path], report: _Report) -> None:
    """``zf.write`` of each member a megabyte at a time, counted in megabytes and stoppable: the catalog of a
    large store is gigabytes, deflated for minutes."""
    infos = [zipfile.ZipInfo.from_file(path, name) for name, path in members.items()]
    total = -(-sum(info.file_size for info in infos) // MB)
    done = 0
    for info, path in zip(infos, members.values(), strict=True):
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as src, zf.open(info, "w") as dst:
            for chunk in iter(lambda src=src: src.read(MB), b""):
                dst.write(chunk)
                done += len(chunk)
                report.count(min(-(-done // MB), total), total)


# -- reading ----------------------------------------------------------------------------------


def read_bundle(path: Path) -> BundleInfo:
    """The manifest of a bundle, checked for format, version and field types (nothing is unpacked)."""
    with BundleArchive(Path(path)) as archive:
        return BundleInfo(archive.path, archive.manifest)


# -- import -----------------------------------------------------------------------------------


def import_bundle(
    bundle: Path,
    data_dir: Path,
    embedder: Matcher | None = None,
    re_embed: bool = False,
    progress: Progress | None = None,
    log: Log = lambda _msg: None,
    images_from: Sequence[Path] = (),
    cancelled: Callable[[], bool] = lambda: False,
    step: Log = lambda _step: None,
) -> ImportResult:
    """Replace the catalog of ``data_dir`` by the bundle's, atomically.

    ``embedder`` is this machine's (its ``key`` names the exact weights): a bundle without vectors
    for it is refused, or re-embedded here when ``re_embed``. ``images_from`` names the folders a
    bundle exported without images may point into (its images are checked there; paths elsewhere
    are refused). ``step`` is told each of ``IMPORT_STEPS`` it takes as it starts and ``progress`` how far it
    is; ``cancelled`` is asked between the parts of every step but ``REPLACING`` (the app's Cancel, Ctrl-C: many
    minutes for a large catalog), and raises ``Cancelled`` with the catalog and the data dir as they were. Run it
    while no pipeline in this process holds ``data_dir`` open (``Pipeline.catalog_released``), and no other
    process either.
    """
    report = _Report(step, progress or (lambda _done, _total: None), cancelled, IMPORT_CANCELLED)
    start = time.perf_counter()
    bundle, data_dir = Path(bundle), Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    _check_image_folders(images_from, data_dir)
    busy = CatalogError(f"another bundle import into {data_dir} is running; let it finish, then import again")
    with exclusive(data_dir / IMPORT_LOCK, busy):
        _remove_leftovers(data_dir)
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=data_dir))
        try:
            with BundleArchive(bundle) as archive:
                manifest = archive.manifest
                key = _check_embedder(manifest, embedder, re_embed, images_from, bundle)
                report.begin(UNPACKING)
                staged = archive.unpack(stage, report.megabytes)
            result = _install(stage, staged, data_dir, manifest, embedder, key, re_embed, images_from, log, report)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    result.seconds = time.perf_counter() - start
    return result  # the caller reports result.summary()


def _check_embedder(
    manifest: dict[str, Any], embedder: Matcher | None, re_embed: bool, images_from: Sequence[Path], bundle: Path
) -> str:
    external = manifest["images"] != "embedded"
    if external and not images_from:
        raise CatalogError(
            f"{bundle.name} keeps its product images at the paths of the machine that exported it; name the "
            "shared folder they must be in with --images-from DIR (paths outside it are refused)"
        )
    shipped = manifest["embedders"]
    if embedder is None:
        return next(iter(shipped), "")
    if embedder.key in shipped:
        return embedder.key
    have = one_line(", ".join(shipped)) or "none"
    if not re_embed:
        raise CatalogError(
            f"{bundle.name} was embedded with {have}, not this machine's embedder ({embedder.key}): install "
            f"that model here, or import with --re-embed to compute {manifest['products']} vectors here"
        )
    return embedder.key


def _install(
    stage: Path, staged: Staged, data_dir: Path, manifest: dict[str, Any], embedder: Matcher | None, key: str,
    re_embed: bool, images_from: Sequence[Path], log: Log, report: _Report,
) -> ImportResult:
    """The bundle's catalog built in ``stage`` (products and pictures checked, pictures added, vectors computed
    when ``re_embed``, the index built), then swapped in; the pictures added are taken back if it stops before the
    swap."""
    result = ImportResult(products=0, embedder=key)
    # everything is checked and built in the staging folder before anything is replaced
    if staged.categories is not None:
        _check_categories(staged.categories)
    adopt: dict[Path, Path] = {}
    if manifest["images"] == "embedded":
        resolve = _bundled_images(staged, data_dir / IMAGES_DIR, adopt)
    else:
        resolve = _external_images(images_from, result)
    db_path = stage / CATALOG_FILE
    added: list[Path] = []
    try:
        with Catalog(db_path) as catalog:
            report.begin(CHECKING)
            ids = copy_catalog(staged.catalog, catalog, _counted(resolve, report, manifest["products"]))
            result.products = len(ids)
            _check_claims(manifest, catalog)
            report.count(result.products, result.products)
            _adopt_images(adopt, data_dir / IMAGES_DIR, result, added, report)
            if re_embed and embedder is not None:
                report.begin(EMBEDDING)
                result.re_embedded = embed_missing(catalog, embedder, report.count, report.cancelled)
                if result.re_embedded < result.products:
                    result.warnings.append(_not_embedded(result.products - result.re_embedded, embedder.key))
            _build_index(catalog, stage / "index", key, embedder, log, report)
            maps = manifest.get("maps", {})
            adopted = adopt_map(staged.maps, maps, catalog, key, ids, stage / "adopted", log)
        if result.missing_images:
            result.warnings.append(f"{result.missing_images} product images are not in the named folders "
                                   "on this machine")
        for leftover in (db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
            if leftover.exists() and leftover.stat().st_size:
                raise CatalogError(f"could not finish writing {db_path.name} in the staging folder")
            leftover.unlink(missing_ok=True)
        report.check()  # the last time: what follows backs up the old catalog and swaps the new one in
        report.begin(REPLACING)
        _keep_categories(staged.categories, data_dir, result)
        _swap(stage, data_dir, result)
    except BaseException:
        if db_path.exists():  # still staged: refused before the commit point, so no catalog refers to them
            _withdraw_images(added, data_dir / IMAGES_DIR)
        raise
    # after the commit point: the store's category map, the catalog map, and images no longer referenced
    if adopted is not None:
        install_map(adopted, data_dir)
    if staged.categories is not None and result.categories_replaced:
        os.replace(staged.categories, data_dir / CATEGORIES_FILE)
    if manifest["images"] == "embedded":
        _remove_unreferenced(data_dir / CATALOG_FILE, data_dir / IMAGES_DIR)
    return result


def _check_claims(manifest: dict[str, Any], catalog: Catalog) -> None:
    """Refuse a bundle whose manifest counts other products, categories or vectors than its database holds.

    ``bundle info`` and the app's question before an import show the manifest's counts (the database is inside
    the archive, up to gigabytes, and SQLite reads only a file): a damaged or forged bundle claiming 1,955
    products in 30 categories while holding 3 is refused here, before anything is replaced."""
    claims = [("products", manifest["products"], catalog.count())]
    for what, claimed, held in (("products in category", manifest["categories"], catalog.category_counts()),
                                ("vectors of", manifest["embedders"], catalog.embedders())):
        claims += [(f"{what} {name!r}", claimed.get(name, 0), held.get(name, 0)) for name in sorted({*claimed, *held})]
    for what, claimed, held in claims:
        if claimed != held:
            raise CatalogError(f"the bundle's manifest lists {claimed:,} {one_line(what)}, its database {held:,}; "
                               "the bundle is inconsistent, refusing it")


def _bundled_images(staged: Staged, images_dir: Path, adopt: dict[Path, Path]) -> ImagePath:
    """Image paths for products of a bundle with images: only files that came in it, checked as images.

    Referenced images are collected in ``adopt`` (target: staged file) and moved in only once every row
    passed; unreferenced ones are never adopted.
    """

    def resolve(sku: str, path: str) -> str:
        source = staged.images.get(path)
        if source is None:
            raise CatalogError(f"product {sku!r}: its image {path!r} is not a file in the bundle; refusing the bundle")
        target = images_dir / source.name
        if target not in adopt:
            _check_image(source, path)
            adopt[target] = source
        return str(target)

    return resolve


def _counted(resolve: ImagePath, report: _Report, total: int) -> ImagePath:
    """``resolve``, counting the products (``total`` as the manifest lists them) and stopping between two when
    cancelled: checking each picture is most of an import's time."""
    done = 0

    def each(sku: str, path: str) -> str:
        nonlocal done
        report.count(min(done, total), total)  # counted before it, as the export counts
        done += 1
        return resolve(sku, path)

    return each


def _adopt_images(
    adopt: dict[Path, Path], images_dir: Path, result: ImportResult, added: list[Path], report: _Report
) -> None:
    """Move checked images in (``ADDING``, one by one): content-addressed, so adding them changes nothing for the
    current catalog. Each file added goes into ``added`` as it is, for ``_withdraw_images`` when the bundle is then
    refused or the import cancelled (midway too)."""
    if not adopt:
        return
    report.begin(ADDING)
    images_dir.mkdir(parents=True, exist_ok=True)
    for done, (target, source) in enumerate(adopt.items(), 1):
        if not target.is_file():
            os.replace(source, target)
            added.append(target)
            result.images_added += 1
        report.count(done, len(adopt))


def _withdraw_images(added: list[Path], images_dir: Path) -> None:
    """Take back the images of a bundle refused after they were moved in (its map, its vectors' size, a
    cancelled re-embedding, a catalog in use): a refused bundle leaves no file in the data dir."""
    for path in added:
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # only if empty: it holds the current catalog's images too
        images_dir.rmdir()


def _not_embedded(count: int, key: str) -> str:
    products = "1 product has" if count == 1 else f"{count:,} products have"
    return (f"{products} no {key} vector: the images are missing or unreadable here, so search cannot find "
            "them until the images are back (then `decorlens catalog rebuild` embeds them)")


def _check_image_folders(images_from: Sequence[Path], data_dir: Path) -> None:
    """Each folder a bundle without images may point into exists and is no wider than a folder of pictures (CatalogError):
    with ``/`` or the home folder any file the bundle named became a product picture, to be shown and shipped in
    the next export (a private photo); with a folder holding the data dir, DecorLens's own files."""
    inside = Path(os.path.realpath(data_dir))
    for folder in images_from:
        root = Path(os.path.realpath(folder))
        if not root.is_dir():
            raise CatalogError(f"{IMAGES_FROM(folder=folder)} no such folder")
        wide = wide_folder(root)
        why = f"it is {wide}" if wide else "it holds the data dir" if inside.is_relative_to(root) else ""
        if why:
            raise CatalogError(f"{IMAGES_FROM(folder=folder)} {why}; name the shared folder the bundle's pictures are in")


def _external_images(images_from: Sequence[Path], result: ImportResult) -> ImagePath:
    """Image paths for a bundle without images: regular, decodable images inside the folders the user named."""
    roots = [Path(os.path.realpath(folder)) for folder in images_from]

    def resolve(sku: str, path: str) -> str:
        real = Path(os.path.realpath(path)) if Path(path).is_absolute() else None
        if real is None or not any(real.is_relative_to(root) for root in roots):
            raise CatalogError(f"product {sku!r}: its image {path!r} is outside "
                               f"{', '.join(map(str, roots))}; refusing the bundle")
        try:
            mode = os.stat(real).st_mode
        except OSError:
            result.missing_images += 1
            return str(real)
        if not stat.S_ISREG(mode) or os.stat(real).st_size > MAX_IMAGE_BYTES:
            raise CatalogError(f"product {sku!r}: {real} is not a regular image file; refusing the bundle")
        _check_image(real, path)
        return str(real)

    return resolve


def _check_image(path: Path, name: str) -> None:
    try:
        load_image(path, max_side=CHECK_SIDE)
    except DecorLensError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        raise CatalogError(f"{name} in the bundle is not a usable image ({reason}); refusing the bundle") from exc


def _check_categories(path: Path) -> None:
    try:
        CategoryMap.from_file(path)
    except Exception as exc:  # a hostile YAML can fail in any way the parser or the map can
        reason = str(exc).replace(str(path), CATEGORIES_FILE).splitlines()[0] if str(exc) else type(exc).__name__
        raise CatalogError(f"categories.yaml in the bundle is not a valid category map ({reason}); "
                           "refusing the bundle") from exc


def _keep_categories(incoming: Path | None, data_dir: Path, result: ImportResult) -> None:
    """Back up the local category map that the bundle's is about to replace: it may hold hand edits.

    Taken before the commit point, so a disk that cannot hold the copy refuses the bundle with nothing
    replaced. An identical map is neither copied nor replaced.
    """
    if incoming is None:
        return
    current = data_dir / CATEGORIES_FILE
    held = _map_here(current, "import again")
    if held == incoming.read_bytes():
        return
    result.categories_replaced = True
    if held is not None:
        result.categories_kept = back_up_file(current, data_dir / CATALOG_FILE, "bundle-import", content=held)


def _map_here(path: Path, then: str) -> bytes | None:
    """The bytes of the data dir's category map ``path`` (a bundle's export ships them, an import keeps them); None
    where there is none: missing, or no regular file (a FIFO, a device, a link to one: it holds no map, and the
    bundle's replaces the name, not what a link leads to). A link to a file (a map shared by data folders, on
    purpose) is that file's bytes. Read as ``read_yaml`` reads a map, never blocking and at most its bound: a 3 GB
    sparse file there was read whole and copied whole into backups/, filling the disk. Raises a one-line
    ``CatalogError``, ending ``then``, for a file over the bound or unreadable, or a folder (the import's rename
    failed on it after its commit point)."""
    try:
        with open_regular(path) as fh:
            held = fh.read(MAX_YAML_BYTES + 1)
    except NotAFile as exc:
        if not (path.is_file() or (path.is_dir() and not path.is_symlink())):  # a folder: no file can replace it
            return None
        raise CatalogError(f"category map {exc}; check it, or delete it, then {then}") from exc
    if len(held) > MAX_YAML_BYTES:
        raise CatalogError(f"category map {path} is over {MAX_YAML_BYTES >> 20} MB, far more than a category map "
                           f"holds; check it, or delete it, then {then}")
    return held


def _build_index(catalog: Catalog, root: Path, key: str, embedder: Matcher | None, log: Log, report: _Report) -> None:
    """This machine's index, built from the imported vectors (a bundle's index file is never loaded).

    Minutes for a large catalog, in ``engine.index``, which asks no one: SQLite asks ``report.cancelled`` as it
    reads the vectors (between two batches given to hnswlib), and stops there."""
    if not key or not catalog.embedders().get(key):
        return
    dim = _vector_dim(catalog, key)
    expected = getattr(embedder, "dim", dim) if embedder is not None and embedder.key == key else dim
    if dim != expected:
        raise CatalogError(f"the bundle's {key} vectors have {dim} values, this machine's embedder gives "
                           f"{expected}; the bundle is inconsistent")
    report.begin(INDEXING)
    catalog.db.set_progress_handler(report.cancelled, SQLITE_OPS)  # true: SQLite stops, "interrupted"
    try:
        CatalogIndex(root, key, dim, log).rebuild(catalog)
    except sqlite3.OperationalError as exc:
        if report.cancelled():
            raise Cancelled(report.stopped) from exc
        raise
    finally:
        catalog.db.set_progress_handler(None, 0)
    report.check()


def _swap(stage: Path, data_dir: Path, result: ImportResult) -> None:
    """Index aside, database in (the commit point), index in; the old database is backed up first."""
    db_path = stage / CATALOG_FILE
    live_db = data_dir / CATALOG_FILE
    if live_db.exists() and _damage(live_db):
        result.damaged = set_aside(live_db)  # replaced anyway: "cannot read the current catalog" refused the cure
    elif live_db.exists():
        _quiesce(live_db)
        result.previous = _back_up(live_db)
    aside = None
    if (data_dir / "index").exists():
        aside = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX + "old-index-", dir=data_dir))
        os.replace(data_dir / "index", aside / "index")
    try:
        os.replace(db_path, live_db)
    except OSError as exc:
        if aside is not None:  # roll back: the old database is still in place, give it its index again
            os.replace(aside / "index", data_dir / "index")
        if result.damaged is not None:
            os.replace(result.damaged, live_db)
        raise CatalogError(f"cannot replace {live_db} ({exc}); is DecorLens open on this data dir?") from exc
    if (stage / "index").is_dir():
        os.replace(stage / "index", data_dir / "index")
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _damage(live_db: Path) -> str:
    """What is wrong with the catalog a bundle replaces, or "" when SQLite reads it whole (or it is only in use:
    ``_quiesce`` says so). A damaged one can be neither folded nor backed up, and is set aside instead.

    A scan of every page, kept on purpose: nothing cheaper finds a damaged page inside the file (the backup API
    copies pages as they are, so the backup taken next would be as damaged, and would push a sound one out of
    the newest five), and it costs little beside the import it guards. Measured on a catalog of 202,000
    products (1.2 GB): 9.7 s with the file out of the page cache, 0.8 s in it, against about 4 ms a product for
    the import itself (the bundle's pictures are decoded to be checked): about 1 % of it."""
    try:
        with read_only(live_db) as db:
            found = db.execute("PRAGMA quick_check(1)").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return str(exc) if is_damage(exc) else ""
    return "" if found == "ok" else str(found)


def _quiesce(live_db: Path) -> None:
    """Fold the WAL into the database file so replacing the file loses nothing and leaves no stale WAL.

    Leaving WAL mode needs the only connection to the database, so it also tells that no other process
    holds the catalog open: one that did, even idle (the app between two searches), went on using the
    replaced file, and what it wrote there after the import (products, remembered photos) was lost.
    """
    try:
        db = sqlite3.connect(live_db, timeout=5)
        try:
            db.execute("PRAGMA journal_mode = DELETE")
        finally:
            db.close()
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise CatalogError(f"cannot read the current catalog {live_db}: {exc}") from exc
        raise CatalogError(f"{live_db} is in use; close DecorLens on this data dir and import again") from exc
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"cannot read the current catalog {live_db}: {exc}") from exc


def _back_up(live_db: Path) -> Path | None:
    """The catalog about to be replaced, as one of the backups ``catalog restore`` lists; None when empty.

    It was copied to ``catalog.before-import.sqlite``, which the next import overwrote (the original catalog
    was then lost for good, and ``catalog restore`` found no backup), through a fixed temp name that a
    Ctrl-C left behind. ``take_backup`` keeps the newest few, under unique temp names it cleans up.

    Once the kept backups are full, a catalog the newest one already holds row for row is not copied again (that
    backup is named instead): the copy would only push the oldest out. The same bundle imported six times filled
    the five with copies of it, and the catalog it had first replaced, the user's own, was pruned without a word.
    """
    try:
        with contextlib.closing(sqlite3.connect(live_db)) as db:
            if db.execute("SELECT COUNT(*) FROM products").fetchone()[0] == 0:
                return None
    except sqlite3.DatabaseError:
        pass  # not a catalog this version reads: backed up as it is, not judged here
    kept = [b for b in list_backups(live_db) if b.reason != BEFORE_RESTORE]  # take_backup prunes these to KEEP
    if len(kept) >= KEEP and _same_rows(live_db, kept[0].path):
        return kept[0].path
    return take_backup(live_db, live_db, "bundle-import")


def _same_rows(one: Path, two: Path) -> bool:
    """Whether two catalogs hold the same schema and rows, their random ``catalog_id`` aside (a catalog imported
    from the same bundle twice differs in nothing else); False when either cannot be read: a backup is then taken.
    Text is compared as its bytes: a cell that is not UTF-8 (a hand-edited catalog) is the same in both, not a
    reason to take one more backup."""
    listing = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
    try:
        with read_only(one) as a, read_only(two) as b:
            schema = a.execute(listing).fetchall()
            if schema != b.execute(listing).fetchall():
                return False
            a.text_factory = b.text_factory = bytes
            return all(_same_table(a, b, name) for kind, name, _sql in schema if kind == "table")
    except sqlite3.DatabaseError:
        return False


def _same_table(a: sqlite3.Connection, b: sqlite3.Connection, table: str) -> bool:
    """Rows of ``table`` equal in both, in the order they are stored (another order reads as a difference)."""
    quoted = '"' + table.replace('"', '""') + '"'
    count = f"SELECT COUNT(*) FROM {quoted}"
    if a.execute(count).fetchone() != b.execute(count).fetchone():
        return False
    rows = zip(a.execute(f"SELECT * FROM {quoted}"), b.execute(f"SELECT * FROM {quoted}"), strict=True)
    identity = IDENTITY.encode()
    return all(x == y or table == "meta" and x[0] == y[0] == identity for x, y in rows)


def _remove_unreferenced(db_path: Path, images_dir: Path) -> None:
    """Delete bundle images that neither the catalog nor any of its backups uses.

    A backup restores its products with their image paths: deleting the images only the replaced catalog
    used made a restored catalog show no pictures. A backup that cannot be read might use any of them.
    """
    used = _image_names(db_path)
    for backup in list_backups(db_path):
        try:
            used |= _image_names(backup.path)
        except sqlite3.DatabaseError:
            return
    for image in images_dir.iterdir():
        if image.is_file() and image.name not in used:
            image.unlink(missing_ok=True)


def _image_names(db_path: Path) -> set[str]:
    """File names of the product images a catalog (or a backup of one) refers to; opened read-only."""
    with read_only(db_path) as db:
        return {Path(p).name for (p,) in db.execute("SELECT image_path FROM products")}


def _remove_leftovers(data_dir: Path) -> None:
    """Staging folders of an import that was killed: never in use, safe to delete."""
    for leftover in data_dir.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(leftover, ignore_errors=True)
