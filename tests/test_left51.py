"""Session 51's small fixes: Name A–Z orders numbers by value, prices in exponent or date form, direction marks and
zero-width characters in a search, a file-size limit and an unwritable character described as such, ``--help`` to a
full stdout, a desktop entry read within a bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog import Catalog
from engine.name_order import name_key
from engine.prices import price_value

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


@pytest.mark.parametrize(("text", "value"), [
    ("1.2999E+3", 1299.9), ("1,2999E+03 €", 1299.9), ("2.5e2 USD", 250.0),  # a spreadsheet's exponent notation
    ("0.125", 0.125), ("$0,125", 0.125),  # an eighth, not a hundred and twenty-five
    ("2026-12-07", None), ("07/12/2026", None), ("07.12.2026", None), ("7.12.26", None), ("Sale 2026-12-07", None),
    ("1.299.000", 1299000.0), ("1,29,999", 129999.0), ("10-20 €", 10.0), ("¥12,800", 12800.0)])  # as before
def test_prices_in_exponent_or_date_form(text: str, value: float | None) -> None:
    """A date in a price column was read as its first number (2,026; 7; 7,122,026), "1.2999E+3" as 1.2999 and
    "0.125" as 125: each sorted far from where it belongs. A date is now no price (an import names it)."""
    assert price_value(text) == value


def test_invisible_characters_do_not_count_in_a_search(tmp_path: Path, ikea: Path) -> None:
    """Direction marks, zero-width characters and soft hyphens, in the text typed (pasted from a right-to-left page)
    or in a name (a feed's), were matched as characters: "BILLY" pasted with its marks found nothing, "billy" did not
    find "BIL\u00adLY"."""
    photo = next((ikea / "products" / "clock").glob("*.jpg"))
    names = {"P1": "BILLY bookcase", "P2": "\u200fשולחן\u200f BIL\u00adLY", "P3": "BI\u200bLLY \u2013 shelf\u200e",
             "P4": "\u2067Lamp\u2069 \ufeffSÖDER\u200dHAMN", "P5": "Ärstid \u2013 lamp"}
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        with catalog.transaction():
            catalog.db.executemany(
                "INSERT INTO products (sku, name, category, image_path, image_hash, price) VALUES (?, ?, 'x', ?, ?, '')",
                [(sku, name, str(photo), f"h{sku}") for sku, name in names.items()])

        def found(text: str) -> list[str]:
            return sorted(p.sku for p in catalog.products(text=text))

        assert found("billy") == ["P1", "P2", "P3"]
        assert found("\u202bBI\u200cLLY\u202c") == ["P1", "P2", "P3"]
        assert found("billy – shelf") == ["P3"]
        assert found("lamp söderhamn") == ["P4"]
        assert found("ärstid – lamp") == ["P5"]  # a dash of the same bytes' lead, nothing invisible: as before
        assert found("\u200f") == ["P1", "P2", "P3", "P4", "P5"]  # nothing typed that shows
