"""A product picture that fills in when the thumbnail worker has decoded it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from app.thumbnails import Thumbnails


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
