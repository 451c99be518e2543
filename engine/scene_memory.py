"""The scene memory: every tagged photo's objects, their best matches and vectors, in the catalog database.

It answers three questions a catalog alone cannot: *where is this product used* (the photos whose
objects were matched to it, best first), *what goes with it* (the products best-matched in the same
photos: shown together in a room, they go together), and *which rooms hold something like this
product photo* (the stored objects' vectors ranked by cosine, so a product never matched yet is
found too).

A photo is keyed by its resolved path and its content hash: tagging it again (in the app after each
edit, or in a batch) replaces whatever was remembered under either key, so a photo edited in place
or moved is never counted twice. Products are referred to by SKU, not id, so removing, re-importing
or restoring the catalog leaves the memory readable; a SKU no longer in the catalog is shown as gone.

The tables live beside the catalog's own with a version of their own (``meta`` key ``scene_memory``),
created on the first photo remembered: a catalog that never tagged a photo, its backups and the bundles
made from it hold exactly the catalog schema, so bundles stay readable by earlier DecorLens versions
(bundle export drops the tables: the memory names photos on this machine, it does not travel).
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.boxes import scaled
from engine.catalog import Catalog
from engine.categories import CategoryMap
from engine.corrections import KEY_DIGITS
from engine.crops import crops as cut_crops
from engine.errors import Cancelled, CatalogError, DecorLensError
from engine.files import FileVersion, file_version, is_sha256, sha256_of
from engine.imageio import MAX_SIDE, load_image, upright_size
from engine.importer import CATALOG_MAX_SIDE, Progress
from engine.paths import UNDECODED
from engine.results import Box, SceneResult
from engine.words import counted

if TYPE_CHECKING:
    from engine.pipeline import Pipeline

VERSION = 1
VERSION_KEY = "scene_memory"
APP = "app"
BATCH = "batch"
BOX_DIGITS = 1  # boxes are compared at 0.1 px: a vector is reused when its object's box is unchanged
Log = Callable[[str], None]

SCHEMA = """
CREATE TABLE IF NOT EXISTS scenes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    origin TEXT NOT NULL,
    tagged_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scenes_path ON scenes (path);
