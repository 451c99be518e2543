"""The catalog tab: product thumbnails with search and category filter, import and removal.

Queries, imports and removals run in workers; the pipeline keeps the search index in step with the
catalog on every import and removal, so new products are matched without a restart.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeySequence,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QShortcut,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.labels import (
    by_name,
    own_direction,
    pretty,
    product_detail,
    product_title,
    rich_tooltip,
    shown,
    shown_sku,
)
from app.settings import AppSettings
from app.thumbnails import Thumbnails
from app.widgets.duplicates_view import DuplicatesView
from app.widgets.flow_layout import Flow
from app.widgets.trackpad import PixelScroll
from app.widgets.where_used import WhereUsedPanel
from app.window_memory import remember
from app.workers import Runner, Task
from engine.catalog import Interrupted, Product
from engine.importer import ImportReport
from engine.pipeline import Pipeline
from engine.search_text import MAX_TEXT
from engine.words import counted

MAX_SHOWN = 5000
TILE = QSize(168, 212)  # picture, then three lines: name, SKU and category, price
PRICE_LINE = 22  # px of a tile's price line: a grid of products none priced (a folder import) goes without it
ICON = QSize(128, 128)
SEARCH_DELAY_MS = 250
# The tab's least width, whatever is where: the search row with the chip, the sort box and the buttons moved below,
# and those wrapping there. At 770 px the window with the Photos strip was 956 px wide, past a 1366 × 768 laptop's
# screen at 150 % (911 px): Settings, Remove tag and the status bar's end were off it.
LEAST_WIDTH = 640
CHIP_ORIGIN = 200  # px of the chip's origin ("Not in week2.csv") at most: a long feed name would widen the window
ROOT = QModelIndex()
# after a first import, in the words of the photo tab's tag list and panel; a report of lines waits to be read
FIRST_IMPORT_NEXT = ("Next: open a room photo (File ▸ Open Photo…, Ctrl+O) or a folder of them (Ctrl+Shift+O), "
                     "then click a tag on it to see the products that match it.")
# the grid's orders, as the sort box words them, each one of ``Catalog.ORDERS``
SORTS = (("Category", "category"), ("Name A–Z", "name"), ("Price low → high", "price"),
         ("Price high → low", "price_desc"), ("SKU", "sku"), ("Recently added", "recent"))
SORT_TIP = ("The order the products are listed in; products without a price come last in either price order. "
            "Selected products stay selected.")
IMPORT_CANCELLED = "The import of {} was cancelled; the catalog is unchanged."
SKIPPED_NAMED = 5  # skipped rows an import's message names, one line each
ONE_LINE = str.maketrans({"\n": "\\u000a", "\r": "\\u000d"})


class ProductModel(QAbstractListModel):
    """Products as grid tiles; thumbnails arrive when decoded."""

    def __init__(self, thumbnails: Thumbnails):
        super().__init__()
        self.products: list[Product] = []
        self.alike: set[str] = set()  # the listed SKUs that read as another of the catalog's (``read_alike``)
        self.thumbnails = thumbnails
        self._rows: dict[str, list[int]] = {}
        self._blanks: dict[str, QPixmap] = {}  # a theme's panel colour -> its square
        thumbnails.ready.connect(self._thumbnail_ready)

    def set_products(self, products: list[Product], alike: set[str] | frozenset[str] = frozenset()) -> None:
        """List ``products``; those of ``alike`` SKUs show the characters they read alike by marked (``shown_sku``)."""
        self.beginResetModel()
        self.products, self.alike = products, set(alike)
        self._rows = {}
        for row, product in enumerate(products):
            self._rows.setdefault(product.image_path, []).append(row)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = ROOT) -> int:
        return 0 if parent.isValid() else len(self.products)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        product = self.products[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return product_title(product.name, product.sku, product.category)
        if role == Qt.ItemDataRole.AccessibleTextRole:  # a screen reader said "ALINA" of two ALINA tiles
            title = product_title(product.name, product.sku, product.category)
            alike = product.sku in self.alike
            return f"{title}, {product_detail(product.name, product.sku, product.category, product.price, alike)}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.picture(index.row(), 1.0)
        if role == Qt.ItemDataRole.ToolTipRole:  # escaped: Qt would render a name holding tags as HTML
            sku = shown_sku(product.sku, product.sku in self.alike)
            lines = [product.name, f"SKU {sku}", pretty(product.category), product.price, product.url]
            return rich_tooltip("\n".join(shown(line) for line in lines if line))
        if role == Qt.ItemDataRole.UserRole:
            return product
        return None

    def picture(self, row: int, dpr: float) -> QPixmap:
        """The product's picture for a tile on a screen of pixel ratio ``dpr`` (``ICON`` × ``dpr`` device pixels,
        marked with it: sharp at 150 % and 200 %), a grey square until it is decoded."""
        pixmap = self.thumbnails.get(self.products[row].image_path, ICON, dpr)
        return self._blank() if pixmap is None or pixmap.isNull() else pixmap

    def _blank(self) -> QPixmap:
        """The square a tile shows until its picture is decoded, in the theme's panel colour: a fixed light grey
        was a row of pale squares in the dark theme while a catalog's pictures came."""
        colour = theme.colours().alternate
        if colour not in self._blanks:
            self._blanks[colour] = QPixmap(ICON)
            self._blanks[colour].fill(QColor(colour))
        return self._blanks[colour]

    def _thumbnail_ready(self, path: str) -> None:
        for row in self._rows.get(path, []):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class ProductTile(QStyledItemDelegate):
    """A product as a card: picture, name, sku and category in grey, then the price as the feed wrote it.

    Colours come from the palette, so tiles follow the light and dark themes; text is drawn as plain
    text (``drawText``), never as HTML.
    """

    LINE_GAP = 3

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        product: Product = index.data(Qt.ItemDataRole.UserRole)
        pixmap = index.model().picture(index.row(), _pixel_ratio(option, painter))
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        card = QRectF(option.rect).adjusted(5, 5, -5, -5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = palette.color(QPalette.ColorRole.Highlight)
        border = accent if selected else palette.color(QPalette.ColorRole.Mid)
        painter.setPen(QPen(border, 2 if selected else 1))
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(card, 8, 8)
        picture = pixmap.size().scaled(ICON, Qt.AspectRatioMode.KeepAspectRatio)
        left = card.left() + (card.width() - picture.width()) / 2
        top = card.top() + 8 + (ICON.height() - picture.height()) / 2
        painter.drawPixmap(QRectF(left, top, picture.width(), picture.height()).toRect(), pixmap)
        text = self.text_area(QRectF(option.rect))
        alike = product.sku in index.model().alike
        for text_line, font, role in self.lines(product, painter.font(), int(text.width()), alike):
            painter.setFont(font)
            painter.setPen(palette.color(role))
            self.draw_line(painter, text, text_line)
            text.setTop(text.top() + QFontMetrics(font).height() + self.LINE_GAP)
        painter.restore()

    @staticmethod
    def draw_line(painter: QPainter, area: QRectF, line: str) -> None:
        """One of the tile's lines at the top left of ``area``, read in its own direction (``own_direction``): a
        Hebrew name with a Latin word in it was laid out left to right, its words in the wrong order, and cut with
        "…" at its start."""
        option = QTextOption(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignAbsolute | Qt.AlignmentFlag.AlignTop)
        option.setTextDirection(own_direction(line))
        option.setWrapMode(QTextOption.WrapMode.NoWrap)
        painter.drawText(area, line, option)

    @staticmethod
    def text_area(cell: QRectF) -> QRectF:
        """Where the tile's lines go in its grid cell: under the picture, inside the card's border."""
        return cell.adjusted(15, 5 + ICON.height() + 14, -15, -9)

    @staticmethod
    def lines(product: Product, font: QFont, width: int,
              alike: bool = False) -> list[tuple[str, QFont, QPalette.ColorRole]]:
        """The tile's lines as painted, each elided to ``width``: the name in bold, SKU and category in grey, the
        price in the text colour on a line of its own (none when the feed gave none). At the end of the grey line
        the price was elided away on nearly every tile: "601.592.28 · Bathroom …". An ``alike`` SKU, one that reads
        as another, shows its characters drawn alike marked (``shown_sku``)."""
        bold = QFont(font)
        bold.setBold(True)
        texts = [(product_title(product.name, product.sku, product.category), bold, QPalette.ColorRole.Text),
                 (product_detail(product.name, product.sku, product.category, alike=alike), font,
                  QPalette.ColorRole.PlaceholderText),
                 (shown(product.price), font, QPalette.ColorRole.Text)]
        return [(QFontMetrics(f).elidedText(text, Qt.TextElideMode.ElideRight, width), f, role)
                for text, f, role in texts if text]

    def sizeHint(self, option: QStyleOptionViewItem, _index: QModelIndex) -> QSize:
        """The grid's cell: tiles widen with the columns the grid stretches."""
        view = option.widget
        return view.gridSize() if isinstance(view, QListView) and view.gridSize().isValid() else TILE


def _pixel_ratio(option: QStyleOptionViewItem, painter: QPainter) -> float:
    """The screen's device pixels per logical pixel where the tile is painted."""
    return option.widget.devicePixelRatioF() if option.widget is not None else painter.device().devicePixelRatioF()


BACKED_UP = "The catalog as it was before this import is backed up: Catalog ▸ Restore a Backup… brings it back."
REMOVE_TIP = "Remove the products selected in the grid (Delete); the catalog is backed up first"
REMOVE_NOTHING = "Select products in the grid to remove them"
DUPLICATES_TIP = "Find the products whose photos are identical or nearly so"
DUPLICATES_NOTHING = "Needs at least two products in the catalog"
EMPTY_CATALOG = ("No products yet. Import bundle… takes a catalog bundle (.dlcat) exported by DecorLens; "
                 "Import folder… takes a folder with one subfolder of product photos per category; "
                 "Import CSV… takes a product feed (sku, name, category, image).")
NO_MATCH = "No product matches the search or category."
CATEGORIES_NAMED = 3  # categories an empty search's words name, as the category box words them


class ProductGrid(QListView):
    """The tile grid, its columns stretched to fill the width: no empty strip at the right edge. Empty, it
    says why in its middle (``placeholder``): a blank grid gave a new user nothing to go on."""

    placeholder = ""
    priced = True  # whether the tiles keep a line for the price

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        PixelScroll(self)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def updateGeometries(self) -> None:
        """A wheel's notch scrolls one row of tiles: Qt's step was a row, and a notch the system's lines of
        steps (3 rows, 570 px), more than a laptop's grid shows, so rows went by unseen."""
        super().updateGeometries()
        lines = max(1, QApplication.wheelScrollLines())
        self.verticalScrollBar().setSingleStep(max(1, self.gridSize().height() // lines))

    def show_prices(self, priced: bool) -> None:
        """Tiles with a price line when a listed product has a price, else without: an empty band under every
        tile of a catalog with no prices (a folder import, a feed with no price column)."""
        if priced != self.priced:
            self.priced = priced
            self._fit()

    def _fit(self) -> None:
        width = self.layout_width()
        columns = max(1, width // TILE.width())
        self.setGridSize(QSize(width // columns, TILE.height() - (0 if self.priced else PRICE_LINE)))

    def layout_width(self) -> int:
        """The width QListView lays a row of tiles out in: the viewport's without scroll bars, less the
        vertical one's, which it keeps free whether shown or not, less the last pixel, which wraps a cell
        reaching it. From the viewport's width, the grid was often a column short: a tile-wide empty strip."""
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        return self.maximumViewportSize().width() - scroll_bar - 1

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.model() is not None and self.model().rowCount() == 0 and self.placeholder:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            area = self.viewport().rect().adjusted(40, 0, -40, 0)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()


def skipped_lines(skipped: list[tuple[str, str]]) -> list[str]:
    """One line per skipped row, the first SKIPPED_NAMED of them, then how many more: the message named only the
    first, so a second bad row (a photo missing) was said nowhere in the app. A newline the feed put in a SKU or
    a path shows as ``\\u000a``, as the CLI shows it: it would make a line of its own, worded by the feed."""
    lines = [f"Skipped {where}: {why}".translate(ONE_LINE) for where, why in skipped[:SKIPPED_NAMED]]
    more = len(skipped) - SKIPPED_NAMED
    return lines + ([f"… and {more:,} more skipped."] if more > 0 else [])


class ButtonFlow(Flow):
    """The catalog's buttons, wrapping onto a further line where their row is narrower than they are: as wide as
    all of them in a line where there is room (a ``Flow`` asks for one button's width only)."""

    def sizeHint(self) -> QSize:
        hints = [item.sizeHint() for item in self.items if not item.isEmpty()]
        margins = self.contentsMargins()
        width = sum(h.width() for h in hints) + self.spacing() * max(0, len(hints) - 1)
        height = max((h.height() for h in hints), default=0)
        return QSize(width + margins.left() + margins.right(), height + margins.top() + margins.bottom())


def pair(label: QLabel, box: QWidget) -> QWidget:
    """``label`` then ``box``, in one widget that the search row keeps together when it moves the box to the
    buttons' row, and measures whole."""
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(label)
    row.addWidget(box)
    return holder


class CatalogView(QWidget):
    catalogChanged = Signal(int)  # product count: the catalog itself changed (or was first listed), not a filter
    message = Signal(str, str)  # text, level
    removed = Signal(str)  # a removal's message: the catalog was backed up first, so Restore a Backup… undoes it
    importFinished = Signal(object)  # ImportReport, or the message when cancelled or failed
    # Import bundle…, shown while the catalog is empty: a bundle is what staff are most often handed, and its
    # import was only in the Catalog menu. The window imports it as Catalog ▸ Import a Catalog Bundle… does.
    importBundle = Signal()

    def __init__(
        self,
        pipeline: Pipeline,
        engine: Runner,
        io: Runner,
        thumbnails: Thumbnails,
        parent: QWidget | None = None,
        settings: AppSettings | None = None,
    ):
        super().__init__(parent)
        self.pipeline = pipeline
        self.settings = settings  # where the sort chosen is remembered; None: not remembered (a bench, a test)
        self.engine, self.io = engine, io
        self.model = ProductModel(thumbnails)
        self.importing: Task | None = None
        self.removing = False  # a removal runs: Remove selected waits for it
        self.duplicates: DuplicatesView | None = None
        self._query = 0
        self._changed = False  # a refresh for a changed catalog is listed, not yet announced
        self.only: list[str] | None = None  # the products chosen elsewhere (the map's selection), or all
        self._origin = ""  # where they were chosen, as the chip names it ("Map selection")
        self._select_listed = False  # select every product of the next listing (they were chosen elsewhere)
        self._resorted: list[str] | None = None  # the sort changed: the SKUs selected then, selected again once listed
        self.total = 0  # products in the catalog as last listed, whatever the search and category
        self._build()
        self._debounce = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS, timeout=self._filter)
        self.search.textChanged.connect(self._debounce.start)
        self.category.activated.connect(lambda _index: self._filter())
        self.order.activated.connect(lambda _index: self._sort())

    def _build(self) -> None:
        self.search = QLineEdit(placeholderText="Search name or SKU…", clearButtonEnabled=True)
        self.search.setAccessibleName("Search the catalog")  # the placeholder is no name to a screen reader
        self.search.setMaxLength(MAX_TEXT)  # a longer paste was refused by the engine at each typing pause
        self.search.setMinimumWidth(self.search.fontMetrics().horizontalAdvance(self.search.placeholderText()) + 40)
        # as wide as its longest entry, then and whenever the counts change: it was squeezed (and its text cut to
        # "All categories (33") where the Map selection chip took room, and kept its first width as counts grew
        self.category = QComboBox(sizeAdjustPolicy=QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.category.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        # AT-SPI names a combo box by its entry alone, whatever its accessible name: a buddy label names it (Alt+G;
        # Alt+C is the Catalog menu's)
        self.category_label = QLabel("Cate&gory:", buddy=self.category)
        self.category.setAccessibleName("Show products of category")
        self.filtering = pair(self.category_label, self.category)
        self.order = self._sort_box()
        self.order_label = QLabel("&Sort:", buddy=self.order)  # Alt+S; Tab from the category box reaches it too
        self.sorting = pair(self.order_label, self.order)  # in the search row or, where it is full, the buttons' row
        self.count = QLabel()
        self.only_chip = QPushButton(objectName="onlyChip")  # "Map selection: 12 ✕" while the grid shows only those
        self.only_chip.clicked.connect(self.show_all)
        self.only_chip.hide()
        self.count.setMinimumWidth(1)  # it gives way before the buttons: the window fits 1,000 px with the photo strip
        self.import_bundle = QPushButton("Import bundle…")
        self.import_bundle.setToolTip("A catalog bundle (.dlcat) exported by DecorLens: its products, photos and "
                                      "categories")
        self.import_bundle.clicked.connect(self.importBundle)
        self.import_bundle.hide()  # until a listing finds the catalog empty
        self.import_folder = QPushButton("Import folder…")
        self.import_folder.setToolTip("A folder with one subfolder of product photos per category")
        self.import_folder.clicked.connect(self.choose_folder)
        self.import_csv = QPushButton("Import CSV…")
        self.import_csv.setToolTip(
            "A product CSV: sku, name, category, image, url, price "
            "(Google Merchant and Shopify exports work as they are)"
        )
        self.import_csv.clicked.connect(self.choose_csv)
        self.remove = QPushButton("Remove selected")
        self.remove.clicked.connect(self.remove_selected)
        self.find_duplicates = QPushButton("Find duplicates…")
        self.find_duplicates.clicked.connect(self.show_duplicates)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)  # the room left goes to the search box: its placeholder was cut at 1,000 px
        for widget in (self.only_chip, self.filtering, self.sorting, self.count):
            top.addWidget(widget)
        self.actions = QWidget()  # at the end of the search row, or on a row of its own where that has no room
        self.buttons = ButtonFlow()  # wrapping there: in one row the last two buttons were cut at the least width
        self.buttons.setContentsMargins(0, 0, 0, 0)
        for widget in (self.import_bundle, self.import_folder, self.import_csv, self.remove, self.find_duplicates):
            self.buttons.addWidget(widget)
        self.actions.setLayout(self.buttons)
        top.addWidget(self.actions)
        self.top_row, self.actions_row = top, QHBoxLayout()
        self.actions_row.addStretch(1)
        self.progress = QProgressBar(textVisible=False)  # 6 px tall (the theme): a percentage would be cut
        self.progress.setAccessibleName("Import progress")  # a screen reader said "progress bar" alone
        self.progress_label = QLabel()
        self.cancel = QPushButton("Cancel")
        self.cancel.setAccessibleName("Cancel the import")  # of what, in a tab that also has the search and grid
        self.cancel.clicked.connect(self.cancel_import)
        self.progress_row = QWidget()
        row = QHBoxLayout(self.progress_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress_label)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel)
        self.progress_row.hide()
        self.grid = ProductGrid()
        self.grid.setModel(self.model)
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setUniformItemSizes(True)
        self.grid.setGridSize(TILE)
        self.grid.setIconSize(ICON)
        self.grid.setItemDelegate(ProductTile(self.grid))
        self.grid.setObjectName("productGrid")
        self.grid.setAccessibleName("Products")
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        delete = QShortcut(QKeySequence.StandardKey.Delete, self.grid, self.remove_selected)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)  # Delete on the photo removes a tag instead
        self.where_used = WhereUsedPanel(self.pipeline, self.io)
        self.where_used.failed.connect(lambda m: self.message.emit(m, "error"))
        self.where_used.productRequested.connect(self._show_goes_with)
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._selection_changed)  # a new listing drops the selection silently
        self._enable_buttons()
        self.split = split = QSplitter()  # its sizes remembered by the main window
        split.addWidget(self.grid)
        split.addWidget(self.where_used)
        split.setStretchFactor(0, 1)
        split.setSizes([900, 320])
        self.setMinimumWidth(LEAST_WIDTH)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self.actions_row)
        layout.addWidget(self.progress_row)
        layout.addWidget(split, 1)
        self.buttons.setSpacing(max(0, top.spacing()))  # the search row's, now that it has its widget's style

    def _sort_box(self) -> QComboBox:
        """The sort choices, set to the one last chosen: the grid was always by category, then name, and a
        merchandiser looking for the cheapest sofas or last week's products scrolled through them all."""
        box = QComboBox(sizeAdjustPolicy=QComboBox.SizeAdjustPolicy.AdjustToContents)
        box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        for text, order in SORTS:
            box.addItem(text, order)
        box.setCurrentIndex(max(0, box.findData(self.settings.catalog_order if self.settings else "category")))
        box.setAccessibleName("Sort products by")
        box.setToolTip(SORT_TIP)
        return box

    def _sort(self) -> None:
        """List in the order chosen, remembered for the next start; the products selected stay selected, the
        first of them scrolled into view (a new listing drops the selection and starts at the top)."""
        if self.settings is not None:
            self.settings.catalog_order = self.order.currentData()
        self._resorted = self.selected_skus()
        self._filter()

    def _select_again(self, skus: list[str]) -> None:
        """Select the listed products among ``skus`` (one selection of row runs: thousands selected one by one
        took seconds), the keyboard on the first, scrolled into view; none of them listed, the grid's top: it
        stayed scrolled as far down as before, among other products."""
        wanted = set(skus)
        rows = [row for row, product in enumerate(self.model.products) if product.sku in wanted]
        if not rows:
            self.grid.scrollToTop()
            return
        selection = QItemSelection()
        start = rows[0]
        for before, row in zip(rows, [*rows[1:], None]):
            if row != before + 1:
                selection.select(self.model.index(start), self.model.index(before))
                start = row
        chosen = self.grid.selectionModel()
        chosen.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        chosen.setCurrentIndex(self.model.index(rows[0]), QItemSelectionModel.SelectionFlag.NoUpdate)
        self.grid.scrollTo(self.model.index(rows[0]), QAbstractItemView.ScrollHint.PositionAtCenter)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_actions()

    def _place_actions(self) -> None:
        """The import and removal buttons at the end of the search row where the row has room for everything at
        its size, else on a row of their own below it, wrapping there where it is narrow (``ButtonFlow``). In one
        row at the window's least width the category box was cut to "All categories (33" beside a chip, and the
        search box to "S…". The sort box goes down too, at the start of that row, where the search row has no
        room for it, and before it the chip, where the row has no room even for that (a chip naming a long feed)."""
        room = self.width() - self.layout().contentsMargins().left() - self.layout().contentsMargins().right()
        searching = [self.search, self.only_chip, self.filtering, self.count]
        chip_fits = self._wanted(searching) <= room
        sort_fits = chip_fits and self._wanted([*searching, self.sorting]) <= room
        fits = sort_fits and self._wanted([*searching, self.sorting, self.actions]) <= room
        self._move(self.only_chip, chip_fits, self.top_row.indexOf(self.filtering), 0)  # before the box; first below
        chip_below = self.actions_row.indexOf(self.only_chip) >= 0
        self._move(self.sorting, sort_fits, self.top_row.indexOf(self.count), int(chip_below))  # after the chip
        self._move(self.actions, fits, -1, -1)  # at the end of either row

    def _wanted(self, widgets: list[QWidget]) -> int:
        """The width ``widgets`` (those shown) take in the search row at their size: the search box at its least."""
        shown = [w for w in widgets if not w.isHidden()]
        spacing = max(0, self.top_row.spacing()) * (len(shown) - 1)
        return spacing + sum(w.minimumWidth() if w is self.search else w.sizeHint().width() for w in shown)

    def _move(self, widget: QWidget, up: bool, above: int, below: int) -> None:
        """``widget`` into the search row at ``above`` if ``up``, else into the buttons' row at ``below`` (-1: at
        the end), unless it is there already; at that row's top, level with the first line of wrapped buttons."""
        if up != (self.top_row.indexOf(widget) >= 0):
            (self.actions_row if up else self.top_row).removeWidget(widget)
            if up:
                self.top_row.insertWidget(above, widget)
            else:
                self.actions_row.insertWidget(below, widget, 0, Qt.AlignmentFlag.AlignTop)

    # -- listing --------------------------------------------------------------------------------

    def refresh(self, changed: bool = True) -> None:
        """Re-query categories and products for the current search text and category.

        ``changed``: the catalog may differ from what was listed, so ``catalogChanged`` follows once
        listed (even if a filter's query overtakes this one).
        """
        self._changed |= changed
        self._query += 1
        query, pipeline = self._query, self.pipeline
        category, text, only = self.category.currentData(), self.search.text().strip(), self.only
        order = self.order.currentData()

        def superseded() -> bool:
            return query != self._query  # typed over: a million products' query is a second

        def work(_job) -> tuple[dict[str, int], list[Product], set[str]] | None:
            if superseded():  # typed over while it waited
                return None
            catalog = pipeline.catalog  # opened here: a corrupt file fails in the worker, as a message
            try:
                with catalog.interruptible(superseded):  # typed over while it runs: stopped, not an error
                    products = catalog.products(category, text, limit=MAX_SHOWN, skus=only, order=order)
                    # the catalog's look-alikes kept per revision: read_alike scanned every SKU at each listing,
                    # each keystroke's (0.3 s at a million products once a SKU listed is outside ASCII)
                    return catalog.category_counts(), products, set(pipeline.alike_among(p.sku for p in products))
            except Interrupted:
                return None

        self.io.start(
            work,
            done=lambda r: query == self._query and r is not None and self._show(*r),
            failed=lambda m: self.message.emit(m, "error"),
        )

    def show_skus(self, skus: list[str], origin: str = "Map selection", select: bool = True) -> None:
        """List only ``skus`` (chosen on the map, or a product double-clicked under Goes with), all of them
        selected unless ``select`` is False, until the chip beside the search box is clicked; the search text and
        category narrow them further. A category filter is dropped: the products were chosen across categories."""
        self.only, self._select_listed, self._origin = list(skus), select, origin
        self._label_chip()
        self.only_chip.show()
        self._place_actions()
        self.category.setCurrentIndex(0)
        self._filter()

    def _label_chip(self) -> None:
        """The chip names where the listed few came from and counts them."""
        origin, count = self._origin, len(self.only or [])
        shown = self.only_chip.fontMetrics().elidedText(origin, Qt.TextElideMode.ElideMiddle, CHIP_ORIGIN)
        self.only_chip.setText(f"{shown}: {count:,} ✕")
        self.only_chip.setToolTip(f"{origin}: only these products are listed. Click to show the whole catalog again.")
        self.only_chip.setAccessibleName(f"{origin}, {counted(count, 'product')}: show the whole catalog")

    def _show_goes_with(self, sku: str) -> None:
        """A product double-clicked under Goes with, listed and selected alone: the search text that found the
        product it goes with would hide it (a SKU typed matches only that one)."""
        self.search.blockSignals(True)  # one listing, not a second one from the typing delay
        self.search.clear()
        self.search.blockSignals(False)
        self.show_skus([sku], "Goes with")

    def show_all(self) -> None:
        """Back to the whole catalog from a chosen few."""
        self._drop_only()
        self._filter()

    def _drop_only(self) -> None:
        self.only, self._select_listed = None, False
        self.only_chip.hide()
        self._place_actions()

    def _forget_removed(self, removed: list[str]) -> None:
        """The chosen few less the products just removed; none left, the whole catalog. Removing what an import
        listed as no longer in the feed (its message says Remove selected does it) left an empty grid saying "No
        product matches the search or category" under a chip still counting them."""
        gone = set(removed)
        left = [sku for sku in self.only or [] if sku not in gone]
        if left:
            self.only = left
            self._label_chip()
        else:
            self._drop_only()

    def _filter(self) -> None:
        """The search text or category changed: list anew without announcing a catalog change, which
        marked the Map tab stale (re-read and redrawn when next shown: 250 ms of frozen window for
        1,955 products, seconds for 20,000) and re-read the open photo's products."""
        self.refresh(changed=False)

    def _no_match(self, counts: dict[str, int]) -> str:
        """What an empty grid says of a search that found nothing: where the text names a category ("lamp"), that
        the box beside lists it. "No product matches" for "lamp" in a catalog of 149 lamps sent a merchandiser
        away thinking it had none: the search reads names and SKUs only."""
        text = self.search.text().strip()
        wanted = unicodedata.normalize("NFC", text).casefold()  # a Mac's "é" is e + U+0301; the names are NFC
        named = [n for n in by_name(counts) if wanted and wanted in pretty(n).casefold()]
        if not named or self.category.currentData() is not None or self.only is not None:
            return NO_MATCH
        listed = ", ".join(f"{pretty(n)} ({counts[n]:,})" for n in named[:CATEGORIES_NAMED])
        return f"No product's name or SKU holds “{text}”. To list a category, choose it in the box beside: {listed}."

    def _show(self, counts: dict[str, int], products: list[Product], alike: set[str]) -> None:
        chosen = self.category.currentData()
        total = self.total = sum(counts.values())
        self.category.clear()
        self.category.addItem(f"All categories ({total:,})", None)
        for name in by_name(counts):
            self.category.addItem(f"{pretty(name)} ({counts[name]:,})", name)
        self.category.setCurrentIndex(max(0, self.category.findData(chosen)))
        self.import_bundle.setHidden(total > 0)
        self._place_actions()  # the box is as wide as its longest entry: the counts may have widened it
        self.grid.placeholder = EMPTY_CATALOG if total == 0 else self._no_match(counts)
        self.model.set_products(products, alike)
        self.grid.show_prices(any(p.price for p in products))
        self.grid.viewport().update()
        more = f" (first {MAX_SHOWN:,})" if len(products) == MAX_SHOWN else ""
        self.count.setText(f"{len(products):,} shown{more}")
        if self._select_listed:
            self._select_listed = False
            self.grid.selectAll()
        if self._resorted is not None:
            resorted, self._resorted = self._resorted, None
            self._select_again(resorted)
        self._enable_buttons()
        if self._changed:
            self._changed = False
            self.catalogChanged.emit(total)

    # -- import ---------------------------------------------------------------------------------

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of category subfolders")
        if folder:
            self.import_from(Path(folder))

    def choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a product CSV", "", "CSV files (*.csv *.tsv *.txt)"
        )
        if path:
            self.import_from(Path(path))

    def import_from(self, source: Path) -> None:
        """Import in a worker with progress; Cancel leaves the catalog as it was (one transaction)."""
        if self.importing is not None:
            self.message.emit("An import is already running.", "info")
            return
        self._set_importing(True, f"Importing {source.name}…")
        self.message.emit(f"Importing {source.name}…", "info")  # in place of any "catalog is empty" call
        pipeline = self.pipeline
        self.importing = self.engine.start(
            lambda job: pipeline.import_catalog(source, job.progress, job.cancelled),
            done=lambda report: self._imported(source, report),
            failed=lambda m: self._import_ended(m, "error"),
            cancelled=lambda _m: self._import_ended(IMPORT_CANCELLED.format(source.name), "info"),
            progress=self._progress,
        )

    def cancel_import(self) -> None:
        if self.importing is not None:
            self.importing.cancel()
            self.progress_label.setText("Cancelling…")

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress_label.setText(f"Importing {done:,} of {total:,} products…")

    def _imported(self, source: Path, report: ImportReport) -> None:
        self._set_importing(False)
        if report.changed.get("image_hash"):  # a photo replaced at the path its thumbnail is kept by
            self.model.thumbnails.forget()
        why = report.nothing_imported()
        lines = [f"Catalog import done: {report.summary()}." if why is None else
                 f"Nothing imported from {source.name}: {why}."]
        lines += [BACKED_UP] if report.backup is not None else []  # as the CLI names it: a bad week's feed undone
        lines += skipped_lines(report.skipped)
        renamed = report.renamed_line()
        lines += [f"{renamed}."] if renamed else []
        unsearched = report.unsearched_line(self.pipeline.categories)
        lines += [f"{unsearched}."] if unsearched else []
        uncovered = report.uncovered_line(source.name) if why is None else None
        lines += [f"{uncovered}."] if uncovered else []
        absent = report.absent_line(source.name) if why is None else None
        shrunk = report.shrunk_line(source.name) if why is None else None
        if absent and shrunk:  # a feed cut short: listed, none selected, so one Remove selected takes out nothing
            lines += [f"{absent}; they are listed now, not selected: ✕ beside the search shows all.", f"{shrunk}."]
            self.show_skus(report.absent, f"Not in {source.name}", select=False)
        elif absent:  # listed, all selected: one Remove selected takes out what the supplier dropped
            lines.append(f"{absent}; they are listed and selected now: Remove selected removes them, ✕ beside "
                         "the search shows all.")
            self.show_skus(report.absent, f"Not in {source.name}")
        unsourced = report.unsourced_line(source.name) if why is None else None
        lines += [f"{unsourced}."] if unsourced else []
        if why is None and self.total == 0:  # the first import: a new user was left on this tab, told nothing more
            lines.append(FIRST_IMPORT_NEXT)
        # not "done" in green where nothing was imported, nor where the feed looks cut short: that asks for a look
        self.message.emit("\n".join(lines), "error" if why is not None else "info" if shrunk else "done")
        self.refresh()
        self.importFinished.emit(report)

    def _import_ended(self, text: str, level: str) -> None:
        self._set_importing(False)
        self.message.emit(text, level)
        self.importFinished.emit(text)

    def _set_importing(self, on: bool, text: str = "") -> None:
        if not on:
            self.importing = None
        self.progress_row.setVisible(on)
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress_label.setText(text)
        for button in (self.import_bundle, self.import_folder, self.import_csv):
            button.setEnabled(not on)
        self._enable_buttons()

    def _enable_buttons(self) -> None:
        """Remove selected and Find duplicates… only where they can act, each saying why in its tooltip where
        not: both were enabled in an empty catalog, and Remove selected did nothing with no product selected."""
        selected = self.grid.selectionModel().hasSelection()
        # the progress row shows while an import runs
        self.remove.setEnabled(self.progress_row.isHidden() and selected and not self.removing)
        self.remove.setToolTip(REMOVE_TIP if selected else REMOVE_NOTHING)
        enough = self.total >= 2
        self.find_duplicates.setEnabled(enough)
        self.find_duplicates.setToolTip(DUPLICATES_TIP if enough else DUPLICATES_NOTHING)

    def set_pipeline(self, pipeline: Pipeline) -> None:
        """Another pipeline (settings, models or data dir changed): the panels beside the grid use it too, or
        Where used and the duplicates window would keep reading the catalog the user left."""
        self.pipeline = self.where_used.pipeline = pipeline
        if self.duplicates is not None:
            self.duplicates.pipeline = pipeline
        self.where_used.clear()

    def show_duplicates(self) -> DuplicatesView:
        """The duplicates window (one, found afresh each time it is opened); its changes refresh the grid."""
        if self.duplicates is None:
            self.duplicates = DuplicatesView(self.pipeline, self.engine, self.model.thumbnails, self)
            if self.settings is not None:
                remember(self.duplicates, self.settings, "duplicates")
            self.duplicates.message.connect(self.message)
            self.duplicates.removed.connect(self.removed)
            self.duplicates.changed.connect(self.refresh)
        self.duplicates.show()
        self.duplicates.raise_()
        self.duplicates.refresh()
        return self.duplicates

    def _selection_changed(self) -> None:
        """One product selected: show where it is used; none or several: nothing to show, unless the panel shows
        a product photo searched (dropped, or from the menu), which no listing or selection of the grid is."""
        self._enable_buttons()
        skus = self.selected_skus()
        if len(skus) == 1:
            self.where_used.show_product(skus[0])
        elif self.where_used.photo is None:
            self.where_used.clear()

    # -- removal --------------------------------------------------------------------------------

    def selected_skus(self) -> list[str]:
        return [self.model.products[i.row()].sku for i in self.grid.selectionModel().selectedIndexes()]

    def remove_selected(self) -> None:
        skus = [] if self.removing else self.selected_skus()  # Delete pressed again while they are removed
        if skus and self.confirm_removal(len(skus)):
            self.remove_skus(skus)

    def confirm_removal(self, count: int) -> bool:
        answer = QMessageBox.question(
            self,
            "Remove products",
            f"Remove {count:,} product{'s' if count > 1 else ''} from the catalog? "
            "Photos on disk are not deleted, and the catalog is backed up first: Catalog ▸ Restore a Backup… "
            "brings them back.",
        )
        return answer == QMessageBox.StandardButton.Yes

    def remove_skus(self, skus: list[str]) -> None:
        """Remove in the worker, saying so meanwhile, Remove selected off until done: a catalog's removal (a
        backup, then the index) took seconds with nothing said and the products still listed, and a second Delete
        asked again and said "Removed 0 products"."""
        pipeline = self.pipeline
        self._set_removing(True)
        self.message.emit(f"Removing {counted(len(skus), 'product')} from the catalog…", "info")
        self.engine.start(
            lambda _job: pipeline.remove_products(skus),
            done=lambda count: self._removed(skus, count),
            failed=self._remove_failed,
        )

    def _set_removing(self, on: bool) -> None:
        self.removing = on
        self._enable_buttons()

    def _remove_failed(self, text: str) -> None:
        self._set_removing(False)
        self.message.emit(text, "error")

    def _removed(self, skus: list[str], count: int) -> None:
        self._set_removing(False)
        self.removed.emit(f"Removed {count:,} product{'s' if count != 1 else ''} from the catalog.")
        if self.only is not None:
            self._forget_removed(skus)
        self.refresh()
