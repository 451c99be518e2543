"""Calibrate the embedder's "exact" and "likely" thresholds on scene→product pairs of chosen splits.

Every tag of every scene is searched (top-1, restricted to its category, as the app does); its top-1
is right when it is one of the products paired with the scene (byte-identical duplicates count as the
same product). ``engine.calibration.calibrate_levels`` turns those labels into the lowest score at
which "exact" is right ≥ 80 % of the time and "likely the same product" ≥ 50 %; a level no score
reaches is written as never shown. ``--card`` writes both, with what they were measured on, into a
model card (the stock embedder's lives in ``resources/cards``).

    python -m bench.exact_threshold --data-dir DIR [--splits val] [--seed 0] [--embedder X.onnx] [--card CARD.json]

Calibrate on scenes the embedder never trained on: the validation split for a fine-tuned model, any
split but test for the stock one. The data dir must hold the imported catalog
(``decorlens catalog import …/products.csv``).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

from bench.common import default_dataset
from engine.calibration import EXACT_TARGET, LIKELY_TARGET, calibrate_levels
from engine.files import write_atomic
from engine.models import ModelCard
from engine.pipeline import Pipeline
from engine.settings import Settings
from training.data import split_of


def labelled_top1(pipeline: Pipeline, dataset: Path, splits: set[str], seed: int) -> list[tuple[float, bool]]:
    """(top-1 score, top-1 is a paired product) for every tag of every paired scene in ``splits``."""
    wanted: dict[str, set[str]] = defaultdict(set)
    with open(dataset / "pairs.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if split_of(row["scene_id"], seed) in splits:
                wanted[row["scene_id"]].add(row["product_id"])
    with open(dataset / "duplicate_images.csv", newline="") as fh:
        group = {row["product_id"]: row["group"] for row in csv.DictReader(fh)}
    rows = []
    for scene, products in sorted(wanted.items()):
        paired = {group.get(p, p) for p in products}
        for obj in pipeline.search_scene(dataset / "scenes" / f"{scene}.jpg", top_k=1).objects:
            if obj.matches:
                top = obj.matches[0]
                rows.append((top.score, group.get(top.sku, top.sku) in paired))
    return rows


def write_card(path: Path, exact: float, likely: float, calibration: dict[str, object]) -> None:
    """Thresholds into the card's fields, the evidence under ``metrics.calibration``; atomically."""
    card = ModelCard.from_dict(json.loads(path.read_text()))
    card.exact_threshold, card.likely_threshold = exact, likely
    card.metrics.pop("exact_threshold_calibration", None)  # the single-level record this replaces
    card.metrics["calibration"] = calibration
    write_atomic(path, json.dumps(card.to_dict(), indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--splits", default="val", help="comma-separated scene splits to calibrate on")
    parser.add_argument("--seed", type=int, default=0, help="the split seed")
    parser.add_argument("--exact", type=float, default=EXACT_TARGET, help="wanted precision of 'exact' labels")
    parser.add_argument("--likely", type=float, default=LIKELY_TARGET, help="wanted precision of 'likely' labels")
    parser.add_argument("--embedder", help="ONNX file name or path (default: the settings' embedder)")
    parser.add_argument("--card", type=Path, help="write the thresholds into this model card")
    parser.add_argument("--out", type=Path, help="write the labelled scores and result as JSON here")
    args = parser.parse_args()
    splits = {s.strip() for s in args.splits.split(",") if s.strip()}
    settings = Settings.defaults().with_(data_dir=args.data_dir)
    pipeline = Pipeline(settings.with_(embedder=(args.embedder,)) if args.embedder else settings)
    rows = labelled_top1(pipeline, args.dataset, splits, args.seed)
    if not rows:
        raise SystemExit(f"no tagged scene with pairs in split(s) {sorted(splits)} of {args.dataset}")
    levels = calibrate_levels([s for s, _ in rows], [c for _, c in rows], args.exact, args.likely)
    calibration = {
        "data": f"{args.dataset.name}, split(s) {'+'.join(sorted(splits))} of seed {args.seed}, "
                f"tags of {pipeline.detector.name}",
        **levels.as_metrics(args.exact, args.likely),
        "tool": "python -m bench.exact_threshold",
    }
    print(f"{pipeline.embedder.key}: exact ≥ {levels.exact_threshold}, likely ≥ {levels.likely_threshold}")
    print(json.dumps(calibration, indent=1))
    if args.card:
        write_card(args.card, levels.exact_threshold, levels.likely_threshold, calibration)
    if args.out:
        args.out.write_text(json.dumps({"embedder": pipeline.embedder.key, **calibration, "rows": rows}))


if __name__ == "__main__":
    main()
