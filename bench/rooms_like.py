"""*Looks like it* at scale: how long does ``engine.scene_memory.rooms_like`` take, and how much memory, over a
scene memory of 1,000 to 50,000 tagged photos?

The Catalog tab's Where used panel runs it on every product selected, so it is timed as clicks. For each
size, a catalog whose scene memory holds that many photos of ``OBJECTS`` objects each (synthetic rows
inserted into the memory's own tables, ``engine.scene_memory.SCHEMA``; each object a random unit vector of
the active embedder's dimension under its key, so nothing is embedded) is written once into the work dir
and reused. Each size is measured in a process of its own (a fresh heap, its peak RSS its own), in order:

- ``first``: the first search (a product selected after the app started);
- ``click``: the next ``CLICKS`` searches, each for another vector (median): products clicked in turn;
- ``new photo``: a search after one photo more was remembered (rows inserted as ``remember`` writes them;
  removed again afterwards), which must see it;
- peak RSS over the first search, above the RSS before it (``/proc/self/clear_refs``, then ``VmHWM``), and the
  RSS it leaves held afterwards.

The references, measured in the same process after them: ``read``, the vectors' rows read from SQLite and
nothing done with them (the floor of reading them at all), and ``multiply``, the same matrix-vector product
on a matrix already in memory (the floor of a search that reads nothing), median of ``CLICKS``. Their
ratios: ``first / read`` and ``click / multiply``. The database is read through the OS page cache (it was
just written or read): a cold disk adds its read time to ``first`` and ``read`` alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    ROOT,
    Options,
    found_in_data_dir,
    header,
    machine_info,
    md_table,
    median,
    timed,
    write_report,
)

SIZES = (1_000, 10_000, 50_000)
QUICK_SIZES = (1_000,)
OBJECTS = 10  # a tagged room photo holds about ten objects
CLICKS = 5
K = 20  # as many photos as the panel lists (app.widgets.where_used.ALIKE)
CHUNK = 500  # photos written per transaction while building a memory
PAGE = 4096


def run(pipeline: Any, options: Options) -> dict[str, Any]:
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    machine = machine_info()
    settings = (found_in_data_dir(pipeline.settings, pipeline.data_dir) if pipeline is not None
                else Settings.defaults())
    root = (options.workdir or (pipeline.data_dir / "bench" if pipeline is not None else None))
    root = Path(root) / "rooms-like" if root else Path(tempfile.mkdtemp(prefix="decorlens-bench-rooms-"))
    embedder = Pipeline(settings.with_(data_dir=root)).embedder
    key, dim = embedder.key, int(embedder.dim)
    sizes = options.sizes or (QUICK_SIZES if options.quick else SIZES)
    clicks = options.repeats or CLICKS
    rows = []
    for photos in sizes:
        data_dir = synthetic_memory(root / str(photos), photos, key, dim, options.log)
        row = {"photos": photos, "objects": photos * OBJECTS,
               "database_mb": (data_dir / "catalog.sqlite").stat().st_size / 1e6,
               **_in_a_process(data_dir, settings, clicks)}
        options.log(f"{photos:,} photos: first {row['first_ms']:.0f} ms (read {row['read_ms']:.0f}), click "
                    f"{row['click_ms']:.0f} ms (multiply {row['multiply_ms']:.1f}), peak +{row['peak_mb']:.0f} MB")
        rows.append(row)
    data = {"benchmark": "rooms_like", "mode": "quick" if options.quick else "full", "machine": machine,
            "embedder": key, "dim": dim, "objects_per_photo": OBJECTS, "clicks": clicks, "k": K, "sizes": rows}
    write_report(options, "rooms-like", data, render(data, options))
    return data


# -- the synthetic memory ---------------------------------------------------------------------------------


def synthetic_memory(data_dir: Path, photos: int, key: str, dim: int, log: Callable[[str], None]) -> Path:
    """A data dir whose catalog remembers ``photos`` photos of ``OBJECTS`` objects with ``key`` vectors
    (written once, then reused while it holds exactly that)."""
    from engine.catalog import Catalog

    path = data_dir / "catalog.sqlite"
    if path.is_file():
        with Catalog(path) as catalog:
            if _holds(catalog, photos, key):
                return data_dir
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rng = np.random.default_rng(photos)
    with Catalog(path) as catalog:
        for first in range(1, photos + 1, CHUNK):
            add_photos(catalog, range(first, min(first + CHUNK, photos + 1)), key, dim, rng)
    log(f"wrote a scene memory of {photos:,} photos in {time.perf_counter() - start:.1f} s: {path}")
    return data_dir


def _holds(catalog: Any, photos: int, key: str) -> bool:
    from engine.scene_memory import _has_schema

    if not _has_schema(catalog):
        return False
    db = catalog.db
    scenes = db.execute("SELECT COUNT(*) FROM scenes").fetchone()[0]
    vectors = db.execute("SELECT COUNT(*) FROM scene_vectors WHERE embedder = ?", (key,)).fetchone()[0]
    return scenes == photos and vectors == photos * OBJECTS


def add_photos(catalog: Any, numbers: range, key: str, dim: int, rng: np.random.Generator) -> list[int]:
    """Photos ``numbers`` remembered as ``remember`` writes them (one transaction); returns their scene ids."""
    from engine.scene_memory import BATCH, _ensure_schema

    vectors = np.abs(rng.standard_normal((len(numbers) * OBJECTS, dim), dtype=np.float32))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    tagged_at = datetime.now(UTC).isoformat(timespec="seconds")
    scene_ids = []
    with catalog.write():
        _ensure_schema(catalog)
        db = catalog.db
        for row, number in enumerate(numbers):
            scene_id = db.execute(
                "INSERT INTO scenes (path, sha256, width, height, origin, tagged_at) VALUES (?, ?, ?, ?, ?, ?)",
                (f"/bench/rooms/room-{number}.jpg", f"{number:064x}", 1600, 1200, BATCH, tagged_at)).lastrowid
            scene_ids.append(scene_id)
            for n in range(1, OBJECTS + 1):
                object_id = db.execute(
                    "INSERT INTO scene_objects (scene_id, number, category, x1, y1, x2, y2, best_sku, best_score, "
                    "best_kind, confirmed) VALUES (?, ?, 'chair', ?, 100, ?, 300, ?, 0.8, 'similar', 0)",
                    (scene_id, n, 100.0 * n, 100.0 * n + 90, f"B{number % 997}"),
                ).lastrowid
                db.execute("INSERT INTO scene_vectors (object_id, embedder, vector) VALUES (?, ?, ?)",
                           (object_id, key, vectors[row * OBJECTS + n - 1].tobytes()))
    return scene_ids


# -- one size, in a process of its own ---------------------------------------------------------------------


def _in_a_process(data_dir: Path, settings: Any, clicks: int) -> dict[str, Any]:
    """``measure`` in a child process (its heap and peak RSS are the search's alone)."""
    job = {"data_dir": str(data_dir), "embedder": list(settings.embedder),
           "models_dir": str(settings.models_dir) if settings.models_dir else None, "clicks": clicks}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "bench.rooms_like", "--measure", json.dumps(job)], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        from engine.errors import DecorLensError

        raise DecorLensError(f"bench rooms: the measuring process failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(data_dir: Path, embedder: list[str], models_dir: str | None, clicks: int) -> dict[str, Any]:
    """The timings and memory of ``rooms_like`` on the memory in ``data_dir``, then the references."""
    from engine.pipeline import Pipeline
    from engine.scene_memory import rooms_like
    from engine.settings import Settings

    settings = Settings.defaults().with_(data_dir=data_dir, embedder=tuple(embedder))
    pipeline = Pipeline(settings.with_(models_dir=Path(models_dir)) if models_dir else settings)
    key, dim = pipeline.embedder.key, int(pipeline.embedder.dim)
    rng = np.random.default_rng(1)
    queries = np.abs(rng.standard_normal((clicks + 1, dim), dtype=np.float32))
    before = _reset_peak()
    hits, first = timed(rooms_like, pipeline, queries[0], K)
    peak, held = _peak_mb() - before, _rss_mb() - before
    click = [timed(rooms_like, pipeline, q, K)[1].wall_ms for q in queries[1:]]
    new_photo, found = _after_a_new_photo(pipeline, key, dim, rng)
    read = _read_ms(pipeline, key)
    matrix = np.abs(rng.standard_normal((_count(pipeline, key), dim), dtype=np.float32))
    multiply = [timed(lambda q=q: matrix @ q)[1].wall_ms for q in queries[1:]]
    return {"first_ms": first.wall_ms, "click_ms": median(click), "clicks_ms": click, "new_photo_ms": new_photo,
            "new_photo_found": found, "hits": len(hits), "read_ms": read, "multiply_ms": median(multiply),
            "peak_mb": peak, "held_mb": held,
            "first_over_read": first.wall_ms / read, "click_over_multiply": median(click) / median(multiply)}


def _after_a_new_photo(pipeline: Any, key: str, dim: int, rng: np.random.Generator) -> tuple[float, bool]:
    """(ms, found): a search for an object of a photo remembered just before it, which must come first; the
    photo is removed again afterwards."""
    from engine.scene_memory import rooms_like

    number = 10**9
    (scene_id,) = add_photos(pipeline.catalog, range(number, number + 1), key, dim, rng)
    try:
        (blob,) = pipeline.catalog.db.execute(
            "SELECT v.vector FROM scene_vectors v JOIN scene_objects o ON o.id = v.object_id "
            "WHERE o.scene_id = ? AND v.embedder = ? LIMIT 1", (scene_id, key)).fetchone()
        hits, took = timed(rooms_like, pipeline, np.frombuffer(blob, np.float32), K)
    finally:
        with pipeline.catalog.write():
            pipeline.catalog.db.execute("DELETE FROM scenes WHERE id = ?", (scene_id,))
    return took.wall_ms, bool(hits) and hits[0].photo.endswith(f"room-{number}.jpg")


def _read_ms(pipeline: Any, key: str) -> float:
    """The reference: every vector row of ``key`` read from SQLite, nothing done with it."""
    start = time.perf_counter()
    for _row in pipeline.catalog.db.execute("SELECT object_id, vector FROM scene_vectors WHERE embedder = ?", (key,)):
        pass
    return (time.perf_counter() - start) * 1000


def _count(pipeline: Any, key: str) -> int:
    return int(pipeline.catalog.db.execute("SELECT COUNT(*) FROM scene_vectors WHERE embedder = ?",
                                           (key,)).fetchone()[0])


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def _reset_peak() -> float:
    """Start the peak RSS (``VmHWM``) over from now (Linux ``clear_refs``); returns the RSS now."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _rss_mb()


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024 / 1e6


# -- the report -------------------------------------------------------------------------------------------


def render(data: dict[str, Any], options: Options) -> str:
    rows = [[r["photos"], r["objects"], r["database_mb"], r["first_ms"], r["read_ms"], r["first_over_read"],
             r["click_ms"], r["multiply_ms"], r["click_over_multiply"], r["new_photo_ms"],
             "yes" if r["new_photo_found"] else "NO", r["peak_mb"], r["held_mb"]] for r in data["sizes"]]
    table = md_table(["photos", "objects", "database MB", "first ms", "read ms", "first / read", "click ms",
                      "multiply ms", "click / multiply", "after a new photo ms", "new photo found",
                      "peak RSS + MB", "held RSS + MB"], rows)
    return header("Looks like it at scale (rooms_like)", data["machine"], options,
                  f"Embedder {data['embedder']} ({data['dim']} floats), {data['objects_per_photo']} objects a "
                  f"photo, top {data['k']} photos; click: median of {data['clicks']} searches. References measured "
                  "in the same process: read = the vector rows read from SQLite; multiply = the same product on a "
                  "matrix in memory.") + "\n" + table + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        job = json.loads(argv[1])
        print(json.dumps(measure(Path(job["data_dir"]), job["embedder"], job["models_dir"], job["clicks"])))
        return 0
    from bench.runner import standalone

    return standalone("rooms", argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
