"""In-situ search measured: does a product photo find the rooms it appears in?

For each product paired (``pairs.csv``) with at least two of the remembered scenes, the remembered
photos are ranked by their object most like the product's photo (``engine.scene_memory.rooms_like``,
what ``decorlens search --scenes`` does) and recall@k is the share of its paired scenes in the top k.
Beside it, the *Where used* recall: the share of its paired scenes in which some object's best match
is the product (or a byte-identical duplicate of it); and *Goes with* precision@5: of the (up to five)
products most often best-matched beside it, the share paired with one of its scenes, against the
share of the whole catalog that is (what five products drawn at random would score).

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
from engine.scene_memory import goes_with, product_vector, rooms_like, where_used
from engine.settings import Settings


def paired_scenes(dataset: Path, remembered: set[str]) -> dict[str, set[str]]:
    """Product id → ids of its paired scenes that are remembered."""
    scenes: dict[str, set[str]] = defaultdict(set)
    with open(dataset / "pairs.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["scene_id"] in remembered:
                scenes[row["product_id"]].add(row["scene_id"])
    return scenes


def scene_products(scenes: dict[str, set[str]]) -> dict[str, set[str]]:
    """Scene id → its paired product ids (the inverse of ``paired_scenes``)."""
    products: dict[str, set[str]] = defaultdict(set)
    for product, ids in scenes.items():
        for scene in ids:
            products[scene].add(product)
    return products


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
    paired = paired_scenes(dataset, set(remembered))
    in_scene = scene_products(paired)
    recall, hit, used, together, chance = [], [], [], [], []
    for sku, scenes in sorted(paired.items()):
        if len(scenes) < 2:
            continue
        beside = {p for scene in scenes for p in in_scene[scene]} - {sku}
        beside |= {e for p in beside for e in same.get(p, ())}
        top = [other for other, _ in goes_with(catalog, sku, 5)]
        if top:
            together.append(len(set(top) & beside) / len(top))
            chance.append(len(beside) / catalog.count())
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
        "goes_with_products": len(together), "goes_with_precision@5": float(np.mean(together)),
        "goes_with_chance": float(np.mean(chance)),
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
