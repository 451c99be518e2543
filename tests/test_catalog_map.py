"""The catalog map on a real slice of the shared IKEA catalog: layout, cache, HTML page and the Map tab.

About 280 real products (every seventh of the shared catalog) plus one whose name and SKU are hostile
markup, embedded by the real MobileNetV2 (and MobileNetV1 as the second embedder). Whether a map was
computed or read from the cache is counted by wrapping the real ``layout`` function, never timed.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import stat
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import headless_chrome  # tests/ is on sys.path
import numpy as np
import pytest
from headless_chrome import CHROMEDRIVER, CHROMIUM
from ikea_feed import write_feed

from decorlens.main import main
from engine import catalog_map as cm
from engine.catalog_map import cache_path, catalog_map
from engine.errors import Cancelled, DecorLensError
from engine.map_page import write_map_page

HOSTILE_NAME = '<script>alert("name")</script><img src=x onerror=alert(1)>'
HOSTILE_SKU = 'H1"><svg onload=alert(2)>'
SECOND_EMBEDDER = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
EVERY = 7


@pytest.fixture(scope="module")
def map_pipeline(tmp_path_factory: pytest.TempPathFactory, exported_models: Path, ikea: Path):
    """A data dir of its own with every seventh shared product and one hostile product, imported and embedded."""
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    data = tmp_path_factory.mktemp("map-data")
    shutil.copytree(exported_models, data / "models")
    with open(ikea / "products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[::EVERY]
    feed = write_feed(ikea, rows, data / "feed.csv",
                      extra=[[HOSTILE_SKU, HOSTILE_NAME, "chair", str(ikea / rows[0]["image"])]])
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data))
    report = pipeline.import_catalog(feed)
    assert report.added == len(rows) + 1, report.summary()
    return pipeline


@pytest.fixture
def layouts(monkeypatch) -> list[int]:
    """How many layouts were computed (each entry: how many points), counted around the real function."""
    calls: list[int] = []
    real = cm.layout

    def counted(vectors, *args, **kwargs):
        calls.append(len(vectors))
        return real(vectors, *args, **kwargs)

    monkeypatch.setattr(cm, "layout", counted)
    return calls


def _map(pipeline, **kwargs):
    return catalog_map(pipeline.catalog, pipeline.embedder, pipeline.data_dir, **kwargs)


def test_one_point_per_product_and_alike_products_close(map_pipeline):
    """Also what the Map tab shows while a map is made: each step's words, and progress that rises to its end
    through the steps that report nothing themselves (the first opening sat 30 s under a bar that said nothing)."""
    cache_path(map_pipeline.data_dir, map_pipeline.embedder.key).unlink(missing_ok=True)
    reports: list[tuple[int, int]] = []
    stages: list[str] = []
    result = _map(map_pipeline, progress=lambda done, total: reports.append((done, total)), stage=stages.append)
    ids = [p.id for p in map_pipeline.catalog.products()]
    done = [d for d, _ in reports]
    assert done == sorted(set(done)) and {t for _, t in reports} == {cm.LAYOUT_STEPS}, reports
    assert 0 < done[1] < cm.LAYOUT_STEPS - cm.EARLY_ITERATIONS - cm.ITERATIONS and done[-1] == cm.LAYOUT_STEPS
    assert stages == [cm.LOADING, cm.REDUCING, cm.NEIGHBOURS, f"{cm.PLACING} {len(ids):,} products"]
    assert sorted(result.ids.tolist()) == sorted(ids)
    assert result.xy.shape == (len(ids), 2) and np.isfinite(result.xy).all()
    assert result.xy.min() >= 0.0 and result.xy.max() <= 1.0 and np.ptp(result.xy, axis=0).max() == pytest.approx(1.0)
    # Products of one category lie closer together than chance: the 5 nearest points on the map share
    # the category far more often than two random products do.
    products = map_pipeline.catalog.get_many(result.ids.tolist())
    categories = np.array([products[int(pid)].category for pid in result.ids])
    distances = np.linalg.norm(result.xy[:, None] - result.xy[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1)[:, :5]
    same = (categories[nearest] == categories[:, None]).mean()
    _, counts = np.unique(categories, return_counts=True)
    chance = ((counts / counts.sum()) ** 2).sum()
    assert same > 3 * chance, (same, chance)


def test_a_second_call_reads_the_cache(map_pipeline, layouts):
    first = _map(map_pipeline)
    again = _map(map_pipeline)
    assert again.cached and len(layouts) <= 1  # the first may compute (another test changed the catalog)
    assert again.key == first.key
    np.testing.assert_array_equal(again.ids, first.ids)
    np.testing.assert_array_equal(again.xy, first.xy)
    assert cache_path(map_pipeline.data_dir, map_pipeline.embedder.key).is_file()


def test_a_catalog_change_computes_a_new_map(map_pipeline, layouts):
    before = _map(map_pipeline)
    computed = len(layouts)
    gone = map_pipeline.catalog.get(int(before.ids[1]))
    assert map_pipeline.remove_products([gone.sku]) == 1
    after = _map(map_pipeline)
    assert not after.cached and len(layouts) == computed + 1
    assert gone.id not in after.ids.tolist() and len(after) == len(before) - 1
    # A rename moves no vector: the map stays (names and categories are read when it is shown).
    renamed = map_pipeline.catalog.get(int(after.ids[0]))
    with map_pipeline.catalog.transaction() as revision:
        map_pipeline.catalog.upsert(replace(renamed, name="Renamed"), revision)
    assert _map(map_pipeline).cached and len(layouts) == computed + 1


def test_another_embedder_has_its_own_map(map_pipeline, shared_models, layouts):
    first = _map(map_pipeline)
    other = map_pipeline.with_embedder(shared_models / SECOND_EMBEDDER)
    other.prepare_matcher()
    computed = len(layouts)
    second = _map(other)
    assert not second.cached and len(layouts) == computed + 1
    assert second.key != first.key and second.embedder == other.embedder.key
    assert cache_path(other.data_dir, other.embedder.key) != cache_path(map_pipeline.data_dir, first.embedder)
    assert sorted(second.ids.tolist()) == sorted(first.ids.tolist())
    assert _map(map_pipeline).cached and _map(other).cached and len(layouts) == computed + 1


def test_without_opentsne_the_map_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "openTSNE", None)  # as in an install without the [map] or [gui] extra
    with pytest.raises(DecorLensError, match=r"needs openTSNE .*\[map\]"):
        cm.layout(np.random.default_rng(0).normal(size=(10, 8)).astype(np.float32))


def test_cancel_stops_the_map_and_caches_nothing(map_pipeline):
    path = cache_path(map_pipeline.data_dir, map_pipeline.embedder.key)
    path.unlink(missing_ok=True)
    seen: list[int] = []
    with pytest.raises(Cancelled):
        _map(map_pipeline, progress=lambda done, _total: seen.append(done), cancelled=lambda: len(seen) > 3)
    assert not path.exists() and 0 < max(seen) < cm.LAYOUT_STEPS


def test_a_cancel_is_heard_before_the_steps_that_report_no_progress(map_pipeline):
    """The imports, PCA and the neighbour search report nothing; a cancel waited them out until the first
    t-SNE iterations (29.6 s in the app on a busy machine). Cancelled at its second question, the map must
    stop before any iteration is reported."""
    cache_path(map_pipeline.data_dir, map_pipeline.embedder.key).unlink(missing_ok=True)
    seen: list[int] = []
    asked: list[int] = []
    with pytest.raises(Cancelled):
        _map(map_pipeline, progress=lambda done, _total: seen.append(done),
             cancelled=lambda: asked.append(len(seen)) or len(asked) > 1)
    assert seen == [0] and asked == [1, 1]


def test_an_unreadable_cache_is_computed_again(map_pipeline, layouts):
    _map(map_pipeline)
    path = cache_path(map_pipeline.data_dir, map_pipeline.embedder.key)
    path.write_bytes(b"PK\x03\x04 not a map")
    heard: list[str] = []
    result = _map(map_pipeline, log=heard.append)
    assert not result.cached and heard and "unreadable" in heard[0]
    assert _map(map_pipeline).cached


class _Page(HTMLParser):
    """Every element and attribute as the browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.texts: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            self.attributes.append(value or "")
            if name in ("src", "href", "xlink:href", "action", "poster", "srcset"):
                self.urls.append(value or "")

    def handle_data(self, data):
        self.texts.append(data)


