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

from app.labels import pretty
from app.workers import Runner
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
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Photo", "Tag", "Category", "Best match vs runner-up", "Margin"])
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
        self.resize(960, 520)
        self.refresh()

    def refresh(self) -> None:
        catalog = self.pipeline.catalog
        self.io.start(lambda _job: review_queue(catalog, LIMIT), done=self._show,
                      failed=lambda m: self.summary.setText(m))

    def _show(self, items: list[ReviewItem]) -> None:
        self.items = items
        self.summary.setText(
            f"{len(items)} tags to look at, least sure first: double-click one (or press Enter) to open it, then confirm the "
            "right product or correct the tag." if items else
            "Nothing to review: tag some photos (open them here, or Batch) and their least sure tags show here."
        )
        self.table.setRowCount(len(items))
        for row, item in enumerate(items):
            cells = (Path(item.photo).name, f"#{item.number}", pretty(item.category),
                     f"{item.best_sku} {item.best_score:.3f} vs {item.runner_up_sku} {item.runner_up_score:.3f}",
                     f"{item.margin:.3f}")
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
            self.table.item(row, 0).setToolTip(str(item.photo))

    def _open(self, index: QModelIndex) -> None:
        item = self.items[index.row()]
        self.openTag.emit(Path(item.photo), item.number)
