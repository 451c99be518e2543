"""The Photos strip: a folder's photos as a column of thumbnails, the open one selected.

A merchandiser opens folders of 20,000 photos: the strip's rows are made ``ROWS_A_TURN`` at a time, one
insertion per turn of the event loop (``show_photos``, then ``add_photos`` as the folder is still being
listed), and only the rows in view get their thumbnail and tooltip (asked for again as the strip
scrolls), so opening such a folder neither freezes the window nor keeps a decoded picture of every
photo. Icons of rows long out of view are let go (at most ``KEPT`` rows hold one); the thumbnail cache
decides what stays decoded.
``ListingStatus`` says how far the listing got, with a Stop button, in the status bar.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QStyledItemDelegate,
    QToolButton,
    QWidget,
)

from app.labels import rich_tooltip
from app.thumbnails import Thumbnails

ICON = QSize(136, 96)
MARGIN = 4  # rows above and below the view whose thumbnails are asked for too (the next Page Down's)
KEPT = 200  # rows holding an icon at most, those in view included
ROWS_A_TURN = 2_000  # rows made in one turn of the event loop (a few ms; more with the first photo searched beside it)


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
        self._rows: dict[str, int] = {}  # a photo's path as text -> its row: a lookup per thumbnail decoded
        self._iconed: OrderedDict[int, None] = OrderedDict()  # rows holding an icon, the latest shown last
        self._coming: list[Path] = []  # photos whose rows are made in the next turns of the event loop
        self.setObjectName("photoStrip")
        self.setAccessibleName("Photos")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.TopToBottom)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(ICON)
        self.setGridSize(QSize(ICON.width() + 16, ICON.height() + 30))
        self.setItemDelegate(_Row(self))
        self.setUniformItemSizes(True)  # the layout asks one row its size, not 20,000
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFixedWidth(ICON.width() + 40)
        self.currentRowChanged.connect(self._chosen)
        thumbnails.ready.connect(self._thumbnail)
        # the rows in view are known once the layout ran: after the event that scrolled or filled the strip
        self._visible_soon = QTimer(self, singleShot=True, interval=0, timeout=self._fill_visible)
        self._insert_soon = QTimer(self, singleShot=True, interval=0, timeout=self._insert)
        self.verticalScrollBar().valueChanged.connect(lambda _value: self._visible_soon.start())

    def show_photos(self, photos: list[Path]) -> None:
        self.photos, self._rows, self._coming = [], {}, []
        self._iconed.clear()
        self.blockSignals(True)
        self.clear()
        self.blockSignals(False)
        self.add_photos(photos)

    def add_photos(self, photos: list[Path]) -> None:
        """Rows for more photos of the folder, after the others: the first ``ROWS_A_TURN`` now, the rest in the
        next turns of the event loop. A folder being listed comes in parts of thousands of photos while the
        first photo is searched on both cores: made at once, their rows held the window 120-150 ms."""
        self._coming.extend(photos)
        if not self._insert_soon.isActive():
            self._insert()

    def _insert(self) -> None:
        part, self._coming = self._coming[:ROWS_A_TURN], self._coming[ROWS_A_TURN:]
        first = len(self.photos)
        self.photos.extend(part)
        self._rows.update((str(photo), row) for row, photo in enumerate(part, first))
        self.blockSignals(True)
        self.addItems([photo.name for photo in part])  # one insertion
        self.blockSignals(False)
        if self._coming:
            self._insert_soon.start()
        self._visible_soon.start()

    def select(self, path: Path | None) -> None:
        """Select ``path`` (nothing when it is not listed) without asking to open it."""
        row = self._rows.get(str(path), -1) if path is not None else -1
        self.blockSignals(True)
        self.setCurrentRow(row)
        self.blockSignals(False)
        self._visible_soon.start()

    def step(self, delta: int) -> None:
        """Next or previous photo: moving the selection asks for it."""
        row = self.currentRow() + delta
        if 0 <= row < len(self.photos):
            self.setCurrentRow(row)

    def _chosen(self, row: int) -> None:
        if 0 <= row < len(self.photos):
            self.photoChosen.emit(self.photos[row])

    def visible_rows(self) -> range:
        """The rows in view, and ``MARGIN`` more on each side."""
        if not self.photos:
            return range(0)
        area = self.viewport().rect()
        top = self.indexAt(QPoint(area.center().x(), area.top())).row()
        bottom = self.indexAt(QPoint(area.center().x(), area.bottom())).row()
        step = self.gridSize().height() or 1
        top = top if top >= 0 else max(0, self.verticalScrollBar().value() // step)
        bottom = bottom if bottom >= 0 else top + area.height() // step
        return range(max(0, top - MARGIN), min(len(self.photos), bottom + MARGIN + 1))

    def _fill_visible(self) -> None:
        """Tooltip and thumbnail (decoded, or asked for) on the rows in view; icons of rows long gone let go."""
        rows = self.visible_rows()
        for row in rows:
            item = self.item(row)
            if not item.toolTip():
                item.setToolTip(rich_tooltip(str(self.photos[row])))  # a file name holding tags is not HTML
            self._thumbnail(str(self.photos[row]))
        while len(self._iconed) > KEPT:
            row = next(iter(self._iconed))
            if row in rows:
                break
            del self._iconed[row]
            self.item(row).setIcon(QIcon())

    def _thumbnail(self, path: str) -> None:
        """Put a decoded thumbnail on its row when in view (the first call asks for the decode), made for the
        strip's screen: ``ICON`` times its pixel ratio, so it is sharp at 150 % and 200 % too."""
        row = self._rows.get(path)
        if row is None or row not in self.visible_rows():
            return
        pixmap = self.thumbnails.for_widget(path, self, ICON)
        if pixmap is not None and not pixmap.isNull():
            self.item(row).setIcon(QIcon(pixmap))
            self._iconed[row] = None
            self._iconed.move_to_end(row)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._visible_soon.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._visible_soon.start()

    def event(self, event: QEvent) -> bool:
        """Moved to a screen of another scale: the thumbnails in view are made again for it."""
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self._visible_soon.start()
        return super().event(event)


class ListingStatus(QWidget):
    """"Listing photos: 5,000 found" and Stop, in the status bar while a folder is listed (the strip fills as
    it goes); Stop keeps the photos found so far."""

    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel()
        self.stop = QToolButton(text="Stop")
        self.stop.setToolTip("Stop listing the folder: the photos found so far stay in the Photos strip")
        self.stop.clicked.connect(self.stopRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.stop)
        self.hide()

    def found(self, count: int) -> None:
        self.label.setText(f"Listing photos: {count:,} found…")
        self.show()


class _Row(QStyledItemDelegate):
    """Every row is the grid's size: room for the picture before it is decoded."""

    def sizeHint(self, option, index) -> QSize:
        return self.parent().gridSize()
