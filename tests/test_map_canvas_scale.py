"""The Map tab's canvas at catalog sizes: no Qt item per product, and products found by the map's arrays.

Showing a map once made a ``QGraphicsItem`` per product (0.9 s of the window's time at 50,000, Qt's index
of them more on the first paint; tens of seconds at a million). The canvas now keeps the places in numpy
arrays and finds the products under the mouse or the rubber band itself. These tests check that the
scene's items do not grow with the catalog, and that hover, click, Ctrl+click, double-click, the rubber
band, ``select`` and ``light`` pick the products a brute-force search of the map's places picks: on a
real map (every tenth shared IKEA product, embedded by the real MobileNetV2 and placed by the real
openTSNE) and on a synthetic one of 20,000 products. No timing is asserted.
"""

from __future__ import annotations

import os
import tracemalloc

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import double_click  # noqa: E402
from map_data import stacked, synthetic  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, QRect, Qt  # noqa: E402

from app.thumbnails import Thumbnails  # noqa: E402
from app.widgets.map_canvas import SAME_SPOT, SIDE, MapCanvas, MapPoint, tile_side  # noqa: E402
from app.workers import Runner  # noqa: E402
from engine.catalog import Product  # noqa: E402
from engine.catalog_map import CatalogMap  # noqa: E402

CTRL = Qt.KeyboardModifier.ControlModifier
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def canvas(qtbot, qapp):
    runner = Runner(2, qapp)
    view = MapCanvas(Thumbnails(runner))
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    yield view
    view.clear()
    runner.shutdown()


class Oracle:
    """Brute force over the map's places, as Qt's items stacked them: a later product lies above an
    earlier one, a tile is the square of ``tile_side`` around its place."""

    def __init__(self, result: CatalogMap, products: dict[int, Product]):
        kept = [i for i, pid in enumerate(result.ids.tolist()) if pid in products]
        self.skus = [products[int(result.ids[i])].sku for i in kept]
        self.xy = result.xy[kept].astype(np.float64) * SIDE
        self.half = tile_side(len(result)) / 2

    def under(self, canvas: MapCanvas, at: QPoint) -> list[int]:
        """The products whose tile covers the viewport pixel ``at``, bottom first."""
        p = canvas.mapToScene(at)
        return np.flatnonzero((np.abs(self.xy[:, 0] - p.x()) <= self.half)
                              & (np.abs(self.xy[:, 1] - p.y()) <= self.half)).tolist()

    def on_top(self, canvas: MapCanvas, at: QPoint) -> str | None:
        under = self.under(canvas, at)
        return self.skus[under[-1]] if under else None

    def in_band(self, canvas: MapCanvas, band: QRect) -> list[str]:
        """The products whose tile meets the rubber band ``band`` (viewport pixels)."""
        r = canvas.mapToScene(band).boundingRect()
        x, y, h = self.xy[:, 0], self.xy[:, 1], self.half
        meets = (x + h >= r.left()) & (x - h <= r.right()) & (y + h >= r.top()) & (y - h <= r.bottom())
        return sorted(self.skus[i] for i in np.flatnonzero(meets))

    def view_of(self, canvas: MapCanvas, i: int, dx: float = 0.0, dy: float = 0.0) -> QPoint:
        """Product ``i``'s place (moved by ``dx``, ``dy`` of a tile) in viewport pixels."""
        x, y = self.xy[i]
        return canvas.mapFromScene(QPointF(x + dx * 2 * self.half, y + dy * 2 * self.half))

    def empty_spot(self, canvas: MapCanvas, near: QPoint | None = None) -> QPoint:
        """A viewport pixel no tile covers (nearest ``near``), inside the map's square."""
        corner = canvas.mapFromScene(QPointF(0, 0))
        spots = [QPoint(x, y) for x in range(max(corner.x(), 0) + 5, canvas.viewport().width() - 5, 7)
                 for y in range(max(corner.y(), 0) + 5, canvas.viewport().height() - 5, 7)]
        if near is not None:
            spots.sort(key=lambda s: (s - near).manhattanLength())
        return next(s for s in spots if not self.under(canvas, s))


def _sku(point: MapPoint | None) -> str | None:
    return point.product.sku if point is not None else None


# -- no item per product ---------------------------------------------------------------------------


