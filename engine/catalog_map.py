"""The catalog as a map: a 2-D t-SNE layout of the products' stored vectors, cached per embedder.

A merchandiser sees what the model thinks is alike: products the embedder puts close together land
close together on the map, so a fine-tuned embedder's effect shows at a glance beside the stock one.

The layout is openTSNE's t-SNE (Barnes-Hut, both cores) of the vectors reduced to 50 dimensions by
PCA first, as the t-SNE literature does for wide embeddings, and openTSNE reports every few iterations, so
a worker shows progress and can stop. The iterations are most of a map's time: 120 of early exaggeration
and 380 after them, two thirds of openTSNE's default 250 + 500, because from a PCA start with openTSNE's
automatic learning rate a catalog-sized map has settled by then: on the IKEA catalog the same share of each
product's 5 nearest in its category and of its 10 nearest by cosine kept, and a KL divergence within 1 %
(``bench/map_layout.py``, docs/results.md, "Catalog map").

A catalog of more than ``MAX_LAID_OUT`` products is not laid out whole: t-SNE's time grows faster than the
catalog (at 200,000 products the bar was still at the neighbour search 100 s in), and a screen shows no more than some
thousands of points apart anyway. A sample of ``MAX_LAID_OUT`` products, each category in its share of the
catalog, is laid out as above (the PCA fitted on the sample), and every other product is placed at the median
of its ``PLACED_BY`` nearest laid-out products in the same 50 PCA dimensions, so it lands among the products the
embedder finds most alike. Every product is on the map; ``CatalogMap.laid_out`` says how many were laid out, and
the Map tab says so. A catalog at or under the cap (IKEA's 1,955) is laid out exactly as before.

A computed map is cached in ``<data dir>/maps/`` (one file per embedder, written atomically), keyed by
the embedder's key (its name and the start of its sha256, as the vectors are) and by the catalog's record
of the vectors mapped: which product, which image and the catalog revision that wrote each vector.
Adding, removing or re-photographing a product, or another embedder, computes a new map; renaming one
or changing its price does not (names and categories are read from the catalog when the map is shown).
A cached map opens at once.

Reading a cached map needs numpy only: openTSNE (and the scikit-learn and SciPy it brings) is imported
when a map is computed, never to read one, so an install without the ``[map]`` extra still shows the
maps computed elsewhere on the same data dir or that came in a catalog bundle (``engine.bundle_map``).
The packaged app carries all three and computes maps itself. A cache file is read as hostile input
(``read_map``): it may have come in a bundle.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import sqlite3
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.catalog import Catalog
from engine.errors import Cancelled, CatalogError, DecorLensError
from engine.files import write_atomic
from engine.importer import Progress
from engine.models import model_label
from engine.remedies import IMPORT_FIRST

if TYPE_CHECKING:
    from engine.embed import Embedder

LAYOUT = "openTSNE-bh PCA-50 perplexity-30 iterations-120+380 v1"  # in the key: a new recipe recomputes
PCA_DIMENSIONS = 50
PERPLEXITY = 30.0
EARLY_ITERATIONS = 120  # early exaggeration (openTSNE's default: 250); both multiples of REPORT_EVERY, so that
ITERATIONS = 380  # the last report is the end (see the module docstring for why 500 in all, not 750)
REPORT_EVERY = 10  # iterations between progress reports (and cancel checks)
# The steps before the iterations, each counted as the iterations it takes about as long as (2,000 products, two
# cores: imports 1.9 s, PCA 1.2 s, neighbours 0.9 s, 750 iterations 2.5 s, so 500 about 1.7 s), and what each is
# called while it runs
LOAD_STEPS, PCA_STEPS, NEIGHBOUR_STEPS, REST_STEPS = 250, 200, 150, 100
LAYOUT_STEPS = LOAD_STEPS + PCA_STEPS + NEIGHBOUR_STEPS + EARLY_ITERATIONS + ITERATIONS + REST_STEPS
MAX_LAID_OUT = 10_000  # products t-SNE lays out; the rest are placed by their nearest laid-out neighbours
PLACED_BY = 5  # laid-out neighbours whose median places a product beyond the cap
PLACE_CHUNK = 4096  # products placed a step, a progress report and cancel check each
LOADING = "loading the layout tools"
REDUCING = "condensing the products' features"
NEIGHBOURS = "finding each product's nearest look-alikes"
PLACING_REST = "placing the other"
PLACING = "placing"
MAPS = "maps"
MAX_MAP_BYTES = 64 << 20  # a cache file: 16 bytes a product, so room for 4 M products
MAX_META_CHARS = 4096
MEMBERS = {"ids.npy", "xy.npy", "meta.npy"}
Log = Callable[[str], None]
Stage = Callable[[str], None]  # what the map is doing now, in words ("placing 1,955 products")


@dataclass(frozen=True)
class CatalogMap:
    """Product ids and their places on the map, both axes in [0, 1] (the shorter one centred)."""

    embedder: str  # the embedder's key, name and short sha256
    key: str  # what the cache is keyed on: embedder sha256, vectors mapped, layout recipe
    revision: int  # the catalog revision when it was computed
    ids: np.ndarray  # (N,) int64
    xy: np.ndarray  # (N, 2) float32
    cached: bool = False  # read from the cache file rather than computed now
    title: str = ""  # what people read above the map: the embedder's ``model_label`` (not cached: cards get renamed)
    laid_out: int | None = None  # how many t-SNE laid out, the rest placed by neighbours; None: every product

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def sampled(self) -> bool:
        """Only a sample was laid out by t-SNE (a catalog above ``MAX_LAID_OUT``): the map should say so."""
        return self.laid_out is not None and self.laid_out < len(self.ids)


def catalog_map(
    catalog: Catalog,
    embedder: Embedder,
    data_dir: Path,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    log: Log = lambda _msg: None,
    stage: Stage = lambda _words: None,
) -> CatalogMap:
    """The map of the products ``embedder`` has vectors for: from the cache when it is current, else computed
    (and cached), ``progress`` and ``stage`` hearing how far and what (``layout``). Products still lacking a vector
    are left off: embed them first (``prepare_matcher``)."""
    key = map_key(catalog.db, embedder.key)
    path = cache_path(data_dir, embedder.key)
    cached = load_cached(path, key, log)
    if cached is not None:
        return replace(cached, title=model_label(embedder.model))
    revision = catalog.revision
    rows = list(catalog.vectors(embedder.key))
    if not rows:
        raise CatalogError(
            f"the catalog {catalog.path} has no {embedder.key} vectors to map: {IMPORT_FIRST()}"
        )
    ids = np.array([pid for pid, _, _ in rows], np.int64)
    categories = [category for _, category, _ in rows]
    xy = layout(np.stack([v for _, _, v in rows]), progress, cancelled, stage, categories)
    laid_out = MAX_LAID_OUT if len(ids) > MAX_LAID_OUT else None  # as ``layout`` samples
    result = CatalogMap(embedder.key, key, revision, ids, xy, title=model_label(embedder.model), laid_out=laid_out)
    try:
        save(path, result)
    except OSError as exc:  # a folder or FIFO in the cache file's place, a full disk: the map computed still shows
        log(f"catalog map cache {path} cannot be written ({_why(exc, path)}); the map is computed again next time")
    return result


def _why(exc: OSError, path: Path) -> str:
    """``exc`` in a few words, its path left out (the line names it), without ``write_atomic``'s "name a file"."""
    return (exc.strerror or str(exc)).removeprefix(f"{path}: ").removesuffix("; name a file")


