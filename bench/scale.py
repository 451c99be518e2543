"""Catalogs of millions: embedding on Ray against the desktop import, importing vectors from Parquet, and
an index a desktop can hold, each measured against today's way in the same run.

1. Throughput: the same product photos embedded by the desktop import (``Pipeline.import_catalog``
   into a fresh data dir: decode, embed, SQLite, index) and by ``scale.embed.embed_feed`` on a local
   Ray with 1 and 2 embedding actors (decode tasks, actors, Parquet). Runs alternate desktop, Ray 1,
   Ray 2, desktop; the desktop rate is the mean of its two runs. Ray's start-up is timed apart.
2. Vector import: n synthetic vectors written as ``catalog embed`` writes them, imported into a fresh
   catalog by ``engine.vectors_import.import_vectors`` in a child process: wall time and peak RSS.
3. Compact index: n vectors (the real product embeddings, then Gaussian draws with their mean and
   covariance, as ``bench.index_scale`` makes them); recall@10 against exact cosine in full dimension,
   single-query p50/p99, build time and bytes held, for today's hnswlib (full dimension, float32) and
   compact alternatives: hnswlib on a PCA-256 projection learned on the vectors (alone, and as a
   candidate generator re-ranked exactly on float16 or int8 copies of the full vectors) and faiss HNSW
   over 8-bit scalar-quantised full vectors.
4. The 1M set (``bench.scale_million``): a million vectors made from the real ones, the engine's compact
   index over them (build, RAM, cold and warm latency, recall@10) against today's full-dimension
   hnswlib over the same vectors, and the vector import of all of them. Part 2 imports this set.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Options, Workspace, header, machine_info, md_table, percentile, write_report
from bench.index_scale import CHUNK, EF_CONSTRUCTION, EF_SEARCH, K, M, Synthetic, TopK, recall
from bench.scale_million import MillionSet, measure_compact, measure_today

RERANK = 100  # candidates the compact index hands to the exact re-rank
TODAY_BUDGET_S = 3600  # build budget of today's index over the 1M set (20 min on a quiet 2-core machine)
PCA_DIM = 256
PCA_SAMPLE = 20_000  # vectors the projection is learned on


# -- 1. throughput --------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds used by this process and all its descendants: a local Ray's GCS, raylet, task workers
    and actors are all started below the driver. Sampled every 0.2 s, so a worker that exits between
    two readings loses at most its last 0.2 s. On a shared machine CPU per image is the fair comparison:
    wall time there is mostly the share of the cores each side gets."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def sample(self) -> float:
        import psutil

        for process in [self._me, *self._me.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            self._seen[process.pid] = max(self._seen.get(process.pid, 0.0), times.user + times.system)
        return sum(self._seen.values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def measure_throughput(workspace: Workspace, options: Options) -> dict[str, Any]:
    import ray

    from engine.pipeline import Pipeline
    from scale.embed import embed_feed

    count = min(96 if options.quick else len(workspace.dataset.products), len(workspace.dataset.products))
    feed = workspace.catalog_csv(limit=count, name=f"scale-{count}.csv")
    model = workspace.pipeline.embedder.model
    tmp = Path(tempfile.mkdtemp(prefix="decorlens-scale-bench-"))

    meter = CpuMeter()
    runs: dict[str, Any] = {"images": count, "desktop_s": [], "desktop_cpu_s": []}

    def desktop(n: int) -> None:
        cpu, start = meter.sample(), time.perf_counter()
        Pipeline(workspace.settings.with_(data_dir=tmp / f"desktop-{n}")).import_catalog(feed)
        runs["desktop_s"].append(time.perf_counter() - start)
        runs["desktop_cpu_s"].append(meter.sample() - cpu)

    try:
        desktop(0)
        start = time.perf_counter()
        ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False)
        runs["ray_start_s"] = time.perf_counter() - start
        try:
            for workers in (1, 2):
                cpu = meter.sample()
                report = embed_feed(feed, tmp / f"ray-{workers}", model, workers=workers, device="cpu", quiet=True)
                time.sleep(0.5)  # the meter's last reading of the actors
                runs[f"ray_{workers}_cpu_s"] = meter.sample() - cpu
                runs[f"ray_{workers}_s"] = report.seconds
                runs[f"ray_{workers}_failed"] = report.failed
                options.log(f"  ray {workers} worker(s): {report.summary()}")
        finally:
            ray.shutdown()
        desktop(1)
    finally:
        meter.close()
    desktop_rate = count / float(np.mean(runs["desktop_s"]))
    runs["desktop_images_s"] = desktop_rate
    runs["desktop_cpu_ms_per_image"] = float(np.mean(runs["desktop_cpu_s"])) / count * 1000
    for workers in (1, 2):
        runs[f"ray_{workers}_images_s"] = count / runs[f"ray_{workers}_s"]
        runs[f"ray_{workers}_vs_desktop"] = runs[f"ray_{workers}_images_s"] / desktop_rate
        runs[f"ray_{workers}_cpu_ms_per_image"] = runs[f"ray_{workers}_cpu_s"] / count * 1000
    options.log(f"  desktop {desktop_rate:.1f} images/s; ray 1: {runs['ray_1_images_s']:.1f}, "
                f"ray 2: {runs['ray_2_images_s']:.1f}")
    return runs


# -- 2. vector import -----------------------------------------------------------------------------


IMPORT_SCRIPT = """
import json, sys, time
from pathlib import Path
from engine.catalog import Catalog
from engine.importer import read_source
from engine.models import ModelCard, ResolvedModel
from engine.vectors_import import import_vectors
def peak_mb():  # VmHWM belongs to this program's memory map (ru_maxrss can carry the forking parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
feed, folder, db, card = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
before = peak_mb()
model = ResolvedModel(Path("unused.onnx"), ModelCard.from_dict(card))
start = time.perf_counter()
rows = read_source(Path(feed))
with Catalog(Path(db)) as catalog:
    report = import_vectors(catalog, rows, Path(folder), model, Path(db).parent / "images")
    count = catalog.count()
