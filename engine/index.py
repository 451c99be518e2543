"""HNSW indexes over catalog vectors: one per category and one over everything.

The index is a cache of the catalog: it can always be rebuilt from the vectors stored in SQLite.
Files are written atomically (temp file, fsync, rename) and listed in a manifest with their size,
sha256 and the catalog revision they reflect. A stale index catches up incrementally from the
catalog's revisioned vectors and tombstones; a missing or corrupt one is rebuilt, with a message.

Index files are never rewritten in place: each save writes new files under unique names
(``all-…`` for the all-categories index, ``cat-<sha1 of the category>-…`` for a category, so no
category name, ``_all`` included, can land on another's file) and then replaces the manifest, the one
commit point. Two processes saving at once each publish a complete set; the last manifest wins.
Temp files and files no manifest lists are our own leftovers (a kill, the losing writer) and are
deleted once they are old enough not to belong to a save in progress.

Two kinds of index, chosen by the catalog's size when the indexes are built (``compact_at``): below it
every index is the exact one (hnswlib over the full vectors, float32); from there every index (the
categories' too, else they would hold the full vectors again) is the compact one of
``engine.compact_index`` (PCA codes in k-means lists in RAM, float32 vectors memory-mapped from disk,
exact re-rank), which holds a 1M catalog's all-categories index in 0.21 GB instead of 5.4 GB. Builds
stream the stored vectors, so a rebuild never holds a large catalog's vectors at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import hnswlib
import numpy as np

from engine import compact_index
from engine.backups import list_backups
from engine.catalog import GLOBAL, Catalog, damaged
from engine.errors import CatalogError, IndexCorruptError
from engine.files import (
    NotAFile,
    clean_stale_temps,
    naming,
    open_regular,
    replace_atomically,
    sha256_of,
    stale,
)
from engine.remedies import EMPTY_BUT_BACKED_UP, IMPORT_FIRST

M = 16
EF_CONSTRUCTION = 200
EF_SEARCH = 128
LAYOUT = 2  # 1: files named after the category (``_all`` collided); 2: hashed names, see above
TEMP_PREFIX = ".tmp-index-"
STALE_SECONDS = 30 * 60
_FILE = re.compile(r"^(all|cat-[0-9a-f]{16})-[0-9a-f]{12}\.bin$")
_PART = re.compile(r"^(all|cat-[0-9a-f]{16})-[0-9a-f]{12}\.(bin|npz|f32)$")
OLD_LAYOUT = (".bin", ".tmp")  # layout 1's files: <category>.bin, and temps named <file>.tmp
# Catalog size from which the indexes are built compact; None: never (a pipeline passes its data dir's
# compact_at setting, by default from compact_index.AUTO_AT where faiss is installed).
COMPACT_AT: int | None = None
BUILD_ROWS = 10_000  # vectors buffered per add while a rebuild streams them
Log = Callable[[str], None]


class HnswIndex:
    """A cosine hnswlib index that grows as needed; labels are product ids."""

    kind = "exact"

    def __init__(self, dim: int, capacity: int = 1024):
        self.dim = dim
        self.index = hnswlib.Index(space="cosine", dim=dim)
        self.index.init_index(max_elements=max(capacity, 16), ef_construction=EF_CONSTRUCTION, M=M)
        self.index.set_ef(EF_SEARCH)
        self.deleted: set[int] = set()

    @classmethod
    def load(cls, path: Path, dim: int, deleted: Sequence[int] = ()) -> HnswIndex:
        """Load a saved index; ``deleted`` comes from the manifest (hnswlib keeps deleted labels)."""
        self = cls.__new__(cls)
        self.dim = dim
        self.index = hnswlib.Index(space="cosine", dim=dim)
        try:
            self.index.load_index(str(path))
        except RuntimeError as exc:
            raise IndexCorruptError(f"index {path} is corrupt: {exc}") from exc
        self.index.set_ef(EF_SEARCH)
        self.deleted = set(deleted)
        return self

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        needed = self.index.element_count + len(ids)
        if needed > self.index.max_elements:
            self.index.resize_index(max(needed, 2 * self.index.max_elements))
        self.index.add_items(np.asarray(vectors, np.float32), np.asarray(ids, np.int64))
        self.deleted.difference_update(int(i) for i in ids)

    def remove(self, product_id: int) -> None:
        try:
            self.index.mark_deleted(product_id)
            self.deleted.add(product_id)
        except RuntimeError:  # not in this index (already gone, or never embedded)
            pass

    @property
    def live(self) -> int:
        return self.index.element_count - len(self.deleted)

    def query(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosine similarities), each (N, min(k, live)), best first."""
        k = min(k, self.live)
        if k <= 0:
            n = len(vectors)
            return np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32)
        self.index.set_ef(max(EF_SEARCH, k))
        labels, distances = self.index.knn_query(np.asarray(vectors, np.float32), k=k)
        return labels.astype(np.int64), 1.0 - distances

    def save(self, path: Path) -> None:
        """Write under a unique temp name beside ``path`` (concurrent savers never share one), then rename."""
        with naming(path):
            tmp = temp_file(path.parent)
            try:
                self.index.save_index(str(tmp))
                replace_atomically(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)


