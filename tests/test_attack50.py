"""An attacker's look at the session's catalog search, local prices and pasted-picture names: text pasted into the
search box or passed to `catalog list --search`, prices as shops print them, files named by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.scene_files import PASTED, caption
from decorlens.main import main
from engine.catalog import Catalog
from engine.errors import DecorLensError
from engine.prices import price_value
from engine.search_text import MAX_TEXT

NAMES = ("sofa", "grande lampe", "İ" * MAX_TEXT)  # the last one as long as the longest text searched for


@pytest.fixture
def shop(tmp_path: Path) -> Catalog:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    with catalog.transaction():
        catalog.db.executemany(
            "INSERT INTO products (sku, name, category, image_path, image_hash, price) VALUES (?, ?, 'sofa', ?, ?, '1')",
            [(f"S-{i}", name, f"{i}.jpg", f"h{i}") for i, name in enumerate(NAMES)])
    yield catalog
    catalog.close()


def test_the_longest_text_searched_for_finds_its_name_in_any_case(shop: Catalog) -> None:
    assert [p.sku for p in shop.products(text="i" * MAX_TEXT)] == ["S-2"]


@pytest.mark.parametrize("length", [MAX_TEXT + 1, 60_000])
def test_a_text_pasted_too_long_is_refused_in_a_line(shop: Catalog, length: int) -> None:
    """60,000 characters failed in SQLite ("LIKE or GLOB pattern too complex"), which the CLI blamed on the catalog."""
    with pytest.raises(DecorLensError, match=f"is {length:,} characters long: .* at most 1,000$"):
        shop.products(text="a" * length)


@pytest.mark.parametrize(("text", "code"), [("\x00", "U+0000"), ("a\x00", "U+0000"), ("so\udcff", "U+DCFF")])
def test_a_character_no_pattern_can_hold_is_named(shop: Catalog, text: str, code: str) -> None:
    """SQLite ended the pattern at a NUL: NUL alone listed every product, "a" + NUL each name ending in "a"; a lone
    surrogate (a byte of the command line that is not UTF-8) was a UnicodeEncodeError."""
    with pytest.raises(DecorLensError, match=re.escape(code)):
        shop.products(text=text)


def test_catalog_list_names_the_search_text_too_long(shop: Catalog, capsys) -> None:
    assert main(["--data-dir", str(shop.path.parent), "catalog", "list", "--search", "x" * 60_000]) != 0
    assert capsys.readouterr().err.strip().endswith("a name or SKU is searched for at most 1,000")


@pytest.mark.parametrize(("text", "value"), [
    ("$12⁹⁹", 12.0), ("$1,299¹", 1299.0), ("12½ €", 12.0), ("m² 25,00 €", 25.0), ("② 25 €", 25.0),
    ("$.99", 0.99), (",99 €", 0.99), ("ca.1299 kr", 1299.0), ("₹१,२९९.००", 1299.0), ("𝟏𝟐𝟑", 123.0)])
def test_a_price_is_not_read_orders_of_magnitude_off(text: str, value: float) -> None:
    """NFKC made digits of superscript cents (1299), a footnote mark (1.2991), a fraction (121) and m² (2); "$.99"
    read as 99."""
    assert price_value(text) == value


def test_a_file_named_like_a_pasted_picture_without_a_time_is_captioned_by_its_name(tmp_path: Path) -> None:
    """Its listing in the Photos strip ended in strptime's ValueError."""
    for name in ("pasted-20261399-256199-1.png", "pasted-٢٠٢٦١٢٠٧-191020-1.png"):
        assert caption(tmp_path / PASTED / name) == name
