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

Each thumbnail also says where its photo stands in tagging, in its bottom left corner: a filled pill with its number
of tags, a hollow "0" when it was searched and holds none (nothing found, or every tag removed), a small ring when it
was never tagged, a "!" disc when it could not be read (no thumbnail, or opening or batch-tagging it failed); its
tooltip and accessible name say it in words. The counts are the scene memory's (``engine.scene_memory.tag_counts``:
one query per folder opened, in a worker, by content key as for the ✓), and the window passes on each photo kept in
the memory since (``mark_tags``: opened, searched again after a catalog change, edited) and each failure
(``mark_failed``).

Photos change under the strip: retouched and saved over, cropped, renamed, deleted in another program, their USB stick
unplugged. The strip watches the folders its photos are in (``QFileSystemWatcher``, at most ``WATCHED`` folders: a
folder is one watch, a file would be one each), and the thumbnail cache looks at its photos' files again, in a worker,
when one changes and when the app comes back to the front (``Thumbnails.recheck``). A photo whose file is another now
gets its thumbnail, ✓ and tag mark made again from its new content (a failure said for its old file is forgotten);
one gone shows as unreadable. A folder's strip is listed again too (``folderChanged``: the window lists it in a
worker as it opened it, once a burst of changes is over) and its rows follow the listing (``relist``): a photo renamed,
added (a camera import saving into it) or deleted there shows under its new name, appears or goes, the open photo's
row staying whatever happened to its file. A loose photo's row stays under its name, shown unreadable once gone.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QFileSystemWatcher,
    QPoint,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QIcon,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
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
from app.links import open_outside
from app.scene_files import caption
from app.thumbnails import Thumbnails
from app.widgets.trackpad import PixelScroll
from engine.corrections import KEY_DIGITS
from engine.scene_memory import TagCounts
from engine.words import counted

ICON = QSize(136, 96)
MARGIN = 4  # rows above and below the view whose thumbnails are asked for too (the next Page Down's)
KEPT = 200  # rows holding an icon at most, those in view included
ROWS_A_TURN = 2_000  # rows made in one turn of the event loop (a few ms; more with the first photo searched beside it)
SAVED_ROLE = Qt.ItemDataRole.UserRole  # a row's photo has saved edits (True), not (False), not looked at yet (None)
SAVED_WORDS = "your edits are saved"
BADGE = 20  # px: the ✓ badge's side
RING = 2  # px: the open photo's ring round its row
PAD = RING + 2  # px: every row's picture and name kept this far inside its cell, clear of the open photo's ring
TAGS_ROLE = Qt.ItemDataRole.UserRole + 1  # a row's photo's tags: how many, UNTAGGED, FAILED, None (not known yet)
UNTAGGED = -1  # never tagged (not in the scene memory)
FAILED = -2  # could not be read: no thumbnail, or opening or tagging it failed
UNTAGGED_WORDS = "not tagged yet"
UNREADABLE_WORDS = "could not be read"
PILL = 18  # px: the tag mark's height
TAG_GLYPH = 9  # px: the width of the tag outline drawn before the number of tags
UNTAGGED_MARK = 10  # px: the side of the mark of a photo never tagged
WATCHED = 64  # folders watched at most for photos changed in other programs (those of the first rows listed)
RECHECK_MS = 300  # a folder's changes gathered this long before its photos are looked at again (a save is several)