class CatalogIndex:
    """The indexes of one catalog for one embedder, kept under ``root/<embedder key>/``."""

    def __init__(self, root: Path, embedder_key: str, dim: int, log: Log = lambda _msg: None,
                 compact_at: int | None = COMPACT_AT):
        self.dir = Path(root) / _safe(embedder_key)
        self.compact_at = compact_at
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = embedder_key
        self.dim = dim
        self.log = log
        self._lock = threading.RLock()
        self._loaded: dict[str, Index] = {}
        self._kind_checked = False  # whether the saved indexes' kind was checked against compact_at
        clean_stale_temps(self.dir, TEMP_PREFIX, STALE_SECONDS)
        self._seen: tuple[int, int, int] | None = None  # the manifest file read or written last (_stamp)
        self._manifest = self._read_manifest()

    @property
    def revision(self) -> int:
        return int(self._manifest.get("revision", -1))

    def sync(self, catalog: Catalog) -> None:
        """Bring the index files up to the catalog's revision (incrementally when possible), reading
        one snapshot of it so that the revision saved is the one whose changes were applied."""
        with self._lock, catalog.snapshot():
            if _stamp(self.dir / "manifest.json") != self._seen or self._replaced_elsewhere():
                self._manifest, self._loaded = self._read_manifest(), {}  # another process saved: as it did
            if self._manifest.get("catalog", catalog.identity) != catalog.identity:
                self.rebuild(catalog, "the index is of another catalog file (copied or restored in its place)")
                return
            if not self._kind_checked:
                self._kind_checked = True
                reason = self._kind_change(catalog)
                if reason:
                    self.rebuild(catalog, reason)
                    return
            if self.revision == catalog.revision:
                return
            if self.revision < 0 or self.revision > catalog.revision:
                self.rebuild(catalog)
                return
            touched = self._apply_changes(catalog)
            self._save(touched, catalog)

    def rebuild(self, catalog: Catalog, reason: str = "") -> None:
        """Build every index from the stored vectors of one snapshot of the catalog (see ``sync``)."""
        with self._lock, catalog.snapshot():
            if reason:
                self.log(f"{reason}; rebuilding the index from stored vectors")
            previous = {name for entry in self._manifest.get("files", {}).values() for name in _names(entry)}
            self._loaded = self._build(catalog)
            self._manifest = {"revision": -1, "dim": self.dim, "files": {}}
            self._save(set(self._loaded), catalog, previous)

    def search(
        self, catalog: Catalog, vectors: np.ndarray, categories: Sequence[str] | None, k: int
    ) -> list[list[tuple[int, float]]]:
        """Top-k (product id, score) per query vector within ``categories`` (None: all products)."""
        with self._lock:
            self.sync(catalog)
            indexes = [self._get(catalog, c) for c in (categories or [GLOBAL])]
        merged: list[list[tuple[int, float]]] = [[] for _ in range(len(vectors))]
        for index in indexes:
            if index is None:
                continue
            ids, scores = index.query(vectors, k)
            for row, (id_row, score_row) in enumerate(zip(ids, scores)):
                merged[row].extend(zip(id_row.tolist(), score_row.tolist()))
        return [sorted(hits, key=lambda h: (-h[1], h[0]))[:k] for hits in merged]

    # -- internals ----------------------------------------------------------------------------

    def _apply_changes(self, catalog: Catalog) -> set[str]:
        touched: set[str] = set()
        for pid, category in catalog.tombstones(self.revision):
            index = self._get(catalog, category)
            if index is not None:
                index.remove(pid)
                touched.add(category)
        by_cat: dict[str, list[tuple[int, np.ndarray]]] = {}
        for pid, category, vector in self._vectors(catalog, since=self.revision):
            by_cat.setdefault(category, []).append((pid, vector))
            by_cat.setdefault(GLOBAL, []).append((pid, vector))
        for category, rows in by_cat.items():
            index = self._get(catalog, category) or self._loaded.setdefault(category, HnswIndex(self.dim))
            index.add([pid for pid, _ in rows], np.stack([v for _, v in rows]))
            touched.add(category)
        everything = self._loaded.get(GLOBAL)
        reason = self._wrong_kind(everything.kind, everything.live) if everything is not None else ""
        if reason:  # a catalog that outgrew the exact kind: all indexes anew
            self.log(f"{reason}; building the compact index")
            self._loaded = self._build(catalog)
            touched = set(self._loaded)
        return touched

    def _replaced_elsewhere(self) -> bool:
        """Whether a file our manifest lists for an index not loaded yet is gone: another process (a CLI
        import while the app is open) saved since and deleted the files it replaced, which we had read in
        the same manifest. Its manifest is then taken as a fresh process would (and caught up from its
        revision); "index file … is missing; rebuilding the index" was said and every index rebuilt.

        A manifest another process wrote is taken too (``sync``), even when every index is loaded here: a
        ``bundle import`` under a pipeline whose catalog was closed (an open one refuses it) puts another
        catalog there, at a revision that says nothing about ours; the pipeline went on with its own
        indexes, products of the old catalog matched under the new one's ids and names, and the bundle's
        own products were never found."""
        return any(
            not (self.dir / name).is_file()
            for category, entry in self._manifest.get("files", {}).items() if category not in self._loaded
            for name in _names(entry)
        )

    def _kind_change(self, catalog: Catalog) -> str:
        """``_wrong_kind`` for the saved indexes (the setting changed, faiss was installed or removed):
        checked once, at the first sync, not per search."""
        entry = self._manifest.get("files", {}).get(GLOBAL)
        if entry is None:
            return ""
        products = catalog.count() if self.compact_at is not None else 0
        return self._wrong_kind(entry.get("kind", "exact"), products)

    def _wrong_kind(self, kind: str, products: int) -> str:
        """Why an all-products index of ``kind`` over ``products`` is the wrong kind for compact_at, or ""."""
        compact = kind == compact_index.CompactIndex.kind
        if compact and self.compact_at is None:
            return "the index is compact but compact indexes are off here (compact_at, or no faiss)"
        if not compact and self.compact_at is not None and products >= self.compact_at:
            return f"the catalog has {self.compact_at:,} products or more (compact_at)"
        return ""

    def _build(self, catalog: Catalog) -> dict[str, Index]:
        """Indexes of every category and GLOBAL from one or two streaming passes over the stored vectors:
        compact ones first need a sample to learn their projection from."""
        counts = catalog.category_counts()
        sizes = {GLOBAL: sum(counts.values()), **counts}
        wanted = set(sizes)
        compact = wanted if self.compact_at is not None and sizes[GLOBAL] >= self.compact_at else set()
        built: dict[str, Index] = {}
        if compact:
            samples = _samples(catalog, self.key, {c: sizes[c] for c in compact})
            built = {c: compact_index.CompactIndex.learn(samples[c], self.dim, sizes[c], self.dir) for c in samples}
        pending: dict[str, list[tuple[int, np.ndarray]]] = {}

        def flush(category: str) -> None:
            rows = pending.pop(category)
            index = built.get(category) or built.setdefault(category, HnswIndex(self.dim, sizes[category]))
            index.add([pid for pid, _ in rows], np.stack([v for _, v in rows]))

        for pid, category, vector in self._vectors(catalog):
            for target in (category, GLOBAL):
                if target in wanted:
                    pending.setdefault(target, []).append((pid, vector))
                    if len(pending[target]) >= BUILD_ROWS:
                        flush(target)
        for category in list(pending):
            flush(category)
        return built

    def _vectors(self, catalog: Catalog, since: int = 0) -> Iterator[tuple[int, str, np.ndarray]]:
        """The catalog's stored vectors of this index's embedder, each checked to be of its size: one of another
        size (a damaged catalog, or one restored from a damaged backup) stopped every build in hnswlib's
        "unexpected RuntimeError: Wrong dimensionality of the vectors"."""
        for pid, category, vector in catalog.vectors(self.key, since=since):
            if len(vector) != self.dim:
                raise damaged(catalog.path, f"product {pid}'s stored vector of {self.key} has {len(vector)} values, "
                                            f"not {self.dim}")
            yield pid, category, vector

    def _get(self, catalog: Catalog, category: str) -> Index | None:
        """The loaded index of a category, loading (or rebuilding if corrupt) on first use."""
        if category in self._loaded:
            return self._loaded[category]
        entry = self._manifest.get("files", {}).get(category)
        if entry is None:
            return None
        path = self.dir / entry["file"]
        try:
            _verify(path, entry)
            if entry.get("kind") == compact_index.CompactIndex.kind:
                index = compact_index.CompactIndex.load(path, self.dim)
            else:
                index = HnswIndex.load(path, self.dim, entry.get("deleted", []))
        except IndexCorruptError as exc:
            self.rebuild(catalog, reason=str(exc))
            return self._loaded.get(category)
        self._loaded[category] = index
        return index

    def _save(self, categories: set[str], catalog: Catalog, replaced: set[str] = frozenset()) -> None:
        """New files for ``categories``, then the manifest (the commit point), then the files it no longer
        lists go: ``replaced`` ones and those of the categories saved at once, others once stale. Files of a
        save that failed before its manifest (killed, a full disk) were otherwise kept until a rebuild."""
        old = dict(self._manifest.get("files", {}))
        files = dict(old)
        gone = {c for c in self._loaded if c in old and not all((self.dir / n).is_file() for n in _names(old[c]))}
        for category in sorted({*categories, *gone}):  # gone: replaced by another process's save, as above
            path = self.dir / file_name(category)
            self._loaded[category].save(path)
            files[category] = _entry(path, self._loaded[category])
        self._manifest = {"layout": LAYOUT, "revision": catalog.revision, "catalog": catalog.identity, "dim": self.dim,
                          "files": files}
        with naming(self.dir / "manifest.json"):
            tmp = temp_file(self.dir)
            try:
                tmp.write_text(json.dumps(self._manifest, indent=1, ensure_ascii=False), encoding="utf-8")
                ours = _stamp(tmp)  # a rename keeps it; stat after the rename could see another's manifest
                replace_atomically(tmp, self.dir / "manifest.json")
                self._seen = ours
            finally:
                tmp.unlink(missing_ok=True)
        changed = [entry for category, entry in old.items() if files[category]["file"] != entry["file"]]
        self._remove_unlisted({*replaced, *(name for entry in changed for name in _names(entry))})

    def _remove_unlisted(self, replaced: set[str]) -> None:
        """Files the manifest no longer lists: ``replaced`` ones and an older layout's at once, others of ours
        (a killed or a losing concurrent writer's) once they are too old to belong to a save in progress. A file
        named otherwise is not ours and stays: every save deleted any other file in the folder (a note, a sync
        client's "manifest (conflicted copy).json"), at once or after 30 minutes."""
        listed = {name for entry in self._manifest.get("files", {}).values() for name in _names(entry)}
        for path in self.dir.iterdir():
            if path.name in listed or path.name == "manifest.json" or path.name.startswith(TEMP_PREFIX):
                continue
            ours = _PART.match(path.name)
            try:
                if (path.name in replaced or (not ours and path.suffix in OLD_LAYOUT)
                        or (ours and stale(path, STALE_SECONDS))):
                    path.unlink()
            except OSError:  # already gone (another process cleaned up) or in use
                continue

    def _read_manifest(self) -> dict:
        """The manifest, or {} (rebuild from SQLite) when it is missing, unreadable or not ours."""
        path = self.dir / "manifest.json"
        self._seen = _stamp(path)  # before reading: a manifest replaced meanwhile is read again
        if not path.exists():
            return {}
        try:
            with open_regular(path) as fh:  # a FIFO there blocked every search for ever
                manifest = json.loads(fh.read().decode("utf-8"))
        except NotAFile as exc:
            raise CatalogError(f"{exc}: delete it, and the index is rebuilt from the catalog") from None
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            self.log(f"index manifest {path} is unreadable ({type(exc).__name__}); it will be rebuilt")
            return {}
        problem = _manifest_problem(manifest, self.dim)
        if problem:
            self.log(f"index manifest {path} {problem}; the index will be rebuilt")
            return {}
        return manifest


