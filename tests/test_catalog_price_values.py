"""The sort by price reads each price text once into ``temp.price_values`` of the catalog's sorting connection: at
200,000 products the JSON of every price, built for each sort, held the GIL (the window's thread) 0.3 s and each
sort re-read them all. A sort with nothing written since the last reads no price, whichever thread sorts (the app's
pool threads drop their own connections after every job); the numbers stay right when the catalog changes, on
another connection (an import's worker) or on a thread's own."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from engine.catalog import Catalog

# sku, price as feeds write them; "" and "Call us" have no number
PRODUCTS = (("P1", "$1,299.00"), ("P2", "129.00 USD"), ("P3", ""), ("P4", "12,50 €"), ("P5", "Call us"))


def _catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.sqlite"
    with Catalog(path) as catalog, catalog.transaction():
        catalog.db.executemany(
            "INSERT INTO products (sku, name, category, image_path, image_hash, price) VALUES (?, ?, 'table', ?, ?, ?)",
            [(sku, f"product {sku}", f"/nowhere/{sku}.jpg", f"h{sku}", price) for sku, price in PRODUCTS])
    return path


def test_prices_are_read_once_per_connection_and_follow_the_catalog(tmp_path: Path) -> None:
    path = _catalog(tmp_path)
    with Catalog(path) as catalog:
        assert [p.sku for p in catalog.products(order="price")] == ["P4", "P2", "P1", "P3", "P5"]
        with catalog._sorting() as sorter:
            kept = dict(sorter.execute("SELECT price, value FROM temp.price_values").fetchall())
        assert kept == {"$1,299.00": 1299.0, "129.00 USD": 129.0, "": None, "12,50 €": 12.5, "Call us": None}

        writer = sqlite3.connect(path)  # an import's worker, on a connection of its own
        with writer:
            writer.execute("UPDATE products SET price = '5 €' WHERE sku = 'P1'")
            writer.execute("INSERT INTO products (sku, name, category, image_path, image_hash, price) "
                           "VALUES ('P6', 'product P6', 'table', '/nowhere/P6.jpg', 'hP6', '2,000.00')")
        writer.close()
        assert [p.sku for p in catalog.products(order="price_desc")] == ["P6", "P2", "P4", "P1", "P3", "P5"]
        with catalog._sorting() as sorter:
            assert sorter.execute("SELECT value FROM temp.price_values WHERE price = '5 €'").fetchone()[0] == 5.0

        statements: list[str] = []  # nothing written since: the sort looks for no new price
        with catalog._sorting() as sorter:
            sorter.set_trace_callback(statements.append)
        assert [p.sku for p in catalog.products(order="price")][:2] == ["P1", "P4"]
        assert not any("DISTINCT price" in sql for sql in statements)
        catalog.db.execute("UPDATE products SET price = '1 €' WHERE sku = 'P2'")  # on this thread's connection
        assert [p.sku for p in catalog.products(order="price")][:2] == ["P2", "P1"]
        assert any("DISTINCT price" in sql for sql in statements)

        statements.clear()  # another thread (a pool thread, a connection of its own) sorts with the prices read
        sorted_elsewhere: list[list[str]] = []
        worker = threading.Thread(target=lambda: sorted_elsewhere.append(
            [p.sku for p in catalog.products(category="table", order="price", limit=3)]))
        worker.start()
        worker.join()
        assert sorted_elsewhere == [["P2", "P1", "P4"]]
        assert not any("DISTINCT price" in sql for sql in statements), statements


def test_a_sort_by_price_or_name_stops_when_typed_over(tmp_path: Path) -> None:
    """The sorts that read prices or name keys run on the catalog's sorting connection: a search typed over while
    one ran must stop it there too (``interruptible``), as it stops the other orders on the thread's connection."""
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