class PhotoStrip(QListWidget):
    """Names under thumbnails (full path in the tooltip); picking one asks for it with ``photoChosen``.

    The selection only follows photos that opened: ``select`` puts it back on the open photo when a
    pick fails, so the strip never points at a photo the window does not show.
    """

    photoChosen = Signal(Path)
    folderChanged = Signal(Path)  # a watched folder of a folder's strip changed: list ``folder`` again (``relist``)

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
        self._tags: TagCounts | None = None  # the scene memory's tag counts, once read (``show_tags``)
        self._tags_told: list[tuple[str, str, int]] = []  # photos remembered since the memory's read began
        # photos that could not be read, opened or tagged, by path: what went wrong (kept across folders: a folder's
        # first photos are tried before its rows are made, and a batch's may be in another folder)
        self._failed: dict[str, str] = {}
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _folder: self._recheck_soon.start())
        self._recheck_soon = QTimer(self, singleShot=True, interval=RECHECK_MS,
                                    timeout=self._folders_changed)
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
        PixelScroll(self)  # a trackpad's 3 px moved the photos 75 px (Qt reads its angle as a wheel's)
        self.setFixedWidth(ICON.width() + 40)
        self.currentRowChanged.connect(self._chosen)
        thumbnails.ready.connect(self._thumbnail)
        thumbnails.changed.connect(self._file_changed)
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
            if folders := self._watcher.directories():
                self._watcher.removePaths(folders)
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
        self.addItems([caption(photo) for photo in part])  # one insertion
        self.blockSignals(False)
        self._watch(part)
        if self._coming:
            self._insert_soon.start()
        self._visible_soon.start()

    def _folders_changed(self) -> None:
        """A burst of changes in the watched folders is over: the photos' files are looked at again, and a folder's
        strip asks for its folder to be listed again."""
        self.thumbnails.recheck(self._rows)
        if self.folder is not None and not self.loose:
            self.folderChanged.emit(self.folder)

    def relist(self, listing: list[Path]) -> None:
        """The strip's folder as listed again: rows of photos gone from it go, photos new to it get rows where the
        listing puts them, the others keep theirs (picture, marks), and the open photo stays listed and selected
        (gone, it shows as unreadable). Only the rows that changed are touched: a copy of 500 photos into a folder
        of 10,000 makes 500 rows, not 10,500. Ignored while rows are still being made (the folder's first listing
        is under way) and for loose photos."""
        if self._coming or self.loose:
            return
        row = self.currentRow()
        open_photo = self.photos[row] if 0 <= row < len(self.photos) else None
        target = _keeping(listing, open_photo, self.photos)
        wanted, had = set(target), set(self.photos)
        if [p for p in self.photos if p in wanted] != [p for p in target if p in had]:
            return  # not in the order the strip was listed in (both are the same walk, names sorted): left as it was
        iconed = [self.photos[r] for r in self._iconed]
        self.blockSignals(True)
        for row in reversed(range(len(self.photos))):
            if self.photos[row] not in wanted:
                self.takeItem(row)
        for row, photo in enumerate(target):
            if photo not in had:
                self.insertItem(row, caption(photo))
        self.blockSignals(False)
        self.photos = target
        self._rows = {str(p): r for r, p in enumerate(target)}
        self._iconed = OrderedDict((self._rows[str(p)], None) for p in iconed if str(p) in self._rows)
        self._watch([p for p in target if p not in had])
        self.select(open_photo)

    def _watch(self, photos: list[Path]) -> None:
        """Watch the folders of ``photos`` not watched yet, up to ``WATCHED`` folders in all."""
        watched = set(self._watcher.directories())
        room = WATCHED - len(watched)
        folders = []
        for folder in dict.fromkeys(str(photo.parent) for photo in photos):
            if len(folders) >= room:
                break
            if folder not in watched:
                folders.append(folder)
        if folders:
            self._watcher.addPaths(folders)  # a folder gone already is left out, without a word

    def _file_changed(self, path: str) -> None:
        """A listed photo's file is another now (or gone): its old failure is forgotten (its thumbnail and marks are
        made again from the file as it is on the ``ready`` that follows). Its folder is watched again: a folder
        deleted or on a USB stick unplugged lost its watch, and plugged back in it is another folder to the system."""
        if path in self._rows:
            self._failed.pop(path, None)
            self._watch([Path(path)])

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
                       lambda: open_outside(QUrl.fromLocalFile(str(photo.parent)), self))
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

    def listing_tags(self) -> None:
        """The scene memory is being read (``show_tags`` brings it): photos remembered from now on stand over it."""
        self._tags_told = []

    def show_tags(self, counts: TagCounts) -> None:
        """Every remembered photo's number of tags, as the scene memory was read."""
        self._tags = counts  # made for the strip by its worker: ``mark_tags`` adds to it
        for told in self._tags_told:
            self._note_tags(*told)
        self._mark_visible()

    def mark_tags(self, path: str, sha256: str, count: int) -> None:
        """The photo at ``path`` (of this content hash) was kept in the scene memory with ``count`` tags."""
        self._tags_told.append((path, sha256, count))
        self._note_tags(path, sha256, count)
        self._mark_visible()

    def mark_failed(self, path: str, words: str) -> None:
        """The photo at ``path`` could not be opened or tagged (``words`` say so), unless the memory holds its tags."""
        self._failed[path] = words
        self._mark_visible()

    def tags_of(self, row: int) -> int | None:
        """The row's photo's tags as shown: how many, ``UNTAGGED``, ``FAILED``, or None when not known yet."""
        return self.item(row).data(TAGS_ROLE)

    def _note_tags(self, path: str, sha256: str, count: int) -> None:
        if self._tags is not None:
            self._tags.by_key[sha256[:KEY_DIGITS]] = count
            self._tags.by_path[path] = count
        self._failed.pop(path, None)

    def _tag_state(self, path: str, digest: str | None) -> int | None:
        """The tags of the photo at ``path`` of content key ``digest`` ("" unreadable, None not made yet): by content,
        as the ✓; by path only when its bytes could not be hashed (over the size a thumbnail reads)."""
        if digest is None or self._tags is None:
            return FAILED if path in self._failed else None
        count = self._tags.by_key.get(digest) if digest else self._tags.by_path.get(path)
        if count is not None:
            return count
        return FAILED if path in self._failed else UNTAGGED

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
        """The ✓ badge, tag mark, tooltip and accessible name of a row, as its photo's edits are saved or not and as
        it is tagged. The tooltip is made when the row is first looked at (a file name holding tags is not HTML)."""
        path = str(self.photos[row])
        digest = self.thumbnails.digest(path)
        saved = bool(digest) and digest in self._saved
        tags = self._tag_state(path, digest)
        said = [tag_words(tags, self._failed.get(path, UNREADABLE_WORDS)), SAVED_WORDS if saved else ""]
        words = ", ".join(w for w in said if w)
        item = self.item(row)
        accessible = f"{item.text()} — {words}" if words else None
        if (item.data(SAVED_ROLE), item.data(TAGS_ROLE), item.data(Qt.ItemDataRole.AccessibleTextRole)) == (
                saved, tags, accessible):
            return
        item.setData(SAVED_ROLE, saved)
        item.setData(TAGS_ROLE, tags)
        item.setToolTip(rich_tooltip(f"{path} — {words}" if words else path))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, accessible)

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
        pixmap = self.thumbnails.for_widget(path, self, ICON, True)
        if pixmap is not None and pixmap.isNull():
            self._failed.setdefault(path, UNREADABLE_WORDS)
            pixmap = unreadable_picture(self.devicePixelRatioF())
        self._mark(row)
        if pixmap is not None:
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


