"""A catalog above the map's cap (``engine.catalog_map.MAX_LAID_OUT``): t-SNE lays out a sample stratified by
category and the rest are placed beside their nearest laid-out look-alikes; every product is on the map and the
map says how many were laid out (engine, cache file, the Map tab's status line).

The whole shared IKEA catalog (the session ``pipeline``, 1,955 real products embedded by MobileNetV2) with the
cap lowered to 400, so the real path runs in seconds; the map is cached in this test's own data dir.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine import catalog_map as cm

CAP = 400


def _nearest_category_share(xy: np.ndarray, categories: np.ndarray, rows: np.ndarray) -> float:
    """How often the 5 nearest map points of each of ``rows`` share its category."""
    distances = np.linalg.norm(xy[rows, None] - xy[None], axis=2)
    distances[np.arange(len(rows)), rows] = np.inf
    nearest = np.argsort(distances, axis=1)[:, :5]
    return float((categories[nearest] == categories[rows, None]).mean())


def test_a_catalog_above_the_cap_maps_every_product_and_says_how_many_were_laid_out(
    qtbot, pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp
) -> None:
    from app.thumbnails import Thumbnails
    from app.widgets.map_view import Loaded, MapView
    from app.workers import Runner

    monkeypatch.setattr(cm, "MAX_LAID_OUT", CAP)
    stages: list[str] = []
    reports: list[int] = []
    result = cm.catalog_map(pipeline.catalog, pipeline.embedder, tmp_path, progress=lambda d, _t: reports.append(d),
                            stage=stages.append)
    ids = cm.mapped_ids(pipeline.catalog.db, pipeline.embedder.key)
    total = len(ids)
    assert total > CAP and np.array_equal(np.sort(result.ids), ids)  # every product, once
    assert result.xy.shape == (total, 2) and np.isfinite(result.xy).all()
    assert result.laid_out == CAP and result.sampled
    assert f"{cm.PLACING} {CAP:,} of {total:,} products" in stages
    assert stages[-1].startswith(f"{cm.PLACING_REST} {total - CAP:,} products"), stages
    assert reports == sorted(reports) and reports[-1] == cm.LAYOUT_STEPS

    products = pipeline.catalog.get_many(int(pid) for pid in result.ids)
    categories = np.array([products[int(pid)].category for pid in result.ids])
    chosen = cm.sample(list(categories), CAP)  # the sample: each category in its share, none left out
    assert len(chosen) == CAP and set(categories[chosen]) == set(categories)
    placed = np.setdiff1d(np.arange(total), chosen)  # the products placed by neighbours land among their kind
    _, counts = np.unique(categories, return_counts=True)
    chance = float(((counts / counts.sum()) ** 2).sum())
    share = _nearest_category_share(result.xy, categories, placed[::4])
    assert share > 3 * chance, (share, chance)

    cached = cm.read_map(cm.cache_path(tmp_path, pipeline.embedder.key))  # the count survives the cache file
    assert cached.laid_out == CAP and np.array_equal(cached.xy, result.xy)

    engine, loader = Runner(1, qapp), Runner(1, qapp)
    view = MapView(pipeline, engine, Thumbnails(loader))
    qtbot.addWidget(view)
    try:
        view._loaded(Loaded(replace(cached, title=result.title), products, 0.0))
        assert f"{total:,} products by {result.title} (from the cache; " in view.status.text()
        assert f"{CAP:,} of them, a sample of every category, laid out" in view.status.text(), view.status.text()
    finally:
        for runner in (engine, loader):
            runner.shutdown()