@pytest.fixture(scope="module")
def two_maps(map_pipeline, shared_models):
    other = map_pipeline.with_embedder(shared_models / SECOND_EMBEDDER)
    other.prepare_matcher()
    return [_map(map_pipeline), _map(other)]


@pytest.fixture(scope="module")
def page(map_pipeline, two_maps, tmp_path_factory) -> Path:
    from app.palette import category_colour

    products = map_pipeline.catalog.get_many({int(i) for m in two_maps for i in m.ids})
    out = tmp_path_factory.mktemp("map-page") / "map.html"
    return write_map_page(out, two_maps, products, category_colour, map_pipeline.categories.names)


def test_the_page_escapes_hostile_names_and_loads_nothing(page, two_maps):
    text = page.read_text(encoding="utf-8")
    parsed = _Page()
    parsed.feed(text)
    assert HOSTILE_NAME not in text and HOSTILE_SKU not in text
    assert parsed.tags.count("script") == 1 and "img" in parsed.tags  # the hover card's picture only
    assert text.count('<svg class="map"') == 2
    assert HOSTILE_NAME in parsed.attributes and HOSTILE_SKU in parsed.attributes  # as text, unchanged
    assert all(url.startswith(("data:image/jpeg;base64,", "#t")) for url in parsed.urls), parsed.urls[:5]
    assert "http:" not in text and "https:" not in text and "//" not in re.sub(r"data:[^\"]*", "", text)
    assert "Content-Security-Policy" in text and "'unsafe-inline'" not in text
    points = text.count('class="p"')
    assert points == sum(len(m) for m in two_maps)
    assert text.count("<symbol ") == len({int(i) for m in two_maps for i in m.ids})  # each picture once



