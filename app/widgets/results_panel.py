"""The side panel of one tag: its top matches, and the corrections a merchandiser can make to it.

"Same category" lists products of the categories searched for the tag's category (a sofa searches
sofas and armchairs); "Any category" searches the whole catalog, for things that go with it.
*Why this match?* shows, for the selected match (the first, or the one clicked), where the tag's crop
and the product photo agree: heat over the crop, and over the product's picture in its row.
*Check details* compares the tag's fine details (a pattern, a print, a handle) with the photos of its top
products (engine.rerank): those that share them move first, marked. It takes up to a second, so it runs
only when asked.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.corrections import USER, Tag
from app.labels import (
    BADGE_TIP,
    badge_html,
    dot_html,
    evidence_html,
    plain_label,
    pretty,
    product_detail,
    product_title,
    rich_tooltip,
)
from app.thumbnails import Thumbnails
from app.widgets.thumb import Thumb
from app.widgets.why_match import WhyMatch, pixmap_of
from engine.links import safe_link
from engine.rerank import Checked
from engine.results import Match

EMPTY = (
    "Click a tag on the photo to see the matching products.\n\nDrag a box around anything the tags missed."
)
STEP_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home,
             Qt.Key.Key_End}
MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
             | Qt.KeyboardModifier.MetaModifier)


class CategoryBox(QComboBox):
    """The tag's category. Choosing one re-searches the tag and saves a correction with an undo step, so only
    a deliberate choice does: an item picked from the open list (click, or Enter on it).

    A closed QComboBox steps to the next item on an arrow key, Page Up/Down, Home/End, a typed letter and
    the mouse wheel, and says each step was chosen (``activated``): one Down turned a plant into a rug and
    saved it, three Downs made three corrections. Here those keys open the list at the current category (a
    letter at the first category starting with it) and the wheel over the closed box is left to the panel.
    """

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        typed = bool(text) and text.isprintable() and not text.isspace() and not event.modifiers() & MODIFIERS
        if event.key() in STEP_KEYS or typed:
            self.showPopup()
            if typed:
                self.view().keyboardSearch(text)
            event.accept()
        else:
            super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        event.ignore()




class MatchRow(QFrame):
    """One product: picture, name, sku and category, price and link if known, score, a confirm button.

    Every catalog value is plain text; the product page is a link only when ``safe_link`` allows it.
    """

    confirmClicked = Signal(object)  # Match
    chosen = Signal(object)  # Match: the row was clicked (the match Why this match? explains)

    def __init__(self, rank: int, match: Match, confirmed: bool, thumbnails: Thumbnails, same_points: int = 0):
        """``same_points``: the points a check by local features found it shares with the tag (0: none or
        not checked)."""
        super().__init__()
        self.match = match
        self.setObjectName("matchRow")
        self.setProperty("confirmed", confirmed)  # the theme draws a green border
        self.thumb = thumb = Thumb(thumbnails, 84)
        thumb.show_path(match.image_path)
        text = QVBoxLayout()
        text.setSpacing(1)
        title = product_title(match.name, match.sku, match.category)
        self.name = plain_label(f"{rank}. {title}")
        self.name.setObjectName("title")
        self.name.setToolTip(rich_tooltip(title))
        self.detail = plain_label(product_detail(match.name, match.sku, match.category, match.price))
        self.detail.setObjectName("detail")
        for label in (self.name, self.detail):
            # Wrapped to the panel's width: a label's minimum is its longest word, and one long name or SKU
            # made every row wider than the panel, cutting prices off behind a sideways scroll bar.
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            text.addWidget(label)
        self.link = self._link(match.url)
        if self.link is not None:
            text.addWidget(self.link)
        self.badge = QLabel(badge_html(match))
        self.badge.setToolTip(BADGE_TIP)  # the word and the bare number, explained
        text.addWidget(self.badge)
        if same_points:
            self.evidence = QLabel(evidence_html(same_points))
            self.evidence.setToolTip("Its photo and the object share these details under one view: "
                                     "9 in 10 such products were the right one in our tests")
            text.addWidget(self.evidence)
        self.confirm = QPushButton("✓ Confirmed" if confirmed else "Confirm match")  # a tick: done, not asked
        self.confirm.setObjectName("confirm")
        self.confirm.setFlat(not confirmed)
        self.confirm.setCheckable(True)
        self.confirm.setChecked(confirmed)
        self.confirm.setToolTip("Mark this product as the right one for the tag (saved as training data)")
        self.confirm.clicked.connect(lambda: self.confirmClicked.emit(match))
        text.addWidget(self.confirm, alignment=Qt.AlignmentFlag.AlignLeft)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(thumb, alignment=Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.chosen.emit(self.match)
        super().mousePressEvent(event)

    def show_heat(self, product: np.ndarray | None) -> None:
        """The product's picture with the heat of Why this match? over it; None: the plain picture again."""
        if product is None:
            self.thumb.show_path(self.match.image_path)
            return
        self.thumb.show_path("")  # a thumbnail decoded later must not paint over the heat
        side = self.thumb.side - 4
        self.thumb.setPixmap(pixmap_of(product).scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        ))

    @staticmethod
    def _link(url: str) -> QLabel | None:
        """ "Product page ↗" for an http(s) URL (the URL in its tooltip); nothing for any other URL."""
        link = safe_link(url)
        if link is None:
            return None
        label = QLabel(f'<a href="{html.escape(link, quote=True)}">Product page ↗</a>')
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setToolTip(rich_tooltip(link))
        label.linkActivated.connect(open_link)
        return label


