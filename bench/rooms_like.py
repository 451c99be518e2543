"""*Looks like it* at scale: how long does ``engine.scene_memory.rooms_like`` take, and how much memory, over a
scene memory of 1,000 to 50,000 tagged photos?

The Catalog tab's Where used panel runs it on every product selected, so it is timed as clicks. For each
size, a catalog whose scene memory holds that many photos of ``OBJECTS`` objects each (synthetic rows
inserted into the memory's own tables, ``engine.scene_memory.SCHEMA``; each object a random unit vector of
the active embedder's dimension under its key, so nothing is embedded) is written once into the work dir
and reused. Each size is measured in a process of its own (a fresh heap, its peak RSS its own), in order:

- ``first``: the first search (a product selected after the app started);
- ``click``: the next ``CLICKS`` searches, each for another vector (median): products clicked in turn;
- ``new photo``: the first search after one photo more was remembered (rows inserted as ``remember`` writes
  them; forgotten again afterwards), which must rank it first; and ``retag``: the first search after the
  oldest photo was tagged again (its rows deleted, as many written under new ids: every kept row moves up,
  the most a change moves). Each is timed twice on the same memory, ``ROUNDS`` times (median): ``kept``, the
  kept vectors brought up to date (only the change's rows read: ``rows``, and the peak RSS over it), and
  ``full``, the kept vectors dropped first and read again, which every first search after a change did
  before session 35; their ratio ``full / kept``, and whether both gave the same answer;
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
ROUNDS = 3  # each change made, then searched kept and read in full, this many times
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
                    f"{row['click_ms']:.0f} ms (multiply {row['multiply_ms']:.1f}), peak +{row['peak_mb']:.0f} MB; "
                    f"after a new photo {row['new_photo_ms']:.0f} ms (read in full {row['new_photo_full_ms']:.0f})")
        rows.append(row)
    data = {"benchmark": "rooms_like", "mode": options.mode, "machine": machine,
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
    changes = _after_changes(pipeline, key, dim, rng)
    read = _read_ms(pipeline, key)
    matrix = np.abs(rng.standard_normal((_count(pipeline, key), dim), dtype=np.float32))
    multiply = [timed(lambda q=q: matrix @ q)[1].wall_ms for q in queries[1:]]
    return {"first_ms": first.wall_ms, "click_ms": median(click), "clicks_ms": click, **changes,
            "hits": len(hits), "read_ms": read, "multiply_ms": median(multiply), "peak_mb": peak, "held_mb": held,
            "first_over_read": first.wall_ms / read, "click_over_multiply": median(click) / median(multiply)}


def _after_changes(pipeline: Any, key: str, dim: int, rng: np.random.Generator) -> dict[str, Any]:
    """``new_photo_*`` and ``retag_*``: the first search after each change, kept and read in full, ``ROUNDS``
    times (medians; ``*_found``: the new photo came first every time, ``*_same``: both answers were the same)."""
    from engine.scene_memory import rooms_like

    runs: dict[str, list[dict[str, Any]]] = {"new_photo": [], "retag": []}
    number = 10**9
    for _ in range(ROUNDS):
        (scene_id,) = add_photos(pipeline.catalog, range(number, number + 1), key, dim, rng)
        try:
            (blob,) = pipeline.catalog.db.execute(
                "SELECT v.vector FROM scene_vectors v JOIN scene_objects o ON o.id = v.object_id "
                "WHERE o.scene_id = ? AND v.embedder = ? LIMIT 1", (scene_id, key)).fetchone()
            query = np.frombuffer(blob, np.float32)
            run = _kept_and_full(pipeline, query)
            runs["new_photo"].append({**run, "found": bool(run["hits"]) and
                                      run["hits"][0].photo.endswith(f"room-{number}.jpg")})
        finally:
            with pipeline.catalog.write():
                pipeline.catalog.db.execute("DELETE FROM scenes WHERE id = ?", (scene_id,))
        rooms_like(pipeline, query, K)  # the kept vectors as the memory is again
        _tag_the_oldest_again(pipeline, key, dim, rng)
        runs["retag"].append(_kept_and_full(pipeline, query))
    return {f"{name}_{field}": value for name, done in runs.items() for field, value in _summary(done).items()}


def _kept_and_full(pipeline: Any, query: np.ndarray) -> dict[str, Any]:
    """The first search after a change with the kept vectors brought up to date, then on the same memory with
    them dropped and read in full (what every first search after a change did before)."""
    from engine.scene_memory import _VECTORS, rooms_like

    kept = _VECTORS[pipeline.catalog]
    read_before = kept.read
    before = _reset_peak()
    hits, took = timed(rooms_like, pipeline, query, K)
    peak = _peak_mb() - before
    now = _VECTORS[pipeline.catalog]
    rows = now.read - (read_before if now is kept else 0)  # a matrix out of room is read in full
    del kept, now, _VECTORS[pipeline.catalog]
    again, full = timed(rooms_like, pipeline, query, K)
    return {"hits": hits, "ms": took.wall_ms, "full_ms": full.wall_ms, "rows": rows, "peak_mb": peak,
            "same": again == hits}


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    kept, full = median([r["ms"] for r in runs]), median([r["full_ms"] for r in runs])
    summary = {"ms": kept, "full_ms": full, "full_over_kept": full / kept, "runs_ms": [r["ms"] for r in runs],
               "runs_full_ms": [r["full_ms"] for r in runs], "rows": max(r["rows"] for r in runs),
               "peak_mb": max(r["peak_mb"] for r in runs), "same": all(r["same"] for r in runs)}
    return summary | ({"found": all(r["found"] for r in runs)} if "found" in runs[0] else {})


def _tag_the_oldest_again(pipeline: Any, key: str, dim: int, rng: np.random.Generator) -> None:
    """The oldest photo forgotten and remembered again (as ``remember`` replaces a photo: new ids, at the end)."""
    (scene_id, path) = pipeline.catalog.db.execute("SELECT id, path FROM scenes ORDER BY id LIMIT 1").fetchone()
    number = int(path.rsplit("-", 1)[1].removesuffix(".jpg"))
    with pipeline.catalog.write():
        pipeline.catalog.db.execute("DELETE FROM scenes WHERE id = ?", (scene_id,))
    add_photos(pipeline.catalog, range(number, number + 1), key, dim, rng)


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
             r["click_ms"], r["multiply_ms"], r["click_over_multiply"], r["peak_mb"], r["held_mb"]]
            for r in data["sizes"]]
    table = md_table(["photos", "objects", "database MB", "first ms", "read ms", "first / read", "click ms",
                      "multiply ms", "click / multiply", "peak RSS + MB", "held RSS + MB"], rows)
    changes = [[r["photos"], *_change_cells(r, "new_photo"), "yes" if r["new_photo_found"] else "NO",
                *_change_cells(r, "retag"), "yes" if r["new_photo_same"] and r["retag_same"] else "NO"]
               for r in data["sizes"]]
    after = md_table(["photos", "new photo: kept ms", "read in full ms", "full / kept", "rows read", "peak RSS + MB",
                      "found", "oldest tagged again: kept ms", "read in full ms", "full / kept", "rows read",
                      "peak RSS + MB", "same answers"], changes)
    return header("Looks like it at scale (rooms_like)", data["machine"], options,
                  f"Embedder {data['embedder']} ({data['dim']} floats), {data['objects_per_photo']} objects a "
                  f"photo, top {data['k']} photos; click: median of {data['clicks']} searches. References measured "
                  "in the same process: read = the vector rows read from SQLite; multiply = the same product on a "
                  "matrix in memory.") + "\n" + table + "\n\n" + (
        f"The first search after a change (median of {ROUNDS}): kept = the kept vectors brought up to date; "
        "read in full = on the same memory, the kept vectors dropped first (every first search after a change "
        "before session 35).\n\n") + after + "\n"


def _change_cells(row: dict[str, Any], name: str) -> list[Any]:
    return [row[f"{name}_ms"], row[f"{name}_full_ms"], row[f"{name}_full_over_kept"], row[f"{name}_rows"],
            row[f"{name}_peak_mb"]]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        job = json.loads(argv[1])
        print(json.dumps(measure(Path(job["data_dir"]), job["embedder"], job["models_dir"], job["clicks"])))
        return 0
    from bench.runner import standalone

    return standalone("rooms", argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
