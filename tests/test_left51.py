"""Session 51's small fixes: Name A–Z orders numbers by value, prices in exponent or date form, direction marks and
zero-width characters in a search, a file-size limit and an unwritable character described as such, ``--help`` to a
full stdout, a desktop entry read within a bound."""

from __future__ import annotations

from pathlib import Path

from engine.catalog import Catalog
from engine.name_order import name_key

# Names in "Name A–Z" order: numbers by their value, wherever they are, with their accents and case folded.
NUMBERED = ("Shelf 2", "shelf 007", "Shelf 10", "Shelf 10 b", "Shelf 10x20", "Shelf 10x100", "Shelf 100",
            "Shelf a", "Söderhamn 9", "SÖDERHAMN 12", "Table 80x28", "Table 120x28")


def test_runs_of_digits_sort_by_their_value(tmp_path: Path, ikea: Path) -> None:
    """"Shelf 10" came before "Shelf 2" (digits compared one by one): the catalog's order of names of ASCII (keyed
    by SQLite) and of others (keyed by Python) alike."""
    photo = next((ikea / "products" / "clock").glob("*.jpg"))
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        with catalog.transaction():
            catalog.db.executemany(
                "INSERT INTO products (sku, name, category, image_path, image_hash, price) VALUES (?, ?, 'x', ?, ?, '')",
                [(f"S{i}", name, str(photo), f"h{i}") for i, name in enumerate(reversed(NUMBERED))])
        assert [p.name for p in catalog.products(order="name")] == list(NUMBERED)
    assert name_key("Shelf ２") == name_key("shelf 2")  # full-width digits, as NFKD reads them