@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Chromium is missing: apt-get install chromium chromium-driver")
def test_the_page_in_a_browser(page, two_maps, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    driver = headless_chrome.chrome(log_console=True)
    try:
        driver.set_window_size(1500, 900)
        driver.get(page.as_uri())
        panels = driver.find_elements(By.CSS_SELECTOR, "svg.map")
        assert [len(p.find_elements(By.CSS_SELECTOR, ".p")) for p in panels] == [len(m) for m in two_maps]
        hostile = panels[0].find_element(By.CSS_SELECTOR, '.p[data-sku^="H1"]')
        driver.execute_script(  # on the picture itself: at this zoom a neighbour may overlap it
            "var r = arguments[0].getBoundingClientRect(); arguments[0].querySelector('rect').dispatchEvent("
            "new MouseEvent('mouseover', {bubbles: true, clientX: r.left + 4, clientY: r.top + 4}));", hostile)
        card = driver.find_element(By.CSS_SELECTOR, ".card")
        assert "open" in card.get_attribute("class")
        assert card.find_element(By.CSS_SELECTOR, ".name").text == HOSTILE_NAME  # shown as text
        twin = panels[1].find_element(By.CSS_SELECTOR, f'.p[data-id="{hostile.get_attribute("data-id")}"]')
        assert "lit" in twin.get_attribute("class")  # the same product ringed on the other map
        before = panels[0].get_dom_attribute("viewBox")
        driver.execute_script(
            "var r = arguments[0].getBoundingClientRect(); arguments[0].dispatchEvent(new WheelEvent('wheel', "
            "{deltaY: -400, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true, "
            "cancelable: true}));", panels[0])
        zoomed = [float(v) for v in panels[0].get_dom_attribute("viewBox").split()]
        assert zoomed[2] < float(before.split()[2])  # zoomed in: a smaller part of the map fills the panel
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018 - no injected script ran
        refused = [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
        assert not refused, refused
        driver.save_screenshot(str(Path(os.environ.get("DECORLENS_SCREENSHOTS", tmp_path)) / "catalog-map-page.png"))
    finally:
        driver.quit()


class _Terminal(io.StringIO):
    """Standard error as a terminal: the CLI draws its progress bars only there."""

    def isatty(self) -> bool:
        return True


def test_the_cli_writes_the_page_and_reuses_the_map(map_pipeline, tmp_path, capsys, monkeypatch):
    out = tmp_path / "map.html"
    args = ["--data-dir", str(map_pipeline.data_dir), "catalog", "map", "--html", str(out)]
    assert main(["-q", *args]) == 0
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert main(args) == 0
    printed, bars = capsys.readouterr().out, sys.stderr.getvalue()
    label, key = "MobileNetV2 1.0/224 (ImageNet)", map_pipeline.embedder.key
    assert printed.count("wrote") == 2 and "(from the cache)" in printed.splitlines()[-2]
    # the model by its label everywhere, as Settings names it; its vectors' key once, as `catalog stats` lists them
    assert printed.splitlines()[-2].startswith(f"{label}, vectors {key}: ")
    assert f"embedding for {label}" in bars and f"mapping {label}" in bars and key not in bars
    page = out.read_text(encoding="utf-8")
    assert page.count('class="p"') == map_pipeline.catalog.count()
    assert f'<h2 title="{label}, vectors {key}">{label}</h2>' in page


def test_the_page_is_not_written_over_a_fifo_or_device(map_pipeline, tmp_path, capsys):
    """The page was written beside its name and renamed over it, whatever it was: run as root, `catalog map --html
    /dev/null` left a regular file in the place of /dev/null. A FIFO (no root needed to make one) stands in for
    the device: it is refused in one line and stays a FIFO."""
    fifo = tmp_path / "map.html"
    os.mkfifo(fifo)
    assert main(["-q", "--data-dir", str(map_pipeline.data_dir), "catalog", "map", "--html", str(fifo)]) == 2
    assert capsys.readouterr().err.strip() == f"decorlens: error: {fifo}: a FIFO (named pipe), not a file to write over; name a file"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


# -- the Map tab --------------------------------------------------------------------------------


@pytest.fixture
def map_tab(qtbot, map_pipeline, qapp):
    from app.thumbnails import Thumbnails
    from app.widgets.map_view import MapView
    from app.workers import Runner

    engine, loader = Runner(2, qapp), Runner(2, qapp)
    view = MapView(map_pipeline, engine, Thumbnails(loader))
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitUntil(lambda: view.result is not None, timeout=300_000)
    yield view
    for runner in (engine, loader):
        runner.shutdown()


def test_the_map_tab_shows_every_product(map_tab, map_pipeline, qtbot):
    from PySide6.QtWidgets import QApplication

    from app import theme
    from app.labels import model_label

    assert len(map_tab.canvas.points) == map_pipeline.catalog.count() == len(map_tab.result)
    # the model as the merchandiser reads it ("MobileNetV2 1.0/224"), its engine names in the tooltip
    model = map_pipeline.embedder.model
    assert f"products by {model_label(model)} (" in map_tab.status.text() and model_label(model) != model.card.name
    assert model.card.name not in map_tab.status.text() and model.path.name in map_tab.status.toolTip()
    # a 1,000 px window's Map tab: the selection hint, one unwrapped line, held the side at 500 px and squeezed the map
    map_tab.resize(820, 600)
    side = map_tab.chosen_label.parentWidget()
    qtbot.waitUntil(lambda: map_tab.main_panel.width() + side.width() < 820, timeout=10_000)
    assert map_tab.main_panel.width() > side.width(), (map_tab.main_panel.width(), side.width())
    # the legend's counts in the theme's muted colour, following a switch: a fixed grey read 3.5:1 on the dark theme
    app = QApplication.instance()
    try:
        for name in ("dark", "light"):
            theme.apply(app, name)
            assert f"color:{theme.colours(app).muted};" in map_tab.legend.text(), name
    finally:
        theme.apply(app, "light")


def test_a_click_selects_a_product_and_hover_shows_it(map_tab, qtbot):
    from PySide6.QtCore import Qt

    from app.widgets.map_canvas import MapPoint

    canvas = map_tab.canvas
    centre = canvas.viewport().rect().center()
    point = min(canvas.points.values(), key=lambda p: (canvas.mapFromScene(p.pos()) - centre).manhattanLength())
    at = canvas.mapFromScene(point.pos())
    on_top = canvas.point_at(at)  # another thumbnail may overlap this one
    assert isinstance(on_top, MapPoint)
    qtbot.mouseMove(canvas.viewport(), at)
    qtbot.waitUntil(canvas.card.isVisible)
    assert canvas.card.sku == on_top.product.sku
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert canvas.selected_skus() == [on_top.product.sku]
    assert map_tab.chosen.count() == 1 and on_top.product.sku in map_tab.chosen.item(0).text()


def test_a_rubber_band_selects_several(map_tab, qtbot):
    from PySide6.QtCore import QPoint, QRect, Qt

    canvas = map_tab.canvas
    viewport = canvas.viewport()
    start, expected = None, []
    for x in range(20, viewport.width() - 220, 25):
        for y in range(20, viewport.height() - 220, 25):
            if canvas.point_at(QPoint(x, y)) is None:
                band = QRect(QPoint(x, y), QPoint(x + 200, y + 200))  # as the view's band: both corners in
                inside = [p.product.sku for p in canvas.points_in(band)]
                if len(inside) >= 3:
                    start, expected = QPoint(x, y), sorted(inside)
                    break
        if start:
            break
    assert start is not None, "no empty corner with products beside it on the map"
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, start + QPoint(100, 100))
    qtbot.mouseMove(viewport, start + QPoint(200, 200))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(200, 200))
    assert canvas.selected_skus() == expected
    assert map_tab.chosen.count() == len(expected)


