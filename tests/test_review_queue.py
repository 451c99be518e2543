"""The review queue's runner-up is another look, not the same photo sold under another SKU."""

from __future__ import annotations

import csv
from pathlib import Path

from engine.review_queue import queue_head, review_queue
from engine.scene_memory import objects_of, remember

ROOM = "bed-that-folds"  # chairs, tables, a shelf: categories the catalog below sells


def _catalog_with_twins(ikea: Path, out: Path, per_category: int = 6) -> Path:
    """Real IKEA products of a few categories, each sold a second time under another SKU with the same photo,
    as a shop lists a product's colours or sizes."""
    rows = []
    with open(ikea / "products.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["category"] in ("chair", "table", "shelf") and sum(r[1] == row["category"] for r in rows) < per_category:
                rows.append((row["product_id"], row["category"], row["name"], str(ikea / row["image"])))
    with open(out, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("product_id", "category", "name", "image"))
        writer.writerows(rows)
        writer.writerows((f"{sku}-B", category, f"{name} (other colour)", image) for sku, category, name, image in rows)
    return out


def test_a_product_sold_twice_with_one_photo_is_not_its_own_runner_up(fresh_pipeline, ikea: Path, scene_path,
                                                                      tmp_path: Path):
    """Variants of one product with one photo score alike to the last digit: the queue's top was all such pairs
    at margin 0.000 ("SOCKERRT vs SOCKERRT"), which no one can tell apart by looking. The runner-up is now the
    best match after the first whose photo is another file."""
    fresh_pipeline.import_catalog(_catalog_with_twins(ikea, tmp_path / "products.csv"))
    scene = scene_path(ROOM)
    result = fresh_pipeline.search_scene(scene)
    remember(fresh_pipeline, scene, (result.width, result.height), objects_of(result), "app")
    catalog = fresh_pipeline.catalog
    twinned = [o for o in result.objects if len(o.matches) > 2
               and catalog.get_by_sku(o.matches[0].sku).image_hash == catalog.get_by_sku(o.matches[1].sku).image_hash]
    assert twinned, "a tag whose two best matches are one photo"
    queue = review_queue(catalog)
    head, total = queue_head(catalog, 2)  # the window's list and count: one query, the rest not read
    assert head == queue[:2] and total == len(queue) > 2
    by_number = {item.number: item for item in queue}
    for item in queue:
        best, runner_up = catalog.get_by_sku(item.best_sku), catalog.get_by_sku(item.runner_up_sku)
        assert best.image_hash != runner_up.image_hash and item.margin > 1e-6
    for number, obj in enumerate(result.objects, start=1):
        if obj in twinned:
            other = next(m for m in obj.matches if catalog.get_by_sku(m.sku).image_hash
                         != catalog.get_by_sku(obj.matches[0].sku).image_hash)
            assert (by_number[number].runner_up_sku, by_number[number].runner_up_score) == (other.sku, other.score)
