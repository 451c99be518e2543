"""The 1M measurements of ``bench scale``: a million realistic vectors on disk, the engine's compact index
built over them against today's full-dimension hnswlib, each in a fresh process for honest memory.

The vectors: the real embeddings of the shared products (less 200 held out as queries) and
``SeedMixture`` variants of them up to 1M (see ``bench.index_scale``), written once as a float32 file
(5 GB at 1280-d) and read back through a memory map, so no step holds them all in RAM. Queries: the 200
held-out real products and 200 fresh variants, one at a time. Ground truth: exact cosine top-10 over
the float32 vectors in full dimension (streamed matmuls).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.index_scale import CHUNK, SeedMixture, TopK

HELD_OUT = 200
QUERY_CHUNK = 2**31 - 1  # the chunk index the synthetic queries are drawn from (no base chunk gets near it)
FORMAT = 1  # bump when the way the set is made changes: an older set on disk is then remade


class MillionSet:
    """``base.f32`` (n × dim float32), ``set.npz`` (queries, exact top-10, how they were made)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.vectors_path = self.folder / "base.f32"
        self.meta_path = self.folder / "set.npz"

    def make(self, real: np.ndarray, n: int, seed: int, log=print) -> None:
        """Write the set unless one made the same way is already there (a run can be resumed)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        real = real[np.random.default_rng(seed).permutation(len(real))]
        queries_real, seeds = real[:HELD_OUT], real[HELD_OUT:]
        mixture = SeedMixture(seeds, seed)
        params = {"format": FORMAT, "n": n, "dim": int(real.shape[1]), "seed": seed, **mixture.params()}
        if self.meta_path.exists() and self.vectors_path.exists() and self.params() == params:
            log(f"  {n:,} vectors already in {self.folder}")
            return
        queries = np.concatenate([queries_real, mixture.chunk(QUERY_CHUNK, HELD_OUT)])
        truth = TopK(queries)
        out = np.lib.format.open_memmap(self.folder / "base.tmp.npy", "w+", np.float32, (n, real.shape[1]))
        start = time.perf_counter()
        out[: len(seeds)] = seeds
        truth.update(seeds, 0)
        for i, offset in enumerate(range(len(seeds), n, CHUNK)):
            chunk = mixture.chunk(i, min(CHUNK, n - offset))
            out[offset : offset + len(chunk)] = chunk
            truth.update(chunk, offset)
            log(f"  vectors {offset + len(chunk):,} / {n:,} ({time.perf_counter() - start:.0f} s)")
        out.flush()
        del out
        (self.folder / "base.tmp.npy").replace(self.vectors_path)
        order = np.argsort(-truth.scores, 1)
        np.savez(self.meta_path, queries=queries, truth=np.take_along_axis(truth.ids, order, 1),
                 params=json.dumps(params), make_s=time.perf_counter() - start)

    def params(self) -> dict[str, Any]:
        with np.load(self.meta_path) as meta:
            return json.loads(str(meta["params"]))

    def vectors(self) -> np.ndarray:
        """The float32 vectors, memory-mapped (the .npy header written by ``open_memmap`` is kept)."""
        return np.load(self.vectors_path, mmap_mode="r")

    def queries(self) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.meta_path) as meta:
            return meta["queries"], meta["truth"]


def read_rows(path: Path, start: int, count: int) -> np.ndarray:
    """Rows of a .npy file read with plain reads, not a memory map: mapped pages would count in the
    reader's RSS and hide what the index itself holds."""
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(fh)
        fh.seek(fh.tell() + start * shape[1] * dtype.itemsize)
        return np.fromfile(fh, dtype, count=min(count, shape[0] - start) * shape[1]).reshape(-1, shape[1])


PRELUDE = """
import json, os, sys, time
from pathlib import Path
import numpy as np
from bench.scale_million import MillionSet, read_rows
def status():
    out = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024
    return out
def evict(path):  # drop a file's clean pages from the page cache (a cold start), without root
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
data = MillionSet(Path(sys.argv[1]))
n, dim = data.params()["n"], data.params()["dim"]
"""

COMPACT_BUILD = PRELUDE + """
from engine.compact_index import CompactIndex, sample_stride
target = Path(sys.argv[2])
stride = sample_stride(n)
start = time.perf_counter()
sample = np.concatenate([read_rows(data.vectors_path, i, 50_000)[::stride].copy()
                         for i in range(0, n, 50_000)])  # a copy: a view would keep each 256 MB chunk
index = CompactIndex.learn(sample, dim, n)
learn_s = time.perf_counter() - start
for offset in range(0, n, 50_000):
    index.add(np.arange(offset, min(n, offset + 50_000)), read_rows(data.vectors_path, offset, 50_000))
    print(f"  compact build {min(n, offset + 50_000):,} / {n:,} ({time.perf_counter() - start:.0f} s)",
          file=sys.stderr, flush=True)
build_s = time.perf_counter() - start
peak_build = status()["VmHWM"]
start = time.perf_counter()
index.save(target)
save_s = time.perf_counter() - start
files = {p.suffix: p.stat().st_size / 2**20 for p in target.parent.iterdir() if p.stem == target.stem}
print(json.dumps({"build_s": build_s, "learn_s": learn_s, "save_s": save_s, "peak_build_mb": peak_build,
                  "peak_mb": status()["VmHWM"], "files_mb": files}))
"""

