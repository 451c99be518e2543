"""The vector index at scale: hnswlib (what the engine uses) against faiss flat and HNSW, at 10k, 100k
and 1M vectors of the embedder's dimension, and the effect of PCA projection and float16 storage.

Vectors: the real embeddings of the dataset's products (from the bench catalog) plus synthetic ones
drawn from a Gaussian with the real mean and covariance (eigen-decomposed: the components holding
99% of the variance exactly, the rest as isotropic noise of the same total variance), L2-normalised.
Queries: held-out real product embeddings (not in the index) and as many fresh synthetic draws.
Ground truth: exact cosine top-10 in the full dimension (numpy, streamed). recall@10 of every
index, projected ones included, is measured against that.

Vectors are generated in chunks and streamed into the flat indexes and projections, so 1M × 1280
float32 (5 GB) is never held twice. Index memory is the process RSS growth while the index is
filled. HNSW parameters are the engine's: M=16, ef_construction=200, ef_search=128.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Options, Workspace, header, machine_info, md_table, percentile, write_report

K = 10
CHUNK = 50_000
M = 16
EF_CONSTRUCTION = 200
EF_SEARCH = 128
EF_SWEEP = (32, 64, 256, 512)  # also measured for every HNSW index, beside EF_SEARCH


def available_mb() -> float:
    try:
        import psutil

        return psutil.virtual_memory().available / 2**20
    except ImportError:
        return float("inf")


# -- the vectors ----------------------------------------------------------------------------------


class Synthetic:
    """Gaussian draws matching the real vectors' mean and covariance, then L2-normalised."""

    def __init__(self, real: np.ndarray, seed: int, keep_variance: float = 0.99):
        self.mean = real.mean(0)
        cov = np.cov(real - self.mean, rowvar=False)
        values, vectors = np.linalg.eigh(cov)
        values, vectors = np.clip(values[::-1], 0, None), vectors[:, ::-1]
        cumulative = np.cumsum(values) / values.sum()
        self.rank = int(np.searchsorted(cumulative, keep_variance) + 1)
        self.basis = (vectors[:, : self.rank] * np.sqrt(values[: self.rank])).T.astype(np.float32)  # (r, d)
        self.noise = float(np.sqrt(values[self.rank :].sum() / real.shape[1]))
        self.rng = np.random.default_rng(seed)

    def draw(self, n: int) -> np.ndarray:
        z = self.rng.standard_normal((n, self.rank), dtype=np.float32)
        x = self.mean + z @ self.basis
        x += self.rng.standard_normal(x.shape, dtype=np.float32) * self.noise
        return normalise(x)


class SeedMixture:
    """Synthetic products made from real ones, for catalogs far larger than the real set: a real product
    (the seed) mixed with one of its 10 nearest real neighbours (a variant between two similar products,
    weight uniform in [0, ``mix``]), plus noise shaped like the real vectors' covariance (``structured``
    times a draw of it) and a little isotropic noise (total norm ``isotropic``), L2-normalised.

    Unlike the Gaussian of ``Synthetic``, these lie where real embeddings lie: clustered around real
    products, as a large catalog's variants and near-duplicates are. Chunk ``i`` is a pure function of
    (seed, i), so a 1M set can be regenerated chunk by chunk instead of held."""

    def __init__(self, seeds: np.ndarray, seed: int = 0, mix: float = 0.5, structured: float = 0.5,
                 isotropic: float = 0.15, neighbours: int = 10):
        self.seeds = np.ascontiguousarray(seeds, np.float32)
        sims = self.seeds @ self.seeds.T
        np.fill_diagonal(sims, -np.inf)
        self.neighbours = np.argsort(-sims, 1)[:, :neighbours]
        centred = self.seeds - self.seeds.mean(0)
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
        self.basis = (vt * (singular[:, None] / np.sqrt(len(self.seeds) - 1))).astype(np.float32)  # (r, d)
        self.mix, self.structured, self.isotropic, self.seed = mix, structured, isotropic, seed

    def chunk(self, index: int, n: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, index])
        a = rng.integers(len(self.seeds), size=n)
        b = self.neighbours[a, rng.integers(self.neighbours.shape[1], size=n)]
        t = rng.uniform(0, self.mix, size=(n, 1)).astype(np.float32)
        x = (1 - t) * self.seeds[a] + t * self.seeds[b]
        x += self.structured * (rng.standard_normal((n, len(self.basis)), dtype=np.float32) @ self.basis)
        x += (self.isotropic / np.sqrt(x.shape[1])) * rng.standard_normal(x.shape, dtype=np.float32)
        return normalise(x)

    def params(self) -> dict[str, float]:
        return {"seeds": len(self.seeds), "mix": self.mix, "structured": self.structured,
                "isotropic": self.isotropic, "neighbours": int(self.neighbours.shape[1])}


