"""The app and a CLI command on one data dir at once, with real processes: the app's pipeline (or window)
in this process, `decorlens` as a subprocess, on a small catalog of real IKEA products embedded by the
shipped embedder (a feed as tests/ikea_feed.py writes it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ikea_feed import write_feed

from engine.catalog import GLOBAL
from engine.pipeline import Pipeline
from engine.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PER_CATEGORY = 6
CATEGORIES = ("lamp", "chair", "rug")


def _cli(data: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "decorlens", "-q", "--data-dir", str(data), *argv],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def data_dir(tmp_path: Path, ikea: Path, ikea_products: list[dict[str, str]]) -> Path:
    """A data dir holding 18 real products (6 lamps, chairs and rugs), imported by the CLI."""
    rows = [r for c in CATEGORIES for r in [p for p in ikea_products if p["category"] == c][:PER_CATEGORY]]
    data = tmp_path / "data"
    _cli(data, "catalog", "import", str(write_feed(ikea, rows, tmp_path / "feed.csv")))
    return data


def _stored(pipeline: Pipeline) -> dict[int, tuple[str, np.ndarray]]:
    return {pid: (category, v) for pid, category, v in pipeline.catalog.vectors(pipeline.embedder.key)}


def test_an_index_another_process_replaced_is_taken_not_rebuilt_as_missing(data_dir: Path):
    """The app had read the index manifest and loaded one category's index; a CLI removal then saved new
    files and deleted the ones it replaced, which the app's manifest still listed. The app's next search
    of another category said "index file … is missing; rebuilding the index from stored vectors" on the
    status bar and rebuilt every index (minutes for a large catalog), after each CLI change."""
    notes: list[str] = []
    app = Pipeline(Settings.defaults().with_(data_dir=data_dir), notes.append)
    index = app.index_for(app.embedder)
    stored = _stored(app)
    lamp = next(pid for pid, (category, _) in stored.items() if category == "lamp")
    assert index.search(app.catalog, stored[lamp][1][None], ["lamp"], 3)[0][0][0] == lamp  # lamps' index loaded
    chairs = [app.catalog.get(pid) for pid, (category, _) in stored.items() if category == "chair"]
    gone, kept = chairs[0], chairs[1]

    _cli(data_dir, "catalog", "remove", gone.sku)  # the other process: new chair and all-products files

    query = stored[gone.id][1][None]
    for categories in (["chair"], None):
        hits = index.search(app.catalog, query, categories, 10)[0]
        assert gone.id not in {pid for pid, _ in hits}
        assert {app.catalog.get(pid).category for pid, _ in hits} <= ({"chair"} if categories else set(CATEGORIES))
        for pid, score in hits:  # each hit is the product whose stored vector scored so
            vector = stored[pid][1]
            assert score == pytest.approx(float(query[0] @ vector / np.linalg.norm(query) / np.linalg.norm(vector)),
                                          abs=1e-4)
    assert kept.id in {pid for pid, _ in index.search(app.catalog, stored[kept.id][1][None], ["chair"], 1)[0]}
    assert not notes, notes
    manifest = index._read_manifest()  # what the app saved lists files that exist
    assert manifest["revision"] == app.catalog.revision
    assert all((index.dir / entry["file"]).is_file() for entry in manifest["files"].values())
    assert set(manifest["files"]) == {GLOBAL, *CATEGORIES}


def test_the_window_follows_a_cli_removal_and_models_activate(qtbot, main_window, data_dir: Path, scene_path):
    """The window kept what it saw at start: after a CLI removal the Catalog tab still listed the product
    and the status bar counted it, on returning to the tab; after `models activate` of another embedder
    (config.yaml) every search and the status bar kept the old embedder, and Settings' OK did not reload
    either (it compared config.yaml before and after the dialog, both the new one)."""
    win = main_window(Pipeline(Settings.defaults().with_(data_dir=data_dir)))
    total = len(CATEGORIES) * PER_CATEGORY
    win.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: win.status_line.products.text() == f"Catalog: {total} products", timeout=30_000)
    gone = win.pipeline.catalog.products("chair")[0]

    _cli(data_dir, "catalog", "remove", gone.sku)
    win.tabs.setCurrentIndex(0)  # away from the tab and back
    win.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: win.status_line.products.text() == f"Catalog: {total - 1} products", timeout=30_000)
    assert win.catalog.category.itemText(0) == f"All categories ({total - 1})"

    stock = win.pipeline.embedder.key
    _cli(data_dir, "models", "activate", "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx")
    photo = scene_path("a-bed-that-folds-away-to-be-a-sofa-by-day")
    win.tabs.setCurrentIndex(0)
    win.open_photo(photo)
    qtbot.waitUntil(lambda: win.controller.scene is not None and not win.controller._running, timeout=120_000)
    assert win.controller.pipeline is win.pipeline
    assert win.pipeline.embedder.key != stock and win.pipeline.embedder.key.startswith("mobilenet_v1")
    assert win.controller.scene.result.embedder in ("", win.pipeline.embedder.key)


def test_a_bundle_imported_under_an_idle_app_is_searched_not_the_old_catalog(
    tmp_path: Path, data_dir: Path, ikea: Path, ikea_products: list[dict[str, str]]
):
    """A pipeline whose catalog was closed, then used again (an open one refuses `bundle import`: test_bundle),
    had another catalog swapped in under its indexes. Its revision (2 here: two imports) said nothing about the app's
    indexes of the old catalog (1): the app caught up from revision 1, its old products' vectors matched
    under the new catalog's ids and names, and the bundle's first import was never found."""
    other = tmp_path / "other"
    for category in ("sofa", "armchair"):
        rows = [p for p in ikea_products if p["category"] == category][:PER_CATEGORY]
        _cli(other, "catalog", "import", str(write_feed(ikea, rows, tmp_path / f"{category}.csv")))
    _cli(other, "bundle", "export", str(tmp_path / "other.dlcat"))

    app = Pipeline(Settings.defaults().with_(data_dir=data_dir))
    index = app.index_for(app.embedder)
    query = next(iter(_stored(app).values()))[1][None]
    for categories in ([c] for c in CATEGORIES):
        index.search(app.catalog, query, categories, 3)
    index.search(app.catalog, query, None, 3)  # every index of the old catalog loaded
    app.catalog.close()  # its connections, and the one that refuses a bundle import while it is open

    _cli(data_dir, "bundle", "import", str(tmp_path / "other.dlcat"))

    stored = _stored(app)
    assert {category for category, _ in stored.values()} == {"sofa", "armchair"}
    for pid, (category, vector) in stored.items():
        hits = index.search(app.catalog, vector[None], None, 3)[0]
        assert hits[0][1] == pytest.approx(1.0, abs=1e-4)
        assert pid in {p for p, score in hits if score > 1 - 1e-4}  # itself (or a product of the same photo)
        for hit, score in hits:  # every hit is a product of the new catalog, scored by its own vector
            assert score == pytest.approx(float(vector @ stored[hit][1]) / float(
                np.linalg.norm(vector) * np.linalg.norm(stored[hit][1])), abs=1e-4)


def test_models_the_train_window_activates_are_not_taken_for_another_decorlens(qtbot, main_window, data_dir: Path):
    """The Train window's Use writes config.yaml and hands the window its new pipeline: on returning to the
    window, that was taken for another DecorLens's change, said so, and the models were loaded once more."""
    from app import train_jobs

    win = main_window(Pipeline(Settings.defaults().with_(data_dir=data_dir)))
    detectors = [list(d) for d in win.pipeline.settings.detectors]
    used = train_jobs.activate(win.pipeline, ["mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"],
                               detectors, lambda *_: None, lambda: False)
    win.set_pipeline(used)  # as TrainWindow.activated does
    win.look_outside()  # as returning to the window does
    assert win.pipeline is used
    assert "Another DecorLens" not in win.message.text.text()


