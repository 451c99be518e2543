"""Look-alike SKUs in the app: a feed's "АBC-1" (Cyrillic А) beside the catalog's "ABC-1" was named once by the
import's summary, then the Catalog tab showed "ABC-1" on both tiles. A SKU that reads as another of the catalog's
now shows the characters it reads alike by marked (``engine.lookalike.marked``), offscreen on real IKEA photos."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from app.thumbnails import Thumbnails
from app.widgets.catalog_view import CatalogView, ProductTile
from app.workers import Runner
from engine.catalog import Catalog, Product
from engine.importer import read_alike
from engine.pipeline import Pipeline
from engine.settings import Settings

pytestmark = pytest.mark.gui
WAIT_MS = 60_000
# the catalog's "ABC-1" and a Cyrillic А's; "ABC‑2" (U+2011) and "АBC-2" read as one with no ASCII "ABC-2" stored;
# "Café" reads as nothing else
SKUS = ("ABC-1", "\u0410BC-1", "ABC\u20112", "\u0410BC-2", "Café")


def _stored(catalog: Catalog, ikea: Path) -> None:
    photos = sorted((ikea / "products" / "lamp").glob("*.jpg"))
    with catalog.transaction() as revision:
        for sku, photo in zip(SKUS, photos):
            catalog.upsert(Product(sku, "Lamp", "lamp", str(photo)), revision)


@pytest.fixture
def pipeline(tmp_path: Path, ikea: Path) -> Pipeline:
    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    _stored(pipeline.catalog, ikea)
    return pipeline


def test_read_alike_names_the_skus_outside_ascii_that_read_as_another(pipeline: Pipeline) -> None:
    """Only a SKU outside ASCII is marked: "ABC-1" is the one the others are told from; a list of ASCII SKUs asks
    the catalog nothing."""
    catalog = pipeline.catalog
    assert read_alike(catalog, SKUS) == {"\u0410BC-1", "ABC\u20112", "\u0410BC-2"}
    assert read_alike(catalog, ["ABC\u20112"]) == {"ABC\u20112"}  # its look-alike not on the screen
    assert read_alike(catalog, ["ABC-1", "Café"]) == set()


def test_the_catalog_tab_marks_a_sku_that_reads_as_another(qtbot, pipeline: Pipeline, qapp) -> None:
    view = CatalogView(pipeline, Runner(1, qapp), Runner(1, qapp), Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() == len(SKUS), timeout=WAIT_MS)
    shown, tips = {}, {}
    for row in range(view.model.rowCount()):
        index = view.model.index(row)
        product = view.model.data(index, Qt.ItemDataRole.UserRole)
        alike = product.sku in view.model.alike  # as the tile's paint reads it
        shown[product.sku] = ProductTile.lines(product, view.grid.font(), 2000, alike)[1][0].split(" · ")[0]
        tips[product.sku] = (view.model.data(index, Qt.ItemDataRole.ToolTipRole),
                             view.model.data(index, Qt.ItemDataRole.AccessibleTextRole))
    assert shown == {"ABC-1": "ABC-1", "\u0410BC-1": "⟨U+0410⟩BC-1", "ABC\u20112": "ABC⟨U+2011⟩2",
                     "\u0410BC-2": "⟨U+0410⟩BC-2", "Café": "Café"}
    tip, spoken = tips["\u0410BC-1"]
    assert "SKU ⟨U+0410⟩BC-1" in tip and "Lamp, ⟨U+0410⟩BC-1 · Lamp" in spoken
    assert "SKU ABC-1" in tips["ABC-1"][0] and "SKU Café" in tips["Café"][0]


def test_where_useds_goes_with_marks_a_sku_that_reads_as_another(qtbot, fresh_pipeline: Pipeline, ikea: Path,
                                                                   scene_path, qapp) -> None:
    """Goes with listed the products tagged beside the one asked for by title and SKU: two "Lamp · ABC-1" rows."""
    from app.widgets.where_used import WhereUsedPanel
    from engine.imageio import load_image
    from engine.scene_memory import APP, SeenObject, remember

    _stored(fresh_pipeline.catalog, ikea)
    photo = scene_path("take-a-comfy-seat-on-the-sofa")
    objects = [SeenObject(n, "lamp", (40.0 * n, 40.0, 40.0 * n + 120, 200.0), (), (sku, 0.9, "exact"))
               for n, sku in enumerate(SKUS, 1)]
    height, width = load_image(photo).shape[:2]
    remember(fresh_pipeline, photo, (width, height), objects, APP)
    panel = WhereUsedPanel(fresh_pipeline, Runner(1, qapp))
    qtbot.addWidget(panel)
    panel.show_product("Café")
    qtbot.waitUntil(lambda: panel.together.count() == len(SKUS) - 1, timeout=WAIT_MS)
    rows = sorted(panel.together.item(i).text() for i in range(panel.together.count()))
    assert rows == ["Lamp · ABC-1 · 1 photo", "Lamp · ABC⟨U+2011⟩2 · 1 photo", "Lamp · ⟨U+0410⟩BC-1 · 1 photo",
                    "Lamp · ⟨U+0410⟩BC-2 · 1 photo"]
