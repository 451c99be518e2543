"""Small widgets shared by the scene view, the results panel and the catalog: messages, thumbnails, badges,
and the words people read for catalog data (category names, product titles).

Catalog text (names, SKUs, categories, prices, URLs) comes from feeds and bundles, which are untrusted:
it is shown as plain text (``plain_label``) or escaped (``html.escape``) where a label needs rich text for
layout, so a product named ``<img src="file:///…">`` shows those characters and loads nothing.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.thumbnails import Thumbnails
from engine.categories import CategoryMap, display_name
from engine.results import Match

EXACT = "#2e9d49"
SIMILAR = "#6b7280"
LEVELS = {"error": ("#fde8e8", "#b42318"), "info": ("#e8f1fd", "#1d4f91"), "done": ("#e7f6ec", "#1f6f3a")}
INFO_SECONDS = 8


# The names of the active category map (the user's categories.yaml, else the shipped one); set by the main
# window whenever its pipeline changes, so every label in the app follows one map.
_category_names: dict[str, str] = dict(CategoryMap.load().names)


def use_category_names(names: Mapping[str, str]) -> None:
    """Make ``pretty`` follow this category map's names (the window calls it for each new pipeline)."""
    _category_names.clear()
    _category_names.update(names)


def pretty(category: str) -> str:
    """A category as people read it: "box_basket" → "Boxes & baskets", "garden_sofa" → "Garden sofa"."""
    return display_name(category, _category_names) if category else "Unknown"


def has_name(name: str, sku: str) -> bool:
    """Whether the feed named the product: a folder import only knows the SKU (the file name)."""
    return bool(name.strip()) and name.strip() != sku.strip()


def product_title(name: str, sku: str, category: str) -> str:
    """The feed's product name, else the category ("Armchair"): never the SKU, which the detail shows."""
    return name.strip() if has_name(name, sku) else pretty(category)


def product_detail(name: str, sku: str, category: str, price: str = "") -> str:
    """The line under the title: SKU, the category when the title is a real name, and the price."""
    parts = [sku, pretty(category) if has_name(name, sku) else "", price]
    return " · ".join(p for p in parts if p)


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A label that never interprets its text as HTML: for anything that comes from the catalog."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    return label


def rich_tooltip(text: str) -> str:
    """Catalog text as a tooltip: Qt guesses tooltips' format, so escape it and say it is rich text."""
    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"


def badge_html(match: Match) -> str:
    """ "Exact 0.86" in green or "Similar 0.54" in grey: the two words a merchandiser acts on."""
    colour = EXACT if match.match == "exact" else SIMILAR
    word = "Likely the same" if match.match == "likely" else match.match.capitalize()
    return (
        f'<span style="color:white;background:{colour};">&nbsp;{html.escape(word)}&nbsp;</span>'
        f'&nbsp;<span style="color:{SIMILAR};">{match.score:.2f}</span>'
    )


def dot_html(colour: str) -> str:
    return f'<span style="color:{colour};font-size:15px;">●</span>'


class Thumb(QLabel):
    """A product picture that fills in when its thumbnail has been decoded."""

    def __init__(self, thumbnails: Thumbnails, size: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.side = size
        self.path = ""
        self.setFixedSize(size, size)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setObjectName("thumb")
        thumbnails.ready.connect(self._ready)

    def show_path(self, path: str) -> None:
        self.path = path
        self._paint(self.thumbnails.get(path))

    def _ready(self, path: str) -> None:
        if path == self.path:
            self._paint(self.thumbnails.get(path))

    def _paint(self, pixmap: QPixmap | None) -> None:
        if pixmap is None or pixmap.isNull():
            self.clear()
            return
        inner = self.side - 4
        self.setPixmap(
            pixmap.scaled(
                inner, inner, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )


class MessageBar(QFrame):
    """A message floating along the bottom of the content: errors stay until closed, other news fades.

    Used instead of modal boxes so a failed file never blocks the window (or a test). It floats over its
    host rather than sitting in a layout, so showing one never moves the photo under the mouse.
    """

    action = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = plain_label()  # messages quote file names and catalog text
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton()
        self.button.clicked.connect(self.action)
        close = QPushButton("✕")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        layout.addWidget(close)
        self._timer = QTimer(self, singleShot=True, timeout=self.hide)
        self.level = ""
        self.hide()

    def float_over(self, host: QWidget) -> None:
        """Lie over the bottom of ``host`` and follow its size."""
        self.setParent(host)
        host.installEventFilter(self)
        self._fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self._fit()
        return False

    def _fit(self) -> None:
        host = self.parentWidget()
        if host is None:
            return
        width = host.width()
        layout = self.layout()
        height = layout.heightForWidth(width) if layout.hasHeightForWidth() else self.sizeHint().height()
        self.setGeometry(0, host.height() - height, width, height)
        self.raise_()

    def show_message(self, text: str, level: str = "info", action: str = "") -> None:
        background, foreground = LEVELS[level]
        self.level = level
        self.setStyleSheet(
            f"MessageBar{{background:{background};border-top:1px solid {QColor(foreground).name()};}}"
            f"QLabel{{color:{foreground};}}"
        )
        self.text.setText(text)
        self.button.setText(action)
        self.button.setVisible(bool(action))
        self.show()
        self._fit()
        if level == "error" or action:  # errors and calls to action wait for the user
            self._timer.stop()
        else:
            self._timer.start(INFO_SECONDS * 1000)
