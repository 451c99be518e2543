"""Two embedders' maps side by side in the Map tab, the map without openTSNE, and the map in a catalog bundle.

A small real catalog (every 30th shared IKEA product, about 65) embedded by the real MobileNetV2; the
second embedder is the real MobileNetV1, which the comparison itself embeds the catalog with (through
the pipeline's ``prepare_matcher``). An install without the ``[map]`` extra runs in a child process in
which openTSNE, scikit-learn and SciPy cannot be imported, reading a map computed here by the real openTSNE.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from ikea_feed import write_feed

from engine.bundle import export_bundle, import_bundle, read_bundle
from engine.catalog_map import cache_path, catalog_map, read_map
from engine.errors import CatalogError
from engine.models import find_first
from engine.pipeline import Pipeline
from engine.settings import Settings

EVERY = 30
SECOND = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
ROOT = Path(__file__).resolve().parent.parent
BLOCKED = ("openTSNE", "sklearn", "scipy")


def _pipeline(data: Path, exported_models: Path) -> Pipeline:
    shutil.copytree(exported_models, data / "models")
    return Pipeline(Settings.defaults().with_(data_dir=data))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, exported_models: Path, ikea: Path) -> Pipeline:
    """A data dir with every 30th shared product imported (MobileNetV2 vectors only) and its map computed."""
    data = tmp_path_factory.mktemp("map-compare")
    pipeline = _pipeline(data, exported_models)
    with open(ikea / "products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[::EVERY]
    report = pipeline.import_catalog(write_feed(ikea, rows, data / "feed.csv"))
    assert report.added == len(rows), report.summary()
    catalog_map(pipeline.catalog, pipeline.embedder, pipeline.data_dir)
    return pipeline


def _second(pipeline: Pipeline):
    return find_first((SECOND,), pipeline.settings.models_dir, pipeline.data_dir)


# -- the Map tab: two embedders side by side ------------------------------------------------------


@pytest.fixture
def tab(qtbot, small: Pipeline, qapp):
    from app.thumbnails import Thumbnails
    from app.widgets.map_view import MapView
    from app.workers import Runner

    engine, loader = Runner(2, qapp), Runner(2, qapp)
    view = MapView(small, engine, Thumbnails(loader))
    qtbot.addWidget(view)
    view.resize(1500, 800)
    view.show()
    qtbot.waitUntil(lambda: view.result is not None and view.task is None, timeout=300_000)
    yield view
    view.end_comparison()
    for runner in (engine, loader):
        runner.shutdown()


def test_the_menu_offers_the_other_installed_embedders(tab):
    """Each by its label ("EfficientNet-Lite0", not "effnet_lite0-gem"), its engine names in the tooltip."""
    tab._fill_compare_menu()
    texts = [a.text() for a in tab.compare_menu.actions()]
    tips = [a.toolTip() for a in tab.compare_menu.actions()]
    assert "EfficientNet-Lite0 (ImageNet)" in texts and not any("effnet" in t for t in texts), texts
    assert any(SECOND in t for t in tips) and any("effnet_lite0-gem (effnet_lite0_gem.onnx)" in t for t in tips), tips
    assert tab.compare_menu.toolTipsVisible()
    # a card's name is a file's text: escaped and declared rich, never read as HTML by Qt's guess (<img src=…>)
    assert all(t.startswith("<qt>") and "<img" not in t for t in tips), tips
    assert not any("mobilenet_v2_1.0_224_quant.float.onnx" in t for t in tips)  # the active one


def test_compare_embeds_maps_and_links_the_two_maps(tab, small, qtbot):
    from PySide6.QtCore import Qt

    from app.labels import model_label
    from app.widgets.map_canvas import MapPoint

    second = _second(small)
    tab.compare_with(second)
    qtbot.waitUntil(lambda: tab.compared is not None, timeout=300_000)
    assert small.catalog.embedders()[second.key] == small.catalog.count()  # embedded by the comparison
    assert cache_path(small.data_dir, second.key).is_file()
    assert tab.compare_panel.isVisible() and tab.main_panel.title.isVisible()
    assert [tab.main_panel.title.text(), tab.compare_panel.title.text()] == [
        model_label(small.embedder.model), model_label(second)]
    assert second.path.name in tab.compare_panel.title.toolTip()
    tips = [tab.status.toolTip(), tab.main_panel.title.toolTip(), tab.compare_panel.title.toolTip()]
    assert all(t.startswith("<qt>") and t.count("<qt>") == 1 for t in tips), tips  # escaped once, not twice
    assert set(tab.canvas.points) == set(tab.compare_canvas.points) and len(tab.canvas.points) == small.catalog.count()
    assert "Beside it" in tab.status.text()
    # Hover on the active map rings the same product on the compared one, and leaving clears the ring.
    canvas, other = tab.canvas, tab.compare_canvas
    qtbot.waitUntil(lambda: canvas.width() < tab.width() // 2)  # laid out beside the compared map
    point = next(p for p in canvas.points.values() if canvas.point_at(canvas.mapFromScene(p.pos())) is p)
    qtbot.mouseMove(canvas.viewport(), canvas.mapFromScene(point.pos()))
    qtbot.waitUntil(lambda: isinstance(canvas._hovered, MapPoint))
    assert other.lit_sku() == canvas._hovered.product.sku and other.points[other.lit_sku()].lit
    canvas._hover(None)
    assert other.lit_sku() is None
    # A click on the compared map selects that product on both maps; the one list shows it once.
    target = next(p for p in other.points.values() if other.point_at(other.mapFromScene(p.pos())) is p)
    qtbot.mouseClick(other.viewport(), Qt.MouseButton.LeftButton, pos=other.mapFromScene(target.pos()))
    assert other.selected_skus() == canvas.selected_skus() == [target.product.sku]
    assert tab.chosen.count() == 1
    # Closing returns to one map, the selection kept.
    tab.end_comparison()
    assert not tab.compare_panel.isVisible() and not tab.main_panel.title.isVisible()
    assert tab.compared is None and not tab.compare_canvas.points
    assert canvas.selected_skus() == [target.product.sku]


def test_the_maps_selection_opens_in_the_catalog_tab(small, qtbot, tmp_path):
    """Products chosen on the map are listed, selected, in the Catalog tab (to read in full, see where they are
    used, remove), until its chip brings back the whole catalog; a double-click shows one."""
    from PySide6.QtCore import QSettings

    from app.main_window import CATALOG_TAB, MAP_TAB, MainWindow
    from app.settings import AppSettings

    win = MainWindow(small, AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    win.show()
    win.tabs.setCurrentIndex(MAP_TAB)
    tab, catalog = win.map_view, win.catalog
    qtbot.waitUntil(lambda: tab.result is not None and tab.task is None, timeout=300_000)
    assert not tab.in_catalog.isEnabled()
    chosen = sorted(tab.canvas.points)[:3]
    tab.canvas.select(chosen)
    tab.canvas.selectionChanged.emit()  # as a rubber band over them announces
    assert tab.in_catalog.isEnabled()
    tab.in_catalog.click()
    assert win.tabs.currentIndex() == CATALOG_TAB and catalog.only_chip.text() == "Map selection: 3 ✕"
    qtbot.waitUntil(lambda: sorted(catalog.selected_skus()) == chosen, timeout=60_000)
    assert sorted(p.sku for p in catalog.model.products) == chosen

    win.tabs.setCurrentIndex(MAP_TAB)
    tab.chosen.itemActivated.emit(tab.chosen.item(1))
    assert win.tabs.currentIndex() == CATALOG_TAB
    qtbot.waitUntil(lambda: catalog.selected_skus() == [chosen[1]], timeout=60_000)
    qtbot.waitUntil(lambda: catalog.where_used.sku == chosen[1], timeout=60_000)

    catalog.only_chip.click()
    qtbot.waitUntil(lambda: catalog.model.rowCount() == small.catalog.count(), timeout=60_000)
    assert not catalog.only_chip.isVisible() and catalog.selected_skus() == []


# -- an install without the [map] extra: a cached map without openTSNE ---------------------------

PACKAGED = """
import json, sys, time
for name in {blocked!r}:
    sys.modules[name] = None  # as in an install without the [map] extra
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.thumbnails import Thumbnails
from app.widgets.map_view import MapView
from app.workers import Runner
from engine.catalog_map import cache_path
from engine.models import find_first
from engine.pipeline import Pipeline
from engine.settings import Settings