def test_a_big_selection_lists_the_first_products_and_counts_the_rest(map_tab, monkeypatch):
    from app.widgets import map_view

    monkeypatch.setattr(map_view, "LISTED_AT_MOST", 3)
    skus = sorted(map_tab.canvas.points)[:5]
    map_tab.canvas.select(skus)
    map_tab.canvas.selectionChanged.emit()  # as a rubber band announces it
    listed = [map_tab.chosen.item(i).text() for i in range(map_tab.chosen.count())]
    assert len(listed) == 4 and listed[-1] == "… and 2 more"
    assert all(sku in text for sku, text in zip(skus[:3], listed))
    assert map_tab.chosen_label.text() == "5 selected"


def _drawn_per_repaint(canvas, monkeypatch) -> list:
    """The products whose tiles one full repaint of the canvas draws one by one."""
    from app.widgets.map_canvas import MapPoint

    drawn, draw = [], MapPoint.draw
    monkeypatch.setattr(MapPoint, "draw", lambda point, *args: (drawn.append(point), draw(point, *args)))
    canvas.viewport().grab()  # painted now, as on screen
    monkeypatch.setattr(MapPoint, "draw", draw)
    return drawn


def test_the_whole_map_is_drawn_as_one_picture_and_zoomed_only_what_is_in_view(map_tab, qtbot, monkeypatch):
    """A Python paint per product froze the window for 0.4 s a repaint at 20,000 products: seen whole, the
    map must draw no tile by itself; zoomed in, only those in view."""
    canvas = map_tab.canvas
    qtbot.waitExposed(canvas)
    qtbot.waitUntil(lambda: not canvas.placing(), timeout=60_000)
    current = canvas.layer.current  # the keyboard's product, when the map has the keyboard: raised in its ring
    assert [p for p in _drawn_per_repaint(canvas, monkeypatch) if p.index != current] == []
    assert _looks_painted(canvas)  # by the map's picture
    lone = _loneliest(canvas)
    canvas.scale(8, 8)
    canvas.centerOn(lone.pos())
    drawn = _drawn_per_repaint(canvas, monkeypatch)
    seen = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert lone in drawn and 0 < len(drawn) < len(canvas.points) // 4
    assert all(seen.intersects(p.frame()) for p in drawn)
    assert _shows(canvas, lone, BORDER, lone.colour.name())  # its frame, from its own draw


