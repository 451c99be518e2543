"""The Map tab's canvas from the keyboard: a focus ring, a current product the arrow keys move, Space or Enter
to select it as a click does, + and − to zoom around it, 0 for the whole map.

A keyboard-only walk found the map took Tab focus and showed no ring; +, −, Enter and Space did nothing and
the arrow keys only scrolled, so no product could be reached without a mouse. On a real map (every tenth
shared IKEA product, embedded by the real MobileNetV2, placed by the real openTSNE) and a synthetic one of
20,000 products, each arrow key must land on the product a brute-force search of the map's places picks.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from map_data import synthetic  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QAction, QColor, QKeySequence, QPalette  # noqa: E402
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget  # noqa: E402

from app.labels import product_title  # noqa: E402
from app.thumbnails import Thumbnails  # noqa: E402
from app.widgets.map_canvas import SIDE, MapCanvas  # noqa: E402
from app.workers import Runner  # noqa: E402
from engine.catalog import Product  # noqa: E402
from engine.catalog_map import CatalogMap  # noqa: E402

CTRL = Qt.KeyboardModifier.ControlModifier
ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}


@pytest.fixture
def window(qtbot):
    """The canvas in a window with a button after it (somewhere for the keyboard to go) and the window-wide
    shortcuts the main window has for the photo: Ctrl++, Ctrl+− and Ctrl+0 (counted when they fire)."""
    runner = Runner(2)
    top = QWidget()
    canvas = MapCanvas(Thumbnails(runner))
    button = QPushButton("Next")
    layout = QVBoxLayout(top)
    layout.addWidget(canvas)
    layout.addWidget(button)
    top.fired = []
    for keys in (QKeySequence.StandardKey.ZoomIn, QKeySequence.StandardKey.ZoomOut, "Ctrl+0", "Ctrl+="):
        action = QAction(top)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _=False, k=keys: top.fired.append(k))
        top.addAction(action)
    qtbot.addWidget(top)
    top.resize(900, 760)
    top.show()
    qtbot.waitExposed(top)
    top.activateWindow()
    top.canvas, top.button = canvas, button
    yield top
    canvas.clear()
    runner.shutdown()


class Places:
    """The map's places by brute force: which product an arrow key should reach."""

    def __init__(self, result: CatalogMap, products: dict[int, Product]):
        kept = [i for i, pid in enumerate(result.ids.tolist()) if pid in products]
        self.skus = [products[int(result.ids[i])].sku for i in kept]
        self.xy = result.xy[kept].astype(np.float64) * SIDE

    def of(self, sku: str) -> np.ndarray:
        return self.xy[self.skus.index(sku)]

    def nearest(self, x: float, y: float) -> str:
        return self.skus[int(np.argmin(np.hypot(self.xy[:, 0] - x, self.xy[:, 1] - y)))]

    def that_way(self, sku: str, way: tuple[int, int]) -> str | None:
        """The nearest product within 45° of ``way``, closeness across counting twice closeness along."""
        d = self.xy - self.of(sku)
        along, across = d @ np.array(way, float), np.abs(d @ np.array((way[1], -way[0]), float))
        ahead = np.flatnonzero((along > 0) & (across <= along))
        return self.skus[int(ahead[np.argmin((along + 2 * across)[ahead])])] if len(ahead) else None


def _focus(qtbot, window) -> MapCanvas:
    window.button.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(window.button.hasFocus)
    canvas = window.canvas
    canvas.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(canvas.hasFocus)
    return canvas


def _walk(qtbot, canvas: MapCanvas, places: Places, keys: list[Qt.Key]) -> list[str]:
    """Press ``keys``; after each, the current product must be the one ``places`` finds that way."""
    walked = []
    for key in keys:
        before = canvas.current_sku()
        expected = places.that_way(before, ARROWS[key]) or before  # nothing further: it stays
        qtbot.keyClick(canvas, key)
        assert canvas.current_sku() == expected, (key, before)
        walked.append(expected)
    return walked