def map_titles(maps: Sequence[CatalogMap]) -> list[str]:
    """The heading of each map shown side by side (the app's Map tab and the HTML page): the embedder's
    label (``engine.models.model_label``), or its key where two maps would read the same (two files of one card
    name)."""
    names = [m.title or m.embedder for m in maps]
    return [m.embedder if names.count(name) > 1 else name for m, name in zip(maps, names)]


def map_key(db: sqlite3.Connection, embedder_key: str) -> str:
    """A digest of what the layout depends on: the weights (the embedder key names them, as it does for the
    vectors), each mapped vector's product, image and the revision that wrote it, and the layout recipe.
    One SQL query: no vector is read. Takes a connection, so a bundle's snapshot is keyed the same way."""
    digest = hashlib.sha256(f"{embedder_key}\n{LAYOUT}\n".encode())
    for pid, image_hash, revision in _current_vectors(db, embedder_key):
        digest.update(f"{pid} {image_hash} {revision}\n".encode())
    return digest.hexdigest()


def mapped_ids(db: sqlite3.Connection, embedder_key: str) -> np.ndarray:
    """The products a current map of ``embedder_key`` places: those with a vector of their present picture."""
    return np.array([pid for pid, _, _ in _current_vectors(db, embedder_key)], np.int64)