def test_showing_a_map_adds_no_item_per_product(canvas, qtbot):
    """An item per product made show_map and the first paint grow with the catalog (0.6 s at 20,000)."""
    counts = {}
    for n in (50, 20_000):
        canvas.show_map(*synthetic(n))
        assert len(canvas.points) == n
        counts[n] = len(canvas.scene().items())
        assert not any(isinstance(item, MapPoint) for item in canvas.scene().items())
        qtbot.waitUntil(lambda: not canvas.placing(), timeout=60_000)  # every frame drawn, a slice a time
    assert counts[50] == counts[20_000] == 1


def test_a_map_shown_again_keeps_one_item(canvas, real_map):
    result, products = real_map
    for _ in range(3):
        canvas.show_map(result, products)
    assert len(canvas.scene().items()) == 1 and len(canvas.points) == len(result)


# -- hover, click, double-click ---------------------------------------------------------------------


def test_hover_and_click_find_the_tile_on_top(canvas, real_map, qtbot):
    result, products = real_map
    canvas.show_map(result, products)
    oracle = Oracle(result, products)
    spots = [oracle.view_of(canvas, i, dx, dy) for i in range(len(oracle.skus))
             for dx, dy in ((0, 0), (0.3, -0.3), (-0.45, 0.2), (0.55, 0.55))]
    stacked = [s for s in spots if len(oracle.under(canvas, s)) >= 2]
    assert len(stacked) > 20, "the map should have overlapping tiles to tell the top one"
    assert any(oracle.on_top(canvas, s) is None for s in spots)
    assert [_sku(canvas.point_at(s)) for s in spots] == [oracle.on_top(canvas, s) for s in spots]

    hovered: list = []
    canvas.hovered.connect(hovered.append)
    at = stacked[len(stacked) // 2]
    top = oracle.on_top(canvas, at)
    qtbot.mouseMove(canvas.viewport(), at)
    qtbot.waitUntil(canvas.card.isVisible)
    assert canvas.card.sku == top and _sku(hovered[-1]) == top

    announced: list = []
    canvas.selectionChanged.connect(lambda: announced.append(canvas.selected_skus()))
    qtbot.mouseClick(canvas.viewport(), LEFT, pos=at)
    assert canvas.selected_skus() == [top] and announced == [[top]]
    other = next(s for s in stacked if oracle.on_top(canvas, s) != top)
    second = oracle.on_top(canvas, other)
    qtbot.mouseClick(canvas.viewport(), LEFT, CTRL, pos=other)  # Ctrl: added
    assert canvas.selected_skus() == sorted([top, second])
    qtbot.mouseClick(canvas.viewport(), LEFT, CTRL, pos=at)  # Ctrl on a selected one: taken out
    assert canvas.selected_skus() == [second]
    qtbot.mouseClick(canvas.viewport(), LEFT, pos=oracle.empty_spot(canvas))  # the background: none
    assert canvas.selected_skus() == [] and announced[-1] == []

    qtbot.mouseMove(canvas.viewport(), oracle.empty_spot(canvas, at))
    qtbot.waitUntil(lambda: not canvas.card.isVisible())
    assert hovered[-1] is None


def test_double_click_on_the_background_shows_the_whole_map(canvas, real_map, qtbot):
    result, products = real_map
    canvas.show_map(result, products)
    oracle = Oracle(result, products)
    whole = canvas.transform().m11()
    canvas.scale(3, 3)
    spot = oracle.empty_spot(canvas, canvas.viewport().rect().center())
    tile = next(s for i in range(len(oracle.skus)) if oracle.on_top(canvas, s := oracle.view_of(canvas, i))
                and canvas.viewport().rect().contains(s))
    double_click(qtbot, canvas.viewport(), tile)  # on a product: selected, the zoom kept
    assert canvas.selected_skus() == [oracle.on_top(canvas, tile)]
    assert canvas.transform().m11() == pytest.approx(whole * 3)
    double_click(qtbot, canvas.viewport(), spot)
    assert canvas.transform().m11() == pytest.approx(whole)


# -- the rubber band ----------------------------------------------------------------------------------


def _drag(qtbot, canvas: MapCanvas, start: QPoint, end: QPoint, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, LEFT, modifier, start)
    qtbot.mouseMove(viewport, (start + end) / 2)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, LEFT, modifier, end)