def shown(view):
    view.show()  # its first showing starts the worker, or this does if that event is not delivered yet
    if view.task is None and view.stale:
        view.refresh()
    while view.task is not None:
        app.processEvents()
        time.sleep(0.01)
    return {{"points": len(view.canvas.points), "status": view.status.text()}}

pipeline = Pipeline(Settings.defaults().with_(data_dir=sys.argv[1]))
engine, loader = Runner(2, app), Runner(2, app)
view = MapView(pipeline, engine, Thumbnails(loader))
cached = shown(view)
view.compare_with(find_first(("effnet_lite0_gem.onnx",), pipeline.settings.models_dir, pipeline.data_dir))
while view.task is not None:
    app.processEvents()
    time.sleep(0.01)
compared = {{"status": view.status.text(), "open": view.compare_model is not None}}
cache_path(pipeline.data_dir, pipeline.embedder.key).unlink()
missing = shown(MapView(pipeline, engine, Thumbnails(loader)))
engine.shutdown(); loader.shutdown()
print(json.dumps({{"cached": cached, "missing": missing, "compared": compared,
                  "imported": sorted(m for m, v in sys.modules.items() if v is not None and m.split(".")[0] in {blocked!r})}}))
"""


def test_the_packaged_app_shows_a_cached_map_without_opentsne(small, tmp_path):
    cache = cache_path(small.data_dir, small.embedder.key)
    kept = tmp_path / cache.name
    effnet = find_first(("effnet_lite0_gem.onnx",), small.settings.models_dir, small.data_dir)
    before = small.catalog.embedders().get(effnet.key, 0)
    assert before == 0  # never embedded in this module before (the Cancel test, later, starts it)
    catalog_map(small.catalog, small.embedder, small.data_dir)  # computed here by the real openTSNE
    shutil.copy(cache, kept)
    try:
        run = subprocess.run(
            [sys.executable, "-c", PACKAGED.format(blocked=BLOCKED), str(small.data_dir)], check=False, cwd=ROOT,
            capture_output=True, text=True, timeout=600, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
    finally:
        shutil.copy(kept, cache)
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["imported"] == []
    assert seen["cached"]["points"] == small.catalog.count() and "from the cache" in seen["cached"]["status"]
    missing = seen["missing"]["status"]
    assert seen["missing"]["points"] == 0 and "\n" not in missing
    assert "openTSNE" in missing and "[map]" in missing and "catalog bundle" in missing
    # Comparing with an embedder the catalog lacks vectors of ends at once, without minutes of embedding.
    compared = seen["compared"]["status"]
    assert compared.startswith("No map of EfficientNet-Lite0 (ImageNet): ") and "openTSNE" in compared and "\n" not in compared
    assert not seen["compared"]["open"] and small.catalog.embedders().get(effnet.key, 0) == before


def test_cancel_while_comparing_returns_to_one_map(tab, small, qtbot):
    effnet = find_first(("effnet_lite0_gem.onnx",), small.settings.models_dir, small.data_dir)
    tab.progress.valueChanged.connect(lambda _value: tab.cancel_map())  # at its first progress report
    tab.compare_with(effnet)
    assert tab.cancel.isVisibleTo(tab) and not tab.compare.isEnabled()  # busy: the window itself does not wait
    qtbot.waitUntil(lambda: tab.task is None, timeout=300_000)
    assert tab.compare_model is None and tab.compared is None and not tab.compare_panel.isVisible()
    assert "comparison was cancelled" in tab.status.text()
    assert len(tab.canvas.points) == small.catalog.count()  # the active map stays
    assert not cache_path(small.data_dir, effnet.key).exists()


# -- the map in a catalog bundle ------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(small: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    catalog_map(small.catalog, small.embedder, small.data_dir)  # current for the snapshot exported
    return export_bundle(small.data_dir, tmp_path_factory.mktemp("bundle") / "shop.dlcat").path


def _positions(pipeline: Pipeline, result) -> dict[str, tuple[float, float]]:
    products = pipeline.catalog.get_many(result.ids.tolist())
    return {products[int(pid)].sku: tuple(xy) for pid, xy in zip(result.ids.tolist(), result.xy.tolist())}


def test_a_bundle_carries_the_map_to_a_shop_without_opentsne(small, bundle, tmp_path, exported_models, monkeypatch):
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert small.embedder.key in manifest["maps"] and set(manifest["maps"]) <= set(manifest["embedders"])
    said = read_bundle(bundle).summary()  # as `catalog bundle info` prints it
    assert "catalog map of" in said and small.embedder.key in said.split("catalog map of")[1]
    shop = _pipeline(tmp_path / "shop", exported_models)
    import_bundle(bundle, shop.data_dir, shop.embedder)
    for name in BLOCKED:
        monkeypatch.setitem(sys.modules, name, None)
    here = catalog_map(shop.catalog, shop.embedder, shop.data_dir)
    assert here.cached and len(here) == shop.catalog.count()
    hq = catalog_map(small.catalog, small.embedder, small.data_dir)
    assert _positions(shop, here) == _positions(small, hq)  # the same float32 positions, by SKU


def test_a_sampled_maps_count_travels_with_it(small, bundle, tmp_path, exported_models):
    """A map of a catalog above the cap says how many products were laid out; the adopted copy said none were
    sampled, so the shop's Map tab did not say its map was a sample."""
    def sampled(arrays: dict) -> None:
        arrays["meta"] = np.array(json.dumps({**json.loads(str(arrays["meta"])), "laid_out": 3}))

    shop = _pipeline(tmp_path / "shop", exported_models)
    import_bundle(_tampered(bundle, tmp_path / "sampled.dlcat", shop.embedder.key, _npz(sampled)), shop.data_dir,
                  shop.embedder)
    here = catalog_map(shop.catalog, shop.embedder, shop.data_dir)
    assert here.cached and here.laid_out == 3 and here.sampled


