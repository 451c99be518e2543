"""The order of the catalog's "Name A–Z": as a file manager lists names, whatever their language.

SQLite's NOCASE folds ASCII letters only, then orders by code point: "Écran", "Äpplarö", "Øresund" and "ışık"
came after "Zebra", "élan" after "zebra". ``name_key`` is the name's letters without their accents and case
("Écran" → "ecran", "Straße" → "strasse", "IŞIK" → "isik"): names sort by it first, then (``Catalog.ORDERS``)
by the name itself, so that names of the same letters ("Ecran", "écran", "Écran") keep one order, and then by
SKU. One order for every language, as Unicode's root collation: a Swede files "Å" after "Z" and a German "Ä"
with "A", and the catalog cannot know which of them reads it.

A run of digits goes by its value, as a file manager has it: "Shelf 2" before "Shelf 10", "80x28" before
"120x28" (compared a digit at a time, "Shelf 10" came first). ``name_key`` writes each run as its length in two
digits and then its digits without leading zeros ("Shelf 10" → "shelf 0210"), so that the keys still compare as
text, and a run still goes before letters as digits did. The catalog stores each product's key as it writes the
name (``products.name_key``, indexed), so a sort reads no name (docs/benchmarks); ``RECIPE`` tells it when stored
keys are of an older ``name_key``.
"""

from __future__ import annotations

import re
import unicodedata

from engine.search_text import SHOWN

# Letters that NFKD does not split into a base letter and a mark, though readers file them with one: Danish and
# Norwegian ø, æ, Latin and French œ, Croatian and Vietnamese đ, Icelandic ð and þ, Polish ł, Maltese ħ, Sami ŧ,
# and Turkish dotless ı (its capital I is ASCII; the dotted İ is an i and a dot, which NFKD splits).
BASE_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ħ": "h",
                              "ŧ": "t", "ı": "i"})
# Accents and other marks that NFKD splits from their letters: the blocks of combining diacritical marks (Latin,
# Greek, Cyrillic: "é" is "e" and U+0301), and Japanese kana's voicing marks ("ガ" is "カ" and U+3099).
MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u3099\u309a]+")
# The version of ``name_key``'s recipe (2: runs of digits by value, 11ba664; 3: characters that show nothing
# dropped): change it with any change of the keys it gives (a letter added to BASE_LETTERS), and each catalog
# recomputes its stored keys once, as it opens (``Catalog``'s KEY_RECIPE).
RECIPE = 3
DIGITS = re.compile("[0-9]+")  # after NFKD: full-width and superscript digits are these too
LENGTHS = [f"{length:02d}" for length in range(100)]  # ``_number``'s prefixes


def name_key(name: str) -> str:
    """What "Name A–Z" sorts ``name`` by first: its letters lower case (``str.casefold``: "ß" is "ss"), without
    accents (NFKD, its ``MARKS`` dropped; "ﬁ" is "fi"), those of ``BASE_LETTERS`` as their base letters, its runs
    of digits by value (``_number``), without the characters that show nothing (``search_text.SHOWN``: a soft
    hyphen or direction mark in a feed's "BILLY" put it after "BILZ", or after every name)."""
    key = name.casefold()
    if not key.isascii():
        key = MARKS.sub("", unicodedata.normalize("NFKD", key.translate(SHOWN)))
        if not key.isascii():  # 1 µs a name otherwise
            key = key.translate(BASE_LETTERS)
    return DIGITS.sub(_number, key)


def _number(digits: re.Match[str]) -> str:
    """A run of digits as text that sorts by its value: its length in two digits, then the digits without leading
    zeros ("007" and "7" are "017": the same key, so those names then go by the name itself). Runs past 99 digits,
    no price's or size's, go with those of 99. Half the time of a formatted length: a key a name that holds a digit,
    0.1 s more to key 200,000 names."""
    value = digits[0]
    if value[0] == "0":
        value = value.lstrip("0") or "0"
    return LENGTHS[min(len(value), 99)] + value
