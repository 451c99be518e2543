"""The product catalog in SQLite: products, their image hashes, and vectors per embedder.

Every change happens in one transaction and bumps a ``revision`` counter; vectors and tombstones
carry the revision that wrote them, so the HNSW index can catch up incrementally (``engine.index``)
and a crash between the database commit and the index save only costs a re-sync, never data.
"""

from __future__ import annotations

import json
import os
import re
import reprlib
import secrets
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple, Self

import numpy as np

from engine import guarded_sqlite
from engine.advice import size_limit_problem
from engine.backups import (
    BEFORE_RESTORE,
    DAMAGE_WORDS,
    UPGRADE,
    BackupRun,
    backups_dir,
    companion_problem,
    damage_advice,
    link_problem,
    list_backups,
    read_only,
    replace_damaged,
    take_backup,
)
from engine.errors import CatalogError
from engine.name_order import RECIPE as NAME_RECIPE
from engine.name_order import name_key
from engine.prices import RECIPE as PRICE_RECIPE
from engine.prices import price_value
from engine.search_text import RECIPE as SEARCH_RECIPE
from engine.search_text import condition, shown_name

SCHEMA_VERSION = 3  # 2: products.source (``Product.source``); 3: products' keys (``KEYS``)
RESTORED_FROM = "restored_from"  # meta key: "<revision> <backup file name>" of the last restore (``restored``)
IDENTITY = "catalog_id"  # meta key: a random name of this catalog file, which its index records (``identity``)
GLOBAL = ""  # tombstone category meaning "gone from the all-categories index too"; no category is empty
LOCK_TIMEOUT_ENV = "DECORLENS_LOCK_TIMEOUT"
LOCK_TIMEOUT = 120.0  # seconds a writer waits for another one (a long import holds the lock throughout)
QUIET_WAIT = 0.5  # a write lock released within this goes unremarked
# SQLite virtual-machine steps between two asks whether a read is still wanted (``Catalog.interruptible``):
# well under a millisecond of a scan, a few thousand asks of a second's scan of a million products
PROGRESS_STEPS = 10_000
READ_WAIT = 30.0  # readers only wait in WAL mode's rare moments (recovery after a crash, checkpoints)
WAITING = "waiting for another DecorLens to finish writing the catalog…"
WAITED = "the other DecorLens has finished writing the catalog; going on"  # the wait is over (a status line
# showing WAITING would otherwise still say so)
Log = Callable[[str], None]

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL,
    image_path TEXT NOT NULL,
    image_hash TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    price TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{}',
    source TEXT NOT NULL DEFAULT '',
    price_value REAL,
    name_key TEXT,
    search_name TEXT
);
CREATE INDEX IF NOT EXISTS products_category ON products (category);
CREATE INDEX IF NOT EXISTS products_source ON products (source);
CREATE TABLE IF NOT EXISTS vectors (
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    embedder TEXT NOT NULL,
    image_hash TEXT NOT NULL,
    revision INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (product_id, embedder)
);
CREATE INDEX IF NOT EXISTS vectors_revision ON vectors (embedder, revision);
CREATE TABLE IF NOT EXISTS tombstones (
    product_id INTEGER NOT NULL,
    category TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tombstones_revision ON tombstones (revision);
"""
# The indexes of the orders by price and name (``Catalog.ORDERS``), made after the products' keys are (``_rekey``):
# kept up row by row, keying 200,000 products took 1.6 s longer.
KEY_INDEXES = {"products_price_value": "price_value, name, sku", "products_name_key": "name_key, name, sku"}
SCHEMA += "".join(f"CREATE INDEX IF NOT EXISTS {name} ON products ({columns});\n" for name, columns in KEY_INDEXES.items())

NEAR_SKU_CHARS = 40  # characters of a mistyped SKU ``skus_near`` looks at, and follow-on characters it tries at each
NEAR_SKU_BESIDE = 3  # SKUs on each side of a one-slip spelling: 4 in 5 of two-slip IKEA SKUs found, 71 % with 1
KEYS_AT_ONCE = 5_000  # products keyed by one statement (``Catalog._key_unkeyed``)
LAST_CHAR = "\U0010ffff"  # sorts after every character: ``start + LAST_CHAR`` bounds the SKUs that begin ``start``
PRODUCT_COLUMNS = "id, sku, name, category, image_path, image_hash, url, price, extra, source"
# What the catalog works out of a product's name and price, stored as it writes them, for its orders and search to
# read (indexed) rather than reading every price or name with Python at the first sort of each start (0.6-1.4 s at
# 200,000 products, 3.5 s at a million): ``price_value`` (NULL: no price), ``name_key`` (NULL only until keyed:
# ``Catalog._key_unkeyed``) and ``search_name`` (``shown_name``: NULL unless the name holds invisible characters).
KEYS = ("price_value", "name_key", "search_name")
KEYED = 3  # the schema that brought ``KEYS``
# The recipes of ``KEYS``, recorded in ``meta`` as RECIPE_KEY: a catalog keyed by other recipes is keyed again as it
# opens (``Catalog._rekey``).
KEY_RECIPE = f"price {PRICE_RECIPE}, name {NAME_RECIPE}, search {SEARCH_RECIPE}"
RECIPE_KEY = "key_recipe"
# Version 1 → 2, 2 → 3, each in one transaction: every product kept, of no recorded source (""), keyed (``KEYED``).
UPGRADES = {1: ("ALTER TABLE products ADD COLUMN source TEXT NOT NULL DEFAULT ''",
                "CREATE INDEX IF NOT EXISTS products_source ON products (source)"),
            2: ("ALTER TABLE products ADD COLUMN price_value REAL",
                "ALTER TABLE products ADD COLUMN name_key TEXT",
                "ALTER TABLE products ADD COLUMN search_name TEXT")}
ADDED_COLUMN = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", re.IGNORECASE)
TABLES = ("meta", "products", "vectors", "tombstones")  # besides schema_version: what every command reads
TEXT_COLUMNS = ("sku", "name", "category", "image_path", "image_hash", "url", "price", "source")
CHANGED_FIELDS = ("price", "name", "image_hash", "category", "url", "image_path", "extra")  # what an update may change


def product_keys(name: str, price: str) -> tuple[float | None, str, str | None]:
    """A product's ``KEYS``, in their order, of its ``name`` and ``price``."""
    return price_value(price), name_key(name), shown_name(name)


def has_name(name: str, sku: str) -> bool:
    """Whether the feed named the product: a folder import only knows the SKU (the file name), which it stores as
    the name too. Screens then title it by its category, and the CLI leaves the name out rather than print the
    SKU twice."""
    return bool(name.strip()) and name.strip() != sku.strip()


@dataclass
class Product:
    """One catalog row. ``id`` is 0 until stored."""

    sku: str
    name: str
    category: str
    image_path: str
    image_hash: str = ""
    url: str = ""
    price: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    id: int = 0
    # The feed it came from, as the importer names it (``engine.importer.ImportRow.source``): a feed's "not in
    # this feed" offer is of its own products only. "" for one imported before catalogs recorded it (schema 1),
    # or from a bundle; an update that gives none keeps the product's.
    source: str = ""

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Product:
        """The product of a row as DecorLens wrote it; ``TypeError`` naming the cell that is not (a damaged page,
        a cell edited by hand in a database browser), which ``Catalog`` reports as a damaged catalog: such a
        cell ended in "unexpected JSONDecodeError" or a TypeError wherever the product was shown."""
        for column in TEXT_COLUMNS:
            if not isinstance(row[column], str):
                raise TypeError(f"product {row['id']}'s {column} is not text")
        try:
            extra = json.loads(row["extra"] or "{}")
        except (TypeError, ValueError):
            extra = None
        if not isinstance(extra, dict):
            raise TypeError(f"product {row['id']}'s extra fields are not a JSON object")
        return cls(
            id=row["id"], sku=row["sku"], name=row["name"], category=row["category"],
            image_path=row["image_path"], image_hash=row["image_hash"], url=row["url"],
            price=row["price"], extra=extra, source=row["source"],
        )


class Upserted(NamedTuple):
    """What ``Catalog.upsert`` did with a product."""

    id: int
    reembed: bool  # new, or its image or category changed: its vector is to be made again
    change: Literal["added", "updated", "unchanged"]  # "updated": any of its fields differs
    fields: tuple[str, ...] = ()  # the fields an update changed, as Product names them ("price", "image_hash", …)


class CatalogBusyError(CatalogError):
    """Another process held the catalog's write lock for longer than we were willing to wait."""


class CatalogDamagedError(CatalogError):
    """The catalog file is damaged (SQLite cannot read it, or it lacks what DecorLens wrote): its data cannot be
    trusted, and ``catalog restore`` puts a backup in its place, keeping the damaged file aside."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail  # what is wrong with it, without the advice


def damaged(path: Path, detail: object) -> CatalogDamagedError:
    """The one line for a damaged catalog: what is wrong and what to do (which depends on its backups)."""
    flat = " ".join(str(detail).split())  # quick_check reports over several lines
    return CatalogDamagedError(f"catalog {path} is damaged ({flat}); {damage_advice(path)}", flat)


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether SQLite's error says the file is damaged (a page it cannot read, text that is not UTF-8)."""
    return any(words in str(exc) for words in DAMAGE_WORDS)


class Interrupted(Exception):
    """A read stopped by ``Catalog.interruptible``: its caller no longer wants the answer (no error to report)."""


def _unopenable(path: Path, exc: sqlite3.DatabaseError) -> CatalogError:
    """Why the catalog at ``path`` did not open. SQLite opens a catalog (in WAL mode) by writing ``-shm``
    and ``-wal`` files beside it; in a read-only folder it says only "unable to open database file", which
    read as a damaged catalog. Anything else is damage, said with what to do about it: the line named only
    SQLite's "database disk image is malformed", and the restore it called for could not open the catalog."""
    if "unable to open" in str(exc) and not os.access(path.parent, os.W_OK):
        return CatalogError(f"the catalog {path} is in a read-only folder, and SQLite writes beside it to open it; "
                            "copy the data dir somewhere writable")
    if "locked" in str(exc) or "busy" in str(exc):
        return CatalogBusyError(f"the catalog {path} is locked by another program ({exc}); try again when it "
                                "has finished")
    if path.exists() and not path.is_file():
        return damaged(path, "it is not a file")
    if problem := size_limit_problem(path, f"the catalog {path}"):  # its -shm or -wal could not grow (EFBIG)
        return CatalogError(problem)
    return damaged(path, exc)


class _Held:
    """A thread's connection, held only by the thread's entry in ``Catalog._local``: a Qt pool thread drops its
    Python thread state, and with it that entry, after every job, so the next job opened another connection.
    Kept in a list till the catalog closed, those were two per photo opened in the app (2 open files and
    0.3 MB of SQLite memory each; a day's photos ran out of open files). Now the entry's end closes it."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


_ANCHOR = 0  # the key of Catalog._anchor's connection among the catalog's (a _Held's id() is never 0)


def _release(connections: dict[int, sqlite3.Connection], lock: threading.Lock, key: int) -> None:
    """Close the connection of a thread whose ``_Held`` is gone, unless ``Catalog.close`` did already."""
    with lock:
        conn = connections.pop(key, None)
    if conn is not None:
        conn.close()


class Catalog:
    """A catalog database file. Use as a context manager or call ``close``.

    Writers take SQLite's write lock one at a time; a second writer (another CLI run, the GUI) waits
    up to ``lock_timeout`` seconds (default ``DECORLENS_LOCK_TIMEOUT`` or 120), says so through ``log``,
    and then gives up with ``CatalogBusyError`` instead of SQLite's bare "database is locked".
    """

    def __init__(self, path: Path, log: Log = lambda _msg: None, lock_timeout: float | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.lock_timeout = _lock_timeout() if lock_timeout is None else lock_timeout
        self._local = threading.local()
        self._connections: dict[int, sqlite3.Connection] = {}  # each thread's, open, by its _Held's key
        self._connections_lock = threading.Lock()
        if problem := link_problem(self.path) or companion_problem(self.path):  # a FIFO there blocked the open for ever
            raise CatalogError(problem)
        try:
            self.db.execute("PRAGMA journal_mode = WAL")
            self._migrate()
            self._connections[_ANCHOR] = self._anchor()
        except sqlite3.DatabaseError as exc:
            self.close()  # a catalog that did not open holds no file open
            raise _unopenable(self.path, exc) from exc
        except CatalogError:
            self.close()
            raise

    def _anchor(self) -> sqlite3.Connection:
        """A connection open from here to ``close``, whatever thread opened the catalog, used for nothing.

        A thread's connection closes with the thread, so an app between two searches held none, and a
        bundle import in another process swapped the file under it. The swap first leaves WAL mode, which
        SQLite refuses while another connection has read the database: this one tells an open catalog."""
        conn = guarded_sqlite.connect(self.path, timeout=READ_WAIT)
        conn.execute("SELECT 1 FROM meta").fetchall()  # a read maps the WAL index, which holds the swap off
        return conn

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection: GUI workers search while an import writes (WAL readers don't wait)."""
        held = getattr(self._local, "held", None)
        if held is None:
            conn = self._connect()
            held = self._local.held = _Held(conn)
            with self._connections_lock:
                self._connections[id(held)] = conn
            # Not the Catalog itself: the finalizer would keep it alive as long as any thread's entry lives.
            weakref.finalize(held, _release, self._connections, self._connections_lock, id(held))
        return held.conn

    def _connect(self) -> sqlite3.Connection:
        conn = guarded_sqlite.connect(self.path, isolation_level=None, timeout=READ_WAIT)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections.values():
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[int]:
        """One atomic change; yields the new revision. Any exception (Ctrl-C too) rolls it back. It is ``write``
        with the revision counted up inside, so both begin, roll back and commit in one place."""
        with self.write():
            revision = self.revision + 1
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'revision'", (str(revision),))
            yield revision

    @contextmanager
    def write(self) -> Iterator[None]:
        """One atomic change of tables other than products and vectors (``engine.scene_memory``).

        It waits for the write lock like ``transaction`` but makes no new revision: the indexes follow
        the revision, and a remembered photo gives them nothing to catch up on. Products written without their
        ``KEYS`` (a restore's, a row written in SQL) are keyed in it (``_key_unkeyed``).
        """
        self._begin_write()
        try:
            yield
            self._key_unkeyed()
        except BaseException:
            self._rollback()
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that all see one state of the catalog: a read transaction (in WAL, writers go on).

        An index sync reads tombstones, vectors and the revision in turn; without one snapshot a write
        another process committed in between was saved as synced though the index missed it, and its
        products were never found (nor its removals dropped) until ``rebuild-index``. Within a
        transaction of this thread it adds nothing: that one already sees one state.
        """
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self._rollback()

    @contextmanager
    def interruptible(self, stop: Callable[[], bool]) -> Iterator[None]:
        """Reads in the block (on this thread's connection) stop once ``stop()`` turns true: ``Interrupted``.

        A search typed over while it ran went on to its end: a second at a million products, holding one of
        the window's two I/O threads while the next key's search waited or shared the CPU. SQLite asks
        ``stop`` every ``PROGRESS_STEPS`` steps and ends the statement ("interrupted"); the connection stays
        usable. ``stop`` runs on this thread, so it must only read (a counter the window's thread bumps).
        """
        conn = self.db
        conn.set_progress_handler(lambda: 1 if stop() else 0, PROGRESS_STEPS)
        try:
            yield
        except sqlite3.OperationalError as exc:
            if str(exc) != "interrupted":
                raise
            raise Interrupted() from exc
        finally:
            conn.set_progress_handler(None, 0)

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already: on a full disk (and some I/O errors) it rolls
        back by itself, and a second ROLLBACK raised "no transaction is active" over the real error."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def _begin_write(self) -> None:
        """``BEGIN IMMEDIATE``, waiting for another writer in short slices so the user hears why."""
        deadline = time.monotonic() + self.lock_timeout
        told = False
        while True:
            self.db.execute(f"PRAGMA busy_timeout = {int(QUIET_WAIT * 1000)}")
            try:
                self.db.execute("BEGIN IMMEDIATE")
                if told:
                    self.log(WAITED)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
            finally:
                self.db.execute(f"PRAGMA busy_timeout = {int(READ_WAIT * 1000)}")
            if not told:
                self.log(WAITING)
                told = True
            if time.monotonic() >= deadline:
                raise CatalogBusyError(
                    f"another DecorLens has been writing the catalog {self.path} for over "
                    f"{self.lock_timeout:g} s (an import?); try again when it has finished"
                )

    @property
    def revision(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        try:
            return int(row[0])
        except (TypeError, ValueError):  # no row, or not a number: "unexpected TypeError" wherever it was read
            raise damaged(self.path, "its revision is missing or not a number") from None

    @property
    def identity(self) -> str:
        """A random name given to this catalog file when it was made (``_migrate``), which its index records: an
        index of another catalog file, at any revision, is rebuilt. A catalog copied in by hand or by a sync
        client (another shop's, or this one's from another machine) at a revision the index had reached was
        searched through the old index: a chair matched a rug, by the ids of the other catalog's products."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (IDENTITY,)).fetchone()
        return str(row[0]) if row else ""

    def _product(self, row: sqlite3.Row) -> Product:
        try:
            return Product.from_row(row)
        except TypeError as exc:
            raise damaged(self.path, exc) from None

    # -- products -----------------------------------------------------------------------------

    def upsert(self, product: Product, revision: int) -> Upserted:
        """Insert or update by sku inside a transaction.

        An import's report counts a product whose name, price or link changed as updated, though only a new
        image or category needs a new vector: counted by ``reembed``, such a change was "unchanged"."""
        product.image_path = normalise_image_path(product.image_path)
        if not product.category.strip():
            raise CatalogError(f"product {product.sku!r} has no category")
        old = self.get_by_sku(product.sku)
        extra = json.dumps(product.extra, ensure_ascii=False, sort_keys=True)
        keys = product_keys(product.name, product.price)
        if old is None:
            cur = self.db.execute(
                "INSERT INTO products (sku, name, category, image_path, image_hash, url, price, extra, source, "
                f"{', '.join(KEYS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (product.sku, product.name, product.category, product.image_path, product.image_hash,
                 product.url, product.price, extra, product.source, *keys),
            )
            return Upserted(int(cur.lastrowid), True, "added")
        if old.category != product.category:
            self.db.execute(
                "INSERT INTO tombstones (product_id, category, revision) VALUES (?, ?, ?)",
                (old.id, old.category, revision),
            )
        changed = old.image_hash != product.image_hash or old.category != product.category
        self.db.execute(
            "UPDATE products SET name = ?, category = ?, image_path = ?, image_hash = ?, url = ?, "
            f"price = ?, extra = ?, source = ?, {' = ?, '.join(KEYS)} = ? WHERE id = ?",
            (product.name, product.category, product.image_path, product.image_hash, product.url,
             product.price, extra, product.source or old.source, *keys, old.id),
        )
        if changed:  # the vector must be rewritten at this revision so the index picks it up
            self.db.execute("DELETE FROM vectors WHERE product_id = ?", (old.id,))
        fields = tuple(f for f in CHANGED_FIELDS if getattr(old, f) != getattr(product, f))
        if "image_hash" in fields:  # a new photo, not also a "new photo path"
            fields = tuple(f for f in fields if f != "image_path")
        return Upserted(old.id, changed, "updated" if fields else "unchanged", fields)

    def remove(self, skus: Iterable[str], run: BackupRun | None = None) -> int:
        """Delete products by sku in one transaction, after a backup; returns how many existed. A removal of a
        ``run`` keeps the run's first backup (``BackupRun``)."""
        skus = list(skus)
        if not any(self.get_by_sku(sku) for sku in skus):
            return 0
        run = BackupRun() if run is None else run  # a removal of its own: its backup prunes as any other
        run.took(self.backup("remove", protect=run.protected(self.path)), self.path)
        removed = 0
        with self.transaction() as revision:
            for sku in skus:
                product = self.get_by_sku(sku)
                if product is None:
                    continue
                self.db.executemany(
                    "INSERT INTO tombstones (product_id, category, revision) VALUES (?, ?, ?)",
                    [(product.id, product.category, revision), (product.id, GLOBAL, revision)],
                )
                self.db.execute("DELETE FROM products WHERE id = ?", (product.id,))
                removed += 1
        return removed

    def get(self, product_id: int) -> Product | None:
        row = self.db.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?", (product_id,)).fetchone()
        return self._product(row) if row else None

    def get_many(self, ids: Iterable[int]) -> dict[int, Product]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id IN ({marks})", ids)
        return {row["id"]: self._product(row) for row in rows}

    def get_by_sku(self, sku: str) -> Product | None:
        row = self.db.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE sku = ?", (sku,)).fetchone()
        return self._product(row) if row else None

    # The orders ``products`` lists in, each an ORDER BY of its own: never one built from what a user typed.
    # Products without a price go last in either price order; names of the same ``name_key`` in the order of their
    # code points ("Ecran", "ecran", "Écran"), then by SKU. Price and name read the stored ``KEYS`` (indexed: a listing
    # of the first 5,000 reads those 5,000 rows), not prices or names with Python: SQLite's CAST reads "$129" as 0,
    # and its NOCASE folds ASCII only ("Écran" came after "Zebra").
    ORDERS: ClassVar[dict[str, str]] = {
        "category": "category, name, sku",
        "name": "name_key, name, sku",
        "price": "price_value ASC NULLS LAST, name, sku",
        "price_desc": "price_value DESC NULLS LAST, name, sku",
        "sku": "sku",
        "recent": "id DESC",
    }

    def products(
        self, category: str | None = None, text: str = "", limit: int | None = None, offset: int = 0,
        skus: Sequence[str] | None = None, order: str = "category",
    ) -> list[Product]:
        """Products filtered by category, by a substring of name or sku and, with ``skus``, to those SKUs (a
        selection on the map: thousands of them, passed as one JSON array rather than a variable each, which
        SQLite limits), in ``order``, one of ``ORDERS`` ("recent": the last added first; an update keeps a
        product's place)."""
        if order not in self.ORDERS:
            raise ValueError(f"unknown product order {order!r}: one of {', '.join(self.ORDERS)}")
        sql = f"SELECT {PRODUCT_COLUMNS} FROM products WHERE 1=1"
        args: list[Any] = []
        if skus is not None:
            sql += " AND sku IN (SELECT value FROM json_each(?))"
            args.append(json.dumps(list(skus)))
        if category:
            sql += " AND category = ?"
            args.append(category)
        if text:
            sql += f" AND ({condition(text, args)})"
        sql += f" ORDER BY {self.ORDERS[order]} LIMIT ? OFFSET ?"
        args += [-1 if limit is None else limit, offset]
        return [self._product(r) for r in self.db.execute(sql, args)]

    def categories_not_in(self, skus: set[str]) -> list[tuple[str, str, str]]:
        """The catalog's (SKU, category, source) of the products ``skus`` lacks, sorted by SKU: the products a
        re-imported feed no longer lists, with their categories (a feed of chairs says nothing of the catalog's
        lamps) and sources (nor one supplier's feed of another's products)."""
        rows = self.db.execute("SELECT sku, category, source FROM products ORDER BY sku")
        return [(sku, category, source) for sku, category, source in rows if sku not in skus]

    def sources(self, skus: Sequence[str]) -> dict[str, str]:
        """{SKU: source} of those of ``skus`` the catalog holds (one JSON array, as ``products`` passes SKUs)."""
        rows = self.db.execute("SELECT sku, source FROM products WHERE sku IN (SELECT value FROM json_each(?))",
                               (json.dumps(list(skus)),))
        return dict(rows.fetchall())

    def source_counts(self) -> dict[str, int]:
        """Products per source ("" for those of none recorded)."""
        return dict(self.db.execute("SELECT source, COUNT(*) FROM products GROUP BY source").fetchall())

    def skus_near(self, sku: str) -> set[str]:
        """SKUs a mistyped ``sku`` may have meant: those one edit from it (a character replaced, added, left out,
        two swapped; upper or lower case) and those next to each such spelling in SKU order (a second slip further
        on). Each is an index seek, so the SKUs read stay a few hundred at a million products: comparing every
        SKU took seconds there. Characters past ``NEAR_SKU_CHARS`` are not looked at (no SKU is that long)."""
        found: set[str] = set()
        typed = sku[:NEAR_SKU_CHARS]
        for spelling in dict.fromkeys((typed, typed.upper(), typed.lower())):
            found |= self._existing_skus(_left_out_or_swapped(spelling))
            for i in range(len(spelling) + 1):
                start = spelling[:i]
                for char in self._next_chars(start):
                    for probe in (start + char + spelling[i + 1:], start + char + spelling[i:]):
                        found |= self._skus_beside(probe)
        return found

    def _existing_skus(self, skus: Iterable[str]) -> set[str]:
        rows = self.db.execute("SELECT sku FROM products WHERE sku IN (SELECT value FROM json_each(?))",
                               (json.dumps(list(skus)),))
        return {sku for (sku,) in rows}

    def _next_chars(self, start: str) -> list[str]:
        """The characters that follow ``start`` in the catalog's SKUs, in order: one seek each, skipping the SKUs
        that go on with the same character (a skip scan of the SKU index)."""
        chars: list[str] = []
        after, end = start, start + LAST_CHAR
        while len(chars) < NEAR_SKU_CHARS:
            row = self.db.execute("SELECT sku FROM products WHERE sku > ? AND sku < ? ORDER BY sku LIMIT 1",
                                  (after, end)).fetchone()
            if row is None:
                break
            chars.append(row[0][len(start)])
            after = start + chars[-1] + LAST_CHAR
        return chars

    def _skus_beside(self, probe: str) -> set[str]:
        """The ``NEAR_SKU_BESIDE`` SKUs at or after ``probe`` in SKU order and as many before it: those that share
        most of its start, among them a SKU with a second slip a few characters on."""
        after = self.db.execute("SELECT sku FROM products WHERE sku >= ? ORDER BY sku LIMIT ?",
                                (probe, NEAR_SKU_BESIDE))
        before = self.db.execute("SELECT sku FROM products WHERE sku < ? ORDER BY sku DESC LIMIT ?",
                                 (probe, NEAR_SKU_BESIDE))
        return {sku for (sku,) in [*after, *before]}

    def sample(self, n: int) -> list[Product]:
        """``n`` products spread over the catalog, the same ones on every call (a fixed hash of the id
        orders them), so a sample drawn from a million rows is one scan, not ``n`` sorted queries."""
        sql = f"SELECT {PRODUCT_COLUMNS} FROM products ORDER BY (id * 2654435761) % 4294967296, id LIMIT ?"
        return [self._product(r) for r in self.db.execute(sql, (n,))]

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM products").fetchone()[0])

    def category_counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT category, COUNT(*) FROM products GROUP BY category ORDER BY category")
        counts = {r[0]: r[1] for r in rows}
        if not all(isinstance(category, str) for category in counts):
            raise damaged(self.path, "a product's category is not text")
        return counts

    # -- vectors ------------------------------------------------------------------------------

    def put_vectors(self, embedder: str, items: Iterable[tuple[int, str, np.ndarray]], revision: int) -> None:
        """Store (product id, image hash, vector) rows for ``embedder`` inside a transaction."""
        self.db.executemany(
            "INSERT OR REPLACE INTO vectors (product_id, embedder, image_hash, revision, vector) "
            "VALUES (?, ?, ?, ?, ?)",
            ((pid, embedder, h, revision, np.asarray(v, np.float32).tobytes()) for pid, h, v in items),
        )

    def missing_vectors(self, embedder: str) -> list[Product]:
        """Products with no vector for ``embedder`` at their current image (new embedder, changed image)."""
        rows = self.db.execute(
            f"SELECT {', '.join('p.' + c.strip() for c in PRODUCT_COLUMNS.split(','))} FROM products p "
            "LEFT JOIN vectors v ON v.product_id = p.id AND v.embedder = ? AND v.image_hash = p.image_hash "
            "WHERE v.product_id IS NULL ORDER BY p.id",
            (embedder,),
        )
        return [self._product(r) for r in rows]

    def vectors(
        self, embedder: str, since: int = 0, category: str | None = None
    ) -> Iterator[tuple[int, str, np.ndarray]]:
        """(product id, category, vector) for ``embedder`` written after revision ``since``."""
        sql = (
            "SELECT v.product_id, p.category, v.vector FROM vectors v JOIN products p ON p.id = v.product_id "
            "WHERE v.embedder = ? AND v.revision > ? AND v.image_hash = p.image_hash"
        )
        args: list[Any] = [embedder, since]
        if category is not None:
            sql += " AND p.category = ?"
            args.append(category)
        rows = self.db.execute(sql + " ORDER BY v.product_id", args)
        for pid, of_category, blob in rows:
            if not isinstance(blob, bytes) or len(blob) % 4:
                raise damaged(self.path, f"product {pid}'s stored vector of {embedder} is not one")
            yield pid, of_category, np.frombuffer(blob, np.float32)

    def tombstones(self, since: int) -> list[tuple[int, str]]:
        rows = self.db.execute(
            "SELECT product_id, category FROM tombstones WHERE revision > ? ORDER BY revision", (since,)
        )
        return [(r[0], r[1]) for r in rows]

    def vectors_of(self, product_id: int) -> dict[str, bool]:
        """Each embedder holding a vector of the product, True where it is of the product's current photo: only those
        reach the index (``decorlens catalog show`` says whether the product can be matched at all)."""
        rows = self.db.execute(
            "SELECT v.embedder, v.image_hash = p.image_hash FROM vectors v JOIN products p ON p.id = v.product_id "
            "WHERE v.product_id = ? ORDER BY v.embedder", (product_id,),
        )
        return {r[0]: bool(r[1]) for r in rows}

    def has_vectors(self, embedder: str) -> bool:
        """Whether any product has a vector of ``embedder``: none after a switch of embedder whose embedding was
        cancelled or cut short by quitting (it is rolled back whole). One index lookup, where ``embedders`` counts
        every vector (a million rows)."""
        row = self.db.execute("SELECT 1 FROM vectors WHERE embedder = ? LIMIT 1", (embedder,)).fetchone()
        return row is not None

    def embedders(self) -> dict[str, int]:
        rows = self.db.execute("SELECT embedder, COUNT(*) FROM vectors GROUP BY embedder")
        return {r[0]: r[1] for r in rows}

    # -- backups ------------------------------------------------------------------------------

    def backup(self, reason: str, protect: Path | None = None) -> Path | None:
        """A rolling backup before a destructive operation (``engine.backups``); None for an empty catalog."""
        if self.count() == 0:
            return None
        return take_backup(self.db, self.path, reason, protect=protect)

    def restore_from(self, backup: Path) -> int:
        """Replace every product and vector by those of ``backup`` in one transaction; returns the count.

        The current catalog is backed up first. To the index the restore looks like "every current
        product removed, every restored vector written", all at one new revision, so any index (even
        one a running GUI holds) catches up incrementally and can never mistake old files for new.
        """
        _check_restorable(Path(backup))
        self.check()
        self.backup(BEFORE_RESTORE, protect=Path(backup))
        self.db.execute("ATTACH DATABASE ? AS restored", (str(Path(backup).resolve()),))  # only read
        try:
            self._replace_all()
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):  # quick_check does not read every row: a bad one is met here, and rolled back
                raise damaged(self.path, exc) from exc
            raise
        finally:
            self.db.execute("DETACH DATABASE restored")
        self.mark_restored(Path(backup))
        return self.count()

    def mark_restored(self, backup: Path) -> None:
        """Record that the catalog is now ``backup``, as of its current revision (``restored``)."""
        with self.write():
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                            (RESTORED_FROM, f"{self.revision} {Path(backup).name}"))

    def restored(self) -> bool:
        """Whether the catalog is a backup restored, unchanged since (same revision), that is still kept: that
        backup is its backup, and another copy (before it is re-embedded for the embedder in use) would only push
        an older backup out of the newest kept."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (RESTORED_FROM,)).fetchone()
        revision, _, name = str(row[0] if row else "").partition(" ")
        return revision == str(self.revision) and bool(name) and (backups_dir(self.path) / Path(name).name).is_file()

    def _replace_all(self) -> None:
        """Every product and vector of ``main`` replaced by those of the attached ``restored``, in one transaction."""
        with self.transaction() as revision:
            with closing(self.db.execute("SELECT id, category FROM products")) as current:
                # closed when a damaged row stops it: a statement left open kept "restored" attached ("locked")
                gone = [(pid, cat, revision) for pid, c in current for cat in (c, GLOBAL)]
            self.db.executemany("INSERT INTO tombstones (product_id, category, revision) VALUES (?, ?, ?)", gone)
            self.db.execute("DELETE FROM main.vectors")
            self.db.execute("DELETE FROM main.products")
            columns = ", ".join(self._restored_columns())
            self.db.execute(f"INSERT INTO main.products ({columns}) SELECT {columns} FROM restored.products")
            self._rekey()  # a backup's keys may be of other recipes, one of an older schema has none
            self.db.execute(
                "INSERT INTO main.vectors (product_id, embedder, image_hash, revision, vector) "
                "SELECT product_id, embedder, image_hash, ?, vector FROM restored.vectors "
                "WHERE product_id IN (SELECT id FROM main.products)", (revision,),
            )

    def _restored_columns(self) -> list[str]:
        """The product columns the attached backup has: one of schema 1 has no ``source`` (its products get ""). Not
        the ``KEYS``, worked out again."""
        have = {row[1] for row in self.db.execute("PRAGMA restored.table_info(products)")}
        return [c for c in PRODUCT_COLUMNS.split(", ") if c in have]

    def check(self) -> None:
        """``CatalogDamagedError`` unless SQLite's ``quick_check`` finds the file sound (a scan of every page: for
        a restore, not for every command). A restore into a damaged file failed on its first read of a bad page
        with the advice to restore a backup; ``catalog restore`` puts the backup in its place instead."""
        try:
            result = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, exc) from exc
        if result != "ok":
            raise damaged(self.path, result)

    # -- schema -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Create or upgrade the schema; versions are explicit, never guessed."""
        tables = self._tables()
        if "schema_version" in tables:
            self._check_version()
            missing = [t for t in TABLES if t not in tables]
            if missing:  # each command failed on SQLite's "no such table", a restore too
                raise damaged(self.path, f"its {missing[0]} table is gone")
            self._upgrade()
            self._drop_planted_code()
            self._name_file()
            self._check_recipe()
            return
        self._begin_write()  # two processes creating the same catalog: the second one finds it made
        if "schema_version" in self._tables():
            self.db.execute("ROLLBACK")
            return
        if self._tables() - {"sqlite_sequence"}:
            self.db.execute("ROLLBACK")
            raise CatalogError(f"{self.path} is an SQLite file but not a DecorLens catalog")
        for statement in filter(str.strip, SCHEMA.split(";")):  # executescript would commit first
            self.db.execute(statement)
        self.db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        self.db.execute("INSERT INTO meta (key, value) VALUES ('revision', '0')")
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (IDENTITY, secrets.token_hex(8)))
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (RECIPE_KEY, KEY_RECIPE))
        self.db.execute("COMMIT")

    def _upgrade(self) -> None:
        """Bring a catalog of an older schema to ``SCHEMA_VERSION``, each step (``UPGRADES``) in one transaction
        with its version: a failed or interrupted upgrade leaves the catalog as it was, every product kept.

        A backup is taken first (reason ``UPGRADE``): the DecorLens the user came from refuses the upgraded catalog,
        so going back to it meant starting over, with nothing in ``backups/`` from before the upgrade."""
        if ((found := self._version()) < SCHEMA_VERSION and not self._backed_up_for_upgrade()
                and (taken := self.backup(UPGRADE)) is not None):
            self.log(f"catalog upgraded from schema {found} to {SCHEMA_VERSION}; as it was before: {taken}")
        while (version := self._version()) < SCHEMA_VERSION:
            self._begin_write()
            if self._version() != version:  # another process upgraded it meanwhile
                self.db.execute("ROLLBACK")
                continue
            try:
                for statement in UPGRADES[version]:
                    self.db.execute(statement)
                if version + 1 == KEYED:  # its products keyed in the same transaction
                    self._rekey()
                self.db.execute("UPDATE schema_version SET version = ?", (version + 1,))
            except BaseException:
                self._rollback()
                raise
            self.db.execute("COMMIT")

    def _backed_up_for_upgrade(self) -> bool:
        """Whether the newest backup was taken before upgrading this catalog as it is now (schema, revision, file):
        an upgrade that failed or was killed (a full disk, the app closed while keying 200,000 products) took one
        more at each start, and five starts pushed out every backup from before it."""
        newest = next(iter(list_backups(self.path)), None)
        if newest is None or newest.reason != UPGRADE:
            return False
        try:
            with read_only(newest.path) as db:
                return _upgrade_state(db) == _upgrade_state(self.db)
        except sqlite3.Error:  # unreadable: not this catalog's state, so one more is taken
            return False

    def _check_recipe(self) -> None:
        """Key the products again, in one transaction, where their ``KEYS`` are of other recipes than this
        DecorLens's (``KEY_RECIPE``): a name order of another release left stored keys a sort misread."""
        if self._recipe() == KEY_RECIPE:
            return
        with self.write():
            if self._recipe() != KEY_RECIPE:  # not another process's, meanwhile
                self._rekey()

    def _recipe(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (RECIPE_KEY,)).fetchone()
        return str(row[0]) if row else ""

    def _rekey(self) -> None:
        """Every product's ``KEYS`` worked out again (in the caller's transaction), their ``KEY_INDEXES`` made anew,
        and their recipes recorded."""
        for name in KEY_INDEXES:
            self.db.execute(f"DROP INDEX IF EXISTS {name}")
        self._key_unkeyed(every=True)
        for name, columns in KEY_INDEXES.items():
            self.db.execute(f"CREATE INDEX {name} ON products ({columns})")
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (RECIPE_KEY, KEY_RECIPE))

    def _key_unkeyed(self, every: bool = False) -> None:
        """The ``KEYS`` of each product that has none (``name_key`` NULL; found through its index), or of ``every``
        product, written in the caller's transaction: of a restored backup's products (a backup holds none, or
        another recipe's), of a product written in SQL, of an upgrade's or recipe change's (``_rekey``).
        ``KEYS_AT_ONCE`` products a statement, in the order of their ids."""
        after, unkeyed = -1, "" if every else "name_key IS NULL AND"
        while rows := self.db.execute(
                f"SELECT id, CAST(name AS BLOB), CAST(price AS BLOB) FROM products WHERE {unkeyed} id > ? "
                "ORDER BY id LIMIT ?", (after, KEYS_AT_ONCE)).fetchall():
            keys = [(*product_keys(_keyed_text(name), _keyed_text(price)), pid) for pid, name, price in rows]
            self.db.executemany(f"UPDATE products SET {' = ?, '.join(KEYS)} = ? WHERE id = ?", keys)
            after = rows[-1][0]

    def _version(self) -> int:
        row = self.db.execute("SELECT version FROM schema_version").fetchone()
        return row[0] if row else 0

    def _name_file(self) -> None:
        """Give a catalog made before ``identity`` (or put in place of a damaged one) its name, once."""
        if self.identity:
            return
        self._begin_write()
        self.db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (IDENTITY, secrets.token_hex(8)))
        self.db.execute("COMMIT")

    def _drop_planted_code(self) -> None:
        """Drop every trigger and view: a DecorLens catalog has none, and one that a hostile bundle planted
        through an older DecorLens would rewrite every product imported later and travel on in exports."""
        planted = self.db.execute("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view')").fetchall()
        if not planted:
            return
        self._begin_write()
        for kind, name in planted:
            quoted = '"' + name.replace('"', '""') + '"'
            self.db.execute(f"DROP {'TRIGGER' if kind == 'trigger' else 'VIEW'} IF EXISTS {quoted}")
        self.db.execute("COMMIT")
        self.log(f"removed {len(planted)} trigger(s) or view(s) that do not belong in a catalog: {self.path}")

    def _tables(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _check_version(self) -> None:
        row = self.db.execute("SELECT version FROM schema_version").fetchone()
        version = row[0] if row else None
        if not isinstance(version, int) or version < 1:  # compared with a number: "unexpected TypeError"
            raise damaged(self.path, "its schema version is missing or not a number")
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"catalog {self.path} has schema version {version}, newer than this DecorLens "
                f"({SCHEMA_VERSION}); update DecorLens"
            )