def test_selected_and_lit_products_are_ringed_on_the_whole_map(map_tab, qtbot):
    from app.widgets.map_canvas import LIT

    canvas = map_tab.canvas
    lone = _loneliest(canvas)
    canvas.resetTransform()
    canvas.scale(canvas.layer.resolution, canvas.layer.resolution)  # as large as the map's picture is drawn
    canvas.centerOn(lone.pos())
    qtbot.wait(10)  # the scroll bars the zoom brought settle, and the view with them
    canvas.centerOn(lone.pos())
    assert _shows(canvas, lone, BORDER, lone.colour.name())  # its frame, from the map's picture
    selected, lit = -lone.tile * 0.06, -lone.tile * 0.18  # where the rings go, outside the frame
    assert not _shows(canvas, lone, selected, "#1f2328")
    canvas.select([lone.product.sku])
    assert _shows(canvas, lone, selected, "#1f2328")
    canvas.select([])
    assert not _shows(canvas, lone, selected, "#1f2328")
    canvas.light(lone.product.sku)
    assert _shows(canvas, lone, lit, LIT)
    canvas.light(None)
    assert not _shows(canvas, lone, lit, LIT)
    # in the dark theme: a dark ground (it stayed a light pane) and the selected ring in the theme's light text
    from PySide6.QtWidgets import QApplication

    from app import theme

    app = QApplication.instance()
    theme.apply(app, "dark")
    try:
        assert _shows(canvas, lone, selected - lone.tile * 0.3, "#2a2e35")  # the ground beside the tile
        canvas.select([lone.product.sku])
        assert _shows(canvas, lone, selected, theme.DARK.text)
    finally:
        canvas.select([])
        theme.apply(app, "light")
    assert _shows(canvas, lone, selected - lone.tile * 0.3, "#f6f5f2")