def file_name(category: str) -> str:
    """A fresh file name for a category's index (GLOBAL: all categories); no two categories share a stem."""
    stem = "all" if category == GLOBAL else "cat-" + hashlib.sha1(category.encode("utf-8")).hexdigest()[:16]
    return f"{stem}-{secrets.token_hex(6)}.bin"


def _manifest_problem(manifest: object, dim: int) -> str:
    """Why a manifest cannot be trusted as this layout's, or "" when it can."""
    if not isinstance(manifest, dict):
        return "is not an index manifest"
    if manifest.get("layout") != LAYOUT:
        return "is from an older DecorLens (file layout)"
    if manifest.get("dim") != dim:
        return f"is for {manifest.get('dim')}-d vectors, not {dim}-d"
    files = manifest.get("files")
    if (not isinstance(manifest.get("revision"), int) or not isinstance(files, dict)
            or not isinstance(manifest.get("catalog", ""), str)):
        return "is incomplete"
    for entry in files.values():
        if not (
            isinstance(entry, dict) and isinstance(entry.get("file"), str) and _FILE.match(entry["file"])
            and isinstance(entry.get("deleted", []), list)
            and all(isinstance(i, int) for i in entry.get("deleted", []))
            and entry.get("kind", "exact") in ("exact", compact_index.CompactIndex.kind)
            and isinstance(entry.get("parts", {}), dict)  # a list ended in "unexpected AttributeError"
            and all(_part_ok(entry["file"], suffix, part) for suffix, part in entry.get("parts", {}).items())
        ):
            return "lists a file entry that is not ours"
    return ""


