"""A centred line over the photo: what to do first, or what is running."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QLabel, QWidget


class Notice(QLabel):
    """A centred line over the photo: what to do first, or what is running."""

    def __init__(self, parent: QWidget, big: bool = False):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(big)
        style = (
            "color:#e5e7eb;font-size:17px;line-height:150%;"
            if big
            else "color:white;background:rgba(20,20,20,0.75);border-radius:14px;padding:6px 16px;"
        )
        self.setStyleSheet(style)
        self.big = big
        self.hide()

    def show_text(self, text: str) -> None:
        self.setText(text)
        self.show()
        self.raise_()
        self.place()

    def place(self, area: QRect | None = None) -> None:
        """Centred in ``area`` (the parent's rect by default), a small notice at its bottom."""
        area = self.parentWidget().rect() if area is None else area
        if self.big:
            self.setGeometry(area.adjusted(40, 40, -40, -40))
        else:
            self.adjustSize()
            self.move(area.left() + (area.width() - self.width()) // 2, area.bottom() + 1 - self.height() - 18)