def open_link(url: str) -> None:
    """Hand a product link to the browser, checked again: only ``safe_link`` URLs ever reach the OS."""
    link = safe_link(url)
    if link is not None:
        QDesktopServices.openUrl(QUrl(link))


class ResultsPanel(QWidget):
    confirmRequested = Signal(int, object)  # tag number, Match
    categoryRequested = Signal(int, str)
    removeRequested = Signal(int)
    scopeChanged = Signal(int, bool)
    explainRequested = Signal(int, object)  # tag number, Match: compute Why this match? (show_explanation)
    checkRequested = Signal(int, bool)  # tag number, any category: check the matches' details (show_checked)

    def __init__(self, thumbnails: Thumbnails, parent: QWidget | None = None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.tag: Tag | None = None
        self.rows: list[MatchRow] = []
        self.title = QLabel()
        self.title.setObjectName("heading")
        self.subtitle = plain_label()
        self.subtitle.setObjectName("muted")
        self.subtitle.setWordWrap(True)
        self.category = CategoryBox()
        self.category.setToolTip("Change the tag's category: its matches are searched again")
        self.category.activated.connect(self._category_chosen)  # only from the open list (CategoryBox)
        self.remove = QPushButton("Remove tag")
        self.remove.setToolTip("Not a product, or a duplicate (Delete)")
        self.remove.clicked.connect(lambda: self.tag and self.removeRequested.emit(self.tag.number))
        self.same = QRadioButton("Same category")
        self.any = QRadioButton("Any category")
        self.any.setToolTip("Search the whole catalog: e.g. tables that go with this chair")
        self.scope = QButtonGroup(self)
        self.scope.addButton(self.same)
        self.scope.addButton(self.any)
        self.same.setChecked(True)
        self.scope.buttonClicked.connect(self._scope_clicked)
        self.searched = plain_label()
        self.searched.setObjectName("muted")
        self.searched.setWordWrap(True)
        self._searched: tuple[str, ...] = ()
        self.status = plain_label(EMPTY)
        self.status.setWordWrap(True)
        self.status.setObjectName("muted")
        self.why = QPushButton("Why this match?")
        self.why.setCheckable(True)
        self.why.setToolTip("Show which parts of the object and of the product photo the match came from "
                            "(click a match to explain it)")
        self.why.toggled.connect(self._why_toggled)
        self.check = QPushButton("Check details")
        self.check.setToolTip("Compare the object's fine details (patterns, prints, handles) with the photos of "
                              "its top 20 products; those that share them move first. Takes up to a second.")
        self.check.clicked.connect(self._check_clicked)
        self.check_note = plain_label()
        self.check_note.setObjectName("muted")
        self.check_note.setWordWrap(True)
        self.check_note.hide()
        self.why_view = WhyMatch()
        self.why_view.hide()
        self.selected: str | None = None  # SKU of the match Why this match? explains
        self.list = QVBoxLayout()
        self.list.setSpacing(6)
        self._build()
        self.clear()

    def _build(self) -> None:
        edit = QHBoxLayout()
        edit.addWidget(QLabel("Category"))
        edit.addWidget(self.category, 1)
        edit.addWidget(self.remove)
        scope = QHBoxLayout()
        scope.addWidget(self.same)
        scope.addWidget(self.any)
        scope.addStretch()
        actions = QHBoxLayout()  # under the note, which wraps when a category searches several
        actions.addWidget(self.check)
        actions.addWidget(self.why)
        actions.addStretch()
        self.controls = QWidget()
        controls = QVBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addLayout(edit)
        controls.addLayout(scope)
        controls.addWidget(self.searched)
        controls.addLayout(actions)
        controls.addWidget(self.check_note)
        controls.addWidget(self.why_view)
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 4, 0)
        column.addLayout(self.list)
        column.addStretch()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(holder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 6)
        for widget in (self.title, self.subtitle, self.controls, self.status):
            layout.addWidget(widget)
        layout.addWidget(scroll, 1)

    @property
    def any_category(self) -> bool:
        return self.any.isChecked()

    @property
    def number(self) -> int | None:
        return self.tag.number if self.tag else None

    def clear(self) -> None:
        self.tag = None
        self.title.setText("<b>Matches</b>")
        self.subtitle.setText("")
        self.controls.hide()
        self._set_rows([])
        self.selected = None
        self.status.setText(EMPTY)
        self.status.show()

    def show_tag(self, tag: Tag, colour: str, categories: list[str], searched: tuple[str, ...]) -> None:
        """Heading and controls of a tag; its matches follow with ``show_matches``."""
        changed = self.tag is None or self.tag.number != tag.number
        self.tag = tag
        self.title.setText(
            f"{dot_html(colour)} <b>{tag.number} · {html.escape(pretty(tag.obj.category))}</b>"
        )
        self.subtitle.setText(self._origin(tag))
        self._searched = searched
        self.category.clear()
        for name in sorted(set(categories) | {tag.obj.category}):
            self.category.addItem(pretty(name), name)
        self.category.setCurrentIndex(self.category.findData(tag.obj.category))
        if changed:
            self.same.setChecked(True)
            self.selected = None
        self._show_searched()
        self.controls.show()

    def _scope_clicked(self, _button: QRadioButton) -> None:
        self._show_searched()
        if self.tag is not None:
            self.scopeChanged.emit(self.tag.number, self.any_category)

    def _show_searched(self) -> None:
        """Say where the matches come from: why a sofa tag may list armchairs."""
        where = "the whole catalog" if self.any_category else ", ".join(pretty(c) for c in self._searched)
        self.searched.setText(f"Searching {where}")

    @staticmethod
    def _origin(tag: Tag) -> str:
        if tag.origin == USER:
            return "Box drawn by you"
        text = f"Detected as “{tag.obj.label}” ({tag.obj.score:.0%} sure)"
        if tag.original_category is not None:
            text += f" · category changed from {pretty(tag.original_category)}"
        return text

    def set_searching(self, text: str = "Searching…") -> None:
        self._set_rows([])
        self._checking(False)
        self.why_view.hide()
        self.status.setText(text)
        self.status.show()

    def show_matches(self, matches: list[Match], same_points: dict[str, int] | None = None) -> None:
        """The tag's matches in order; ``same_points`` marks those a check found sharing its details."""
        if self.tag is None:
            return
        points = same_points or {}
        rows = [
            MatchRow(rank, m, m.sku == self.tag.confirmed_sku, self.thumbnails, points.get(m.sku, 0))
            for rank, m in enumerate(matches, 1)
        ]
        for row in rows:
            row.confirmClicked.connect(lambda m, n=self.tag.number: self.confirmRequested.emit(n, m))
            row.chosen.connect(self._choose)
        self._set_rows(rows)
        self.status.setVisible(not rows)
        self.status.setText("No product of the searched categories in the catalog." if not rows else "")
        skus = [row.match.sku for row in rows]
        self.selected = self.selected if self.selected in skus else (skus[0] if skus else None)
        self._explain()

    # -- check details ------------------------------------------------------------------------------

    def _check_clicked(self) -> None:
        if self.tag is not None:
            self._checking(True)
            self.checkRequested.emit(self.tag.number, self.any_category)

    def _checking(self, running: bool, note: str = "") -> None:
        self.check.setEnabled(not running)
        self.check.setText("Checking…" if running else "Check details")
        self.check_note.setText(note)
        self.check_note.setVisible(bool(note))

    def show_checked(self, number: int, any_category: bool, checked: list[Checked]) -> None:
        """The matches as the check ordered them, those sharing the tag's details first and marked; dropped
        if the tag or the scope changed since it was asked for."""
        if self.number != number or self.any_category != any_category:
            return
        same = {c.match.sku: c.inliers for c in checked if c.same}
        self.show_matches([c.match for c in checked], same)
        self._checking(False, self._check_summary(len(same)))

    @staticmethod
    def _check_summary(same: int) -> str:
        if not same:
            return "Checked: no product photo shares enough fine details with this object; the order is unchanged."
        what = "1 product shares" if same == 1 else f"{same} products share"
        return f"Checked: {what} fine details with this object, listed first."

    def check_failed(self, number: int, message: str) -> None:
        if self.number == number:
            self._checking(False, f"Could not check the details: {message}")

    # -- why this match -----------------------------------------------------------------------------

    def _row(self, sku: str | None) -> MatchRow | None:
        return next((row for row in self.rows if row.match.sku == sku), None)

    def _choose(self, match: Match) -> None:
        if match.sku != self.selected:
            if (row := self._row(self.selected)) is not None:
                row.show_heat(None)
            self.selected = match.sku
            self._explain()

    def _why_toggled(self, on: bool) -> None:
        if on:
            self._explain()
            return
        self.why_view.hide()
        if (row := self._row(self.selected)) is not None:
            row.show_heat(None)

    def _explain(self) -> None:
        """Ask for the selected match's heat maps when Why this match? is on."""
        row = self._row(self.selected)
        if not self.why.isChecked() or row is None or self.tag is None:
            self.why_view.hide()
            return
        self.why_view.show_busy()
        self.why_view.show()
        self.explainRequested.emit(self.tag.number, row.match)

    def show_explanation(self, number: int, sku: str, crop: np.ndarray, product: np.ndarray) -> None:
        """Heat over the crop and over the product's picture (RGB uint8, from ``Explanation.overlays``);
        dropped if the tag, the selected match or the toggle changed since it was asked for."""
        row = self._row(sku)
        if self.why.isChecked() and self.number == number and self.selected == sku and row is not None:
            self.why_view.show_overlays(crop, product)
            row.show_heat(product)

    def explanation_failed(self, number: int, sku: str, message: str) -> None:
        if self.why.isChecked() and self.number == number and self.selected == sku:
            self.why_view.show_failed(message)

    def _set_rows(self, rows: list[MatchRow]) -> None:
        for row in self.rows:
            self.list.removeWidget(row)
            row.deleteLater()
        self.rows = rows
        for row in rows:
            self.list.addWidget(row)

    def _category_chosen(self, _index: int) -> None:
        category = self.category.currentData()
        if self.tag is not None and category != self.tag.obj.category:
            self.categoryRequested.emit(self.tag.number, category)
