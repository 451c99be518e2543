"""The Catalog's Where used panel says the price of the product it shows, and of each product that goes with it,
as the feed wrote it (the catalog tiles' price line), on a real priced catalog and a real room photo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtGui import QTextLayout, QTextOption
from PySide6.QtWidgets import QWidget
from test_app_catalog_price import priced_feed  # noqa: F401  the priced catalog, shared

from app.labels import product_title
from app.widgets.where_used import LOOKS_LIKE, NO_BREAK, WhereUsedPanel
from app.workers import Runner
from engine.imageio import load_image
from engine.scene_memory import APP, SeenObject, remember

pytestmark = pytest.mark.gui
WAIT_MS = 90_000


@pytest.fixture
def panel(qtbot, fresh_pipeline, priced_feed: Path, scene_path, qapp) -> WhereUsedPanel:  # noqa: F811
    """The priced armchairs imported, and each confirmed on a tag of one real room photo: they go together."""
    fresh_pipeline.import_catalog(priced_feed)
    products = fresh_pipeline.catalog.products()
    photo = scene_path("take-a-comfy-seat-on-the-sofa")
    objects = [SeenObject(n, "armchair", (40.0 * n, 40.0, 40.0 * n + 120, 200.0), (), (p.sku, 0.9, "exact"))
               for n, p in enumerate(products, 1)]
    height, width = load_image(photo).shape[:2]
    remember(fresh_pipeline, photo, (width, height), objects, APP)
    panel = WhereUsedPanel(fresh_pipeline, Runner(1, qapp))
    qtbot.addWidget(panel)
    return panel


def _wrapped(text: str, widget: QWidget, width: int) -> list[str]:
    """``text`` as lines wrapped at word boundaries to ``width`` pixels in the widget's font."""
    layout = QTextLayout(text, widget.font())
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    layout.setTextOption(option)
    layout.beginLayout()
    lines = []
    while (line := layout.createLine()).isValid():
        line.setLineWidth(width)
        lines.append(text[line.textStart():line.textStart() + line.textLength()])
    layout.endLayout()
    return lines


def _title(product) -> str:
    return product_title(product.name, product.sku, product.category)


def test_the_panel_says_the_price_of_the_product_and_of_what_goes_with_it(qtbot, panel: WhereUsedPanel):
    """No price anywhere in the panel: a merchandiser choosing what goes with a chair had to look each one up in
    the grid. A product without a price says none (no empty "·")."""
    products = {p.price: p for p in panel.pipeline.catalog.products()}
    shown = products["12,50 €"]
    panel.show_product(shown.sku)
    qtbot.waitUntil(lambda: panel.together.count() == len(products) - 1, timeout=WAIT_MS)
    heading = f"Where used: {_title(shown)} · 12,50 € — best match of 1 tag in 1 photo"
    assert _plain(panel.title.text()).startswith(heading)
    rows = {_plain(panel.together.item(i).text()) for i in range(panel.together.count())}
    assert rows == {f"{_title(p)} · {price} · {p.sku} · 1 photo" if price else f"{_title(p)} · {p.sku} · 1 photo"
                    for price, p in products.items() if p is not shown}
    # a row wrapped however narrow never breaks its price: "1" at a line's end, "299,00 kr" on the next
    text = next(t for i in range(panel.together.count()) if "kr" in (t := panel.together.item(i).text()))
    narrow = panel.together.fontMetrics().horizontalAdvance("1 299,00") // 2
    assert "1 299,00 kr" in [_plain(line).strip(" ·") for line in _wrapped(text, panel.together, narrow)]

    unpriced = products[""]
    panel.show_product(unpriced.sku)
    qtbot.waitUntil(lambda: _title(unpriced) in panel.title.text(), timeout=WAIT_MS)
    assert panel.title.text().startswith(f"Where used: {_title(unpriced)} — best match")

    panel.show_product(shown.sku)
    panel.mode.setCurrentIndex(LOOKS_LIKE)
    qtbot.waitUntil(lambda: panel.title.text().startswith("Looks like ") and "tagged photo" in panel.title.text(),
                    timeout=WAIT_MS)
    assert _plain(panel.title.text()).startswith(f"Looks like {_title(shown)} · 12,50 €: ")
    qtbot.waitUntil(lambda: not panel.io.busy(), timeout=WAIT_MS)


def _plain(text: str) -> str:
    """The panel's text with its no-break spaces as the feed's spaces."""
    return text.replace(NO_BREAK, " ")