def test_a_rubber_band_selects_the_tiles_it_meets(canvas, real_map, qtbot):
    result, products = real_map
    canvas.show_map(result, products)
    oracle = Oracle(result, products)
    centre = canvas.viewport().rect().center()
    start = oracle.empty_spot(canvas, centre - QPoint(180, 140))
    end = start + QPoint(240, 170)
    expected = oracle.in_band(canvas, QRect(start, end))  # the view's band: both corners in
    assert len(expected) >= 3
    announced: list = []
    canvas.selectionChanged.connect(lambda: announced.append(canvas.selected_skus()))
    _drag(qtbot, canvas, start, end)
    assert canvas.selected_skus() == expected and announced[-1] == expected
    assert sorted(p.product.sku for p in canvas.points_in(QRect(start, end))) == expected

    more_start = oracle.empty_spot(canvas, centre + QPoint(60, 40))
    more_end = more_start + QPoint(150, 120)
    more = oracle.in_band(canvas, QRect(more_start, more_end))
    assert set(more) - set(expected)
    _drag(qtbot, canvas, more_start, more_end, CTRL)  # Ctrl: added to the selection
    assert canvas.selected_skus() == sorted(set(expected) | set(more))
    _drag(qtbot, canvas, more_start, more_end)  # without: the band's products alone
    assert canvas.selected_skus() == more


def test_a_rubber_band_over_a_big_map_selects_what_a_brute_force_search_finds(canvas, qtbot):
    result, products = synthetic(20_000, seed=3)
    canvas.show_map(result, products)
    oracle = Oracle(result, products)
    canvas.scale(2.5, 2.5)  # zoomed in, as one selects among 20,000
    start = oracle.empty_spot(canvas, QPoint(100, 90))  # a press on a tile selects it instead of banding
    end = start + QPoint(320, 240)
    expected = oracle.in_band(canvas, QRect(start, end))
    assert len(expected) > 50
    _drag(qtbot, canvas, start, end)
    assert canvas.selected_skus() == expected


def test_hover_on_a_big_map_finds_the_tile_on_top(canvas):
    """20,000 tiles, most of them overlapping: the spatial index against a search of every place."""
    result, products = synthetic(20_000, seed=1)
    canvas.show_map(result, products)
    oracle = Oracle(result, products)
    rng = np.random.default_rng(2)
    for zoom in (1.0, 6.0):
        canvas.scale(zoom, zoom)
        spots = [QPoint(x, y) for x, y in rng.integers(0, 700, (300, 2)).tolist()]
        assert sum(len(oracle.under(canvas, s)) >= 2 for s in spots) > 30
        assert [_sku(canvas.point_at(s)) for s in spots] == [oracle.on_top(canvas, s) for s in spots]


# -- the other map's selection and hover ----------------------------------------------------------------


def test_select_and_light_by_sku(canvas, real_map):
    result, products = real_map
    canvas.show_map(result, products)
    oracle = Oracle(result, products)
    announced: list = []
    canvas.selectionChanged.connect(lambda: announced.append(1))
    chosen = oracle.skus[3:6]
    canvas.select([*chosen, "not on this map"])
    assert canvas.selected_skus() == sorted(chosen) and announced == []  # the other map's: not announced
    canvas.select([])
    assert canvas.selected_skus() == []

    lower, at = next((i, s) for i in range(len(oracle.skus)) if oracle.on_top(canvas, s := oracle.view_of(canvas, i))
                     != oracle.skus[i])  # a tile whose centre another covers
    upper = oracle.on_top(canvas, at)
    assert _sku(canvas.point_at(at)) == upper
    canvas.light(oracle.skus[lower])
    assert canvas.lit_sku() == oracle.skus[lower] and canvas.points[oracle.skus[lower]].lit
    assert _sku(canvas.point_at(at)) == oracle.skus[lower]  # lit: raised above its neighbours
    canvas.light("not on this map")
    assert canvas.lit_sku() is None and _sku(canvas.point_at(at)) == upper