print(json.dumps({"seconds": time.perf_counter() - start, "peak_rss_mb": peak_mb(), "rss_before_mb": before,
                  "added": report.added, "skipped": len(report.skipped), "count": count}))
"""


def measure_vector_import(workspace: Workspace, vectors: np.ndarray, options: Options) -> dict[str, Any]:
    """Write ``vectors`` as a vector folder plus a feed naming real photos, import them in a child."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from engine.vectors_import import ROW_GROUP, EmbedderId, schema

    card = workspace.pipeline.embedder.card
    products = workspace.dataset.products
    tmp = Path(tempfile.mkdtemp(prefix="decorlens-vector-import-bench-"))
    n, dim = vectors.shape
    skus = [f"s{i:07d}" for i in range(n)]
    categories = [products[i % len(products)]["category"] for i in range(n)]
    with open(tmp / "feed.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "name", "category", "image"])
        for i, sku in enumerate(skus):
            writer.writerow([sku, sku, categories[i], str(workspace.dataset.product_path(products[i % len(products)]))])
    (tmp / "vectors").mkdir()
    file_rows = 50_000
    for start in range(0, n, file_rows):
        part = slice(start, min(n, start + file_rows))
        m = part.stop - part.start
        columns = [skus[part], categories[part], [hashlib.sha256(s.encode()).hexdigest() for s in skus[part]],
                   [card.name] * m, [card.sha256] * m]
        table = pa.Table.from_arrays(
            [*(pa.array(c, pa.string()) for c in columns),
             pa.FixedSizeListArray.from_arrays(pa.array(vectors[part].ravel(), pa.float32()), dim),
             pa.array([""] * m, pa.string())], schema=schema(dim, EmbedderId.of(card)))
        pq.write_table(table, tmp / "vectors" / f"part-{start // file_rows:04d}.parquet", row_group_size=ROW_GROUP)
    parquet_mb = sum(p.stat().st_size for p in (tmp / "vectors").iterdir()) / 2**20
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT, str(tmp / "feed.csv"), str(tmp / "vectors"),
         str(tmp / "data" / "catalog.sqlite"), json.dumps(card.to_dict())],
        capture_output=True, text=True, timeout=4 * 3600, check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(n=n, parquet_mb=parquet_mb, sqlite_mb=(tmp / "data" / "catalog.sqlite").stat().st_size / 2**20,
                  rows_per_s=n / result["seconds"])
    options.log(f"  vector import: {n:,} in {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB")
    subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return result


