"""The Train window's before / after: the numbers side by side, and example crops with their old and new match.

Filled from the ``before_after`` part of a run's result (``training.before_after``): top-1 / top-5,
tag precision and coverage, before and after, on photos training never used; then a row per example
crop: the crop, what the old model matched first, what the new one matches first, the right product.
The thumbnails are small files the training process wrote; they are decoded in a worker thread
(``load_thumbnails``) and only turned into pixmaps here, so showing them never holds the UI.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from app.labels import plain_label, pretty, shown_sku
from app.thumbnails import fit
from engine.catalog import has_name
from engine.lookalike import lookalikes

ROWS = (  # (label, key in each side, how a value reads)
    ("Right product first (top-1)", "top1"),
    ("Right product in the top 5", "top5"),
    ("Tags on a product of the photo (tag precision)", "tag_precision"),
    ("Products of the photos that got a tag (coverage)", "coverage"),
)
COLUMNS = (  # the examples' headings, short for columns a picture wide ("Before: first match" took three lines at 200 %)
    ("On the photo", "The object as the photo shows it"),
    ("Before", "What the models in use match first"),
    ("After", "What the new models match first"),
    ("Right product", "The product the object is"),
)
# Each side's heading and, on hover, what it is, as the verdict says it (no "fine-tuned"): "Before (the models in use)"
# in the headings over two columns of percentages wrapped to four lines at 200 %; one word each fits on one line
SIDES = (("Before", "Before: the models in use"), ("After", "After: the new models, used once you choose Use this model"))
THUMB = 64  # four rows of examples and the numbers fit beside the progress on a 1000 px screen


def load_thumbnails(before_after: dict[str, Any]) -> dict[str, QImage]:
    """Every example thumbnail decoded (worker thread: QImage, unlike QPixmap, may be made off the UI thread)."""
    paths = {p for e in before_after.get("examples", [])
             for p in (e["crop"], e["right"]["thumb"], e["before"]["thumb"], e["after"]["thumb"]) if p}
    return {p: QImage(p) for p in paths}


class BeforeAfterView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        numbers = QGridLayout()
        self.sides = [_wrapped(f"<b>{text}</b>", tip) for text, tip in SIDES]
        for column, label in enumerate(self.sides, 1):
            numbers.addWidget(label, 0, column)
        self.cells: dict[str, tuple[QLabel, QLabel]] = {}
        self.names: list[QLabel] = []
        for row, (text, key) in enumerate(ROWS, 1):
            numbers.addWidget(_RowName(text, self.names), row, 0)
            self.cells[key] = (QLabel(), QLabel())
            for column, cell in enumerate(self.cells[key], 1):
                numbers.addWidget(cell, row, column)
        self.note = plain_label()
        self.note.setWordWrap(True)
        self.examples = QGridLayout()
        self._shown: tuple[list[dict[str, Any]], dict[str, QImage], frozenset[str]] = ([], {}, frozenset())
        layout.addLayout(numbers)
        layout.addWidget(self.note)
        layout.addLayout(self.examples)

    def show_numbers(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Each number named for a screen reader by its row and side ("Right product in the top 5, after: 80%"): read
        one by one, a bare "62%" said nothing of what it measured, and "–" was read as "en dash"."""
        for (text, key), (old, new) in zip(ROWS, self.cells.values(), strict=True):
            for cell, side, value in ((old, "before", before.get(key)), (new, "after", after.get(key))):
                cell.setText(_pct(value))
                cell.setAccessibleName(f"{text}, {side}: {'not measured' if value is None else _pct(value)}")

    def show_examples(self, examples: list[dict[str, Any]], images: dict[str, QImage],
                      catalog_alike: Iterable[str] = ()) -> None:
        """One row per example: crop, old first match, new first match, the right product (✓ / ✗ on each match).
        ``catalog_alike``: the examples' SKUs that read as another of the catalog's (``Pipeline.alike_among``, asked
        off the UI thread), marked as the search marks them, besides those that read as another example's.

        The pictures are made for this view's screen (``THUMB`` times its pixel ratio), so sharp at 200 % too."""
        self._shown = (examples, images, frozenset(catalog_alike))
        _clear(self.examples)
        if not examples:
            return
        alike = examples_alike(examples) | self._shown[2]
        for column, (text, tip) in enumerate(COLUMNS):
            self.examples.addWidget(_wrapped(f"<b>{text}</b>", tip), 0, column)
        for row, example in enumerate(examples, 1):
            cells = [
                (example["crop"], pretty(example["category"]), pretty(example["category"])),
                (example["before"]["thumb"], _verdict(example["before"], alike), _said(example["before"], alike)),
                (example["after"]["thumb"], _verdict(example["after"], alike), _said(example["after"], alike)),
                (example["right"]["thumb"], _named(example["right"], alike),
                 _named(example["right"], alike).replace("\n", ", ")),
            ]
            for column, (path, caption, said) in enumerate(cells):
                tile = _tile(images.get(path), caption, self.devicePixelRatioF(), f"{COLUMNS[column][0]}: {said}")
                self.examples.addWidget(tile, row, column)

    def event(self, event: QEvent) -> bool:
        """Moved to a screen of another scale: the examples are made again for it."""
        if event.type() == QEvent.Type.DevicePixelRatioChange and self._shown[0]:
            self.show_examples(*self._shown)
        return super().event(event)


