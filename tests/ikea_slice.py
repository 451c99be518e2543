"""A small real slice of the shared IKEA data in the products.csv / pairs.csv / scenes.csv layout.

A handful of training and validation scenes (by the split training uses) and only the products they
show, with absolute image paths so the folder names the shared photos instead of copying them.
"""

from __future__ import annotations

import csv
from pathlib import Path

from training.data import split_of


def write_slice(ikea: Path, out: Path, train: int = 4, val: int = 2) -> Path:
    with open(ikea / "pairs.csv", newline="") as fh:
        pairs = list(csv.DictReader(fh))
    scenes = sorted({p["scene_id"] for p in pairs})
    chosen = [s for s in scenes if split_of(s) == "train"][:train] + [s for s in scenes if split_of(s) == "val"][:val]
    kept = [p for p in pairs if p["scene_id"] in chosen]
    wanted = {p["product_id"] for p in kept}
    with open(ikea / "products.csv", newline="") as fh:
        products = [r for r in csv.DictReader(fh) if r["product_id"] in wanted]
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "pairs.csv", ("scene_id", "product_id", "category"),
           [(p["scene_id"], p["product_id"], p["category"]) for p in kept])
    _write(out / "products.csv", ("product_id", "category", "image"),
           [(r["product_id"], r["category"], str(ikea / r["image"])) for r in products])
    _write(out / "scenes.csv", ("scene_id", "image"), [(s, str(ikea / "scenes" / f"{s}.jpg")) for s in chosen])
    return out


def _write(path: Path, header, rows) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
