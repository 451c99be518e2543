"""What a typed search finds in a catalog's names and SKUs: any case of the letters typed, in any Unicode form.

SQLite's LIKE folds the case of ASCII letters only: "årstid" did not find "ÅRSTID", "söderhamn" not "SÖDERHAMN",
"istanbul" not "İSTANBUL", "straße" not "STRASSE", and an "é" typed or pasted as e + U+0301 (macOS) not the "é"
the importer stores (NFC). Each spelling of the text is now a LIKE pattern, the fast first look that SQLite runs on
every product, where a letter whose other case is not ASCII is any one character ("_"), then, where there is such
a letter, a GLOB pattern of the exact cases, run on the products the LIKE let through. Accents still count:
"a" and "å" are different letters to a Swede, as "o" and "ö" to a German (and a GLOB class of every accented "a"
made each search of a million products fifteen times slower). Characters that show nothing (``INVISIBLE``: direction
marks, zero-width spaces and joiners, soft hyphens) do not count, in the text or in a name: a name copied from a
right-to-left page holds them, and was not found.
"""

from __future__ import annotations

import re
import unicodedata

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
# Characters that show nothing, which a page's text copied or a feed may hold between any two letters: the
# direction marks, embeddings, overrides and isolates of right-to-left text (U+200E, U+200F, U+202A–U+202E,
# U+2066–U+2069), zero-width space, non-joiner and joiner (U+200B–U+200D), the byte order mark and zero-width no-break
# space (U+FEFF), the soft hyphen (U+00AD). Not ``engine.invisible``'s list, which marks what a SKU must not hide (it
# keeps the joiners Persian and emoji need, and holds 128 tag characters: a replace() each of every name searched).
INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
SHOWN = str.maketrans("", "", INVISIBLE)
# SQL: a name without its ``INVISIBLE`` characters where it may hold one, else NULL (which matches no pattern).
# Only a name with one of their UTF-8 lead bytes (E2 80, E2 81, C2 AD, EF BB) after a non-ASCII character is
# rewritten: the look costs a search of 200,000 names ~13 ms where most are ASCII (a character count that is its
# bytes' stops there), ~30 ms where half are not; the replace() of every name, 0.6 s.
_BYTES = "CAST(name AS BLOB)"
SHOWN_NAME = ("CASE WHEN length(name) < length(" + _BYTES + ") AND (" + " OR ".join(
    f"instr({_BYTES}, x'{lead}')" for lead in ("E280", "E281", "C2AD", "EFBB")) + ") THEN "
    + "name".join(("replace(" * len(INVISIBLE), "".join(f", char({ord(c)}), '')" for c in INVISIBLE)))
    + " END")
SHARP_S = str.maketrans({"ß": "ss", "ẞ": "SS"})  # German: "Straße" is "STRASSE" in capitals; either may be typed
# Letters whose other cases Python's lower() and upper() miss: Turkish dotted and dotless i (İSTANBUL, IŞIK),
# the capital sharp s, Greek final sigma.
OTHER_CASES = {"i": "İ", "I": "İı", "İ": "iI", "ı": "I", "ß": "ẞ", "ẞ": "ß", "σ": "ς", "ς": "σΣ", "Σ": "ς"}


def _cases(char: str) -> str:
    """``char`` and its other cases, one character each: "å" → "åÅ", "i" → "iIİ", "7" → "7"."""
    found = (char, char.lower(), char.upper(), char.upper().lower(), char.lower().upper(), *OTHER_CASES.get(char, ""))
    return "".join(dict.fromkeys(c for c in found if len(c) == 1))  # "ß".upper() is "SS"


def _like_char(char: str) -> str:
    """``char`` in the LIKE pattern: "_" where LIKE, which folds ASCII only, would miss one of its cases."""
    cases = _cases(char)
    if len(cases) > 1 and not cases.isascii():
        return "_"
    return "\\" + char if char in LIKE_SPECIAL else char


def _glob_char(char: str) -> str:
    cases = _cases(char)
    return f"[{cases}]" if len(cases) > 1 or char in GLOB_SPECIAL else char


def spellings(text: str) -> list[str]:
    """``text`` in NFC without its ``INVISIBLE`` characters, and with "ß" and "ss" each written as the other where it holds either: "straße" finds
    "STRASSE" and "grosse" finds "Große"."""
    typed = unicodedata.normalize("NFC", text.translate(SHOWN))
    return list(dict.fromkeys((typed, typed.translate(SHARP_S), typed.replace("SS", "ß").replace("ss", "ß"))))


def patterns(text: str) -> list[tuple[str, str | None]]:
    """(LIKE pattern with ESCAPE '\\', GLOB pattern or ``None`` where the LIKE is exact) for each of ``text``'s
    ``spellings``: a name or SKU holds the text where it matches both of one pair. A "_" or "50%" typed is
    itself, not a wildcard that lists every product."""
    _check(text)
    found = []
    for spelling in spellings(text):
        like = "%" + "".join(_like_char(c) for c in spelling) + "%"
        exact = all(_like_char(c) in (c, "\\" + c) for c in spelling)
        found.append((like, None if exact else "*" + "".join(_glob_char(c) for c in spelling) + "*"))
    return found


def _check(text: str) -> None:
    """A ``DecorLensError`` naming what makes ``text`` no search: too long, or a character no pattern can hold."""
    if len(text) > MAX_TEXT:
        raise DecorLensError(f"the search text is {len(text):,} characters long: a name or SKU is searched for at "
                             f"most {MAX_TEXT:,}")
    if found := UNSEARCHABLE.search(text):
        raise DecorLensError(f"the search text holds U+{ord(found.group()):04X} at character {found.start() + 1}, "
                             "which cannot be searched for: remove it")