def _wrapped(text: str, tip: str = "") -> QLabel:
    """A heading, wrapped at its column's width (``tip`` on hover): on one line each, the numbers and the examples'
    headings made the panel 654 px wide, past what a 1280 × 800 screen at 150 % leaves beside the progress."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setToolTip(tip)
    return label


class _RowName(QLabel):
    """A row's name as tall as the tallest of its ``peers`` at the column's width, wrapped or not: two names on one
    line and two wrapped on two made rows of two heights, the percentages centred in each, so at 100 % the numbers
    did not line up down the columns. Every row is as tall now, its name and numbers centred on one line."""

    def __init__(self, text: str, peers: list[QLabel]):
        super().__init__(text)
        self.setWordWrap(True)
        self._peers = peers
        peers.append(self)

    def heightForWidth(self, width: int) -> int:
        return max(QLabel.heightForWidth(peer, width) for peer in self._peers)


def _tile(image: QImage | None, caption: str, dpr: float, said: str) -> QWidget:
    """A picture over its caption; ``said``: the caption as a screen reader says it, with its column's heading."""
    tile = QWidget()
    layout = QVBoxLayout(tile)
    layout.setContentsMargins(2, 2, 2, 2)
    picture = QLabel()
    picture.setFixedSize(THUMB, THUMB)
    picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
    if image is not None and not image.isNull():
        picture.setPixmap(fit(QPixmap.fromImage(image), QSize(THUMB, THUMB), dpr))
    layout.addWidget(picture)
    label = plain_label(caption)
    label.setAccessibleName(said)
    label.setWordWrap(True)  # a long product name: the row wraps, the panel gets no wider
    layout.addWidget(label)
    layout.addStretch()  # a one-line caption ("Chair", "no match") under its picture, level with a two-line one's start
    return tile


def example_skus(examples: list[dict[str, Any]]) -> set[str]:
    """Every SKU the examples name: their matches' and their right products'."""
    return {m["sku"] for e in examples for m in (e["before"], e["after"], e["right"]) if m["sku"]}


def examples_alike(examples: list[dict[str, Any]]) -> set[str]:
    """The examples' SKUs that read as another of theirs (``engine.lookalike.lookalikes``): a wrong match "ХCHAIR-1"
    (a Cyrillic Х) beside the right product "XCHAIR-1" read "✗ XCHAIR-1", the right one judged wrong. A dozen SKUs,
    on the window's thread; a match gone from the catalog since the run is among them (``catalog_alike`` is not)."""
    return {sku for group in lookalikes(example_skus(examples), ()) for sku in group}


def _verdict(match: dict[str, Any], alike: set[str]) -> str:
    """'✓ SÖDERHAMN' over its SKU, the mark held to the name by a no-break space: with a plain space a name as wide as
    its column wrapped after the mark, which stood alone on its line above the name it judged."""
    if not match["sku"]:
        return "no match"
    return f"{'✓' if match['right'] else '✗'}\N{NO-BREAK SPACE}{_named(match, alike)}"


def _said(match: dict[str, Any], alike: set[str]) -> str:
    """A verdict as a screen reader says it, "wrong, STRANDMON, 503.056.16": the caption's "✗" was read "multiplication
    x" (or "ballot x"), its "✓" "check mark", if at all."""
    if not match["sku"]:
        return "no match"
    return f"{'right' if match['right'] else 'wrong'}, {_named(match, alike).replace(chr(10), ', ')}"


def _named(product: dict[str, Any], alike: set[str]) -> str:
    """'STRANDMON' over '503.056.16': the name a merchandiser knows the product by, which training writes beside
    the SKU (a bare '✗ 002.116.00' said nothing of what the old model had chosen); the SKU alone without one. The
    SKU as every screen shows it (``shown_sku``): invisible characters marked, and those drawn alike in ``alike``."""
    sku, name = product["sku"] or "", product.get("name") or ""
    shown = shown_sku(sku, sku in alike)
    return f"{name.strip()}\n{shown}" if has_name(name, sku) else shown


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _clear(grid: QGridLayout) -> None:
    while grid.count():
        widget = grid.takeAt(0).widget()
        if widget is not None:
            widget.deleteLater()