def test_the_keyboard_reaches_the_nearest_product_in_each_direction(window, real_map, qtbot):
    """Tab onto the map: the product nearest the middle becomes current, shown on its card and named to a
    screen reader; each arrow key then goes to the nearest product that way (on the old code the arrow keys
    only scrolled, and no product was ever current)."""
    result, products = real_map
    places = Places(result, products)
    canvas = window.canvas
    canvas.show_map(result, products)
    canvas = _focus(qtbot, window)
    middle = canvas.mapToScene(canvas.viewport().rect().center())
    first = places.nearest(middle.x(), middle.y())
    assert canvas.current_sku() == first and canvas.card.isVisible() and canvas.card.sku == first
    walked = _walk(qtbot, canvas, places, [Qt.Key.Key_Right] * 4 + [Qt.Key.Key_Down] * 4 + [Qt.Key.Key_Left] * 4
                   + [Qt.Key.Key_Up] * 4)
    assert len(set(walked)) >= 8, "the walk should move across the map"
    for before, after, key in zip([first, *walked], walked, [Qt.Key.Key_Right] * 4 + [Qt.Key.Key_Down] * 4):
        dx, dy = places.of(after) - places.of(before)
        way = ARROWS[key]
        assert dx * way[0] + dy * way[1] > 0  # went the way pressed
    last = next(p for p in products.values() if p.sku == walked[-1])
    assert canvas.card.sku == last.sku
    assert canvas.accessibleDescription().startswith(product_title(last.name, last.sku, last.category))


def test_arrow_keys_on_a_big_map_reach_what_a_brute_force_search_finds(window, qtbot):
    """20,000 products: the spatial index's answer, reach doubled as needed, is the brute force's."""
    result, products = synthetic(20_000, seed=3)
    places = Places(result, products)
    window.canvas.show_map(result, products)
    canvas = _focus(qtbot, window)
    keys = list(np.random.default_rng(5).choice(list(ARROWS), 60))
    _walk(qtbot, canvas, places, [Qt.Key(int(k)) for k in keys])
    corner = canvas.current_sku()
    for _ in range(3):  # into a corner and past it: nothing further, the product stays
        qtbot.keyClick(canvas, Qt.Key.Key_Left)
    while (step := places.that_way(canvas.current_sku(), (-1, 0))) is not None:
        qtbot.keyClick(canvas, Qt.Key.Key_Left)
        assert canvas.current_sku() == step
    leftmost = canvas.current_sku()
    qtbot.keyClick(canvas, Qt.Key.Key_Left)
    assert canvas.current_sku() == leftmost != corner


def test_space_and_enter_select_the_current_product_as_a_click_does(window, real_map, qtbot):
    """Space or Enter: the current product alone selected (announced, as a click); Ctrl+Space adds it to the
    selection or takes it out, as Ctrl+click. The old code ignored both keys."""
    result, products = real_map
    window.canvas.show_map(result, products)
    canvas = _focus(qtbot, window)
    announced: list = []
    canvas.selectionChanged.connect(lambda: announced.append(canvas.selected_skus()))
    first = canvas.current_sku()
    qtbot.keyClick(canvas, Qt.Key.Key_Space)
    assert canvas.selected_skus() == [first] and announced == [[first]]
    assert ", selected" in canvas.accessibleDescription()
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    second = canvas.current_sku()
    assert second != first and ", selected" not in canvas.accessibleDescription()
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert canvas.selected_skus() == [second]
    qtbot.keyClick(canvas, Qt.Key.Key_Left)
    qtbot.keyClick(canvas, Qt.Key.Key_Space, CTRL)
    third = canvas.current_sku()
    assert canvas.selected_skus() == sorted({second, third}) and len(canvas.selected_skus()) == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Space, CTRL)
    assert canvas.selected_skus() == [second] and announced[-1] == [second]


