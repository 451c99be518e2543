"""One zoomable catalog map: product thumbnails placed by ``engine.catalog_map``, framed in their category's colour.

The wheel zooms (around the mouse), the right or middle button pans, hovering a thumbnail shows the
product, a click selects one and dragging a rubber band selects several. The keyboard does the same
(``MapCanvas.keyPressEvent``): the arrow keys move a *current* product to the nearest tile that way (ringed
in the accent colour, its card shown, its name given to screen readers), Space or Enter selects it as a
click does (Ctrl+Space adds it or takes it out), + and − zoom around it and 0 shows the whole map; Home and
End go to the first and last product of its row (rows one tile high, read left to right), Ctrl+Home and
Ctrl+End to the first and last of the map, Page Up and Page Down to the product a view's height up or down
(the map scrolled by as much, the ring keeping its place on screen). Products at one spot (the same or nearly
the same photo lands on the same point; centres within ``SAME_SPOT`` of a tile) are one place to the arrow
keys, which go past them; Tab and Shift+Tab step through them in stacking order (past the last, on to the
next control: no trap), the ring then carries a "2/3" badge and a screen reader hears "2 of 3 here". The
mouse reaches them too: a click on a spot chooses its top product, a second click the one beneath it, and so
on round (``MapCanvas._clicked``); the current product is drawn raised, and hover and click find it on top.
The map has a focus ring while the keyboard is on it. A product can be *lit* (ringed and raised): the Map tab
lights on one map the product hovered on the other, so two embedders' maps are read side by side. Until the
user zooms, the map keeps filling the view when it is resized (a second map opening beside it halves its width).
A trackpad's two-finger scroll pans a zoomed map; with Ctrl held it zooms, as the wheel does.

No product is an item: the map's places are numpy arrays (``MapLayout``, made in the Map tab's worker),
and one ``TileLayer`` both paints the tiles and finds them for hover, click and the rubber band (a strip
of the places sorted by x, then y). An item per product cost 0.9 s of the window's time to show a
50,000-product map, and Qt's index of them more on the first paint; a million products would have frozen
the window for tens of seconds. A Python ``paint`` per item also cost about 0.4 s a repaint at 20,000
products, so every zoom step or arriving thumbnail froze the window. Seen whole, the layer draws one
picture of the map (each tile drawn into it as its thumbnail arrives, under the tiles stacked above it);
zoomed in, that picture enlarged, and the tiles in view drawn over it, sharp.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QKeyEvent, QPainter, QPalette, QPen, QPixmap, QRegion
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

from app import theme
from app.labels import plain_label, product_detail, product_title
from app.palette import category_colour
from app.theme import FOCUS_RING, draw_focus_ring
from app.thumbnails import CAPACITY, Thumbnails
from app.widgets.floating import MARGIN, make_floating
from app.widgets.thumb import Thumb
from app.widgets.trackpad import coasting, pan_by_pixels, pinch
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
# The map's ground in each theme; a selected product's ring is in the theme's text colour. The dark theme's map stayed
# a light pane, the window's brightest, its selected rings dark on it.
PAPER = {False: "#f6f5f2", True: "#2a2e35"}
OVERVIEW = 2048  # pixels across the picture of the whole map (16 MB): sharper than any screen shows it whole
MANY_CHANGED = 200  # tiles changed at once above which the whole map is repainted rather than each place
SHARP_AT_MOST = CAPACITY // 2  # tiles in view drawn sharp from the thumbnail cache; more would churn it
PLACING_BUDGET_S = 0.02  # thumbnails asked for and placed per turn of the event loop, then the window's turn
NO_PEN, WHITE = Qt.PenStyle.NoPen, Qt.GlobalColor.white  # looked up once: draw runs for every tile
FRAMES_PER_CHECK = 256  # tiles' frames drawn between looks at the clock
KEY_ZOOM = 1.25  # per + or − (as the photo's)
CURRENT_MIN = 20.0  # px: the current tile's ring at the least (a tile is 8 px across on the whole map)
CURRENT_GAP = 4.0  # px between the current tile and its ring
CURRENT_REACH = 16  # px around the current tile for its ring and pens (twice it kept in view, badge and all)
AHEAD = 2.0  # in a step's direction, closeness across counts this many times closeness along
SAME_SPOT = 0.1  # tiles whose centres lie within this share of a tile are one spot: Tab steps through them
BADGE_REACH = 40  # px around the current tile repainted when it changes: its ring, pens and "2/3" badge
BADGE_PAST = 4.0  # px the badge reaches right of the ring: less than the card's gap, so the card leaves it be
STEPS = {Qt.Key.Key_Left: (-1.0, 0.0), Qt.Key.Key_Right: (1.0, 0.0), Qt.Key.Key_Up: (0.0, -1.0),
         Qt.Key.Key_Down: (0.0, 1.0)}
ZOOM_KEYS = {Qt.Key.Key_Plus: KEY_ZOOM, Qt.Key.Key_Equal: KEY_ZOOM, Qt.Key.Key_Minus: 1 / KEY_ZOOM}
CHOOSE_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter)
ENDS = {Qt.Key.Key_Home: 0, Qt.Key.Key_End: -1}  # the first or last product of the row (Ctrl: of the map)
PAGES = {Qt.Key.Key_PageUp: -1, Qt.Key.Key_PageDown: 1}  # a view's height up or down
# What Shift (a + on many keyboards), the keypad and Ctrl (the menus' Ctrl++, Ctrl+−, Ctrl+0) may add to a key
KEY_MODIFIERS = (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
                 | Qt.KeyboardModifier.ControlModifier)


@dataclass(frozen=True, eq=False)
class MapLayout:
    """A map's products and their places as arrays, in the map's stacking order (a later product lies
    above an earlier one). Made by ``map_layout``, which needs no Qt: the Map tab makes it in the worker that
    reads the map, so that showing a map of a million products costs the window no per-product work."""

    products: list[Product]
    xy: np.ndarray  # (n, 2) places in scene units
    category: np.ndarray  # a product's category, as its place in ``categories``
    categories: list[str]
    index_of: dict[str, int]  # a product's place in the arrays, by SKU
    paths: dict[str, int]  # a thumbnail's number, by image path (products may share a photo)
    path_list: list[str]  # the image paths by number: the order thumbnails are asked for in
    by_path: np.ndarray  # the products, grouped by thumbnail: ``by_path[starts[k]:starts[k + 1]]`` show k
    starts: np.ndarray
    by_x: np.ndarray  # the products, left to right (the spatial index: a strip of x, then y)
    xs: np.ndarray  # their x, in that order
    tile: float
    reading: np.ndarray  # the products in reading order: rows one tile high from the top, each left to right
    reading_rows: np.ndarray  # their rows, in that order (Home and End find a row's ends in it, not in a pass)
    # the SKUs that read as another of the catalog's ("АBC-1", a Cyrillic А, beside "ABC-1":
    # ``Pipeline.alike_among``), shown marked on the card and said so (``shown_sku``)
    alike: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.products)

    def sharing(self, path: str) -> np.ndarray:
        """The products whose thumbnail is ``path``."""
        k = self.paths.get(path)
        return self.by_path[self.starts[k]:self.starts[k + 1]] if k is not None else self.by_path[:0]


def map_layout(result: CatalogMap, products: dict[int, Product], alike: frozenset[str] = frozenset()) -> MapLayout:
    """``result``'s products that are in ``products`` (others were removed since it was computed), placed;
    ``alike``: those of their SKUs that read as another (``MapLayout.alike``)."""
    found = [products.get(pid) for pid in result.ids.tolist()]
    kept = np.fromiter((p is not None for p in found), bool, len(found))
    chosen: list[Product] = [p for p in found if p is not None]
    n = len(chosen)
    xy = np.asarray(result.xy, dtype=np.float64).reshape(-1, 2)[kept] * SIDE
    categories: dict[str, int] = {}
    category = np.fromiter((categories.setdefault(p.category, len(categories)) for p in chosen), np.intp, n)
    paths: dict[str, int] = {}
    path_of = np.fromiter((paths.setdefault(p.image_path, len(paths)) for p in chosen), np.intp, n)
    by_path = np.argsort(path_of, kind="stable")
    starts = np.searchsorted(path_of[by_path], np.arange(len(paths) + 1))
    by_x = np.argsort(xy[:, 0], kind="stable")
    tile = tile_side(len(result))
    rows = np.floor(xy[:, 1] / tile).astype(np.intp)
    reading = np.lexsort((xy[:, 0], rows))  # stable: one spot's products in stacking order
    return MapLayout(chosen, xy, category, list(categories), {p.sku: i for i, p in enumerate(chosen)}, paths,
                     list(paths), by_path, starts, by_x, xy[by_x, 0], tile, reading, rows[reading], alike)


def paper() -> str:
    """The map's ground in the theme in use."""
    return PAPER[theme.is_dark_now()]