def _current_vectors(db: sqlite3.Connection, embedder_key: str) -> sqlite3.Cursor:
    """(product id, image hash, revision) of each vector of the product's present picture, by product id."""
    return db.execute(
        "SELECT v.product_id, v.image_hash, v.revision FROM vectors v JOIN products p ON p.id = v.product_id "
        "WHERE v.embedder = ? AND v.image_hash = p.image_hash ORDER BY v.product_id",
        (embedder_key,),
    )


def cache_path(data_dir: Path, embedder_key: str) -> Path:
    return Path(data_dir) / MAPS / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', embedder_key)}.npz"


def load_cached(path: Path, key: str, log: Log = lambda _msg: None) -> CatalogMap | None:
    """The cached map when it was computed for ``key``; None when there is none, it is stale or unreadable."""
    if not path.is_file():
        return None
    try:
        result = read_map(path)
    except MapFileError as exc:
        log(f"catalog map cache {path} is unusable ({exc}); computing the map again")
        return None
    return result if result.key == key else None


class MapFileError(ValueError):
    """A map file that is not one this module wrote: unreadable, too big, or of the wrong shape or type."""


def read_map(path: Path) -> CatalogMap:
    """A map file, checked as hostile input (it may have come in a catalog bundle): an npz of at most
    ``MAX_MAP_BYTES`` holding exactly ids (N,) int64 without repeats, xy (N, 2) float32 inside the unit
    square and a short JSON meta; no pickles. Raises ``MapFileError`` saying what is wrong."""
    try:
        if path.stat().st_size > MAX_MAP_BYTES:
            raise MapFileError(f"larger than {MAX_MAP_BYTES >> 20} MB")
        with zipfile.ZipFile(path) as zf:  # sizes as declared, before numpy inflates anything
            infos = zf.infolist()
            if {i.filename for i in infos} != MEMBERS or len(infos) != len(MEMBERS):
                raise MapFileError("not a catalog map (other members)")
            if sum(i.file_size for i in infos) > MAX_MAP_BYTES:
                raise MapFileError(f"unpacks to more than {MAX_MAP_BYTES >> 20} MB")
            if any(_declared_bytes(zf, i) > i.file_size for i in infos):
                raise MapFileError("an array's header declares more data than its member holds")
        with np.load(path, allow_pickle=False) as data:
            ids, xy, meta = data["ids"], data["xy"], data["meta"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, MapFileError):
            raise
        raise MapFileError(f"unreadable: {type(exc).__name__}") from exc
    embedder, key, revision, laid_out = _checked_meta(meta)
    return CatalogMap(embedder, key, revision, ids=_checked_ids(ids), xy=_checked_xy(xy, len(ids)), cached=True,
                      laid_out=laid_out)


