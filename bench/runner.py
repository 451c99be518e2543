"""Which benchmarks exist, and running them from the CLI or as ``python -m bench.<module>``."""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import Options, default_dataset, default_out_dir

# CLI name → module; "all" runs them in this order (cheapest questions first)
BENCHMARKS = {
    "ceiling": "bench.ceiling",
    "latency": "bench.latency",
    "import": "bench.import_rate",
    "index": "bench.index_scale",
    "startup": "bench.startup",
    "kill": "bench.kill_test",  # reliability: kill -9 during writes, nothing lost (a few minutes)
    "scale": "bench.scale",  # Ray embedding vs the desktop import, vector import, compact index ([scale])
    "map": "bench.map_view",  # the Map tab's canvas at 2,000 to 50,000 products ([gui])
    "map-layout": "bench.map_layout",  # the Catalog Map's t-SNE: the shipped schedule against the one before ([map])
    "catalog": "bench.catalog_view",  # the Catalog tab at 20,000 to 1,000,000 products ([gui])
    "folder": "bench.folder_view",  # opening a folder of 5,000 and 20,000 photos in the main window ([gui])
    "rooms": "bench.rooms_like",  # Looks like it (rooms_like) over 1,000 to 50,000 remembered photos
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (a few minutes in all)")
    parser.add_argument("--out", type=Path, default=None, help=f"where JSON + markdown go (default {default_out_dir()})")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="bench data dir: catalog, exported models, caches (default <data dir>/bench)")
    parser.add_argument("--dataset", type=Path, default=None,
                        help=f"IKEA interior dataset folder (default {default_dataset()})")
    parser.add_argument("--before-embedder", metavar="ONNX",
                        help="latency: also time ours with this embedder and a one-crop query, alternating in the "
                             "same run (e.g. the previous default, mobilenet_v2_1.0_224_quant.float.onnx)")
    parser.add_argument("--trained-detector", metavar="ONNX",
                        help="latency: also time this `train-detector` model alone and beside the stock detectors "
                             "(the three-detector set), alternating in the same run, on the test scenes of the "
                             "split seed its card records")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    parser.add_argument("--sizes", type=sizes, default=(),
                        help="index: only these sizes of the full plan, e.g. 100000 (written as index-100k.json); "
                             "1000000 alone builds hnswlib at full dimension on 1M vectors (index-1M.json); "
                             "map: maps of these many products; catalog: catalogs of these many products; "
                             "folder: folders of these many photos; rooms: scene memories of these many photos")


def options_from(args: argparse.Namespace) -> Options:
    options = Options(quick=args.quick, write=not args.no_write)
    if args.out:
        options.out_dir = args.out
    if args.workdir:
        options.workdir = args.workdir
    if args.dataset:
        options.dataset = args.dataset
    options.before_embedder = getattr(args, "before_embedder", None)
    options.trained_detector = getattr(args, "trained_detector", None)
    if getattr(args, "sizes", ()):
        options.sizes = args.sizes
    return options


def sizes(value: str) -> tuple[int, ...]:
    """``--sizes``: catalog sizes, comma-separated, each a whole number from 1 (``1_000_000`` reads as well)."""
    try:
        chosen = tuple(int(x.replace("_", "")) for x in value.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a list of whole numbers such as 2000,20000") from None
    if not chosen or min(chosen) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give sizes of at least 1, such as 2000,20000")
    return chosen


def run_benchmarks(names: Sequence[str], pipeline: Any, options: Options) -> dict[str, Any]:
    results = {}
    for name in names:
        start = time.perf_counter()
        options.log(f"== bench {name} ({options.mode})")
        module = importlib.import_module(BENCHMARKS[name])
        results[name] = module.run(pipeline, options)
        options.log(f"== bench {name} took {time.perf_counter() - start:.0f} s")
    return results


def standalone(name: str, argv: Sequence[str] | None = None) -> int:
    """``python -m bench.<module> [--quick] ...`` with the default settings."""
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    parser = argparse.ArgumentParser(prog=f"python -m {BENCHMARKS[name]}")
    add_arguments(parser)
    args = parser.parse_args(argv)
    run_benchmarks([name], Pipeline(Settings.defaults()), options_from(args))
    return 0
