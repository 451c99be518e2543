"""The index for catalogs too large for the exact one: coarse lists in RAM, full vectors on disk.

At 1M products the exact index (hnswlib over 1280-d float32) holds ~5 GB and builds for 20 minutes on
two cores. This one keeps in RAM only the vectors' coordinates in a PCA projection (192-d, learned on the
index's own vectors and stored with it) as 8-bit codes in k-means lists (a faiss inverted file with a
scalar quantizer), and keeps the full vectors as float32 in a file that is memory-mapped, never loaded: a
query scans the lists nearest to it, takes their best ``RERANK`` rows and scores them exactly against their
full rows, so only those rows are read. An HNSW graph in the same place (version 1) found 0.96 of the exact
top-10 among 1M near-duplicate product vectors however wide its beam: clusters of look-alikes trap a graph
search, lists do not. Measured at 1M in ``docs/benchmarks/README.md`` ("Catalogs of millions"): the reason
for every constant below.

faiss (the ``[scale]`` extra) is imported only when a compact index is built or loaded: smaller catalogs
never need it, a data dir's ``compact_at: auto`` goes compact only where it is installed, and a number
there without it is one line saying what to install.

Files (one stem, three suffixes, all listed in the manifest with size and sha256): ``.bin`` the faiss
index (its ids are row numbers), ``.npz`` the format version, projection and the product id of each row
(-1: removed), ``.f32`` the rows (float32: float16 halved the disk but converting it back took half a
query). Each is written under a temp name and renamed, as every index file.
"""

from __future__ import annotations

import importlib.util
import math
import mmap
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from engine.errors import CatalogError, IndexCorruptError
from engine.unit_vectors import unit

VERSION = 2  # of the files' format and the projection's meaning; another version is rebuilt (1: HNSW graph)
DIM = 192  # PCA components the lists hold, as 8-bit codes (192 bytes a row)
ROWS_PER_LIST = 500  # k-means lists: one per this many rows the index is built for
TRAIN_PER_LIST = 20  # sample rows per list k-means learns from, at least
PROBE_ROWS = 8_000  # rows a query scans: the lists nearest to it, as many as hold about this many
RERANK = 100  # best scanned rows re-scored exactly on the full vectors
PCA_SAMPLE = 40_000  # vectors the projection and the lists are learned on, at most (2,000 lists at 1M)
MIN_SAMPLE = 1_000  # ... and at least (or all of a smaller index's)
SUFFIXES = (".npz", ".f32")  # beside the faiss index's .bin
COPY_BYTES = 2**22  # per read when the saved and spilled rows are copied into a new store file
SPILL_ROWS = 65_536  # rows not yet saved that are kept in RAM; more go to a temp file (a 1M build: 4.9 GB)
INSTALL_HINT = 'install the scale extra: pip install "decorlens[scale]" (faiss-cpu)'
# Where ``compact_at: auto`` (the default) turns compact, when faiss is installed: from here the exact index
# holds over 1.3 GB; at 1M it held 5.4 GB, built for 20 minutes and found 0.80 of the exact top 10 where
# this one held 0.21 GB, built in a minute and found 0.99 (docs/benchmarks/README.md, "The 1M set").
AUTO_AT = 250_000


def available() -> bool:
    """Whether faiss can be imported (the ``[scale]`` extra), without importing it."""
    return importlib.util.find_spec("faiss") is not None


def sample_size(rows: int) -> int:
    """How many of an index's ``rows`` to learn from: enough for its lists, never more. A data dir's
    indexes (one per category and the whole catalog) are learned in one pass, all samples held at once,
    so a fixed 40,000 each could add up to the whole catalog; this sums to ~1/25 of it plus 1,000 per
    category. Measured on 200,000 of the 1M set: 8,000 samples find 0.9965 of the top 10, 40,000 0.9970;
    fewer than the lists need lose recall (4,000: 0.986)."""
    wanted = math.ceil(rows / ROWS_PER_LIST) * TRAIN_PER_LIST
    return min(rows, PCA_SAMPLE, max(MIN_SAMPLE, wanted))


