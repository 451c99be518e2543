"""The order of a Catalog Map page's product list (``engine.map_page._walk``): every product once, neighbours on the
map next to each other in the list, for any number of products (a walk to the nearest unlisted point took time
growing with their square: hours at 200,000)."""

from __future__ import annotations

import numpy as np

from engine.map_page import HILBERT_SIDE, _hilbert_index, _walk


def test_the_curve_visits_each_cell_of_the_grid_once_each_next_to_the_last():
    x, y = (axis.ravel().astype(np.int64) for axis in np.meshgrid(np.arange(HILBERT_SIDE), np.arange(HILBERT_SIDE)))
    place = _hilbert_index(x, y)
    assert np.array_equal(np.sort(place), np.arange(HILBERT_SIDE * HILBERT_SIDE))
    order = np.argsort(place)
    assert set(np.abs(np.diff(x[order])) + np.abs(np.diff(y[order]))) == {1}


def test_the_list_holds_every_product_once_and_keeps_map_neighbours_together():
    rng = np.random.default_rng(7)
    xy = rng.normal(size=(100_000, 2)) * [3.0, 0.5] + 40  # a wide map, off the origin
    order = _walk(xy)
    assert sorted(order) == list(range(len(xy)))
    step = np.linalg.norm(np.diff(xy[order], axis=0), axis=1).mean()
    assert step < np.linalg.norm(np.diff(xy, axis=0), axis=1).mean() / 20  # the given (random) order's steps
    assert _walk(np.zeros((0, 2))) == [] and _walk(np.ones((3, 2))) == [0, 1, 2]  # none; all on one point
