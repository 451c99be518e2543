"""A product picture that fills in when the thumbnail worker has decoded it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from app.thumbnails import Thumbnails, fit


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
        # scaled for the screen's pixel ratio and marked with it: a plain scaled(inner) was stretched over inner × 2
        # screen pixels at 200 %, blurred in the panel's rows and on the hover card
        self.setPixmap(fit(pixmap, QSize(inner, inner), self.devicePixelRatioF()))

    def event(self, event: QEvent) -> bool:
        """Moved to a screen of another scale: the picture is made again for it."""
        if event.type() == QEvent.Type.DevicePixelRatioChange and self.path:
            self._paint(self.thumbnails.get(self.path))
        return super().event(event)
