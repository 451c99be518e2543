"""The sorts by price and name stop when typed over. (They read the keys the catalog stores with each product, schema
3: the temp tables of prices and name keys read once per connection that this file also tested are gone; the stored
keys are tested in test_keys51.py.)"""

from __future__ import annotations

from pathlib import Path

from engine.catalog import Catalog


def test_a_sort_by_price_or_name_stops_when_typed_over(tmp_path: Path) -> None:
    """A search typed over while a sort by price or name ran must stop it (``interruptible``), as it stops the other
    orders."""
    import pytest

    from engine.catalog import Interrupted

    path = tmp_path / "catalog.sqlite"
    with Catalog(path) as catalog:
        with catalog.transaction():
            catalog.db.executemany(
                "INSERT INTO products (sku, name, category, image_path, image_hash, price) VALUES (?, ?, 'table', ?, ?, ?)",
                [(f"S{i}", f"Écran {i}", f"/nowhere/{i}.jpg", f"h{i}", f"{i},50 €") for i in range(5_000)])
        for order in ("category", "price", "name"):
            with pytest.raises(Interrupted), catalog.interruptible(lambda: True):
                catalog.products(order=order)
        assert len(catalog.products(order="name")) == 5_000  # the connection still sorts once nothing stops it