def _part_ok(file: str, suffix: object, part: object) -> bool:
    """A companion file of a compact index: one of its suffixes, beside its graph, with size and sha256."""
    return (suffix in compact_index.SUFFIXES and isinstance(part, dict) and isinstance(part.get("size"), int)
            and isinstance(part.get("sha256"), str) and part.get("file") == file[:-4] + str(suffix))


def _entry(path: Path, index: Index) -> dict:
    """The manifest entry of a saved index: its files with size and sha256 (checked on every load)."""
    entry: dict = {"file": path.name, "size": path.stat().st_size, "sha256": sha256_of(path),
                   "deleted": sorted(index.deleted)}
    if index.kind != "exact":
        entry["kind"] = index.kind
        entry["version"] = compact_index.VERSION
        entry["parts"] = {}
        for suffix in compact_index.SUFFIXES:
            part = path.with_suffix(suffix)
            entry["parts"][suffix] = {"file": part.name, "size": part.stat().st_size, "sha256": sha256_of(part)}
    return entry


def _names(entry: dict) -> list[str]:
    """Every file of a manifest entry."""
    return [entry["file"], *(part["file"] for part in entry.get("parts", {}).values())]


def temp_file(folder: Path) -> Path:
    """A new, unique temp file in ``folder``, named with our prefix so stale ones can be cleaned."""
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
    os.close(fd)
    return Path(name)


