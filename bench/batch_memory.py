"""What remembering a tagged photo costs a batch: the search's vectors handed on, against embedding again.

Batch tagging remembers every photo for *Where used* (``engine.scene_memory.remember``). Before issue 21
the memory embedded each object's crop a second time; now the search hands its vectors on through
``SceneResult``. Both are timed here in one run, scene by scene and alternating which goes first: a
scene is searched and remembered with the handed-on vectors ("now"), and searched and remembered with
them stripped ("before": every crop embedded again), its memory rows deleted before each so neither
reuses the other's. Wall and process CPU time are reported; CPU time is the steadier on a shared machine.

The data dir's catalog and index are copied into a temporary folder first: its own memory is untouched.

    python -m bench.batch_memory --data-dir DIR [--dataset …/ikea_interior] [--scenes 12]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.common import Dataset, default_dataset, load_average
from engine.pipeline import Pipeline
from engine.scene_memory import BATCH, TABLES, VERSION_KEY, objects_of, photo_count, remember
from engine.settings import Settings
from training.evaluate import mcnemar_p  # the exact two-sided sign test the docs use

MODES = ("now", "before")


def copy_data_dir(source: Path, target: Path) -> Path:
    """Catalog and index of ``source`` in ``target``, with no photo remembered."""
    shutil.copytree(source / "index", target / "index")
    if (source / "models").is_dir():
        shutil.copytree(source / "models", target / "models")
    copy = sqlite3.connect(target / "catalog.sqlite")
    with sqlite3.connect(source / "catalog.sqlite") as original, copy:
        original.backup(copy)
        for table in TABLES:
            copy.execute(f"DROP TABLE IF EXISTS {table}")
        copy.execute("DELETE FROM meta WHERE key = ?", (VERSION_KEY,))
    return target


def tag_once(pipe: Pipeline, scene: Path, mode: str) -> tuple[float, float, int]:
    """(wall s, CPU s, objects) of searching and remembering one scene as the batch does."""
    if photo_count(pipe.catalog):  # forget it first: remembering must not find this content's old vectors
        with pipe.catalog.write():
            pipe.catalog.db.execute("DELETE FROM scenes WHERE path = ?", (str(scene.resolve()),))
    wall, cpu = time.perf_counter(), time.process_time()
    result = pipe.search_scene(scene)
    objects = objects_of(result)
    if mode == "before":
        objects = [replace(o, vector=None, embedder="") for o in objects]
    remember(pipe, scene, (result.width, result.height), objects, BATCH)
    return time.perf_counter() - wall, time.process_time() - cpu, len(objects)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a data dir, the IKEA catalog imported")
    parser.add_argument("--dataset", type=Path, default=None)
    parser.add_argument("--scenes", type=int, default=12)
    args = parser.parse_args(argv)
    dataset = Dataset(args.dataset or default_dataset())
    scenes = [dataset.scene_path(row["scene_id"]) for row in dataset.scenes[: args.scenes]]
    with tempfile.TemporaryDirectory(prefix="decorlens-batch-memory-") as work:
        pipe = Pipeline(Settings.defaults().with_(data_dir=copy_data_dir(args.data_dir, Path(work))))
        pipe.search_scene(scenes[0])  # models loaded, catalog ready: not part of either side
        load = load_average()
        times: dict[str, list[tuple[float, float]]] = {m: [] for m in MODES}
        objects = 0
        for n, scene in enumerate(scenes):
            for mode in MODES if n % 2 == 0 else MODES[::-1]:
                wall, cpu, count = tag_once(pipe, scene, mode)
                times[mode].append((wall, cpu))
            objects += count
            print(f"{n + 1}/{len(scenes)} {scene.name}: {count} objects, "
                  + ", ".join(f"{m} {times[m][-1][0] * 1000:.0f} ms" for m in MODES), flush=True)
        pipe.close()
    print(f"\n{len(scenes)} scenes, {objects} objects; load average {load} at the start, {load_average()} after")
    for i, what in enumerate(("wall", "CPU")):
        now, before = ([t[i] for t in times[m]] for m in MODES)
        wins = sum(b > a for a, b in zip(now, before))
        losses = sum(b < a for a, b in zip(now, before))
        print(f"{what}: now {sum(now):.2f} s, before {sum(before):.2f} s, "
              f"before/now {sum(before) / sum(now):.3f}; median per scene "
              f"{statistics.median(now) * 1000:.0f} vs {statistics.median(before) * 1000:.0f} ms; "
              f"now faster in {wins} of {len(now)} scenes (sign test p = {mcnemar_p(wins, losses):.2g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
