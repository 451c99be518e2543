"""The product catalog in SQLite: products, their image hashes, and vectors per embedder.

Every change happens in one transaction and bumps a ``revision`` counter; vectors and tombstones
carry the revision that wrote them, so the HNSW index can catch up incrementally (``engine.index``)
and a crash between the database commit and the index save only costs a re-sync, never data.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import CatalogError

SCHEMA_VERSION = 1
GLOBAL = "*"  # tombstone category meaning "gone from the all-categories index too"

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
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS products_category ON products (category);
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

PRODUCT_COLUMNS = "id, sku, name, category, image_path, image_hash, url, price, extra"


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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Product:
        return cls(
            id=row["id"], sku=row["sku"], name=row["name"], category=row["category"],
            image_path=row["image_path"], image_hash=row["image_hash"], url=row["url"],
            price=row["price"], extra=json.loads(row["extra"] or "{}"),
        )


class Catalog:
    """A catalog database file. Use as a context manager or call ``close``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        try:
            self.db.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"catalog {self.path} is not a readable DecorLens catalog: {exc}") from exc

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection: GUI workers search while an import writes (WAL readers don't wait)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[int]:
        """One atomic change; yields the new revision. Any exception (Ctrl-C too) rolls it back."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            revision = self.revision + 1
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'revision'", (str(revision),))
            yield revision
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @property
    def revision(self) -> int:
        return int(self.db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])

    # -- products -----------------------------------------------------------------------------

    def upsert(self, product: Product, revision: int) -> tuple[int, bool]:
        """Insert or update by sku inside a transaction; returns (id, image_or_category_changed)."""
        old = self.get_by_sku(product.sku)
        extra = json.dumps(product.extra, ensure_ascii=False, sort_keys=True)
        if old is None:
            cur = self.db.execute(
                "INSERT INTO products (sku, name, category, image_path, image_hash, url, price, extra) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (product.sku, product.name, product.category, product.image_path, product.image_hash,
                 product.url, product.price, extra),
            )
            return int(cur.lastrowid), True
        if old.category != product.category:
            self.db.execute(
                "INSERT INTO tombstones (product_id, category, revision) VALUES (?, ?, ?)",
                (old.id, old.category, revision),
            )
        changed = old.image_hash != product.image_hash or old.category != product.category
        self.db.execute(
            "UPDATE products SET name = ?, category = ?, image_path = ?, image_hash = ?, url = ?, "
            "price = ?, extra = ? WHERE id = ?",
            (product.name, product.category, product.image_path, product.image_hash, product.url,
             product.price, extra, old.id),
        )
        if changed:  # the vector must be rewritten at this revision so the index picks it up
            self.db.execute("DELETE FROM vectors WHERE product_id = ?", (old.id,))
        return old.id, changed

    def remove(self, skus: Iterable[str]) -> int:
        """Delete products by sku in one transaction; returns how many existed."""
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
        return Product.from_row(row) if row else None

    def get_many(self, ids: Iterable[int]) -> dict[int, Product]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id IN ({marks})", ids)
        return {row["id"]: Product.from_row(row) for row in rows}

    def get_by_sku(self, sku: str) -> Product | None:
        row = self.db.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE sku = ?", (sku,)).fetchone()
        return Product.from_row(row) if row else None

    def products(
        self, category: str | None = None, text: str = "", limit: int | None = None, offset: int = 0
    ) -> list[Product]:
        """Products filtered by category and by a substring of name or sku, ordered by category, name."""
        sql = f"SELECT {PRODUCT_COLUMNS} FROM products WHERE 1=1"
        args: list[Any] = []
        if category:
            sql += " AND category = ?"
            args.append(category)
        if text:
            sql += " AND (name LIKE ? OR sku LIKE ?)"
            args += [f"%{text}%", f"%{text}%"]
        sql += " ORDER BY category, name, sku LIMIT ? OFFSET ?"
        args += [-1 if limit is None else limit, offset]
        return [Product.from_row(r) for r in self.db.execute(sql, args)]

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM products").fetchone()[0])

    def category_counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT category, COUNT(*) FROM products GROUP BY category ORDER BY category")
        return {r[0]: r[1] for r in rows}

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
        return [Product.from_row(r) for r in rows]

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
        for pid, category, blob in rows:
            yield pid, category, np.frombuffer(blob, np.float32)

    def tombstones(self, since: int) -> list[tuple[int, str]]:
        rows = self.db.execute(
            "SELECT product_id, category FROM tombstones WHERE revision > ? ORDER BY revision", (since,)
        )
        return [(r[0], r[1]) for r in rows]

    def embedders(self) -> dict[str, int]:
        rows = self.db.execute("SELECT embedder, COUNT(*) FROM vectors GROUP BY embedder")
        return {r[0]: r[1] for r in rows}

    # -- schema -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Create or upgrade the schema; versions are explicit, never guessed."""
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "schema_version" in tables:
            version = self.db.execute("SELECT version FROM schema_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CatalogError(
                    f"catalog {self.path} has schema version {version}, newer than this DecorLens "
                    f"({SCHEMA_VERSION}); update DecorLens"
                )
            return
        if tables - {"sqlite_sequence"}:
            raise CatalogError(f"{self.path} is an SQLite file but not a DecorLens catalog")
        self.db.executescript("BEGIN;" + SCHEMA + f"""
            INSERT INTO schema_version (version) VALUES ({SCHEMA_VERSION});
            INSERT INTO meta (key, value) VALUES ('revision', '0');
            COMMIT;""")