def sample_stride(rows: int) -> int:
    """Every how-many-th of an index's ``rows`` to keep so that at most ``sample_size(rows)`` are kept."""
    return max(1, math.ceil(rows / max(1, sample_size(rows))))  # an empty index: 1, as before


def _faiss() -> Any:
    """faiss, or the one line that says how to get it."""
    try:
        import faiss
    except ImportError as exc:
        raise CatalogError(f"a catalog this large is searched with the compact index, which needs faiss: "
                           f"{INSTALL_HINT}") from exc
    return faiss


class Projection:
    """Centred PCA: in its coordinates the L2 distance between unit vectors ranks neighbours nearly as
    cosine does in full dimension; what it loses, the exact re-rank wins back."""

    def __init__(self, mean: np.ndarray, matrix: np.ndarray):
        self.mean = np.asarray(mean, np.float32)
        self.matrix = np.ascontiguousarray(matrix, np.float32)  # (full dim, DIM)

    @classmethod
    def learn(cls, sample: np.ndarray, dim: int = DIM) -> Projection:
        """Top ``dim`` principal directions: eigh of the d×d covariance for large samples (cheap at 20k),
        the SVD of the sample itself for small ones (a small category: n×n work instead of d×d)."""
        sample = np.asarray(sample, np.float32)
        mean = sample.mean(0)
        centred = sample - mean
        if len(sample) < sample.shape[1]:
            return cls(mean, np.linalg.svd(centred, full_matrices=False)[2][:dim].T)  # rank n at most
        values, vectors = np.linalg.eigh((centred.T @ centred).astype(np.float64))
        return cls(mean, vectors[:, np.argsort(values)[::-1][:dim]])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray((np.asarray(x, np.float32) - self.mean) @ self.matrix)


