"""Catalog ▸ Review Uncertain Tags…: the tags the model is least sure about, across every photo tagged so far.

A list, closest call first (``engine.review_queue``: the smallest margin between a tag's two
best matches); double-clicking a row, or Enter on it, opens its photo on that tag, where confirming or correcting it is
one click; back here, the queue is listed again, the keyboard on the tag after the one confirmed (F5, Refresh, lists
it again at any time). Each confirmation is a training pair, which is why the Train window counts the corrections new
since the last training.

How sure each match is reads as the photo's panel says it ("Similar 0.55": ``engine.words.match_word`` of the
active embedder's ``Pipeline.match_kind``); the list's order is the gap between the two scores, not a score.

Each row shows the tag's object cut from its photo beside the best match's and the runner-up's product
photos, so that a row can be judged at a glance (a name and two SKUs sent the merchandiser into every photo).
The pictures are made in the window's worker, a photo at a time in the queue's order (one holding several
rows decoded once), and arrive row by row; a grey square stands in until then, and one crossed out for a photo
or product photo that is gone or unreadable (the row still opens).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QKeySequence, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.labels import BADGE_TIP, pretty, product_title, rich_tooltip, shown_sku
from app.scene_files import caption, listed_names
from app.theme import resize_to_screen
from app.thumbnails import decode_fitted
from app.widgets.escape import EscapeCloses
from app.widgets.where_used import CROP, centred, object_image, photo_pixels
from app.workers import Job, Runner, Task
from engine.catalog import Product
from engine.importer import read_alike
from engine.pipeline import Pipeline
from engine.review_queue import ReviewItem, queue_head
from engine.scene_memory import photo_count, tag_categories
from engine.words import counted, match_word, rated

LIMIT = 200  # rows listed: the least sure tags
PHOTO, BEST, RUNNER_UP = 0, 3, 4  # the columns whose cells carry a picture: the object's, then the products'
GAP = 5  # how far apart the two products' scores are: the closer, the less sure the tag
# The least size: each picture's column keeps its picture whole (shrunk by ``_Pictures``), the summary, two rows and
# Refresh show (it could be made 90 px wide, the summary a cut column of words); within 1280 × 800 at 150 %
LEAST = QSize(720, 400)
PICTURE_LEAST = 56  # px: the side the rows' pictures shrink to at the least, for their words to fit beside them
GAP_TIP = ("How much better the best match scored than the runner-up: the smaller the gap, the closer the call, "
           "and the more a look helps")
PICTURE = Qt.ItemDataRole.UserRole  # a picture cell's state: LOADING, SHOWN or MISSING
LOADING, SHOWN, MISSING = "loading", "shown", "missing"
MISSING_WORDS = {PHOTO: "the photo is gone or unreadable", BEST: "no product photo", RUNNER_UP: "no product photo"}

Pictures = list[tuple[int, QImage | None, QImage | None, QImage | None]]  # row, object, best, runner-up (None: missing)


@dataclass(frozen=True)
class Listing:
    """What the worker reads for one listing: the queue's first ``LIMIT`` tags, the products they name, how many
    tags the whole queue holds, each row's two matches' kinds ("similar", as ``Pipeline.match_kind`` rates their
    scores: the embedder it asks is opened there, off the UI thread) and how many photos are tagged."""

    items: list[ReviewItem]
    products: dict[str, Product]
    total: int
    kinds: list[tuple[str, str]]
    tagged: int
    tags: int | None = None  # in the tagged photos (None: not counted): none where nothing the catalog sells was found
    alike: frozenset[str] = frozenset()  # the SKUs named that read as another of the catalog's: shown marked
    names: dict[Path, str] = field(default_factory=dict)  # rows' photos the Photos strip lists: by its name for them


class ReviewWindow(EscapeCloses, QWidget):
    openTag = Signal(object, int)  # photo path, tag number

    def __init__(self, pipeline: Pipeline, parent: QWidget | None = None,
                 listed: Callable[[], list[Path]] = list):
        """``listed``: the photos the Photos strip lists, as it lists them: a row's photo is named as it is there (one
        opened through a link read as the file linked to, a pasted one by its file name)."""
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Review Uncertain Tags")
        self.pipeline = pipeline
        self.listed = listed
        self.items: list[ReviewItem] = []
        self.io = Runner(1, self)
        self._shown = 0  # which listing came last: only its pictures are put in
        self._pictures: Task | None = None  # the last listing's pictures being made: stopped by a refresh
        self._crossed = QIcon()  # the square drawn for a picture that cannot be had (made with each listing)
        self._away = False  # a row opened its tag in the photo's window: coming back lists the queue again
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 6)
        self.table.setAccessibleName("Uncertain tags")
        self._say("Looking through the tagged photos…")
        self.table.setHorizontalHeaderLabels(["Photo", "Tag", "Category", "Best match", "Runner-up", "Gap"])
        self.table.horizontalHeaderItem(GAP).setToolTip(GAP_TIP)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(CROP.height() + 6)
        self.table.setIconSize(CROP)  # the object and the two products side by side, at one size
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)  # a name on the lines of its tall row (the numbers' columns fit theirs)
        self.table.setTabKeyNavigation(False)  # Tab leaves for Refresh: it walked the 200 rows' 1,200 cells
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a name longer still keeps its start and its end
        header = self.table.horizontalHeader()  # the numbers are never cut; the pictures' columns share the rest
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for column in (PHOTO, BEST, RUNNER_UP):  # not sized to the longest product name: it left the photo ~210 px
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.table.setItemDelegate(_Pictures(self.table))
        self.table.activated.connect(self._open)  # a double-click, or Enter from the keyboard
        refresh = QPushButton("Refresh")
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)  # F5: back from confirming a tag, the keyboard on the list
        refresh.setToolTip(f"List the queue again, without the tags confirmed since "
                           f"({refresh.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        refresh.clicked.connect(self.refresh)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addWidget(refresh, 0, Qt.AlignmentFlag.AlignRight)  # its own width, at the right: it spanned the window
        self.setMinimumSize(LEAST)
        resize_to_screen(self, 1400, 760)  # room for the photo's name beside the two products', and five rows
        self.refresh()

    def refresh(self) -> None:
        self._stop_pictures()  # the single worker reads the queue next, not after the old rows' pictures
        pipeline, listed = self.pipeline, self.listed()
        self.io.start(lambda _job: _listing(pipeline, listed), done=self._show, failed=self._say)

    def _say(self, summary: str) -> None:
        """The line above the list, which the list's description repeats: the keyboard opens on the list, so a screen
        reader said "Uncertain tags, table" and never what the list is or that Enter opens a row."""
        self.summary.setText(summary)
        self.table.setAccessibleDescription(summary)

    def _show(self, listing: Listing) -> None:
        """The queue's rows; each product by its name, as the photo's panel shows it (a bare SKU told a
        merchandiser nothing about the two products a tag hesitates between), its SKU beside the name.
        Their pictures follow (``_picture_rows``). The row the keyboard was on is selected again (the first on the
        first listing): one cell of it was tinted, the row not selected, and a Refresh after a confirmation sent the
        merchandiser back to the top."""
        place = max(self.table.currentRow(), 0)
        items, products = listing.items, listing.products
        self.items = items
        self._say(_summary(len(items), listing.total, listing.tagged, listing.tags))
        self.table.setRowCount(len(items))
        waiting, self._crossed = _icon(self._placeholder(crossed=False)), _icon(self._placeholder(crossed=True))
        for row, (item, (best, runner_up)) in enumerate(zip(items, listing.kinds, strict=True)):
            cells = (listing.names.get(item.photo) or caption(item.photo), f"#{item.number}", pretty(item.category),
                     _product_cell(products.get(item.best_sku), item.best_sku, item.best_score, best,
                                   item.best_sku in listing.alike),
                     _product_cell(products.get(item.runner_up_sku), item.runner_up_sku, item.runner_up_score,
                                   runner_up, item.runner_up_sku in listing.alike),
                     gap_text(item.margin))
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
            self.table.item(row, 0).setToolTip(rich_tooltip(str(item.photo)))  # a file name Qt would read as HTML
            for column in (BEST, RUNNER_UP):  # whole where the window is too narrow for the column, and its words'
                self.table.item(row, column).setToolTip(rich_tooltip(f"{cells[column]}\n{BADGE_TIP}"))
            self.table.item(row, GAP).setToolTip(GAP_TIP)
            for column in (PHOTO, BEST, RUNNER_UP):
                self.table.item(row, column).setIcon(waiting)
                self.table.item(row, column).setData(PICTURE, LOADING)
        if items:
            self.table.selectRow(min(place, len(items) - 1))
        self.table.itemDelegate().words = _widest_word(self.table, [self.table.item(row, column).text()
                                                                     for row in range(len(items))
                                                                     for column in (BEST, RUNNER_UP)])
        self._picture_rows(items, products)

    def _picture_rows(self, items: list[ReviewItem], products: dict[str, Product]) -> None:
        """Make the rows' pictures in the worker, for this screen's pixel ratio; those of an older listing are
        dropped (a refresh may come while they are being made)."""
        self._stop_pictures()
        self._shown += 1
        shown, dpr = self._shown, self.table.devicePixelRatioF()
        paths = {sku: p.image_path for sku, p in products.items()}
        self._pictures = self.io.start(lambda job: _make_pictures(items, paths, dpr, job),
                                       delivered=lambda part: shown == self._shown and self._put(part))

    def _stop_pictures(self) -> None:
        if self._pictures is not None:
            self._pictures.cancel()
            self._pictures = None

    def _put(self, part: Pictures) -> None:
        """Some rows' pictures, as they come from the worker (QImages there, pixmaps only here)."""
        for row, *images in part:
            for column, image in zip((PHOTO, BEST, RUNNER_UP), images, strict=True):
                cell = self.table.item(row, column)
                cell.setIcon(self._crossed if image is None else _icon(QPixmap.fromImage(image)))
                cell.setData(PICTURE, MISSING if image is None else SHOWN)
                if image is None:  # what the crossed-out square says, to a screen reader
                    cell.setData(Qt.ItemDataRole.AccessibleDescriptionRole, MISSING_WORDS[column])

    def _placeholder(self, crossed: bool) -> QPixmap:
        """A plain square the size of a picture, in the theme's colours: crossed out where there is no picture."""
        dpr = self.table.devicePixelRatioF()
        pixmap = QPixmap(QSize(math.ceil(CROP.width() * dpr), math.ceil(CROP.height() * dpr)))
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        square = pixmap.rect().toRectF()
        square.setSize(square.size() / dpr)
        square.adjust(4, 4, -4, -4)
        painter.setBrush(self.palette().color(QPalette.ColorRole.AlternateBase))
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.drawRect(square)
        if crossed:
            painter.drawLine(square.topLeft(), square.bottomRight())
            painter.drawLine(QPointF(square.right(), square.top()), QPointF(square.left(), square.bottom()))
        painter.end()
        return pixmap

    def _open(self, index: QModelIndex) -> None:
        item = self.items[index.row()]
        self._away = True
        self.openTag.emit(Path(item.photo), item.number)

    def event(self, event: QEvent) -> bool:
        """Back from a tag a row opened, the queue is listed again (the keyboard on the row after the one confirmed):
        the tag just confirmed in the photo's window was still listed here, first, until F5, so a merchandiser working
        down the list opened it again or doubted the confirmation had taken."""
        if event.type() == QEvent.Type.WindowActivate and self._away:
            self._away = False
            self.refresh()
        return super().event(event)


