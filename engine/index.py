"""HNSW indexes over catalog vectors: one per category and one over everything.

The index is a cache of the catalog: it can always be rebuilt from the vectors stored in SQLite.
Files are written atomically (temp file, fsync, rename) and listed in a manifest with their size,
sha256 and the catalog revision they reflect. A stale index catches up incrementally from the
catalog's revisioned vectors and tombstones; a missing or corrupt one is rebuilt, with a message.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import hnswlib
import numpy as np

from engine.catalog import GLOBAL, Catalog
from engine.errors import CatalogError, IndexCorruptError
from engine.files import replace_atomically, sha256_of

M = 16
EF_CONSTRUCTION = 200
EF_SEARCH = 128
Log = Callable[[str], None]


class HnswIndex:
    """A cosine hnswlib index that grows as needed; labels are product ids."""

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
        tmp = path.with_name(path.name + ".tmp")
        self.index.save_index(str(tmp))
        replace_atomically(tmp, path)


class CatalogIndex:
    """The indexes of one catalog for one embedder, kept under ``root/<embedder key>/``."""

    def __init__(self, root: Path, embedder_key: str, dim: int, log: Log = lambda _msg: None):
        self.dir = Path(root) / _safe(embedder_key)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = embedder_key
        self.dim = dim
        self.log = log
        self._lock = threading.RLock()
        self._loaded: dict[str, HnswIndex] = {}
        self._manifest = self._read_manifest()

    @property
    def revision(self) -> int:
        return int(self._manifest.get("revision", -1))

    def sync(self, catalog: Catalog) -> None:
        """Bring the index files up to the catalog's revision (incrementally when possible)."""
        with self._lock:
            if self.revision == catalog.revision:
                return
            if self.revision < 0 or self.revision > catalog.revision:
                self.rebuild(catalog)
                return
            touched = self._apply_changes(catalog)
            self._save(touched, catalog.revision)

    def rebuild(self, catalog: Catalog, reason: str = "") -> None:
        """Build every index from the stored vectors."""
        with self._lock:
            if reason:
                self.log(f"{reason}; rebuilding the index from stored vectors")
            by_cat: dict[str, list[tuple[int, np.ndarray]]] = {}
            for pid, category, vector in catalog.vectors(self.key):
                by_cat.setdefault(category, []).append((pid, vector))
                by_cat.setdefault(GLOBAL, []).append((pid, vector))
            self._loaded = {cat: _build(rows, self.dim) for cat, rows in by_cat.items()}
            self._manifest = {"revision": -1, "dim": self.dim, "files": {}}
            self._save(set(self._loaded), catalog.revision)

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
        for pid, category, vector in catalog.vectors(self.key, since=self.revision):
            by_cat.setdefault(category, []).append((pid, vector))
            by_cat.setdefault(GLOBAL, []).append((pid, vector))
        for category, rows in by_cat.items():
            index = self._get(catalog, category) or self._loaded.setdefault(category, HnswIndex(self.dim))
            index.add([pid for pid, _ in rows], np.stack([v for _, v in rows]))
            touched.add(category)
        return touched

    def _get(self, catalog: Catalog, category: str) -> HnswIndex | None:
        """The loaded index of a category, loading (or rebuilding if corrupt) on first use."""
        if category in self._loaded:
            return self._loaded[category]
        entry = self._manifest.get("files", {}).get(category)
        if entry is None:
            return None
        path = self.dir / entry["file"]
        try:
            _verify(path, entry)
            index = HnswIndex.load(path, self.dim, entry.get("deleted", []))
        except IndexCorruptError as exc:
            self.rebuild(catalog, reason=str(exc))
            return self._loaded.get(category)
        self._loaded[category] = index
        return index

    def _save(self, categories: set[str], revision: int) -> None:
        files = dict(self._manifest.get("files", {}))
        for category in sorted(categories):
            name = _safe(category if category != GLOBAL else "_all") + ".bin"
            path = self.dir / name
            self._loaded[category].save(path)
            files[category] = {
                "file": name,
                "size": path.stat().st_size,
                "sha256": sha256_of(path),
                "deleted": sorted(self._loaded[category].deleted),
            }
        self._manifest = {"revision": revision, "dim": self.dim, "files": files}
        tmp = self.dir / "manifest.json.tmp"
        tmp.write_text(json.dumps(self._manifest, indent=1))
        replace_atomically(tmp, self.dir / "manifest.json")

    def _read_manifest(self) -> dict:
        path = self.dir / "manifest.json"
        if not path.exists():
            return {}
        try:
            manifest = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            self.log(f"index manifest {path} is unreadable; it will be rebuilt")
            return {}
        if manifest.get("dim") != self.dim:
            return {}
        return manifest


def _build(rows: list[tuple[int, np.ndarray]], dim: int) -> HnswIndex:
    index = HnswIndex(dim, capacity=len(rows))
    index.add([pid for pid, _ in rows], np.stack([v for _, v in rows]))
    return index


def _verify(path: Path, entry: dict) -> None:
    if not path.is_file():
        raise IndexCorruptError(f"index file {path} is missing")
    if path.stat().st_size != entry.get("size") or sha256_of(path) != entry.get("sha256"):
        raise IndexCorruptError(f"index file {path} does not match its manifest (corrupt or partly written)")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "_"


def ensure_nonempty(catalog: Catalog) -> None:
    """Searching an empty catalog is a user error worth one clear line."""
    if catalog.count() == 0:
        raise CatalogError(
            f"the catalog {catalog.path} is empty: import products first with `decorlens catalog import`"
        )
