"""Catalog ▸ Review Uncertain Tags…: the tags the model is least sure about, across every photo tagged so far.

A list, closest call first (``engine.review_queue``: the smallest margin between a tag's two
best matches); double-clicking a row, or Enter on it, opens its photo on that tag, where confirming or correcting it is
one click. Each confirmation is a training pair, which is why the Train window counts the corrections
new since the last training.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.labels import pretty, product_title
from app.theme import resize_to_screen
from app.workers import Runner
from engine.catalog import Catalog, Product
from engine.pipeline import Pipeline
from engine.review_queue import ReviewItem, review_queue

LIMIT = 200


class ReviewWindow(QWidget):
    openTag = Signal(object, int)  # photo path, tag number

    def __init__(self, pipeline: Pipeline, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Review uncertain tags")
        self.pipeline = pipeline
        self.items: list[ReviewItem] = []
        self.io = Runner(1, self)
        layout = QVBoxLayout(self)
        self.summary = QLabel("Looking through the tagged photos…")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Photo", "Tag", "Category", "Best match", "Runner-up", "Margin"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a photo's name keeps its start and its end
        header = self.table.horizontalHeader()  # the photo takes what is left; the numbers are never cut
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.activated.connect(self._open)  # a double-click, or Enter from the keyboard
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        for widget in (self.summary, self.table, refresh):
            layout.addWidget(widget)
        resize_to_screen(self, 1240, 560)  # room for the photo's name beside the two products'
        self.refresh()

    def refresh(self) -> None:
        catalog = self.pipeline.catalog
        self.io.start(lambda _job: _queue_and_products(catalog), done=lambda found: self._show(*found),
                      failed=lambda m: self.summary.setText(m))

    def _show(self, items: list[ReviewItem], products: dict[str, Product]) -> None:
        """The queue's rows; each product by its name, as the photo's panel shows it (a bare SKU told a
        merchandiser nothing about the two products a tag hesitates between), its SKU beside the name."""
        self.items = items
        self.summary.setText(
            f"{len(items)} tags to look at, least sure first: double-click one (or press Enter) to open it, then confirm the "
            "right product or correct the tag." if items else
            "Nothing to review: tag some photos (open them here, or Batch) and their least sure tags show here."
        )
        self.table.setRowCount(len(items))
        for row, item in enumerate(items):
            cells = (Path(item.photo).name, f"#{item.number}", pretty(item.category),
                     _product_cell(products.get(item.best_sku), item.best_sku, item.best_score),
                     _product_cell(products.get(item.runner_up_sku), item.runner_up_sku, item.runner_up_score),
                     f"{item.margin:.3f}")
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
            self.table.item(row, 0).setToolTip(str(item.photo))
            for column in (3, 4):  # whole where the window is too narrow for the column
                self.table.item(row, column).setToolTip(cells[column])

    def _open(self, index: QModelIndex) -> None:
        item = self.items[index.row()]
        self.openTag.emit(Path(item.photo), item.number)


def _queue_and_products(catalog: Catalog) -> tuple[list[ReviewItem], dict[str, Product]]:
    """The queue and the products it names, read together off the UI thread."""
    items = review_queue(catalog, LIMIT)
    skus = {sku for item in items for sku in (item.best_sku, item.runner_up_sku)}
    return items, {p.sku: p for p in catalog.products(skus=sorted(skus))} if skus else {}


def _product_cell(product: Product | None, sku: str, score: float) -> str:
    """'IKEA 365+ · 102.919.23 · 0.397': the name first, the SKU that tells look-alike variants apart, the
    score (a product without a name goes by its category, as in the panel); one removed from the catalog since
    the photo was tagged keeps its SKU alone."""
    if product is None:
        return f"{sku} · {score:.3f}"
    return f"{product_title(product.name, product.sku, product.category)} · {sku} · {score:.3f}"
