"""The side panel of one tag: its top matches, and the corrections a merchandiser can make to it.

"Same category" lists products of the categories searched for the tag's category (a sofa searches
sofas and armchairs); "Any category" searches the whole catalog, for things that go with it.
*Why this match?* shows, for the selected match (the first, or the one clicked), where the tag's crop
and the product photo agree: heat over the crop, and over the product's picture in its row.
*Check details* compares the tag's fine details (a pattern, a print, a handle) with the photos of its top
products (engine.rerank): those that share them move first, marked. It takes up to a second, so it runs
only when asked.

Keyboard: Enter on a pin brings focus to the tag's matches (``focus_matches``; to a drawn box's What is it?
answers while it asks); Up and Down walk the match
rows and select the one Why this match? explains (Space or Enter select the focused one), Tab reaches each
row's product link and Confirm button, Escape goes back to the photo. The Category box changes the tag only
when a category is chosen from its open list (``CategoryBox``); the keys it takes (Page Up / Down, Home / End, a
letter) are its own, not the window's shortcuts (the next photo, every object's box).
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QResizeEvent,
    QTextLayout,
    QTextOption,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QStyleOptionButton,
    QVBoxLayout,
    QWidget,
)

from app.labels import (
    BADGE_TIP,
    GONE,
    badge_html,
    by_name,
    dot_html,
    evidence_html,
    isolated,
    match_word,
    plain_label,
    pretty,
    product_detail,
    product_title,
    rich_tooltip,
    shown_sku,
)
from app.links import open_outside
from app.theme import draw_focus_ring
from app.thumbnails import Thumbnails, fit
from app.widgets.thumb import Thumb
from app.widgets.trackpad import PixelScroll
from app.widgets.why_match import WhyMatch, pixmap_of
from engine.corrections import USER, Tag
from engine.links import safe_link
from engine.rerank import Checked
from engine.results import Match

EMPTY = (
    "Click a tag on the photo to see the matching products.\n\nDrag a box around anything the tags missed (or "
    "press D on the photo)."
)
# A photo without tags, before why (scene_view.no_tags_message): "Click a tag" pointed at pins that are not there
NO_TAGS = "This photo has no tags."
TITLE_LINES = 3  # lines of a match's name in its row (``TitleLabel``)
NONE_SEARCHED = "No product of the searched categories in the catalog."
# a tag's matches while the catalog has no products at all, and the message bar on such a photo, in one wording:
# "no product of the searched categories" sent the merchandiser looking for a category that was missing, not an import
CATALOG_EMPTY = "The catalog is empty: import your products to get matches."
STEP_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home,
             Qt.Key.Key_End}
MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
             | Qt.KeyboardModifier.MetaModifier)


def explained(match: Match) -> str:
    """The match Why this match? is about, as its row names it: title (``isolated``) and SKU."""
    return f"{isolated(product_title(match.name, match.sku, match.category))} {shown_sku(match.sku, match.alike)}"


def product_words(match: Match) -> str:
    """A product as a screen reader says it: "FEJKA, 702.922.98 · Plants & pots" (its row's name and detail)."""
    title = product_title(match.name, match.sku, match.category)
    return f"{title}, {product_detail(match.name, match.sku, match.category, match.price, match.alike)}"


def rating(match: Match) -> str:
    """How sure the engine is of a match, as its badge says it: "Similar 0.62"."""
    return f"{match_word(match.match)} {match.score:.2f}"


def match_words(match: Match, confirmed: bool = False) -> str:
    """A match as a screen reader says it: "FEJKA, 702.922.98 · Plants & pots, Similar 0.62" (the badge's words),
    or "…, confirmed" once the merchandiser confirmed it: then it is the product, not the engine's guess."""
    return f"{product_words(match)}, {'confirmed' if confirmed else rating(match)}"


def confirmed_tip(match: Match) -> str:
    """The confirm button's tooltip on a confirmed match: the engine's rating, which the row no longer shows (it
    read "Similar 0.56" beside "✓ Confirmed", as if the merchandiser's answer were still a guess)."""
    return (f"You confirmed this product for the tag: the shoppable page and training use it. DecorLens alone "
            f"rated it {rating(match)} (how alike the object and the product's photo look, up to 1). "
            "Click to withdraw the confirmation")


class CategoryBox(QComboBox):
    """The tag's category. Choosing one re-searches the tag and saves a correction with an undo step, so only
    a deliberate choice does: an item picked from the open list (click, or Enter on it).

    A closed QComboBox steps to the next item on an arrow key, Page Up/Down, Home/End, a typed letter and
    the mouse wheel, and says each step was chosen (``activated``): one Down turned a plant into a rug and
    saved it, three Downs made three corrections. Here those keys open the list at the current category (a
    letter at the first category starting with it) and the wheel over the closed box is left to the panel.

    Those keys are the box's, closed or open, before any of the window's shortcuts: Page Down / Up stepped to the
    next photo (File ▸ Next Photo, on the photo page) instead of opening or paging the list, and B showed every
    object's box instead of finding a category.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view().installEventFilter(self)  # the open list: its keys before the window's shortcuts too

    def keyPressEvent(self, event: QKeyEvent) -> None:
        typed = _typed(event)
        if event.key() == Qt.Key.Key_Escape:
            event.ignore()  # a closed box has nothing to cancel: the panel's Escape (back to the photo)
        elif event.key() in STEP_KEYS or typed:
            self.showPopup()
            if typed:
                self.view().keyboardSearch(event.text())
            event.accept()
        else:
            super().keyPressEvent(event)

    def showPopup(self) -> None:
        """The list opens at the tag's category: once a list moved by the keyboard had been closed with Escape,
        Qt opened it again where the keyboard had left it, and Enter there chose that category instead."""
        super().showPopup()
        self.view().setCurrentIndex(self.model().index(self.currentIndex(), self.modelColumn(), self.rootModelIndex()))

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and _own_key(event):
            event.accept()  # a key press follows, to keyPressEvent, instead of the shortcut
            return True
        return super().event(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view() and event.type() == QEvent.Type.ShortcutOverride and _own_key(event):
            event.accept()  # the list pages, moves or finds a category itself
            return True
        return super().eventFilter(watched, event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        event.ignore()


class GuessButton(QPushButton):
    """A "What is it?" choice, two a row: its category's name cut short with "…" to fit its half of the row, whole
    in its tooltip and for a screen reader. A long name (a category map's "Garden furniture and outdoor dining
    sets") was cut at both ends, "iture and outdoor dining sets f", and widened its column over the other.

    A screen reader hears the question with each: Tab from Remove tag said "Lamp, button" and nothing of what a
    lamp answered (the words "What is it?" above them are a label of no control)."""

    def __init__(self, name: str):
        super().__init__(shown_as_is(name))
        self.name = name
        self.setAccessibleName(name)
        self.setToolTip(f"Set this box's category to {name}: its matches are searched among them")
        self.setAccessibleDescription(f"What is it? {self.toolTip()}")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # halves of the row, not the name's

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter answers too, as Space does (a button outside a dialog takes Space only): Enter on the pin brings the
        keyboard here, and a second Enter did nothing."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers() & MODIFIERS:
            self.click()
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        option = QStyleOptionButton()
        self.initStyleOption(option)
        room = self.style().subElementRect(QStyle.SubElement.SE_PushButtonContents, option, self).width()
        room -= self.fontMetrics().horizontalAdvance("  ")  # the style's padding around the text
        self.setText(shown_as_is(self.fontMetrics().elidedText(self.name, Qt.TextElideMode.ElideRight, room)))


class TitleLabel(QLabel):
    """A match's "1. name", wrapped to its row in at most ``TITLE_LINES`` lines, the rest cut with "…" (the row's
    tooltip has it whole): a marketplace feed's 200-character title took seven lines of the panel and pushed the
    other matches out of view."""

    def __init__(self, text: str):
        super().__init__(text)
        self.whole = text
        self.setTextFormat(Qt.TextFormat.PlainText)  # catalog text, never HTML
        self.setWordWrap(True)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setText(clamped(self.whole, self, TITLE_LINES))


def clamped(text: str, label: QLabel, lines: int) -> str:
    """``text`` as its first ``lines`` lines wrapped to ``label``'s width, the last cut with "…" where more follow."""
    width = label.contentsRect().width()
    layout = QTextLayout(text, label.font())
    layout.setTextOption(QTextOption(Qt.AlignmentFlag.AlignLeft))  # wrapped at word boundaries, as a label wraps
    starts: list[int] = []
    layout.beginLayout()
    while width > 0 and len(starts) <= lines and (line := layout.createLine()).isValid():
        line.setLineWidth(width)
        starts.append(line.textStart())
    layout.endLayout()
    if len(starts) <= lines:
        return text
    last = starts[lines - 1]
    return text[:last] + label.fontMetrics().elidedText(text[last:], Qt.TextElideMode.ElideRight, width)


def shown_as_is(text: str) -> str:
    """A button's words with no "&" taken for a shortcut's mark: "Cushions & throws" showed "Cushions _throws", an
    underlined space, and Alt+Space pressed it."""
    return text.replace("&", "&&")


def _typed(event: QKeyEvent) -> bool:
    """A letter or digit typed, as a list finds an item by (Shift allowed; Ctrl, Alt or Meta make it a command)."""
    text = event.text()
    return bool(text) and text.isprintable() and not text.isspace() and not event.modifiers() & MODIFIERS


def _own_key(event: QKeyEvent) -> bool:
    """The keys the Category box, closed or open, acts on itself."""
    return (event.key() in STEP_KEYS and not event.modifiers() & MODIFIERS) or _typed(event)


class Ringed:
    """A widget that draws ``ring`` while the keyboard is on it: the theme's focus rule does not reach a
    card or a label. Listed before the Qt class, so that its events come first."""

    ring_radius = 4.0

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.hasFocus():
            ring(self, self.ring_radius)


class MatchRow(Ringed, QFrame):
    """One product: picture, name, sku and category, price and link if known, score, a confirm button.

    Every catalog value is plain text; the product page is a link only when ``safe_link`` allows it.
    """

    ring_radius = 8.0  # the theme's corners
    confirmClicked = Signal(object)  # Match
    chosen = Signal(object)  # Match: clicked, or Space or Enter on it (the match Why this match? explains)
    stepped = Signal(object, int)  # MatchRow, +1 / -1: Down or Up on it (the panel goes to the next row)

    def __init__(self, rank: int, match: Match, confirmed: bool, thumbnails: Thumbnails, same_points: int = 0,
                 gone: bool = False):
        """``same_points``: the points a check by local features found it shares with the tag (0: none or
        not checked); ``gone``: the catalog no longer has it (removed since the search), so it cannot be
        confirmed, only withdrawn."""
        super().__init__()
        self.match = match
        self._heat: QPixmap | None = None  # Why this match?'s heat over the product's picture, while shown
        self.setObjectName("matchRow")
        self.setProperty("confirmed", confirmed)  # the theme draws a green border
        # Tab reaches it (a click selects it without taking the keyboard from the photo); Ringed rings it
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.thumb = thumb = Thumb(thumbnails, 84)
        thumb.show_path(match.image_path)
        text = QVBoxLayout()
        text.setSpacing(1)
        title = product_title(match.name, match.sku, match.category)
        self.name = TitleLabel(f"{rank}. {isolated(title)}")
        self.name.setObjectName("title")
        self.name.setToolTip(rich_tooltip(title))
        self.detail = plain_label(product_detail(match.name, match.sku, match.category, match.price, match.alike))
        self.detail.setObjectName("detail")
        for label in (self.name, self.detail):
            # Wrapped to the panel's width: a label's minimum is its longest word, and one long name or SKU
            # made every row wider than the panel, cutting prices off behind a sideways scroll bar.
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            text.addWidget(label)
        self.link = self._link(match.url)
        if self.link is not None:
            text.addWidget(self.link, alignment=Qt.AlignmentFlag.AlignLeft)  # focus ring as wide as its words
        # the row's child from the start: shown while it had no parent, each badge was a window of its own for a
        # moment, every time a tag's matches were listed, and the main window lost the keyboard to it
        self.badge = QLabel(badge_html(match), self)
        self.badge.setToolTip(BADGE_TIP)  # the word and the bare number, explained
        self.badge.setVisible(not confirmed)  # "✓ Confirmed" below says it; the rating is in its tooltip
        text.addWidget(self.badge)
        self.same_points = same_points
        if same_points:
            self.evidence = QLabel(evidence_html(same_points))
            self.evidence.setToolTip("Its photo and the object share these details under one view: "
                                     "9 in 10 such products were the right one in our tests")
            text.addWidget(self.evidence)
        self.confirm = QPushButton("✓ Confirmed" if confirmed else "Confirm match")  # a tick: done, not asked
        self.confirm.setAccessibleName("Confirmed" if confirmed else "Confirm match")  # not "check mark Confirmed"
        self.confirm.setObjectName("confirm")
        self.confirm.setFlat(not confirmed)
        self.confirm.setCheckable(True)
        self.confirm.setChecked(confirmed)
        self.confirm.setToolTip(confirmed_tip(match) if confirmed
                                else "Mark this product as the right one for the tag (saved as training data)")
        self.confirm.clicked.connect(lambda: self.confirmClicked.emit(match))
        if gone and not confirmed:
            self.confirm.setText(GONE)
            self.confirm.setAccessibleName(GONE)
            self.confirm.setEnabled(False)
        elif gone:  # confirmed before it was removed: said so, as the shop page leaves it out (engine.shoppable)
            self.gone_note = plain_label(GONE)
            self.gone_note.setObjectName("muted")
            text.addWidget(self.gone_note)
            self.confirm.setToolTip(f"{GONE}: the shoppable page leaves it out. Click to withdraw the confirmation")
        text.addWidget(self.confirm, alignment=Qt.AlignmentFlag.AlignLeft)
        text.addStretch(1)  # a row of fewer lines (a confirmed one shows no rating) keeps them together at the top
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(thumb, alignment=Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)
        spoken = f"Match {rank}: {match_words(match, confirmed)}" + (f", {GONE}" if gone else "")
        self.setAccessibleName(spoken + (f", shares {same_points} fine details" if same_points else ""))
        self.setAccessibleDescription("Space selects it for Why this match?; Up and Down: the other matches; "
                                      "Shift+F10 or the Menu key: copy its name, product code or link")

    def focus_order(self) -> list[QWidget]:
        """The row and what Tab reaches in it, top to bottom."""
        return [self] + ([self.link] if self.link is not None else []) + [self.confirm]

    def part(self, widget: QWidget | None) -> int | None:
        """Which of ``focus_order`` ``widget`` is (its index), None if it is not in this row."""
        order = self.focus_order()
        return order.index(widget) if widget in order else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.chosen.emit(self.match)
        super().mousePressEvent(event)

    def copy_menu(self) -> QMenu:
        """Copy Name, Copy Product Code and, with a product page, Copy Link: what a designer pastes into a mood
        board or a quote. The row's words cannot be selected (a click on them selects the row)."""
        menu = QMenu(self)
        clipboard = QGuiApplication.clipboard()
        title = product_title(self.match.name, self.match.sku, self.match.category)
        menu.addAction("Copy Name", lambda: clipboard.setText(title)).setShortcut(QKeySequence.StandardKey.Copy)
        menu.addAction("Copy Product Code", lambda: clipboard.setText(self.match.sku))
        if self.link is not None:
            menu.addAction("Copy Link", lambda: clipboard.setText(self.link.link))
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """A right-click, or the Menu key where the platform turns it into this event (X11, Windows: at the row)."""
        self._show_copy_menu(event.globalPos())

    def _show_copy_menu(self, where: QPoint) -> None:
        menu = self.copy_menu()
        menu.exec(where)
        menu.deleteLater()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if event.matches(QKeySequence.StandardKey.Copy):  # Ctrl+C on the row the keyboard is on: its name
            QGuiApplication.clipboard().setText(product_title(self.match.name, self.match.sku, self.match.category))
        elif key == Qt.Key.Key_F10 and event.modifiers() == Qt.KeyboardModifier.ShiftModifier:
            # the desktop's other menu key (GNOME's, and a keyboard without a Menu key's): Qt makes no context menu
            # of it on Linux, so Copy Product Code and Copy Link were the mouse's alone there
            self._show_copy_menu(self.mapToGlobal(self.rect().center()))
        elif key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Select):
            self.chosen.emit(self.match)
        elif key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            self.stepped.emit(self, 1 if key == Qt.Key.Key_Down else -1)
        else:
            super().keyPressEvent(event)  # Escape and the rest go on to the panel

    def show_heat(self, product: np.ndarray | None) -> None:
        """The product's picture with the heat of Why this match? over it; None: the plain picture again. The
        row explained is framed in the accent colour: a click on a row showed nothing of it but the heat."""
        self.setProperty("explained", product is not None)
        self.style().unpolish(self)
        self.style().polish(self)
        if product is None:
            self._heat = None
            self.thumb.show_path(self.match.image_path)
            return
        self.thumb.show_path("")  # a thumbnail decoded later must not paint over the heat
        self._heat = pixmap_of(product)
        self._paint_heat()

    def _paint_heat(self) -> None:
        """Scaled for the screen's pixel ratio and marked with it, as Thumb's picture is (a plain scaled(side)
        was stretched over twice its pixels at 200 %, blurred)."""
        side = self.thumb.side - 4
        self.thumb.setPixmap(fit(self._heat, QSize(side, side), self.thumb.devicePixelRatioF()))

    def event(self, event: QEvent) -> bool:
        """Moved to a screen of another scale: the heat is made again for it (Thumb remakes a plain picture). The
        theme switched (Settings' Look, or the desktop under "Same as the system"): the score and the points a
        check found take its colours, which their rich text holds; a row listed before a switch kept the other
        theme's, 2.5:1 to 2.7:1 (#5f6b7a on the dark row, #9aa4b0 on the white one)."""
        if event.type() == QEvent.Type.DevicePixelRatioChange and self._heat is not None and not self.thumb.path:
            self._paint_heat()
        elif event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self.badge.setText(badge_html(self.match))
            if self.same_points:
                self.evidence.setText(evidence_html(self.same_points))
        return super().event(event)

    @staticmethod
    def _link(url: str) -> ProductLink | None:
        """ "Product page ↗" for an http(s) URL (the URL in its tooltip); nothing for any other URL."""
        link = safe_link(url)
        return None if link is None else ProductLink(link)


