"""The catalog as a map: a 2-D t-SNE layout of the products' stored vectors, cached per embedder.

A merchandiser sees what the model thinks is alike: products the embedder puts close together land
close together on the map, so a fine-tuned embedder's effect shows at a glance beside the stock one.

The layout is openTSNE's t-SNE (Barnes-Hut, both cores) of the vectors reduced to 50 dimensions by
PCA first, as the t-SNE literature does for wide embeddings: 2,000 products take about 28 s of CPU,
against 32 s single-threaded for scikit-learn's TSNE, and openTSNE reports every few iterations, so
a worker shows progress and can stop (docs/results.md, "Catalog map").

A computed map is cached in ``<data dir>/maps/`` (one file per embedder, written atomically), keyed by
the embedder's sha256 and by the catalog's record of the vectors mapped: which product, which image
and the catalog revision that wrote each vector. Adding, removing or re-photographing a product, or
another embedder, computes a new map; renaming one or changing its price does not (names and categories
are read from the catalog when the map is shown). A cached map opens at once.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.catalog import Catalog
from engine.errors import Cancelled, CatalogError, DecorLensError
from engine.files import write_atomic
from engine.importer import Progress

if TYPE_CHECKING:
    from engine.embed import Embedder

LAYOUT = "openTSNE-bh PCA-50 perplexity-30 iterations-250+500 v1"  # in the key: a new recipe recomputes
PCA_DIMENSIONS = 50
PERPLEXITY = 30.0
EARLY_ITERATIONS = 250  # early exaggeration, as openTSNE's defaults
ITERATIONS = 500
REPORT_EVERY = 10  # iterations between progress reports (and cancel checks)
MAPS = "maps"
Log = Callable[[str], None]


@dataclass(frozen=True)
class CatalogMap:
    """Product ids and their places on the map, both axes in [0, 1] (the shorter one centred)."""

    embedder: str  # the embedder's key, name and short sha256
    key: str  # what the cache is keyed on: embedder sha256, vectors mapped, layout recipe
    revision: int  # the catalog revision when it was computed
    ids: np.ndarray  # (N,) int64
    xy: np.ndarray  # (N, 2) float32
    cached: bool = False  # read from the cache file rather than computed now

    def __len__(self) -> int:
        return len(self.ids)


def catalog_map(
    catalog: Catalog,
    embedder: Embedder,
    data_dir: Path,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    log: Log = lambda _msg: None,
) -> CatalogMap:
    """The map of the products ``embedder`` has vectors for: from the cache when it is current, else computed
    (and cached). Products still lacking a vector are left off: embed them first (``prepare_matcher``)."""
    key = map_key(catalog, embedder)
    path = cache_path(data_dir, embedder.key)
    cached = load_cached(path, key, log)
    if cached is not None:
        return cached
    revision = catalog.revision
    rows = list(catalog.vectors(embedder.key))
    if not rows:
        raise CatalogError(
            f"the catalog {catalog.path} has no {embedder.key} vectors to map: import products first "
            "with `decorlens catalog import`"
        )
    ids = np.array([pid for pid, _, _ in rows], np.int64)
    xy = layout(np.stack([v for _, _, v in rows]), progress, cancelled)
    result = CatalogMap(embedder.key, key, revision, ids, xy)
    save(path, result)
    return result


def map_key(catalog: Catalog, embedder: Embedder) -> str:
    """A digest of what the layout depends on: the weights, each mapped vector's product, image and the
    revision that wrote it, and the layout recipe. One SQL query: no vector is read."""
    digest = hashlib.sha256(f"{embedder.card.sha256}\n{LAYOUT}\n".encode())
    rows = catalog.db.execute(
        "SELECT v.product_id, v.image_hash, v.revision FROM vectors v JOIN products p ON p.id = v.product_id "
        "WHERE v.embedder = ? AND v.image_hash = p.image_hash ORDER BY v.product_id",
        (embedder.key,),
    )
    for pid, image_hash, revision in rows:
        digest.update(f"{pid} {image_hash} {revision}\n".encode())
    return digest.hexdigest()


def cache_path(data_dir: Path, embedder_key: str) -> Path:
    return Path(data_dir) / MAPS / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', embedder_key)}.npz"


def load_cached(path: Path, key: str, log: Log = lambda _msg: None) -> CatalogMap | None:
    """The cached map when it was computed for ``key``; None when there is none, it is stale or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            ids, xy = data["ids"].astype(np.int64), data["xy"].astype(np.float32)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # truncated, not an npz, not ours
        log(f"catalog map cache {path} is unreadable ({type(exc).__name__}); computing the map again")
        return None
    if meta.get("key") != key:
        return None
    if ids.ndim != 1 or xy.shape != (len(ids), 2):
        log(f"catalog map cache {path} is malformed; computing the map again")
        return None
    return CatalogMap(str(meta.get("embedder", "")), key, int(meta.get("revision", -1)), ids, xy, cached=True)