def normalise(x: np.ndarray) -> np.ndarray:
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x.astype(np.float32, copy=False)


class Projection:
    """Top-k principal directions of the (uncentred) real vectors: inner products are kept best."""

    def __init__(self, real: np.ndarray, dim: int):
        _, _, vt = np.linalg.svd(real, full_matrices=False)
        self.dim = dim
        self.matrix = np.ascontiguousarray(vt[:dim].T.astype(np.float32))  # (d, k)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x @ self.matrix)


class TopK:
    """Exact top-k by inner product for fixed queries, over a database seen chunk by chunk."""

    def __init__(self, queries: np.ndarray, k: int = K):
        self.queries = queries
        self.k = k
        self.ids = np.zeros((len(queries), 0), np.int64)
        self.scores = np.zeros((len(queries), 0), np.float32)

    def update(self, chunk: np.ndarray, offset: int) -> None:
        scores = self.queries @ chunk.T
        ids = np.broadcast_to(np.arange(offset, offset + len(chunk)), scores.shape)
        all_scores = np.concatenate([self.scores, scores], 1)
        all_ids = np.concatenate([self.ids, ids], 1)
        best = np.argpartition(-all_scores, min(self.k, all_scores.shape[1] - 1), axis=1)[:, : self.k]
        self.scores = np.take_along_axis(all_scores, best, 1)
        self.ids = np.take_along_axis(all_ids, best, 1)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth)]))


# -- the indexes ----------------------------------------------------------------------------------


@dataclass
class Candidate:
    """One index configuration: how to make it, fill it, query it, save and load it."""

    name: str
    library: str
    kind: str  # flat | hnsw
    dim: int  # 0: full dimension
    storage: str  # float32 | float16
    make: Callable[[int, int], Any]  # (dim, n) -> index
    add: Callable[[Any, np.ndarray, int], None]
    query: Callable[[Any, np.ndarray], np.ndarray]
    save: Callable[[Any, Path], None]
    load: Callable[[Path, int], Any]
    set_ef: Callable[[Any, int], None] | None = None  # HNSW: the search-time beam width
    index: Any = None
    build_s: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)


def hnswlib_candidate(dim: int = 0) -> Candidate:
    import hnswlib

    def make(d: int, n: int):
        index = hnswlib.Index(space="cosine" if not dim else "ip", dim=d)
        index.init_index(max_elements=n, ef_construction=EF_CONSTRUCTION, M=M)
        index.set_ef(EF_SEARCH)
        return index

    def load(path: Path, d: int):
        index = hnswlib.Index(space="cosine" if not dim else "ip", dim=d)
        index.load_index(str(path))
        index.set_ef(EF_SEARCH)
        return index

    return Candidate(
        f"hnswlib{'' if not dim else f' PCA-{dim}'}", "hnswlib", "hnsw", dim, "float32", make,
        lambda ix, x, off: ix.add_items(x, np.arange(off, off + len(x))),
        lambda ix, q: ix.knn_query(q, k=K)[0],
        lambda ix, path: ix.save_index(str(path)),
        load,
        set_ef=lambda ix, ef: ix.set_ef(ef),
    )


