"""Where used lists a photo whose name has no spaces (a pasted picture's, a web page's "ikea-a-bed-that-…")
within the panel's width: such a name ran off the row's right edge, cut mid-word, under a horizontal scroll bar."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from test_app_catalog_price import priced_feed  # noqa: F401  the priced catalog, shared
from test_app_where_used_price import panel  # noqa: F401  its products confirmed in a real room photo

from app.widgets.where_used import WhereUsedPanel
from engine.imageio import load_image
from engine.scene_memory import APP, SeenObject, remember

pytestmark = pytest.mark.gui
WAIT_MS = 30_000
LONG = "pasted-20261207-102149-072386-from-the-spring-lookbook-moodboard.png"


def test_a_long_photo_name_wraps_within_the_panel(qtbot, panel: WhereUsedPanel, tmp_path: Path,  # noqa: F811
                                                  scene_path):
    photo = tmp_path / LONG
    shutil.copyfile(scene_path("take-a-comfy-seat-on-the-sofa"), photo)  # remembered by its real path
    product = panel.pipeline.catalog.products()[0]
    height, width = load_image(photo).shape[:2]
    remember(panel.pipeline, photo, (width, height), [SeenObject(1, "armchair", (40.0, 40.0, 200.0, 240.0), (),
                                                                 (product.sku, 0.9, "exact"))], APP)
    panel.resize(320, 600)
    panel.show()
    panel.show_product(product.sku)
    listed = panel.sightings
    qtbot.waitUntil(lambda: listed.count() == 1, timeout=WAIT_MS)  # the same pixels: they replace the sofa photo
    row = listed.item(0)
    # within the list's viewport once laid out (the rows follow its width as it changes), themed or not
    qtbot.waitUntil(lambda: 0 < listed.visualItemRect(row).right() < listed.viewport().width(), timeout=WAIT_MS)
    assert not listed.horizontalScrollBar().isVisible()
    assert str(photo) in row.toolTip()
    qtbot.waitUntil(lambda: not panel.io.busy(), timeout=WAIT_MS)
