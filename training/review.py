"""A contact sheet of pseudo labels, to judge by eye how often an assignment is right.

Each tile shows a product's catalog photo beside the scene region it was assigned, with the cosine
and a number; a person marks the numbers that are wrong. Sampling is spread evenly over the
cosine range, so one sheet shows where the threshold should go (docs/detection.md records it).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from engine.imageio import load_image
from training.data import PairDataset
from training.pseudo_labels import SceneLabels

TILE = 160
COLUMNS = 4


def sample_pseudo(scenes: Sequence[SceneLabels], n: int, seed: int = 0,
                  low: float = 0.0) -> list[tuple[SceneLabels, int]]:
    """``n`` (scene, label index) pairs of pseudo labels with cosine ≥ ``low``, sorted by cosine."""
    found = [(s, i) for s in scenes for i, lab in enumerate(s.labels) if lab.source == "pair" and lab.score >= low]
    rng = random.Random(seed)
    picked = rng.sample(found, min(n, len(found)))
    return sorted(picked, key=lambda item: -item[0].labels[item[1]].score)


def contact_sheet(dataset: PairDataset, picked: Sequence[tuple[SceneLabels, int]], path: Path) -> Path:
    """Write the sheet: per tile the product photo, the assigned region, and ``#n cosine category``."""
    rows = (len(picked) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * 2 * TILE, rows * (TILE + 18)), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (scene, i) in enumerate(picked):
        label = scene.labels[i]
        x, y = (n % COLUMNS) * 2 * TILE, (n // COLUMNS) * (TILE + 18)
        product = Image.open(dataset.products[label.product_id].images[0]).convert("RGB")
        region = Image.fromarray(load_image(scene.image)).crop(tuple(int(v) for v in label.box))
        for k, img in enumerate((product, region)):
            img.thumbnail((TILE - 4, TILE - 4))
            sheet.paste(img, (x + k * TILE + 2, y + 2))
        draw.text((x + 4, y + TILE + 2), f"#{n} {label.score:.2f} {label.category}", fill="black")
        draw.rectangle((x, y, x + 2 * TILE - 1, y + TILE + 17), outline="grey")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