def test_a_selected_product_lit_and_unlit_is_repainted_on_screen(map_tab, qtbot):
    """Selected on both maps, a product hovered on one is lit on the other: its ring must turn orange on
    screen and back when the mouse leaves. Only the changed places are repainted, and a selected tile was
    ringed either way, so its place was left as it was (read from the window's backing store, not a fresh
    ``grab``, which repaints everything)."""
    from app.widgets.map_canvas import LIT

    canvas = map_tab.canvas
    qtbot.waitUntil(lambda: not canvas.placing(), timeout=60_000)  # no thumbnail arriving repaints the map
    lone = _loneliest(canvas)
    canvas.resetTransform()
    canvas.scale(canvas.layer.resolution, canvas.layer.resolution)
    canvas.centerOn(lone.pos())
    qtbot.wait(10)
    canvas.centerOn(lone.pos())
    lit = -lone.tile * 0.18
    canvas.select([lone.product.sku])
    qtbot.wait(10)
    assert not _shows(canvas, lone, lit, LIT, on_screen=True)
    canvas.light(lone.product.sku)
    qtbot.wait(10)
    assert _shows(canvas, lone, lit, LIT, on_screen=True)
    canvas.light(None)
    qtbot.wait(10)
    assert not _shows(canvas, lone, lit, LIT, on_screen=True)