# -- 3. compact index -----------------------------------------------------------------------------


@dataclass
class Built:
    name: str
    build_s: float
    bytes_held: int
    search: Any  # (query (dim,)) -> ids (K,)
    note: str = ""


def _hnswlib(data: np.ndarray, space: str) -> tuple[Any, float, int]:
    import hnswlib

    index = hnswlib.Index(space=space, dim=data.shape[1])
    index.init_index(max_elements=len(data), ef_construction=EF_CONSTRUCTION, M=M)
    start = time.perf_counter()
    for offset in range(0, len(data), CHUNK):
        index.add_items(data[offset : offset + CHUNK], np.arange(offset, min(len(data), offset + CHUNK)))
    build = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        index.save_index(f"{tmp}/i.bin")
        size = Path(f"{tmp}/i.bin").stat().st_size
    return index, build, size


class Projection:
    """PCA to ``dim`` learned on a sample of the indexed vectors (centred), stored beside the index."""

    def __init__(self, sample: np.ndarray, dim: int):
        self.mean = sample.mean(0)
        _, _, vt = np.linalg.svd(sample - self.mean, full_matrices=False)
        self.matrix = np.ascontiguousarray(vt[:dim].T.astype(np.float32))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray((x - self.mean) @ self.matrix, dtype=np.float32)

    @property
    def nbytes(self) -> int:
        return self.matrix.nbytes + self.mean.nbytes


def _today(base: np.ndarray, options: Options) -> list[Built]:
    """The engine's index: hnswlib, full dimension, float32, cosine; at its beam width and a wider one."""
    full, seconds, size = _hnswlib(base, "cosine")
    full.set_ef(EF_SEARCH)
    options.log(f"  built hnswlib full dimension in {seconds:.0f} s")

    def full_at(ef: int):
        def search(q):
            full.set_ef(ef)
            try:
                return full.knn_query(q, k=K)[0][0]
            finally:
                full.set_ef(EF_SEARCH)
        return search

    return [Built("hnswlib 1280-d float32 (today)", seconds, size, lambda q: full.knn_query(q, k=K)[0][0]),
            Built("hnswlib 1280-d float32, ef=512", 0.0, size, full_at(512), "same index, wider beam")]


def build_candidates(base: np.ndarray, options: Options, today: bool = True) -> list[Built]:
    """The indexes compared; ``today=False`` leaves out today's full-dimension build (the slowest)."""
    built: list[Built] = _today(base, options) if today else []
    rng = np.random.default_rng(options.seed)
    sample = base[rng.choice(len(base), min(PCA_SAMPLE, len(base)), replace=False)]
    start = time.perf_counter()
    projection = Projection(sample, PCA_DIM)
    learn = time.perf_counter() - start
    reduced = projection(base)
    pca, seconds, size = _hnswlib(reduced, "l2")  # centred PCA coordinates: L2 ranks as cosine would in 1280-d
    pca.set_ef(EF_SEARCH)
    size += projection.nbytes
    seconds += learn
    options.log(f"  built hnswlib PCA-{PCA_DIM} in {seconds:.0f} s")
    built.append(Built(f"hnswlib PCA-{PCA_DIM} float32", seconds, size,
                       lambda q: pca.knn_query(projection(q), k=K)[0][0]))
    fp16 = base.astype(np.float16)
    scale = np.abs(base).max(0) / 127.0
    int8 = np.clip(np.rint(base / scale), -127, 127).astype(np.int8)

    def reranked(store: np.ndarray, weights: np.ndarray | None):
        def search(q):
            pca.set_ef(max(EF_SEARCH, RERANK))
            ids = pca.knn_query(projection(q), k=RERANK)[0][0]
            rows = store[ids].astype(np.float32)
            scores = rows @ (q[0] * weights if weights is not None else q[0])
            return ids[np.argsort(-scores)[:K]]
        return search

    built.append(Built(f"PCA-{PCA_DIM} top-{RERANK} + exact re-rank on float16", seconds, size + fp16.nbytes,
                       reranked(fp16, None)))
    built.append(Built(f"PCA-{PCA_DIM} top-{RERANK} + re-rank on int8", seconds, size + int8.nbytes + scale.nbytes,
                       reranked(int8, scale.astype(np.float32))))
    built += _faiss_sq8(base, options)
    return built


