"""One zoomable catalog map: product thumbnails placed by ``engine.catalog_map``, framed in their category's colour.

The wheel zooms (around the mouse), the right or middle button pans, hovering a thumbnail shows the
product, a click selects one and dragging a rubber band selects several. A product can be *lit* (ringed
and raised): the Map tab lights on one map the product hovered on the other, so two embedders' maps are
read side by side. Until the user zooms, the map keeps filling the view when it is resized (a second map
opening beside it halves its width).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QPoint, QPointF, QRectF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from app.labels import plain_label, product_detail, product_title
from app.palette import category_colour
from app.thumbnails import Thumbnails
from app.widgets.floating import MARGIN, make_floating
from app.widgets.thumb import Thumb
from engine.catalog import Product
from engine.catalog_map import CatalogMap

SIDE = 2400.0  # scene units of the map's square
TILE = 30.0  # a thumbnail's side in scene units, at the least
MAX_TILE = 80.0
COVER = 0.45  # tiles' side per product's share of the map: a small catalog's pictures are big enough to see
ZOOM_STEP = 1.0015  # per wheel angle unit (120 a notch: ×1.2)
MAX_ZOOM = 40.0  # times the whole-map scale
CARD_GAP = 18
HALO = 20.0  # scene units around a tile for its rings (a cosmetic pen's pixels are many units on the whole map)
LIT = "#e8590c"  # the ring of the product hovered on the other map: no category colour is this orange


class MapPoint(QGraphicsItem):
    """One product: its thumbnail in a frame of its category's colour (a filled tile until decoded)."""

    def __init__(self, product: Product, position: QPointF, tile: float = TILE):
        super().__init__()
        self.product = product
        self.tile = tile
        self.colour = QColor(category_colour(product.category))
        self.pixmap: QPixmap | None = None
        self.lit = False
        self.setPos(position)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)

    def boundingRect(self) -> QRectF:
        reach = self.tile / 2 + HALO
        return QRectF(-reach, -reach, 2 * reach, 2 * reach)

    def shape(self) -> QPainterPath:
        """The tile itself: hover, click and the rubber band hit the picture, not the room for its ring."""
        path = QPainterPath()
        path.addRect(self._frame())
        return path

    def _frame(self) -> QRectF:
        return QRectF(-self.tile / 2, -self.tile / 2, self.tile, self.tile)

    def set_lit(self, lit: bool) -> None:
        """Ring it and draw it above its neighbours (it may lie under another thumbnail)."""
        self.lit = lit
        self.setZValue(1.0 if lit else 0.0)
        self.update()

    def set_pixmap(self, pixmap: QPixmap) -> None:
        side = int(self.tile * 2)  # sharp up to 2x zoom on a 1x screen; kept here, the shared cache may drop it
        self.pixmap = pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
        self.update()

    def paint(self, painter: QPainter, _option: QStyleOptionGraphicsItem, _widget: QWidget | None = None) -> None:
        frame = self._frame()
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
        if self.isSelected() or self.lit:  # pens in screen pixels: as clear on the whole map as zoomed in
            pen = QPen(QColor(LIT if self.lit else "#1f2328"), 3.5 if self.lit else 2.0)
            pen.setCosmetic(True)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(pen)
            gap = self.tile * (0.18 if self.lit else 0.06)
            painter.drawRoundedRect(frame.adjusted(-gap, -gap, gap, gap), 4, 4)


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
        self._lit: MapPoint | None = None
        self._zoomed = False  # until the user zooms, a resize fits the whole map again
        self.card = ProductCard(thumbnails, self.viewport())
        thumbnails.ready.connect(self._thumbnail_ready)

    def show_map(self, result: CatalogMap, products: dict[int, Product]) -> None:
        """Draw ``result``; the products selected before stay selected (a refresh is not a new selection)."""
        kept = self.selected_skus()
        self.clear()
        tile = tile_side(len(result))
        for pid, (x, y) in zip(result.ids.tolist(), result.xy.tolist()):
            product = products.get(pid)
            if product is None:  # removed since the map was computed
                continue
            point = MapPoint(product, QPointF(x * SIDE, y * SIDE), tile)
            self.scene().addItem(point)
            self.points[product.sku] = point
            self._by_path.setdefault(product.image_path, []).append(point)
            pixmap = self.thumbnails.get(product.image_path)
            if pixmap is not None:
                point.set_pixmap(pixmap)
        margin = tile * 2
        self.scene().setSceneRect(QRectF(-margin, -margin, SIDE + 2 * margin, SIDE + 2 * margin))
        self.fit()
        self.select(kept)
        if self.selected_skus() != kept:  # some were removed from the catalog: say so once
            self.scene().selectionChanged.emit()

    def clear(self) -> None:
        """No map (quietly: emptying the map is not the user deselecting)."""
        with QSignalBlocker(self.scene()):
            self.scene().clear()
        self.points, self._by_path, self._hovered, self._lit = {}, {}, None, None
        self.card.hide()

    def fit(self) -> None:
        self._zoomed = False
        self.resetTransform()
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def selected_skus(self) -> list[str]:
        return sorted(item.product.sku for item in self.scene().selectedItems() if isinstance(item, MapPoint))

    def select(self, skus: Iterable[str]) -> None:
        """Select exactly ``skus`` (those on this map) without announcing it: the other map's selection."""
        wanted = set(skus)
        with QSignalBlocker(self.scene()):
            for sku, point in self.points.items():
                if point.isSelected() != (sku in wanted):
                    point.setSelected(sku in wanted)

    def light(self, sku: str | None) -> None:
        """Ring the product ``sku`` (None: none), as the product hovered on the other map."""
        point = self.points.get(sku) if sku is not None else None
        if point is self._lit:
            return
        if self._lit is not None:
            self._lit.set_lit(False)
        self._lit = point
        if point is not None:
            point.set_lit(True)

    def lit_sku(self) -> str | None:
        return self._lit.product.sku if self._lit is not None else None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self._zoomed and self.points:
            self.fit()

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
        self._zoomed = True
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


def tile_side(count: int) -> float:
    """Thumbnails as big as the catalog allows: 2,000 products get the least, a few hundred about twice it."""
    return float(min(MAX_TILE, max(TILE, COVER * SIDE / max(count, 1) ** 0.5)))
