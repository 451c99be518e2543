"""A scroll area for a column of settings or results that scrolls only when the screen is too short for it."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QScrollArea, QWidget


class VerticalScroll(QScrollArea):
    """``body``, scrolled up and down where the window is shorter than it is, never across, and asking for all
    of its size where there is room (QScrollArea's own hint stops at 24 lines)."""

    def __init__(self, body: QWidget):
        super().__init__()
        self.setWidget(body)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def sizeHint(self) -> QSize:
        """All of the body, with room for the scroll bar."""
        hint = self.widget().sizeHint()
        return QSize(hint.width() + self.verticalScrollBar().sizeHint().width(), hint.height())

    def least_width(self) -> int:
        """The body's least width, with room for the scroll bar: what a ``minimumSizeHint`` asks across."""
        return self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