COMPACT_QUERY = PRELUDE + """
import engine.compact_index as ci
from bench.index_scale import recall
target = Path(sys.argv[2])
configs = json.loads(sys.argv[3])
queries, truth = data.queries()
held = len(queries) // 2
evict(target.with_suffix(".f32"))
before = status()
start = time.perf_counter()
index = ci.CompactIndex.load(target, dim)
load_s = time.perf_counter() - start
loaded = status()
def run(probe_rows, rerank):
    ci.PROBE_ROWS, ci.RERANK = probe_rows, rerank
    lat, cpu, found = [], [], []
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        found.append(index.query(q[None], 10)[0][0])
        lat.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    found = np.asarray(found)
    return {"probe_rows": probe_rows, "rerank": rerank, "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
            "cpu_p50_ms": float(np.percentile(cpu, 50)), "cpu_p99_ms": float(np.percentile(cpu, 99)),
            "recall10_real": recall(found[:held], truth[:held]), "recall10_synthetic": recall(found[held:], truth[held:]),
            "rss": status()}
engine = {"probe_rows": ci.PROBE_ROWS, "rerank": ci.RERANK, "lists": index.lists.nlist}
cold = run(ci.PROBE_ROWS, ci.RERANK)
warm = [run(probe_rows, rerank) for probe_rows, rerank in configs]
print(json.dumps({"load_s": load_s, "before": before, "loaded": loaded, "cold": cold, "warm": warm,
                  "engine": engine}))
"""

TODAY = PRELUDE + """
import hnswlib
from bench.index_scale import recall
budget = float(sys.argv[2])
index = hnswlib.Index(space="cosine", dim=dim)
index.init_index(max_elements=n, ef_construction=200, M=16)
start = time.perf_counter()
added = 0
for offset in range(0, n, 50_000):
    rows = read_rows(data.vectors_path, offset, 50_000)
    index.add_items(rows, np.arange(offset, offset + len(rows)))
    added = offset + len(rows)
    print(f"  today's build {added:,} / {n:,} ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    if time.perf_counter() - start > budget and added < n:
        break
build_s = time.perf_counter() - start
built = status()
index.set_num_threads(1)
queries, truth = data.queries()
held = len(queries) // 2
rows = []
for ef in (128, 512):
    index.set_ef(ef)
    lat, cpu, found = [], [], []
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        found.append(index.knn_query(q[None], k=10)[0][0])
        lat.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    found = np.asarray(found)
    rows.append({"ef": ef, "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
                 "cpu_p50_ms": float(np.percentile(cpu, 50)), "cpu_p99_ms": float(np.percentile(cpu, 99)),
                 "recall10_real": recall(found[:held], truth[:held]),
                 "recall10_synthetic": recall(found[held:], truth[held:])})
print(json.dumps({"build_s": build_s, "added": added, "n": n, "rss_built": built, "rows": rows}))
"""

SWEEP = [(4_000, 100), (6_000, 100), (6_000, 120), (8_000, 100), (8_000, 120), (12_000, 100)]  # (rows, re-rank)


def _child(script: str, args: list[str], timeout: float, log) -> dict[str, Any]:
    """Run a measurement in a fresh, nice'd Python (its memory is its own), relaying its progress."""
    proc = subprocess.Popen(["nice", "-n", "5", sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    for line in err.splitlines()[-3:]:
        log(line)
    if proc.returncode != 0:
        raise RuntimeError(f"measurement failed ({proc.returncode}): {err.strip().splitlines()[-1:]}")
    return json.loads(out.strip().splitlines()[-1])


def measure_compact(data: MillionSet, folder: Path, log=print) -> dict[str, Any]:
    """Build the engine's compact index over the set (one process), then load and query it cold and warm
    (another), with the engine's settings and a sweep of rows scanned and re-rank depths."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "all-000000000000.bin"
    build = _child(COMPACT_BUILD, [str(data.folder), str(target)], 4 * 3600, log)
    log(f"  compact build {build['build_s']:.0f} s, peak {build['peak_mb']:.0f} MB")
    query = _child(COMPACT_QUERY, [str(data.folder), str(target), json.dumps(SWEEP)], 3600, log)
    return {"build": build, "query": query}


def measure_today(data: MillionSet, budget_s: float, log=print) -> dict[str, Any]:
    """Today's index (hnswlib, full dimension, float32, M=16) over the same set, within a build budget."""
    return _child(TODAY, [str(data.folder), str(budget_s)], budget_s + 3600, log)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.scale_million make FOLDER N REAL.npy | compact FOLDER | today FOLDER BUDGET_S |
    import FOLDER WORKDIR``:
    the parts of the 1M measurement one at a time (each prints its JSON)."""
    args = argv if argv is not None else sys.argv[1:]
    log = lambda m: print(m, file=sys.stderr, flush=True)
    if args[0] == "make":
        MillionSet(Path(args[1])).make(np.load(args[3]), int(args[2]), 0, log)
    elif args[0] == "compact":
        print(json.dumps(measure_compact(MillionSet(Path(args[1])), Path(args[1]) / "compact", log)))
    elif args[0] == "today":
        print(json.dumps(measure_today(MillionSet(Path(args[1])), float(args[2]), log)))
    elif args[0] == "import":  # import FOLDER WORKDIR: the vector import of the set, in the bench workspace
        from bench.common import Options, Workspace
        from bench.scale import measure_vector_import
        from engine.pipeline import Pipeline
        from engine.settings import Settings

        options = Options(workdir=Path(args[2]), log=log)
        workspace = Workspace(Pipeline(Settings.defaults()), options)
        print(json.dumps(measure_vector_import(workspace, MillionSet(Path(args[1])).vectors(), options)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