def faiss_candidate(kind: str, storage: str, dim: int = 0) -> Candidate:
    import faiss

    def make(d: int, n: int):
        metric = faiss.METRIC_INNER_PRODUCT
        if kind == "flat":
            if storage == "float16":
                return faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16, metric)
            return faiss.IndexFlatIP(d)
        index = (faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_fp16, M, metric) if storage == "float16"
                 else faiss.IndexHNSWFlat(d, M, metric))
        index.hnsw.efConstruction = EF_CONSTRUCTION
        index.hnsw.efSearch = EF_SEARCH
        return index

    def add(index, x: np.ndarray, _offset: int) -> None:
        if not index.is_trained:
            index.train(x[:1000])  # fp16 needs no statistics; train() just marks it ready
        index.add(x)

    def load(path: Path, _d: int):
        index = faiss.read_index(str(path))
        if kind == "hnsw":
            index.hnsw.efSearch = EF_SEARCH
        return index

    label = f"faiss {'Flat' if kind == 'flat' else 'HNSW'}{' SQfp16' if storage == 'float16' else ''}"
    return Candidate(
        label + (f" PCA-{dim}" if dim else ""), "faiss", kind, dim, storage, make, add,
        lambda ix, q: ix.search(q, K)[1],
        lambda ix, path: faiss.write_index(ix, str(path)),
        load,
        set_ef=(lambda ix, ef: setattr(ix.hnsw, "efSearch", ef)) if kind == "hnsw" else None,
    )


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Plan:
    size: int
    flat: list[Candidate]  # filled while the vectors stream by
    hnsw: list[Candidate]  # built afterwards from the kept arrays
    keep_full: bool  # keep the full-dimension vectors for HNSW builds
    budget_s: float  # per HNSW build; past it the build stops and the partial index is measured


def plans(quick: bool, dim: int, extended: bool = False) -> list[Plan]:
    """What runs at each size. The full run measures 1M with flat indexes and hnswlib at PCA-256;
    ``extended`` (``--sizes 1000000``) instead builds the engine's own index, hnswlib at full
    dimension, on 1M vectors (~6 GB, a 30-minute build budget on 2 cores)."""
    def full_set() -> list[Candidate]:
        return [hnswlib_candidate(), faiss_candidate("hnsw", "float32"), faiss_candidate("hnsw", "float16"),
                hnswlib_candidate(512), hnswlib_candidate(256)]

    def flats() -> list[Candidate]:
        return [faiss_candidate("flat", "float32"), faiss_candidate("flat", "float16")]

    if quick:
        return [Plan(10_000, flats(), full_set(), True, 600)]
    if extended:
        return [Plan(1_000_000, [], [hnswlib_candidate()], True, 1800)]
    return [
        Plan(10_000, flats(), full_set(), True, 1800),
        Plan(100_000, flats(), [hnswlib_candidate(), faiss_candidate("hnsw", "float32"), hnswlib_candidate(512),
                                hnswlib_candidate(256)], True, 1800),
        Plan(1_000_000, [*flats(), faiss_candidate("flat", "float32", 256)], [hnswlib_candidate(256)], False, 2400),
    ]