def test_removed_products_are_left_out_and_the_selection_kept(canvas, real_map):
    result, products = real_map
    canvas.show_map(result, products)
    skus = [products[int(pid)].sku for pid in result.ids[:4]]
    canvas.select(skus[:3])
    announced: list = []
    canvas.selectionChanged.connect(lambda: announced.append(canvas.selected_skus()))
    left = {pid: p for pid, p in products.items() if p.sku not in (skus[0], skus[3])}
    canvas.show_map(result, left)
    assert len(canvas.points) == len(result) - 2 and skus[0] not in canvas.points
    assert canvas.selected_skus() == sorted(skus[1:3]) and announced == [sorted(skus[1:3])]
    oracle = Oracle(result, left)
    spots = [oracle.view_of(canvas, i, 0.2, 0.1) for i in range(len(oracle.skus))]
    assert [_sku(canvas.point_at(s)) for s in spots] == [oracle.on_top(canvas, s) for s in spots]


# -- the keys' cost -------------------------------------------------------------------------------------


def _key_bytes(qtbot, canvas: MapCanvas, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> int:
    """The most memory a key press held at once: what a pass over the map's places allocates (a column of
    200,000 places is 1.6 MB) shows here, counted, where its time would depend on the machine."""
    tracemalloc.start()
    try:
        qtbot.keyClick(canvas, key, modifier)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_home_end_and_tab_on_a_map_of_200000_look_at_no_pass_over_it(canvas, qtbot):
    """200,000 products, three moved onto the top left one's spot: Ctrl+Home, Tab, Shift+Tab, End, Home and
    Ctrl+End reach what a brute-force search of the places finds, and an arrow key with nothing further that
    way keeps the product, each holding less memory than a fifth of one column of the map's places (the row's
    ends and the map's are looked up in an order made with the layout, in the Map tab's worker; the spot in
    the x strip, as hover finds a tile; an arrow's search stops at the map's edge, where it searched the whole
    map: 13 MB)."""
    n = 200_000
    result, products = synthetic(n, seed=6)
    tile = tile_side(n)
    rows = np.floor(result.xy[:, 1].astype(np.float64) * SIDE / tile)
    result = stacked(result, onto=int(np.lexsort((result.xy[:, 0], rows))[0]), movers=[10, 20, 30])
    xy = result.xy.astype(np.float64) * SIDE
    rows = np.floor(xy[:, 1] / tile)
    order = np.lexsort((xy[:, 0], rows))
    sku_of = [products[int(pid)].sku for pid in result.ids.tolist()]
    reading = [sku_of[i] for i in order]
    spot = [sku_of[i] for i in np.flatnonzero(np.hypot(*(xy - xy[order[0]]).T) <= tile * SAME_SPOT)]
    assert {"S11", "S21", "S31"} <= set(spot)
    canvas.show_map(result, products)
    canvas.activateWindow()
    canvas.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(canvas.hasFocus)
    held = {"Ctrl+Home": _key_bytes(qtbot, canvas, Qt.Key.Key_Home, CTRL)}
    assert canvas.current_sku() == reading[0] == spot[0]
    for sku in spot[1:]:
        held[f"Tab to {sku}"] = _key_bytes(qtbot, canvas, Qt.Key.Key_Tab)
        assert canvas.current_sku() == sku and f"of {len(spot)} here" in canvas.accessibleDescription()
    held["Shift+Tab"] = _key_bytes(qtbot, canvas, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert canvas.current_sku() == spot[-2]
    row = [sku_of[i] for i in order if rows[i] == rows[sku_of.index(spot[-2])]]
    held["End"] = _key_bytes(qtbot, canvas, Qt.Key.Key_End)
    assert canvas.current_sku() == row[-1]
    held["Home"] = _key_bytes(qtbot, canvas, Qt.Key.Key_Home)
    assert canvas.current_sku() == row[0]
    held["Ctrl+End"] = _key_bytes(qtbot, canvas, Qt.Key.Key_End, CTRL)
    assert canvas.current_sku() == reading[-1]
    for key, way in ((Qt.Key.Key_Down, (0, 1)), (Qt.Key.Key_Right, (1, 0))):  # to the edge, and past it
        for _ in range(20):
            d = xy - xy[sku_of.index(canvas.current_sku())]
            along, across = d @ way, np.abs(d @ (way[1], -way[0]))
            if not np.any((along > 0) & (across <= along) & (np.hypot(*d.T) > tile * SAME_SPOT)):
                break
            qtbot.keyClick(canvas, key)
        edge = canvas.current_sku()
        held[f"{key.name} past the edge"] = _key_bytes(qtbot, canvas, key)
        assert canvas.current_sku() == edge
    assert max(held.values()) < n * 8 / 5, held