def _samples(catalog: Catalog, key: str, sizes: dict[str, int]) -> dict[str, np.ndarray]:
    """Every n-th stored vector of each index in ``sizes`` (``compact_index.sample_size`` of them), in one
    pass."""
    stride = {c: compact_index.sample_stride(n) for c, n in sizes.items()}
    seen = dict.fromkeys(sizes, 0)
    picked: dict[str, list[np.ndarray]] = {c: [] for c in sizes}
    for _pid, category, vector in catalog.vectors(key):
        for target in (category, GLOBAL):
            if target in sizes:
                if seen[target] % stride[target] == 0:
                    picked[target].append(vector)
                seen[target] += 1
    return {c: np.stack(rows) for c, rows in picked.items() if rows}


def _verify(path: Path, entry: dict) -> None:
    for part in [{"file": path.name, **entry}, *entry.get("parts", {}).values()]:
        file = path.parent / part["file"]
        if not file.is_file():
            raise IndexCorruptError(f"index file {file} is missing")
        if file.stat().st_size != part.get("size") or sha256_of(file) != part.get("sha256"):
            raise IndexCorruptError(f"index file {file} does not match its manifest (corrupt or partly written)")
    if entry.get("kind") == compact_index.CompactIndex.kind and entry.get("version") != compact_index.VERSION:
        raise IndexCorruptError(f"index {path.name} is of another format version ({entry.get('version')})")


Index = HnswIndex | compact_index.CompactIndex


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """Which version of a file this is (every manifest is a new file renamed into place); None if missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "_"


def ensure_nonempty(catalog: Catalog) -> None:
    """Searching an empty catalog is a user error worth one clear line."""
    if catalog.count() == 0:
        found = list_backups(catalog.path)
        if found:  # a sync client that left catalog.sqlite out: a new, empty one was made in its place
            raise CatalogError(f"the catalog {catalog.path} is empty, and its backups are not: "
                               f"{EMPTY_BUT_BACKED_UP(count=f'{len(found):,}')}")
        raise CatalogError(f"the catalog {catalog.path} is empty: {IMPORT_FIRST()}")
