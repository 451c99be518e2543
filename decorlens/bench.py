"""``decorlens bench [latency|ceiling|import|index|startup|kill|scale|map|catalog|folder|rooms|all] [--quick]``: measured, with references.

Each benchmark prints a table and writes JSON + markdown (default ``docs/benchmarks/`` of a source
checkout). The benchmark code lives in the top-level ``bench`` package of the source tree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import DecorLensError
from engine.pipeline import Pipeline

CHOICES = ("latency", "ceiling", "import", "index", "startup", "kill", "scale", "map", "map-layout", "catalog", "folder", "rooms", "all")
SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the checkout holding engine/ and bench/


def _bench_on_path() -> None:
    """An editable install maps only the shipped packages; bench/ sits beside them in the checkout."""
    if (SOURCE_ROOT / "bench" / "__init__.py").is_file() and str(SOURCE_ROOT) not in sys.path:
        sys.path.append(str(SOURCE_ROOT))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks: latency, compute ceiling, import rate, index at scale, start-up, map view, catalog tab, opening a folder, Looks like it; kill test")
    p.add_argument("which", nargs="?", choices=CHOICES, default="all", metavar="BENCHMARK",
                   help=f"which benchmark: {', '.join(CHOICES[:-1])}, or all (default)")
    _bench_on_path()
    try:
        from bench.runner import add_arguments
    except ImportError:  # an installed copy without the source tree's bench/ folder
        p.add_argument("--quick", action="store_true", help="small sizes and few repeats")
    else:
        add_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    try:
        from bench.runner import BENCHMARKS, options_from, run_benchmarks
    except ImportError as exc:
        raise DecorLensError(
            f"the benchmarks need the source checkout's bench/ folder on the path ({exc}); "
            "run `decorlens bench` from the repository root"
        ) from exc
    names = list(BENCHMARKS) if args.which == "all" else [args.which]
    run_benchmarks(names, pipeline, options_from(args))
    return 0
