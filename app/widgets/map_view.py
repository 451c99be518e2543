"""The Map tab: the catalog as the embedder sees it, product thumbnails placed by ``engine.catalog_map``.

Products the model finds alike lie close together, each framed in its category's colour, so a
merchandiser sees at a glance which categories the model mixes up. The wheel zooms (around the mouse),
the right or middle button pans, hovering a thumbnail shows the product, a click selects one and
dragging a rubber band selects several; the selected products are listed beside the map.

The map comes from a worker: read from the cache at once when the catalog is unchanged, else computed
(about half a minute for 2,000 products on two cores) with progress and Cancel; the window never waits.
"""

from __future__ import annotations

import html
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from app.labels import dot_html, plain_label, pretty, product_detail, product_title
from app.palette import category_colour
from app.thumbnails import Thumbnails
from app.widgets.floating import MARGIN, make_floating
from app.widgets.thumb import Thumb
from app.workers import Job, Runner, Task
from engine.catalog import Product
from engine.catalog_map import CatalogMap, catalog_map
from engine.pipeline import Pipeline

SIDE = 2400.0  # scene units of the map's square
TILE = 30.0  # a thumbnail's side in scene units
ZOOM_STEP = 1.0015  # per wheel angle unit (120 a notch: ×1.2)
MAX_ZOOM = 40.0  # times the whole-map scale
CARD_GAP = 18


@dataclass
class Loaded:
    """What the worker hands back: the map and its products (names and categories as they are now)."""

    result: CatalogMap
    products: dict[int, Product]
    seconds: float


class MapPoint(QGraphicsItem):
    """One product: its thumbnail in a frame of its category's colour (a filled tile until decoded)."""

    def __init__(self, product: Product, position: QPointF):
        super().__init__()
        self.product = product
        self.colour = QColor(category_colour(product.category))
        self.pixmap: QPixmap | None = None
        self.setPos(position)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)

    def boundingRect(self) -> QRectF:
        return QRectF(-TILE / 2 - 2, -TILE / 2 - 2, TILE + 4, TILE + 4)

    def set_pixmap(self, pixmap: QPixmap) -> None:
        side = int(TILE * 2)  # sharp up to 2x zoom on a 1x screen; kept here, the shared cache may drop it
        self.pixmap = pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
        self.update()

    def paint(self, painter: QPainter, _option: QStyleOptionGraphicsItem, _widget: QWidget | None = None) -> None:
        frame = QRectF(-TILE / 2, -TILE / 2, TILE, TILE)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.colour)
        painter.drawRoundedRect(frame, 3, 3)
        if self.pixmap is not None and not self.pixmap.isNull():
            inner = frame.adjusted(2.5, 2.5, -2.5, -2.5)
            painter.fillRect(inner, Qt.GlobalColor.white)
            size = self.pixmap.size().scaled(inner.size().toSize(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF(0, 0, size.width(), size.height())
            target.moveCenter(inner.center())
            painter.drawPixmap(target, self.pixmap, QRectF(self.pixmap.rect()))
        if self.isSelected():
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor("#1f2328"), 3))
            painter.drawRoundedRect(frame.adjusted(-1, -1, 1, 1), 4, 4)


