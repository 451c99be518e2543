"""No feed's number above any price is read as one (session 51's attack review)."""

from __future__ import annotations

import pytest

from engine.prices import MAX_PRICE, price_value


@pytest.mark.parametrize("text", ["1e308", "1E+20 €", "9" * 17, "$99,999,999,999,999,999.00"])
def test_a_number_above_any_price_is_no_price(text: str) -> None:
    """"1e308" (a spreadsheet's exponent, read since this session) or eighteen nines was the dearest product of the
    catalog; it is no price, which the import names, and sorts with the unpriced."""
    assert price_value(text) is None


def test_the_dearest_plausible_prices_are_still_read() -> None:
    assert price_value("1.2999E+3") == 1299.9
    assert price_value("$12,500,000.00") == 12_500_000
    assert price_value(f"{MAX_PRICE:.0f}") == MAX_PRICE