def run(pipeline: Any, options: Options) -> dict[str, Any]:
    machine = machine_info()
    workspace = Workspace(pipeline, options)
    workspace.ensure_catalog()
    ours = workspace.pipeline
    embedder = ours.embedder
    real = np.stack([v for _, _, v in ours.catalog.vectors(embedder.key)]).astype(np.float32)
    rng = np.random.default_rng(options.seed)
    rng.shuffle(real)
    held_out = min(200, len(real) // 10) if not options.quick else min(100, len(real) // 10)
    real_queries, real_base = real[:held_out], real[held_out:]
    synthetic = Synthetic(real_base, options.seed)
    synth_queries = synthetic.draw(held_out)
    queries = np.concatenate([real_queries, synth_queries])
    projections = {d: Projection(real_base, d) for d in (256, 512)}
    sanity = _distribution_check(real_base, synthetic)

    results = []
    notes = []
    if options.sizes == (1_000_000,):
        chosen = plans(False, real.shape[1], extended=True)
    else:
        chosen = [p for p in plans(options.quick and not options.sizes, real.shape[1])
                  if not options.sizes or p.size in options.sizes]
    for plan in chosen:
        options.log(f"index at {plan.size:,} vectors")
        results += run_plan(plan, real_base, synthetic, queries, held_out, projections, options, notes)
        gc.collect()

    data = {
        "benchmark": "index",
        "mode": options.mode,
        "machine": machine,
        "dim": int(real.shape[1]),
        "real_vectors": len(real_base),
        "queries": {"real_held_out": held_out, "synthetic": held_out, "k": K},
        "synthetic": {"rank_kept": synthetic.rank, "noise_std_per_dim": synthetic.noise, **sanity},
        "hnsw_params": {"M": M, "ef_construction": EF_CONSTRUCTION, "ef_search": EF_SEARCH},
        "results": results,
        "notes": notes,
    }
    name = "index" if not options.sizes else "index-" + "-".join(_short(n) for n in options.sizes)
    write_report(options, name, data, render(data, options))
    return data


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def _distribution_check(real: np.ndarray, synthetic: Synthetic) -> dict[str, float]:
    """Do synthetic vectors look like real ones? Mean pairwise cosine and mean nearest-neighbour cosine."""
    sample = real[: min(1000, len(real))]
    fake = synthetic.draw(len(sample))
    synthetic.rng = np.random.default_rng(synthetic.rng.integers(1 << 31))  # keep later draws independent

    def stats(x: np.ndarray) -> tuple[float, float]:
        sims = x @ x.T
        np.fill_diagonal(sims, -1)
        upper = sims[np.triu_indices(len(x), 1)]
        return float(upper.mean()), float(sims.max(1).mean())

    real_pair, real_nn = stats(sample)
    fake_pair, fake_nn = stats(fake)
    return {"real_mean_cosine": real_pair, "synthetic_mean_cosine": fake_pair,
            "real_mean_nn_cosine": real_nn, "synthetic_mean_nn_cosine": fake_nn, "sample": len(sample)}


def _stream(size: int, real: np.ndarray, synthetic: Synthetic) -> Iterator[tuple[int, np.ndarray]]:
    """(offset, chunk) covering the real vectors first, then synthetic draws up to ``size``."""
    first = real[:size]
    yield 0, first
    offset = len(first)
    while offset < size:
        n = min(CHUNK, size - offset)
        yield offset, synthetic.draw(n)
        offset += n


def run_plan(
    plan: Plan, real: np.ndarray, synthetic: Synthetic, queries: np.ndarray, held_out: int,
    projections: dict[int, Any], options: Options, notes: list[str],
) -> list[dict[str, Any]]:
    size, full_dim = plan.size, real.shape[1]
    need_dims = {c.dim for c in plan.hnsw if c.dim} | {c.dim for c in plan.flat if c.dim}
    needed_gb = size * 4 * (full_dim * plan.keep_full + sum(need_dims)) / 2**30
    flat_gb = sum(size * (c.dim or full_dim) * (2 if c.storage == "float16" else 4) for c in plan.flat) / 2**30
    if (needed_gb + flat_gb) * 1024 > available_mb() * 0.85:
        notes.append(f"{size:,}: skipped, needs ~{needed_gb + flat_gb:.1f} GB and {available_mb() / 1024:.1f} GB "
                     "is available")
        options.log(notes[-1])
        return []
    truth = TopK(queries)
    kept = {0: np.zeros((size, full_dim), np.float32)} if plan.keep_full else {}
    for d in need_dims:
        kept[d] = np.zeros((size, d), np.float32)
    for cand in plan.flat:
        cand.index = cand.make(cand.dim or full_dim, size)
    for offset, chunk in _stream(size, real, synthetic):
        truth.update(chunk, offset)
        if 0 in kept:
            kept[0][offset : offset + len(chunk)] = chunk
        for d in need_dims:
            kept[d][offset : offset + len(chunk)] = projections[d](chunk)
        for cand in plan.flat:
            x = chunk if not cand.dim else projections[cand.dim](chunk)
            start = time.perf_counter()
            cand.add(cand.index, x, offset)
            cand.build_s += time.perf_counter() - start
        del chunk
    out = []
    exact_row = _exact_row(size, kept.get(0), queries, held_out, truth)
    if exact_row:
        out.append(exact_row)
    for cand in plan.flat:
        out.append(_measure(cand, size, full_dim, queries, projections, truth, held_out, options))
        cand.index = None
        gc.collect()
    for cand in plan.hnsw:
        data = kept[cand.dim] if cand.dim else kept[0]
        cand.index = cand.make(cand.dim or full_dim, size)
        start = time.perf_counter()
        added = 0
        for offset in range(0, size, CHUNK):
            cand.add(cand.index, data[offset : offset + CHUNK], offset)
            added = min(size, offset + CHUNK)
            if time.perf_counter() - start > plan.budget_s and added < size:
                notes.append(f"{cand.name} at {size:,}: build stopped by its {plan.budget_s:.0f} s budget after "
                             f"{added:,} vectors; the row measures that partial index")
                options.log(notes[-1])
                break
        cand.build_s = time.perf_counter() - start
        row = _measure(cand, size, full_dim, queries, projections, truth, held_out, options, added)
        out.append(row)
        cand.index = None
        gc.collect()
    return out


def _single_thread_faiss() -> None:
    try:
        import faiss

        faiss.omp_set_num_threads(1)
    except ImportError:
        pass


def _all_threads_faiss() -> None:
    try:
        import faiss

        faiss.omp_set_num_threads(os.cpu_count() or 1)
    except ImportError:
        pass


def _exact_row(size, base, queries, held_out, truth) -> dict[str, Any] | None:
    """numpy brute force, one query at a time: the reference the indexes are measured against."""
    if base is None:
        return None
    lat = []
    for q in queries:
        start = time.perf_counter()
        scores = base @ q
        np.argpartition(-scores, K)[:K]
        lat.append((time.perf_counter() - start) * 1000)
    return {
        "index": "numpy brute force (exact)", "library": "numpy", "kind": "exact", "n": size,
        "dim": int(base.shape[1]), "storage": "float32", "vectors_indexed": size, "build_s": 0.0,
        "memory_mb": base.nbytes / 2**20, "file_mb": base.nbytes / 2**20, "load_s": None,
        "query_p50_ms": percentile(lat, 50), "query_p99_ms": percentile(lat, 99),
        "recall10_real": 1.0, "recall10_synthetic": 1.0,
    }


def _measure(cand, size, full_dim, queries, projections, truth, held_out, options, added=None) -> dict[str, Any]:
    q = queries if not cand.dim else projections[cand.dim](queries)
    q = np.ascontiguousarray(q, dtype=np.float32)
    _single_thread_faiss()
    cand.query(cand.index, q[:2])  # warm-up
    measured = _searched_alone(cand, q, truth, held_out)
    sweep = []
    if cand.set_ef is not None:  # recall against speed at other beam widths (no rebuild needed)
        for ef in EF_SWEEP:
            cand.set_ef(cand.index, ef)
            sweep.append({"ef": ef, **_searched_alone(cand, q, truth, held_out)})
        cand.set_ef(cand.index, EF_SEARCH)
    _all_threads_faiss()
    tmp = Path(tempfile.mkdtemp(prefix="decorlens-index-bench-"))
    try:
        path = tmp / "index.bin"
        cand.save(cand.index, path)
        file_mb = path.stat().st_size / 2**20
        cand.index = None
        gc.collect()
        memory_mb, load_s = load_in_fresh_process(cand, path, cand.dim or full_dim)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    row = {
        "index": cand.name, "library": cand.library, "kind": cand.kind, "n": size, "dim": cand.dim or full_dim,
        "storage": cand.storage, "vectors_indexed": added if added is not None else size,
        "build_s": cand.build_s, "memory_mb": memory_mb, "file_mb": file_mb, "load_s": load_s,
        **measured,
        "ef_sweep": sweep,
    }
    options.log(f"  {cand.name:<24} n={size:>9,} build {cand.build_s:7.1f} s  p50 {row['query_p50_ms']:.3f} ms  "
                f"recall {row['recall10_real']:.3f}/{row['recall10_synthetic']:.3f}")
    return row


def _searched_alone(cand: Candidate, queries: np.ndarray, truth: TopK, held_out: int) -> dict[str, float]:
    """p50/p99 ms and recall@10 (the first ``held_out`` queries real, the rest synthetic) of ``cand`` searched with
    each query row alone, as the app sends them: one measure for the index's own beam width and each swept one."""
    lat, found = [], []
    for row in queries:
        start = time.perf_counter()
        found.append(cand.query(cand.index, row[None])[0])
        lat.append((time.perf_counter() - start) * 1000)
    ids = np.asarray(found)
    return {
        "query_p50_ms": percentile(lat, 50), "query_p99_ms": percentile(lat, 99),
        "recall10_real": recall(ids[:held_out], truth.ids[:held_out]),
        "recall10_synthetic": recall(ids[held_out:], truth.ids[held_out:]),
    }


LOAD_SCRIPT = """
import sys, time, resource
lib, path, dim, space = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if lib == "faiss":
    import faiss
else:
    import hnswlib
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
before = rss()
start = time.perf_counter()
if lib == "faiss":
    index = faiss.read_index(path)
else:
    index = hnswlib.Index(space=space, dim=dim)
    index.load_index(path)
print(time.perf_counter() - start, rss() - before)
"""


def load_in_fresh_process(cand: Candidate, path: Path, dim: int) -> tuple[float | None, float | None]:
    """(RSS growth MB, load s) of loading the saved index in a new process: the index's real footprint,
    free of the allocator reuse that makes in-process RSS deltas meaningless."""
    import subprocess

    space = "ip" if cand.dim else "cosine"
    try:
        out = subprocess.run(
            [sys.executable, "-c", LOAD_SCRIPT, cand.library, str(path), str(dim), space],
            capture_output=True, text=True, timeout=900, check=True,
        ).stdout.split()
        return float(out[1]), float(out[0])
    except (subprocess.SubprocessError, OSError, IndexError, ValueError):
        return None, None


def render(data: dict[str, Any], options: Options) -> str:
    rows = [[
        r["index"], f"{r['n']:,}" + ("" if r["vectors_indexed"] == r["n"] else f" ({r['vectors_indexed']:,} built)"),
        r["dim"], r["storage"], r["build_s"], r["memory_mb"], r["file_mb"], r["load_s"], r["query_p50_ms"],
        r["query_p99_ms"], r["recall10_real"], r["recall10_synthetic"],
    ] for r in data["results"]]
    sweep_rows = []
    for r in data["results"]:
        by_ef = {e["ef"]: e for e in r.get("ef_sweep") or []}
        if by_ef:
            by_ef[data["hnsw_params"]["ef_search"]] = {
                "query_p50_ms": r["query_p50_ms"], "recall10_real": r["recall10_real"],
                "recall10_synthetic": r["recall10_synthetic"]}
            sweep_rows.append([r["index"], f"{r['n']:,}", *(
                f"{by_ef[ef]['recall10_real']:.3f} / {by_ef[ef]['recall10_synthetic']:.3f} "
                f"({by_ef[ef]['query_p50_ms']:.2f} ms)" for ef in sorted(by_ef))])
    efs = sorted({*EF_SWEEP, data["hnsw_params"]["ef_search"]})
    sweep_table = md_table(["HNSW index", "n", *(f"ef={ef}" for ef in efs)], sweep_rows) if sweep_rows else ""
    syn = data["synthetic"]
    notes = "\n".join(f"- {n}" for n in data["notes"]) or "- none"
    hp = data["hnsw_params"]
    return "\n".join([
        header("Vector index at scale", data["machine"], options),
        (f"{data['real_vectors']:,} real product embeddings ({data['dim']}-d) + synthetic vectors (Gaussian with the "
        f"real mean and covariance: {syn['rank_kept']} components exact, the rest isotropic; mean pairwise cosine "
        f"real {syn['real_mean_cosine']:.3f} vs synthetic {syn['synthetic_mean_cosine']:.3f}, mean nearest-"
        f"neighbour cosine {syn['real_mean_nn_cosine']:.3f} vs {syn['synthetic_mean_nn_cosine']:.3f} on "
        f"{syn['sample']} vectors). Queries: {data['queries']['real_held_out']} held-out real + "
        f"{data['queries']['synthetic']} synthetic, one at a time, k={data['queries']['k']}; recall@10 against "
        f"exact cosine in {data['dim']}-d. HNSW: M={hp['M']}, ef_construction={hp['ef_construction']}, "
        f"ef_search={hp['ef_search']}. PCA-k: the top-k principal directions of the real vectors (uncentred), "
        "inner product. Memory = RSS growth of a fresh process loading the saved index (load s is that load). "
        "Single queries run on one thread (faiss OpenMP set to 1), as the app sends them."),
        "",
        md_table(["index", "n", "dim", "storage", "build s", "memory MB", "file MB", "load s", "p50 ms", "p99 ms",
                  "recall@10 real", "recall@10 synth"], rows),
        "",
        "recall@10 real / synthetic (p50 query ms) against ef_search (the beam width at query time; the "
        "engine uses 128):" if sweep_table else "",
        "",
        sweep_table,
        "",
        "Notes:",
        notes,
    ])


def main(argv: list[str] | None = None) -> int:
    from bench.runner import standalone

    return standalone("index", argv)


if __name__ == "__main__":
    sys.exit(main())
