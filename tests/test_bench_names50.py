"""The catalog benches' synthetic products: each photo taken again under a longer name per turn (``dir/./photo``)."""

from __future__ import annotations

import pytest

from bench.map_view import MAX_TURNS, bench_product


def test_too_few_photos_for_the_products_asked_is_refused_before_paths_grow():
    """Given one photo, 200,000 products had paths up to 400 KB long: the catalog's log reached 32 GB."""
    assert bench_product(5, ["/p/a.jpg", "/p/b.jpg"]).image_path == "/p/././b.jpg"
    with pytest.raises(ValueError, match="needs more photos than 1: give at least 200"):
        bench_product(MAX_TURNS * 200, ["/p/a.jpg"])