def test_only_a_map_current_for_the_exported_catalog_travels(small, tmp_path):
    from engine.bundle_map import export_maps

    catalog_map(small.catalog, small.embedder, small.data_dir)
    snapshot = tmp_path / "snapshot.sqlite"
    with sqlite3.connect(snapshot) as copy:
        small.catalog.db.backup(copy)
    assert small.embedder.key in export_maps(small.data_dir, snapshot, tmp_path / "now")
    with sqlite3.connect(snapshot) as copy:  # the catalog exported lacks a product the cached map places
        copy.execute("DELETE FROM vectors WHERE product_id = (SELECT MIN(id) FROM products)")
    assert small.embedder.key not in export_maps(small.data_dir, snapshot, tmp_path / "later")


def _tampered(bundle: Path, out: Path, key: str, change: Callable[[bytes], bytes]) -> Path:
    """The bundle with ``key``'s map changed and the manifest's listing updated to match (a crafted bundle)."""
    import hashlib

    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        member = manifest["maps"][key]
        data = change(zf.read(member))
        manifest["files"][member] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        with zipfile.ZipFile(out, "w") as dst:
            for info in zf.infolist():
                body = data if info.filename == member else zf.read(info)
                dst.writestr(info.filename, json.dumps(manifest) if info.filename == "manifest.json" else body)
    return out


