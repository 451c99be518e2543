"""``decorlens train-detector --data DIR``: one YOLO detector for your catalog, to run instead of the stock ones.

Its labels: the stock detectors' tags distilled through the category map, the linked products'
regions the embedder finds (lamps, rugs, baskets, frames the stock classes miss), and the boxes
corrected in the app. ``decorlens models activate NAME.onnx`` then makes it the only detector.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from decorlens.options import cosine, fraction, plain_name, positive_int, whole_number
from decorlens.progress import note, stop_on_ctrl_c
from decorlens.train import TRAIN_EXTRA
from engine.errors import DecorLensError, ModelError
from engine.modelpack import refuse_pack_name
from engine.paths import TRAINING_RUNS
from engine.pipeline import Pipeline

MIN_LABELS = 3  # train labels a category needs to be a class
YOLO_DATA_CONF = 0.03  # a YOLO folder has no pairs to choose a confidence on: the decor detector's old value
BASE, IMGSZ, BATCH, FREEZE, PATIENCE = "yolo11n-ovint8-dq.pt", 416, 16, 10, 20  # training's defaults


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-detector",
                       help="train one detector for your catalog, to replace the stock ones ([train])")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, metavar="DIR", help="dataset folder: pairs.csv, products.csv, scenes.csv")
    source.add_argument("--yolo-data", type=Path, metavar="DATA_YAML",
                        help="train on a YOLO dataset as it is (one --export-only wrote and you corrected)")
    p.add_argument("--name", type=plain_name, default="yolo11n-decor", help="model name (default yolo11n-decor); written to <data dir>/models/NAME.onnx")
    p.add_argument("--base", default=BASE, metavar="PT", help=f"ultralytics .pt to start from (model path; default {BASE})")
    p.add_argument("--epochs", type=positive_int, metavar="N",
                   help="at most this many epochs (default 80 on the CPU, 11–19 s each on 2 cores; 250 on a GPU)")
    p.add_argument("--imgsz", type=positive_int, default=IMGSZ, metavar="PIXELS",
                   help=f"training and ONNX input size (default {IMGSZ})")
    p.add_argument("--batch", type=positive_int, default=BATCH, metavar="N",
                   help=f"images per training step (default {BATCH})")
    p.add_argument("--freeze", type=whole_number, default=FREEZE, metavar="N",
                   help=f"layers kept frozen (default {FREEZE}; 10 = the backbone)")
    p.add_argument("--patience", type=whole_number, default=PATIENCE, metavar="N",
                   help=f"epochs without better validation mAP before stopping (default {PATIENCE})")
    p.add_argument("--threshold", type=cosine, metavar="COSINE",
                   help="cosine for a pseudo label (default: calibrated, docs/detection.md)")
    p.add_argument("--min-labels", type=positive_int, default=MIN_LABELS, metavar="N",
                   help=f"a category needs this many train labels to be a class (default {MIN_LABELS})")
    p.add_argument("--conf", type=fraction, metavar="CONF",
                   help="confidence written into the card (default: the lowest whose tag precision on the val "
                        f"scenes reaches 80 %%, docs/detection.md; {YOLO_DATA_CONF} with --yolo-data)")
    p.add_argument("--paste", type=whole_number, default=0, metavar="N",
                   help="also train on N copies of train scenes with catalog products of the rarely seen "
                        "categories (rugs, frames, mirrors) pasted in (default 0; docs/detection.md)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="split seed: keep it equal to `decorlens train`'s (default 0)")
    p.add_argument("--limit-scenes", type=positive_int, metavar="N",
                   help="use only the first N scenes of each split (a quick look)")
    p.add_argument("--out", type=Path, metavar="DIR", help="run folder (default <data dir>/training-runs/NAME)")
    p.add_argument("--export-only", action="store_true",
                   help="write the pseudo-labelled YOLO dataset and COCO JSON, then stop (to inspect or correct)")
    p.add_argument("--review", type=positive_int, metavar="N",
                   help="also write review.png: N pseudo labels beside their products, an equal share per "
                        "cosine band, to judge by eye where the threshold belongs")
    p.add_argument("--trust-pt", action="store_true",
                   help="load a --base .pt from outside the models folders (a .pt is a pickle and can run code)")
    p.set_defaults(run=run)


# Options that shape the pseudo labels of a --data folder: a --yolo-data set is already labelled, and
# these were dropped (--threshold even written into the card's recipe as if it had been used)
LABELLING_ONLY = (("--threshold", "threshold", None), ("--min-labels", "min_labels", MIN_LABELS), ("--paste", "paste", 0),
                  ("--limit-scenes", "limit_scenes", None))
# Options read only once the dataset is written, by the fine-tuning (training.detector._fit and the .pt it
# loads): --export-only stops before, and dropped them in silence. Not --seed, --limit-scenes, --threshold,
# --min-labels, --paste, --out, --name (the run folder's default) or --device: the labelling uses them.
TRAINING_ONLY = (("--base", "base", BASE), ("--trust-pt", "trust_pt", False), ("--epochs", "epochs", None),
                 ("--imgsz", "imgsz", IMGSZ), ("--batch", "batch", BATCH), ("--freeze", "freeze", FREEZE),
                 ("--patience", "patience", PATIENCE))


def run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    refuse_unused(args)
    if not args.export_only:
        refuse_pack_name([args.name], pipeline.data_dir / "models")
    try:
        from training.detector import (
            DetectorConfig,
            add_classes_to_map,
            calibrate_card,
            export_trained,
            train_detector,
            train_from_yolo,
            write_review,
        )
        from training.pseudo_labels import DEFAULT_THRESHOLD
    except ImportError as exc:
        raise ModelError(f"detector training {TRAIN_EXTRA} ({exc.name} is missing)") from exc
    config = DetectorConfig(
        data=args.data or args.yolo_data.parent, out=args.out or pipeline.data_dir / TRAINING_RUNS / args.name, name=args.name,
        base=args.base, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, freeze=args.freeze,
        patience=args.patience, threshold=DEFAULT_THRESHOLD if args.threshold is None else args.threshold,
        min_labels=args.min_labels, seed=args.seed, device=pipeline.settings.device, limit_scenes=args.limit_scenes,
        pasted=args.paste, export_only=args.export_only, trust_pt=args.trust_pt,
    )
    with _Bars(args.quiet) as report, stop_on_ctrl_c() as stop:
        if args.yolo_data:
            result = train_from_yolo(config, args.yolo_data, pipeline, report, stop)
        else:
            result = train_detector(config, pipeline, report, stop)
    print(f"labels per category (train): {json.dumps(result.labels, ensure_ascii=False)}")  # "Décor", not "D\\u00e9cor"
    coco = result.data_yaml.parent / "coco"  # written with the labels; a --yolo-data set has none of ours
    print(f"dataset: {result.data_yaml} (YOLO)" + (f" and {coco} (COCO JSON)" if coco.is_dir() else ""))
    if args.review:
        print(f"review sheet: {write_review(config, pipeline, args.review)}")
    if args.export_only:
        return 0
    path = export_trained(result, config, pipeline.data_dir / "models", args.conf or YOLO_DATA_CONF)
    added = add_classes_to_map(pipeline.data_dir, result.classes)
    if args.conf is None and not args.yolo_data:
        with _Bars(args.quiet) as report:
            chosen = calibrate_card(path, config, pipeline, report)
        at = next(row for row in chosen["table"] if row["conf"] == chosen["conf"])
        print(f"card confidence {chosen['conf']}: on {chosen['scenes']:,} val scenes tag precision "
              f"{_pct(at['precision'])}, coverage {_pct(at['coverage'])}, {at['pins_per_scene']} pins per scene"
              + ("" if chosen["reached"] else f" (none reaches {chosen['target_precision']:.0%}: the best balance "
                                              "of precision and coverage)"))
    print(f"validation mAP50 {result.metrics.get('metrics/mAP50(B)', float('nan')):.3f}; "
          f"time {result.timings['labels']:.0f} s labelling, {result.timings['train']:.0f} s training")
    print(f"wrote {path} and {path.with_suffix('.card.json').name} ({len(result.classes):,} classes)")
    if added:
        print(f"category map {pipeline.data_dir / 'categories.yaml'} gained: {', '.join(added)}")
    if not result.replaces:  # a --yolo-data run: labels of the user's own, no stock tags distilled
        print(f"use it: decorlens models activate {path.name}")
        return 0
    stock = " ".join(result.replaces)
    print(f"it replaces {stock}: run it alone with `decorlens models activate {path.name}` "
          f"(back to the stock set: `decorlens models activate {stock}`)")
    return 0


def refuse_unused(args: argparse.Namespace) -> None:
    """Refuse, before any work, an option this run would leave unused, naming both options."""
    if args.yolo_data and (args.export_only or args.review):
        raise DecorLensError("--export-only and --review label a --data folder; --yolo-data is already labelled")
    if args.yolo_data:
        given = [option for option, dest, default in LABELLING_ONLY if getattr(args, dest) != default]
        if given:
            raise DecorLensError(f"{given[0]} shapes the pseudo labels of a --data folder; --yolo-data is "
                                 "trained on as it is labelled: leave it out")
    if args.export_only and args.conf is not None:
        raise DecorLensError("--conf is written into the exported model's card, and --export-only stops before "
                             "training: leave it out, or give it to the run that trains")
    if args.export_only:
        given = [option for option, dest, default in TRAINING_ONLY if getattr(args, dest) != default]
        if given:
            raise DecorLensError(f"{given[0]} is an option of the training, and --export-only stops before "
                                 "training: leave it out, or give it to the run that trains")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


class _Bars:
    """A tqdm bar per stage on stderr, and one line per validated epoch."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.stage: str | None = None
        self.bar: tqdm | None = None

    def __enter__(self):
        return self.report

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def report(self, stage: str, done: int, total: int, metrics: dict | None) -> None:
        if metrics is not None:
            if not self.quiet:
                note(f"epoch {done:,}/{total:,}: val mAP50 {metrics.get('metrics/mAP50(B)', 0.0):.3f}")
            return
        if stage != self.stage:
            if self.bar is not None:
                self.bar.close()
            self.stage = stage
            self.bar = tqdm(desc=stage, total=total, disable=self.quiet or not sys.stderr.isatty(), file=sys.stderr)
        self.bar.total, self.bar.n = total, done
        self.bar.refresh()
