"""Where used lays each row out within the list's viewport, in the app's theme and without it: a photo name of long
unbreakable runs (a pasted picture's) made Qt size its row by them, 3 px wider than the themed viewport (1 px without
the theme, 60 more in a narrow panel), reaching under the list's border."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication

from app import theme
from app.widgets.where_used import WhereUsedPanel
from app.workers import Runner
from engine.catalog import Product
from engine.imageio import load_image
from engine.pipeline import Pipeline
from engine.scene_memory import APP, SeenObject, remember
from engine.settings import Settings

pytestmark = pytest.mark.gui
WAIT_MS = 30_000
NAMES = ("pasted-20261207-102149-072386-from-the-spring-lookbook-moodboard.png",
         "ikea-a-table-that-rises-to-the-occasion__1364319304125-s4.jpg", "sofa.jpg")


def _rows_outside(panel: WhereUsedPanel) -> list[tuple[str, int, int]]:
    """(row, its right edge, the viewport's width) of each row not laid out within the list's viewport."""
    listed = panel.sightings
    rects = [(listed.item(i).text(), listed.visualItemRect(listed.item(i))) for i in range(listed.count())]
    return [(text, rect.right(), listed.viewport().width()) for text, rect in rects
            if rect.isEmpty() or rect.right() >= listed.viewport().width()]


def _laid_out(qtbot, panel: WhereUsedPanel, frame: int) -> list[tuple[str, int, int]]:
    """``_rows_outside`` once the list is as wide as the panel less its ``frame`` (no vertical scroll bar) and its rows
    are laid out for that width."""
    qtbot.waitUntil(lambda: panel.sightings.viewport().width() == panel.width() - frame, timeout=WAIT_MS)
    panel.sightings.doItemsLayout()
    return _rows_outside(panel)


def test_where_used_rows_fit_the_viewport_with_and_without_the_theme(qtbot, tmp_path: Path, scene_path, qapp):
    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    catalog, key, dim = pipeline.catalog, pipeline.embedder.key, pipeline.embedder.dim
    with catalog.transaction() as revision:
        catalog.upsert(Product("S1", "GRÖNADAL", "armchair", "/photos/s1.jpg", "h1"), revision)
    for number, name in enumerate(NAMES, 1):
        photo = tmp_path / name
        shutil.copyfile(scene_path("take-a-comfy-seat-on-the-sofa"), photo)
        photo.write_bytes(photo.read_bytes() + bytes(number))  # photos of their own: one content is one photo
        height, width = load_image(photo).shape[:2]
        remember(pipeline, photo, (width, height), [SeenObject(1, "armchair", (40.0, 40.0, 200.0, 240.0), (),
                                                               ("S1", 0.9, "exact"), vector=np.ones(dim, np.float32),
                                                               embedder=key)], APP)
    app = QApplication.instance()
    sheet, palette = app.styleSheet(), app.palette()
    panel = WhereUsedPanel(pipeline, Runner(1, qapp))
    qtbot.addWidget(panel)
    try:
        app.setStyleSheet("")  # without the theme, whichever test ran before
        panel.resize(320, 600)
        panel.show()
        panel.show_product("S1")
        qtbot.waitUntil(lambda: panel.sightings.count() == len(NAMES) and not panel.io.busy(), timeout=WAIT_MS)
        outside = {"plain": _laid_out(qtbot, panel, 2)}
        theme.apply(app, "light")  # its list frame: a 1 px border and 1 px padding each side
        for width in (320, 200):  # the rows are laid out again as the list's width changes
            panel.resize(width, 600)
            outside[f"themed at {width} px"] = _laid_out(qtbot, panel, 4)
        assert outside == {"plain": [], "themed at 320 px": [], "themed at 200 px": []}
    finally:
        app.setStyleSheet(sheet)
        app.setPalette(palette)