def _npz(edit: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        edit(arrays)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    return change


HOSTILE_MAPS = {
    "not a zip": (lambda _data: b"PK\x03\x04 not a map", "unreadable"),
    "positions outside": (_npz(lambda a: a.update(xy=a["xy"] * 1e6)), "outside the unit square"),
    "NaN": (_npz(lambda a: a["xy"].__setitem__((0, 0), np.nan)), "outside the unit square"),
    "float ids": (_npz(lambda a: a.update(ids=a["ids"].astype(np.float64))), "not int64"),
    "2-D positions wrong": (_npz(lambda a: a.update(xy=a["xy"][:, :1].copy())), "not float32"),
    "a product twice": (_npz(lambda a: a["ids"].__setitem__(1, a["ids"][0])), "placed twice"),
    "an unknown product": (_npz(lambda a: a["ids"].__setitem__(0, 10**9)), "does not hold"),
    "pickled object": (_npz(lambda a: a.update(meta=np.array([{"key": 1}], dtype=object))), "unreadable"),
    "extra member": (_npz(lambda a: a.update(more=np.zeros(3))), "other members"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_MAPS))
def test_a_hostile_map_in_a_bundle_is_refused_in_one_line(case, bundle, tmp_path, exported_models):
    change, reason = HOSTILE_MAPS[case]
    shop = _pipeline(tmp_path / "shop", exported_models)
    crafted = _tampered(bundle, tmp_path / "crafted.dlcat", shop.embedder.key, change)
    with pytest.raises(CatalogError) as refused:
        import_bundle(crafted, shop.data_dir, shop.embedder)
    assert reason in str(refused.value) and "\n" not in str(refused.value)
    assert not (shop.data_dir / "catalog.sqlite").exists() and not (shop.data_dir / "maps").exists()


def test_an_oversized_map_file_is_refused_before_it_is_read(tmp_path):
    from engine import catalog_map as cm

    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:  # a small file that claims a huge inflate
        zf.writestr("ids.npy", b"\0" * (cm.MAX_MAP_BYTES + 1))
        zf.writestr("xy.npy", b"")
        zf.writestr("meta.npy", b"")
    with pytest.raises(cm.MapFileError, match="unpacks to more than"):
        read_map(path)


def test_titles_are_card_names_and_keys_where_two_read_the_same():
    from engine.catalog_map import CatalogMap, map_titles

    def made(key: str, title: str) -> CatalogMap:
        return CatalogMap(key, "k", 1, np.zeros(0, np.int64), np.zeros((0, 2), np.float32), title=title)

    stock, tuned = made("mobilenet_v2-imagenet-d328850cf896", "mobilenet_v2-imagenet"), made("ft-0a1b", "ft")
    assert map_titles([stock, tuned]) == ["mobilenet_v2-imagenet", "ft"]
    twin = made("ft-9f8e", "ft")  # two files exported under one name: their keys tell them apart
    assert map_titles([tuned, twin]) == ["ft-0a1b", "ft-9f8e"]
    assert map_titles([made("bare-key", "")]) == ["bare-key"]


def test_the_cli_says_at_once_when_no_map_can_be_computed(tmp_path, exported_models, ikea, monkeypatch, capsys):
    """`catalog map --embedder X` without openTSNE: the one line before embedding the catalog, not after."""
    from decorlens.main import main

    shop = _pipeline(tmp_path, exported_models)
    with open(ikea / "products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[:5]
    shop.import_catalog(write_feed(ikea, rows, tmp_path / "feed.csv"))
    effnet = find_first(("effnet_lite0_gem.onnx",), shop.settings.models_dir, shop.data_dir)
    for name in BLOCKED:
        monkeypatch.setitem(sys.modules, name, None)
    code = main(["-q", "--data-dir", str(tmp_path), "catalog", "map", "--embedder", "effnet_lite0_gem.onnx"])
    said = capsys.readouterr().err.strip()
    assert code != 0 and "openTSNE" in said and "\n" not in said
    assert effnet.key not in shop.catalog.embedders()  # nothing was embedded for a map that cannot be made