def test_a_match_removed_elsewhere_says_so_and_cannot_be_confirmed(qtbot, main_window, data_dir: Path, scene_path):
    """A product the CLI removed stayed in the open photo's matches as it was, and Confirm recorded it: a pin
    of the shop page and training data for a product the catalog no longer has."""
    from app.widgets.results_panel import GONE

    win = main_window(Pipeline(Settings.defaults().with_(data_dir=data_dir)))
    win.open_photo(scene_path("a-bed-that-folds-away-to-be-a-sofa-by-day"))
    qtbot.waitUntil(lambda: win.controller.scene is not None and not win.controller._running, timeout=120_000)
    tag = next(t for t in win.controller.scene.visible if t.obj.matches)
    win.view.activate(tag.number)
    qtbot.waitUntil(lambda: bool(win.panel.rows), timeout=30_000)
    gone = win.panel.rows[0].match
    assert win.panel.rows[0].confirm.isEnabled()

    _cli(data_dir, "catalog", "remove", gone.sku)
    win.tabs.setCurrentIndex(1)  # away and back: the window catches up with the catalog
    win.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: bool(win.panel.rows) and win.panel.rows[0].confirm.text() == GONE, timeout=30_000)
    assert not win.panel.rows[0].confirm.isEnabled()
    assert [r.match.sku for r in win.panel.rows if not r.confirm.isEnabled()] == [gone.sku]
    win.view.pins[tag.number].hovered.emit(tag.number, True)  # the pin's card, and what a screen reader hears
    assert win.view.card.isVisible() and GONE in win.view.card.badge.text()
    assert win.view.spoken().endswith(", no longer in the catalog")
    win.controller.confirm(tag.number, gone)
    assert win.controller.scene.tag(tag.number).confirmed_sku != gone.sku
    assert "no longer in the catalog" in win.message.text.text()


