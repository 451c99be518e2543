"""Characters that show as nothing and have no use in a product's text, one list for every screen and the CLI.

A feed's "ABC-1" + U+200B is another SKU than the catalog's "ABC-1", yet reads the same: zero width space, word
joiner and invisible operators, byte order mark, Mongolian vowel separator, Hangul fillers, interlinear annotation
marks and tag characters. (Zero width joiner and non-joiner, which Persian, Indic scripts and emoji need, and the
soft hyphen are left out.) The CLI escapes them as ``\\u200b`` (``decorlens.terminal.UNSAFE``); the app marks them
``⟨U+200B⟩`` (``marked``). Pure Python: the engine, the app and the CLI may all import it.
"""

from __future__ import annotations

import re

# A regular expression's character class body (no brackets), so the CLI can join it to its controls.
INVISIBLE = "\u115f\u1160\u180e\u200b\u2060-\u2064\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f"
_INVISIBLE = re.compile(f"[{INVISIBLE}]")


def marked(text: str) -> str:
    """``text`` with each invisible character shown as ``⟨U+200B⟩``: two SKUs that differ by one read apart."""
    return _INVISIBLE.sub(lambda found: f"⟨U+{ord(found.group()):04X}⟩", text)


def visible_only(text: str) -> str:
    """``text`` without its invisible characters: what it reads as (``engine.lookalike.skeleton``)."""
    return _INVISIBLE.sub("", text)