def _declared_bytes(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """The bytes a member's .npy header says its array holds: numpy allocates that much before it reads any, and a
    header of shape (10**15,) in a 300-byte member ended ``read_map`` in "unexpected MemoryError"."""
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _fortran, dtype = header(fh)
    return math.prod(shape) * dtype.itemsize


def _checked_meta(meta: np.ndarray) -> tuple[str, str, int, int | None]:
    if meta.dtype.kind != "U" or meta.shape != () or len(str(meta)) > MAX_META_CHARS:
        raise MapFileError("its meta is not a short text")
    try:
        fields = json.loads(str(meta))
    except ValueError as exc:
        raise MapFileError("its meta is not JSON") from exc
    if not isinstance(fields, dict):
        raise MapFileError("its meta is not a JSON object")
    key, embedder, revision = fields.get("key"), fields.get("embedder", ""), fields.get("revision", -1)
    if not (isinstance(key, str) and isinstance(embedder, str) and type(revision) is int):
        raise MapFileError("its meta lacks the key, embedder or revision")
    laid_out = fields.get("laid_out")  # absent in maps cached before the cap: every product was laid out
    if laid_out is not None and (type(laid_out) is not int or laid_out < 0):
        raise MapFileError("its meta's laid_out is not a count")
    return embedder, key, revision, laid_out


def _checked_ids(ids: np.ndarray) -> np.ndarray:
    if ids.dtype != np.dtype("<i8") or ids.ndim != 1:
        raise MapFileError(f"ids are {ids.dtype} {ids.shape}, not int64 (N,)")
    if len(np.unique(ids)) != len(ids):
        raise MapFileError("a product is placed twice")
    return ids


def _checked_xy(xy: np.ndarray, count: int) -> np.ndarray:
    if xy.dtype != np.dtype("<f4") or xy.shape != (count, 2):
        raise MapFileError(f"positions are {xy.dtype} {xy.shape}, not float32 ({count}, 2)")
    if not np.isfinite(xy).all() or (count and (xy.min() < 0.0 or xy.max() > 1.0)):
        raise MapFileError("positions lie outside the unit square")
    return xy


def save(path: Path, result: CatalogMap) -> None:
    """One npz (ids, positions, and what they were computed for), replaced atomically."""
    meta = {"key": result.key, "embedder": result.embedder, "revision": result.revision, "layout": LAYOUT}
    if result.laid_out is not None:
        meta["laid_out"] = result.laid_out
    buffer = io.BytesIO()
    np.savez(buffer, ids=result.ids.astype("<i8"), xy=result.xy.astype("<f4"), meta=np.array(json.dumps(meta)))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue())