class _Pictures(QStyledItemDelegate):
    """The rows' pictures at ``CROP`` where the product columns leave room for their widest word beside them,
    smaller where not (down to ``PICTURE_LEAST``): in the window of a 1366 × 768 screen at 150 % the words beside a
    96 px picture were cut to "STR…ON · 503.….16 · Simi… 0.55", every name, SKU and rating unreadable. Sized as each
    cell is painted, for the columns' widths then."""

    def __init__(self, table: QTableWidget):
        super().__init__(table)
        self.table = table
        self.words = 0  # px: the widest word of the listed products' cells (``_widest_word``)

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().initStyleOption(option, index)
        if index.column() in (PHOTO, BEST, RUNNER_UP):
            side = picture_side(min(self.table.columnWidth(BEST), self.table.columnWidth(RUNNER_UP)), self.words,
                                self.table)
            option.decorationSize = QSize(side, side)


def picture_side(column: int, words: int, view: QWidget) -> int:
    """The side of the pictures in a product column ``column`` px wide whose widest word is ``words`` px: what the
    word and the style's margins leave, between ``PICTURE_LEAST`` and ``CROP``. The margins: either side of the
    picture and of the words, the focus frame's margin and a pixel (``QCommonStyle``'s item layout)."""
    margins = 4 * (view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1)
    return max(PICTURE_LEAST, min(CROP.width(), column - words - margins))


