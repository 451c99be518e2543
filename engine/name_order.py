"""The order of the catalog's "Name A–Z": as a file manager lists names, whatever their language.

SQLite's NOCASE folds ASCII letters only, then orders by code point: "Écran", "Äpplarö", "Øresund" and "ışık"
came after "Zebra", "élan" after "zebra". ``name_key`` is the name's letters without their accents and case
("Écran" → "ecran", "Straße" → "strasse", "IŞIK" → "isik"): names sort by it first, then (``Catalog.ORDERS``)
by the name itself, so that names of the same letters ("Ecran", "écran", "Écran") keep one order, and then by
SKU. One order for every language, as Unicode's root collation: a Swede files "Å" after "Z" and a German "Ä"
with "A", and the catalog cannot know which of them reads it.

Numbers go by their value ("80x200" before "140x200", "3 drawers" before "10 drawers"), as file managers list
them: each run of digits is keyed by its length first. A decimal is two numbers ("1.10" after "1.9"), as there.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not split into a base letter and a mark, though readers file them with one: Danish and
# Norwegian ø, æ, Latin and French œ, Croatian and Vietnamese đ, Icelandic ð and þ, Polish ł, Maltese ħ, Sami ŧ,
# and Turkish dotless ı (its capital I is ASCII; the dotted İ is an i and a dot, which NFKD splits).
BASE_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ħ": "h",
                              "ŧ": "t", "ı": "i"})
# Accents and other marks that NFKD splits from their letters: the blocks of combining diacritical marks (Latin,
# Greek, Cyrillic: "é" is "e" and U+0301), and Japanese kana's voicing marks ("ガ" is "カ" and U+3099).
MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u3099\u309a]+")
DIGITS = re.compile(r"[0-9]+")
LENGTHS = [f"{length:02d}" for length in range(100)]  # a number's length in its key: up to 99 digits go by value


def name_key(name: str) -> str:
    """What "Name A–Z" sorts ``name`` by first: its letters lower case (``str.casefold``: "ß" is "ss"), without
    accents (NFKD, its ``MARKS`` dropped; "ﬁ" is "fi"), those of ``BASE_LETTERS`` as their
    base letters, and each number as its length and its digits without leading zeros ("007" → "017")."""
    key = name.casefold()
    if not key.isascii():
        key = MARKS.sub("", unicodedata.normalize("NFKD", key))
        if not key.isascii():  # 1 µs a name otherwise
            key = key.translate(BASE_LETTERS)
    return DIGITS.sub(_number_key, key)


def _number_key(match: re.Match[str]) -> str:
    digits = match.group().lstrip("0") or "0"
    return LENGTHS[min(len(digits), len(LENGTHS) - 1)] + digits