def layout(
    vectors: np.ndarray,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    stage: Stage = lambda _words: None,
    categories: Sequence[str] | None = None,
) -> np.ndarray:
    """(N, 2) positions in [0, 1] for N vectors: PCA to 50 dimensions, then t-SNE; above ``MAX_LAID_OUT`` vectors,
    t-SNE of a sample stratified by ``categories`` (one per vector; None: one stratum) and the rest placed by their
    nearest laid-out neighbours (the module docstring says why).

    ``progress`` hears (steps done, ``LAYOUT_STEPS``): the steps that report nothing themselves (the imports, PCA,
    the neighbour search: seconds, tens on a busy machine) count as many steps as they roughly take iterations, so
    the bar moves through them, then every ``REPORT_EVERY`` iterations; ``stage`` hears what each step does in
    words before it starts (the first opening of the Map sat 30 s under a bar that said nothing). ``cancelled`` is
    asked as often, and before each step; a cancel raises ``Cancelled`` (nothing is cached).
    """
    vectors = np.asarray(vectors, np.float32)
    report = progress or (lambda _done, _total: None)
    report(0, LAYOUT_STEPS)
    if len(vectors) < 4:  # t-SNE needs neighbours; a catalog this small is drawn as a row
        report(LAYOUT_STEPS, LAYOUT_STEPS)
        return _normalise(np.column_stack([np.arange(len(vectors)), np.zeros(len(vectors))]))
    done = 0

    def step(words: str, weight: int) -> None:
        """Say what comes next, then count the step before it as done."""
        nonlocal done
        _stop_if(cancelled)
        if done:
            report(done, LAYOUT_STEPS)
        stage(words)
        done += weight

    chosen = sample(categories if categories is not None else [""] * len(vectors), MAX_LAID_OUT)
    step(LOADING, LOAD_STEPS)
    TSNEEmbedding, affinity, initialization, PCA = _tsne()
    step(REDUCING, PCA_STEPS)
    axes = None if len(chosen) == len(vectors) else principal_axes(vectors[chosen], PCA_DIMENSIONS)
    if axes is None:  # scikit-learn's PCA, as maps were always made
        reduced = PCA(min(PCA_DIMENSIONS, *vectors.shape), random_state=0).fit_transform(vectors)
    else:
        reduced = (vectors[chosen] - axes[0]) @ axes[1]
    step(NEIGHBOURS, NEIGHBOUR_STEPS)
    affinities = affinity.PerplexityBasedNN(
        reduced, perplexity=min(PERPLEXITY, (len(chosen) - 1) / 3), method="annoy", n_jobs=-1, random_state=0
    )
    laying = f"{len(chosen):,} of {len(vectors):,}" if len(chosen) < len(vectors) else f"{len(vectors):,}"
    step(f"{PLACING} {laying} products", 0)
    start = done

    def iterated(iteration: int, _error: float, _embedding: np.ndarray) -> bool:
        _stop_if(cancelled)
        report(start + iteration, LAYOUT_STEPS)
        return False

    embedding = TSNEEmbedding(
        initialization.pca(reduced, random_state=0), affinities, negative_gradient_method="bh", n_jobs=-1,
        callbacks=iterated, callbacks_every_iters=REPORT_EVERY, random_state=0,
    )
    embedding = embedding.optimize(EARLY_ITERATIONS, exaggeration=12, momentum=0.5)
    start += EARLY_ITERATIONS
    embedding = np.asarray(embedding.optimize(ITERATIONS, momentum=0.8))
    if axes is None:
        report(LAYOUT_STEPS, LAYOUT_STEPS)
        return _normalise(embedding)
    stage(f"{PLACING_REST} {len(vectors) - len(chosen):,} products by their nearest laid-out look-alikes")
    start += ITERATIONS

    def placed(share: float) -> None:
        _stop_if(cancelled)
        report(start + int(REST_STEPS * share), LAYOUT_STEPS)

    return _normalise(place_rest(vectors, chosen, axes, reduced, embedding, placed))


def principal_axes(sample: np.ndarray, dimensions: int) -> tuple[np.ndarray, np.ndarray]:
    """The sample's mean and its ``dimensions`` principal axes as (D, dimensions) columns: the eigenvectors of the
    covariance, by numpy. scikit-learn's randomized PCA of a 10,000-product sample held the GIL in SciPy's LU for
    up to 2.4 s on a loaded machine, the window frozen meanwhile; numpy's matrix product and ``eigh`` let it run
    (docs/results.md, "Catalog map at 200,000 products")."""
    mean = sample.mean(axis=0)
    centred = sample - mean
    _values, vectors = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    return mean, np.ascontiguousarray(vectors[:, ::-1][:, :dimensions], dtype=np.float32)