def _upgrade_state(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """What tells a catalog apart from its own upgrade backup: its schema version, revision and file's name."""
    return [tuple(row) for row in db.execute("SELECT version, (SELECT value FROM meta WHERE key = 'revision'), "
                                             "(SELECT value FROM meta WHERE key = ?) FROM schema_version", (IDENTITY,))]


def _keyed_text(cell: bytes | None) -> str:
    """A name or price cell read as bytes, as the text its keys are worked out from. A cell that is not UTF-8 (a
    damaged page) or was edited by hand to a number is keyed too, so that a catalog holding one still opens and
    upgrades: read as text, one such name failed the upgrade to schema 3 whole, and the catalog did not open, where
    it used to be refused only when that product was shown."""
    return (cell or b"").decode("utf-8", "replace")


def columns_added_since(version: int) -> dict[str, set[str]]:
    """The columns each table gained in the upgrades from schema ``version`` on (``UPGRADES``): a catalog or backup
    of that version lacks them, and a restore gives them their defaults. Read from the upgrades themselves, so a
    later ``ADD COLUMN`` is known here without a second list to keep in step."""
    added: dict[str, set[str]] = {}
    for step, statements in UPGRADES.items():
        for match in (ADDED_COLUMN.match(s) for s in statements if step >= version):
            if match:
                added.setdefault(match[1], set()).add(match[2])
    return added


def normalise_image_path(image_path: str) -> str:
    """An absolute path, so the catalog works from any folder; a relative one must exist from here.

    Importers resolve paths against the folder or CSV they read; this is the last, cheap check for
    any other caller (a relative path stored as-is breaks as soon as DecorLens runs elsewhere).
    """
    if not image_path:
        raise CatalogError("a product needs an image path")
    path = Path(image_path).expanduser()
    if path.is_absolute():
        return os.path.normpath(path)
    if not path.is_file():
        raise CatalogError(f"image {image_path} is a relative path that does not exist from {Path.cwd()}")
    return str(path.resolve())


def restore_damaged(path: Path, backup: Path) -> tuple[Path, int]:
    """Put ``backup`` in place of the damaged catalog at ``path`` (``engine.backups.replace_damaged``), once it is
    checked as ``Catalog.restore_from`` checks it; returns where the damaged file was kept and the products restored.
    """
    _check_restorable(Path(backup))
    aside = replace_damaged(path, Path(backup), forget=(IDENTITY, RECIPE_KEY))  # keys of a backup are not trusted
    with Catalog(path) as restored:
        return aside, restored.count()


def _check_restorable(backup: Path) -> None:
    """A backup must be a readable DecorLens catalog of a schema this version can hold."""
    try:
        with read_only(backup) as db:
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise CatalogError(f"backup {backup} is damaged (quick_check failed)")
            computed = _computed_objects(db)
            if computed:
                raise CatalogError(f"backup {backup} holds {computed}, which DecorLens never writes: not a "
                                   "DecorLens catalog backup; the catalog is unchanged")
            version = db.execute("SELECT version FROM schema_version").fetchone()
            uneven = _uneven_vectors(db)
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"{backup} is not a readable DecorLens catalog backup: {exc}") from exc
    if version is None or version[0] not in range(1, SCHEMA_VERSION + 1):
        raise CatalogError(f"backup {backup} has schema version {version and version[0]}, this DecorLens "
                           f"restores versions 1 to {SCHEMA_VERSION}")
    if uneven:
        raise CatalogError(f"backup {backup} is damaged: its stored vectors of {uneven} differ in size; the catalog "
                           "is unchanged: restore another backup")