def _faiss_sq8(base: np.ndarray, options: Options) -> list[Built]:
    try:
        import faiss
    except ImportError:
        return []
    index = faiss.IndexHNSWSQ(base.shape[1], faiss.ScalarQuantizer.QT_8bit, M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    start = time.perf_counter()
    index.train(base[: min(PCA_SAMPLE, len(base))])
    for offset in range(0, len(base), CHUNK):
        index.add(base[offset : offset + CHUNK])
    seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        faiss.write_index(index, f"{tmp}/i.bin")
        size = Path(f"{tmp}/i.bin").stat().st_size
    options.log(f"  built faiss HNSW SQ8 in {seconds:.0f} s")

    def at(ef: int):
        def search(q):
            index.hnsw.efSearch = ef
            return index.search(q, K)[1][0]
        return search

    return [Built("faiss HNSW SQ8 1280-d (int8)", seconds, size, at(EF_SEARCH)),
            Built("faiss HNSW SQ8 1280-d, ef=256", 0.0, size, at(256), "same index, wider beam")]


def measure_index(real: np.ndarray, options: Options, today: bool = True) -> dict[str, Any]:
    """Real vectors first, then synthetic draws up to n; queries: held-out real + fresh synthetic."""
    n = 10_000 if options.quick else 100_000
    rng = np.random.default_rng(options.seed)
    real = real[rng.permutation(len(real))]
    held = min(200, len(real) // 10)
    queries_real, real_base = real[:held], real[held:]
    synthetic = Synthetic(real_base, options.seed)
    base = np.concatenate([real_base[:n], synthetic.draw(max(0, n - len(real_base)))]).astype(np.float32)
    queries = np.concatenate([queries_real, synthetic.draw(held)]).astype(np.float32)
    truth = TopK(queries)
    for offset in range(0, n, CHUNK):
        truth.update(base[offset : offset + CHUNK], offset)
    try:
        import faiss

        faiss.omp_set_num_threads(1)  # single queries on one thread, as the app sends them
    except ImportError:
        pass
    rows = []
    for built in build_candidates(base, options, today):
        lat, found = [], []
        built.search(queries[:1])  # warm-up
        for q in queries:
            start = time.perf_counter()
            found.append(built.search(q[None]))
            lat.append((time.perf_counter() - start) * 1000)
        found = np.asarray(found)
        rows.append({
            "index": built.name, "n": n, "build_s": built.build_s, "mb_held": built.bytes_held / 2**20,
            "bytes_per_vector": built.bytes_held / n, "query_p50_ms": percentile(lat, 50),
            "query_p99_ms": percentile(lat, 99), "recall10_real": recall(found[:held], truth.ids[:held]),
            "recall10_synthetic": recall(found[held:], truth.ids[held:]), "note": built.note,
        })
        options.log(f"  {built.name:<44} p50 {rows[-1]['query_p50_ms']:.3f} ms  recall "
                    f"{rows[-1]['recall10_real']:.3f}/{rows[-1]['recall10_synthetic']:.3f}")
        gc.collect()
    return {"n": n, "real_in_base": min(n, len(real_base)), "queries_real": held, "queries_synthetic": held,
            "pca_dim": PCA_DIM, "pca_sample": min(PCA_SAMPLE, n), "rerank": RERANK, "rows": rows}


# -- the run --------------------------------------------------------------------------------------


def run(pipeline: Any, options: Options) -> dict[str, Any]:
    try:
        import pyarrow  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError as exc:
        from engine.errors import DecorLensError

        raise DecorLensError(f'bench scale needs the scale extra: pip install "decorlens[scale]" ({exc})') from exc
    machine = machine_info()
    workspace = Workspace(pipeline, options)
    workspace.ensure_catalog()
    ours = workspace.pipeline
    real = np.stack([v for _, _, v in ours.catalog.vectors(ours.embedder.key)]).astype(np.float32)
    options.log("scale: throughput, desktop import against Ray with 1 and 2 workers")
    throughput = measure_throughput(workspace, options)
    options.log("scale: compact index against today's")
    index = measure_index(real, options)
    options.log("scale: the 1M set, the engine's compact index and today's over it")
    million = MillionSet(workspace.root / "million")
    million.make(real, 20_000 if options.quick else 1_000_000, options.seed, options.log)
    compact = measure_compact(million, workspace.root / "million" / "compact", options.log)
    today = measure_today(million, 300 if options.quick else TODAY_BUDGET_S, options.log)
    options.log("scale: importing the 1M set's vectors from Parquet")
    imported = measure_vector_import(workspace, million.vectors(), options)
    data = {"benchmark": "scale", "mode": options.mode, "machine": machine,
            "embedder": ours.embedder.key, "dim": int(real.shape[1]),
            "throughput": throughput, "vector_import": imported, "index": index,
            "million": {"set": million.params(), "compact": compact, "today": today},
            "extrapolated_1M": extrapolate(imported, index)}
    write_report(options, "scale", data, render(data, options))
    return data


def extrapolate(imported: dict[str, Any], index: dict[str, Any]) -> dict[str, Any]:
    """Linear in n: import time and bytes per vector (the graph's links are per vector too)."""
    scale_to = 1_000_000 / imported["n"]
    return {
        "import_s": imported["seconds"] * scale_to,
        "index_mb": {r["index"]: r["bytes_per_vector"] * 1_000_000 / 2**20 for r in index["rows"]},
    }


def render(data: dict[str, Any], options: Options) -> str:
    t, imp, ix = data["throughput"], data["vector_import"], data["index"]
    through = md_table(
        ["way", "images", "seconds", "images/s", "vs desktop", "CPU ms per image"],
        [["desktop import (mean of 2)", t["images"], float(np.mean(t["desktop_s"])), t["desktop_images_s"], 1.0,
          t["desktop_cpu_ms_per_image"]],
         *[[f"Ray, {w} worker{'s' * (w > 1)}", t["images"], t[f"ray_{w}_s"], t[f"ray_{w}_images_s"],
            t[f"ray_{w}_vs_desktop"], t[f"ray_{w}_cpu_ms_per_image"]] for w in (1, 2)]])
    index_rows = [[r["index"], f"{r['n']:,}", r["build_s"], r["mb_held"],
                   data["extrapolated_1M"]["index_mb"][r["index"]], r["query_p50_ms"], r["query_p99_ms"],
                   r["recall10_real"], r["recall10_synthetic"]] for r in ix["rows"]]
    return "\n".join([
        header("Catalogs of millions: Ray embedding, vector import, compact index", data["machine"], options,
               f"Embedder: {data['embedder']} ({data['dim']}-d)."),
        "## Embedding throughput (same photos, one run)", "",
        (f"Ray started locally in {t['ray_start_s']:.1f} s (not in the rates); its rates include starting the "
        "actors and loading the model in each, and writing Parquet; the desktop's include SQLite and the index. "
        "CPU ms per image: every process of each side (Ray's GCS, raylet, tasks and actors included)."),
        "", through, "",
        "## Importing vectors from Parquet", "",
        (f"{imp['n']:,} vectors ({imp['parquet_mb']:.0f} MB of Parquet) imported into a fresh catalog with "
        f"`import_vectors` in a child process: **{imp['seconds']:.1f} s** ({imp['rows_per_s']:.0f} rows/s), peak RSS "
        f"**{imp['peak_rss_mb']:.0f} MB** ({imp['rss_before_mb']:.0f} MB before it, Python and the libraries), "
        f"catalog {imp['sqlite_mb']:.0f} MB. The vectors are the 1M set's (below)."), "",
        "## Compact index", "",
        (f"{ix['n']:,} vectors: {ix['real_in_base']:,} real product embeddings, the rest Gaussian draws with "
        f"their mean and covariance (as `bench index`); {ix['queries_real']} held-out real + "
        f"{ix['queries_synthetic']} synthetic queries, one at a time; recall@10 against exact cosine in full "
        f"dimension. PCA-{ix['pca_dim']} is learned on {ix['pca_sample']:,} of the indexed vectors (centred) and "
        f"stored with the index; re-rank: the top {ix['rerank']} of the PCA index scored exactly. MB held = "
        "saved index + re-rank store + projection; the 1M column is that per vector × 1M (extrapolated)."), "",
        md_table(["index", "n", "build s", "MB held", "MB at 1M (extrap.)", "p50 ms", "p99 ms", "recall@10 real",
                  "recall@10 synth"], index_rows),
        "", *render_million(data["million"]),
    ])


def render_million(million: dict[str, Any]) -> list[str]:
    """The 1M set: the engine's compact index (cold, then warm at each setting) against today's."""
    made, build, query, today = million["set"], million["compact"]["build"], million["compact"]["query"], million["today"]
    loaded = query["loaded"]["RssAnon"] - query["before"]["RssAnon"]
    engine = query["engine"]

    def row(name: str, r: dict[str, Any], build_s: Any, held: Any, mapped: Any) -> list[Any]:
        return [name, build_s, held, mapped, r["p50_ms"], r["p99_ms"], r["cpu_p50_ms"], r["recall10_real"],
                r["recall10_synthetic"]]

    rows = [row(f"compact, cold ({engine['lists']:,} lists, {engine['probe_rows']:,} rows scanned, "
                f"top-{engine['rerank']} re-ranked)", query["cold"],
                build["build_s"], loaded, query["cold"]["rss"]["RssFile"] - query["loaded"]["RssFile"])]
    rows += [row(f"compact, warm, {r['probe_rows']:,} rows, top-{r['rerank']}", r, "", "", r["rss"]["RssFile"]
                 - query["loaded"]["RssFile"]) for r in query["warm"]]
    built = today["added"] == today["n"]
    rows += [row(f"today: hnswlib {made['dim']}-d float32, ef={r['ef']}" + ("" if built else " (partial build)"),
                 r, today["build_s"] if r is today["rows"][0] else "", today["rss_built"]["VmRSS"], "")
             for r in today["rows"]]
    return [
        f"## The {made['n']:,} set: the engine's compact index against today's", "",
        (f"Vectors: the {made['seeds']:,} real product embeddings not held out, then variants of them up to "
        f"{made['n']:,}: a real product mixed with one of its {made['neighbours']} nearest real neighbours (weight "
        f"uniform in [0, {made['mix']}]), plus {made['structured']} × a draw of the real vectors' covariance and "
        f"isotropic noise of norm {made['isotropic']}, L2-normalised. Queries: 200 held-out real products and 200 "
        "fresh variants, one at a time; recall@10 against exact cosine over the float32 vectors in full dimension. "
        f"Compact build: {build['build_s']:.0f} s (projection learned in {build['learn_s']:.1f} s), saved in "
        f"{build['save_s']:.0f} s, build peak {build['peak_build_mb']:.0f} MB ({build['peak_mb']:.0f} MB with the "
        "save, which maps the spilled rows back); files "
        + ", ".join(f"{k} {v:.0f} MB" for k, v in build["files_mb"].items()) + f"; load {query['load_s']:.1f} s. "
        "MB held: the compact index's anonymous RSS after loading (lists, projection, ids) / today's process RSS "
        "after its build. MB mapped: full rows the queries pulled into the page cache (file-backed, "
        "reclaimable, shared), counted after each pass. Cold: the row file evicted from the page cache first. "
        "CPU p50: the query thread's CPU time, less sensitive than wall time to the other jobs on the machine."),
        "",
        md_table(["index", "build s", "MB held", "MB mapped", "p50 ms", "p99 ms", "CPU p50 ms", "recall@10 real",
                  "recall@10 synth"], rows),
    ]


def main(argv: list[str] | None = None) -> int:
    from bench.runner import standalone

    return standalone("scale", argv)


if __name__ == "__main__":
    sys.exit(main())
