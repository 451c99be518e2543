"""The words people read for catalog data (category names, product titles, match badges), and the plain
label that shows catalog text safely.

Catalog text (names, SKUs, categories, prices, URLs) comes from feeds and bundles, which are untrusted:
it is shown as plain text (``plain_label``) or escaped (``html.escape``) where a label needs rich text for
layout, so a product named ``<img src="file:///…">`` shows those characters and loads nothing.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from app import theme
from engine.catalog import has_name
from engine.categories import CategoryMap, display_name
from engine.lookalike import sku_shown
from engine.models import ResolvedModel
from engine.models import model_label as engine_model_label
from engine.results import Match
from engine.shoppable_assets import HIDDEN
from engine.words import match_word

EXACT = theme.GREEN
LIKELY = "#2f4474"  # the shoppable page's "Likely the same" blue: white on it 9.5:1; it was Similar's grey here
SIMILAR = "#6b7280"
# Characters of one catalog text a screen shows: a catalog edited by hand (or written by an older DecorLens) can
# hold a 200,000-character name, which made the Where used heading wider than the window.
MAX_SHOWN = 200
RIGHT_TO_LEFT = ("R", "AL")  # the bidi classes of Hebrew and Arabic letters
_HIDDEN = dict.fromkeys(HIDDEN)


# The names of the active category map (the user's categories.yaml, else the shipped one); set by the main
# window whenever its pipeline changes, so every label in the app follows one map.
_category_names: dict[str, str] = dict(CategoryMap.load().names)


def use_category_names(names: Mapping[str, str]) -> None:
    """Make ``pretty`` follow this category map's names (the window calls it for each new pipeline)."""
    _category_names.clear()
    _category_names.update(names)


def pretty(category: str) -> str:
    """A category as people read it: "box_basket" → "Boxes & baskets", "garden_sofa" → "Garden sofa"; ``shown``, as a
    stored photo's category may hold a U+202E that turned the "Confirmed 0.52" after it into "25.0 demrifnoC"."""
    return shown(display_name(category, _category_names)) if category else "Unknown"


def by_name(categories: Iterable[str]) -> list[str]:
    """Categories in the order people read them, by the name shown, case aside: sorted by their keys, "Children's
    toys" (``toy_kids``) came after "Taps & sinks", where neither the eye nor a typed C found it."""
    return sorted(categories, key=lambda category: pretty(category).casefold())


def shown(text: str) -> str:
    """Stored catalog text as one line a screen can hold: without control characters and bidi overrides (a U+202E
    in a name showed the price after it reversed, an ESC a box), line breaks as spaces, at most ``MAX_SHOWN``
    characters. The catalog keeps whatever an older version or a hand edit wrote; every screen reads it here."""
    line = " ".join(text.translate(_HIDDEN).split())
    return line if len(line) <= MAX_SHOWN else line[: MAX_SHOWN - 1] + "…"


def isolated(text: str) -> str:
    """``text`` (``shown`` already) set apart for the bidi algorithm (U+2068 … U+2069) where it holds a
    right-to-left letter: a Hebrew or Arabic name after "1. " made the whole label right-to-left, right-aligned
    with the rank at its right end ("גדולה .1"). Other text stays as it is, for what reads or copies a label."""
    if not any(unicodedata.bidirectional(char) in RIGHT_TO_LEFT for char in text):
        return text
    return f"\u2068{text}\u2069"


def own_direction(text: str) -> Qt.LayoutDirection:
    """The direction ``text`` reads in by its first letter of one (the bidi algorithm's rule for a paragraph):
    right to left for a Hebrew or Arabic name, even one with a Latin word in it, left to right otherwise."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in RIGHT_TO_LEFT:
            return Qt.LayoutDirection.RightToLeft
        if kind == "L":
            break
    return Qt.LayoutDirection.LeftToRight


def product_title(name: str, sku: str, category: str) -> str:
    """The feed's product name, else the category ("Armchair"): never the SKU, which the detail shows."""
    return shown(name) if has_name(name, sku) else pretty(category)


def product_detail(name: str, sku: str, category: str, price: str = "", alike: bool = False) -> str:
    """The line under the title: SKU (``shown_sku``), the category when the title is a real name, and the price."""
    parts = [shown_sku(sku, alike), shown(pretty(category)) if has_name(name, sku) else "", shown(price)]
    return " · ".join(p for p in parts if p)


def shown_sku(sku: str, alike: bool = False) -> str:
    """A SKU as a screen shows it: ``shown``, its invisible characters marked ``⟨U+200B⟩`` (``engine.invisible``),
    so a feed's "ABC-1" + U+200B reads apart from the catalog's "ABC-1" in the catalog, the cards and the matches.
    One that reads as another SKU of the catalog (``alike``: ``engine.importer.read_alike``) has its characters
    drawn alike marked too: a Cyrillic "АBC-1" shows "⟨U+0410⟩BC-1" (``engine.lookalike.sku_shown``, as the shoppable
    page marks it); a match knows it (``Match.alike``)."""
    return shown(sku_shown(sku, alike))


def model_label(model: ResolvedModel) -> str:
    """``engine.models.model_label`` as one line a screen can hold (``shown``): the app's models read as
    `models list` and the HTML map page name them. The card name and file go in a tooltip
    (``engine.models.model_names``)."""
    return shown(engine_model_label(model))


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A label that never interprets its text as HTML: for anything that comes from the catalog."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    return label


def plain_question(parent: QWidget, title: str, text: str, accept: str, replaces: bool = True) -> bool:
    """Ask ``text`` (plain text: it quotes file names and catalog text) with ``accept`` and Cancel; whether ``accept``
    was chosen. Cancel is the default where ``accept`` ``replaces`` something (a replacement of the catalog is never
    one Enter away), ``accept`` where nothing is lost by it (an import into an empty catalog)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    yes = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel if replaces else yes)
    box.exec()
    return box.clickedButton() is yes


def rich_tooltip(text: str) -> str:
    """Catalog text as a tooltip: Qt guesses tooltips' format, so escape it and say it is rich text."""
    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"


GONE = "No longer in the catalog"  # a product removed since the search: shown as such, never offered

BADGE_TIP = ("How sure DecorLens is that this is the very product: Exact, Likely the same, or Similar (alike, "
             "maybe another product). The number is how alike the object and the product's photo look, up to 1.")


def badge_html(match: Match) -> str:
    """ "Exact 0.86" in green, "Likely the same 0.74" in blue or "Similar 0.54" in grey, as the shoppable page
    colours them: the words a merchandiser acts on."""
    colour = {"exact": EXACT, "likely": LIKELY}.get(match.match, SIMILAR)
    word = match_word(match.match)
    return (
        f'<span style="color:white;background:{colour};">&nbsp;{html.escape(word)}&nbsp;</span>'
        f'&nbsp;<span style="color:{theme.colours().muted};">{match.score:.2f}</span>'  # readable on dark too
    )


def evidence_html(inliers: int) -> str:
    """What a check by local features found for a product: the points its photo shares with the object."""
    return f'<span style="color:{theme.colours().success};">✔ Same details: {inliers} points match</span>'


def dot_html(colour: str) -> str:
    return f'<span style="color:{colour};font-size:15px;">●</span>'