def _computed_objects(db: sqlite3.Connection) -> str:
    """The first view, trigger or virtual table in ``db``, named ("the view 'vectors'"), or "". The catalog schema has
    none, and each computes its rows: a backup whose ``vectors`` was a view of a recursive query never ended its
    restore (reading it filled the temp disk), and a trigger on ``meta`` fires when a restore writes its copy."""
    row = db.execute(
        "SELECT type, name, sql LIKE 'CREATE VIRTUAL%' FROM sqlite_master WHERE type IN ('view', 'trigger') "
        "OR (type = 'table' AND sql LIKE 'CREATE VIRTUAL%') LIMIT 1"
    ).fetchone()
    return f"the {'virtual table' if row[2] else row[0]} {reprlib.repr(row[1])}" if row else ""


def _uneven_vectors(db: sqlite3.Connection) -> str:
    """An embedder whose vectors in ``db`` are not all blobs of one length of whole floats, or "". Restored, such
    a backup broke every later index build ("unexpected RuntimeError: Wrong dimensionality of the vectors")."""
    row = db.execute(
        "SELECT embedder FROM vectors GROUP BY embedder HAVING COUNT(DISTINCT LENGTH(vector)) > 1 "
        "OR MIN(LENGTH(vector) % 4) > 0 OR MAX(LENGTH(vector) % 4) > 0 OR MAX(typeof(vector) != 'blob') LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else ""


def _lock_timeout() -> float:
    try:
        return float(os.environ.get(LOCK_TIMEOUT_ENV, LOCK_TIMEOUT))
    except ValueError:
        return LOCK_TIMEOUT


def _left_out_or_swapped(sku: str) -> set[str]:
    """``sku`` with one character left out, or two neighbours swapped: the slips a seek for a prefix misses."""
    return {*(sku[:i] + sku[i + 1:] for i in range(len(sku))),
            *(sku[:i] + sku[i + 1] + sku[i] + sku[i + 2:] for i in range(len(sku) - 1))}
