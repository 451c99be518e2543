"""Calibrate the embedder's "exact" and "likely" thresholds on scene→product pairs of chosen splits.

``training.match_levels`` searches every tag of every paired scene as the app does and finds the lowest
score at which "exact" is right ≥ 80 % of the time and "likely the same product" ≥ 50 % (targets the
options change); ``--card`` writes both, with what they were measured on, into a model card (the stock
embedder's lives in ``resources/cards``). ``decorlens models combine --calibrate`` measures the same way.

    python -m bench.exact_threshold --data-dir DIR [--splits val] [--seed 0] [--embedder X.onnx] [--card CARD.json]

Calibrate on scenes the embedder never trained on: the validation split for a fine-tuned model, any
split but test for the stock one. The data dir must hold the imported catalog
(``decorlens catalog import …/products.csv``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import default_dataset
from engine.calibration import EXACT_TARGET, LIKELY_TARGET
from engine.errors import DecorLensError
from engine.pipeline import Pipeline
from engine.settings import Settings
from training.data import PairDataset
from training.match_levels import measure_levels, write_levels


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
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args()
    splits = {s.strip() for s in args.splits.split(",") if s.strip()}
    settings = Settings.defaults().with_(data_dir=args.data_dir)
    pipeline = Pipeline(settings.with_(embedder=(args.embedder,)) if args.embedder else settings)
    try:
        levels, calibration = measure_levels(pipeline, PairDataset.load(args.dataset), splits, args.seed, exact=args.exact,
                                             likely=args.likely)
    except DecorLensError as exc:
        raise SystemExit(str(exc)) from exc
    calibration["tool"] = "python -m bench.exact_threshold"
    print(f"{pipeline.embedder.key}: exact ≥ {levels.exact_threshold}, likely ≥ {levels.likely_threshold}")
    print(json.dumps(calibration, indent=1))
    if args.card:
        write_levels(args.card, levels.exact_threshold, levels.likely_threshold, calibration)
    if args.out:
        args.out.write_text(json.dumps({"embedder": pipeline.embedder.key, **calibration}))


if __name__ == "__main__":
    main()