def _keeping(listing: list[Path], open_photo: Path | None, rows: list[Path]) -> list[Path]:
    """``listing`` with ``open_photo`` kept in it when its file went: after the row before it that is still listed
    (first when none is), so the window never shows a photo the strip does not list."""
    if open_photo is None or open_photo in set(listing):
        return list(listing)
    listed = set(listing)
    before = next((p for p in reversed(rows[: rows.index(open_photo)]) if p in listed), None)
    at = listing.index(before) + 1 if before is not None else 0
    return [*listing[:at], open_photo, *listing[at:]]


def tag_words(tags: int | None, failure: str = UNREADABLE_WORDS) -> str:
    """What a tag mark says in words (tooltip, accessible name); "" when not known yet."""
    if tags is None:
        return ""
    if tags == FAILED:
        return failure
    if tags == UNTAGGED:
        return UNTAGGED_WORDS
    return counted(tags, "tag") if tags else "searched, no tags"


class _Row(QStyledItemDelegate):
    """Every row is the grid's size: room for the picture before it is decoded. A photo with saved edits gets a ✓
    badge in its picture's top right corner: the accent colour's disc, ringed in the strip's background so it stands
    off a light or dark photo in either theme. Its tag mark sits in the bottom left corner (``_tag_mark``)."""

    def sizeHint(self, option, index) -> QSize:
        return self.parent().gridSize()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        """The open photo's row ringed in the accent colour, its picture as it is: the style tinted a selected
        row's picture a third accent blue (a room's colours shown wrong, the open photo looking faded) on a
        background barely apart from the strip's, so flipping photos with Page Up / Page Down the open one was
        hard to tell."""
        plain = _inside(option)
        if option.state & QStyle.StateFlag.State_Selected:
            plain.state &= ~QStyle.StateFlag.State_Selected
            _ring(painter, QRectF(option.rect))
        super().paint(painter, plain, index)
        saved, tags = index.data(SAVED_ROLE), index.data(TAGS_ROLE)
        if saved or tags is not None:
            picture = _picture(self, option, index)
            if saved:
                _badge(painter, picture)
            if tags is not None:
                _tag_mark(painter, picture, tags, option.font)


def _picture(delegate: QStyledItemDelegate, option: QStyleOptionViewItem, index) -> QRectF:
    """Where the row's thumbnail is drawn: its size centred in the style's room for it (the grid's picture area
    before it is decoded)."""
    opt = _inside(option)
    delegate.initStyleOption(opt, index)
    style = opt.widget.style() if opt.widget is not None else QApplication.style()
    room = style.subElementRect(QStyle.SubElement.SE_ItemViewItemDecoration, opt, opt.widget)
    size = opt.icon.actualSize(opt.decorationSize) if not opt.icon.isNull() else opt.decorationSize
    return QRectF(QStyle.alignedRect(opt.direction, Qt.AlignmentFlag.AlignCenter, size, room))


