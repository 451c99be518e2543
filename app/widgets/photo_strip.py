"""The Photos strip: a folder's photos, or those opened one at a time, as a column of thumbnails, the open one
selected.

A merchandiser opens folders of 20,000 photos: the strip's rows are made ``ROWS_A_TURN`` at a time, one
insertion per turn of the event loop (``show_photos``, then ``add_photos`` as the folder is still being
listed), and only the rows in view get their thumbnail and tooltip (asked for again as the strip
scrolls), so opening such a folder neither freezes the window nor keeps a decoded picture of every
photo. Icons of rows long out of view are let go (at most ``KEPT`` rows hold one); the thumbnail cache
decides what stays decoded.
``ListingStatus`` says how far the listing got, with a Stop button, in the status bar.

A right-click on a photo (or the Menu key) opens its folder in the file manager, copies its path, and takes a loose
photo off the strip (the file stays where it is).

Loose photos (dropped, pasted, chosen one at a time) gather: each joins the loose photos already listed, after them,
so a designer dropping a second inspiration photo still has the first a click (or a Page Up) away. A folder's photos
replace the rows, and loose photos replace a folder's: the strip is then the folder, and Page Down steps through it
alone (``show_photos``).

A photo with saved edits carries a ✓ badge in its thumbnail's corner (its tooltip and accessible name say "your
edits are saved"), so a merchandiser back from a break sees where they were. Edits are filed by the photo's content
(``engine.corrections``), not its name: the keys of the corrections folder are listed once per folder opened
(``engine.corrections.edited_keys``, in a worker), each photo's key comes with its thumbnail (``Thumbnails.digest``, hashed from the
bytes read for it), and the window passes on each save of the open photo (``mark_saved``). Only rows in view are
looked at, as for their thumbnails: a folder of 20,000 photos lists as fast as before.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDesktopServices,
    QGuiApplication,
    QIcon,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QWidget,
)

from app import theme
from app.labels import rich_tooltip
from app.thumbnails import Thumbnails
from engine.corrections import KEY_DIGITS

ICON = QSize(136, 96)
MARGIN = 4  # rows above and below the view whose thumbnails are asked for too (the next Page Down's)
KEPT = 200  # rows holding an icon at most, those in view included
ROWS_A_TURN = 2_000  # rows made in one turn of the event loop (a few ms; more with the first photo searched beside it)
SAVED_ROLE = Qt.ItemDataRole.UserRole  # a row's photo has saved edits (True), not (False), not looked at yet (None)
SAVED_WORDS = "your edits are saved"
BADGE = 20  # px: the ✓ badge's side


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
        self.loose = False  # the rows are loose photos (dropped, pasted, chosen one at a time), not a folder's
        self.folder: Path | None = None  # the one folder whose photos the rows are, if they are one folder's
        self._saved: set[str] = set()  # content keys of the photos with saved edits (``edited_keys``)
        self._told: dict[str, bool] = {}  # keys saved or not since the corrections folder's listing began
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

    def show_photos(self, photos: list[Path], loose: bool = False, folder: Path | None = None) -> None:
        """The photos just opened. ``loose`` photos join the loose photos listed: after them, in the order they were
        brought in, so the rows already there keep their place (the one being looked at does not move, Page Up goes
        back to the photo brought in before), and one brought in again keeps its single row. A folder's photos
        replace the rows, and so do loose photos while a folder's are listed: appended to a folder of thousands they
        would be out of sight at its end, and Page Down would step through the folder into them."""
        if not (loose and self.loose):
            self.photos, self._rows, self._coming = [], {}, []
            self._iconed.clear()
            self.blockSignals(True)
            self.clear()
            self.blockSignals(False)
        self.loose, self.folder = loose, folder
        self.add_photos(photos)

    def add_photos(self, photos: list[Path]) -> None:
        """Rows for more photos of the folder, after the others: the first ``ROWS_A_TURN`` now, the rest in the
        next turns of the event loop. A folder being listed comes in parts of thousands of photos while the
        first photo is searched on both cores: made at once, their rows held the window 120-150 ms. Loose photos
        already listed are left out."""
        self._coming.extend(self._unlisted(photos) if self.loose else photos)
        if not self._insert_soon.isActive():
            self._insert()

    def listed(self) -> int:
        """How many photos the strip lists, rows still to be made included."""
        return len(self.photos) + len(self._coming)

    def _unlisted(self, photos: list[Path]) -> list[Path]:
        """``photos`` the strip lists neither as a row nor as one still to be made, each once."""
        listed = set(self._rows) | {str(photo) for photo in self._coming}
        new = []
        for photo in photos:
            if str(photo) not in listed:
                listed.add(str(photo))
                new.append(photo)
        return new

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

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """The photo under the mouse (the selected one from the keyboard): its folder, its path, and off the strip
        for a loose photo, which is otherwise there until a folder is opened (the last one stays)."""
        keyboard = event.reason() == QContextMenuEvent.Reason.Keyboard
        row = self.currentRow() if keyboard else self.indexAt(event.pos()).row()
        if not 0 <= row < len(self.photos):
            return
        photo = self.photos[row]
        menu = QMenu(self)
        menu.addAction("Open Containing Folder",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(photo.parent))))
        menu.addAction("Copy Path", lambda: QGuiApplication.clipboard().setText(str(photo)))
        if self.loose:
            menu.addAction("Remove from List", lambda: self.remove(photo)).setEnabled(len(self.photos) > 1)
        at = self.viewport().mapToGlobal(self.visualItemRect(self.item(row)).center()) if keyboard else event.globalPos()
        menu.exec(at)

    def remove(self, photo: Path) -> None:
        """Take a photo off the strip (not off the disk); the open one gives way to the photo after it (before it at
        the end), as a viewer does, so the window never shows a photo the strip does not list."""
        row = self._rows.get(str(photo))
        if row is None or len(self.photos) < 2:
            return
        opened = row == self.currentRow()
        del self.photos[row]
        self._rows = {str(p): r for r, p in enumerate(self.photos)}
        self._iconed = OrderedDict((r - (r > row), None) for r in self._iconed if r != row)
        self.blockSignals(True)
        self.takeItem(row)
        self.blockSignals(False)
        if opened:
            self.setCurrentRow(-1)
            self.setCurrentRow(min(row, len(self.photos) - 1))  # asks for it (``_chosen``)
        self._visible_soon.start()

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

    def listing_saved(self) -> None:
        """The corrections folder is being listed (``show_saved`` brings it): saves said from now on stand over it,
        as the listing may have run before them."""
        self._told = {}

    def show_saved(self, keys: set[str]) -> None:
        """The content keys of the photos with saved edits, as the corrections folder was listed."""
        self._saved = set(keys)
        for key, saved in self._told.items():
            self._note(key, saved)
        self._mark_visible()

    def mark_saved(self, sha256: str, saved: bool) -> None:
        """Edits of the photo of this content hash were saved (``saved``), or found unreadable and moved aside."""
        key = sha256[:KEY_DIGITS]
        self._told[key] = saved
        self._note(key, saved)
        self._mark_visible()

    def is_saved(self, row: int) -> bool:
        """Whether the row shows its photo as having saved edits (known once its thumbnail was made)."""
        return bool(self.item(row).data(SAVED_ROLE))

    def _note(self, key: str, saved: bool) -> None:
        if saved:
            self._saved.add(key)
        else:
            self._saved.discard(key)

    def _mark_visible(self) -> None:
        for row in self.visible_rows():
            self._mark(row)

    def _mark(self, row: int) -> None:
        """The ✓ badge, tooltip and accessible name of a row, as its photo's edits are saved or not. The tooltip is
        made when the row is first looked at (a file name holding tags is not HTML)."""
        digest = self.thumbnails.digest(str(self.photos[row]))
        saved = bool(digest) and digest in self._saved
        item = self.item(row)
        if item.data(SAVED_ROLE) == saved:
            return
        item.setData(SAVED_ROLE, saved)
        path = str(self.photos[row])
        item.setToolTip(rich_tooltip(f"{path} — {SAVED_WORDS}" if saved else path))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{item.text()} — {SAVED_WORDS}" if saved else None)

    def _fill_visible(self) -> None:
        """Thumbnail (decoded, or asked for), mark and tooltip on the rows in view; icons of rows long gone let go."""
        rows = self.visible_rows()
        for row in rows:
            self._thumbnail(str(self.photos[row]))
        while len(self._iconed) > KEPT:
            row = next(iter(self._iconed))
            if row in rows:
                break
            del self._iconed[row]
            self.item(row).setIcon(QIcon())

    def _thumbnail(self, path: str) -> None:
        """Put a decoded thumbnail on its row when in view (the first call asks for the decode), made for the
        strip's screen: ``ICON`` times its pixel ratio, so it is sharp at 150 % and 200 % too. Its content key comes
        with it: the row is marked then."""
        row = self._rows.get(path)
        if row is None or row not in self.visible_rows():
            return
        self._mark(row)
        pixmap = self.thumbnails.for_widget(path, self, ICON, True)
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
    """Every row is the grid's size: room for the picture before it is decoded. A photo with saved edits gets a ✓
    badge in its picture's top right corner: the accent colour's disc, ringed in the strip's background so it stands
    off a light or dark photo in either theme."""

    def sizeHint(self, option, index) -> QSize:
        return self.parent().gridSize()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        super().paint(painter, option, index)
        if index.data(SAVED_ROLE):
            _badge(painter, _picture(self, option, index))


def _picture(delegate: QStyledItemDelegate, option: QStyleOptionViewItem, index) -> QRectF:
    """Where the row's thumbnail is drawn: its size centred in the style's room for it (the grid's picture area
    before it is decoded)."""
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    style = opt.widget.style() if opt.widget is not None else QApplication.style()
    room = style.subElementRect(QStyle.SubElement.SE_ItemViewItemDecoration, opt, opt.widget)
    size = opt.icon.actualSize(opt.decorationSize) if not opt.icon.isNull() else opt.decorationSize
    return QRectF(QStyle.alignedRect(opt.direction, Qt.AlignmentFlag.AlignCenter, size, room))


def _badge(painter: QPainter, picture: QRectF) -> None:
    """The ✓ badge in ``picture``'s top right corner, drawn (not a font's glyph: every machine has the same)."""
    c = theme.colours()
    disc = QRectF(picture.right() - BADGE - 3, picture.top() + 3, BADGE, BADGE)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(c.window), 2))
    painter.setBrush(QColor(c.accent))
    painter.drawEllipse(disc)
    tick = QPainterPath(QPointF(disc.left() + 0.27 * BADGE, disc.top() + 0.52 * BADGE))
    tick.lineTo(disc.left() + 0.43 * BADGE, disc.top() + 0.68 * BADGE)
    tick.lineTo(disc.left() + 0.73 * BADGE, disc.top() + 0.34 * BADGE)
    pen = QPen(QColor(c.accent_text), 2.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(tick)
    painter.restore()
