"""Counts in words, as the app and the CLI write them: "1,955 products", "1 tag".

A merchandiser reads "1955" as a year and "1 tags" as a slip: the window's messages and the CLI's human output
group digits and agree in number, so a script's log and the window say the same. JSON and CSV keep plain numbers.
"""

from __future__ import annotations


def counted(number: int, noun: str, plural: str = "") -> str:
    """``number`` with thousands separators and ``noun``, made plural (``plural``, else ``noun + "s"``) unless
    ``number`` is 1."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
