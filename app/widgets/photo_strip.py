"""The Photos strip: a folder's photos as a column of thumbnails, the open one selected."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from app.labels import rich_tooltip
from app.thumbnails import Thumbnails

ICON = QSize(136, 96)


class PhotoStrip(QListWidget):
    """Names under thumbnails (full path in the tooltip); picking one asks for it with ``photoChosen``.

    The selection only follows photos that opened: ``select`` puts it back on the open photo when a
    pick fails, so the strip never points at a photo the window does not show.
    """

    photoChosen = Signal(Path)

    def __init__(self, thumbnails: Thumbnails, parent: QWidget | None = None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.photos: list[Path] = []
        self.setObjectName("photoStrip")
        self.setAccessibleName("Photos")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.TopToBottom)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(ICON)
        self.setGridSize(QSize(ICON.width() + 16, ICON.height() + 30))
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFixedWidth(ICON.width() + 40)
        self.currentRowChanged.connect(self._chosen)
        thumbnails.ready.connect(self._thumbnail)

    def show_photos(self, photos: list[Path]) -> None:
        self.photos = list(photos)
        self.blockSignals(True)
        self.clear()
        for photo in self.photos:
            item = QListWidgetItem(photo.name)
            item.setToolTip(rich_tooltip(str(photo)))  # Qt would render a file name holding tags as HTML
            item.setSizeHint(self.gridSize())  # room for the picture before it is decoded
            self.addItem(item)
            self._thumbnail(str(photo))
        self.blockSignals(False)

    def select(self, path: Path | None) -> None:
        """Select ``path`` (nothing when it is not listed) without asking to open it."""
        row = self.photos.index(path) if path in self.photos else -1
        self.blockSignals(True)
        self.setCurrentRow(row)
        self.blockSignals(False)

    def step(self, delta: int) -> None:
        """Next or previous photo: moving the selection asks for it."""
        row = self.currentRow() + delta
        if 0 <= row < len(self.photos):
            self.setCurrentRow(row)

    def _chosen(self, row: int) -> None:
        if 0 <= row < len(self.photos):
            self.photoChosen.emit(self.photos[row])

    def _thumbnail(self, path: str) -> None:
        """Put a decoded thumbnail on its item (the first call asks for the decode), made for the strip's
        screen: ``ICON`` times its pixel ratio, so it is sharp at 150 % and 200 % too."""
        if Path(path) not in self.photos:
            return
        pixmap = self.thumbnails.for_widget(path, self, ICON)
        if pixmap is not None and not pixmap.isNull():
            item = self.item(self.photos.index(Path(path)))
            item.setIcon(QIcon(pixmap))

    def event(self, event: QEvent) -> bool:
        """Moved to a screen of another scale: the thumbnails are made again for it."""
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            for photo in self.photos:
                self._thumbnail(str(photo))
        return super().event(event)
