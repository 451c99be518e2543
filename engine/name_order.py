"""The order of the catalog's "Name A–Z": as a file manager lists names, whatever their language.

SQLite's NOCASE folds ASCII letters only, then orders by code point: "Écran", "Äpplarö", "Øresund" and "ışık"
came after "Zebra", "élan" after "zebra". ``name_key`` is the name's letters without their accents and case
("Écran" → "ecran", "Straße" → "strasse", "IŞIK" → "isik"): names sort by it first, then (``Catalog.ORDERS``)
by the name itself, so that names of the same letters ("Ecran", "écran", "Écran") keep one order, and then by
SKU. One order for every language, as Unicode's root collation: a Swede files "Å" after "Z" and a German "Ä"
with "A", and the catalog cannot know which of them reads it.

Names of printable ASCII only are keyed by SQLite's lower(), the same as ``name_key`` there, in the sort itself:
``Catalog`` reads ``name_key`` of the others only (``NEEDS_KEY``), with Python, once per connection. Digits
go one by one, as before ("120x28" before "80x28"): an order by a number's value would put every name that holds
a digit through Python too (all of the bench's "SÖDERHAMN sofa 17" and "bench 17", where now about half), and a
first sort takes about a second longer for each 200,000 names read (docs/benchmarks).
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
NEEDS_KEY = "name GLOB '*[^ -~]*'"  # SQL: the names not of printable ASCII only (their key is not their lower())


def name_key(name: str) -> str:
    """What "Name A–Z" sorts ``name`` by first: its letters lower case (``str.casefold``: "ß" is "ss"), without
    accents (NFKD, its ``MARKS`` dropped; "ﬁ" is "fi"), those of ``BASE_LETTERS`` as their base letters."""
    key = name.casefold()
    if not key.isascii():
        key = MARKS.sub("", unicodedata.normalize("NFKD", key))
        if not key.isascii():  # 1 µs a name otherwise
            key = key.translate(BASE_LETTERS)
    return key
