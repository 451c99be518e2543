"""Rolling backups of ``catalog.sqlite`` in ``<data dir>/backups/``, taken before anything destructive.

A catalog is hours of importing; a removal by mistake, an embedder switch, a bundle import or a
restore must never be the last word. Each backup is a consistent snapshot made with SQLite's backup
API (readers and writers in other processes keep working), written to a unique temp name and renamed
into place, so a kill leaves either a whole backup or a temp file that the next backup deletes. Names sort
by time: ``catalog-<UTC time>-<reason>.sqlite``.

The newest ``KEEP`` are kept, not counting the one a restore takes of the catalog it replaces (``_prune``): a
restore is how a user goes back, and the points before the one restored are the ones they may want next. A
catalog restored and not changed since is not backed up again before it is re-embedded (``Catalog.restored``):
its backup is the one it came from. Restoring the oldest of five, taken before an embedder switch, took two
backups (the catalog before the restore, then the restored one before it was re-embedded) and so deleted the
one before it and the restored backup itself. Removals made one after another in a run (``BackupRun``: the
duplicates window's) keep the run's first backup on top of those, the catalog as it was before them all.

A feed import that changes products the catalog held (a weekly re-import's new prices, names, photos) is backed up
first too (``engine.importer.backed_up_import``): a bad week's feed could be undone only by importing last week's
file again. Such backups are at most ``IMPORTS_KEPT`` of the newest ``KEEP``, so that routine imports never push out
the last backups taken before anything else.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import sqlite3
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import CatalogError
from engine.files import (
    NotAFile,
    clean_stale_temps,
    not_a_file_words,
    open_regular,
    replace_atomically,
    write_atomic,
)
from engine.remedies import RESTORE_COUNTED, RESTORE_UNCOUNTED

BACKUPS_DIR = "backups"
KEEP = 5
BEFORE_RESTORE = "before-restore"  # the reason of the backup a restore takes of the catalog it replaces
UPGRADE = "upgrade"  # the reason of the backup taken before a catalog's schema is upgraded (``Catalog._upgrade``)
IMPORT = "import-"  # the start of the reason of a backup taken before a feed import changed products (``import_reason``)
IMPORTS_KEPT = 3  # of the newest ``KEEP``, those taken before imports (``_prune``)
FEED_SHOWN = 60  # characters of a feed's file name a backup's name keeps
TEMP_PREFIX = ".tmp-backup-"
NO_BACKUP = "it has no backups: move it aside and import the products again"  # a damaged catalog's advice, then
# The advice for a damaged catalog with backups (``RESTORE_COUNTED``, ``RESTORE_UNCOUNTED``: no data dir at hand). The
# window's message bar puts its own words for its Restore a Backup… button where it finds them (``cli_restore_advice``).
_RESTORE = re.compile(f"{RESTORE_COUNTED.pattern.pattern}|{RESTORE_UNCOUNTED.pattern.pattern}")
DAMAGE_WORDS = ("malformed", "not a database", "corrupt", "Could not decode")  # SQLite's words for a damaged file
_NAME = re.compile(r"^catalog-(\d{8}T\d{6}\d{6}Z)-([a-z0-9._-]+)\.sqlite$")
COMPANIONS = ("-journal", "-wal", "-shm")  # the files SQLite opens by name beside a database


@dataclass(frozen=True)
class Backup:
    path: Path
    taken: datetime
    reason: str

    @property
    def name(self) -> str:
        return self.path.name

    def products(self) -> int | None:
        """How many products the backup holds; None when it cannot be read."""
        try:
            with read_only(self.path) as db:
                return int(db.execute("SELECT COUNT(*) FROM products").fetchone()[0])
        except sqlite3.DatabaseError:
            return None


@dataclass
class BackupRun:
    """Removals a user makes one after another, each backed up first (the duplicates window's Keep this one): the
    run's first backup is the catalog as it was before them all, and the run's later backups never prune it. Each
    still prunes to the newest ``KEEP`` as any other does; the first is kept on top of those. A merchandiser working
    through 20 duplicate groups pushed it out by the sixth, and could no longer go back to before the first.

    Only the run protects it: the next backup taken outside the run prunes as ever (``_prune``)."""

    first: Path | None = None

    def protected(self, catalog_path: Path) -> Path | None:
        """The run's first backup where it is one of this catalog's: a run carried over to another data dir (the
        app's settings changed) protects nothing there, and that catalog's first backup starts the run again."""
        if self.first is not None and self.first.parent == backups_dir(catalog_path):
            return self.first
        return None

    def took(self, backup: Path | None, catalog_path: Path) -> None:
        """Note ``backup``, just taken in the run: the first of this catalog's is the one kept."""
        if backup is not None and self.protected(catalog_path) is None:
            self.first = backup


def read_only(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """A connection that can only read the SQLite file at ``path`` (a backup, a catalog being checked or replaced),
    closed when the ``with`` block ends. A companion SQLite would block on (``companion_problem``) is a
    ``sqlite3.DatabaseError`` saying so, which each caller words as it words an unreadable file."""
    if problem := companion_problem(Path(path)):
        raise sqlite3.DatabaseError(problem)
    return contextlib.closing(sqlite3.connect(read_only_uri(path), uri=True))


def companion_problem(path: Path) -> str | None:
    """One line naming a companion of the database at ``path`` (its rollback journal, WAL or shared memory, which
    SQLite opens by name beside it) that is not a regular file, and what to do; None when there is none.

    SQLite opened a FIFO named ``catalog.sqlite-journal`` to see whether it held a transaction to roll back and
    waited for a writer for ever, deaf to SIGTERM: ``catalog stats``, the app's start, and the restore's
    listing of a backup with one beside it. A link there SQLite will not open, and the line called the catalog
    damaged ("unable to open database file") and advised importing everything again."""
    for suffix in COMPANIONS:
        companion = path.with_name(path.name + suffix)
        try:
            kind = os.lstat(companion).st_mode
        except OSError:  # not there (or its folder unreadable: SQLite says so itself)
            continue
        if stat.S_ISREG(kind):
            continue
        why = "a link" if stat.S_ISLNK(kind) else _not_regular(companion)
        return (f"{companion}: {why}, not a file SQLite writes beside {path.name}, which cannot be opened while it "
                "is there; move it out of the folder")
    return None


def link_problem(path: Path) -> str | None:
    """One line where the catalog's name ``path`` is a link to no catalog, to nothing or to an empty file, and what
    to do; None otherwise (a link to a catalog kept elsewhere on purpose opens as any catalog).

    SQLite follows the link and makes a new catalog where it leads: ``catalog stats`` on a data folder whose link led
    to a disk not mounted made an empty catalog in its mount point (0 products, the real catalog hidden once the disk
    came back), and a link to any empty file, or to a free name, had a catalog written there (as root, anywhere)."""
    if not path.is_symlink():
        return None
    try:
        info = path.stat()
    except FileNotFoundError:
        where = "nothing there"
    except OSError:  # a loop, a folder not to be read: SQLite's own line says so
        return None
    else:
        if not stat.S_ISREG(info.st_mode) or info.st_size:
            return None
        where = "an empty file"
    return (f"{path}: a link to {os.readlink(path)!r}, {where}, not a catalog (a disk not mounted?); DecorLens "
            "makes a new catalog only as a file of its own: point the link at the catalog, or remove it")


def _not_regular(path: Path) -> str:
    """What ``path``, no regular file, is, in ``open_regular``'s words ("a FIFO (named pipe)", "a folder")."""
    try:
        open_regular(path).close()
    except NotAFile as exc:
        return not_a_file_words(exc, path)
    return "not a regular file"  # replaced by one meanwhile


def read_only_uri(path: Path) -> str:
    """The URI that opens, or attaches, the SQLite file at ``path`` read-only."""
    return Path(path).resolve().as_uri() + "?mode=ro"


def backups_dir(catalog_path: Path) -> Path:
    return Path(catalog_path).parent / BACKUPS_DIR


def take_backup(
    source: sqlite3.Connection | Path, catalog_path: Path, reason: str, keep: int = KEEP, protect: Path | None = None
) -> Path:
    """Snapshot the catalog (an open connection, or the file at ``source``) and prune old backups (``_prune``).

    ``reason`` says which operation it precedes (``remove``, ``re-embed``, ``bundle-import`` …);
    ``protect`` is a backup that must survive the pruning (the one about to be restored).
    """
    folder = backups_dir(catalog_path)
    folder.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(folder, TEMP_PREFIX)
    target = folder / f"catalog-{_stamp()}-{_slug(reason)}.sqlite"
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".sqlite", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _copy(source, tmp)
        replace_atomically(tmp, target)
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"cannot back up the catalog to {folder}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    _prune(catalog_path, keep, {target} if protect is None else {target, Path(protect)})
    return target


def prune(catalog_path: Path, taken: Path) -> None:
    """Prune to the newest ``KEEP`` once the work ``taken`` was backed up for went through, ``taken`` kept: work that
    may be cancelled takes its backup with room for one more (``take_backup(keep=KEEP + 1)``) and deletes it if
    cancelled, so a cancel pushes no backup out (re-embedding: ``Pipeline.prepare_matcher``; importing:
    ``engine.importer.backed_up_import``)."""
    _prune(catalog_path, KEEP, {taken})


def _prune(catalog_path: Path, keep: int, protect: set[Path]) -> None:
    """Delete all but the newest ``keep`` backups, not counting those a restore took of the catalog it replaced
    (``BEFORE_RESTORE``): a restore never pushes out the backups before it. Of those, the newest ``keep`` are kept
    too; those in ``protect`` never go: the one just taken, which ``keep`` backups named after a later time (taken
    while the clock was ahead, or copied from a machine whose clock was) pushed out at once, and the removal or
    restore it was taken for went ahead with no backup.

    Backups named after now are counted apart too (``list_backups``), their newest ``keep`` kept: which of them and
    of those taken since is older is not known, and counted with them, each backup taken since pushed out the one
    before it: of two removals made after the clock was set back, the first could not be undone.

    Of the counted, those taken before imports are at most ``IMPORTS_KEPT`` (one more while ``keep`` leaves room for
    one more): a weekly or daily feed import changes prices every time, and five of them pushed out every backup
    taken before anything else, the one before a removal made by mistake last week among them."""
    now = datetime.now(UTC)
    found = list_backups(catalog_path, now)
    ahead = [b for b in found if b.taken > now]
    counted = [b for b in found if b.taken <= now and b.reason != BEFORE_RESTORE]
    extra = [b for b in found if b.taken <= now and b.reason == BEFORE_RESTORE]
    imports = [b for b in counted if b.reason.startswith(IMPORT)][IMPORTS_KEPT + keep - KEEP:]
    counted = [b for b in counted if b not in imports]
    kept = {Path(p).resolve() for p in protect}
    for old in imports + counted[keep:] + extra[keep:] + ahead[keep:]:
        if old.path.resolve() not in kept:
            old.path.unlink(missing_ok=True)


def back_up_file(source: Path, catalog_path: Path, reason: str, keep: int = KEEP, content: bytes | None = None) -> Path:
    """A copy of a small file of the data dir (the category map) in the backups folder; the newest ``keep`` stay.
    ``content``: its bytes, read already by the caller (bounded, as a regular file), so the copy is what was checked.

    Named ``<stem>-<UTC time>-<reason><suffix>`` (``categories-…-bundle-import.yaml``). A bundle import
    replaced a hand-edited ``categories.yaml`` with no copy at all; ``catalog restore`` restores the
    database only, so this copy is there to be copied back by hand.
    """
    folder = backups_dir(catalog_path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{source.stem}-{_stamp()}-{_slug(reason)}{source.suffix}"
    write_atomic(target, source.read_bytes() if content is None else content)
    ours = re.compile(rf"{re.escape(source.stem)}-(\d{{8}}T\d{{12}}Z)-[a-z0-9._-]+{re.escape(source.suffix)}")
    named = {p: found[1] for p in folder.glob(f"{glob.escape(source.stem)}-*") if (found := ours.fullmatch(p.name))}
    now = _stamp()
    copies = sorted(named, reverse=True)
    ahead = [p for p in copies if named[p] > now]  # counted apart, as ``_prune`` counts backups
    for old in [p for p in copies if named[p] <= now][keep:] + ahead[keep:]:
        if old != target:  # pushed out by copies named after a later time, it went at once (``_prune``)
            old.unlink(missing_ok=True)
    return target


def list_backups(catalog_path: Path, now: datetime | None = None) -> list[Backup]:
    """Backups of this catalog, newest first: by the time in their names, those named after ``now`` (default: the
    clock's) last. A file named as one that is the catalog itself (a link or hard link to it) is none: restored, it
    waited on the catalog's own write lock for two minutes, then failed.

    A backup named after now was taken while the clock was ahead (then set back, or on a machine whose clock was):
    the one taken last is named before it, and was listed below it as older."""
    now = now or datetime.now(UTC)
    folder = backups_dir(catalog_path)
    itself = _file_id(catalog_path)
    found = []
    for path in folder.glob("catalog-*.sqlite") if folder.is_dir() else ():
        match = _NAME.match(path.name)
        taken = _taken(match[1]) if match else None
        if taken is not None and path.is_file() and _file_id(path) != itself:
            found.append(Backup(path, taken, match[2]))
    return sorted(found, key=lambda b: (b.taken <= now, b.name), reverse=True)


def _file_id(path: Path) -> tuple[int, int] | None:
    """The device and inode of the file ``path`` leads to (None where it cannot be read): the same for every name
    of one file."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _taken(stamp: str) -> datetime | None:
    """The time in a backup's name, or None for digits that are no time (a file named by hand or by a sync
    client): "unexpected ValueError" stopped the listing, and every removal, which backs up first."""
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def damage_advice(catalog_path: Path) -> str:
    """What to do about a damaged catalog, after the line says so: restore a backup, or import again without one."""
    found = len(list_backups(catalog_path))
    if found:  # short: a line that must still be cut loses its middle, which held the command
        return RESTORE_COUNTED(count=found)
    return NO_BACKUP


def cli_restore_advice(text: str) -> tuple[int, int, int | None] | None:
    """Where ``text`` advises restoring a backup with the CLI (its start and end) and how many backups it counts
    (None: not counted); None if it does not. The app says it in its own words, for its button."""
    found = _RESTORE.search(text)
    if found is None:
        return None
    return found.start(), found.end(), int(found[1]) if found[1] else None


def replace_damaged(catalog_path: Path, backup: Path, forget: Sequence[str]) -> Path:
    """Put a copy of ``backup`` in place of a damaged catalog; returns where the damaged file now is.

    A restore into the catalog (``Catalog.restore_from``) needs a catalog SQLite can read; a damaged one is set
    aside instead, never deleted (``catalog-damaged-<UTC time>.sqlite`` beside it, its WAL and shared memory
    with it, so that SQLite reads them as they were). The copy is made first, so a kill leaves the damaged catalog
    or the restored one, or between the last two renames none: the next restore then finds the backup where it
    was. The copy holds none of the ``meta`` rows ``forget`` names: the catalog's name (``Catalog.identity``), so
    that it gets a new one when opened and every index, made for the damaged file, is rebuilt; the recipe of its
    products' keys, so that they are worked out again as it opens (a backup is anyone's file: keys planted in it
    put a rug first by price and found it for "sofa").
    """
    folder = backups_dir(catalog_path)  # where a killed copy's temp file is cleaned up (``take_backup``)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".sqlite", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            with read_only(backup) as source:
                _copy(source, tmp)
            with contextlib.closing(sqlite3.connect(tmp)) as copy, copy:
                copy.executemany("DELETE FROM meta WHERE key = ?", [(key,) for key in forget])
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"cannot copy the backup {backup} into {catalog_path.parent}: {exc}") from exc
        aside = set_aside(catalog_path)
        replace_atomically(tmp, catalog_path)
    finally:
        tmp.unlink(missing_ok=True)
    return aside


def set_aside(catalog_path: Path) -> Path:
    """Move a damaged catalog out of the way, never deleting it: to ``catalog-damaged-<UTC time>.sqlite`` beside
    it, its WAL and shared memory with it (so that SQLite reads them as they were), the companions first (a WAL
    left beside the file put in its place would be read into it). Returns where the catalog now is."""
    aside = catalog_path.with_name(f"catalog-damaged-{_stamp()}.sqlite")
    for suffix in ("-wal", "-shm", "-journal"):
        companion = catalog_path.with_name(catalog_path.name + suffix)
        if companion.exists():
            os.replace(companion, aside.with_name(aside.name + suffix))
    if catalog_path.exists() or catalog_path.is_symlink():
        os.replace(catalog_path, aside)
    return aside


def find_backup(catalog_path: Path, name: str) -> Path:
    """A backup by file name (as ``catalog restore`` lists them) or by path."""
    for backup in list_backups(catalog_path):
        if name in (backup.name, str(backup.path)):
            return backup.path
    path = Path(name).expanduser()
    if path.is_file() and _file_id(path) == _file_id(catalog_path):  # it waited two minutes on its own lock
        raise CatalogError(f"{path} is the catalog itself, not a backup of it; `decorlens catalog restore` "
                           "lists the backups")
    if path.is_file():
        return path
    raise CatalogError(
        f"no backup {name!r} in {backups_dir(catalog_path)}; `decorlens catalog restore` lists the backups"
    )


def check_columns(backup: Path) -> None:
    """Refuse, naming the backup, one that lacks a table or column of the catalog schema, or declares one of another
    type: a restore into a damaged catalog puts the backup's file in its place, its tables as they are, and a price
    key declared TEXT there kept each number worked out as text ("10.0" sorted before "9.0").

    A restore copies every column by name; a file without one failed on SQLite's "no such column", which
    the CLI reported as a failure of the live catalog (intact, the restore rolled back). A backup of an older
    schema lacks the columns added since (``columns_added_since``): those the restore fills with their defaults,
    so every backup an earlier DecorLens took restores (each one was refused for lacking ``products.source``).
    """
    # imported here: engine.catalog imports this module
    from engine.catalog import SCHEMA, SCHEMA_VERSION, columns_added_since

    with contextlib.closing(sqlite3.connect(":memory:")) as schema:
        schema.executescript(SCHEMA)
        needed = {table: _columns(schema, table) for table in ("products", "vectors")}
    try:
        with read_only(backup) as db:
            found = {table: _columns(db, table) for table in needed}
            added = columns_added_since(_schema_version(db) or SCHEMA_VERSION)
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"{backup} is not a readable DecorLens catalog backup: {exc}") from exc
    for table, columns in needed.items():
        missing = sorted(columns.keys() - found[table].keys() - added.get(table, set()))
        if missing:
            shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
            what = f"no {table} table" if not found[table] else f"no column {shown} in {table}"
            # Not in parentheses: the CLI's one line shortens a parenthesised detail first (a library's wording),
            # and at some lengths of the backup's path cut this, the reason, to "(no colum…)".
            raise CatalogError(f"backup {backup} is not a complete DecorLens catalog: {what}; the catalog is "
                               "unchanged: restore another backup")
        for column in sorted(columns.keys() & found[table].keys()):
            if found[table][column] != columns[column]:
                raise CatalogError(f"backup {backup} is not a DecorLens catalog: its {table}.{column} is "
                                   f"{found[table][column] or 'of no type'}, not {columns[column]}; the catalog is "
                                   "unchanged: restore another backup")


def _schema_version(db: sqlite3.Connection) -> int | None:
    """The catalog schema version ``db`` records; None where it records none or no number (the restore's own
    check refuses such a file in its words)."""
    try:
        row = db.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.OperationalError:  # no schema_version table
        return None
    return row[0] if row and type(row[0]) is int else None


def _columns(db: sqlite3.Connection, table: str) -> dict[str, str]:
    """{column: its declared type, in capitals} of ``table`` in ``db``."""
    return {row[1]: str(row[2]).upper() for row in db.execute(f"PRAGMA table_info({table})")}


def _copy(source: sqlite3.Connection | Path, target: Path) -> None:
    """SQLite's online backup into a self-contained file (rollback journal, no WAL beside it)."""
    src = source if isinstance(source, sqlite3.Connection) else sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        if src is not source:
            src.close()


def _stamp() -> str:
    """Now in UTC to the microsecond: names that sort by time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def import_reason(feed: str) -> str:
    """The reason of the backup taken before importing the feed file named ``feed``: the feed's name is kept in it
    (lower-cased, cut to ``FEED_SHOWN``), so that the Restore a Backup window says which import it undoes."""
    return IMPORT + _slug(feed[:FEED_SHOWN], "feed")


def _slug(reason: str, empty: str = "manual") -> str:
    """``reason`` as a file name keeps it: lower case, digits, dots and underscores (a feed's "week_49.csv"), runs of
    anything else one hyphen; never a dot at either end (a hidden file, or ".sqlite" read as the suffix)."""
    return re.sub(r"[^a-z0-9._]+", "-", reason.lower()).replace("-.", ".").strip("-._") or empty