def _inside(option: QStyleOptionViewItem) -> QStyleOptionViewItem:
    """``option`` for the row's picture and name: its cell less ``PAD`` each side, every row alike (the open one's
    picture where it was before it opened). Laid out over the whole cell, the open photo's name touched its ring."""
    inside = QStyleOptionViewItem(option)
    inside.rect = option.rect.adjusted(PAD, PAD, -PAD, -PAD)
    return inside


def _ring(painter: QPainter, cell: QRectF) -> None:
    """The open photo's mark: its row tinted as a button that is on and ringed in the accent colour, clear on either
    theme (drawn under the picture, which keeps its colours)."""
    c = theme.colours()
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(c.accent), RING))
    painter.setBrush(QColor(c.pressed))
    painter.drawRoundedRect(cell.adjusted(RING / 2, RING / 2, -RING / 2, -RING / 2), 6, 6)
    painter.restore()


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


def mark_look(tags: int, c: theme.Colours) -> tuple[str, str, str]:
    """The (fill, outline, ink) of a tag mark; each mark is ringed in the window colour, so what it is seen by
    (a filled mark's fill, a hollow one's outline) stands against that ring at 3:1 or more in either theme."""
    if tags == FAILED:
        return c.error, c.error, c.window
    if tags == UNTAGGED:
        return c.window, c.muted, c.muted
    if tags == 0:
        return c.window, c.text, c.text
    return c.text, c.text, c.window


def _tag_mark(painter: QPainter, picture: QRectF, tags: int, font: QFont) -> None:
    """The tag mark in ``picture``'s bottom left corner: a chip with a tag's outline and the number of tags (filled;
    hollow for none), square-cornered so it is not read as one of the photo's round numbered pins; a small ring for
    a photo never tagged; a "!" disc for one that could not be read. Drawn in logical pixels, so it is as sharp at
    200 % as the thumbnail."""
    c = theme.colours()
    fill, outline, ink = mark_look(tags, c)
    font = QFont(font)
    font.setPixelSize(11)
    font.setBold(True)
    if tags == UNTAGGED:
        mark, radius, text = QRectF(0, 0, UNTAGGED_MARK, UNTAGGED_MARK), UNTAGGED_MARK / 2, ""
    elif tags == FAILED:
        mark, radius, text = QRectF(0, 0, PILL, PILL), PILL / 2, "!"
    else:
        text = str(tags) if tags < 1000 else "999+"
        mark, radius = QRectF(0, 0, QFontMetricsF(font).horizontalAdvance(text) + TAG_GLYPH + 12, PILL), 4
    mark.moveBottomLeft(QPointF(picture.left() + 5, picture.bottom() - 5))
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(c.window), 4))  # the ring: the mark stands off any photo
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(mark, radius, radius)
    painter.setPen(QPen(QColor(outline), 1.5))
    painter.setBrush(QColor(fill))
    painter.drawRoundedRect(mark.adjusted(0.75, 0.75, -0.75, -0.75), radius, radius)
    painter.setFont(font)
    painter.setPen(QColor(ink))
    if tags >= 0:
        _tag_glyph(painter, QPointF(mark.left() + 4, mark.center().y()), ink)
        painter.drawText(mark.adjusted(TAG_GLYPH + 6, 0, -3, 0), Qt.AlignmentFlag.AlignCenter, text)
    elif text:
        painter.drawText(mark, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def unreadable_picture(dpr: float) -> QPixmap:
    """What stands for a thumbnail that could not be made: its outline, dashed in the theme's line colour, so the row
    is laid out as the others (name below, its "!" mark in the corner), not a name floating in an empty row."""
    pixmap = QPixmap(ICON * dpr)
    pixmap.setDevicePixelRatio(dpr)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(theme.colours().line), 1, Qt.PenStyle.DashLine))
    painter.drawRoundedRect(QRectF(0.5, 0.5, ICON.width() - 1, ICON.height() - 1), 3, 3)
    painter.end()
    return pixmap


def _tag_glyph(painter: QPainter, tip: QPointF, ink: str) -> None:
    """A price tag's outline pointing left from ``tip``, with its hole: what the number counts."""
    x, y = tip.x(), tip.y()
    outline = QPainterPath(QPointF(x, y))
    for dx, dy in ((3, -4), (TAG_GLYPH, -4), (TAG_GLYPH, 4), (3, 4)):
        outline.lineTo(x + dx, y + dy)
    outline.closeSubpath()
    painter.save()
    painter.setPen(QPen(QColor(ink), 1.3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(outline)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(ink))
    painter.drawEllipse(QPointF(x + 3.6, y), 1.1, 1.1)
    painter.restore()