def _widest_word(view: QWidget, texts: list[str]) -> int:
    """The width of the widest word of ``texts`` in ``view``'s font (``words``)."""
    metrics = view.fontMetrics()
    return max((metrics.horizontalAdvance(word) for text in texts for word in words(text)), default=0)


def words(text: str) -> list[str]:
    """The parts of ``text`` a line is broken between: at spaces and after hyphens ("Chrome-plated"), never at a
    no-break space (a rating's "Similar 0.55") nor a comma between words ("glass,stainless")."""
    return [word for word in re.split(r" |(?<=-)", text) if word]


def _icon(pixmap: QPixmap) -> QIcon:
    """``pixmap`` as an icon drawn as it is in a selected row too (Qt tinted it with the selection's colour:
    a blue chair, on the row being judged)."""
    icon = QIcon(pixmap)
    icon.addPixmap(pixmap, QIcon.Mode.Selected)
    return icon


def gap_text(margin: float) -> str:
    """The gap between the two scores as the table shows it: "Margin 0.000" read as no difference at all on rows
    whose scores differ past the third decimal, and was a word shop staff do not use."""
    if margin <= 0:
        return "a tie"
    return "under 0.001" if margin < 0.0005 else f"{margin:.3f}"


def _summary(listed: int, total: int, tagged: int, tags: int | None) -> str:
    """What the window lists and what to do (with no photo tagged, where photos are tagged: "open them here" said
    so of the review window, which opens none). The queue's length is said where the list stops short of it: "200
    tags to look at" was written over the first 200 of 426, as if those were all. Once every tag is confirmed it
    says so: "Nothing to review yet: open photos…" met a merchandiser who had just confirmed the last one."""
    if not listed and tagged and tags == 0:  # a rug shop's photos: "every tag … is confirmed" of none at all
        many = tagged > 1
        return (f"Nothing to review: the {counted(tagged, 'photo')} tagged so far {'have' if many else 'has'} no tags, "
                f"as nothing your catalog sells was found in {'them' if many else 'it'}. A box you draw on a photo is "
                "a tag too.")
    if not listed and tagged:
        return (f"Nothing left to review: every tag of the {counted(tagged, 'photo')} tagged so far is confirmed (or "
                "had a single match). The least sure tags of the photos you tag next are listed here.")
    if not listed:
        return ("Nothing to review yet: open photos in the main window, or tag a folder with Batch, and the tags "
                "the model is least sure of are listed here.")
    what = f"The {listed:,} least sure of {total:,} tags" if total > listed else f"{listed:,} tags to look at, least sure first"
    then = "; Refresh lists the next ones in place of those you confirmed" if total > listed else ""
    return f"{what}: double-click one (or press Enter) to open it, then confirm the right product or correct the tag{then}."


