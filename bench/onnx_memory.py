"""What onnxruntime's memory pattern and CPU arena cost and buy: scene time against the process's memory.

onnxruntime keeps, per session, a "memory pattern" (one buffer planned for a whole run's tensors, per input
shape) carved from an arena that grows to the largest run needed and never gives memory back: together about
200 MB of an engine that has searched a few photos. Each configuration runs in a fresh process (so
its peak RSS is its own), searching ``--scenes`` photos end to end (``Pipeline.search_scene``) after one to
warm up; the two alternate over ``--rounds`` rounds, which of them goes first changing each round, so a change
in the machine's load hits both. Reported: the median wall and process CPU time per scene, the peak RSS
(``VmHWM``) and the RSS after the last scene.

- *no pattern*: the engine's default, the memory pattern off, the arena kept (``engine.runtime``);
- *pattern*: onnxruntime's own defaults, ``DECORLENS_MEM_PATTERN=1``;
- *neither*: the arena off too (``DECORLENS_NO_ARENA=1``, read here only): the least memory, measured for the
  record (about 20 % slower scenes on this machine).

    python -m bench.onnx_memory --data-dir DIR [--dataset …/ikea_interior] [--scenes 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import ROOT, default_dataset, load_average

CONFIGS = {"no pattern": {}, "pattern": {"DECORLENS_MEM_PATTERN": "1"}, "neither": {"DECORLENS_NO_ARENA": "1"}}
CHILD = """
import json, os, sys, time
from pathlib import Path
import onnxruntime

if os.environ.get("DECORLENS_NO_ARENA") == "1":
    class NoArena(onnxruntime.SessionOptions):
        def __init__(self):
            super().__init__()
            self.enable_cpu_mem_arena = False
    onnxruntime.SessionOptions = NoArena

from engine.pipeline import Pipeline
from engine.settings import Settings

def kb(field):
    return int(Path("/proc/self/status").read_text().split(field + ":")[1].split()[0])

pipe = Pipeline(Settings.for_data_dir(Path(sys.argv[1])))
scenes = sys.argv[2:]
pipe.search_scene(scenes[0])
walls, cpus = [], []
for scene in scenes[1:]:
    wall, cpu = time.perf_counter(), time.process_time()
    pipe.search_scene(scene)
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
print("BENCH " + json.dumps({"walls": walls, "cpus": cpus, "peak_kb": kb("VmHWM"), "rss_kb": kb("VmRSS")}))
"""


def run_one(config: str, data_dir: Path, scenes: list[str]) -> dict[str, Any]:
    """One fresh process of ``config`` over ``scenes``: its per-scene times and memory."""
    env = {k: v for k, v in os.environ.items() if k not in ("DECORLENS_MEM_PATTERN", "DECORLENS_NO_ARENA")}
    env |= CONFIGS[config]
    done = subprocess.run([sys.executable, "-c", CHILD, str(data_dir), *scenes], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Medians over every scene of every round (times, ms) and over the rounds (memory, MB)."""
    return {
        "wall_ms": 1000 * statistics.median(t for r in runs for t in r["walls"]),
        "cpu_ms": 1000 * statistics.median(t for r in runs for t in r["cpus"]),
        "peak_mb": statistics.median(r["peak_kb"] for r in runs) / 1024,
        "rss_mb": statistics.median(r["rss_kb"] for r in runs) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a data dir with a catalog imported")
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--scenes", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scenes = sorted(str(p) for p in (args.dataset / "scenes").iterdir() if p.suffix.lower() in {".jpg", ".png"})
    scenes = scenes[:: max(1, len(scenes) // (args.scenes + 1))][: args.scenes + 1]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGS}
    for round_ in range(args.rounds):
        order = list(CONFIGS)[round_ % len(CONFIGS):] + list(CONFIGS)[:round_ % len(CONFIGS)]
        for config in order:
            runs[config].append(run_one(config, args.data_dir, scenes))
            print(f"round {round_ + 1} {config}: done", file=sys.stderr, flush=True)
    results = {name: summary(r) for name, r in runs.items()}
    print(f"{len(scenes) - 1} scenes after one to warm up, {args.rounds} rounds; load average {load_average()}")
    print("| | wall ms / scene | CPU ms / scene | peak RSS MB | RSS after MB |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['wall_ms']:.0f} | {r['cpu_ms']:.0f} | {r['peak_mb']:.0f} | {r['rss_mb']:.0f} |")
    base = results["pattern"]
    for name in ("no pattern", "neither"):
        r = results[name]
        print(f"{name} / pattern: wall {r['wall_ms'] / base['wall_ms']:.2f}x, CPU {r['cpu_ms'] / base['cpu_ms']:.2f}x, "
              f"peak RSS {r['peak_mb'] / base['peak_mb']:.2f}x")


if __name__ == "__main__":
    main()