class ProductCard(QFrame):
    """The card beside a hovered thumbnail: a bigger picture, name, SKU and category (all plain text)."""

    def __init__(self, thumbnails: Thumbnails, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("mapCard")
        make_floating(self)
        self.thumb = Thumb(thumbnails, 84)
        self.name = plain_label()
        self.name.setStyleSheet("font-weight:600;font-size:14px;")
        self.detail = plain_label()
        text = QVBoxLayout()
        text.addWidget(self.name)
        text.addWidget(self.detail)
        text.addStretch()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 14, 10)
        layout.addWidget(self.thumb)
        layout.addLayout(text)
        self.sku = ""
        self.hide()

    def show_product(self, product: Product, anchor: QPoint) -> None:
        self.sku = product.sku
        self.thumb.show_path(product.image_path)
        self.name.setText(product_title(product.name, product.sku, product.category))
        self.detail.setText(product_detail(product.name, product.sku, product.category, product.price))
        self.show()
        self.adjustSize()
        bounds = self.parentWidget().rect()
        x = anchor.x() + CARD_GAP
        if x + self.width() > bounds.right() - MARGIN:
            x = anchor.x() - CARD_GAP - self.width()
        y = max(MARGIN, min(anchor.y() - self.height() // 2, bounds.bottom() - MARGIN - self.height()))
        self.move(max(MARGIN, x), y)
        self.raise_()


class MapCanvas(QGraphicsView):
    """The zoomable map: wheel zoom, right/middle-button pan, click and rubber-band selection, hover card."""

    hovered = Signal(object)  # the MapPoint under the mouse, or None

    def __init__(self, thumbnails: Thumbnails, parent: QWidget | None = None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QBrush(QColor("#f6f5f2")))
        self.setMouseTracking(True)
        self.points: dict[str, MapPoint] = {}  # by SKU
        self._by_path: dict[str, list[MapPoint]] = {}
        self._pan: QPoint | None = None
        self._hovered: MapPoint | None = None
        self.card = ProductCard(thumbnails, self.viewport())
        thumbnails.ready.connect(self._thumbnail_ready)

    def show_map(self, result: CatalogMap, products: dict[int, Product]) -> None:
        self.scene().clear()
        self.points, self._by_path, self._hovered = {}, {}, None
        self.card.hide()
        for pid, (x, y) in zip(result.ids.tolist(), result.xy.tolist()):
            product = products.get(pid)
            if product is None:  # removed since the map was computed
                continue
            point = MapPoint(product, QPointF(x * SIDE, y * SIDE))
            self.scene().addItem(point)
            self.points[product.sku] = point
            self._by_path.setdefault(product.image_path, []).append(point)
            pixmap = self.thumbnails.get(product.image_path)
            if pixmap is not None:
                point.set_pixmap(pixmap)
        margin = TILE * 2
        self.scene().setSceneRect(QRectF(-margin, -margin, SIDE + 2 * margin, SIDE + 2 * margin))
        self.fit()

    def fit(self) -> None:
        self.resetTransform()
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def selected_skus(self) -> list[str]:
        return sorted(item.product.sku for item in self.scene().selectedItems() if isinstance(item, MapPoint))

    def _thumbnail_ready(self, path: str) -> None:
        pixmap = self.thumbnails.get(path)
        for point in self._by_path.get(path, []):
            if pixmap is not None:
                point.set_pixmap(pixmap)

    # -- mouse --------------------------------------------------------------------------------

    def wheelEvent(self, event) -> None:
        factor = ZOOM_STEP ** event.angleDelta().y()
        whole = min(self.viewport().width(), self.viewport().height()) / self.sceneRect().width()
        scale = self.transform().m11()
        factor = max(min(factor, MAX_ZOOM * whole / scale), 0.5 * whole / scale)
        self.scale(factor, factor)
        self.card.hide()

    def mousePressEvent(self, event) -> None:
        if event.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            self._pan = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            self.card.hide()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan is not None:
            delta = event.position().toPoint() - self._pan
            self._pan = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            return
        super().mouseMoveEvent(event)
        self._hover(event.position().toPoint())

    def mouseReleaseEvent(self, event) -> None:
        if self._pan is not None and event.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            self._pan = None
            self.viewport().unsetCursor()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.itemAt(event.position().toPoint()) is None:
            self.fit()
            return
        super().mouseDoubleClickEvent(event)

    def leaveEvent(self, event) -> None:
        self._hover(None)
        super().leaveEvent(event)

    def _hover(self, at: QPoint | None) -> None:
        item = self.itemAt(at) if at is not None else None
        point = item if isinstance(item, MapPoint) else None
        if point is self._hovered:
            return
        self._hovered = point
        if point is None:
            self.card.hide()
        else:
            self.card.show_product(point.product, self.mapFromScene(point.pos()))
        self.hovered.emit(point)


class MapView(QWidget):
    """The Map tab: the map of the active embedder, its progress while computed, and the selection."""

    selectionChanged = Signal(list)  # SKUs
    message = Signal(str, str)  # text, level

    def __init__(self, pipeline: Pipeline, engine: Runner, thumbnails: Thumbnails, parent: QWidget | None = None):
        super().__init__(parent)
        self.pipeline = pipeline
        self.engine = engine
        self.thumbnails = thumbnails
        self.task: Task | None = None
        self.stale = True  # computed (or read) again the next time the tab is shown
        self.result: CatalogMap | None = None
        self._build()

    def _build(self) -> None:
        self.status = QLabel("The map is made when this tab is first shown.")
        self.recompute = QPushButton("Refresh")
        self.recompute.setToolTip("Read the map again (computed anew only when the catalog or embedder changed)")
        self.recompute.clicked.connect(self.refresh)
        self.progress = QProgressBar()
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_map)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.progress)
        top.addWidget(self.cancel)
        top.addWidget(self.recompute)
        self.canvas = MapCanvas(self.thumbnails)
        self.canvas.setObjectName("catalogMap")
        self.canvas.scene().selectionChanged.connect(self._selection_changed)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)  # escaped category names plus our own dots
        self.chosen_label = QLabel()
        self.chosen = QListWidget()
        self.chosen.setObjectName("mapSelection")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.legend)
        side_layout.addWidget(self.chosen_label)
        side_layout.addWidget(self.chosen, 1)
        split = QSplitter()
        split.addWidget(self.canvas)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setSizes([1000, 280])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self._set_busy(False)
        self._selection_changed()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.stale and self.task is None:
            self.refresh()

    def mark_stale(self, *_args: object) -> None:
        """The catalog changed: read the map again now if it is on screen, else when it is next shown."""
        self.stale = True
        if self.isVisible() and self.task is None:
            self.refresh()

    def refresh(self) -> None:
        """Load or compute the map of the active embedder in a worker."""
        if self.task is not None:
            return
        self.stale = False
        pipeline = self.pipeline

        def work(job: Job) -> Loaded:
            started = time.perf_counter()
            pipeline.prepare_matcher(progress=job.progress, cancelled=job.cancelled)
            result = catalog_map(pipeline.catalog, pipeline.embedder, pipeline.data_dir, job.progress,
                                 job.cancelled, pipeline.log)
            products = pipeline.catalog.get_many(int(pid) for pid in result.ids)
            return Loaded(result, products, time.perf_counter() - started)

        self._set_busy(True, "Reading the catalog map…")
        self.task = self.engine.start(work, done=self._loaded, failed=self._failed, progress=self._progress,
                                      cancelled=self._cancelled)

    def cancel_map(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText("Computing the catalog map…")

    def _loaded(self, loaded: Loaded) -> None:
        self.task = None
        if self.stale and self.isVisible():  # the catalog changed while this map was being made
            self.refresh()
        self.result = loaded.result
        self.canvas.show_map(loaded.result, loaded.products)
        self.legend.setText(_legend(loaded.products.values()))
        how = "from the cache" if loaded.result.cached else f"computed in {loaded.seconds:.0f} s"
        self._set_busy(False, f"{len(self.canvas.points)} products by {loaded.result.embedder} ({how}). "
                              "Wheel: zoom · right-drag: pan · drag: select several · double-click: whole map")

    def _failed(self, text: str) -> None:
        self.task = None
        self.stale = True
        self._set_busy(False, f"No map: {text}")
        self.message.emit(text, "error")

    def _cancelled(self, text: str) -> None:
        self.task = None
        self.stale = True
        self._set_busy(False, "The map was cancelled; Refresh computes it.")

    def _set_busy(self, busy: bool, text: str = "") -> None:
        if text:
            self.status.setText(text)
        self.progress.setVisible(busy)
        self.cancel.setVisible(busy)
        self.recompute.setEnabled(not busy)
        if busy:
            self.progress.setRange(0, 0)

    def _selection_changed(self) -> None:
        skus = self.canvas.selected_skus()
        self.chosen.clear()
        for sku in skus:
            product = self.canvas.points[sku].product
            title = product_title(product.name, product.sku, product.category)
            item = QListWidgetItem(f"{title}\n{product.sku} · {pretty(product.category)}")
            item.setData(Qt.ItemDataRole.UserRole, sku)
            self.chosen.addItem(item)
        self.chosen_label.setText(
            f"{len(skus)} selected" if skus else "Click a product, or drag around several, to select them"
        )
        self.selectionChanged.emit(skus)


def _legend(products: Iterable[Product]) -> str:
    """Which colour is which category, most products first (category names are escaped: they come from feeds)."""
    counts = Counter(p.category for p in products)
    return " &nbsp; ".join(
        f"<span style='white-space:nowrap'>{dot_html(category_colour(c))} {html.escape(pretty(c))} "
        f"<span style='color:#6b7280;'>{n}</span></span>"
        for c, n in counts.most_common()
    )
