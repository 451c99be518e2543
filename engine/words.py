"""Counts in words, as the app and the CLI write them: "1,955 products", "1 tag".

A merchandiser reads "1955" as a year and "1 tags" as a slip: the window's messages and the CLI's human output
group digits and agree in number, so a script's log and the window say the same. JSON and CSV keep plain numbers.
"""

from __future__ import annotations

from datetime import date

from engine.backups import BEFORE_RESTORE, IMPORT, UPGRADE
from engine.results import MATCH_WORDS

CONFIRMED_WORD = "Confirmed"  # a tag the merchandiser confirmed in the app, as its Where used list says
MATCH_WIDTH = max(len(word) for word in (*MATCH_WORDS.values(), CONFIRMED_WORD))  # a column of them stays aligned


def counted(number: int, noun: str, plural: str = "") -> str:
    """``number`` with thousands separators and ``noun``, made plural (``plural``, else ``noun + "s"``) unless
    ``number`` is 1."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


# the operations ``engine.backups`` backs the catalog up before
BACKUP_REASONS = {"remove": "a removal", "re-embed": "an embedder switch", "bundle-import": "a bundle import",
                  BEFORE_RESTORE: "a restore", UPGRADE: "an upgrade of DecorLens"}


def backup_reason(reason: str) -> str:
    """What a backup was taken before, in words ("a removal"): the CLI listed the file name's slug, which for the
    backup a restore takes read "before before-restore". A reason of no operation we know (a file named by hand)
    reads as it is written. One taken before an import names its feed ("importing week_49.csv")."""
    if reason.startswith(IMPORT) and reason not in BACKUP_REASONS:
        return f"importing {reason.removeprefix(IMPORT)}"
    return BACKUP_REASONS.get(reason, reason.replace("-", " "))


def match_word(kind: str) -> str:
    """How sure a match is, in the words the app and the shoppable page use ("Exact", "Likely the same",
    "Similar"): the CLI printed the raw kind ("likely"), a word no screen shows. JSON and CSV keep the kind."""
    return MATCH_WORDS.get(kind, kind.capitalize())


def rated(word: str, score: float) -> str:
    """"Similar 0.62": how sure a match is and how alike it looks, held together by a no-break space, so that a
    narrow column (the review queue's) never leaves the number on a line of its own."""
    return f"{word}\u00a0{score:.2f}"


UNCOUNTED = ("bedding", "furniture", "outdoor", "kitchenware")  # names with no plural


def named_as_counted(name: str, count: int) -> str:
    """A category's name after a count, as in running text: "chair", "chairs", "shelves", "cushions & throws" (a
    name already plural stays), "TV benches" (an initialism keeps its capitals)."""
    word = name if name[1:2].isupper() else name[:1].lower() + name[1:]
    if count == 1 or word.endswith("s") or " & " in word or word.endswith(UNCOUNTED):
        return word
    if word.endswith("f"):
        return word[:-1] + "ves"
    return word + ("es" if word.endswith(("ch", "sh", "x")) else "s")


# The app's words are English: strftime's %a and %b follow the user's LC_TIME, which Qt applies at start-up, so a
# German desktop read "Mo 2 Mär at 14:05" and "Pasted 7 Dez 19:10:20", half German, half English.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def day_month(day: date) -> str:
    """"7 Dec", whatever the user's locale (see ``MONTHS``)."""
    return f"{day.day} {MONTHS[day.month - 1]}"


def weekday_day_month(day: date) -> str:
    """"Mon 7 Dec", whatever the user's locale."""
    return f"{WEEKDAYS[day.weekday()]} {day_month(day)}"


def cut(text: object, limit: int) -> str:
    """``text`` on one line (its runs of white space as one space) within ``limit`` characters, the rest cut with
    "…": a library's message or a feed's value quoted in a sentence may hold a whole file."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
