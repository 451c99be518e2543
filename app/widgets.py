"""Small widgets shared by the scene view, the results panel and the catalog: messages, thumbnails, badges."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.thumbnails import Thumbnails
from engine.results import Match

EXACT = "#2e9d49"
SIMILAR = "#6b7280"
LEVELS = {"error": ("#fde8e8", "#b42318"), "info": ("#e8f1fd", "#1d4f91"), "done": ("#e7f6ec", "#1f6f3a")}
INFO_SECONDS = 8


def pretty(category: str) -> str:
    """Catalog and decor categories are identifiers (``tv_bench``); people read "tv bench"."""
    return category.replace("_", " ") if category else "unknown"


def badge_html(match: Match) -> str:
    """ "Exact 0.86" in green or "Similar 0.54" in grey: the two words a merchandiser acts on."""
    colour = EXACT if match.match == "exact" else SIMILAR
    return (
        f'<span style="color:white;background:{colour};">&nbsp;{match.match.capitalize()}&nbsp;</span>'
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
        self.setStyleSheet("background:white;border:1px solid #e3e3e3;border-radius:4px;")
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
    """An inline message above the content: errors stay until closed, other news fades after a while.

    Used instead of modal boxes so a failed file never blocks the window (or a test).
    """

    action = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = QLabel()
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

    def show_message(self, text: str, level: str = "info", action: str = "") -> None:
        background, foreground = LEVELS[level]
        self.level = level
        self.setStyleSheet(
            f"MessageBar{{background:{background};border-bottom:1px solid {QColor(foreground).name()};}}"
            f"QLabel{{color:{foreground};}}"
        )
        self.text.setText(text)
        self.button.setText(action)
        self.button.setVisible(bool(action))
        self.show()
        if level == "error" or action:  # errors and calls to action wait for the user
            self._timer.stop()
        else:
            self._timer.start(INFO_SECONDS * 1000)