CREATE INDEX IF NOT EXISTS scenes_sha256 ON scenes (sha256);
CREATE TABLE IF NOT EXISTS scene_objects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scene_id INTEGER NOT NULL REFERENCES scenes (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    category TEXT NOT NULL,
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
    best_sku TEXT NOT NULL,
    best_score REAL NOT NULL,
    best_kind TEXT NOT NULL,
    confirmed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS scene_objects_scene ON scene_objects (scene_id);
CREATE INDEX IF NOT EXISTS scene_objects_best ON scene_objects (best_sku);
CREATE TABLE IF NOT EXISTS scene_matches (
    object_id INTEGER NOT NULL REFERENCES scene_objects (id) ON DELETE CASCADE,
    rank INTEGER NOT NULL,
    sku TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (object_id, rank)
);
CREATE TABLE IF NOT EXISTS scene_vectors (
    object_id INTEGER NOT NULL REFERENCES scene_objects (id) ON DELETE CASCADE,
    embedder TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (object_id, embedder)
);
"""
TABLES = ("scenes", "scene_objects", "scene_matches", "scene_vectors")


@dataclass(frozen=True)
class SeenObject:
    """One object of a tagged photo as it is to be remembered: its box and what it was matched to."""

    number: int
    category: str
    box: Box
    matches: tuple[tuple[str, float, str], ...]  # (sku, score, kind), best first
    confirmed: tuple[str, float, str] | None = None  # the product the user confirmed, if any
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)  # as the search embedded it
    embedder: str = ""  # the key of the embedder that made ``vector``

    @property
    def best(self) -> tuple[str, float, str] | None:
        return self.confirmed or (self.matches[0] if self.matches else None)


@dataclass(frozen=True)
class Sighting:
    """An object of a remembered photo: where a product was matched, or what looks like a product photo."""

    photo: str
    box: Box
    category: str
    number: int
    score: float
    kind: str  # exact / likely / similar as matched, or "cosine" for a search by product photo
    confirmed: bool
    sku: str
    tagged_at: str
    size: tuple[int, int] = (0, 0)  # (width, height) of the picture ``box`` is in, as stored beside it
    sha256: str = ""  # the photo's content as tagged ("" unknown): a file changed since holds other things at ``box``

    @property
    def exists(self) -> bool:
        """Whether the photo is still a file. A stored path the system cannot look up (past its length limit) is
        not: ``is_file`` raised 'File name too long', and `where` listed nothing for one such row."""
        try:
            return Path(self.photo).is_file()
        except OSError:
            return False

    @property
    def photo_box(self) -> Box:
        """``box`` in the photo's own pixels. A photo larger than ``MAX_SIDE`` remembered before DecorLens reported
        boxes in the photo's pixels was stored at the size it was decoded to (its longer side ``MAX_SIDE``): its
        box is brought to the photo's size, read from the file's header, while the file can be read."""
        if max(self.size) != MAX_SIDE:
            return self.box
        own = _header_size(self.photo)
        return self.box if own is None else box_in(self.box, self.size, *own)

    def to_json(self) -> dict[str, Any]:
        return {
            "photo": self.photo, "box": [round(v, 1) for v in self.photo_box], "category": self.category,
            "object": self.number, "score": round(self.score, 4), "match": self.kind,
            "confirmed": self.confirmed, "sku": self.sku, "tagged_at": self.tagged_at, "photo_exists": self.exists,
        }


def _header_size(photo: str) -> tuple[int, int] | None:
    """The photo's own upright (width, height) from its header, or None for a file gone or unreadable (its boxes are
    shown as stored). A listing of many objects of one photo (`where`, `search --scenes`) read the same header once
    per object; now once per state of the file. A cache keyed by the file's state rather than sizes resolved where
    sightings are built: a listing builds far more sightings than it shows boxes of (`where` counts every tag and
    prints ``--limit``; the app's panel cuts them from the pixels it decodes and asks no header), and a photo replaced
    in place (another state) is read again."""
    state = file_version(photo)
    return None if state is None else _header_size_at(photo, state)


@functools.lru_cache(maxsize=1024)
def _header_size_at(photo: str, _state: FileVersion) -> tuple[int, int] | None:
    """``_header_size`` of the photo in one state of its file (``_state``: the cache's key)."""
    try:
        return upright_size(photo)
    except DecorLensError:
        return None


def box_in(box: Box, size: tuple[int, int], width: int, height: int) -> Box:
    """A box stored in a ``size`` (width, height) picture of a photo, in a ``width`` x ``height`` one: boxes are
    stored with the size they refer to (the photo's own; the decoded size in a memory written before), so a reader
    cutting them from the pixels it decoded fits them first. A size of 0 (unknown) leaves the box as it is."""
    return scaled(box, width / size[0], height / size[1]) if all(size) else box


# -- what a tagged photo holds ----------------------------------------------------------------------


def objects_of(result: SceneResult) -> list[SeenObject]:
    """The objects of a search result (a batch-tagged photo), numbered from 1 as the JSON shows them,
    with the vectors the search handed on (``SceneObject.vector``)."""
    return [
        SeenObject(n, o.category, tuple(o.box), tuple((m.sku, m.score, m.match) for m in o.matches),
                   vector=o.vector, embedder=result.embedder if o.vector is not None else "")
        for n, o in enumerate(result.objects, 1)
    ]


def objects_of_json(data: dict[str, Any]) -> list[SeenObject]:
    """The objects of a scene as the app saves it (``EditableScene.to_json``): removed tags are not in it."""
    seen = []
    for n, entry in enumerate(data["objects"], 1):
        matches = tuple((m["sku"], float(m["score"]), m["match"]) for m in entry.get("matches", []))
        confirmed = entry.get("confirmed")
        chosen = (confirmed["sku"], float(confirmed["score"]), confirmed["match"]) if confirmed else None
        seen.append(SeenObject(int(entry.get("number", n)), entry["category"], tuple(entry["box"]), matches, chosen))
    return seen


# -- remembering --------------------------------------------------------------------------------------


def remember(
    pipeline: Pipeline, photo: str | Path, size: tuple[int, int], objects: Sequence[SeenObject], origin: str,
    sha256: str = "", decoded: np.ndarray | None = None,
) -> int:
    """Store a tagged photo's objects, best matches and vectors, replacing what its path or content had.

    Vectors are of the active embedder, of each object's crop padded as the search pads it (the search
    may pool more views of the box, a mirrored one; the product photos they are compared with have
    none), so in-situ search compares like with like. Nothing is embedded twice: an object carrying the
    vector its search computed (``SeenObject.vector`` of the active embedder) is stored with it, and one
    whose box did not change since the photo was last remembered keeps its vector (an edit in the app
    re-embeds only the box drawn). ``size`` is the (width, height) the boxes refer to; ``decoded`` the
    photo's pixels the boxes were found on, if at hand (the app's open photo: its file may have gone since).
    Returns the number of objects stored.
    """
    path = Path(photo).resolve()
    sha256 = sha256 or sha256_of(path)
    catalog, key = pipeline.catalog, pipeline.embedder.key
    handed_on = {_box_key(o.box): o.vector for o in objects if o.vector is not None and o.embedder == key}
    kept = {**_old_vectors(catalog, str(path), sha256, key, pipeline.embedder.dim), **handed_on}
    boxes = [o.box for o in objects if _box_key(o.box) not in kept]
    pixels = (load_image(path) if decoded is None else decoded) if boxes else None
    fresh = dict(zip(map(_box_key, boxes), _embed(pipeline, pixels, boxes, size))) if boxes else {}
    vectors = [kept.get(_box_key(o.box), fresh.get(_box_key(o.box))) for o in objects]
    width, height = size
    with catalog.write():
        _ensure_schema(catalog)
        db = catalog.db
        db.execute("DELETE FROM scenes WHERE path = ? OR sha256 = ?", (stored_path(path), sha256))
        scene_id = db.execute(
            "INSERT INTO scenes (path, sha256, width, height, origin, tagged_at) VALUES (?, ?, ?, ?, ?, ?)",
            (stored_path(path), sha256, width, height, origin, datetime.now(UTC).isoformat(timespec="seconds")),
        ).lastrowid
        for obj, vector in zip(objects, vectors):
            _insert_object(db, scene_id, obj, key, vector)
    return len(objects)


def stored_path(path: str | Path) -> str | bytes:
    """A photo's path as the memory stores it: text, or where it is not UTF-8 (a POSIX file name's undecodable bytes
    come to Python as lone surrogates, which SQLite's text cannot hold) the name's own bytes, a BLOB. Such a photo
    was refused ("tagged but not remembered"), so Where used never listed it."""
    text = str(path)
    return text if text.isascii() or not UNDECODED.search(text) else os.fsencode(text)


def read_path(stored: object) -> object:
    """A stored path (read as ``PATH`` selects it: bytes) as the str that opens the file: its bytes as the system
    decodes file names, so a name that is not UTF-8 is kept exact. A cell of any other type is given back as it is,
    for the caller to refuse."""
    return os.fsdecode(stored) if isinstance(stored, bytes) else stored


# A scene's path as bytes: a TEXT cell that is not UTF-8 (a hand edit, another tool) ended every read of its row in
# sqlite3's "Could not decode to UTF-8", reported as a damaged catalog; read as bytes it is the photo's file name.
PATH = "CASE WHEN typeof(s.path) = 'text' THEN CAST(s.path AS BLOB) ELSE s.path END"


def text_of(column: str) -> str:
    """A TEXT column read as its bytes (NULL where the cell holds no text), for ``read_text``. sqlite3 decodes TEXT
    with the connection's ``text_factory``, which the catalog's readers share (``Catalog.db``), so a category, SKU or
    date that is not UTF-8 (a hand edit, another tool) ended `where`, `search --scenes` and the Review window in
    "Could not decode to UTF-8", said as a damaged catalog, where the row alone is unreadable."""
    return f"CASE WHEN typeof({column}) = 'text' THEN CAST({column} AS BLOB) END"


def read_text(stored: object) -> object:
    """A cell read by ``text_of`` as text: its bytes that are not UTF-8 each as U+FFFD (they name nothing the catalog
    can look up, so a SKU so read is shown as gone); a cell of another type (NULL) as it is, for the caller to
    refuse as before."""
    return stored.decode("utf-8", "replace") if isinstance(stored, bytes) else stored


def read_sha256(stored: object) -> str:
    """A photo's content hash read by ``text_of``: the digest where it is one as ``sha256_of`` writes it, else "".

    Text that is not UTF-8 (a hand edit, another tool) ended the Photos strip's tag counts and every search of the
    rooms after an embedder switch in "Could not decode to UTF-8", said as a damaged catalog. Such a cell, or any
    other that is no digest (not text at all included), matches no photo's content, and that is all it means: the
    photo is known by its path alone (the strip counts its tags by path), and a search that must cut its objects
    again finds it "changed since tagged" and says to tag it again, which stores its real digest. Its tags stay in
    Where used meanwhile."""
    text = read_text(stored)
    return text if is_sha256(text) else ""


def remember_saved(
    pipeline: Pipeline, photo: str | Path, data: dict[str, Any], searched: SceneResult | None = None,
    decoded: np.ndarray | None = None,
) -> int | None:
    """Remember a photo as the app shows it (``EditableScene.to_json``: removals and confirmations applied).

    ``searched`` is the search the photo's tags came from: its objects' vectors are handed on by box, so
    opening a photo embeds nothing twice (only a box drawn or moved since is embedded). With an empty
    catalog nothing was matched, so nothing is remembered (None: the photo is remembered once it is searched
    against an imported catalog). ``decoded`` as for ``remember``. Returns the number of objects stored.
    """
    if pipeline.catalog.count() == 0:
        return None
    size = (int(data["width"]), int(data["height"]))
    objects = objects_of_json(data)
    if searched is not None:
        objects = _with_vectors(objects, searched)
    return remember(pipeline, photo, size, objects, APP, data["corrections"]["image_sha256"], decoded)


def _with_vectors(objects: Sequence[SeenObject], searched: SceneResult) -> list[SeenObject]:
    """The objects with the vectors ``searched`` computed for the same boxes."""
    vectors = {_box_key(o.box): o.vector for o in searched.objects if o.vector is not None}
    return [
        replace(o, vector=vectors[_box_key(o.box)], embedder=searched.embedder)
        if searched.embedder and _box_key(o.box) in vectors else o
        for o in objects
    ]


def _insert_object(db: sqlite3.Connection, scene_id: int, obj: SeenObject, key: str, vector: np.ndarray | None) -> None:
    sku, score, kind = obj.best or ("", 0.0, "")
    object_id = db.execute(
        "INSERT INTO scene_objects (scene_id, number, category, x1, y1, x2, y2, best_sku, best_score, best_kind, "
        "confirmed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (scene_id, obj.number, obj.category, *map(float, obj.box), sku, float(score), kind, obj.confirmed is not None),
    ).lastrowid
    db.executemany(
        "INSERT INTO scene_matches (object_id, rank, sku, score) VALUES (?, ?, ?, ?)",
        [(object_id, rank, s, float(v)) for rank, (s, v, _) in enumerate(obj.matches, 1)],
    )
    if vector is not None:
        db.execute("INSERT INTO scene_vectors (object_id, embedder, vector) VALUES (?, ?, ?)",
                   (object_id, key, np.asarray(vector, np.float32).tobytes()))


def _old_vectors(catalog: Catalog, path: str, sha256: str, key: str, dim: int) -> dict[tuple[float, ...], np.ndarray]:
    """Vectors already stored for this very content, by box: what an edit or a re-tag need not embed again. None
    from a memory damaged as a whole, and none from a row not as stored (a box or vector of another type or size):
    remembering replaces them (``_ensure_schema``, the photo's rows), and re-tagging failed on them with a bug's
    TypeError, though the damage's line advises it."""
    try:
        if not _has_schema(catalog):
            return {}
    except DamagedMemory:
        return {}
    rows = catalog.db.execute(
        "SELECT o.x1, o.y1, o.x2, o.y2, v.vector FROM scenes s JOIN scene_objects o ON o.scene_id = s.id "
        "JOIN scene_vectors v ON v.object_id = o.id WHERE s.sha256 = ? AND v.embedder = ?",
        (sha256, key),
    )
    return {_box_key(r[:4]): np.frombuffer(r[4], np.float32) for r in rows
            if all(isinstance(v, int | float) for v in r[:4]) and isinstance(r[4], bytes) and len(r[4]) == 4 * dim}


def _embed(pipeline: Pipeline, pixels: np.ndarray, boxes: Sequence[Box], size: tuple[int, int]) -> np.ndarray:
    """The vectors of ``boxes``, given in a ``size`` (width, height) picture of the photo, cut from ``pixels``: the
    photo's own size now, the decoded size in a memory written before (a scene's stored width and height)."""
    on_pixels = [box_in(b, size, pixels.shape[1], pixels.shape[0]) for b in boxes]
    return pipeline.embedder.embed(cut_crops(pixels, on_pixels, pipeline.settings.padding))


def _box_key(box: Iterable[float]) -> tuple[float, ...]:
    return tuple(round(float(v), BOX_DIGITS) for v in box)


# -- where used, goes with ------------------------------------------------------------------------------


SIGHTING_COLUMNS = (
    f"{PATH}, o.x1, o.y1, o.x2, o.y2, {text_of('o.category')}, o.number, o.best_score, {text_of('o.best_kind')}, "
    f"o.confirmed, {text_of('o.best_sku')}, {text_of('s.tagged_at')}, s.width, s.height, {text_of('s.sha256')}"
)


def where_used(catalog: Catalog, sku: str, limit: int | None = None) -> list[Sighting]:
    """The objects whose best match (or confirmed product) is ``sku``: confirmed ones first, then by score."""
    if not _has_schema(catalog):
        return []
    rows = catalog.db.execute(
        f"SELECT {SIGHTING_COLUMNS} FROM scene_objects o JOIN scenes s ON s.id = o.scene_id WHERE o.best_sku = ? "
        "ORDER BY o.confirmed DESC, o.best_score DESC, s.path, o.number LIMIT ?",
        (sku, -1 if limit is None else limit),
    )
    return [_sighting(catalog, r) for r in rows]


def photos_of(catalog: Catalog, skus: Iterable[str]) -> dict[str, int]:
    """SKU → how many remembered photos hold an object whose best match (or confirmed product) it is, as
    ``where_used`` finds them; 0 for none. One grouped query, the SKUs passed as one JSON array as the catalog
    passes them (``Catalog.products``): the duplicates window asked ``where_used`` once per product of its groups,
    each reading every sighting's row."""
    found = dict.fromkeys(skus, 0)
    if not found or not _has_schema(catalog):
        return found
    found.update(catalog.db.execute(
        "SELECT o.best_sku, COUNT(DISTINCT s.path) FROM scene_objects o JOIN scenes s ON s.id = o.scene_id "
        "WHERE o.best_sku IN (SELECT value FROM json_each(?)) GROUP BY o.best_sku", (json.dumps(list(found)),)))
    return found


def goes_with(catalog: Catalog, sku: str, limit: int = 10) -> list[tuple[str, int]]:
    """(sku, photos) of the products best-matched in the photos where ``sku`` is, most photos first.

    Each photo counts once per product, however many of its objects matched it (six chairs around
    one table are one vote for the pair, not six).
    """
    return goes_with_any(catalog, [sku], limit)


def goes_with_any(catalog: Catalog, skus: Sequence[str], limit: int = 10) -> list[tuple[str, int]]:
    """``goes_with`` for a set of products (a look): the photos holding any of them vote, none of them is named,
    nor one the catalog no longer has (a product removed since it was matched is not offered)."""
    if not _has_schema(catalog) or not skus:
        return []
    marks = ",".join("?" * len(skus))
    rows = catalog.db.execute(
        f"WITH seen AS (SELECT DISTINCT scene_id FROM scene_objects WHERE best_sku IN ({marks})) "
        "SELECT o.best_sku, COUNT(DISTINCT o.scene_id) AS photos FROM scene_objects o JOIN seen USING (scene_id) "
        f"WHERE o.best_sku NOT IN ('', {marks}) AND o.best_sku IN (SELECT sku FROM products) GROUP BY o.best_sku "
        "ORDER BY photos DESC, MAX(o.best_score) DESC, o.best_sku LIMIT ?",
        (*skus, *skus, limit),
    )
    return [(r[0], r[1]) for r in rows]


def photo_count(catalog: Catalog) -> int:
    if not _has_schema(catalog):
        return 0
    return int(catalog.db.execute("SELECT COUNT(*) FROM scenes").fetchone()[0])


@dataclass(frozen=True)
class TagCounts:
    """How many tags each remembered photo holds, by content key (``KEY_DIGITS`` hex digits of its SHA-256, as the
    Photos strip knows its photos) and by path (for a photo whose bytes cannot be hashed): the strip marks every
    thumbnail from one read of the memory, not a query per photo. A photo remembered with none was searched and
    nothing was found, or its tags were all removed."""

    by_key: dict[str, int]
    by_path: dict[str, int]


def tag_counts(catalog: Catalog) -> TagCounts:
    """Every remembered photo's number of tags, in one query."""
    if not _has_schema(catalog):
        return TagCounts({}, {})
    rows = catalog.db.execute(
        f"SELECT {PATH}, {text_of('s.sha256')}, COUNT(o.id) FROM scenes s LEFT JOIN scene_objects o "
        "ON o.scene_id = s.id GROUP BY s.id"
    ).fetchall()
    return TagCounts({key[:KEY_DIGITS]: int(r[2]) for r in rows if (key := read_sha256(r[1]))},
                     {str(read_path(r[0])): int(r[2]) for r in rows})


def tag_categories(catalog: Catalog) -> dict[str, int]:
    """How many remembered tags there are of each decor category."""
    if not _has_schema(catalog):
        return {}
    counts: dict[str, int] = {}
    for category, count in catalog.db.execute(f"SELECT {text_of('category')}, COUNT(*) FROM scene_objects "
                                              "GROUP BY category"):
        name = str(read_text(category))  # two categories unreadable alike are one name
        counts[name] = counts.get(name, 0) + int(count)
    return counts


def tags_of_kind(pipeline: Pipeline, category: str) -> int:
    """The remembered tags whose search takes in the catalog ``category``: a product of it can only be the best
    match of those. None (0) means the photos were tagged while the catalog sold nothing of it (a lamp shop that began
    selling chairs), not that no room holds one."""
    searches = pipeline.categories.searched
    return sum(n for decor, n in tag_categories(pipeline.catalog).items() if category in searches(decor))


# -- rooms like a product photo ---------------------------------------------------------------------------


def embed_product_photo(pipeline: Pipeline, photo: str | Path) -> np.ndarray:
    """The vector of a product photo, decoded and embedded as the catalog's own are (whole picture)."""
    return pipeline.embedder.embed([load_image(photo, max_side=CATALOG_MAX_SIDE)])[0]


def product_vector(pipeline: Pipeline, sku: str) -> np.ndarray | None:
    """The catalog's stored vector of ``sku`` for the active embedder (None: not in the catalog, or unembedded)."""
    row = pipeline.catalog.db.execute(
        "SELECT v.vector FROM vectors v JOIN products p ON p.id = v.product_id "
        "WHERE p.sku = ? AND v.embedder = ? AND v.image_hash = p.image_hash",
        (sku, pipeline.embedder.key),
    ).fetchone()
    return None if row is None else np.frombuffer(row[0], np.float32)


def rooms_like(
    pipeline: Pipeline, query: np.ndarray, k: int = 10, log: Log = lambda _m: None,
    progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False, *, category: str | None = None,
) -> list[Sighting]:
    """The ``k`` remembered photos holding the objects most like ``query``, each with its closest object.

    ``category``, a catalog category, ranks only the objects whose tag would search it (the category map's
    ``searched``, as a tag's matches are searched): a desk's photo then finds desks and tables, not the chairs
    around them. None ranks every object (a product photo from outside the catalog has no category).

    An exact cosine search in numpy, with no index to keep in step with re-tagged photos. The Where used
    panel asks on every product selected, so the vectors are read once into one float32 matrix and kept
    (``_object_vectors``): 10,000 photos of ten objects are a 0.5 GB matrix read in about 0.6 s, then searched
    in 30-60 ms a click; a photo tagged, tagged again or forgotten since costs only its own rows
    (``decorlens bench rooms``); far beyond that an HNSW index over the objects would be needed. Objects
    remembered under another embedder are embedded first (``progress``, ``cancelled``:
    ``embed_missing_objects``).
    """
    catalog, key = pipeline.catalog, pipeline.embedder.key
    if not _has_schema(catalog):
        return []
    if _missing(catalog, key):
        embed_missing_objects(pipeline, log, progress, cancelled)
    # One state for the vectors searched and the objects read back: the app saves a photo's memory after every
    # edit, replacing its objects, and an object found could be gone when read ("unexpected error: KeyError").
    with catalog.snapshot():
        top = _top(catalog, key, query, k, pipeline.categories, category)
        sightings = _sightings_by_id(catalog, [object_id for _, object_id in top])
    return [_as_search_hit(sightings[object_id], score) for score, object_id in top]


def _missing(catalog: Catalog, key: str) -> bool:
    """Whether some remembered objects have no vector of ``key`` (``_Vectors.missing``); none of the kept vectors
    is held after it, so a full read after it holds one matrix at a time."""
    with _object_vectors(catalog, key) as vectors:
        return vectors.missing


def _top(catalog: Catalog, key: str, query: np.ndarray, k: int, categories: CategoryMap,
         category: str | None) -> list[tuple[float, int]]:
    """(score, object id) of the ``k`` best photos (``_best_per_photo``), scored while the kept vectors are held:
    the next search may bring them up to date in place."""
    with _object_vectors(catalog, key) as vectors:
        if not len(vectors.ids):
            return []
        if vectors.rows.shape[1] != query.shape[-1]:  # numpy said only "matmul: Input operand 1 has a mismatch…"
            raise damaged_memory(catalog, f"its vectors hold {vectors.rows.shape[1]:,} numbers, the embedder's "
                                          f"{query.shape[-1]:,}")
        scores = vectors.matrix @ (query / max(float(np.linalg.norm(query)), 1e-12))
        if category is not None:
            scores[~_searching(vectors, categories, category)] = -np.inf
        return _best_per_photo(vectors, scores, k)


def _best_per_photo(vectors: _Vectors, scores: np.ndarray, k: int) -> list[tuple[float, int]]:
    """(score, object id) of the ``k`` photos whose closest object scores highest, best first.

    A photo's closest object is its first by id among equal scores; photos of equal score come newest
    object first. Objects scored ``-inf`` (not of the category searched) are never chosen.
    """
    best = np.full(vectors.photos, -np.inf, np.float32)
    np.maximum.at(best, vectors.photo_of, scores)
    found = best[best > -np.inf]  # a photo with no object of the category searched has none to offer
    if k < 1 or not found.size:
        return []
    cut = np.partition(found, len(found) - k)[len(found) - k] if k < len(found) else found.min()
    chosen: dict[int, int] = {}
    for row in np.flatnonzero(scores >= cut).tolist():  # every top photo's closest object is among these
        photo = int(vectors.photo_of[row])
        if scores[row] == best[photo] and photo not in chosen:
            chosen[photo] = row
    top = sorted(((float(best[p]), int(vectors.ids[r])) for p, r in chosen.items()), reverse=True)
    return top[:k]


def _searching(vectors: _Vectors, categories: CategoryMap, category: str) -> np.ndarray:
    """A row mask of the objects whose tag searches catalog ``category``, by the rule that chose the products
    their tags were matched to."""
    tags = [n for tag, n in vectors.tags.items() if categories.covers({tag}, category)]
    return np.isin(vectors.tag_of, tags)


def embed_missing_objects(
    pipeline: Pipeline, log: Log = lambda _m: None,
    progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False,
) -> int:
    """Give the active embedder a vector for each remembered object lacking one (after an embedder switch).

    Photos moved, deleted or changed since they were tagged cannot be cut again: they are skipped
    and counted in the log, and stay in *Where used*. Returns the number of objects embedded. Such a photo
    is tried again only once its file has changed (``_Unreadable``); every search used to try it again,
    hashing a changed photo anew and showing the app's "Embedding…" title for nothing.
    Thousands of photos take minutes, so ``progress`` gets (objects done, objects to do) photo by photo,
    and ``cancelled`` is asked before each: a cancel raises ``Cancelled``, keeping the photos already
    embedded (each is written on its own), so the next search goes on from there.
    """
    catalog, key = pipeline.catalog, pipeline.embedder.key
    rows = catalog.db.execute(
        f"SELECT s.id, {PATH}, {text_of('s.sha256')}, s.width, s.height, o.id, o.x1, o.y1, o.x2, o.y2 "
        "FROM scene_objects o "
        "JOIN scenes s ON s.id = o.scene_id LEFT JOIN scene_vectors v ON v.object_id = o.id AND v.embedder = ? "
        "WHERE v.object_id IS NULL ORDER BY s.id, o.id",
        (key,),
    ).fetchall()
    unreadable = _UNREADABLE.setdefault(catalog, _Unreadable())
    by_scene: dict[int, list[Sequence[Any]]] = {}
    for row in rows:
        row = (row[0], read_path(row[1]), read_sha256(row[2]), *row[3:])
        _check_to_embed(catalog, row)
        by_scene.setdefault(row[0], []).append(row)
    to_try = [group for group in by_scene.values() if not unreadable.unchanged(*group[0][:3])]
    total = sum(map(len, to_try))
    embedded, done, failed = 0, 0, len(by_scene) - len(to_try)
    for group in to_try:
        if cancelled():
            raise Cancelled(f"stopped embedding the tagged photos' objects after {embedded} of {total}; "
                            "the next search goes on from there")
        if progress:
            progress(done, total)
        done += len(group)
        state = file_version(group[0][1])  # before it is read: a file put back meanwhile is tried again
        vectors = _embed_again(pipeline, group[0][1], group[0][2], [tuple(r[6:10]) for r in group], group[0][3:5])
        if vectors is None:
            unreadable.add(*group[0][:3], state)
            failed += 1
            continue
        with catalog.write():
            catalog.db.executemany(
                "INSERT OR REPLACE INTO scene_vectors (object_id, embedder, vector) VALUES (?, ?, ?)",
                [(r[5], key, v.astype(np.float32).tobytes()) for r, v in zip(group, vectors)],
            )
        embedded += len(group)
    if embedded:
        log(f"embedded {counted(embedded, 'object')} of remembered photos for {key}")
    if failed:
        were, them = ("was", "it") if failed == 1 else ("were", "them")
        log(f"{counted(failed, 'remembered photo')} {were} moved or changed since tagged; tag {them} again to search "
            f"{them}")
    return embedded


def _check_to_embed(catalog: Catalog, row: Sequence[Any]) -> None:
    """A remembered object to embed again as DecorLens stored it; a cell of another type is the memory's one line.
    A box corner of text (an edit in a database browser) ended the first search after an embedder switch in
    "unexpected TypeError: unsupported operand type(s) for -: 'float' and 'str'"."""
    _scene, path, _sha256, width, height, _object, *box = row
    if not (isinstance(path, str) and all(isinstance(v, int | float) for v in box)
            and all(isinstance(v, int) and v > 0 for v in (width, height))):
        raise damaged_memory(catalog, f"an object of {path!r} is not as it was stored")


class _Unreadable:
    """The remembered photos that could not be cut again, each with its file's state then, so that a search
    tries one again only once the file has changed: put back, or restored from a backup."""

    def __init__(self) -> None:
        self._files: dict[tuple[int, str, str], FileVersion | None] = {}
        self._lock = threading.Lock()  # two searches of the app's io runner may ask at once

    def add(self, scene: int, path: str, sha256: str, state: FileVersion | None) -> None:
        with self._lock:
            self._files[scene, path, sha256] = state

    def unchanged(self, scene: int, path: str, sha256: str) -> bool:
        """Whether this photo failed before and its file is as it was then (still gone, or still changed)."""
        with self._lock:
            if (scene, path, sha256) not in self._files:
                return False
            return self._files[scene, path, sha256] == file_version(path)


_UNREADABLE: weakref.WeakKeyDictionary[Catalog, _Unreadable] = weakref.WeakKeyDictionary()


def _embed_again(
    pipeline: Pipeline, path: str, sha256: str, boxes: list[Box], size: tuple[int, int]
) -> np.ndarray | None:
    """The remembered objects' vectors cut again from the photo, or None where it is gone or changed. A stored path
    holding a NUL (no file has one) is gone: opening it raised ValueError, the end of every search --scenes."""
    if "\0" in path:
        return None
    try:
        if sha256_of(path) != sha256:
            return None
        return _embed(pipeline, load_image(path), boxes, size)
    except (OSError, DecorLensError):
        return None


Stamp = tuple[str, int, int, int]  # (embedder key, newest object id, objects, objects with a vector)


@dataclass
class _Vectors:
    """Every remembered object's vector of one embedder as the rows of a matrix, and the memory's state they
    were read in. Kept per catalog and changed in place (``_caught_up``), so only under ``_VECTORS_LOCK``."""

    stamp: Stamp
    rows: np.ndarray = field(repr=False)  # float32: a row per object, in id order, then room for rows to come
    ids: np.ndarray  # the objects' ids, ascending
    scenes: np.ndarray  # each object's photo (scene id)
    tags: dict[str, int]  # the objects' tag categories, each once, numbered
    tag_of: np.ndarray  # each object's tag category, a number of ``tags``: a category searched is a mask
    read: int  # vector rows read from SQLite into ``rows`` since made: a change since costs only its own rows
    photo_of: np.ndarray = field(init=False, default_factory=lambda: np.empty(0, np.int64))  # numbered from 0
    photos: int = field(init=False, default=0)

    def number_photos(self) -> None:
        """Number the photos of the rows, after rows were dropped or added."""
        unique, self.photo_of = np.unique(self.scenes, return_inverse=True)
        self.photos = len(unique)

    @property
    def matrix(self) -> np.ndarray:
        return self.rows[:len(self.ids)]

    @property
    def missing(self) -> bool:
        """Whether some objects have no vector of this embedder (remembered under another one)."""
        return self.stamp[2] > self.stamp[3]


_VECTORS: weakref.WeakKeyDictionary[Catalog, _Vectors] = weakref.WeakKeyDictionary()
_VECTORS_LOCK = threading.Lock()  # one search at a time: a second click waits for the first's matrix
READ_ROWS = 1024  # vectors read from SQLite at a time (5 MB at 1,280 floats; 4,096 held 20-35 MB more at peak)


@contextmanager
def _object_vectors(catalog: Catalog, key: str) -> Iterator[_Vectors]:
    """The vectors of ``key`` as the memory holds them in the caller's snapshot, to be used inside the ``with``
    only. Kept per catalog and brought up to date only when the memory changed since (``_stamp``): clicking
    product after product reads nothing, and a photo tagged, tagged again or forgotten reads only its rows."""
    with _VECTORS_LOCK, catalog.snapshot():
        stamp = _stamp(catalog, key)
        kept = _VECTORS.pop(catalog, None)  # put back once up to date: an update cut short leaves none half done
        if kept is not None and not _current(catalog, kept, stamp):
            kept = None  # its matrix goes before the new one is read: one at a time in memory
        if kept is None:
            kept = _read_vectors(catalog, stamp)
        _VECTORS[catalog] = kept
        yield kept


def _stamp(catalog: Catalog, key: str) -> Stamp:
    """What changes whenever the vectors of ``key`` do: object ids only grow (AUTOINCREMENT), so a photo
    remembered raises the newest id, one forgotten (replaced) lowers the count, an embedding the last."""
    newest, objects = catalog.db.execute("SELECT COALESCE(MAX(id), 0), COUNT(*) FROM scene_objects").fetchone()
    (vectors,) = catalog.db.execute("SELECT COUNT(*) FROM scene_vectors WHERE embedder = ?", (key,)).fetchone()
    return key, int(newest), int(objects), int(vectors)


def _read_vectors(catalog: Catalog, stamp: Stamp) -> _Vectors:
    """Every row of ``stamp``'s embedder, read into one matrix made once with room to grow (``_room``: pages
    never written take no memory)."""
    key, count = stamp[0], stamp[3]
    size = catalog.db.execute("SELECT LENGTH(vector) FROM scene_vectors WHERE embedder = ? LIMIT 1", (key,)).fetchone()
    shape = (_room(count), size[0] // 4) if size else (0, 0)  # no row yet: none to append to either
    vectors = _Vectors(stamp, np.empty(shape, np.float32), np.empty(0, np.int64), np.empty(0, np.int64), {},
                       np.empty(0, np.int32), 0)
    _append_rows(catalog, vectors, 0)
    vectors.number_photos()
    return vectors


def _room(count: int) -> int:
    """Rows to make a matrix of ``count`` objects with: an eighth more (at least ``READ_ROWS``), so hundreds of
    photos tagged later are appended in place before the matrix must be read again in full."""
    return count + max(count // 8, READ_ROWS)


def _current(catalog: Catalog, kept: _Vectors, stamp: Stamp) -> bool:
    """Whether ``kept`` is, or was brought, up to date with ``stamp`` (of the same embedder)."""
    return kept.stamp == stamp or (kept.stamp[0] == stamp[0] and _caught_up(catalog, kept, stamp))


def _caught_up(catalog: Catalog, kept: _Vectors, stamp: Stamp) -> bool:
    """Bring ``kept`` to ``stamp`` in place, reading only the rows added since: the rows gone are dropped, the rows
    added appended. The result is the matrix a full read makes, row for row, because an object's id, photo, tag
    and vector never change once written (a photo tagged again is forgotten and remembered under new ids,
    which only grow) and both keep the rows in id order. False, to read in full, where appending cannot keep
    that order (rows added below a kept one: objects embedded after an embedder switch) or there is no room."""
    now = _ids(catalog, stamp[0])
    keep = np.flatnonzero(np.isin(kept.ids, now, assume_unique=True))
    if not np.array_equal(now[:len(keep)], kept.ids[keep]) or len(now) > len(kept.rows):
        return False
    _move_up(kept.rows, keep)
    kept.ids, kept.scenes, kept.tag_of = kept.ids[keep], kept.scenes[keep], kept.tag_of[keep]
    if len(now) > len(keep):
        _append_rows(catalog, kept, int(now[len(keep)]))
    kept.stamp = stamp
    kept.number_photos()
    return True


def _ids(catalog: Catalog, key: str) -> np.ndarray:
    """The ids of the objects with a vector of ``key``, ascending: a number each, not a row each (0.1 MB,
    ~25 ms at 10,000 photos), so what changed is found without reading a vector."""
    (ids,) = catalog.db.execute(
        "SELECT GROUP_CONCAT(v.object_id) FROM scene_vectors v JOIN scene_objects o ON o.id = v.object_id "
        "JOIN scenes s ON s.id = o.scene_id WHERE v.embedder = ?", (key,),
    ).fetchone()
    return np.sort(np.fromstring(ids or "", np.int64, sep=","))


def _move_up(rows: np.ndarray, keep: np.ndarray) -> None:
    """Move rows ``keep`` (ascending) to the top of ``rows``, in order, in place: a run of consecutive rows kept in
    one ``memmove``, which lets it overlap its new place (numpy would copy it to a temporary first: a second
    matrix). A photo forgotten moves up only the rows after its own."""
    starts = np.flatnonzero(np.diff(keep, prepend=-2) != 1)  # the runs of consecutive rows kept
    width, to = rows.strides[0], 0
    for start, end in zip(starts.tolist(), [*starts[1:].tolist(), len(keep)]):
        first, count = int(keep[start]), end - start
        if first != to:
            ctypes.memmove(rows.ctypes.data + to * width, rows.ctypes.data + first * width, count * width)
        to += count


def _append_rows(catalog: Catalog, vectors: _Vectors, since: int) -> None:
    """Append the rows of ``vectors``' embedder with object ids from ``since`` on, read ``READ_ROWS`` at a time
    straight into the matrix's room (no row copied twice)."""
    key, at = vectors.stamp[0], len(vectors.ids)
    cursor = catalog.db.execute(
        f"SELECT v.object_id, o.scene_id, {text_of('o.category')}, v.vector FROM scene_vectors v JOIN scene_objects o "
        "ON o.id = v.object_id JOIN scenes s ON s.id = o.scene_id "  # an object whose photo's row is gone (a tool
        # deleting without foreign keys) was found, then not read back: "unexpected KeyError"
        "WHERE v.embedder = ? AND v.object_id >= ? ORDER BY v.object_id", (key, since),
    )
    ids, scenes, tags = [vectors.ids], [vectors.scenes], [vectors.tag_of]
    width = vectors.rows.shape[1] * 4
    while rows := cursor.fetchmany(READ_ROWS):
        if not all(isinstance(r[3], bytes) and len(r[3]) == width for r in rows):
            raise damaged_memory(catalog, f"the remembered objects' vectors of {key} differ in size")
        block = np.frombuffer(b"".join(r[3] for r in rows), np.float32)
        vectors.rows[at:at + len(rows)] = block.reshape(len(rows), -1)
        ids.append(np.array([r[0] for r in rows], np.int64))
        scenes.append(np.array([r[1] for r in rows], np.int64))
        tags.append(np.array([vectors.tags.setdefault(read_text(r[2]), len(vectors.tags)) for r in rows], np.int32))
        at += len(rows)
    vectors.read += at - len(vectors.ids)
    vectors.ids, vectors.scenes, vectors.tag_of = np.concatenate(ids), np.concatenate(scenes), np.concatenate(tags)


def _sightings_by_id(catalog: Catalog, ids: list[int]) -> dict[int, Sighting]:
    marks = ",".join("?" * len(ids))
    rows = catalog.db.execute(
        f"SELECT o.id, {SIGHTING_COLUMNS} FROM scene_objects o JOIN scenes s ON s.id = o.scene_id "
        f"WHERE o.id IN ({marks})", ids,
    )
    return {r[0]: _sighting(catalog, r[1:]) for r in rows}


def _as_search_hit(sighting: Sighting, score: float) -> Sighting:
    """A search hit shows the cosine to the query; the object's own best match stays in ``sku``."""
    return replace(sighting, score=score, kind="cosine")


def _sighting(catalog: Catalog, row: Sequence[Any]) -> Sighting:
    """A remembered object as DecorLens stored it; a cell of another type (an edit in a database browser, a
    damaged page) is refused in one line: it ended in "unexpected TypeError", or in Python's own "Unknown format
    code 'f' for object of type 'str'", wherever the sighting was shown."""
    path, x1, y1, x2, y2, category, number, score, kind, confirmed, sku, tagged_at, width, height, sha256 = row
    path, category, kind, sku, tagged_at = read_path(path), *map(read_text, (category, kind, sku, tagged_at))
    texts, numbers = (path, category, kind, sku, tagged_at), (x1, y1, x2, y2, score)
    if not (all(isinstance(v, str) for v in texts) and all(isinstance(v, int | float) for v in numbers)
            and isinstance(number, int) and isinstance(confirmed, int)
            and all(isinstance(v, int) and v > 0 for v in (width, height))):
        raise damaged_memory(catalog, f"an object of {path!r} is not as it was stored")
    return Sighting(path, (x1, y1, x2, y2), category, number, score, kind, bool(confirmed), sku, tagged_at,
                    (width, height), read_sha256(sha256))


class DamagedMemory(CatalogError):
    """The memory of tagged photos cannot be read as stored; tagging a photo again replaces it (``remember``)."""


def damaged_memory(catalog: Catalog, detail: str) -> DamagedMemory:
    """The one line for a memory of tagged photos that cannot be read as stored. Tagging a photo again replaces
    all it held of that photo (``remember``), and a memory whose tables are damaged as a whole (``_has_schema``)."""
    return DamagedMemory(f"catalog {catalog.path}: the memory of tagged photos is damaged ({detail}); tag the "
                         "photos again to replace it")


# -- schema ---------------------------------------------------------------------------------------------


def _has_schema(catalog: Catalog) -> bool:
    """Whether any photo was ever remembered; a memory newer than this DecorLens is refused, never guessed. One
    whose version is not a number, or that lacks a table (a database browser's edit), is damaged as a whole."""
    row = catalog.db.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
    if row is None:
        return False
    if not str(row[0]).isdigit():  # int() said only "invalid literal for int() with base 10: 'abc'"
        raise damaged_memory(catalog, f"its version {row[0]!r} is not a number")
    if int(row[0]) > VERSION:
        raise CatalogError(f"catalog {catalog.path} has a scene memory of version {row[0]}, newer than this "
                           f"DecorLens ({VERSION}); update DecorLens")
    names = {r[0] for r in catalog.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if missing := [t for t in TABLES if t not in names]:  # SQLite said only "no such table: scenes"
        raise damaged_memory(catalog, f"its table {missing[0]} is missing")
    return True


def _ensure_schema(catalog: Catalog) -> None:
    """Create (or, in later versions, upgrade) the tables inside the caller's write. A memory damaged as a whole
    is made again, empty: its one line advises tagging the photos again, and each try failed on the same damage."""
    try:
        if _has_schema(catalog):
            return
    except DamagedMemory:
        for table in reversed(TABLES):
            catalog.db.execute(f"DROP TABLE IF EXISTS {table}")
        catalog.db.execute("DELETE FROM meta WHERE key = ?", (VERSION_KEY,))
    for statement in filter(str.strip, SCHEMA.split(";")):
        catalog.db.execute(statement)
    catalog.db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (VERSION_KEY, str(VERSION)))
