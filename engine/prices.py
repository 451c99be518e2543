"""A feed's price text as a number, to sort by: the catalog keeps prices as the feed wrote them.

"$1,299.00", "1.299,00 €", "129.00 USD" (Google Merchant), "12,50 €", "1 299 kr", "CHF 1’299.50", "¥12,800" and
"١٬٢٩٩٫٠٠ ر.س" are all prices a feed may hold; SQLite's CAST reads "$129" as 0 and "1,299.00" as 1, so a sort by
price put a sofa among the mugs.
"""

from __future__ import annotations

import math
import re
import unicodedata

# Digits with the separators feeds group and split them with (see SEPARATORS), or cents alone ("$.99", not the
# point of an abbreviation: "ca.1299").
NUMBER = re.compile(r"(?:(?<![\w.,])[.,])?\d[\d.,' ]*")
GROUPING = str.maketrans("", "", "' ")  # thousands separators that are never a decimal point
# Separators NFKC leaves as they are, written as the ones ``NUMBER`` reads (NFKC makes the no-break and thin spaces
# of "1 299,00 €" spaces, and the full-width digits and comma of "１２，８００円" ASCII): the Swiss typographic
# apostrophe of "CHF 1’299.50" and Arabic's own thousands and decimal separators ("١٬٢٩٩٫٠٠"). Each stopped the
# number short: those prices read as 1, and sorted among the cheapest.
SEPARATORS = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u066c": "'", "\u066b": "."})
NOT_A_DIGIT = "\ufffd"  # what stands for a superscript, a fraction or a circled number: it ends a number
THOUSANDS_DIGITS = 3  # "1,299" and "1.299" are a thousand and more: a price is not written to three decimals


def price_value(text: str) -> float | None:
    """The first number in ``text`` ("from $99" is 99); ``None`` where there is none ("", "Call us"). Of "."
    and ",", the last one is the decimal point when both occur; one of them alone is a thousands separator when
    it occurs twice or three digits follow it, a decimal point otherwise. A number past what a float holds ("9" × 400
    in a feed) is none either: as infinity it made the JSON the price sort passes to SQLite invalid ("malformed
    JSON"), and every sort by price of the whole catalog failed."""
    found = NUMBER.search(unicodedata.normalize("NFKC", _no_other_numbers(text.translate(SEPARATORS))))
    if found is None:
        return None
    number = found.group().translate(GROUPING).rstrip(".,")
    points = [i for i, char in enumerate(number) if char in ".,"]
    if points:
        last = points[-1]
        decimal = (len({number[i] for i in points}) == 2
                   or (len(points) == 1 and (len(number) - last - 1 != THOUSANDS_DIGITS or last == 0)))
        whole = number[:last] if decimal else number
        number = whole.replace(".", "").replace(",", "") + ("." + number[last + 1:] if decimal else "")
    value = float(number)
    return value if math.isfinite(value) else None


def _no_other_numbers(text: str) -> str:
    """``text`` with each number that is no digit of its own (a superscript, a fraction, a circled number) as
    ``NOT_A_DIGIT``: NFKC makes digits of them, and the superscript cents of "$12⁹⁹" read as 1299, the footnote of
    "$1,299¹" as 1.2991 and "12½" as 121."""
    if text.isascii():
        return text
    return "".join(NOT_A_DIGIT if char.isnumeric() and not char.isdecimal() else char for char in text)
