"""What a typed search finds in a catalog's names and SKUs: any case of the letters typed, in any Unicode form.

SQLite's LIKE folds the case of ASCII letters only: "årstid" did not find "ÅRSTID", "söderhamn" not "SÖDERHAMN",
"istanbul" not "İSTANBUL", "straße" not "STRASSE", and an "é" typed or pasted as e + U+0301 (macOS) not the "é"
the importer stores (NFC). Each spelling of the text is now a LIKE pattern, the fast first look that SQLite runs on
every product, where a letter whose other case is not ASCII is any one character ("_"), then, where there is such
a letter, a GLOB pattern of the exact cases, run on the products the LIKE let through; an ASCII letter with such a
case ("i": İ) is "_" only for the names that hold that case, looked at by a pattern of their own. Accents still count:
"a" and "å" are different letters to a Swede, as "o" and "ö" to a German (and a GLOB class of every accented "a"
made each search of a million products fifteen times slower). Characters of the text that show nothing (``INVISIBLE``:
direction marks, zero-width spaces and joiners, soft hyphens) do not count: a name copied from a right-to-left page
holds them, and was not found. Nor do they in a stored name: the catalog stores a name that holds one without them
too (``shown_name``, ``products.search_name``, NULL for every other name), and a search matches that as well (a
look for them in every name at each search took 25-40 ms more at 200,000 names).
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from engine.errors import DecorLensError

GLOB_SPECIAL = "*?["  # characters a GLOB pattern reads as wildcards unless in a class of their own
LIKE_SPECIAL = "\\%_"  # characters escaped (ESCAPE '\\') in a LIKE pattern
# Characters of a typed text searched for: a name's or a SKU's part, and far under SQLite's longest LIKE or GLOB
# pattern (50,000 bytes; a letter's GLOB class takes up to 14): a longer one pasted failed as "LIKE or GLOB pattern
# too complex", the catalog blamed.
MAX_TEXT = 1_000
# What a LIKE or GLOB pattern cannot hold: SQLite ends the pattern at a NUL ("a" + NUL listed every name ending in
# "a", NUL alone every product), and UTF-8 has no half of a character (a lone surrogate, pasted or an undecodable
# byte of the command line) to bind.
UNSEARCHABLE = re.compile("[\x00\ud800-\udfff]")
# Characters that show nothing, which a page's text copied may hold between any two letters: the
# direction marks, embeddings, overrides and isolates of right-to-left text (U+200E, U+200F, U+202A–U+202E,
# U+2066–U+2069), zero-width space, non-joiner and joiner (U+200B–U+200D), the byte order mark and zero-width no-break
# space (U+FEFF), the soft hyphen (U+00AD). Not ``engine.invisible``'s list, which marks what a SKU must not hide (it
# keeps the joiners Persian and emoji need).
INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
SHOWN = str.maketrans("", "", INVISIBLE)
# The version of ``shown_name``'s recipe: change it with any change of what it drops (INVISIBLE), and each catalog
# recomputes its stored search names once, as it opens (``Catalog``'s KEY_RECIPE).
RECIPE = 1
SHARP_S = str.maketrans({"ß": "ss", "ẞ": "SS"})  # German: "Straße" is "STRASSE" in capitals; either may be typed
# Letters whose other cases Python's lower() and upper() miss: Turkish dotted and dotless i (İSTANBUL, IŞIK),
# the capital sharp s, Greek final sigma.
OTHER_CASES = {"i": "İ", "I": "İı", "İ": "iI", "ı": "I", "ß": "ẞ", "ẞ": "ß", "σ": "ς", "ς": "σΣ", "Σ": "ς"}


def _cases(char: str) -> str:
    """``char`` and its other cases, one character each: "å" → "åÅ", "i" → "iIİ", "7" → "7"."""
    found = (char, char.lower(), char.upper(), char.upper().lower(), char.lower().upper(), *OTHER_CASES.get(char, ""))
    return "".join(dict.fromkeys(c for c in found if len(c) == 1))  # "ß".upper() is "SS"


def _like_char(char: str, wide: bool) -> str:
    """``char`` in a LIKE pattern: any one character ("_") where LIKE, which folds ASCII only, would miss one of its
    cases. An ASCII letter is that only in the ``wide`` pattern (its other cases İ and ı): in the one for every name,
    the "i" of "in" as "_" let every "bench" through to the GLOB, 40 ms more at 200,000 names."""
    cases = _cases(char)
    if len(cases) > 1 and not cases.isascii() and (wide or not char.isascii()):
        return "_"
    return "\\" + char if char in LIKE_SPECIAL else char


def _glob_char(char: str) -> str:
    cases = _cases(char)
    return f"[{cases}]" if len(cases) > 1 or char in GLOB_SPECIAL else char


def spellings(text: str) -> list[str]:
    """``text`` in NFC without its ``INVISIBLE`` characters, and with "ß" and "ss" each written as the other where it
    holds either: "straße" finds "STRASSE" and "grosse" finds "Große"."""
    typed = unicodedata.normalize("NFC", text.translate(SHOWN))
    return list(dict.fromkeys((typed, typed.translate(SHARP_S), typed.replace("SS", "ß").replace("ss", "ß"))))


def shown_name(name: str) -> str | None:
    """``name`` without its ``INVISIBLE`` characters, which the catalog stores to search in; None (nothing stored, and
    nothing for a search to look at) for a name of none: nearly every name."""
    shown = name.translate(SHOWN)
    return shown if len(shown) < len(name) else None


class Pattern(NamedTuple):
    """One spelling of a typed text as SQL patterns. A name holds it where it matches ``like`` (LIKE with ESCAPE
    '\\') and ``glob`` (GLOB, ``None`` where the LIKE is exact); or, holding one of ``others`` (the cases beyond
    ASCII of its ASCII letters: İ and ı of an "i"), ``wide_like`` and ``wide_glob``. A SKU where it matches
    ``wide_like`` and ``wide_glob``."""

    like: str
    glob: str | None
    wide_like: str
    wide_glob: str | None
    others: str


def patterns(text: str) -> list[Pattern]:
    """The ``Pattern`` of each of ``text``'s ``spellings``. A "_" or "50%" typed is itself, not a wildcard that lists
    every product."""
    _check(text)
    found = []
    for spelling in spellings(text):
        glob = "*" + "".join(_glob_char(c) for c in spelling) + "*"
        (like, exact), (wide_like, wide_exact) = (_like(spelling, wide) for wide in (False, True))
        others = "".join(dict.fromkeys(c for a in spelling if a.isascii() for c in _cases(a) if not c.isascii()))
        found.append(Pattern(like, None if exact else glob, wide_like, None if wide_exact else glob, others))
    return found


def condition(text: str, args: list[str]) -> str:
    """The SQL condition of a product's name (or its stored ``shown_name``, ``search_name``) or SKU holding ``text``,
    its values added to ``args``. A name holding none of a ``Pattern``'s ``others`` (``instr``, 10 ms a letter at
    200,000 names) is not looked at with its wide patterns."""
    terms = []
    for found in patterns(text):  # the terms in the order of their values in ``args``
        terms += _name_terms("name", found, args)
        # NULL for nearly every product: IS NOT NULL, no function call, passes those by (half the cost of its terms)
        terms.append(f"search_name IS NOT NULL AND ({_any(_name_terms('search_name', found, args))})")
        terms.append(_matches("sku", found.wide_like, found.wide_glob, args))
    return _any(terms)


def _name_terms(column: str, found: Pattern, args: list[str]) -> list[str]:
    """The terms of a name ``column`` holding ``found``: its own patterns, or, holding one of its ``others``, the wide
    ones."""
    terms = [_matches(column, found.like, found.glob, args)]
    if found.others:
        holding = " OR ".join(f"instr({column}, ?)" for _ in found.others)
        args += list(found.others)
        terms.append(f"({holding}) AND {_matches(column, found.wide_like, found.wide_glob, args)}")
    return terms


def _any(terms: list[str]) -> str:
    return " OR ".join(f"({term})" for term in terms)


def _matches(column: str, like: str, glob: str | None, args: list[str]) -> str:
    args += [like, glob] if glob else [like]
    return f"{column} LIKE ? ESCAPE '\\'" + (f" AND {column} GLOB ?" if glob else "")


def _like(spelling: str, wide: bool) -> tuple[str, bool]:
    """``spelling``'s LIKE pattern (``_like_char``), and whether it is exact (no letter in it is any character)."""
    chars = [_like_char(c, wide) for c in spelling]
    return "%" + "".join(chars) + "%", "_" not in chars


def _check(text: str) -> None:
    """A ``DecorLensError`` naming what makes ``text`` no search: too long, or a character no pattern can hold."""
    if len(text) > MAX_TEXT:
        raise DecorLensError(f"the search text is {len(text):,} characters long: a name or SKU is searched for at "
                             f"most {MAX_TEXT:,}")
    if found := UNSEARCHABLE.search(text):
        raise DecorLensError(f"the search text holds U+{ord(found.group()):04X} at character {found.start() + 1}, "
                             "which cannot be searched for: remove it")
