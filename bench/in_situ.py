"""In-situ search measured: does a product photo find the rooms it appears in?

For each product paired (``pairs.csv``) with at least two of the remembered scenes, the remembered
photos are ranked by their object most like the product's photo (``engine.scene_memory.rooms_like``,
what ``decorlens search --scenes`` does) and recall@k is the share of its paired scenes in the top k.
Beside it, the *Where used* recall: the share of its paired scenes in which some object's best match
is the product (or a byte-identical duplicate of it).

The product's vector is the catalog's stored one: the same decode and embedder as
``search --scenes`` applies to the photo file (tests/test_scene_memory.py checks they agree).

    decorlens --data-dir DIR catalog import …/ikea_interior/products.csv
    decorlens --data-dir DIR tag …/ikea_interior/scenes --out OUT        # remembers every scene
    python -m bench.in_situ --data-dir DIR [--dataset …/ikea_interior] [--k 10]
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.common import default_dataset
from engine.pipeline import Pipeline
from engine.scene_memory import product_vector, rooms_like, where_used
from engine.settings import Settings


def paired_scenes(dataset: Path, remembered: set[str]) -> dict[str, set[str]]:
    """Product id → ids of its paired scenes that are remembered."""
    scenes: dict[str, set[str]] = defaultdict(set)
    with open(dataset / "pairs.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["scene_id"] in remembered:
                scenes[row["product_id"]].add(row["scene_id"])
    return scenes


def equivalents(dataset: Path) -> dict[str, set[str]]:
    """Product id → the ids whose image is byte-identical to its own (itself included)."""
    groups: dict[str, set[str]] = defaultdict(set)
    with open(dataset / "duplicate_images.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            groups[row["group"]].add(row["product_id"])
    same: dict[str, set[str]] = defaultdict(set)
    for ids in groups.values():
        for i in ids:
            same[i] = ids
    return same


def measure(pipeline: Pipeline, dataset: Path, k: int) -> dict[str, float]:
    catalog = pipeline.catalog
    remembered = {Path(p).stem: p for (p,) in catalog.db.execute("SELECT path FROM scenes")}
    same = equivalents(dataset)
    recall, hit, used = [], [], []
    for sku, scenes in sorted(paired_scenes(dataset, set(remembered)).items()):
        if len(scenes) < 2:
            continue
        vector = product_vector(pipeline, sku)
        if vector is None:
            continue
        found = {Path(h.photo).stem for h in rooms_like(pipeline, vector, k)}
        recall.append(len(found & scenes) / len(scenes))
        hit.append(bool(found & scenes))
        matched = {Path(s.photo).stem for other in same.get(sku, {sku}) for s in where_used(catalog, other)}
        used.append(len(matched & scenes) / len(scenes))
    return {
        "photos": len(remembered), "products": len(recall), f"recall@{k}": float(np.mean(recall)),
        f"hit@{k}": float(np.mean(hit)), "where_used_recall": float(np.mean(used)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    pipeline = Pipeline(Settings.for_data_dir(args.data_dir))
    figures = measure(pipeline, args.dataset, args.k)
    print(f"embedder {pipeline.embedder.key}: " + ", ".join(
        f"{name} {value:.3f}" if isinstance(value, float) else f"{name} {value}" for name, value in figures.items()
    ))


if __name__ == "__main__":
    main()