class CompactIndex:
    """PCA lists plus a float32 store on disk; the same ``add/remove/query/save/load`` as ``HnswIndex``."""

    kind = "compact"

    def __init__(self, dim: int, projection: Projection, lists: Any, spill_dir: Path | None = None):
        self.dim = dim
        self.spill_dir = spill_dir
        self.projection = projection
        self.lists = lists  # faiss IndexIVFScalarQuantizer over the projected rows; its ids are row numbers
        self.ids = np.zeros(0, np.int64)  # row -> product id; -1 once removed or replaced
        self.store: np.ndarray = np.zeros((0, dim), np.float32)  # the rows saved so far (memory-mapped)
        self._store_file: Path | None = None  # their file
        self.fresh: list[np.ndarray] = []  # rows added since the last save (the last of them)
        self._spill: IO[bytes] | None = None  # the rest, in an unnamed temp file beside the index
        self._spilled: np.ndarray = np.zeros((0, dim), np.float32)  # that file, memory-mapped
        self._removed: list[int] = []  # rows removed since the lists last dropped theirs (in one pass)
        self._live = 0
        self._lookup: tuple[np.ndarray, np.ndarray] | None = None  # (sorted ids, their rows)

    @classmethod
    def learn(cls, sample: np.ndarray, dim: int, capacity: int, spill_dir: Path | None = None) -> CompactIndex:
        """The projection and the k-means lists, from a sample of the vectors the index is built for."""
        faiss = _faiss()
        sample = unit(sample)
        projection = Projection.learn(sample)
        coords = projection(sample)
        count = max(1, min(capacity // ROWS_PER_LIST, len(sample) // TRAIN_PER_LIST))
        lists = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatL2(coords.shape[1]), coords.shape[1], count,
                                              faiss.ScalarQuantizer.QT_8bit)
        # faiss warns on stderr below 39 points a list (a small category has fewer points than that in all)
        lists.cp.min_points_per_centroid = max(1, min(TRAIN_PER_LIST, len(coords) // count))
        lists.train(coords)
        return cls(dim, projection, lists, spill_dir)

    @property
    def live(self) -> int:
        return self._live

    @property
    def deleted(self) -> set[int]:
        """Removed rows carry id -1 in the saved files; nothing to list in the manifest."""
        return set()

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """New rows; a product already here (a new image) gets a new row and its old one is removed."""
        if not len(ids):
            return
        ids = np.asarray(ids, np.int64)
        for pid in ids[np.isin(ids, self.ids)]:
            self.remove(int(pid))
        vectors = unit(vectors)
        rows = np.arange(len(self.ids), len(self.ids) + len(ids), dtype=np.int64)
        self.lists.add_with_ids(self.projection(vectors), rows)
        self.ids = np.concatenate([self.ids, ids])
        self.fresh.append(vectors)
        self._live += len(ids)
        self._lookup = None
        if sum(len(rows) for rows in self.fresh) >= SPILL_ROWS:
            self._spill_fresh()

    def _spill_fresh(self) -> None:
        """Move the unsaved rows held in RAM to the temp file (created on first use, gone when closed)."""
        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix=".tmp-index-spill-", dir=self.spill_dir)  # noqa: SIM115 (lives until save)
        self._spill.seek(0, os.SEEK_END)
        self._spill.writelines(rows.tobytes() for rows in self.fresh)
        self._spill.flush()
        rows = len(self._spilled) + sum(len(r) for r in self.fresh)
        self._spilled = np.memmap(self._spill, dtype=np.float32, mode="r", shape=(rows, self.dim))
        self.fresh = []

    def remove(self, product_id: int) -> None:
        row = self._row_of(product_id)
        if row is None:  # not in this index (already gone, or never embedded)
            return
        self.ids[row] = -1
        self._removed.append(row)
        self._live -= 1

    def query(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosine similarities), each (N, min(k, live)), best first: list candidates, exact scores."""
        k = min(k, self._live)
        n = len(vectors)
        if k <= 0:
            return np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32)
        self._drop_removed()
        wanted = min(max(RERANK, k), self._live)
        per_list = max(1.0, self.lists.ntotal / self.lists.nlist)
        self.lists.nprobe = min(self.lists.nlist, math.ceil(PROBE_ROWS / per_list))
        queries = unit(vectors)
        coords = self.projection(queries)
        _, candidates = self.lists.search(coords, wanted)
        out_ids, out_scores = np.zeros((n, k), np.int64), np.zeros((n, k), np.float32)
        for i, rows in enumerate(candidates):
            if (rows >= 0).sum() < k:  # the nearest lists held fewer than k rows (-1 pads): scan them all
                self.lists.nprobe = self.lists.nlist
                rows = self.lists.search(coords[i : i + 1], wanted)[1][0]
            rows = np.sort(rows[rows >= 0])  # file order: neighbouring rows share pages
            scores = self._rows(rows) @ queries[i]
            best = np.argsort(-scores, kind="stable")[:k]
            out_ids[i], out_scores[i] = self.ids[rows[best]], scores[best]
        return out_ids, out_scores

    def _drop_removed(self) -> None:
        """Removed rows leave the lists in one pass over them (faiss scans every list to remove)."""
        if self._removed:
            self.lists.remove_ids(np.asarray(self._removed, np.int64))
            self._removed = []

    # -- files --------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """The three files under unique temp names beside ``path``, each renamed into place; the store
        is then re-opened from its new file (which also lets the old one be deleted on Windows)."""
        from engine.files import replace_atomically
        from engine.index import temp_file  # the index module's temp names, which its sweeper cleans

        written: list[Path] = []
        try:
            for target, write in ((path, self._write_lists), (path.with_suffix(".npz"), self._write_meta),
                                  (path.with_suffix(".f32"), self._write_store)):
                tmp = temp_file(path.parent)
                written.append(tmp)
                write(tmp)
                replace_atomically(tmp, target)
        finally:
            for tmp in written:
                tmp.unlink(missing_ok=True)
        self._store_file = path.with_suffix(".f32")
        self.store = _open_store(self._store_file, len(self.ids), self.dim)
        self.fresh, self._spilled = [], np.zeros((0, self.dim), np.float32)
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    @classmethod
    def load(cls, path: Path, dim: int) -> CompactIndex:
        """The index saved at ``path``; its rows stay on disk (memory-mapped)."""
        try:
            with np.load(path.with_suffix(".npz"), allow_pickle=False) as meta:
                version, mean, matrix, ids = (int(meta["version"]), meta["mean"], meta["matrix"],
                                              meta["ids"].astype(np.int64))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(f"index file {path.with_suffix('.npz')} is unreadable ({exc})") from exc
        if version != VERSION:
            raise IndexCorruptError(f"index {path.name} is format {version}, this DecorLens reads {VERSION}")
        if mean.shape != (dim,) or matrix.ndim != 2 or matrix.shape[0] != dim:
            raise IndexCorruptError(f"index {path.name}'s projection is not for {dim}-d vectors")
        faiss = _faiss()
        try:
            lists = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexCorruptError(f"index {path} is corrupt: {' '.join(str(exc).split())[:200]}") from exc
        live = int((ids >= 0).sum())
        kind_ok = isinstance(lists, faiss.IndexIVFScalarQuantizer) and lists.d == matrix.shape[1]
        if not kind_ok or lists.ntotal != live:
            raise IndexCorruptError(f"index {path} does not hold the {live} rows its ids list")
        self = cls(dim, Projection(mean, matrix), lists, path.parent)
        self.ids, self._live = ids, live
        self._store_file = path.with_suffix(".f32")
        self.store = _open_store(self._store_file, len(ids), dim)
        return self

    def _write_lists(self, tmp: Path) -> None:
        self._drop_removed()
        _faiss().write_index(self.lists, str(tmp))

    def _write_meta(self, tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, version=np.int64(VERSION), mean=self.projection.mean, matrix=self.projection.matrix,
                     ids=self.ids)

    def _write_store(self, tmp: Path) -> None:
        """Saved and spilled rows copied file to file, then the new ones: read through their memory maps,
        every page would stay mapped in this process (5.8 GB for a 1M build)."""
        with open(tmp, "wb") as fh:
            if self._store_file is not None:
                with open(self._store_file, "rb") as saved:
                    shutil.copyfileobj(saved, fh, COPY_BYTES)
            if self._spill is not None:
                self._spill.seek(0)
                shutil.copyfileobj(self._spill, fh, COPY_BYTES)
            fh.writelines(rows.tobytes() for rows in self.fresh)

    # -- rows ---------------------------------------------------------------------------------

    def _rows(self, rows: np.ndarray) -> np.ndarray:
        """Full vectors of ``rows`` (sorted) as float32: saved, spilled and in-RAM rows, in that order."""
        if rows[-1] < len(self.store):
            return self.store[rows]
        parts, start = [], 0
        for segment in (self.store, self._spilled, np.concatenate([np.zeros((0, self.dim), np.float32), *self.fresh])):
            lo, hi = np.searchsorted(rows, [start, start + len(segment)])
            parts.append(segment[rows[lo:hi] - start])
            start += len(segment)
        return np.concatenate(parts)

    def _row_of(self, product_id: int) -> int | None:
        if self._lookup is None:
            order = np.argsort(self.ids, kind="stable")
            self._lookup = (self.ids[order], order)
        values, order = self._lookup
        lo, hi = np.searchsorted(values, product_id, "left"), np.searchsorted(values, product_id, "right")
        for row in order[lo:hi]:
            if self.ids[row] == product_id:
                return int(row)
        return None


def _open_store(path: Path, rows: int, dim: int) -> np.ndarray:
    """The saved rows, memory-mapped read-only: only the pages of rows a query scores are ever read."""
    if path.stat().st_size != rows * dim * 4:
        raise IndexCorruptError(f"index file {path} does not hold {rows} rows of {dim} float32")
    if rows == 0:
        return np.zeros((0, dim), np.float32)
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    if hasattr(mmap, "MADV_RANDOM"):  # no read-ahead: the 1M run mapped 1.7 GB of page cache for 120 MB of rows
        mapped.madvise(mmap.MADV_RANDOM)
    return np.frombuffer(mapped, np.float32).reshape(rows, dim)
