"""The Catalog tab's tiles show a feed's price as the feed wrote it, offscreen on real IKEA products."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QRectF, Qt  # noqa: E402
from PySide6.QtGui import QFontMetrics, QPalette  # noqa: E402

from app.thumbnails import Thumbnails  # noqa: E402
from app.widgets.catalog_view import PRICE_LINE, TILE, CatalogView, ProductTile  # noqa: E402
from app.workers import Runner  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
PRICES = ("12,50 €", "199.00", "1 299,00 kr", "")  # as feeds write them, and a product with none


@pytest.fixture
def priced_feed(tmp_path: Path, ikea: Path, ikea_products: list[dict[str, str]]) -> Path:
    """Four IKEA armchairs with long names (the grey line under them was full), priced as PRICES say."""
    chairs = [r for r in ikea_products if r["category"] == "armchair"][:len(PRICES)]
    feed = tmp_path / "feed.csv"
    with open(feed, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("sku", "name", "category", "image", "price"))
        writer.writerows((r["product_id"], f"{r['name']} {r['ikea_type']}", "armchair", str(ikea / r["image"]), price)
                         for r, price in zip(chairs, PRICES))
    return feed


@pytest.fixture
def view(qtbot, fresh_pipeline, priced_feed: Path, qapp) -> CatalogView:
    """The Catalog tab, 1000 px wide, listing the priced feed's products."""
    view = CatalogView(fresh_pipeline, Runner(1, qapp), Runner(2, qapp), Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
        view.import_from(priced_feed)
    qtbot.waitUntil(lambda: view.model.rowCount() == len(PRICES), timeout=WAIT_MS)
    return view


def test_each_tile_shows_the_price_the_feed_wrote(view: CatalogView):
    """The price was the last part of the grey line ("601.592.28 · Armchair · 12,50 €"), elided away on every tile
    of a real catalog: a merchandiser saw it nowhere in the grid. It is a line of its own now, whole."""
    font = view.grid.font()
    shown = {}
    for row in range(view.model.rowCount()):
        index = view.model.index(row)
        product = view.model.data(index, Qt.ItemDataRole.UserRole)
        area = ProductTile.text_area(QRectF(view.grid.visualRect(index)))
        lines = [text for text, _font, _role in ProductTile.lines(product, font, int(area.width()))]
        shown[product.price] = lines[2:]
        # the picture, then the lines: each lies inside the tile
        height = sum(QFontMetrics(f).height() + ProductTile.LINE_GAP for _t, f, _r in ProductTile.lines(product, font, 1))
        assert area.top() + height <= view.grid.visualRect(index).bottom(), (product.sku, area, height)
        ink = _ink(view, index, area, 2)  # the price's line: the text colour there, or nothing
        assert (ink > 0) == bool(product.price), (product.sku, product.price, ink)
    assert shown == {"12,50 €": ["12,50 €"], "199.00": ["199.00"], "1 299,00 kr": ["1 299,00 kr"], "": []}


def test_tiles_keep_no_price_line_where_no_product_listed_has_a_price(qtbot, view: CatalogView):
    """A catalog without prices (a folder import) showed an empty band under every tile, the price's line."""
    assert view.grid.gridSize().height() == TILE.height()
    unpriced = next(p for p in view.model.products if not p.price)
    view.search.setText(unpriced.sku)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=WAIT_MS)
    assert view.grid.gridSize().height() == TILE.height() - PRICE_LINE
    index = view.model.index(0)
    area = ProductTile.text_area(QRectF(view.grid.visualRect(index)))
    font = view.grid.font()
    height = sum(QFontMetrics(f).height() + ProductTile.LINE_GAP for _t, f, _r in ProductTile.lines(unpriced, font, 1))
    assert area.top() + height <= view.grid.visualRect(index).bottom()  # its two lines still fit
    view.search.clear()
    qtbot.waitUntil(lambda: view.model.rowCount() == len(PRICES), timeout=WAIT_MS)
    assert view.grid.gridSize().height() == TILE.height()


def _ink(view: CatalogView, index, area: QRectF, line: int) -> int:
    """Pixels of the text colour in the tile's ``line`` (0: the name) as the grid painted it."""
    fm = QFontMetrics(view.grid.font())
    top = int(area.top()) + line * (fm.height() + ProductTile.LINE_GAP) + 2  # the name's bold font is as tall
    image = view.grid.viewport().grab().toImage()
    text = view.grid.palette().color(QPalette.ColorRole.Text)
    return sum(1 for y in range(top, top + fm.height() - 4) for x in range(int(area.left()), int(area.right()))
               if 0 <= y < image.height() and _near(image.pixelColor(x, y), text))


def _near(colour, text) -> bool:
    return max(abs(colour.red() - text.red()), abs(colour.green() - text.green()),
               abs(colour.blue() - text.blue())) < 60
