"""A bundle's catalog database copied into a catalog of this machine's schema, row by row.

The database in a bundle is a file someone else wrote: it can carry triggers that rewrite every product
imported later, views posing as tables, extra tables, odd column types or rows of any size. So it is
never adopted as a file. It is opened read-only (``mode=ro&immutable=1``, ``trusted_schema`` off, so
no schema object of it runs code), known columns of known tables are read, each value is checked, and
the products and vectors are inserted into a fresh catalog created by ``engine.catalog`` through its
API, in one transaction. Nothing else of the file survives: no trigger, view, index, table or pragma.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from engine.catalog import SCHEMA_VERSION, Catalog, Product
from engine.errors import CatalogError

MAX_TEXT = 16 * 1024  # characters in sku, name, category, url, price
MAX_EXTRA = 256 * 1024  # characters of a product's extra JSON
MAX_KEY = 256  # characters of an embedder key
MAX_DIM = 16384
HASH = re.compile(r"[0-9a-f]{64}")
TABLES = ("schema_version", "products", "vectors")
ImagePath = Callable[[str, str], str]  # (sku, image path in the bundle) -> image path on this machine


def open_readonly(path: Path) -> sqlite3.Connection:
    """The bundle's database, read-only and immutable; its schema may not run functions."""
    try:
        db = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
        db.execute("PRAGMA trusted_schema = OFF")
        _check(db)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise CatalogError(f"the catalog database in the bundle is unreadable: {_reason(exc)}") from exc
    return db


def _check(db: sqlite3.Connection) -> None:
    if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
        raise CatalogError("the catalog database in the bundle is corrupt")
    kinds = dict(db.execute(
        f"SELECT name, type FROM sqlite_master WHERE name IN ({','.join('?' * len(TABLES))})", TABLES
    ).fetchall())
    missing = [t for t in TABLES if kinds.get(t) != "table"]
    if missing:
        raise CatalogError(f"the database in the bundle is not a DecorLens catalog (no {missing[0]} table)")
    version = db.execute("SELECT version FROM schema_version").fetchone()
    if version is None or not isinstance(version[0], int) or version[0] > SCHEMA_VERSION:
        raise CatalogError(f"the database in the bundle has schema version {version and version[0]!r}; "
                           f"this DecorLens reads up to {SCHEMA_VERSION}")


def copy_catalog(source: Path, catalog: Catalog, image_path: ImagePath) -> dict[int, int]:
    """Products and vectors of the bundle's database into ``catalog``, in one transaction; returns
    {bundle product id: id here} (the bundle's catalog map places products by the bundle's ids)."""
    db = open_readonly(source)
    try:
        with catalog.transaction() as revision:
            ids = _copy_products(db, catalog, image_path, revision)
            _copy_vectors(db, catalog, ids, revision)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise CatalogError(f"the catalog database in the bundle is unreadable: {_reason(exc)}") from exc
    finally:
        db.close()
    return ids


def _copy_products(db: sqlite3.Connection, catalog: Catalog, image_path: ImagePath, revision: int) -> dict[int, int]:
    """{bundle product id: id here}; the catalog gives its own ids, so vectors are remapped."""
    ids: dict[int, int] = {}
    rows = db.execute("SELECT id, sku, name, category, image_path, image_hash, url, price, extra "
                      "FROM products ORDER BY id")
    for old_id, sku, name, category, path, image_hash, url, price, extra in rows:
        sku = _text(sku, "sku", old_id, required=True)
        if not isinstance(old_id, int) or old_id in ids or catalog.get_by_sku(sku) is not None:
            raise CatalogError(f"the database in the bundle has a duplicate product ({sku!r}); refusing it")
        if not isinstance(image_hash, str) or not HASH.fullmatch(image_hash):
            raise CatalogError(f"product {sku!r} in the bundle has an invalid image hash; refusing the bundle")
        product = Product(
            sku=sku, name=_text(name, "name", sku), category=_text(category, "category", sku, required=True),
            image_path=image_path(sku, _text(path, "image_path", sku, required=True)), image_hash=image_hash,
            url=_text(url, "url", sku), price=_text(price, "price", sku), extra=_extra(extra, sku),
        )
        ids[old_id] = catalog.upsert(product, revision).id
    return ids


def _copy_vectors(db: sqlite3.Connection, catalog: Catalog, ids: dict[int, int], revision: int) -> None:
    rows = db.execute("SELECT embedder, product_id, image_hash, vector FROM vectors ORDER BY embedder, product_id")
    for key, group in itertools.groupby(rows, key=lambda r: r[0]):
        if not isinstance(key, str) or not key or len(key) > MAX_KEY:
            raise CatalogError("the database in the bundle has an invalid embedder key; refusing it")
        catalog.put_vectors(key, _vectors(key, group, ids), revision)


def _vectors(key: str, rows: Iterator[tuple[Any, ...]], ids: dict[int, int]) -> Iterator[tuple[int, str, np.ndarray]]:
    dim = None
    for _, product_id, image_hash, blob in rows:
        if product_id not in ids:
            continue  # a vector of no product: nothing to adopt
        if not isinstance(blob, bytes) or not isinstance(image_hash, str) or not HASH.fullmatch(image_hash):
            raise CatalogError(f"the database in the bundle has an invalid {key} vector; refusing it")
        if dim is None:
            dim = len(blob) // 4
        if len(blob) != dim * 4 or not 0 < dim <= MAX_DIM:
            raise CatalogError(f"the {key} vectors in the bundle have inconsistent sizes; refusing it")
        vector = np.frombuffer(blob, np.float32)
        if not np.isfinite(vector).all():
            raise CatalogError(f"a {key} vector in the bundle holds NaN or infinity; refusing it")
        yield ids[product_id], image_hash, vector


def _text(value: Any, column: str, sku: Any, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_TEXT or "\0" in value:
        raise CatalogError(f"product {sku!r} in the bundle has an invalid {column}; refusing the bundle")
    return value


def _extra(value: Any, sku: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    extra = None
    if isinstance(value, str) and len(value) <= MAX_EXTRA:
        try:
            extra = json.loads(value, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            extra = None
    if not isinstance(extra, dict):
        raise CatalogError(f"product {sku!r} in the bundle has invalid extra data; refusing the bundle")
    return extra


def _no_constant(name: str) -> float:
    """JSON's NaN and Infinity are not JSON; a catalog never stores them."""
    raise ValueError(name)



def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "text that is not UTF-8"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
