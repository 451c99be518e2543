"""One zoomable catalog map: product thumbnails placed by ``engine.catalog_map``, framed in their category's colour.

The wheel zooms (around the mouse), the right or middle button pans, hovering a thumbnail shows the
product, a click selects one and dragging a rubber band selects several. A product can be *lit* (ringed
and raised): the Map tab lights on one map the product hovered on the other, so two embedders' maps are
read side by side. Until the user zooms, the map keeps filling the view when it is resized (a second map
opening beside it halves its width).

Each product is an item (hover, click and the rubber band find it), but one ``TileLayer`` paints them all:
a Python ``paint`` per item cost about 0.4 s a repaint at 20,000 products, so every zoom step or arriving
thumbnail froze the window. Seen whole, the layer draws one picture of the map (each tile drawn into it as
its thumbnail arrives, under the tiles stacked above it); zoomed in, that picture enlarged, and the tiles in
view drawn over it, sharp.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPixmap, QRegion
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
from app.thumbnails import CAPACITY, Thumbnails
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
OVERVIEW = 2048  # pixels across the picture of the whole map (16 MB): sharper than any screen shows it whole
MANY_CHANGED = 200  # tiles changed at once above which the whole map is repainted rather than each place
BSP_DEPTH = 10  # the scene's index: Qt's own depth for 50,000 items built in 0.9 s, this in 0.3 s (hover as fast)
SHARP_AT_MOST = CAPACITY // 2  # tiles in view drawn sharp from the thumbnail cache; more would churn it
PLACING_BUDGET_S = 0.02  # thumbnails asked for and placed per turn of the event loop, then the window's turn
NO_PEN, WHITE = Qt.PenStyle.NoPen, Qt.GlobalColor.white  # looked up once: draw runs for every tile
POINT_FLAGS = (QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
               | QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)


class MapPoint(QGraphicsItem):
    """One product: hit by hover, click and the rubber band; drawn by the map's ``TileLayer``."""

    def __init__(self, product: Product, position: QPointF, tile: float, colour: QColor, layer: TileLayer):
        super().__init__()
        self.product = product
        self.tile = tile
        self.colour = colour
        self.layer = layer
        self.lit = False
        self.setPos(position)
        self.setFlags(POINT_FLAGS)
        self.setAcceptHoverEvents(True)

    def boundingRect(self) -> QRectF:
        reach = self.tile / 2 + HALO
        return QRectF(-reach, -reach, 2 * reach, 2 * reach)

    def shape(self) -> QPainterPath:
        """The tile itself: hover, click and the rubber band hit the picture, not the room for its ring."""
        path = QPainterPath()
        path.addRect(self.frame())
        return path

    def frame(self) -> QRectF:
        return QRectF(-self.tile / 2, -self.tile / 2, self.tile, self.tile)

    def set_lit(self, lit: bool) -> None:
        """Ring it and draw it above its neighbours (it may lie under another thumbnail)."""
        self.lit = lit
        self.setZValue(1.0 if lit else 0.0)
        self.layer.light(self if lit else None)

    def draw(self, painter: QPainter, thumbnail: QPixmap | None) -> None:
        """The tile, in the painter's scene coordinates: its frame and, once decoded, its thumbnail."""
        frame = self.frame().translated(self.pos())
        painter.setPen(NO_PEN)
        painter.setBrush(self.colour)
        painter.drawRoundedRect(frame, 3, 3)
        if thumbnail is not None and not thumbnail.isNull():
            inner = frame.adjusted(2.5, 2.5, -2.5, -2.5)
            painter.fillRect(inner, WHITE)
            size = thumbnail.size().toSizeF().scaled(inner.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF(QPointF(0, 0), size)
            target.moveCenter(inner.center())
            painter.drawPixmap(target, thumbnail, QRectF(thumbnail.rect()))

    def draw_ring(self, painter: QPainter) -> None:
        """Selected: a thin dark ring; lit: a thick orange one, further out. Pens in screen pixels, so as
        clear on the whole map as zoomed in."""
        pen = QPen(QColor(LIT if self.lit else "#1f2328"), 3.5 if self.lit else 2.0)
        pen.setCosmetic(True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(pen)
        gap = self.tile * (0.18 if self.lit else 0.06)
        painter.drawRoundedRect(self.frame().adjusted(-gap, -gap, gap, gap).translated(self.pos()), 4, 4)


class TileLayer(QGraphicsItem):
    """Paints every product of a map in one item (see the module's docstring for why).

    Seen whole, one picture of the map (``OVERVIEW`` pixels across, a tile drawn into it when its
    thumbnail arrives) is scaled into view: one draw call for any number of products. Zoomed in past
    that picture's own scale, the picture is enlarged and the tiles in view are drawn over it, sharp,
    from the shared thumbnail cache (asked for again if it has dropped them; no copy is kept per
    product, which at 50,000 products came to 0.7 GB)."""

    def __init__(self, rect: QRectF, tile: float, thumbnail: Callable[[str], QPixmap | None]):
        super().__init__()
        self.bounds = rect
        self.tile = tile
        self.thumbnail = thumbnail  # ``Thumbnails.get``: the decoded picture, else None (and it is decoded)
        self.points: list[MapPoint] = []
        self.lit: MapPoint | None = None
        self._xy = np.zeros((0, 2))
        self._by_x = np.zeros(0, dtype=np.intp)  # the points' indices, left to right
        self._xs = np.zeros(0)  # their x, in that order
        self._rank: dict[MapPoint, int] = {}  # a point's index: the stacking order hover and click see
        self.resolution = OVERVIEW / rect.width()  # the picture's pixels per scene unit
        self.picture = QImage(OVERVIEW, round(rect.height() * self.resolution),
                              QImage.Format.Format_ARGB32_Premultiplied)
        self.picture.fill(Qt.GlobalColor.transparent)
        self._marked: set[MapPoint] = set()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.setZValue(-1.0)

    def set_points(self, points: list[MapPoint], xy: np.ndarray) -> None:
        """``points`` and their places (scene units, a row each): drawn into the picture, thumbnails to come."""
        self.points, self._xy = points, xy
        self._by_x = np.argsort(xy[:, 0], kind="stable")
        self._xs = xy[self._by_x, 0]
        self._rank = {point: i for i, point in enumerate(points)}
        with self._painting_picture() as painter:
            for point in points:
                point.draw(painter, None)
        self.update()

    def boundingRect(self) -> QRectF:
        return self.bounds

    @contextmanager
    def placing(self) -> Iterator[Callable[[MapPoint, QPixmap], None]]:
        """A function that draws a tile's arrived thumbnail into the picture at once (so that the caller's
        time budget counts the drawing), and on leaving, the places drawn repainted on screen."""
        placed: list[MapPoint] = []

        def place(point: MapPoint, thumbnail: QPixmap) -> None:
            self._draw_under(painter, point, thumbnail)
            placed.append(point)

        with self._painting_picture() as painter:
            yield place
        self._redraw(placed)

    def _draw_under(self, painter: QPainter, point: MapPoint, thumbnail: QPixmap) -> None:
        """Draw ``point``'s tile into the picture except where a tile stacked above it lies: thumbnails arrive
        in any order (and again when the cache dropped one), and drawn as they came, a tile covered
        neighbours that hover and click find on top of it. The clip is whole pixels of the picture (a
        region: a path clip cost ten times the draw)."""
        above = self._above(point)
        if not above:
            point.draw(painter, thumbnail)
            return
        to_pixels = painter.transform()
        visible = QRegion(to_pixels.mapRect(point.mapRectToScene(point.frame())).toAlignedRect())
        for other in above:
            visible -= QRegion(to_pixels.mapRect(other.mapRectToScene(other.frame())).toRect())
        painter.save()
        painter.resetTransform()
        painter.setClipRegion(visible)
        painter.setTransform(to_pixels)
        point.draw(painter, thumbnail)
        painter.restore()

    def _above(self, point: MapPoint) -> list[MapPoint]:
        """The tiles stacked above ``point`` (added to the scene after it) that overlap its tile."""
        rank = self._rank[point]
        x, y = self._xy[rank]
        lo, hi = np.searchsorted(self._xs, (x - self.tile, x + self.tile))
        near = self._by_x[lo:hi]
        near = near[(near > rank) & (np.abs(self._xy[near, 1] - y) < self.tile)]
        return [self.points[i] for i in near]

    def light(self, point: MapPoint | None) -> None:
        """The tile lit before and the one lit now are repainted: a selected tile is marked either way, so
        the marks alone miss its ring turning orange or back (the other map's selection is the usual case)."""
        before, self.lit = self.lit, point
        self._redraw([lit for lit in (before, point) if lit is not None])
        self.marks_changed()

    def marks_changed(self) -> None:
        """Ring the selected and lit tiles, unring the others: only the places that changed are repainted."""
        marked = {item for item in self.scene().selectedItems() if isinstance(item, MapPoint)}
        if self.lit is not None:
            marked.add(self.lit)
        changed = marked ^ self._marked
        self._marked = marked
        self._redraw(changed)

    def _redraw(self, points: Collection[MapPoint]) -> None:
        """Repaint the places of ``points``; of many, the whole map (one region costs less than a thousand)."""
        if len(points) > MANY_CHANGED:
            self.update()
            return
        for point in points:
            self.update(point.mapRectToScene(point.boundingRect()))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, _widget: QWidget | None = None
              ) -> None:
        exposed, scale = option.exposedRect, self.resolution
        source = QRectF((exposed.left() - self.bounds.left()) * scale, (exposed.top() - self.bounds.top()) * scale,
                        exposed.width() * scale, exposed.height() * scale)
        painter.drawImage(exposed, self.picture, source)
        if painter.worldTransform().m11() * painter.device().devicePixelRatioF() > scale:  # enlarged: sharpen
            in_view = [point for point in self._in(exposed) if point is not self.lit]
            for point in in_view if len(in_view) <= SHARP_AT_MOST else []:  # more: the cache cannot hold them
                thumbnail = self.thumbnail(point.product.image_path)
                if thumbnail is not None:
                    point.draw(painter, thumbnail)
        for point in self._marked - {self.lit}:
            point.draw_ring(painter)
        if self.lit is not None:  # raised above its neighbours
            self.lit.draw(painter, self.thumbnail(self.lit.product.image_path))
            self.lit.draw_ring(painter)

    def _in(self, rect: QRectF) -> list[MapPoint]:
        """The tiles that reach into ``rect`` (scene units)."""
        reach = self.tile / 2
        x, y = self._xy[:, 0], self._xy[:, 1]
        inside = ((x >= rect.left() - reach) & (x <= rect.right() + reach)
                  & (y >= rect.top() - reach) & (y <= rect.bottom() + reach))
        return [self.points[i] for i in np.flatnonzero(inside)]

    @contextmanager
    def _painting_picture(self) -> Iterator[QPainter]:
        """A painter on the picture, in scene units."""
        painter = QPainter(self.picture)
        try:
            painter.setRenderHints(QPainter.RenderHint.Antialiasing
                                   | QPainter.RenderHint.SmoothPixmapTransform)
            painter.scale(self.resolution, self.resolution)
            painter.translate(-self.bounds.left(), -self.bounds.top())
            yield painter
        finally:
            painter.end()


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
        self.scene().setBspTreeDepth(BSP_DEPTH)
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
        self.layer: TileLayer | None = None
        self._unasked: deque[str] = deque()  # thumbnails not yet asked for
        self._awaited: set[str] = set()  # asked for, being decoded
        self._arrived: deque[tuple[str, QPixmap]] = deque()  # decoded, not yet placed on the map
        self._placing = QTimer(self, singleShot=True, interval=0, timeout=self._place_thumbnails)
        self._zoomed = False  # until the user zooms, a resize fits the whole map again
        self.card = ProductCard(thumbnails, self.viewport())
        thumbnails.ready.connect(self._thumbnail_ready)
        self.scene().selectionChanged.connect(self._marks_changed)

    def show_map(self, result: CatalogMap, products: dict[int, Product]) -> None:
        """Draw ``result``; the products selected before stay selected (a refresh is not a new selection)."""
        kept = self.selected_skus()
        self.clear()
        tile = tile_side(len(result))
        margin = tile * 2
        self.scene().setSceneRect(QRectF(-margin, -margin, SIDE + 2 * margin, SIDE + 2 * margin))
        self.layer = TileLayer(self.sceneRect(), tile, self.thumbnails.get)
        self.scene().addItem(self.layer)
        colours: dict[str, QColor] = {}
        places: list[tuple[float, float]] = []
        for pid, (x, y) in zip(result.ids.tolist(), result.xy.tolist()):
            product = products.get(pid)
            if product is None:  # removed since the map was computed
                continue
            if product.category not in colours:
                colours[product.category] = QColor(category_colour(product.category))
            places.append((x * SIDE, y * SIDE))
            point = MapPoint(product, QPointF(*places[-1]), tile, colours[product.category], self.layer)
            self.scene().addItem(point)
            self.points[product.sku] = point
            self._by_path.setdefault(product.image_path, []).append(point)
        self.layer.set_points(list(self.points.values()), np.array(places).reshape(-1, 2))
        self._unasked.extend(self._by_path)
        self._placing.start()
        self.fit()
        self.select(kept)
        if self.selected_skus() != kept:  # some were removed from the catalog: say so once
            self.scene().selectionChanged.emit()

    def clear(self) -> None:
        """No map (quietly: emptying the map is not the user deselecting)."""
        with QSignalBlocker(self.scene()):
            self.scene().clear()
        self.points, self._by_path, self._hovered, self._lit, self.layer = {}, {}, None, None, None
        self._unasked.clear()
        self._awaited.clear()
        self._arrived.clear()
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
        if self.layer is not None:
            self.layer.marks_changed()

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

    def _marks_changed(self) -> None:
        if self.layer is not None:
            self.layer.marks_changed()

    def placing(self) -> bool:
        """Whether thumbnails are still being asked for, decoded or placed on the map."""
        return bool(self._unasked or self._awaited or self._arrived)

    def _thumbnail_ready(self, path: str) -> None:
        """Queued (taken from the cache now: by the time its turn comes the cache may have dropped it)."""
        self._awaited.discard(path)
        pixmap = self.thumbnails.get(path) if path in self._by_path else None
        if pixmap is not None:
            self._arrived.append((path, pixmap))
            self._placing.start()

    def _place_thumbnails(self) -> None:
        """For ``PLACING_BUDGET_S``, place decoded thumbnails and ask for more, then let the window run (and
        come back): a big catalog's thousands of requests, decodes and draws would otherwise freeze it (the
        budget counts the drawing: a tile drawn under its neighbours costs about three plain draws)."""
        if self.layer is None:
            return
        deadline = time.perf_counter() + PLACING_BUDGET_S
        with self.layer.placing() as place:
            while time.perf_counter() < deadline and (self._arrived or self._unasked):
                if self._arrived:
                    path, pixmap = self._arrived.popleft()
                else:
                    path = self._unasked.popleft()
                    pixmap = self.thumbnails.get(path)  # None: decoded in the background (``_thumbnail_ready``)
                    if pixmap is None and path:
                        self._awaited.add(path)
                for point in self._by_path.get(path, []) if pixmap is not None else []:
                    place(point, pixmap)
        if self._arrived or self._unasked:
            self._placing.start()

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
