"""The duplicates window's "In 2 tagged photos": every product of its groups counted in one grouped query of the
scene memory (``photos_of``), as ``where_used`` finds them; it asked ``where_used`` once per product."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from app.widgets.duplicates_view import photos_using
from engine.catalog import Product
from engine.duplicates import DuplicateGroup
from engine.pipeline import Pipeline
from engine.scene_memory import APP, SeenObject, photos_of, remember, where_used
from engine.settings import Settings


def test_each_products_photos_are_counted_in_one_query(tmp_path: Path, scene_path):
    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path))
    catalog, key, dim = pipeline.catalog, pipeline.embedder.key, pipeline.embedder.dim
    products = [Product(f"S{n}", f"N{n}", "chair", f"/photos/{n}.jpg", f"h{n}") for n in range(3)]
    with catalog.transaction() as revision:
        for product in products:
            catalog.upsert(product, revision)

    def seen(number: int, sku: str) -> SeenObject:
        box = (10.0 * number, 10.0, 10.0 * number + 50, 60.0)
        return SeenObject(number, "chair", box, ((sku, 0.9, "exact"),), vector=np.ones(dim, np.float32), embedder=key)

    first, second = scene_path("take-a-comfy-seat-on-the-sofa"), scene_path("a-bed-that-folds-away")
    remember(pipeline, first, (800, 600), [seen(1, "S0"), seen(2, "S0"), seen(3, "S1")], APP)  # two S0 in one photo
    remember(pipeline, second, (800, 600), [seen(1, "S0")], APP)
    skus = [p.sku for p in products]
    statements: list[str] = []
    catalog.db.set_trace_callback(statements.append)
    try:
        counts = photos_using(pipeline, [DuplicateGroup(products, True, 1.0)])
    finally:
        catalog.db.set_trace_callback(None)
    assert counts == {"S0": 2, "S1": 1, "S2": 0}
    assert counts == {sku: len({s.photo for s in where_used(catalog, sku)}) for sku in skus}
    assert sum("scene_objects" in statement for statement in statements) == 1, statements
    assert photos_of(catalog, []) == {}