def _listing(pipeline: Pipeline, listed: Iterable[Path] = ()) -> Listing:
    """One listing (``Listing``), read together off the UI thread; ``listed``: the Photos strip's photos."""
    catalog = pipeline.catalog
    items, total = queue_head(catalog, LIMIT)
    skus = {sku for item in items for sku in (item.best_sku, item.runner_up_sku)}
    products = {p.sku: p for p in catalog.products(skus=sorted(skus))} if skus else {}
    kinds = [(pipeline.match_kind(item.best_score), pipeline.match_kind(item.runner_up_score)) for item in items]
    return Listing(items, products, total, kinds, photo_count(catalog), sum(tag_categories(catalog).values()),
                   frozenset(read_alike(catalog, skus)), listed_names((item.photo for item in items), listed))


def _make_pictures(items: list[ReviewItem], product_photos: dict[str, str], dpr: float, job: Job) -> None:
    """Worker side: each row's object cut from its photo (``CROP`` × ``dpr`` device pixels, as the Where used
    panel cuts them) and its two products' photos, delivered a photo at a time in the queue's order, so the
    top rows fill first. A photo holding several rows is decoded once; a product photo once for all its rows.
    A photo or product photo that is gone or unreadable gives None (drawn as the crossed-out square)."""
    rows_of: dict[tuple[Path, str], list[int]] = {}
    for row, item in enumerate(items):
        rows_of.setdefault((item.photo, item.sha256), []).append(row)
    product_pictures: dict[str, QImage | None] = {}

    def product(sku: str) -> QImage | None:
        if sku not in product_pictures:
            product_pictures[sku] = _product_picture(product_photos.get(sku, ""), dpr)
        return product_pictures[sku]

    for (photo, sha256), rows in rows_of.items():
        if job.cancelled():
            return
        pixels = photo_pixels(str(photo), sha256)
        job.deliver([(row, None if pixels is None else object_image(pixels, items[row], dpr),
                      product(items[row].best_sku), product(items[row].runner_up_sku)) for row in rows])


def _product_picture(path: str, dpr: float) -> QImage | None:
    """A product's photo fitted into ``CROP``, centred on its square like the object beside it; None when the
    product left the catalog or its photo cannot be read."""
    if not path:
        return None
    image = decode_fitted(path, math.ceil(CROP.width() * dpr), math.ceil(CROP.height() * dpr), dpr)
    return None if image.isNull() else centred(image, CROP, dpr)


def _product_cell(product: Product | None, sku: str, score: float, kind: str, alike: bool) -> str:
    """'IKEA 365+ · 102.919.23 · Similar 0.40': the name first, the SKU that tells look-alike variants apart, how
    sure the match is as the photo's panel rates it (a bare 0.397 said nothing of it); a product without a name goes
    by its category, as in the panel, and one removed from the catalog since the photo was tagged by its SKU alone.
    The SKU as the panel shows it (``shown_sku``): a tag torn between "XSOFA-1" and a Cyrillic "ХSOFA-1" (``alike``)
    showed the same SKU in both columns."""
    rating = rated(match_word(kind), score)
    sku = shown_sku(sku, alike)
    if product is None:
        return f"{sku} · {rating}"
    return f"{product_title(product.name, product.sku, product.category)} · {sku} · {rating}"