def save(path: Path, result: CatalogMap) -> None:
    """One npz (ids, positions, and what they were computed for), replaced atomically."""
    meta = {"key": result.key, "embedder": result.embedder, "revision": result.revision, "layout": LAYOUT}
    buffer = io.BytesIO()
    np.savez(buffer, ids=result.ids, xy=result.xy, meta=np.array(json.dumps(meta)))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue())


def layout(
    vectors: np.ndarray, progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False
) -> np.ndarray:
    """(N, 2) positions in [0, 1] for N vectors: PCA to 50 dimensions, then t-SNE.

    ``progress`` hears (iterations done, iterations in all); ``cancelled`` is asked as often, and a
    cancel raises ``Cancelled`` (nothing is cached).
    """
    vectors = np.asarray(vectors, np.float32)
    total = EARLY_ITERATIONS + ITERATIONS
    if progress:
        progress(0, total)
    if len(vectors) < 4:  # t-SNE needs neighbours; a catalog this small is drawn as a row
        return _normalise(np.column_stack([np.arange(len(vectors)), np.zeros(len(vectors))]))
    TSNEEmbedding, affinity, initialization, PCA = _tsne()
    reduced = PCA(min(PCA_DIMENSIONS, *vectors.shape), random_state=0).fit_transform(vectors)
    affinities = affinity.PerplexityBasedNN(
        reduced, perplexity=min(PERPLEXITY, (len(vectors) - 1) / 3), method="annoy", n_jobs=-1, random_state=0
    )
    done = 0

    def report(iteration: int, _error: float, _embedding: np.ndarray) -> bool:
        if cancelled():
            raise Cancelled("the catalog map was cancelled")
        if progress:
            progress(done + iteration, total)
        return False

    embedding = TSNEEmbedding(
        initialization.pca(reduced, random_state=0), affinities, negative_gradient_method="bh", n_jobs=-1,
        callbacks=report, callbacks_every_iters=REPORT_EVERY, random_state=0,
    )
    embedding = embedding.optimize(EARLY_ITERATIONS, exaggeration=12, momentum=0.5)
    done = EARLY_ITERATIONS
    embedding = embedding.optimize(ITERATIONS, momentum=0.8)
    return _normalise(np.asarray(embedding))


def _tsne() -> tuple:
    """openTSNE's parts and scikit-learn's PCA, imported when a map is made (about 1 s), or a one-line error."""
    try:
        from openTSNE import TSNEEmbedding, affinity, initialization
        from sklearn.decomposition import PCA
    except ImportError as exc:
        raise DecorLensError(f"the catalog map needs openTSNE and scikit-learn ({exc.name} is missing): "
                             "pip install -e '.[map]' (the [gui] extra brings them too)") from exc
    return TSNEEmbedding, affinity, initialization, PCA


def _normalise(points: np.ndarray) -> np.ndarray:
    """Scale into the unit square keeping the aspect ratio (t-SNE distances are the same both ways)."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = float((high - low).max()) or 1.0
    centred = (points - low) / span + (1.0 - (high - low) / span) / 2.0
    return centred.astype(np.float32)