class ProductLink(Ringed, QLabel):
    """ "Product page ↗", opened in the browser by a click, or by Enter or Space once Tab has reached it.

    Qt's own keyboard links (LinksAccessibleByKeyboard) take a second Tab inside the label before Enter opens
    anything, and show no focus until then; this one opens on the first, and rings itself while focused.
    """

    def __init__(self, link: str):
        super().__init__(f'<a href="{html.escape(link, quote=True)}">Product page ↗</a>')
        self.link = link
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setToolTip(rich_tooltip(link))
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a click opens it and leaves the keyboard where it was
        self.setAccessibleName("Product page (opens in the browser)")
        self.linkActivated.connect(lambda link: open_link(link, self))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            open_link(self.link, self)
        else:
            super().keyPressEvent(event)



def ring(widget: QWidget, radius: float) -> None:
    """The keyboard focus around ``widget``: a line in the highlight colour just inside its edge."""
    painter = QPainter(widget)
    draw_focus_ring(painter, QRectF(widget.rect()), widget.palette(), radius)
    painter.end()


def open_link(url: str, parent: QWidget) -> None:
    """Hand a product link to the browser, checked again: only ``safe_link`` URLs ever reach the OS."""
    link = safe_link(url)
    if link is not None:
        open_outside(QUrl(link), parent)


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
        self.gone: set[str] = set()  # products the catalog no longer has: the controller's set, shared
        self.products: int | None = None  # the catalog's products as last listed (``set_products``); None: not yet
        self.tag: Tag | None = None
        self.rows: list[MatchRow] = []
        self.title = QLabel()
        self.title.setObjectName("heading")
        self.subtitle = plain_label()
        self.subtitle.setObjectName("muted")
        self.subtitle.setWordWrap(True)
        self.category = CategoryBox()
        self.category.setToolTip("Change the tag's category: its matches are searched again")
        self.category.setAccessibleName("Category")
        self.category.activated.connect(self._category_chosen)  # only from the open list (CategoryBox)
        self.remove = QPushButton("Remove tag")
        self.remove.setToolTip("Not a product, or a duplicate (Delete)")
        self.remove.clicked.connect(lambda: self.tag and self.removeRequested.emit(self.tag.number))
        self.guess_row = QWidget()  # a drawn box's question: which of these is it? (``show_tag``'s guesses)
        self.guess_row.setLayout(QGridLayout())  # two buttons a row: four in one were cut to "es _bask"
        self.guess_row.layout().setColumnStretch(0, 1)
        self.guess_row.layout().setColumnStretch(1, 1)
        self.guess_row.layout().setContentsMargins(0, 0, 0, 0)
        self.guess_row.hide()
        self.same = QRadioButton("Same category")
        self.any = QRadioButton("Any category")
        self.any.setToolTip("Search the whole catalog: e.g. tables that go with this chair")
        self.scope = QButtonGroup(self)
        self.scope.addButton(self.same)
        self.scope.addButton(self.any)
        self.scope.buttonToggled.connect(self._tab_to_checked)
        self.same.setChecked(True)
        self.scope.buttonClicked.connect(self._scope_clicked)
        self.searched = plain_label()
        self.searched.setObjectName("muted")
        self.searched.setWordWrap(True)
        self._searched: tuple[str, ...] = ()
        self._asking = False  # a drawn box's What is it? is shown: its matches are the whole catalog's
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
        self._check_running = False
        self.check_note = plain_label()
        self.check_note.setObjectName("muted")
        self.check_note.setWordWrap(True)
        self.check_note.hide()
        self.why_view = WhyMatch()
        self.why_view.hide()
        self.selected: str | None = None  # SKU of the match Why this match? explains
        self.photo: QWidget | None = None  # where Escape sends the keyboard back to (SceneView sets itself)
        # Focus owed to a match row once rows (re)appear: (SKU or None for the selected row, index in the
        # row's focus_order, the widget that must still have focus then, else the user has moved on)
        self._refocus: tuple[str | None, int, QWidget] | None = None
        self.list = QVBoxLayout()
        self.list.setSpacing(6)
        self._build()
        self.clear()

    def minimumSizeHint(self) -> QSize:
        """As tall as the panel's words need at its width: the wrapped notes counted one line each, so at the
        window's least height a drawn box's What is it? buttons were squeezed to half their height, their names cut
        at top and bottom."""
        hint = super().minimumSizeHint()
        return QSize(hint.width(), max(hint.height(), self.layout().totalMinimumHeightForWidth(self.width())))

    def _build(self) -> None:
        edit = QHBoxLayout()
        label = QLabel("C&ategory:")  # Alt+A: Alt+C is the Catalog menu's
        label.setBuddy(self.category)  # what a screen reader says the box is
        edit.addWidget(label)
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
        controls.addWidget(self.guess_row)
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
        self.scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the rows themselves, not to an empty stop
        scroll.setWidget(holder)
        PixelScroll(scroll)  # a trackpad's 3 px moved the matches 12 px (Qt reads its angle as a wheel's)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 6)
        for widget in (self.title, self.subtitle, self.controls, self.status):
            layout.addWidget(widget)
        layout.addWidget(scroll, 1)

    @property
    def any_category(self) -> bool:
        """The matches' scope: a drawn box's question What is it? lists the whole catalog's whichever radio is
        checked, so Check details checks those (it checked the best guess's category only: a list of beds and
        lamps became beds)."""
        return self.any.isChecked() or self._asking

    @property
    def number(self) -> int | None:
        return self.tag.number if self.tag else None

    def clear(self, hint: str = EMPTY) -> None:
        """No tag shown: ``hint`` says what to do (``NO_TAGS`` where the photo has none)."""
        focus, photo = QApplication.focusWidget(), self.photo
        if focus is not None and self.isAncestorOf(focus) and photo is not None and photo.isVisible():
            # the tag went (Remove tag by keyboard): back to the photo, not on past the hidden button
            photo.setFocus(Qt.FocusReason.OtherFocusReason)
        self.tag = None
        self.title.setText("<b>Matches</b>")
        self.subtitle.setText("")
        self.controls.hide()
        self._set_rows([])
        self.selected = None
        self._refocus = None
        self.status.setText(hint)
        self.status.show()

    def show_tag(self, tag: Tag, colour: str, categories: list[str], searched: tuple[str, ...],
                 guesses: tuple[str, ...] = ()) -> None:
        """Heading and controls of a tag; its matches follow with ``show_matches``. ``guesses``: for a drawn box
        not yet answered (``SceneController.guesses``), the categories it may be, offered as buttons."""
        changed = self.tag is None or self.tag.number != tag.number
        self.tag = tag
        self.title.setText(
            f"{dot_html(colour)} <b>{tag.number} · {html.escape(pretty(tag.obj.category))}</b>"
        )
        self.subtitle.setText(self._origin(tag) + self._gone_note(tag))
        self.subtitle.setToolTip(self._score_tip(tag))
        self._searched, self._asking = searched, bool(guesses)
        for radio in self.scope.buttons():  # no scope to choose while asking: Same category read checked beside
            radio.setVisible(not self._asking)  # the whole catalog's matches; the answers narrow them
        self.category.clear()
        for name in by_name(set(categories) | {tag.obj.category}):
            self.category.addItem(pretty(name), name)
        self.category.setCurrentIndex(self.category.findData(tag.obj.category))
        if changed:
            self.same.setChecked(True)
            self.selected = None
            self._refocus = None
        self._show_searched()
        self._show_guesses(guesses)
        self.controls.show()

    def _show_guesses(self, guesses: tuple[str, ...]) -> None:
        """What is it? Lamp, Table, Mirror: one click searches the box in that category, as the Category box
        does, and answers the question (the current category too: its matches then are that category's only)."""
        layout = self.guess_row.layout()
        if self.guess_row.isAncestorOf(QApplication.focusWidget()):
            self.category.setFocus(Qt.FocusReason.OtherFocusReason)  # the chosen button goes: the keyboard stays near
        while (item := layout.takeAt(0)) is not None:
            if item.widget() is not None:
                item.widget().hide()  # now: a button going stays a visible child until deleteLater runs
                item.widget().deleteLater()
        self.guess_row.setVisible(bool(guesses))
        if not guesses:
            return
        layout.addWidget(QLabel("What is it?"), 0, 0, 1, 2)  # above: beside, it took room from the names
        before: QWidget = self.remove  # Tab goes on from Remove tag to them: made now, they came after the window
        for index, category in enumerate(guesses):
            button = GuessButton(pretty(category))
            button.clicked.connect(lambda _=False, c=category: self.tag and self.categoryRequested.emit(self.tag.number, c))
            layout.addWidget(button, 1 + index // 2, index % 2)
            button.show()  # now, not once the layout gets round to it: Enter on the pin gives it the keyboard at once
            QWidget.setTabOrder(before, button)
            before = button

    def _tab_to_checked(self, button: QRadioButton, checked: bool) -> None:
        """One Tab stop for the pair, the checked one, as in any radio group (the arrows switch). Qt moves the stop
        only to the button the keyboard enters: after a new tag checked Same category again, Tab and Shift+Tab
        reached the unchecked Any category, and Same category never."""
        if checked:
            for radio in self.scope.buttons():
                radio.setFocusPolicy(Qt.FocusPolicy.StrongFocus if radio is button else Qt.FocusPolicy.ClickFocus)

    def _scope_clicked(self, _button: QRadioButton) -> None:
        self._show_searched()
        if self.tag is not None:
            self.scopeChanged.emit(self.tag.number, self.any_category)

    def _show_searched(self, matches: list[Match] | None = None) -> None:
        """Say where the matches come from: why a sofa tag may list armchairs. "Searching …" while they are
        searched, "Matches from …" once ``matches`` are listed: the line read "Searching Chair, Armchair" beside
        the finished list, as if a search still ran. A drawn box's own matches come from every category (the
        box takes its best match's category), so its list of a lamp, a mirror and wardrobes said "Searching
        Wardrobe, Storage furniture" under *Same category*: a match outside the categories named says so, as does
        the question What is it? (its five best, all Bedding, read "Matches from Bedding, Cushions & throws")."""
        categories = ", ".join(pretty(c) for c in self._searched)
        if matches is None:
            where = "the whole catalog" if self.any_category else categories
            self.searched.setText(f"Searching {where}…")
        elif self.any.isChecked():
            self.searched.setText("Matches from the whole catalog")
        elif self._asking or any(m.category not in self._searched for m in matches):
            self.searched.setText("Matches from the whole catalog (a box you draw searches every category): "
                                  "choose a category above to narrow them")
        else:
            self.searched.setText(f"Matches from {categories}")

    @staticmethod
    def _origin(tag: Tag) -> str:
        """Where the tag came from, in shop staff's words: "detector score 0.86" beside it was jargon to them, so
        the score is in the tooltip (``_score_tip``) for the merchandiser who wants it."""
        if tag.origin == USER:
            return "Box drawn by you"
        text = f"Found automatically as “{tag.obj.label}”"
        if tag.original_category is not None:
            text += f" · category changed from {pretty(tag.original_category)}"
        return text

    @staticmethod
    def _score_tip(tag: Tag) -> str:
        """The detector's score, said as what it is: no probability of being right (a class's own confidence,
        chosen on the IKEA scenes, keeps "Drawer" pins from 0.05 up, which would read "6% sure")."""
        if tag.origin == USER:
            return ""
        return (f"The detector's score for this box: {tag.obj.score:.2f} of 1, how strongly it sees "
                f"“{tag.obj.label}” here (not the chance that it is right)")

    def _gone_note(self, tag: Tag) -> str:
        """What the shoppable page shows for a tag whose confirmed product the catalog no longer has: the
        panel says it, so the pin the merchandiser confirmed is not a surprise on the published page."""
        if tag.confirmed_sku not in self.gone:
            return ""
        shown = tag.on_page(self.gone)
        if shown is None:
            return f"\nConfirmed product {GONE.lower()}: the shoppable page leaves this tag off"
        return (f"\nConfirmed product {GONE.lower()}: the shoppable page shows "
                f"{isolated(product_title(shown.name, shown.sku, shown.category))} instead")

    def set_products(self, count: int) -> None:
        """The catalog's product count (the Catalog tab's ``catalogChanged``): a tag without matches says why."""
        self.products = count

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
            MatchRow(rank, m, m.sku == self.tag.confirmed_sku, self.thumbnails, points.get(m.sku, 0), m.sku in self.gone)
            for rank, m in enumerate(matches, 1)
        ]
        for row in rows:
            row.confirmClicked.connect(lambda m, n=self.tag.number: self.confirmRequested.emit(n, m))
            row.chosen.connect(self._choose)
            row.stepped.connect(self._step)
        self._set_rows(rows)
        self._enable_actions()
        self._show_searched(matches)
        self.status.setVisible(not rows)
        self.status.setText("" if rows else CATALOG_EMPTY if self.products == 0 else NONE_SEARCHED)
        skus = [row.match.sku for row in rows]
        self.selected = self.selected if self.selected in skus else (skus[0] if skus else None)
        self._explain()
        self._take_focus()

    # -- keyboard -----------------------------------------------------------------------------------

    def focus_matches(self) -> None:
        """Move the keyboard to the selected match (the first of a tag just opened): Enter on a pin does, so
        its matches are one key away, not behind every other pin. Matches still being searched get it when
        they come, unless the keyboard has moved on by then.

        A drawn box asked What is it? takes the keyboard to its first answer instead: until answered its matches
        are the whole catalog's, and the question was four Shift+Tabs back from them, unheard."""
        layout = self.guess_row.layout()
        answers = [w for i in range(layout.count()) if isinstance(w := layout.itemAt(i).widget(), GuessButton)]
        if self.guess_row.isVisibleTo(self) and answers:
            answers[0].setFocus(Qt.FocusReason.TabFocusReason)
        elif self.rows:
            self._focus_row(self._row(self.selected) or self.rows[0], 0)
        elif (focus := QApplication.focusWidget()) is not None:
            self._refocus = (None, 0, focus)

    def _focus_row(self, row: MatchRow, part: int) -> None:
        order = row.focus_order()
        order[min(part, len(order) - 1)].setFocus(Qt.FocusReason.TabFocusReason)  # the keyboard moved it

    def _take_focus(self) -> None:
        """Give the rows the focus owed to them (``_refocus``) if nothing else took it since."""
        if self._refocus is None or not self.rows:
            return
        sku, part, waiting = self._refocus
        self._refocus = None
        if QApplication.focusWidget() is waiting:
            self._focus_row(self._row(sku) or self._row(self.selected) or self.rows[0], part)

    def _step(self, row: MatchRow, step: int) -> None:
        """Up / Down on a row: the keyboard and the selection (the match Why this match? explains) move
        together, as in a list."""
        index = self.rows.index(row) + step if row in self.rows else -1
        if 0 <= index < len(self.rows):
            self._focus_row(self.rows[index], 0)
            self._choose(self.rows[index].match)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Escape anywhere in the panel (the category list closed) takes the keyboard back to the photo."""
        if event.key() == Qt.Key.Key_Escape and self.photo is not None and self.photo.isVisible():
            self.photo.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A row, or its link or Confirm button, scrolls into view when the keyboard reaches it."""
        if event.type() == QEvent.Type.FocusIn and isinstance(watched, QWidget):
            self.scroll.ensureWidgetVisible(watched, 0, 6)
        return False

    # -- check details ------------------------------------------------------------------------------

    def _check_clicked(self) -> None:
        if self.tag is not None:
            self._checking(True)
            self.checkRequested.emit(self.tag.number, self.any_category)

    def _checking(self, running: bool, note: str = "") -> None:
        self._check_running = running
        self._enable_actions()
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

    def _enable_actions(self) -> None:
        """Why this match? and Check details only where the tag has matches to explain or check (an empty
        catalog's tags have none: both buttons did nothing); Check details not while a check runs."""
        self.why.setEnabled(bool(self.rows))
        self.check.setEnabled(bool(self.rows) and not self._check_running)

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
        self.why_view.show_busy(explained(row.match))
        self.why_view.show()
        self.explainRequested.emit(self.tag.number, row.match)

    def show_explanation(self, number: int, sku: str, crop: np.ndarray, product: np.ndarray) -> None:
        """Heat over the crop and over the product's picture (RGB uint8, from ``Explanation.overlays``);
        dropped if the tag, the selected match or the toggle changed since it was asked for."""
        row = self._row(sku)
        if self.why.isChecked() and self.number == number and self.selected == sku and row is not None:
            self.why_view.show_overlays(crop, product, explained(row.match))
            row.show_heat(product)

    def explanation_failed(self, number: int, sku: str, message: str) -> None:
        if self.why.isChecked() and self.number == number and self.selected == sku:
            self.why_view.show_failed(message)

    def _set_rows(self, rows: list[MatchRow]) -> None:
        """Show ``rows`` in place of the current ones. The keyboard on a row that goes (a confirm, a check or
        a scope change list the matches again) waits on the list and comes back to the same product's row and
        button when the new rows come: it went with the deleted row, and Tab started over at the window's
        top."""
        focus = QApplication.focusWidget()
        for row in self.rows:
            if (part := row.part(focus)) is not None:
                self._refocus = (row.match.sku, part, self.scroll)
                self.scroll.setFocus(Qt.FocusReason.OtherFocusReason)
            self.list.removeWidget(row)
            row.hide()  # now: until deleteLater runs, its edges showed between the new rows
            row.deleteLater()
        self.rows = rows
        previous: QWidget = self.why  # Tab order follows the panel down: after Why this match?, row by row
        for row in rows:
            self.list.addWidget(row)
            row.show()  # now, not once the layout gets round to it: the keyboard can go to it at once
            for widget in row.focus_order():
                QWidget.setTabOrder(previous, widget)
                widget.installEventFilter(self)
                previous = widget
        self.list.activate()  # rows placed now: one the keyboard reaches scrolls into view where it really is

    def _category_chosen(self, _index: int) -> None:
        category = self.category.currentData()
        if self.tag is not None and category != self.tag.obj.category:
            self.categoryRequested.emit(self.tag.number, category)
