"""Where a person's eye pays most on pseudo labels: a contact sheet to judge them by.

(The review queue of uncertain tags is ``engine.review_queue``: the app shows it without training.)

In the contact sheet each tile shows a product's catalog photo beside the scene region it was assigned, with the cosine
and a number; a person marks the numbers that are wrong. Each 0.05-wide cosine band gets an even share of the
tiles, so the sparse bands around the threshold are seen as well as the crowded ones and one sheet shows where
it should go (docs/detection.md records it).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from engine.crops import to_decoded
from engine.imageio import load_image
from training.data import PairDataset
from training.pseudo_labels import SceneLabels

TILE = 160
BAND = 0.05  # cosine width of a band whose labels are judged together
COLUMNS = 4


def sample_pseudo(scenes: Sequence[SceneLabels], n: int, seed: int = 0,
                  low: float = 0.0) -> list[tuple[SceneLabels, int]]:
    """At most ``n`` (scene, label index) pairs of pseudo labels with cosine ≥ ``low``, sorted by cosine.

    Every ``BAND``-wide cosine band gets an equal share (all of a band that has fewer), because the
    rightness of labels is judged per band: a plain random sample is mostly the crowded middle.
    """
    bands: dict[int, list[tuple[SceneLabels, int]]] = defaultdict(list)
    for scene in scenes:
        for i, label in enumerate(scene.labels):
            if label.source == "pair" and label.score >= low:
                bands[int(label.score // BAND)].append((scene, i))
    share = max(1, n // len(bands)) if bands else 0
    rng = random.Random(seed)
    picked = [item for key in sorted(bands) for item in rng.sample(bands[key], min(share, len(bands[key])))]
    return sorted(picked, key=lambda item: -item[0].labels[item[1]].score)[:n]


def contact_sheet(dataset: PairDataset, picked: Sequence[tuple[SceneLabels, int]], path: Path) -> Path:
    """Write the sheet: per tile the product photo, the assigned region, and ``#n cosine category``."""
    rows = (len(picked) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * 2 * TILE, rows * (TILE + 18)), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (scene, i) in enumerate(picked):
        label = scene.labels[i]
        x, y = (n % COLUMNS) * 2 * TILE, (n // COLUMNS) * (TILE + 18)
        product = Image.open(dataset.products[label.product_id].images[0]).convert("RGB")
        pixels = load_image(scene.image)  # a photo past MAX_SIDE is decoded smaller than its labels' pixels
        region = Image.fromarray(pixels).crop(tuple(int(v) for v in to_decoded(pixels, label.box)))
        for k, img in enumerate((product, region)):
            img.thumbnail((TILE - 4, TILE - 4))
            sheet.paste(img, (x + k * TILE + 2, y + 2))
        draw.text((x + 4, y + TILE + 2), f"#{n} {label.score:.2f} {label.category}", fill="black")
        draw.rectangle((x, y, x + 2 * TILE - 1, y + TILE + 17), outline="grey")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
