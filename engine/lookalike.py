"""SKUs that read alike but are different strings: a feed's "АBC-1" (a Cyrillic А) or "ABC‑1" (U+2011, a hyphen
that does not break) is another product than the catalog's "ABC-1", at a price of its own, and prints the same
everywhere: the catalog list, a page, a printed order. The import says so (``lookalikes``), naming each set.

A narrow rule, after Unicode's TR39 skeletons: compatibility normalization (NFKC: fullwidth ``ＡＢＣ－１``, a
mathematical bold A, a non-breaking space), invisible characters dropped (``engine.invisible``), then the letters of
other scripts drawn as a Latin one (Cyrillic, Greek, Armenian) and the dashes drawn as a hyphen, each mapped to it
(``_DRAWN_AS``: the pairs of Unicode's confusables list that an ASCII SKU can meet). No library in the package
index gives TR39 skeletons (``confusable_homoglyphs`` lists pairs, not prototypes). ASCII characters are never
folded onto one another: "O1" and "01", "I" and "l" are a catalog's own, told apart in its fonts, and real catalogs
hold both; a Cyrillic SKU like another Cyrillic one is folded alike, so it is caught too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from engine.invisible import marked as invisible_marked
from engine.invisible import visible_only

_DRAWN_AS = str.maketrans(
    # dashes drawn as a hyphen-minus (U+2011 is U+2010 once normalized); Cyrillic, Greek, Armenian, dotless i
    "\u2010\u2012\u2013\u2043\u2212\u02d7АВЕКМНОРСТХЅІЈҮԚԜӀаеорсухѕіјԁԛԝһӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧορναՕօսı",
    "------ABEKMHOPCTXSIJYQWIaeopcyxsijdqwhlABEZHIKMNOPTYXopvaOoui",
)


def skeleton(text: str) -> str:
    """``text`` as it reads: two SKUs of one skeleton look the same. ASCII text is its own skeleton."""
    if text.isascii():
        return text
    return visible_only(unicodedata.normalize("NFKC", text)).translate(_DRAWN_AS)


def lookalikes(skus: Iterable[str], others: Iterable[str]) -> list[tuple[str, ...]]:
    """The SKUs that read as one (``skeleton``), each set holding one of ``skus`` or more, read with ``others``; in
    a set, the SKUs of fewest characters that read as others first ("ABC-1" before "АBC-1")."""
    ours = set(skus)
    read_as: dict[str, set[str]] = {}
    for sku in ours.union(others):
        read_as.setdefault(skeleton(sku), set()).add(sku)
    found = [group for group in read_as.values() if len(group) > 1 and group & ours]
    return sorted(tuple(sorted(group, key=lambda sku: (len(marked(sku)), sku))) for group in found)


def marked(sku: str) -> str:
    """``sku`` with each character that reads as another shown as ``⟨U+0410⟩``: the pair reads apart."""
    return "".join(f"⟨U+{ord(ch):04X}⟩" if not ch.isascii() and skeleton(ch) != ch else ch for ch in sku)


def sku_shown(sku: str, alike: bool) -> str:
    """``sku`` as a person reads it, on every screen and page: its invisible characters marked (``⟨U+200B⟩``); where
    it reads as another SKU of the catalog (``alike``: ``engine.importer.read_alike``), its characters drawn alike
    too (``marked``), "АBC-1" as "⟨U+0410⟩BC-1". A catalog of Cyrillic SKUs that read as no other shows them as
    they are."""
    return marked(sku) if alike else invisible_marked(sku)
