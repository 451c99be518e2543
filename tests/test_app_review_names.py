"""Catalog ▸ Review Uncertain Tags names the products a tag hesitates between, as the photo's panel does.

Offscreen (pytest-qt), on a real IKEA scene tagged against real IKEA products with their names.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from app.dialogs.review_queue import ReviewWindow
from app.labels import product_title
from engine.scene_memory import objects_of, remember

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
KITCHEN = "ikea-a-small-kitchen-for-smart-chefs__1364316014026-s4.jpg"


def _named_products(ikea: Path, out: Path, per_category: int = 4) -> Path:
    """A few real products of every IKEA category, with their names, images by absolute path."""
    kept: dict[str, list[dict[str, str]]] = {}
    with open(ikea / "products.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if len(kept.setdefault(row["category"], [])) < per_category:
                kept[row["category"]].append(row)
    with open(out, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("product_id", "category", "name", "image"))
        writer.writerows((r["product_id"], r["category"], r["name"], str(ikea / r["image"]))
                         for rows in kept.values() for r in rows)
    return out


def test_the_review_queue_names_both_products_beside_their_skus(qtbot, fresh_pipeline, ikea, tmp_path):
    """Each row read 'SKU score vs SKU score' ('101.484.64 0.331 vs 801.484.65 0.331'): a merchandiser could not
    tell what the tag hesitates between without looking each SKU up. Now the best match and the runner-up have a
    column each, the product's name first, its SKU (which tells look-alike variants apart) and score after."""
    fresh_pipeline.import_catalog(_named_products(ikea, tmp_path / "products.csv"))
    scene = ikea / "scenes" / KITCHEN
    result = fresh_pipeline.search_scene(scene)
    remember(fresh_pipeline, scene, (result.width, result.height), objects_of(result), "app")
    window = ReviewWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.table.rowCount() > 0, timeout=WAIT_MS)
    headers = [window.table.horizontalHeaderItem(c).text() for c in range(window.table.columnCount())]
    best, runner_up = headers.index("Best match"), headers.index("Runner-up")
    catalog = fresh_pipeline.catalog
    for row, item in enumerate(window.items):
        for column, sku, score in ((best, item.best_sku, item.best_score),
                                   (runner_up, item.runner_up_sku, item.runner_up_score)):
            product = catalog.get_by_sku(sku)
            title = product_title(product.name, product.sku, product.category)
            assert window.table.item(row, column).text() == f"{title} · {sku} · {score:.3f}"
    assert any(catalog.get_by_sku(i.best_sku).name not in i.best_sku for i in window.items)  # real names shown