def test_a_thumbnail_arriving_again_stays_under_the_tiles_above_it(map_tab, qtbot):
    """Thumbnails arrive in any order, and again when the shared cache dropped one and something asked for
    it: drawn into the map's picture as they came, a tile covered the neighbour that hover and click find
    on top of it (570 of 1,955 IKEA tiles after zooming about). Two overlapping tiles of two categories;
    the lower one's thumbnail arrives again: its place must look as it did, the upper one's coloured
    frame across it."""
    canvas = map_tab.canvas
    qtbot.waitUntil(lambda: not canvas.placing(), timeout=60_000)
    lower, upper = _overlapping_pair(canvas)
    canvas.resetTransform()
    canvas.scale(canvas.layer.resolution, canvas.layer.resolution)  # the map's picture, pixel for pixel
    canvas.centerOn(upper.pos())
    qtbot.wait(10)
    canvas.centerOn(upper.pos())
    assert canvas.point_at(canvas.mapFromScene(upper.pos())) is upper
    place = canvas.mapFromScene(lower.frame()).boundingRect()
    before = _pixels(canvas, place)
    canvas.thumbnails.ready.emit(lower.product.image_path)  # decoded again, as after the cache dropped it
    qtbot.waitUntil(lambda: not canvas.placing())
    assert np.abs(_pixels(canvas, place) - before).mean() < 3, "the lower tile was drawn over the upper"


def _overlapping_pair(canvas):
    """Two tiles, the second added after the first, overlapping on most of their width and height, framed
    in two colours."""
    points = list(canvas.points.values())
    xy = np.array([(p.pos().x(), p.pos().y()) for p in points])
    for j, upper in enumerate(points):
        for i in np.flatnonzero((np.abs(xy[:j] - xy[j]) < upper.tile * 0.4).all(axis=1)):
            lower = points[i]
            if lower.colour != upper.colour and lower.product.image_path != upper.product.image_path:
                return lower, upper
    raise AssertionError("no two tiles overlap on the map")


def _pixels(canvas, rect) -> np.ndarray:
    """The canvas's pixels in ``rect`` (viewport coordinates), painted now, as RGB numbers."""
    from PySide6.QtGui import QImage

    image = canvas.viewport().grab(rect).toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    return rows[:, : width * 3].astype(int)


def _looks_painted(canvas) -> bool:
    """Whether the canvas shows tiles: many pixels of another colour than the map's background."""
    from PySide6.QtGui import QColor, QImage

    image = canvas.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint32, image.width() * image.height())
    return int((pixels != QColor("#f6f5f2").rgb()).sum()) > 0.02 * pixels.size


def _loneliest(canvas):
    """The product farthest from any other: its tile and rings overlap no neighbour's."""
    points = list(canvas.points.values())
    xy = np.array([(p.pos().x(), p.pos().y()) for p in points])
    gaps = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(len(xy)) * 1e9
    return points[int(gaps.min(axis=1).argmax())]


BORDER = 1.25  # scene units in from a tile's edge: the middle of its coloured border


def _shows(canvas, point, inset: float, colour: str, on_screen: bool = False) -> bool:
    """Whether the canvas shows ``colour`` (give or take antialiasing) within 2 pixels of the middle of the
    tile's top edge moved ``inset`` scene units inwards (outwards when negative). ``on_screen``: as the
    window last painted it (its backing store), else painted afresh."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QApplication

    frame = point.frame()
    at = canvas.mapFromScene(QPointF(frame.center().x(), frame.top() + inset))
    if on_screen:
        window = canvas.window()
        image = QApplication.primaryScreen().grabWindow(window.winId()).toImage()
        at = canvas.viewport().mapTo(window, at)
    else:
        image = canvas.viewport().grab().toImage()
    wanted = QColor(colour)
    seen = [image.pixelColor(at.x(), at.y() + dy) for dy in range(-2, 3)]
    return any(max(abs(c.red() - wanted.red()), abs(c.green() - wanted.green()),
                   abs(c.blue() - wanted.blue())) <= 40 for c in seen)


def test_the_window_opens_the_map_in_its_map_tab(main_window, map_pipeline, qtbot):
    from app.main_window import MAP_TAB

    window = main_window(map_pipeline)
    assert window.tabs.tabText(MAP_TAB) == "Map" and window.map_view.result is None  # made when first shown
    window.tabs.setCurrentIndex(MAP_TAB)
    qtbot.waitUntil(lambda: window.map_view.result is not None, timeout=300_000)
    assert len(window.map_view.canvas.points) == map_pipeline.catalog.count()