def selected_ring() -> str:
    """A selected product's ring: the theme's text colour, which reads on its ground."""
    return theme.colours().text


def draw_tile(painter: QPainter, frame: QRectF, colour: QColor, thumbnail: QPixmap | None) -> None:
    """A tile, in the painter's scene coordinates: its frame and, once decoded, its thumbnail."""
    painter.setPen(NO_PEN)
    painter.setBrush(colour)
    painter.drawRoundedRect(frame, 3, 3)
    if thumbnail is not None and not thumbnail.isNull():
        inner = frame.adjusted(2.5, 2.5, -2.5, -2.5)
        painter.fillRect(inner, WHITE)
        size = thumbnail.size().toSizeF().scaled(inner.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRectF(QPointF(0, 0), size)
        target.moveCenter(inner.center())
        painter.drawPixmap(target, thumbnail, QRectF(thumbnail.rect()))


class MapPoint:
    """One product on a map: a view of its row in the map's arrays, made when asked for (the map keeps no
    object per product; ``TileLayer.point`` hands out one view per product, so ``is`` compares them)."""

    __slots__ = ("index", "layer")

    def __init__(self, layer: TileLayer, index: int):
        self.layer = layer
        self.index = index

    @property
    def product(self) -> Product:
        return self.layer.products[self.index]

    @property
    def alike(self) -> bool:
        """Its SKU reads as another of the catalog's (``MapLayout.alike``): shown marked."""
        return self.product.sku in self.layer.layout.alike

    @property
    def tile(self) -> float:
        return self.layer.tile

    @property
    def colour(self) -> QColor:
        return self.layer.colours[self.layer.category[self.index]]

    @property
    def lit(self) -> bool:
        return self.layer.lit == self.index

    def pos(self) -> QPointF:
        """The tile's centre, in scene units."""
        x, y = self.layer.xy[self.index]
        return QPointF(float(x), float(y))

    def frame(self) -> QRectF:
        """The tile in scene units: hover, click and the rubber band hit it, not the room for its ring."""
        return self.layer.frame(self.index)

    def draw(self, painter: QPainter, thumbnail: QPixmap | None) -> None:
        """The tile, in the painter's scene coordinates: its frame and, once decoded, its thumbnail."""
        draw_tile(painter, self.frame(), self.colour, thumbnail)

    def draw_ring(self, painter: QPainter) -> None:
        """Selected: a thin dark ring; lit: a thick orange one, further out. Pens in screen pixels, so as
        clear on the whole map as zoomed in."""
        lit = self.lit
        pen = QPen(QColor(LIT if lit else selected_ring()), 3.5 if lit else 2.0)
        pen.setCosmetic(True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(pen)
        gap = self.tile * (0.18 if lit else 0.06)  # 0.06: as the layer rings many (``TileLayer.paint``)
        painter.drawRoundedRect(self.frame().adjusted(-gap, -gap, gap, gap), 4, 4)

    def __repr__(self) -> str:
        return f"MapPoint({self.product.sku!r})"


class Points(Mapping[str, MapPoint]):
    """A map's products by SKU, as ``MapPoint`` views (none is made until asked for)."""

    def __init__(self, layer: TileLayer | None = None):
        self._layer = layer
        self._index_of: dict[str, int] = layer.layout.index_of if layer is not None else {}

    def __getitem__(self, sku: str) -> MapPoint:
        if self._layer is None:
            raise KeyError(sku)
        return self._layer.point(self._index_of[sku])

    def __iter__(self) -> Iterator[str]:
        return iter(self._index_of)

    def __len__(self) -> int:
        return len(self._index_of)

    def __contains__(self, sku: object) -> bool:
        return sku in self._index_of


class TileLayer(QGraphicsItem):
    """Paints every product of a map in one item (see the module's docstring for why), and finds them:
    the products are rows of arrays (``MapLayout``), not items, so that a map of any size is shown at once.

    Seen whole, one picture of the map (``OVERVIEW`` pixels across, a tile drawn into it when its
    thumbnail arrives) is scaled into view: one draw call for any number of products. Zoomed in past
    that picture's own scale, the picture is enlarged and the tiles in view are drawn over it, sharp,
    from the shared thumbnail cache (asked for again if it has dropped them; no copy is kept per
    product, which at 50,000 products came to 0.7 GB). The tiles' frames are drawn into the picture a
    slice at a time (``draw_frames``), as the thumbnails are."""

    def __init__(self, rect: QRectF, layout: MapLayout, thumbnail: Callable[[str], QPixmap | None]):
        super().__init__()
        self.bounds = rect
        self.layout = layout
        self.tile = layout.tile
        self.products, self.xy, self.category = layout.products, layout.xy, layout.category
        self.colours = [QColor(category_colour(c)) for c in layout.categories]
        self.thumbnail = thumbnail  # ``Thumbnails.get``: the decoded picture, else None (and it is decoded)
        self.selected = np.zeros(len(layout), dtype=bool)
        self.lit: int | None = None
        self.current: int | None = None  # the product the keyboard is on
        self.here = np.zeros(0, dtype=np.intp)  # the products at the current one's spot, it among them
        self.focused = False  # whether the map has the keyboard: the current product is ringed only then
        self._marked = np.zeros(len(layout), dtype=bool)  # ringed when last painted: selected or lit
        self._views: dict[int, MapPoint] = {}
        self.framed = 0  # the tiles before this one have their frames in the picture
        self.resolution = OVERVIEW / rect.width()  # the picture's pixels per scene unit
        self.picture = QImage(OVERVIEW, round(rect.height() * self.resolution),
                              QImage.Format.Format_ARGB32_Premultiplied)
        self.picture.fill(Qt.GlobalColor.transparent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.setZValue(-1.0)

    def boundingRect(self) -> QRectF:
        return self.bounds

    def point(self, index: int) -> MapPoint:
        """The one view of product ``index``."""
        view = self._views.get(index)
        if view is None:
            view = self._views[index] = MapPoint(self, index)
        return view

    def frame(self, index: int) -> QRectF:
        x, y = self.xy[index]
        half = self.tile / 2
        return QRectF(float(x) - half, float(y) - half, self.tile, self.tile)

    # -- finding products -------------------------------------------------------------------------

    def near(self, left: float, top: float, right: float, bottom: float, reach: float,
             at_most: int | None = None) -> np.ndarray | None:
        """The products whose centre lies within ``reach`` of the rectangle, in stacking order (bottom first);
        None when there are more than ``at_most``."""
        xs = self.layout.xs
        lo, hi = int(np.searchsorted(xs, left - reach, side="left")), int(np.searchsorted(xs, right + reach, "right"))
        near = self.layout.by_x[lo:hi]
        ys = self.xy[near, 1]
        near = near[(ys >= top - reach) & (ys <= bottom + reach)]
        return None if at_most is not None and len(near) > at_most else np.sort(near)

    def at(self, x: float, y: float, current_raised: bool = True) -> int | None:
        """The product whose tile is on top at scene point (``x``, ``y``): the lit one, else the current one while
        the map has the keyboard (both drawn raised; ``current_raised`` False: as drawn without the keyboard),
        else the last in stacking order."""
        half = self.tile / 2
        for raised in (self.lit, self.current if self.focused and current_raised else None):
            if raised is not None and np.all(np.abs(self.xy[raised] - (x, y)) <= half):
                return raised
        under = self.near(x, y, x, y, half)
        return int(under[-1]) if under is not None and len(under) else None

    def nearest(self, x: float, y: float, direction: tuple[float, float] | None = None,
                keep: Callable[[np.ndarray], np.ndarray] | None = None) -> int | None:
        """The product nearest scene point (``x``, ``y``); with ``direction`` (a unit step along an axis), the
        nearest within 45° of it and not at that spot (``spot``: a product on the same point is no step that
        way, and one a hair aside would be a step the eye cannot see), closeness across counting ``AHEAD``
        times closeness along (a tile straight ahead before a nearer one off to the side, as a list's arrow
        key goes to the next row, not to a neighbour in the same one). Found in the x strip, as hover and click
        find a tile, its reach doubled until no product beyond it can be nearer, or (with ``direction``) until
        it holds all the map that way (``room``): no pass over every product, whatever the map's size (an arrow
        with nothing further that way searched the whole map, 13 MB of arrays at 200,000 products). Without
        ``direction``, ``keep`` (the products found -> which may be the answer) narrows the choice (``paged``)."""
        reach = self.tile
        enough = 2 * max(self.bounds.width(), self.bounds.height()) if direction is None else self.room(x, y, direction)
        while True:
            near = self.near(x, y, x, y, reach)
            assert near is not None
            dx, dy = self.xy[near, 0] - x, self.xy[near, 1] - y
            if direction is None:
                score, beyond = np.hypot(dx, dy), reach  # a product outside the square is further than reach
                if keep is not None:
                    kept = keep(near)
                    near, score = near[kept], score[kept]
            else:
                along, across = dx * direction[0] + dy * direction[1], np.abs(dx * direction[1] - dy * direction[0])
                ahead = (along > 0) & (across <= along) & (np.hypot(dx, dy) > self.tile * SAME_SPOT)
                near, score = near[ahead], (along + AHEAD * across)[ahead]
                beyond = reach / 2**0.5  # outside the square, ``along`` alone is more (across <= along)
            best = int(np.argmin(score)) if len(near) else -1
            if best >= 0 and (score[best] <= beyond or reach >= enough):
                return int(near[best])
            if reach >= enough:
                return None
            reach *= 2

    def paged(self, index: int, page: float) -> int | None:
        """Page Down's product from ``index`` (``page`` > 0, scene units; Page Up's, < 0): the one nearest the
        point a page below (above) it, among those more than half a tile lower (higher), so that it leaves the
        row; a page past the map's edge, the one nearest that edge. None: none lower (higher)."""
        x, y = (float(v) for v in self.xy[index])
        way, half = np.sign(page), self.tile / 2
        to = min(max(y + page, self.bounds.top()), self.bounds.bottom())
        return self.nearest(x, to, keep=lambda near: (self.xy[near, 1] - y) * way > half)

    def room(self, x: float, y: float, direction: tuple[float, float]) -> float:
        """How far the map reaches from (``x``, ``y``) in ``direction`` (a unit step along an axis): a square of
        that reach holds every product within 45° of it."""
        b = self.bounds
        if direction[0]:
            return b.right() - x if direction[0] > 0 else x - b.left()
        return b.bottom() - y if direction[1] > 0 else y - b.top()

    def spot(self, index: int) -> np.ndarray:
        """The products at ``index``'s spot (centres within ``SAME_SPOT`` of a tile), it among them, in
        stacking order: near-identical photos land there, and the arrow keys go past them."""
        x, y = self.xy[index]
        reach = self.tile * SAME_SPOT
        near = self.near(x, y, x, y, reach)
        assert near is not None
        return near[np.hypot(self.xy[near, 0] - x, self.xy[near, 1] - y) <= reach]

    def place_in_spot(self) -> tuple[int, int] | None:
        """Which of the products at the current one's spot it is, and how many there are (None: one alone)."""
        if self.current is None or len(self.here) < 2:
            return None
        return int(np.searchsorted(self.here, self.current)) + 1, len(self.here)

    def row_end(self, index: int, end: int) -> int:
        """The first (``end`` 0) or last (-1) product of ``index``'s row in reading order (``MapLayout.reading``):
        two binary searches, whatever the map's size."""
        rows, row = self.layout.reading_rows, int(np.floor(self.xy[index, 1] / self.tile))
        lo, hi = int(np.searchsorted(rows, row, "left")), int(np.searchsorted(rows, row, "right"))
        return int(self.layout.reading[lo if end == 0 else hi - 1])

    def map_end(self, end: int) -> int:
        """The first (``end`` 0: top left) or last (-1: bottom right) product of the map in reading order."""
        return int(self.layout.reading[end])

    def in_rect(self, rect: QRectF, at_most: int | None = None) -> np.ndarray | None:
        """The products whose tile meets ``rect`` (scene units), in stacking order; None: more than ``at_most``."""
        return self.near(rect.left(), rect.top(), rect.right(), rect.bottom(), self.tile / 2, at_most)

    # -- the picture ------------------------------------------------------------------------------

    def draw_frames(self, deadline: float) -> bool:
        """Draw the next tiles' frames into the picture until ``deadline`` (``time.perf_counter``): whether
        every frame is drawn. In stacking order, before any thumbnail (one drawn first would be covered)."""
        n, start = len(self.products), self.framed
        if start >= n:
            return True
        half, tile = self.tile / 2, self.tile
        with self._painting_picture() as painter:
            painter.setPen(NO_PEN)
            brush = -1
            while self.framed < n and time.perf_counter() < deadline:
                end = min(n, self.framed + FRAMES_PER_CHECK)
                for (x, y), c in zip(self.xy[self.framed:end].tolist(), self.category[self.framed:end].tolist()):
                    if c != brush:
                        painter.setBrush(self.colours[c])
                        brush = c
                    painter.drawRoundedRect(QRectF(x - half, y - half, tile, tile), 3, 3)
                self.framed = end
        self._redraw(range(start, self.framed))
        return self.framed >= n

    @contextmanager
    def placing(self) -> Iterator[Callable[[int, QPixmap], None]]:
        """A function that draws a tile's arrived thumbnail into the picture at once (so that the caller's
        time budget counts the drawing), and on leaving, the places drawn repainted on screen."""
        placed: list[int] = []

        def place(index: int, thumbnail: QPixmap) -> None:
            self._draw_under(painter, index, thumbnail)
            placed.append(index)

        with self._painting_picture() as painter:
            yield place
        self._redraw(placed)

    def _draw_under(self, painter: QPainter, index: int, thumbnail: QPixmap) -> None:
        """Draw the tile of ``index`` into the picture except where a tile stacked above it lies: thumbnails
        arrive in any order (and again when the cache dropped one), and drawn as they came, a tile covered
        neighbours that hover and click find on top of it. The clip is whole pixels of the picture (a
        region: a path clip cost ten times the draw)."""
        above = self._above(index)
        colour = self.colours[self.category[index]]
        if not len(above):
            draw_tile(painter, self.frame(index), colour, thumbnail)
            return
        to_pixels = painter.transform()
        visible = QRegion(to_pixels.mapRect(self.frame(index)).toAlignedRect())
        for other in above.tolist():
            visible -= QRegion(to_pixels.mapRect(self.frame(other)).toRect())
        painter.save()
        painter.resetTransform()
        painter.setClipRegion(visible)
        painter.setTransform(to_pixels)
        draw_tile(painter, self.frame(index), colour, thumbnail)
        painter.restore()

    def _above(self, index: int) -> np.ndarray:
        """The tiles stacked above ``index`` (later in the map's order) that overlap its tile."""
        x, y = self.xy[index]
        near = self.near(x, y, x, y, self.tile)
        assert near is not None
        near = near[near > index]
        return near[(np.abs(self.xy[near, 0] - x) < self.tile) & (np.abs(self.xy[near, 1] - y) < self.tile)]

    # -- rings ------------------------------------------------------------------------------------

    def light(self, index: int | None) -> None:
        """The tile lit before and the one lit now are repainted: a selected tile is marked either way, so
        the marks alone miss its ring turning orange or back (the other map's selection is the usual case)."""
        before, self.lit = self.lit, index
        self._redraw([i for i in (before, index) if i is not None])
        self.marks_changed()

    def marks_changed(self) -> None:
        """Ring the selected and lit tiles, unring the others: only the places that changed are repainted."""
        marked = self.selected.copy()
        if self.lit is not None:
            marked[self.lit] = True
        changed = np.flatnonzero(marked != self._marked)
        self._marked = marked
        self._redraw(changed)

    def _redraw(self, indices: Collection[int]) -> None:
        """Repaint the places of ``indices``; of many, the whole map (one region costs less than a thousand)."""
        if len(indices) > MANY_CHANGED:
            self.update()
            return
        reach = self.tile / 2 + HALO
        for i in np.asarray(indices, dtype=np.intp).tolist():
            x, y = self.xy[i]
            self.update(QRectF(float(x) - reach, float(y) - reach, 2 * reach, 2 * reach))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, _widget: QWidget | None = None
              ) -> None:
        exposed, scale = option.exposedRect, self.resolution
        source = QRectF((exposed.left() - self.bounds.left()) * scale, (exposed.top() - self.bounds.top()) * scale,
                        exposed.width() * scale, exposed.height() * scale)
        painter.drawImage(exposed, self.picture, source)
        if painter.worldTransform().m11() * painter.device().devicePixelRatioF() > scale:  # enlarged: sharpen
            in_view = self.in_rect(exposed, SHARP_AT_MOST)  # None: more, which the cache cannot hold
            for i in in_view.tolist() if in_view is not None else []:
                thumbnail = self.thumbnail(self.products[i].image_path) if i != self.lit else None
                if thumbnail is not None:
                    self.point(i).draw(painter, thumbnail)
        marked = np.flatnonzero(self._marked)  # the rings in view (a few; or a rubber band's thousands)
        reach = self.tile / 2 + HALO
        x, y = self.xy[marked, 0], self.xy[marked, 1]
        marked = marked[(x >= exposed.left() - reach) & (x <= exposed.right() + reach)
                        & (y >= exposed.top() - reach) & (y <= exposed.bottom() + reach)]
        if self.lit is not None:
            marked = marked[marked != self.lit]
        if len(marked):  # one pen for them all: a rubber band over a big map rings thousands
            pen = QPen(QColor(selected_ring()), 2.0)
            pen.setCosmetic(True)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(pen)
            side = self.tile * 1.12
            for x, y in (self.xy[marked] - side / 2).tolist():
                painter.drawRoundedRect(QRectF(x, y, side, side), 4, 4)
        if self.lit is not None:  # raised above its neighbours
            lit = self.point(self.lit)
            lit.draw(painter, self.thumbnail(lit.product.image_path))
            lit.draw_ring(painter)
        if self.focused and self.current is not None:
            self._draw_current(painter, self.point(self.current), option.palette, exposed)

    def _draw_current(self, painter: QPainter, current: MapPoint, palette: QPalette, exposed: QRectF) -> None:
        """The keyboard's product, raised above the others, in a ring of the accent colour (a white line
        outside it, for the dark frames), ``CURRENT_MIN`` px across at the least: a tile on the whole map is
        a few pixels, and the lit and selected rings around it are orange and dark. At a spot of several, a
        "2/3" badge on the ring's corner (``_draw_badge``). Not where it is out of the ``exposed`` part: a
        zoomed-in repaint draws only what is in view."""
        accent, to_view = palette.color(QPalette.ColorRole.Highlight), painter.worldTransform()
        side = max(to_view.mapRect(current.frame()).width() + 2 * CURRENT_GAP, CURRENT_MIN)
        ring = QRectF(0, 0, side, side)
        ring.moveCenter(to_view.map(current.pos()))
        pen = FOCUS_RING + 3.0  # the white line's width: the widest drawn round the ring
        place = self.place_in_spot()
        reach = BADGE_REACH - CURRENT_GAP if place is not None else pen
        if not ring.adjusted(-reach, -reach, reach, reach).intersects(to_view.mapRect(exposed)):
            return
        current.draw(painter, self.thumbnail(current.product.image_path))
        painter.save()
        painter.resetTransform()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for colour, width in ((QColor(WHITE), pen), (accent, FOCUS_RING + 1.0)):  # white shows each side
            painter.setPen(QPen(colour, width))
            painter.drawRoundedRect(ring, 5, 5)
        if place is not None:
            self._draw_badge(painter, ring, palette, f"{place[0]}/{place[1]}")
        painter.restore()

    @staticmethod
    def _draw_badge(painter: QPainter, ring: QRectF, palette: QPalette, text: str) -> None:
        """``text`` in a white-edged pill of the accent colour on the ring's top edge, its right end just past
        the ring's (the product's card, beside the ring, leaves it in view): which of the products at the spot
        is current, where the tiles lie on one another and show one."""
        font = painter.font()
        font.setBold(True)
        font.setPixelSize(11)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(text) + 10
        badge = QRectF(0, 0, width, 16)
        badge.moveCenter(QPointF(ring.right() + BADGE_PAST - width / 2, ring.top()))
        painter.setPen(QPen(QColor(WHITE), 1.5))
        painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
        painter.drawRoundedRect(badge, 8, 8)
        painter.setPen(palette.color(QPalette.ColorRole.HighlightedText))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)

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
        self.note = plain_label()  # which of the products at one spot it is, and the keys to the others
        self.note.hide()
        text = QVBoxLayout()
        text.addWidget(self.name)
        text.addWidget(self.detail)
        text.addWidget(self.note)
        text.addStretch()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 14, 10)
        layout.addWidget(self.thumb)
        layout.addLayout(text)
        self.sku = ""
        self.hide()

    def show_product(self, product: Product, anchor: QPoint, beside: int = 0, note: str = "",
                     alike: bool = False) -> None:
        """The card ``CARD_GAP`` px right of ``beside`` px round ``anchor`` (left where the view ends), ``note``
        under the product's lines; the SKU marked where it reads as another (``alike``: ``MapPoint.alike``)."""
        self.sku = product.sku
        self.thumb.show_path(product.image_path)
        self.name.setText(product_title(product.name, product.sku, product.category))
        self.detail.setText(product_detail(product.name, product.sku, product.category, product.price, alike))
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.show()
        self.layout().activate()  # the new text's size now: else a card shown before kept its width, cutting a longer line
        self.adjustSize()
        self.move(self._place(anchor, beside))
        self.raise_()

    def _place(self, anchor: QPoint, beside: int) -> QPoint:
        """Right of the ``beside`` px round ``anchor``, else left of them; where neither side has room (a tile
        zoomed to half the view), below them, else above: never over the tile."""
        bounds = self.parentWidget().rect().adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        reach = beside + CARD_GAP
        y = max(bounds.top(), min(anchor.y() - self.height() // 2, bounds.bottom() - self.height()))
        if anchor.x() + reach + self.width() <= bounds.right():
            return QPoint(anchor.x() + reach, y)
        if anchor.x() - reach - self.width() >= bounds.left():
            return QPoint(anchor.x() - reach - self.width(), y)
        x = max(bounds.left(), min(anchor.x() - self.width() // 2, bounds.right() - self.width()))
        if anchor.y() + reach + self.height() <= bounds.bottom():
            return QPoint(x, anchor.y() + reach)
        return QPoint(x, max(bounds.top(), anchor.y() - reach - self.height()))


class MapCanvas(QGraphicsView):
    """The zoomable map: wheel zoom, right/middle-button and two-finger pan, click and rubber-band selection, hover card,
    and the same from the keyboard (arrow keys, Home, End, Tab through a spot, Space or Enter, +, −, 0; see the
    module's docstring).

    Hover, click, the rubber band and the arrow keys find products in the layer's arrays (``TileLayer.at``,
    ``TileLayer.in_rect``, ``TileLayer.nearest``); the scene holds the one layer item, whatever the catalog's
    size. The focus ring is drawn in a margin around the viewport, not on it: the viewport scrolls its pixels
    as the map pans, and would carry a ring drawn on it inwards."""

    hovered = Signal(object)  # the MapPoint under the mouse, or None
    selectionChanged = Signal()  # the user's click or rubber band changed the selection (``select`` does not)

    def __init__(self, thumbnails: Thumbnails, parent: QWidget | None = None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.setScene(QGraphicsScene(self))
        self.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)  # one item: nothing to index
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QBrush(QColor(paper())))
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not the wheel's: scrolling past the map should not take it
        ring = round(FOCUS_RING) - self.frameWidth()
        self.setViewportMargins(ring, ring, ring, ring)  # the frame and this margin: room for the focus ring
        self.points: Points = Points()  # by SKU
        self._pan: QPoint | None = None
        self._hovered: MapPoint | None = None
        self._band_base: np.ndarray | None = None  # the selection a rubber band adds to (Ctrl), while it is drawn
        self.layer: TileLayer | None = None
        self._asked = 0  # the thumbnails before this one (``MapLayout.path_list``) have been asked for
        self._awaited: set[str] = set()  # asked for, being decoded
        self._arrived: deque[tuple[str, QPixmap]] = deque()  # decoded, not yet placed on the map
        self._placing = QTimer(self, singleShot=True, interval=0, timeout=self._place_thumbnails)
        self._zoomed = False  # until the user zooms, a resize fits the whole map again
        self._focused_by_press = False  # the keyboard came to the map with the mouse press being handled
        self.card = ProductCard(thumbnails, self.viewport())
        thumbnails.ready.connect(self._thumbnail_ready)
        self.rubberBandChanged.connect(self._band_changed)

    def show_map(self, result: CatalogMap, products: dict[int, Product], prepared: MapLayout | None = None) -> None:
        """Draw ``result``; the products selected before stay selected (a refresh is not a new selection).
        ``prepared``: ``map_layout(result, products)``, made beforehand off the window's thread (else made here)."""
        kept, current = self.selected_skus(), self.current_sku()
        self.clear()
        placed = prepared if prepared is not None else map_layout(result, products)
        margin = placed.tile * 2
        self.scene().setSceneRect(QRectF(-margin, -margin, SIDE + 2 * margin, SIDE + 2 * margin))
        self.layer = TileLayer(self.sceneRect(), placed, self.thumbnails.get)
        self.scene().addItem(self.layer)
        self.points = Points(self.layer)
        self.layer.draw_frames(time.perf_counter() + PLACING_BUDGET_S)  # a small map's at once, a big one's begun
        self._placing.start()
        self.fit()
        self.layer.focused = self.hasFocus()
        if current in placed.index_of:  # a refresh keeps the keyboard's place
            self._set_current(placed.index_of[current], show=False)
        elif self.hasFocus():  # the map arrived while the keyboard waited on it
            self._start_in_the_middle(show=False)
        if kept:
            self.select(kept)
        if self.selected_skus() != kept:  # some were removed from the catalog: say so once
            self.selectionChanged.emit()

    def clear(self) -> None:
        """No map (quietly: emptying the map is not the user deselecting)."""
        self.scene().clear()
        self.points, self._hovered, self.layer, self._band_base = Points(), None, None, None
        self._asked = 0
        self._awaited.clear()
        self._arrived.clear()
        self.card.hide()
        self.setAccessibleDescription("")

    def fit(self) -> None:
        self._zoomed = False
        self.resetTransform()
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def selected_skus(self) -> list[str]:
        if self.layer is None:
            return []
        products = self.layer.products
        return sorted(products[i].sku for i in np.flatnonzero(self.layer.selected).tolist())

    def select(self, skus: Iterable[str]) -> None:
        """Select exactly ``skus`` (those on this map) without announcing it: the other map's selection."""
        if self.layer is None:
            return
        index_of = self.layer.layout.index_of
        wanted = [index_of[sku] for sku in skus if sku in index_of]
        selected = np.zeros_like(self.layer.selected)
        selected[wanted] = True
        self._set_selection(selected, announce=False)

    def _set_selection(self, selected: np.ndarray, announce: bool = True) -> None:
        assert self.layer is not None
        if np.array_equal(selected, self.layer.selected):
            return
        self.layer.selected = selected
        self.layer.marks_changed()
        self._describe()
        if announce:
            self.selectionChanged.emit()

    def current_sku(self) -> str | None:
        """The product the keyboard is on (the arrow keys move it, Space or Enter select it)."""
        current = self.layer.current if self.layer is not None else None
        return self.layer.products[current].sku if current is not None else None

    def _set_current(self, index: int, show: bool = True) -> None:
        """Make ``index`` the keyboard's product: ringed, said to a screen reader, and with ``show``,
        scrolled into view with its card beside it (as hovering shows it)."""
        assert self.layer is not None
        before, self.layer.current = self.layer.current, index
        self.layer.here = self.layer.spot(index)
        for i in {before, index} - {None}:
            self._repaint_tile(i)
        self._describe()
        if show:
            self.ensureVisible(self.layer.frame(index), CURRENT_REACH * 2, CURRENT_REACH * 2)
            self._show_hovered(self.layer.point(index), self._spot_note(index))

    def _spot_note(self, index: int) -> str:
        """The card's line for a product at a spot of several: which of them it is, and the ways to the others
        (the keys, and for the mouse a second click, ``_clicked``); "" for a product alone."""
        assert self.layer is not None
        here = self.layer.here if index == self.layer.current else self.layer.spot(index)
        if len(here) < 2:
            return ""
        return f"{int(np.searchsorted(here, index)) + 1} of {len(here)} here · Tab, Shift+Tab, a second click: the others"

    def _describe(self) -> None:
        """The current product, as a screen reader says it: the map's accessible description (Qt announces
        its change), the map's name staying "Catalog map"."""
        current = self.layer.current if self.layer is not None else None
        if current is None:
            self.setAccessibleDescription("")
            return
        p, alike = self.layer.products[current], self.layer.point(current).alike
        chosen = ", selected" if self.layer.selected[current] else ""
        place = self.layer.place_in_spot()
        spot = f", {place[0]} of {place[1]} here" if place is not None else ""
        self.setAccessibleDescription(f"{product_title(p.name, p.sku, p.category)}{chosen}{spot}: "
                                      f"{product_detail(p.name, p.sku, p.category, p.price, alike)}")

    def _repaint_tile(self, index: int) -> None:
        """Repaint the place of ``index`` with its current ring, at least ``CURRENT_MIN`` px across, and badge."""
        assert self.layer is not None
        around = self.mapFromScene(self.layer.frame(index)).boundingRect()
        self.viewport().update(around.adjusted(-BADGE_REACH, -BADGE_REACH, BADGE_REACH, BADGE_REACH))

    def light(self, sku: str | None) -> None:
        """Ring the product ``sku`` (None: none), as the product hovered on the other map."""
        if self.layer is None:
            return
        index = self.layer.layout.index_of.get(sku) if sku is not None else None
        if index != self.layer.lit:
            self.layer.light(index)

    def lit_sku(self) -> str | None:
        lit = self.layer.lit if self.layer is not None else None
        return self.layer.products[lit].sku if lit is not None else None

    def point_at(self, at: QPoint, current_raised: bool = True) -> MapPoint | None:
        """The product whose tile is on top at ``at`` (viewport pixels), as hover and click find it (``TileLayer.at``)."""
        if self.layer is None:
            return None
        place = self.mapToScene(at)
        index = self.layer.at(place.x(), place.y(), current_raised)
        return self.layer.point(index) if index is not None else None

    def points_in(self, band: QRect) -> list[MapPoint]:
        """The products whose tile meets ``band`` (viewport pixels), as the rubber band selects them."""
        if self.layer is None:
            return []
        return [self.layer.point(i) for i in self.layer.in_rect(self.mapToScene(band).boundingRect()).tolist()]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self._zoomed and self.points:
            self.fit()

    def placing(self) -> bool:
        """Whether frames are still being drawn, or thumbnails asked for, decoded or placed on the map."""
        framing = self.layer is not None and self.layer.framed < len(self.layer.products)
        return bool(framing or self._unasked() or self._awaited or self._arrived)

    def _unasked(self) -> bool:
        """Whether some thumbnails are yet to be asked for."""
        return self.layer is not None and self._asked < len(self.layer.layout.path_list)

    def _thumbnail_ready(self, path: str) -> None:
        """Queued (taken from the cache now: by the time its turn comes the cache may have dropped it)."""
        self._awaited.discard(path)
        known = self.layer is not None and path in self.layer.layout.paths
        pixmap = self.thumbnails.get(path) if known else None
        if pixmap is not None:
            self._arrived.append((path, pixmap))
            self._placing.start()

    def _place_thumbnails(self) -> None:
        """For ``PLACING_BUDGET_S``, draw the tiles' frames, then place decoded thumbnails and ask for more,
        then let the window run (and come back): a big catalog's thousands of requests, decodes and draws
        would otherwise freeze it (the budget counts the drawing: a tile drawn under its neighbours costs
        about three plain draws). Thumbnails wait for every frame: a frame drawn after its thumbnail would
        cover it."""
        if self.layer is None:
            return
        deadline = time.perf_counter() + PLACING_BUDGET_S
        if not self.layer.draw_frames(deadline):
            self._placing.start()
            return
        sharing, paths = self.layer.layout.sharing, self.layer.layout.path_list
        with self.layer.placing() as place:
            while time.perf_counter() < deadline and (self._arrived or self._asked < len(paths)):
                if self._arrived:
                    path, pixmap = self._arrived.popleft()
                else:
                    path = paths[self._asked]
                    self._asked += 1
                    pixmap = self.thumbnails.get(path)  # None: decoded in the background (``_thumbnail_ready``)
                    if pixmap is None and path:
                        self._awaited.add(path)
                for index in sharing(path).tolist() if pixmap is not None else []:
                    place(index, pixmap)
        if self._arrived or self._unasked():
            self._placing.start()

    # -- mouse --------------------------------------------------------------------------------

    def wheelEvent(self, event) -> None:
        """A two-finger scroll pans the zoomed map by the fingers' pixels (it zoomed, and the map moved only by
        dragging), the card going to the product now under the pointer; a mouse wheel, or either with Ctrl, zooms
        about the pointer, but not the scroll that goes on after a trackpad swipe: it zoomed on by itself."""
        at = event.position().toPoint()
        if pan_by_pixels(self, event):
            self._hover(at, again=True)
        elif not coasting(event):
            self.zoom(ZOOM_STEP ** event.angleDelta().y(), at)

    def viewportEvent(self, event: QEvent) -> bool:
        """A trackpad pinch zooms about the fingers, as the wheel does about the pointer: it did nothing."""
        if (factor := pinch(event)) is not None:
            self.zoom(factor, event.position().toPoint())
            return True
        return super().viewportEvent(event)

    def zoom(self, factor: float, at: QPoint | None = None) -> None:
        """Zoom by ``factor`` from half the whole map to ``MAX_ZOOM`` times it, keeping the map's point at ``at``
        (viewport pixels) where it is, else around the transformation anchor: Qt's anchor under the mouse takes
        the point its last mouse move saw, not the wheel's or the fingers'."""
        fixed = self.mapToScene(at) if at is not None else None
        whole = min(self.viewport().width(), self.viewport().height()) / self.sceneRect().width()
        scale = self.transform().m11()
        factor = max(min(factor, MAX_ZOOM * whole / scale), 0.5 * whole / scale)
        self.scale(factor, factor)
        if fixed is not None:
            drift = self.mapFromScene(fixed) - at
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
        self._zoomed = True
        self.card.hide()

    def mousePressEvent(self, event) -> None:
        if event.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            self._pan = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            self.card.hide()
            return
        focused_by_it, self._focused_by_press = self._focused_by_press, False
        if event.button() == Qt.MouseButton.LeftButton and self.layer is not None:
            adding = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            # the map took the keyboard with this press: the tile clicked is the one seen, not the current one
            # the keyboard left under it (raised only now)
            point = self.point_at(event.position().toPoint(), current_raised=not focused_by_it)
            selected = self.layer.selected.copy() if adding else np.zeros_like(self.layer.selected)
            if point is not None:  # a click: that product (Ctrl: in or out of the selection)
                index = point.index if adding else self._clicked(point.index)
                selected[index] = not selected[index] if adding else True
                self._set_current(index, show=False)  # the keys go on from there
                self._set_selection(selected)
                self._show_hovered(self.layer.point(index), self._spot_note(index))
                event.accept()
                return
            self._set_selection(selected)  # the background: a rubber band starts (Ctrl: adding to the selection)
            self._band_base = selected
        super().mousePressEvent(event)

    def _clicked(self, index: int) -> int:
        """The product a plain click on ``index``'s tile chooses: that one; but a second click on the product the
        click before chose (current and selected alone) at a spot of several, the next one beneath it there (from
        the lowest, the top again), current and raised: the tile on top hides the others, and Tab reached them
        from the keyboard only."""
        assert self.layer is not None
        layer = self.layer
        here = layer.here
        if index != layer.current or len(here) < 2 or not layer.selected[index] or np.count_nonzero(layer.selected) > 1:
            return index
        return int(here[int(np.searchsorted(here, index)) - 1])  # below the lowest (-1): the top

    def _band_changed(self, band: QRect, _from: QPointF, _to: QPointF) -> None:
        """The rubber band moved: the products under it selected (with those selected before, with Ctrl)."""
        if self.layer is None or self._band_base is None:
            return
        if band.isNull():  # released
            self._band_base = None
            return
        selected = self._band_base.copy()
        selected[self.layer.in_rect(self.mapToScene(band).boundingRect())] = True
        self._set_selection(selected)

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
        if event.button() == Qt.MouseButton.LeftButton:
            self._band_base = None

    def mouseDoubleClickEvent(self, event) -> None:
        if self.point_at(event.position().toPoint()) is None:
            self.fit()
            return
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:  # Ctrl: the first click toggled it
            self.mousePressEvent(event)  # on a product: as a press (Qt's items took a double click so)

    def leaveEvent(self, event) -> None:
        self._hover(None)
        super().leaveEvent(event)

    def _hover(self, at: QPoint | None, again: bool = False) -> None:
        """The card of the product under ``at`` (None: none); ``again``: the map moved under the pointer, so the
        card is placed anew beside its tile even where the product is the same."""
        point = self.point_at(at) if at is not None else None
        if again or point is not self._hovered:
            self._show_hovered(point, self._spot_note(point.index) if point is not None else "")

    def _show_hovered(self, point: MapPoint | None, note: str = "") -> None:
        """``point``'s card beside its ring (with ``note`` under its lines), and it lit on the other map (None:
        no card, nothing lit). Beside the ring, not on it: zoomed in, a card at a fixed gap from the centre
        covered the right of the tile, its ring and "2/3" badge."""
        self._hovered = point
        if point is None:
            self.card.hide()
        else:
            ring = max(self.transform().m11() * point.tile + 2 * CURRENT_GAP, CURRENT_MIN)
            self.card.show_product(point.product, self.mapFromScene(point.pos()), round(ring / 2), note, point.alike)
        self.hovered.emit(point)

    # -- keyboard -----------------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        """The map's keys before the window's shortcuts: the photo's View ▸ Zoom In, Zoom Out and Fit to
        Window (Ctrl++, Ctrl+−, Ctrl+0) would otherwise zoom the photo on the hidden Photo tab. And the focus
        ring, on the frame around the viewport."""
        if event.type() == QEvent.Type.ShortcutOverride and self._is_map_key(event):
            event.accept()
            return True
        handled = super().event(event)
        if event.type() == QEvent.Type.Paint and self.hasFocus():
            painter = QPainter(self)
            draw_focus_ring(painter, QRectF(self.rect()), self.palette())
            painter.end()
        return handled

    def changeEvent(self, event: QEvent) -> None:
        """The theme changed: the map's ground and rings take its colours."""
        if event.type() == QEvent.Type.PaletteChange:
            self.setBackgroundBrush(QBrush(QColor(paper())))
            self.viewport().update()
        super().changeEvent(event)

    def _is_map_key(self, event: QKeyEvent) -> bool:
        """Whether the map acts on ``event``: an arrow key (not with Ctrl), Home or End (with Ctrl too, not with
        Shift: a grid's Shift+Home extends a selection, which the map does not), Page Up or Page Down, Space or
        Enter, +, −, 0."""
        key, modifiers = event.key(), event.modifiers()
        if modifiers & ~KEY_MODIFIERS or self.layer is None or not len(self.layer.products):
            return False
        if key in STEPS:
            return not modifiers & Qt.KeyboardModifier.ControlModifier
        if key in ENDS:
            return not modifiers & Qt.KeyboardModifier.ShiftModifier
        if key in PAGES:  # not with Shift or Ctrl, which a selection's extending and tabs' paging take elsewhere
            return not modifiers & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)
        return key in CHOOSE_KEYS or key in ZOOM_KEYS or key == Qt.Key.Key_0

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Arrow keys: the nearest product that way becomes current (the first press, the one nearest the
        middle of the view); Home or End: the first or last of its row (Ctrl: of the map); Page Up or Page Down:
        the product a view's height up or down, the map scrolled by as much (``_page``); Space or Enter:
        select it as a click does (Ctrl+Space: in or out of the selection, as Ctrl+click); + and −: zoom
        around it; 0: the whole map. Ctrl with +, −, 0 as the menus have them. Tab: ``focusNextPrevChild``. Escape:
        hide the card, which a mouse user moves away from and a keyboard user had no way to put away."""
        key = event.key()
        if key == Qt.Key.Key_Escape and self.card.isVisible():  # as on the photo: the card hid its neighbours
            self.card.hide()  # the ring and the product stay; an arrow key shows the card again
        elif not self._is_map_key(event):
            super().keyPressEvent(event)
        elif key in STEPS:
            self._step(STEPS[key])
        elif key in ENDS:
            self._to_end(ENDS[key], whole_map=bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier))
        elif key in PAGES:
            self._page(PAGES[key])
        elif key in CHOOSE_KEYS:
            self._choose(adding=bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier))
        elif key == Qt.Key.Key_0:
            self.fit()
            if self.layer is not None and self.layer.current is not None:  # its card moves with it
                self._set_current(self.layer.current)
        else:
            self._zoom_around_current(ZOOM_KEYS[key])

    def _step(self, direction: tuple[float, float]) -> None:
        """The nearest product that way becomes current; none further: the current one stays, shown again."""
        assert self.layer is not None
        current = self.layer.current
        if current is None:
            self._start_in_the_middle()
            return
        x, y = self.layer.xy[current]
        found = self.layer.nearest(float(x), float(y), direction)
        self._set_current(current if found is None else found)

    def _page(self, way: int) -> None:
        """Page Down (``way`` 1) or Up (-1): the product about a view's height below or above the current one
        becomes current (``TileLayer.paged``), the map scrolled by as much, so the ring keeps its place on screen
        as a list's or an icon view's does (the view's own paging scrolled the map and left the current product
        behind, out of sight); none further that way: it stays, shown again."""
        assert self.layer is not None
        current = self.layer.current
        if current is None:
            self._start_in_the_middle()
            return
        page = self.mapToScene(self.viewport().rect()).boundingRect().height()
        found = self.layer.paged(current, way * page)
        if found is not None:
            moved = self.mapFromScene(self.layer.point(found).pos()) - self.mapFromScene(self.layer.point(current).pos())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        self._set_current(current if found is None else found)

    def _to_end(self, end: int, whole_map: bool) -> None:
        """Home or End: the first (``end`` 0) or last (-1) product of the current one's row in reading order,
        or with ``whole_map`` of the map (top left, bottom right), scrolled into view."""
        assert self.layer is not None
        if whole_map:
            self._set_current(self.layer.map_end(end))
        elif self.layer.current is None:  # no row yet: first the product the user is looking at, as an arrow
            self._start_in_the_middle()
        else:
            self._set_current(self.layer.row_end(self.layer.current, end))

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab or Shift+Tab: the next or previous product at the current one's spot (``TileLayer.spot``),
        which the arrow keys go past; from the last (Shift: the first), on to the next control as usual, so
        the keyboard is never held on the map."""
        here, current = (self.layer.here, self.layer.current) if self.layer is not None else ((), None)
        if current is not None and self.hasFocus() and len(here) > 1:
            at = int(np.searchsorted(here, current)) + (1 if next else -1)
            if 0 <= at < len(here):
                self._set_current(int(here[at]))
                return True
        return super().focusNextPrevChild(next)

    def _start_in_the_middle(self, show: bool = True) -> None:
        """No current product yet: the one nearest the middle of the view, where the user is looking."""
        assert self.layer is not None
        middle = self.mapToScene(self.viewport().rect().center())
        found = self.layer.nearest(middle.x(), middle.y())
        if found is not None:
            self._set_current(found, show)

    def _choose(self, adding: bool) -> None:
        """Space or Enter on the current product: as a click on it (Ctrl: as a Ctrl+click)."""
        assert self.layer is not None
        index = self.layer.current
        if index is None:  # nothing to select until the user has seen which product it would be
            self._start_in_the_middle()
            return
        selected = self.layer.selected.copy() if adding else np.zeros_like(self.layer.selected)
        selected[index] = not selected[index] if adding else True
        self._set_selection(selected)

    def _zoom_around_current(self, factor: float) -> None:
        """Zoom keeping the current product where it is on screen (else the middle of the view)."""
        current = self.layer.current if self.layer is not None else None
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        if current is None:
            self.zoom(factor)
        else:
            place = self.layer.point(current).pos()
            before = self.mapFromScene(place)
            self.zoom(factor)
            moved = self.mapFromScene(place) - before
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
            self._set_current(current)
        self.setTransformationAnchor(anchor)

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self._focused_by_press = event.reason() == Qt.FocusReason.MouseFocusReason  # before the press arrives
        self._focus_changed(True)
        if self.layer is None or not len(self.layer.products) or event.reason() == Qt.FocusReason.MouseFocusReason:
            return  # a click makes its own product current
        if self.layer.current is None:
            self._start_in_the_middle()
        else:  # back on the map: where the keyboard was, in view, with its card
            self._set_current(self.layer.current)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self._focused_by_press = False
        self._focus_changed(False)

    def _focus_changed(self, focused: bool) -> None:
        """The ring around the map and the current product's ring show while the keyboard is on the map; the
        current product's card goes with the keyboard (unless the mouse is over the map)."""
        self.update()
        if self.layer is None:
            return
        self.layer.focused = focused
        if self.layer.current is not None:
            self._repaint_tile(self.layer.current)
        if not focused and not self.underMouse() and self._hovered is not None:
            self._show_hovered(None)


def tile_side(count: int) -> float:
    """Thumbnails as big as the catalog allows: 2,000 products get the least, a few hundred about twice it."""
    return float(min(MAX_TILE, max(TILE, COVER * SIDE / max(count, 1) ** 0.5)))
