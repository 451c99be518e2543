"""Training on the CPU with the model's weights channels-last (NHWC) against as built (NCHW), in one run.

``training.loop.trunk_head`` lays the model out channels-last on the CPU. The two costs that layout
touches are timed here on real IKEA product photos, for each backbone: the frozen trunk on a batch (it
computes every view bank, most of a short run's time) and one step of the trained head (forward and
backward from the trunk's features). Rounds alternate which layout goes first; each round is one
pair. Both layouts' embeddings are compared too: the layout must not change what the model computes.
``--runs N`` also times N pairs of whole ``train`` runs (one epoch, the CPU's default views, the first
``--scenes`` scenes of each split), each in a data dir of its own so that its view banks are computed.

    python -m bench.train_layout [--rounds 8] [--batch 32] [--runs 0] [--scenes 6] [--dataset …] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from bench.common import (
    Dataset,
    Options,
    default_dataset,
    header,
    machine_info,
    md_table,
    median,
    write_report,
)
from engine.imageio import load_image
from engine.pipeline import Pipeline
from engine.preprocess import embed_batch
from engine.settings import Settings
from training import effnet_lite, loop
from training.evaluate import mcnemar_p
from training.loop import TrainConfig, frozen_blocks, input_card, trunk_head
from training.recipes import DEFAULT_BACKBONE, TrunkHead

LAYOUTS = {"channels-last": torch.channels_last, "as built": torch.contiguous_format}
STAGES = ("anchors", "views", "train", "total")  # TrainResult.timings
BACKBONES = (DEFAULT_BACKBONE, effnet_lite.NAME)


def costs(split: TrunkHead, pixels: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    """(trunk s, head step s, embeddings) for one batch."""
    start = time.perf_counter()
    features = split.trunk(pixels)
    trunk = time.perf_counter() - start
    features = features.float()  # as the view banks hand them to the head
    split.zero_grad(set_to_none=True)
    start = time.perf_counter()
    out = split.head(features)
    out.square().mean().backward()
    return trunk, time.perf_counter() - start, F.normalize(out.detach(), dim=1)


def measure(backbone: str, pixels: torch.Tensor, pipeline: Pipeline, rounds: int, log) -> dict:
    config = TrainConfig(data=Path("."), out=Path("."), backbone=backbone)
    config = replace(config, frozen_blocks=frozen_blocks(config))
    models = {name: trunk_head(config, pipeline, torch.device("cpu")).to(memory_format=layout)
              for name, layout in LAYOUTS.items()}
    for model in models.values():
        costs(model, pixels)  # oneDNN's kernels chosen and cached: not part of either side
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in LAYOUTS}
    embeddings = {}
    for n in range(rounds):
        for name in LAYOUTS if n % 2 == 0 else list(LAYOUTS)[::-1]:
            trunk, step, embeddings[name] = costs(models[name], pixels)
            times[name].append((trunk, step))
        log(f"{backbone} round {n + 1}/{rounds}: " + ", ".join(
            f"{name} trunk {times[name][-1][0]:.2f} s step {times[name][-1][1]:.2f} s" for name in LAYOUTS))
    result = {"max_embedding_difference": float((embeddings["channels-last"] - embeddings["as built"]).abs().max())}
    for i, part in enumerate(("trunk", "head_step")):
        fast, slow = ([t[i] for t in times[name]] for name in LAYOUTS)
        wins, losses = sum(f < s for f, s in zip(fast, slow)), sum(f > s for f, s in zip(fast, slow))
        result[part] = {"channels_last_s": median(fast), "as_built_s": median(slow),
                        "speedup": median(slow) / median(fast), "faster_rounds": wins, "rounds": rounds,
                        "sign_test_p": mcnemar_p(wins, losses)}
    return result


@contextmanager
def as_built() -> Iterator[None]:
    """``train`` with the model in the layout it is built in, as before ``trunk_head`` chose channels-last."""
    chosen = loop.trunk_head
    loop.trunk_head = lambda *args: chosen(*args).to(memory_format=torch.contiguous_format)
    try:
        yield
    finally:
        loop.trunk_head = chosen


def whole_runs(options: Options, runs: int, scenes: int, work: Path) -> dict:
    """Pairs of one-epoch ``train`` runs, alternating which layout goes first: seconds per stage."""
    times: dict[str, list[dict]] = {name: [] for name in LAYOUTS}
    for n in range(runs):
        for name in LAYOUTS if n % 2 == 0 else list(LAYOUTS)[::-1]:
            data_dir = work / f"run-{n}-{name.replace(' ', '-')}"
            pipeline = Pipeline(Settings.defaults().with_(data_dir=data_dir))
            config = TrainConfig(data=options.dataset, out=data_dir / "out", epochs=1, limit_scenes=scenes,
                                 device="cpu")
            with as_built() if name == "as built" else nullcontext():
                times[name].append(loop.train(config, pipeline).timings)
            pipeline.close()
            options.log(f"run {n + 1}/{runs} {name}: {times[name][-1]}")
    totals = [[t["total"] for t in times[name]] for name in LAYOUTS]
    wins = sum(fast < slow for fast, slow in zip(*totals))
    return {"runs": runs, "scenes_per_split": scenes, "timings": times,
            "views_speedup": median([t["views"] for t in times["as built"]])
            / median([t["views"] for t in times["channels-last"]]),
            "total_speedup": median(totals[1]) / median(totals[0]), "faster_runs": wins}


def report(options: Options, results: dict, batch: int, rounds: int) -> str:
    rows = [
        [backbone, part.replace("_", " "), f"{r[part]['as_built_s']:.3f}", f"{r[part]['channels_last_s']:.3f}",
         f"{r[part]['speedup']:.2f}×", f"{r[part]['faster_rounds']} of {r[part]['rounds']}",
         f"{r[part]['sign_test_p']:.2g}"]
        for backbone, r in results["backbones"].items() for part in ("trunk", "head_step")
    ]
    table = md_table(["backbone", "cost", "as built (s)", "channels-last (s)", "speed-up", "faster in", "p"], rows)
    differences = ", ".join(f"{b} {r['max_embedding_difference']:.1e}" for b, r in results["backbones"].items())
    text = (header("Training on the CPU: channels-last weights against as built", results["machine"], options,
                   f"A batch of {batch} IKEA product photos, {rounds} rounds alternating which layout goes first; "
                   "medians per batch.")
            + "\n" + table + f"\n\nLargest difference between the two layouts' normalised embeddings: {differences}.\n")
    runs = results.get("whole_runs")
    if runs:
        rows = [[name, *(f"{median([t[k] for t in runs['timings'][name]]):.1f}" for k in STAGES)] for name in LAYOUTS]
        text += (f"\nWhole `train` runs, {runs['runs']} pairs (1 epoch, {runs['scenes_per_split']} scenes per split), "
                 "medians in seconds:\n\n" + md_table(["layout", *STAGES], rows)
                 + f"\n\nViews {runs['views_speedup']:.2f}× and in all {runs['total_speedup']:.2f}× faster "
                 f"channels-last; faster in {runs['faster_runs']} of {runs['runs']} pairs.\n")
    return text


def run(options: Options, rounds: int, batch: int, runs: int = 0, scenes: int = 6) -> dict:
    """Both layouts timed on each backbone, and in ``runs`` pairs of whole runs; the starting weights are
    found as training finds them."""
    dataset = Dataset(options.dataset)
    photos = [load_image(dataset.product_path(row)) for row in dataset.products[:batch]]
    results = {"machine": machine_info(), "batch": batch, "rounds": rounds, "backbones": {}}
    with tempfile.TemporaryDirectory(prefix="decorlens-train-layout-") as work:
        pipeline = Pipeline(Settings.defaults().with_(data_dir=Path(work)))
        for backbone in BACKBONES:
            pixels = torch.from_numpy(embed_batch(photos, input_card(backbone)))
            results["backbones"][backbone] = measure(backbone, pixels, pipeline, rounds, options.log)
        if runs:
            results["whole_runs"] = whole_runs(options, runs, scenes, Path(work))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.train_layout", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--runs", type=int, default=0, help="pairs of whole one-epoch train runs to time too")
    parser.add_argument("--scenes", type=int, default=6, help="scenes per split in those runs")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 8 photos, written as .quick")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    rounds, batch = (2, 8) if args.quick else (args.rounds, args.batch)
    options = Options(quick=args.quick, dataset=args.dataset or default_dataset(), write=not args.no_write)
    results = run(options, rounds, batch, args.runs, args.scenes)
    write_report(options, "train-layout", results, report(options, results, batch, rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