def sample(categories: Sequence[str], cap: int) -> np.ndarray:
    """Indices (sorted) of at most ``cap`` of the products, each category in its share of the catalog (the largest
    remainders rounded up, so the shares add up to ``cap``) and at least one of each while ``cap`` allows, chosen
    at random but the same each time (seed 0): a merchandiser's small categories stay on the map. All of them
    when there are no more than ``cap``."""
    if len(categories) <= cap:
        return np.arange(len(categories))
    numbers: dict[str, int] = {}  # each category's number, first seen first: Python, which lets the window run
    strata = np.fromiter((numbers.setdefault(c, len(numbers)) for c in categories), np.int64, len(categories))
    sizes = np.bincount(strata, minlength=len(numbers))  # (numpy's unique of 200,000 names held the GIL throughout)
    floor = np.minimum(sizes, 1) if cap >= len(numbers) else np.zeros_like(sizes)
    exact = floor + (cap - floor.sum()) * (sizes - floor) / max(int((sizes - floor).sum()), 1)
    quota = np.floor(exact).astype(np.int64)
    quota[np.argsort(-(exact - quota), kind="stable")[: cap - int(quota.sum())]] += 1
    rng = np.random.default_rng(0)
    picks = [rng.choice(np.flatnonzero(strata == s), int(q), replace=False) for s, q in enumerate(quota) if q]
    return np.sort(np.concatenate(picks))


def place_rest(
    vectors: np.ndarray, chosen: np.ndarray, axes: tuple[np.ndarray, np.ndarray], laid: np.ndarray,
    embedding: np.ndarray, placed: Callable[[float], None],
) -> np.ndarray:
    """Every product's map position: the laid-out ones (``chosen``, at ``embedding``) where t-SNE put them, each
    other at the median of its ``PLACED_BY`` nearest laid-out ones in the PCA space t-SNE started from (``axes``
    from ``principal_axes``, ``laid`` the sample in it). A median, not a mean: a product between two clusters goes
    into one, not into the gap. The nearest come from an HNSW index of the laid-out products (hnswlib, as the
    search's; its queries let the window's thread run): numpy's exact distances took a minute at 200,000. In blocks
    of ``PLACE_CHUNK``, so that ``placed`` hears the share done (and may cancel) every block."""
    import hnswlib

    mean, components = axes
    index = hnswlib.Index(space="l2", dim=laid.shape[1])
    index.init_index(max_elements=len(laid), ef_construction=100, M=16, random_seed=0)
    index.add_items(laid, num_threads=1)
    index.set_ef(50)
    rest = np.setdiff1d(np.arange(len(vectors)), chosen)
    xy = np.empty((len(vectors), 2), np.float64)
    xy[chosen] = embedding
    for begin in range(0, len(rest), PLACE_CHUNK):
        block = rest[begin:begin + PLACE_CHUNK]
        nearest, _ = index.knn_query((vectors[block] - mean) @ components, k=PLACED_BY, num_threads=1)
        xy[block] = np.median(embedding[nearest.astype(np.int64)], axis=1)
        placed((begin + len(block)) / len(rest))
    return xy


def _stop_if(cancelled: Callable[[], bool]) -> None:
    if cancelled():
        raise Cancelled("the catalog map was cancelled")


def check_can_compute() -> None:
    """The one-line error of ``layout`` now, when this install cannot compute a map (no ``[map]`` extra):
    asked before embedding a catalog for a map, which takes minutes and could only end in that error."""
    _tsne()


def _tsne() -> tuple:
    """openTSNE's parts and scikit-learn's PCA, imported when a map is made (about 1 s), or a one-line error."""
    try:
        from openTSNE import TSNEEmbedding, affinity, initialization
        from sklearn.decomposition import PCA
    except ImportError as exc:
        raise DecorLensError(
            f"no current map of this catalog, and making one needs openTSNE and scikit-learn ({exc.name} is "
            "missing): `pip install -e '.[map]'`, or import a catalog bundle made where they are"
        ) from exc
    return TSNEEmbedding, affinity, initialization, PCA


def _normalise(points: np.ndarray) -> np.ndarray:
    """Scale into the unit square keeping the aspect ratio (t-SNE distances are the same both ways)."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = float((high - low).max()) or 1.0
    centred = (points - low) / span + (1.0 - (high - low) / span) / 2.0
    return centred.astype(np.float32)
