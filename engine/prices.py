"""A feed's price text as a number, to sort by: the catalog keeps prices as the feed wrote them.

"$1,299.00", "1.299,00 €", "129.00 USD" (Google Merchant), "12,50 €", "1 299 kr", "CHF 1’299.50", "¥12,800" and
"١٬٢٩٩٫٠٠ ر.س" are all prices a feed may hold; SQLite's CAST reads "$129" as 0 and "1,299.00" as 1, so a sort by
price put a sofa among the mugs.
"""

from __future__ import annotations

import re
import unicodedata

# Digits with the separators feeds group and split them with (see SEPARATORS), or cents alone ("$.99", not the
# point of an abbreviation: "ca.1299").
NUMBER = re.compile(r"(?:(?<![\w.,])[.,])?\d[\d.,' ]*")
# A spreadsheet's exponent notation, "1.2999E+3" (1,299.90; read as 1.2999 it sorted among the cheapest), of a
# number written without grouping ("1,2999E+3" where a comma is the decimal point).
EXPONENT = re.compile(r"(\d+(?:[.,]\d+)?)[eE]([+-]?\d{1,3})(?![\w.,])")
# A date in a price column ("2026-12-07", "07/12/2026", "7.12.26"): no price; its first number was read as one
# (2,026, or 7, or "07.12.2026" as 7,122,026); a price that follows one is not looked for.
DATE = re.compile(r"(?<![\d.,])(?:\d{4}([-/.])\d{1,2}\1\d{1,2}|\d{1,2}([-/.])\d{1,2}\2(?:\d{4}|\d{2}))(?![\d.,])")
GROUPING = str.maketrans("", "", "' ")  # thousands separators that are never a decimal point
# Separators NFKC leaves as they are, written as the ones ``NUMBER`` reads (NFKC makes the no-break and thin spaces
# of "1 299,00 €" spaces, and the full-width digits and comma of "１２，８００円" ASCII): the Swiss typographic
# apostrophe of "CHF 1’299.50" and Arabic's own thousands and decimal separators ("١٬٢٩٩٫٠٠"). Each stopped the
# number short: those prices read as 1, and sorted among the cheapest.
SEPARATORS = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u066c": "'", "\u066b": "."})
NOT_A_DIGIT = "\ufffd"  # what stands for a superscript, a fraction or a circled number: it ends a number
# The version of ``price_value``'s recipe: change it with any change of the numbers it reads, and each catalog
# recomputes its stored prices once, as it opens (``Catalog``'s KEY_RECIPE).
RECIPE = 2  # 2: no price above MAX_PRICE
# No price is more: a number above it is a feed's mistake ("1e308", eighteen nines), not the dearest product; past
# 2**53 (9e15) a float does not even hold its units.
MAX_PRICE = 1e15
THOUSANDS_DIGITS = 3  # "1,299" and "1.299" are a thousand and more: a price is not written to three decimals


def price_value(text: str) -> float | None:
    """The first number in ``text`` ("from $99" is 99); ``None`` where there is none ("", "Call us"). Of "."
    and ",", the last one is the decimal point when both occur; one of them alone is a thousands separator when
    it occurs twice or three digits follow it, a decimal point otherwise ("0.125" is an eighth: a thousand is not
    written with a leading zero). ``EXPONENT`` is read, a ``DATE`` is no price, nor a number above ``MAX_PRICE``: past
    what a float holds ("9" × 400 in a feed), as infinity it made the JSON the price sort passed to SQLite invalid
    ("malformed JSON"), and every sort by price of the whole catalog failed."""
    text = unicodedata.normalize("NFKC", _no_other_numbers(text.translate(SEPARATORS)))
    found = NUMBER.search(text)
    if found is None or DATE.match(text, found.start()):
        return None
    if exponent := EXPONENT.match(text, found.start()):
        return _plausible(float(f"{exponent[1].replace(',', '.')}e{exponent[2]}"))
    number = found.group().translate(GROUPING).rstrip(".,")
    points = [i for i, char in enumerate(number) if char in ".,"]
    if points:
        last = points[-1]
        decimal = (len({number[i] for i in points}) == 2
                   or (len(points) == 1
                       and (len(number) - last - 1 != THOUSANDS_DIGITS or not number[:last].strip("0"))))
        whole = number[:last] if decimal else number
        number = whole.replace(".", "").replace(",", "") + ("." + number[last + 1:] if decimal else "")
    return _plausible(float(number))


def _plausible(value: float) -> float | None:
    """``value``, unless it is above ``MAX_PRICE`` (or past what a float holds)."""
    return value if value <= MAX_PRICE else None


def _no_other_numbers(text: str) -> str:
    """``text`` with each number that is no digit of its own (a superscript, a fraction, a circled number) as
    ``NOT_A_DIGIT``: NFKC makes digits of them, and the superscript cents of "$12⁹⁹" read as 1299, the footnote of
    "$1,299¹" as 1.2991 and "12½" as 121."""
    if text.isascii():
        return text
    return "".join(NOT_A_DIGIT if char.isnumeric() and not char.isdecimal() else char for char in text)