def test_a_page_exported_after_a_confirmed_product_went_says_what_it_left_off(qtbot, main_window, data_dir: Path,
                                                                              scene_path, tmp_path: Path, monkeypatch):
    """The page leaves off a confirmed product the CLI removed since (engine.shoppable); the window said
    "Saved …" in the colour of a job done as asked. It now names what was left off, as news to read."""
    from app.dialogs.shoppable import PageExport

    win = main_window(Pipeline(Settings.defaults().with_(data_dir=data_dir)))
    win.open_photo(scene_path("a-bed-that-folds-away-to-be-a-sofa-by-day"))
    qtbot.waitUntil(lambda: win.controller.scene is not None and not win.controller._running, timeout=120_000)
    tag = next(t for t in win.controller.scene.visible if t.obj.matches)
    win.controller.confirm(tag.number, tag.obj.matches[0])
    monkeypatch.setattr("app.main_window.PageExportDialog.ask", lambda *_a: PageExport(tmp_path, ""))
    win.export_page()
    qtbot.waitUntil(lambda: "Saved" in win.message.text.text(), timeout=30_000)
    assert win.message.level == "done" and "left off" not in win.message.text.text()

    _cli(data_dir, "catalog", "remove", tag.obj.matches[0].sku)
    win.look_outside()  # as returning to the window does
    win.export_page()
    qtbot.waitUntil(lambda: "left off" in win.message.text.text(), timeout=30_000)
    assert "(left off: 1 confirmed product no longer in the catalog)" in win.message.text.text()
    assert win.message.level == "info"


def test_a_match_removed_elsewhere_and_brought_back_by_undo_says_so(qtbot, main_window, data_dir: Path, scene_path):
    """A tag's best match the CLI removed while the tag showed other matches (its category changed) came back
    with Undo as a product to confirm: the window had checked only the products shown at the time."""
    from app.widgets.results_panel import GONE

    win = main_window(Pipeline(Settings.defaults().with_(data_dir=data_dir)))
    win.open_photo(scene_path("a-bed-that-folds-away-to-be-a-sofa-by-day"))
    c = win.controller
    qtbot.waitUntil(lambda: c.scene is not None and not c._running, timeout=120_000)
    gone = next(t for t in c.scene.visible if t.obj.matches).obj.matches[0]
    other = next(category for category in CATEGORIES if category != gone.category)
    holding = [t.number for t in c.scene.tags if gone.sku in {m.sku for m in t.obj.matches}]
    for number in holding:  # every tag that lists it is searched in another category
        c.change_category(number, other)
        qtbot.waitUntil(lambda n=number: c.scene.tag(n).obj.category == other and not c._running, timeout=60_000)
    assert gone.sku not in c.scene.skus()
    tag = c.scene.tag(holding[-1])

    _cli(data_dir, "catalog", "remove", gone.sku)
    win.look_outside()  # as returning to the window does
    qtbot.waitUntil(lambda: not win.io.busy(), timeout=30_000)
    win.undo_action.trigger()
    win.view.activate(tag.number)
    qtbot.waitUntil(lambda: bool(win.panel.rows) and not win.io.busy(), timeout=30_000)
    assert gone.sku in c.gone
    assert [r.match.sku for r in win.panel.rows if r.confirm.text() == GONE] == [gone.sku]
