"""Where a person's eye pays most: the review queue of uncertain tags, and a contact sheet of pseudo labels.

The review queue (active learning) lists the tags of every photo tagged so far (the scene memory:
the app and batch tagging) whose two best matches are closest, least sure first: where the model
hesitates. (Whether confirming those pays more than confirming tags at random was measured with
``bench.review_rounds``: in one round of 30 on the IKEA data it did not, docs/training.md.) Confirmed
tags are left out; a tag with a single match has no runner-up to be confused with.

In the contact sheet each tile shows a product's catalog photo beside the scene region it was assigned, with the cosine
and a number; a person marks the numbers that are wrong. Each 0.05-wide cosine band gets an even share of the
tiles, so the sparse bands around the threshold are seen as well as the crowded ones and one sheet shows where
it should go (docs/detection.md records it).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from engine.catalog import Catalog
from engine.imageio import load_image
from engine.scene_memory import photo_count
from training.data import PairDataset
from training.pseudo_labels import SceneLabels

TILE = 160
BAND = 0.05  # cosine width of a band whose labels are judged together
COLUMNS = 4
QUEUE_SQL = """
SELECT s.path, o.number, o.category, a.sku, a.score, b.sku, b.score, o.x1, o.y1, o.x2, o.y2
FROM scene_objects o
JOIN scenes s ON s.id = o.scene_id
JOIN scene_matches a ON a.object_id = o.id AND a.rank = 1
JOIN scene_matches b ON b.object_id = o.id AND b.rank = 2
WHERE o.confirmed = 0
ORDER BY a.score - b.score, a.score, s.path, o.number
LIMIT ?
"""


@dataclass(frozen=True)
class ReviewItem:
    """One tag to look at: its photo and number, and the two products it hesitates between."""

    photo: Path
    number: int
    category: str
    best_sku: str
    best_score: float
    runner_up_sku: str
    runner_up_score: float
    box: tuple[float, float, float, float]  # where the tag's object is, in the photo's pixels

    @property
    def margin(self) -> float:
        return self.best_score - self.runner_up_score


def review_queue(catalog: Catalog, limit: int = 100) -> list[ReviewItem]:
    """The ``limit`` unconfirmed tags with the smallest margin between their top two matches."""
    if photo_count(catalog) == 0:
        return []
    rows = catalog.db.execute(QUEUE_SQL, (limit,)).fetchall()
    return [ReviewItem(Path(r[0]), int(r[1]), r[2], r[3], float(r[4]), r[5], float(r[6]), tuple(map(float, r[7:11])))
            for r in rows]


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
        region = Image.fromarray(load_image(scene.image)).crop(tuple(int(v) for v in label.box))
        for k, img in enumerate((product, region)):
            img.thumbnail((TILE - 4, TILE - 4))
            sheet.paste(img, (x + k * TILE + 2, y + 2))
        draw.text((x + 4, y + TILE + 2), f"#{n} {label.score:.2f} {label.category}", fill="black")
        draw.rectangle((x, y, x + 2 * TILE - 1, y + TILE + 17), outline="grey")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
