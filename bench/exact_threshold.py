"""Calibrate the embedder's "exact" threshold on scene→product pairs.

Every detected object in every scene is searched (top-1, restricted to its category); its top-1 is
right when it is one of the products paired with the scene (byte-identical duplicates count as the
same product). ``engine.calibration.calibrate_exact`` turns those labels into the threshold written
into the model card's ``exact_threshold``.

    python -m bench.exact_threshold --data-dir DIR [--dataset ../shared/datasets/ikea_interior]

The data dir must hold the imported catalog (``decorlens catalog import …/products.csv``).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

from bench.common import default_dataset
from engine.calibration import calibrate_exact
from engine.pipeline import Pipeline
from engine.settings import Settings


def labelled_top1(pipeline: Pipeline, dataset: Path) -> list[tuple[float, bool]]:
    """(top-1 score, top-1 is a paired product) for every object of every paired scene."""
    wanted: dict[str, set[str]] = defaultdict(set)
    with open(dataset / "pairs.csv", newline="") as fh:
        for row in csv.DictReader(fh):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--target", type=float, default=0.5, help="wanted precision of 'exact' labels")
    parser.add_argument("--out", type=Path, help="write the labelled scores and result as JSON here")
    args = parser.parse_args()
    pipeline = Pipeline(Settings.defaults().with_(data_dir=args.data_dir))
    rows = labelled_top1(pipeline, args.dataset)
    cal = calibrate_exact([s for s, _ in rows], [c for _, c in rows], target=args.target)
    right = sum(c for _, c in rows)
    print(f"{pipeline.embedder.key}: {len(rows)} objects, top-1 right for {right} ({right / len(rows):.1%})")
    print(json.dumps(cal.as_metrics()))
    if args.out:
        args.out.write_text(json.dumps({"embedder": pipeline.embedder.key, **cal.as_metrics(), "rows": rows}))


if __name__ == "__main__":
    main()