def test_plus_and_minus_zoom_around_the_current_product_and_0_shows_the_whole_map(window, real_map, qtbot):
    """+ / − (and Ctrl++ / Ctrl+−, which the window's photo shortcuts must not take) zoom by 1.25 keeping the
    current product where it is on screen; walking a zoomed map keeps the current product in view; 0 and
    Ctrl+0 fit the whole map. The old code did nothing on + and −, and Ctrl++ zoomed the (hidden) photo."""
    result, products = real_map
    window.canvas.show_map(result, products)
    canvas = _focus(qtbot, window)
    whole = canvas.transform().m11()

    def on_screen() -> QPoint:
        return canvas.mapFromScene(QPointF(*Places(result, products).of(canvas.current_sku())))

    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    assert canvas.transform().m11() == pytest.approx(whole * 1.25)
    at = on_screen()  # zoomed in, the map scrolls both ways: the product can stay where it is
    qtbot.keyClick(canvas, Qt.Key.Key_Equal, CTRL)
    qtbot.keyClick(canvas, Qt.Key.Key_Plus, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert canvas.transform().m11() == pytest.approx(whole * 1.25**3)
    assert (on_screen() - at).manhattanLength() <= 2
    qtbot.keyClick(canvas, Qt.Key.Key_Minus)
    qtbot.keyClick(canvas, Qt.Key.Key_Minus, CTRL)
    assert canvas.transform().m11() == pytest.approx(whole * 1.25)
    assert window.fired == []  # the map's keys, not the window's
    for _ in range(8):
        qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    for key in [Qt.Key.Key_Right] * 6 + [Qt.Key.Key_Down] * 6:
        qtbot.keyClick(canvas, key)
        assert canvas.viewport().rect().contains(on_screen()), key
    qtbot.keyClick(canvas, Qt.Key.Key_0)
    assert canvas.transform().m11() == pytest.approx(whole)
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    qtbot.keyClick(canvas, Qt.Key.Key_0, CTRL)
    assert canvas.transform().m11() == pytest.approx(whole) and window.fired == []


def _near(colour: QColor, other: QColor) -> bool:
    return max(abs(colour.red() - other.red()), abs(colour.green() - other.green()),
               abs(colour.blue() - other.blue())) <= 40


def test_the_map_and_its_current_product_are_ringed_while_the_keyboard_is_on_them(window, real_map, qtbot):
    """A ring of the accent colour around the map and around the current product while the map has the
    keyboard, neither once it has gone (the old code drew neither: the map took Tab and showed nothing)."""
    result, products = real_map
    canvas = window.canvas
    canvas.show_map(result, products)
    accent = canvas.palette().color(QPalette.ColorRole.Highlight)

    def looks() -> tuple[QColor, list[QColor]]:
        """The map's edge, and the pixels across the current product's ring, left of its tile."""
        edge = canvas.grab().toImage().pixelColor(0, canvas.height() // 2)
        shot = canvas.viewport().grab().toImage()
        place = canvas.mapFromScene(QPointF(*Places(result, products).of(canvas.current_sku())))
        tile = canvas.transform().m11() * canvas.layer.tile
        left = round(place.x() - max(tile + 8, 20) / 2)
        return edge, [shot.pixelColor(x, place.y()) for x in range(left - 2, left + 3)]

    canvas = _focus(qtbot, window)
    edge, ring = looks()
    assert _near(edge, accent) and any(_near(c, accent) for c in ring)
    window.button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: not canvas.hasFocus())
    edge, ring = looks()
    assert not _near(edge, accent) and not any(_near(c, accent) for c in ring)


def test_the_card_grows_to_a_longer_products_lines(window, real_map, qtbot):
    """The card the keys (and hovering) show beside a product: shown before for a product of short lines, it
    kept its width for the next one and cut its lines ("301.674.61 · Hardware & fittir")."""
    result, products = real_map
    canvas = window.canvas
    canvas.show_map(result, products)
    by_length = sorted(products.values(), key=lambda p: len(p.name) + len(p.category))
    for product in (by_length[0], by_length[-1], by_length[len(by_length) // 2]):
        canvas.card.show_product(product, QPoint(100, 100))
        qtbot.wait(10)
        for label in (canvas.card.name, canvas.card.detail):
            assert label.width() >= label.sizeHint().width(), (product.sku, label.text())
