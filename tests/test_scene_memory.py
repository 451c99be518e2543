"""Where used, Goes with and search by product photo, on real scenes with the real models.

Writes go to a copy of the session catalog (its scene memory emptied), never to the session's own.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from file_drop import drop_file
from PIL import Image
from scene_copy import copy_data_dir

from decorlens.main import main
from engine.batch import tag_scenes
from engine.catalog import Catalog
from engine.corrections import EditableScene
from engine.crops import crop
from engine.errors import Cancelled, CatalogError
from engine.files import sha256_of
from engine.imageio import load_image
from engine.pipeline import Pipeline
from engine.query import QueryOptions
from engine.results import SceneResult
from engine.scene_memory import (
    BATCH,
    TABLES,
    VERSION_KEY,
    embed_missing_objects,
    embed_product_photo,
    goes_with,
    goes_with_any,
    objects_of,
    photo_count,
    product_vector,
    remember,
    remember_saved,
    rooms_like,
    where_used,
)
from engine.settings import Settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the Catalog-tab test below
SCENES = ("take-a-comfy-seat-on-the-sofa", "a-bed-that-folds-away")
OTHER_EMBEDDER = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"


@pytest.fixture(scope="module")
def tagged(pipeline: Pipeline, scene_path, tmp_path_factory: pytest.TempPathFactory):
    """A pipeline over a copy of the catalog in which two scenes were batch-tagged, and their results."""
    data = copy_data_dir(pipeline, tmp_path_factory.mktemp("memory"))
    pipe = Pipeline(Settings.defaults().with_(data_dir=data))
    scenes = [scene_path(s) for s in SCENES]
    report = tag_scenes(pipe, scenes, data / "out")
    assert report.failed == []
    return pipe, dict(zip(scenes, report.results))


def again(pipe: Pipeline, photo: Path, result: SceneResult) -> None:
    """Remember a photo as a batch does, from a result already searched (the search is tested once above)."""
    remember(pipe, photo, (result.width, result.height), objects_of(result), BATCH)


def test_a_catalog_that_never_tagged_has_no_scene_tables(tmp_path: Path):
    """Bundles and backups of such a catalog hold the catalog schema only; reading the memory is empty."""
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        tables = {r[0] for r in catalog.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not tables & set(TABLES)
        assert where_used(catalog, "any") == [] and goes_with(catalog, "any") == [] and photo_count(catalog) == 0


def test_search_scenes_before_any_photo_was_tagged_says_what_to_do(tmp_path: Path, ikea: Path,
                                                                   capsys: pytest.CaptureFixture[str]):
    product = next((ikea / "products" / "sofa").glob("*.jpg"))
    assert main(["--data-dir", str(tmp_path), "-q", "search", "--scenes", str(product)]) == 0
    assert "no tagged photos yet" in capsys.readouterr().out


def test_batch_tagging_remembers_every_best_match(tagged):
    pipe, results = tagged
    assert photo_count(pipe.catalog) == 2
    for scene, result in results.items():
        for number, obj in enumerate(result.objects, 1):
            best = obj.matches[0]
            seen = where_used(pipe.catalog, best.sku)
            mine = [s for s in seen if s.photo == str(scene.resolve()) and s.number == number]
            assert len(mine) == 1, (best.sku, number)
            assert mine[0].box == pytest.approx(obj.box) and mine[0].score == pytest.approx(best.score)
            assert mine[0].kind == best.match and not mine[0].confirmed
            assert [s.score for s in seen] == sorted((s.score for s in seen), reverse=True)


def test_goes_with_counts_the_other_best_matches_of_the_same_photos(tagged):
    pipe, results = tagged
    best = {scene: {o.matches[0].sku for o in r.objects} for scene, r in results.items()}
    sku = next(iter(next(iter(best.values()))))
    expected: dict[str, int] = {}
    for skus in best.values():
        if sku in skus:
            for other in skus - {sku}:
                expected[other] = expected.get(other, 0) + 1
    together = goes_with(pipe.catalog, sku, limit=100)
    assert dict(together) == expected
    assert [n for _, n in together] == sorted((n for _, n in together), reverse=True)


def test_a_look_goes_with_what_the_photos_holding_any_of_it_hold(tagged):
    """Complete the look: every photo with one of the look's products votes once for its other products."""
    pipe, results = tagged
    best = [{o.matches[0].sku for o in r.objects} for r in results.values()]
    look = {min(skus) for skus in best}  # one product of each photo
    expected = Counter(sku for skus in best if skus & look for sku in skus - look)
    assert dict(goes_with_any(pipe.catalog, sorted(look), 100)) == dict(expected)
    assert goes_with_any(pipe.catalog, [], 100) == []


def test_tagging_a_photo_again_replaces_its_entries(tagged, tmp_path: Path):
    """By path and by content: a copy tagged elsewhere replaces the original, new content at a path replaces it."""
    pipe, results = tagged
    first, second = results
    moved = tmp_path / "moved.jpg"
    shutil.copyfile(first, moved)
    before = {s.sku: len(where_used(pipe.catalog, s.sku)) for o in results[first].objects for s in [o.matches[0]]}
    again(pipe, moved, results[first])
    assert photo_count(pipe.catalog) == 2
    assert {sku: len(where_used(pipe.catalog, sku)) for sku in before} == before
    photos = {s.photo for sku in before for s in where_used(pipe.catalog, sku)}
    assert str(moved.resolve()) in photos and str(first.resolve()) not in photos

    shutil.copyfile(second, moved)  # the same path now holds the other photo: its old entries go
    again(pipe, moved, results[second])
    assert photo_count(pipe.catalog) == 1
    for scene, result in results.items():  # as the module found it
        again(pipe, scene, result)
    assert photo_count(pipe.catalog) == 2


def test_app_edits_are_remembered_as_corrected(tagged, tmp_path: Path):
    """Removed tags drop out of Where used; a confirmed product is listed first, marked confirmed."""
    pipe, results = tagged
    scene = next(iter(results))
    result = results[scene]
    photo = tmp_path / "opened.jpg"
    shutil.copyfile(scene, photo)
    edited = EditableScene(result, sha256_of(photo))
    removed, confirmed = edited.tags[0], edited.tags[1]
    edited.remove(removed.number)
    choice = confirmed.obj.matches[-1]
    edited.confirm(confirmed.number, choice)
    assert remember_saved(pipe, photo, edited.to_json()) == len(result.objects) - 1
    seen = where_used(pipe.catalog, choice.sku)
    assert seen[0].photo == str(photo.resolve()) and seen[0].confirmed and seen[0].number == confirmed.number
    gone = removed.obj.matches[0].sku
    assert all(s.photo != str(photo.resolve()) or s.number != removed.number for s in where_used(pipe.catalog, gone))
    again(pipe, scene, result)  # back as batch-tagged: the copy's entries are replaced
    assert photo_count(pipe.catalog) == 2


def test_search_by_product_photo_finds_the_object_it_shows(tagged, tmp_path: Path):
    """A picture cut from a tagged photo, searched as a product photo, finds that photo and object first."""
    pipe, results = tagged
    scene, result = list(results.items())[1]
    obj = max(result.objects, key=lambda o: (o.box[2] - o.box[0]) * (o.box[3] - o.box[1]))
    product = tmp_path / "product.png"
    Image.fromarray(crop(load_image(scene), obj.box, pipe.settings.padding)).save(product)
    hits = rooms_like(pipe, embed_product_photo(pipe, product), k=10)
    assert len(hits) == 2 and hits[0].photo == str(scene.resolve())
    assert hits[0].box == pytest.approx(obj.box) and hits[0].score > 0.99
    assert hits[1].score < hits[0].score


def test_another_embedder_embeds_the_remembered_objects_first(tagged, shared_models: Path):
    pipe, results = tagged
    other = pipe.with_embedder(shared_models / OTHER_EMBEDDER)
    assert other.embedder.key != pipe.embedder.key
    scene = next(iter(results))
    query = embed_product_photo(other, scene)
    hits = rooms_like(other, query, k=1)
    assert len(hits) == 1
    counts = dict(pipe.catalog.db.execute("SELECT embedder, COUNT(*) FROM scene_vectors GROUP BY embedder"))
    assert counts[other.embedder.key] == counts[pipe.embedder.key] == sum(len(r.objects) for r in results.values())


def _with_memory(pipe: Pipeline, target: Path, embedder: Path) -> Pipeline:
    """A copy of ``pipe``'s data dir, the photos it remembers included, searched with another ``embedder``."""
    for folder in ("models", "index"):
        shutil.copytree(pipe.data_dir / folder, target / folder)
    with sqlite3.connect(target / "catalog.sqlite") as copy:
        pipe.catalog.db.backup(copy)
    return Pipeline(Settings.defaults().with_(data_dir=target)).with_embedder(embedder)


def test_embedding_the_remembered_objects_shows_progress_and_stops_when_cancelled(tagged, shared_models: Path,
                                                                                  tmp_path: Path):
    """After an embedder switch the first search by product photo embeds every remembered object first: minutes
    for thousands of photos, with no progress and no way to stop. A cancel keeps the photos done."""
    pipe, _ = tagged
    other = _with_memory(pipe, tmp_path / "copy", shared_models / "effnet_lite0_gem.onnx")
    db, key = other.catalog.db, other.embedder.key
    total = db.execute("SELECT COUNT(*) FROM scene_objects").fetchone()[0]
    first = db.execute("SELECT COUNT(*) FROM scene_objects WHERE scene_id = (SELECT MIN(id) FROM scenes)").fetchone()[0]
    reports: list[tuple[int, int]] = []
    with pytest.raises(Cancelled, match="the next search goes on from there"):
        embed_missing_objects(other, progress=lambda done, of: reports.append((done, of)), cancelled=lambda: bool(reports))
    assert reports == [(0, total)]  # asked before the first photo, and stopped before the second
    kept = db.execute("SELECT COUNT(*) FROM scene_vectors WHERE embedder = ?", (key,)).fetchone()[0]
    assert kept == first
    embed_missing_objects(other, progress=lambda done, of: reports.append((done, of)))
    assert reports[1] == (0, total - first)  # the next search goes on from there


def test_a_photo_changed_since_tagged_is_tried_again_only_once_its_file_changes(tagged, shared_models: Path,
                                                                                tmp_path: Path):
    """After an embedder switch a remembered photo changed since it was tagged cannot be cut again. Every search
    tried it again all the same: hashed anew, with the app's "Embedding the objects…" title shown for nothing.
    Now it is skipped until its file changes; put back as it was tagged, it is embedded."""
    pipe, _ = tagged
    other = _with_memory(pipe, tmp_path / "copy", shared_models / "effnet_lite0_gem.onnx")
    db = other.catalog.db
    scene, photo = db.execute("SELECT id, path FROM scenes ORDER BY id LIMIT 1").fetchone()
    moved = tmp_path / Path(photo).name
    with other.catalog.write():
        db.execute("UPDATE scenes SET path = ? WHERE id = ?", (str(moved), scene))
    moved.write_bytes(Path(photo).read_bytes() + b"edited")  # changed since tagged: its hash is another
    total = db.execute("SELECT COUNT(*) FROM scene_objects").fetchone()[0]
    its = db.execute("SELECT COUNT(*) FROM scene_objects WHERE scene_id = ?", (scene,)).fetchone()[0]
    reports: list[tuple[int, int]] = []
    notes: list[str] = []
    assert embed_missing_objects(other, notes.append, lambda done, of: reports.append((done, of))) == total - its
    assert reports[0] == (0, total) and notes[-1].startswith("1 remembered photo was moved or changed")
    reports.clear()
    assert embed_missing_objects(other, notes.append, lambda done, of: reports.append((done, of))) == 0
    assert reports == [] and notes[-1].startswith("1 remembered photo was")  # not read again, still counted
    shutil.copyfile(photo, moved)  # put back as it was tagged
    assert embed_missing_objects(other, notes.append, lambda done, of: reports.append((done, of))) == its
    assert reports == [(0, its)]


def test_looks_like_it_says_it_embeds_first_and_a_new_question_stops_it(tagged, qtbot, shared_models: Path,
                                                                        scene_path, tmp_path: Path, qapp):
    pytest.importorskip("pytestqt")
    from app.widgets.where_used import WhereUsedPanel
    from app.workers import Runner

    pipe, _ = tagged
    other = _with_memory(pipe, tmp_path / "copy", shared_models / "effnet_lite0_gem.onnx")
    io = Runner(2, qapp)
    panel = WhereUsedPanel(other, io)
    qtbot.addWidget(panel)
    titles: list[str] = []
    shown = panel.title.setText
    panel.title.setText = lambda text: titles.append(text) or shown(text)
    product = tmp_path / "product.jpg"
    shutil.copyfile(pipe.catalog.products(category="sofa", limit=1)[0].image_path, product)
    panel.show_photo(product)
    qtbot.waitUntil(lambda: panel.title.text().startswith("Looks like product.jpg"), timeout=120_000)
    assert any(t.startswith("Embedding the objects of the tagged photos") for t in titles)
    assert panel.sightings.count() == len(rooms_like(other, embed_product_photo(other, product), 20))
    panel.show_photo(product)
    task = panel._task
    panel.clear()  # the user selected something else meanwhile: the search (and any embedding) is stopped
    assert task.is_cancelled()
    qtbot.waitUntil(lambda: not io.busy(), timeout=60_000)


def test_cli_where_and_search_scenes(tagged, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    pipe, results = tagged
    scene, result = next(iter(results.items()))
    sku = result.objects[0].matches[0].sku
    data = ["--data-dir", str(pipe.data_dir)]
    assert main([*data, "where", sku, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sku"] == sku and report["in_catalog"] and report["tagged_photos"] == 2
    assert str(scene.resolve()) in {p["photo"] for p in report["photos"]}
    assert {g["sku"] for g in report["goes_with"]} == {s for s, _ in goes_with(pipe.catalog, sku, 20)}
    assert main([*data, "where", sku]) == 0
    assert sku in capsys.readouterr().out

    product = tmp_path / "product.png"
    Image.fromarray(crop(load_image(scene), result.objects[0].box, pipe.settings.padding)).save(product)
    assert main([*data, "-q", "search", "--scenes", str(product), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["embedder"] == pipe.embedder.key and found["scenes"][0]["photo"] == str(scene.resolve())

    assert main([*data, "where", "no-such-sku"]) != 0
    err = capsys.readouterr().err.strip()
    assert "no product 'no-such-sku'" in err and len(err.splitlines()) == 1


def test_a_newer_scene_memory_is_refused(tagged, tmp_path: Path):
    pipe, _ = tagged
    copy = tmp_path / "catalog.sqlite"
    with sqlite3.connect(copy) as db:
        pipe.catalog.db.backup(db)
        db.execute("UPDATE meta SET value = '99' WHERE key = ?", (VERSION_KEY,))
    with Catalog(copy) as catalog, pytest.raises(CatalogError, match="scene memory of version 99"):
        where_used(catalog, "any")


def test_stored_vector_is_the_objects_crop_embedded(tagged):
    """The vector kept for an object is its crop, padded as the search pads it, by the active embedder."""
    pipe, results = tagged
    scene, result = next(iter(results.items()))
    obj = result.objects[0]
    row = pipe.catalog.db.execute(
        "SELECT v.vector FROM scene_vectors v JOIN scene_objects o ON o.id = v.object_id JOIN scenes s "
        "ON s.id = o.scene_id WHERE s.path = ? AND o.number = 1 AND v.embedder = ?",
        (str(scene.resolve()), pipe.embedder.key),
    ).fetchone()
    stored = np.frombuffer(row[0], np.float32)
    again = pipe.embedder.embed([crop(load_image(scene), obj.box, pipe.settings.padding)])[0]
    assert float(stored @ again) > 0.999


def test_remembering_a_searched_photo_embeds_nothing_again(pipeline: Pipeline, scene_path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    """The search hands its crops' vectors on: remembering its result runs the embedder on no crop, while
    the same objects without them (another embedder's, say) are embedded once each."""
    pipe = Pipeline(Settings.defaults().with_(data_dir=copy_data_dir(pipeline, tmp_path / "data")))
    searched = {name: pipe.search_scene(scene_path(name)) for name in SCENES}
    embedded: list[int] = []
    embed_tensors = pipe.embedder.embed_tensors
    monkeypatch.setattr(pipe.embedder, "embed_tensors", lambda batch, *a: embedded.append(len(batch))
                        or embed_tensors(batch, *a))

    first, second = (scene_path(name) for name in SCENES)
    result = searched[SCENES[0]]
    assert result.embedder == pipe.embedder.key
    size = (result.width, result.height)
    assert remember(pipe, first, size, objects_of(result), BATCH) == len(result.objects)
    assert sum(embedded) == 0

    result = searched[SCENES[1]]
    bare = [replace(o, vector=None, embedder="") for o in objects_of(result)]
    assert remember(pipe, second, (result.width, result.height), bare, BATCH) == len(result.objects)
    assert sum(embedded) == len(result.objects)
    stored = pipe.catalog.db.execute("SELECT COUNT(*) FROM scene_vectors WHERE embedder = ?",
                                     (pipe.embedder.key,))
    assert stored.fetchone()[0] == sum(len(r.objects) for r in searched.values())


def test_a_photo_opened_in_the_app_is_remembered_without_embedding_again(
    pipeline: Pipeline, scene_path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The app remembers the scene as shown (its JSON) with the search it came from: the search's vectors
    are handed on by box, and only a box drawn since (not in the search) is embedded."""
    pipe = Pipeline(Settings.defaults().with_(data_dir=copy_data_dir(pipeline, tmp_path / "data")))
    photo = scene_path(SCENES[0])
    result = pipe.search_scene(photo)
    data = EditableScene(result, sha256_of(photo)).to_json()
    embedded: list[int] = []
    embed_tensors = pipe.embedder.embed_tensors
    monkeypatch.setattr(pipe.embedder, "embed_tensors", lambda batch, *a: embedded.append(len(batch))
                        or embed_tensors(batch, *a))
    assert remember_saved(pipe, photo, data, result) == len(result.objects)
    assert sum(embedded) == 0
    bare = Pipeline(Settings.defaults().with_(data_dir=copy_data_dir(pipeline, tmp_path / "bare")))
    bare_embed = bare.embedder.embed_tensors
    monkeypatch.setattr(bare.embedder, "embed_tensors", lambda batch, *a: embedded.append(len(batch))
                        or bare_embed(batch, *a))
    assert remember_saved(bare, photo, data) == len(result.objects)  # without the search: each crop embedded
    assert sum(embedded) == len(result.objects)
    embedded.clear()
    drawn = {**data["objects"][0], "number": len(data["objects"]) + 1, "box": [5.0, 5.0, 120.0, 140.0]}
    with_drawn = {**data, "objects": [*data["objects"], drawn]}
    assert remember_saved(pipe, photo, with_drawn, result) == len(result.objects) + 1
    assert sum(embedded) == 1


def test_the_plain_crop_vector_is_handed_on_whatever_views_the_query_pools(pipeline: Pipeline, scene_path):
    """With a mirrored view pooled in, the object still carries its plain crop's vector (what the memory
    stores); a query without the settings' padding hands none on, and remembering then embeds the crops."""
    photo = scene_path(SCENES[0])
    flipped = pipeline.with_query(QueryOptions(flip=True)).search_scene(photo)
    obj = flipped.objects[0]
    plain = pipeline.embedder.embed([crop(load_image(photo), obj.box, pipeline.settings.padding)])[0]
    assert flipped.embedder == pipeline.embedder.key and float(obj.vector @ plain) > 0.9999
    wider = pipeline.with_query(QueryOptions(paddings=(0.2,))).search_scene(photo)
    assert wider.embedder == "" and all(o.vector is None for o in wider.objects)
    assert all(o.vector is None for o in objects_of(wider))


def test_a_product_photo_is_embedded_as_the_catalog_embedded_it(tagged):
    """``search --scenes PRODUCT.jpg`` with a catalog product's own photo queries with its stored vector."""
    pipe, _ = tagged
    product = pipe.catalog.products(category="sofa", limit=1)[0]
    stored = product_vector(pipe, product.sku)
    assert stored is not None
    assert float(embed_product_photo(pipe, product.image_path) @ stored) > 0.9999
    assert product_vector(pipe, "no-such-sku") is None


def test_catalog_tab_shows_where_a_selected_product_is_used(tagged, qtbot, tmp_path: Path, qapp):
    """Selecting one product lists its sightings with the objects' pictures and what goes with it;
    double-clicking a sighting asks for its photo and tag (docs/screenshots/take_where_used.py makes the docs' picture)."""
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import Qt

    from app.labels import match_word
    from app.thumbnails import Thumbnails
    from app.widgets.catalog_view import CatalogView
    from app.widgets.where_used import PRODUCT
    from app.workers import Runner
    from engine.words import rated

    pipe, results = tagged
    result = next(iter(results.values()))
    sku = max((o.matches[0] for o in result.objects), key=lambda m: len(where_used(pipe.catalog, m.sku))).sku
    engine, io = Runner(1, qapp), Runner(2, qapp)
    view = CatalogView(pipe, engine, io, Thumbnails(Runner(2, qapp)))
    qtbot.addWidget(view)
    view.resize(1280, 760)
    view.show()
    view.search.blockSignals(True)  # no second listing (the typing delay) to drop the selection mid-test
    view.search.setText(sku)
    view.search.blockSignals(False)
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=60_000)
    view.grid.selectionModel().select(view.model.index(0), view.grid.selectionModel().SelectionFlag.Select)
    panel = view.where_used
    seen = where_used(pipe.catalog, sku)
    qtbot.waitUntil(lambda: panel.sightings.count() == len(seen), timeout=60_000)
    assert panel.together.count() == len(goes_with(pipe.catalog, sku))
    # the rows are tags, in fewer photos: both counted ("best match in 2 photos" over 5 rows said nothing of them)
    photos = len({s.photo for s in seen})
    assert panel.title.text().endswith(f"best match of {len(seen)} tag{'s' * (len(seen) != 1)} in {photos} "
                                       f"photo{'s' * (photos != 1)}")
    first = panel.sightings.item(0)
    assert not first.icon().isNull() and Path(seen[0].photo).name in first.text()
    # how it matched, in the words of the matches panel's badge ("Similar 0.58", "Likely the same 0.81")
    assert first.text().split("\n")[1].endswith(rated(match_word(seen[0].kind), seen[0].score))
    with qtbot.waitSignal(panel.tagRequested) as requested:
        panel.sightings.itemActivated.emit(first)
    assert requested.args == [Path(seen[0].photo), seen[0].number]
    assert view.grab().save(str(tmp_path / "where-used.png"))

    # Goes with: each product with its photo; double-clicked, it is listed and selected alone, the SKU typed
    # in the search box (which would hide it) cleared, and the chip beside the box brings the catalog back
    other = panel.together.item(0)
    other_sku = goes_with(pipe.catalog, sku)[0][0]
    assert other.data(Qt.ItemDataRole.UserRole) == other_sku and other_sku in other.text()
    assert all(not panel.together.item(i).icon().pixmap(PRODUCT).isNull() for i in range(panel.together.count()))
    panel.together.itemActivated.emit(other)
    qtbot.waitUntil(lambda: [view.model.products[r].sku for r in range(view.model.rowCount())] == [other_sku],
                    timeout=60_000)
    qtbot.waitUntil(lambda: panel.sku == other_sku, timeout=60_000)
    assert view.selected_skus() == [other_sku] and view.search.text() == ""
    assert view.only_chip.isVisible() and view.only_chip.text() == "Goes with: 1 ✕"
    view.only_chip.click()
    qtbot.waitUntil(lambda: view.model.rowCount() == pipe.catalog.count(), timeout=60_000)

    view.grid.selectionModel().clearSelection()
    assert panel.sightings.count() == 0
    view.grid.selectionModel().select(view.model.index(0), view.grid.selectionModel().SelectionFlag.Select)
    view.refresh()  # a new listing (after an import, a search) drops the selection, and the panel with it
    qtbot.waitUntil(lambda: panel.sku == "", timeout=60_000)
    assert panel.sightings.count() == 0

    elsewhere = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "other"))  # no photo tagged there
    view.set_pipeline(elsewhere)  # the user switched data dirs: Where used reads the new one
    panel.show_product(sku)
    qtbot.waitUntil(lambda: "not matched in any tagged photo yet" in panel.title.text(), timeout=60_000)
    assert panel.sightings.count() == 0


def test_looks_like_it_finds_a_product_or_a_dropped_photo_in_the_tagged_photos(tagged, qtbot, tmp_path: Path,
                                                                               qapp):
    """The app's view of ``search --scenes``: a selected product's photo, or a product photo dropped on the panel,
    ranks the tagged photos by their most alike object, as the CLI does; a sighting still opens its photo."""
    pytest.importorskip("pytestqt")
    from app.widgets.where_used import ALIKE, LOOKS_LIKE, MATCHED, WhereUsedPanel
    from app.workers import Runner

    pipe, results = tagged
    sku = next(o.matches[0].sku for r in results.values() for o in r.objects if o.matches)
    io = Runner(2, qapp)
    panel = WhereUsedPanel(pipe, io)
    qtbot.addWidget(panel)
    panel.show_product(sku)
    panel.mode.setCurrentIndex(LOOKS_LIKE)
    hits = rooms_like(pipe, product_vector(pipe, sku), ALIKE)
    qtbot.waitUntil(lambda: panel.sightings.count() == len(hits) > 0, timeout=60_000)
    assert f": {len(hits)} of {photo_count(pipe.catalog)} tagged photos, closest object first" in panel.title.text()
    assert panel.sightings.accessibleDescription() == panel.title.text()  # what Tab to the list says: the line above
    texts = [panel.sightings.item(i).text() for i in range(panel.sightings.count())]
    assert [t.split("\n")[0] for t in texts] == [Path(h.photo).name for h in hits]
    assert [("matched to it" in t) for t in texts] == [h.sku == sku for h in hits]
    with qtbot.waitSignal(panel.tagRequested) as requested:
        panel.sightings.itemActivated.emit(panel.sightings.item(0))
    assert requested.args == [Path(hits[0].photo), hits[0].number]

    product = pipe.catalog.get_by_sku(sku)
    supplier = tmp_path / "supplier-photo.jpg"  # a product photo from outside the catalog
    shutil.copyfile(product.image_path, supplier)
    panel.mode.setCurrentIndex(MATCHED)
    assert drop_file(panel, supplier)
    assert panel.mode.currentIndex() == LOOKS_LIKE and not panel.mode.isTabEnabled(MATCHED)
    dropped = rooms_like(pipe, embed_product_photo(pipe, supplier), ALIKE)
    qtbot.waitUntil(lambda: panel.title.text().startswith("Looks like supplier-photo.jpg"), timeout=60_000)
    assert [panel.sightings.item(i).text().split("\n")[0] for i in range(panel.sightings.count())] == [
        Path(h.photo).name for h in dropped]
    assert not any("matched to it" in panel.sightings.item(i).text() for i in range(panel.sightings.count()))

    not_a_photo = tmp_path / "notes.txt"
    not_a_photo.write_text("not a picture")
    with qtbot.waitSignal(panel.failed) as failed:
        assert drop_file(panel, not_a_photo)
    assert "notes.txt" in failed.args[0] and "\n" not in failed.args[0]
    assert panel.sightings.count() == 0 and panel.title.text().startswith("Select a product")
    assert panel.sightings.accessibleDescription() == panel.title.text()
    assert not drop_file(panel, tmp_path)  # a folder is not a product photo
    panel.show_product(sku)  # selecting a product again offers both views
    assert panel.mode.isTabEnabled(MATCHED)
    qtbot.waitUntil(lambda: not io.busy(), timeout=60_000)  # no answer left for a panel already deleted


def test_where_used_shows_the_last_question_whichever_answer_comes_last(tagged, qtbot, tmp_path: Path, qapp):
    """The same product asked of the data dir the user left, then of the new one: the old catalog's answer,
    arriving last, replaced the new one's (the panel compared only the SKU). A full suite run on two busy
    cores timed out waiting for the new answer. Here the old one is held until the new one is shown."""
    pytest.importorskip("pytestqt")
    import threading

    from app.widgets.where_used import WhereUsedPanel
    from app.workers import Runner

    pipe, results = tagged
    skus = [o.matches[0].sku for r in results.values() for o in r.objects if o.matches]
    sku = next(s for s in skus if where_used(pipe.catalog, s))
    release = threading.Event()

    class Left(Pipeline):  # the data dir the user switched away from, slow to answer
        @property
        def catalog(self) -> Catalog:
            release.wait(60)
            return pipe.catalog

    io = Runner(2, qapp)
    panel = WhereUsedPanel(Left(pipe.settings), io)
    qtbot.addWidget(panel)
    panel.show_product(sku)
    panel.pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "other"))  # no photo tagged there
    panel.show_product(sku)
    qtbot.waitUntil(lambda: "not matched in any tagged photo yet" in panel.title.text(), timeout=60_000)
    release.set()
    qtbot.waitUntil(lambda: not io.busy(), timeout=60_000)  # the old answer has come back, and was dropped
    assert "not matched in any tagged photo yet" in panel.title.text() and panel.sightings.count() == 0


def test_a_catalog_too_full_to_remember_leaves_the_batchs_tags_and_summary(pipeline: Pipeline, scene_path,
                                                                           tmp_path: Path, capsys):
    """Remembering a photo writes to the catalog; on a full disk SQLite's error ended the whole batch, with no
    summary.csv for the photos whose tags were written. Each photo's memory is now reported as missed, the
    photos alike in one line."""
    import argparse

    from decorlens import tag

    pipe = Pipeline(Settings.defaults().with_(data_dir=copy_data_dir(pipeline, tmp_path / "data")))
    catalog = pipe.catalog
    pipe.prepare_matcher()  # the catalog's index ready: only remembering writes from here
    catalog.db.execute("VACUUM")  # no free page left for a write to reuse (the session's catalog has some)
    pages = catalog.db.execute("PRAGMA page_count").fetchone()[0]
    catalog.db.execute(f"PRAGMA max_page_count = {pages}")  # a full disk, as SQLite reports one
    scenes = [scene_path(s) for s in SCENES]
    out = tmp_path / "out"
    args = argparse.Namespace(inputs=[str(s) for s in scenes], out=out, top_k=None, html=False, title=None, quiet=True)
    assert tag.run(args, pipe) == 1
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"failed: …/{scenes[0].name} (and 1 more photo alike): tagged but not remembered")
    assert line.endswith("free some disk space and try again"), line
    assert f"tagged {len(scenes)} of {len(scenes)} photos" in captured.out
    assert len(list(out.glob("*.json"))) == len(scenes) and photo_count(catalog) == 0
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        assert {row["scene"] for row in csv.DictReader(fh)} == {str(s) for s in scenes}


def test_the_catalog_menu_finds_a_product_photo_without_dragging(tagged, qtbot, main_window, tmp_path: Path,
                                                                  monkeypatch):
    """Search by product photo was a drop on the Where used panel only: no way in from the keyboard."""
    from app.main_window import CATALOG_TAB

    pipe, _ = tagged
    win = main_window(pipe)
    product = tmp_path / "supplier.jpg"
    shutil.copyfile(pipe.catalog.products(category="sofa", limit=1)[0].image_path, product)
    monkeypatch.setattr("app.main_window.QFileDialog.getOpenFileName", lambda *_a, **_k: (str(product), ""))
    (find,) = [a for menu in win.menuBar().actions() for a in menu.menu().actions()
               if a.text().replace("&", "") == "Find a Product Photo in My Photos…"]
    find.trigger()
    assert win.tabs.currentIndex() == CATALOG_TAB
    panel = win.catalog.where_used
    qtbot.waitUntil(lambda: panel.title.text().startswith("Looks like supplier.jpg"), timeout=60_000)
    assert panel.sightings.count() == len(rooms_like(pipe, embed_product_photo(pipe, product), 20))
    with qtbot.waitSignal(win.catalog.model.modelReset, timeout=60_000):
        win.catalog.refresh()  # a new listing (an import, a search typed) drops the grid's selection, not the photo's
    assert panel.title.text().startswith("Looks like supplier.jpg") and panel.sightings.count() > 0


def test_looks_like_it_reads_the_vectors_once_and_never_answers_from_a_stale_memory(tagged, tmp_path: Path):
    """The Where used panel searches on every product selected: the remembered objects' vectors are read from
    the catalog once, not on each question (at 10,000 photos a read took most of a second). A photo tagged
    again since, at another path or with other content, is searched as the memory holds it now."""
    pipe, results = tagged
    first, second = results
    query = embed_product_photo(pipe, first)
    statements: list[str] = []
    pipe.catalog.db.set_trace_callback(statements.append)
    try:
        asked = rooms_like(pipe, query, 10)
        statements.clear()
        assert rooms_like(pipe, query, 10) == asked
        assert not [s for s in statements if "v.vector" in s]  # no vector read again

        moved = tmp_path / "moved.jpg"
        shutil.copyfile(first, moved)
        again(pipe, moved, results[first])  # the same content at another path replaces the photo
        assert {h.photo for h in rooms_like(pipe, query, 10)} == {str(moved.resolve()), str(second.resolve())}
        shutil.copyfile(second, moved)  # the path now holds the other photo: the first is forgotten
        again(pipe, moved, results[second])
        assert [h.photo for h in rooms_like(pipe, query, 10)] == [str(moved.resolve())]
    finally:
        pipe.catalog.db.set_trace_callback(None)
        for scene, result in results.items():  # as the module found it
            again(pipe, scene, result)
    assert {h.photo for h in rooms_like(pipe, query, 10)} == {str(s.resolve()) for s in results}


def test_goes_with_leaves_off_a_product_removed_from_the_catalog(pipeline: Pipeline, scene_path, tmp_path: Path):
    """The Where used panel's Goes with listed a product removed since its photo was tagged by its bare SKU
    ('102.335.32 · 102.335.32 · 1 photo'), as a product to sell with the one selected."""
    from app.widgets.where_used import gather

    pipe = Pipeline(Settings.defaults().with_(data_dir=copy_data_dir(pipeline, tmp_path / "data")))
    result = tag_scenes(pipe, [scene_path(SCENES[0])], tmp_path / "out").results[0]
    sku = result.objects[0].matches[0].sku
    together = [other for other, *_ in gather(pipe, sku).together]
    assert len(together) >= 2
    pipe.catalog.remove([together[0]])
    assert [other for other, *_ in gather(pipe, sku).together] == together[1:]


def test_a_photo_remembered_again_during_a_search_by_photo_is_no_error(tagged, tmp_path: Path, monkeypatch):
    """The app saves a photo's memory after every edit, replacing its objects. One saved between the search and
    the reading back of the objects found made Looks like it say "unexpected error: KeyError: 456" (found by
    the window walk, tests/test_app_walk.py). The search and the read now see one state of the memory."""
    import engine.scene_memory as memory

    pipe, results = tagged
    data = _copy_of(pipe, tmp_path / "copy")
    searching, editing = (Pipeline(Settings.defaults().with_(data_dir=data)) for _ in range(2))  # two connections
    photo, result = next(iter(results.items()))
    query = embed_product_photo(searching, pipe.catalog.products(category="sofa", limit=1)[0].image_path)
    expected = rooms_like(searching, query, 5)
    read_back = memory._sightings_by_id

    def edited_meanwhile(catalog, ids):
        again(editing, photo, result)  # the app's save after an edit, between the search and the read
        return read_back(catalog, ids)

    monkeypatch.setattr(memory, "_sightings_by_id", edited_meanwhile)
    assert rooms_like(searching, query, 5) == expected
    monkeypatch.undo()
    assert [h.photo for h in rooms_like(searching, query, 5)] == [h.photo for h in expected]  # the edit is seen next


def test_goes_with_leaves_out_products_removed_since(tagged, tmp_path: Path, capsys):
    """`decorlens where` listed a removed product under goes_with, with no name (found by the window walk)."""
    pipe, results = tagged
    data = copy_data_dir(pipe, tmp_path / "copy")
    copied = Pipeline(Settings.defaults().with_(data_dir=data))
    photo, result = next(iter(results.items()))
    again(copied, photo, result)
    sku = next(o.matches[0].sku for o in result.objects if o.matches and goes_with(copied.catalog, o.matches[0].sku))
    gone = goes_with(copied.catalog, sku)[0][0]
    assert main(["-q", "--data-dir", str(data), "catalog", "remove", gone]) == 0
    assert gone not in {other for other, _ in goes_with(copied.catalog, sku)}
    capsys.readouterr()
    assert main(["--data-dir", str(data), "where", sku, "--json"]) == 0
    assert gone not in {g["sku"] for g in json.loads(capsys.readouterr().out)["goes_with"]}


def _best_matched(results: dict[Path, SceneResult]) -> list[str]:
    return sorted({o.matches[0].sku for r in results.values() for o in r.objects if o.matches})


def _copy_of(pipe: Pipeline, data: Path) -> Path:
    """A data dir at ``data`` holding a copy of ``pipe``'s models, index and catalog (its scene memory too)."""
    for folder in ("models", "index"):
        shutil.copytree(pipe.data_dir / folder, data / folder)
    with sqlite3.connect(data / "catalog.sqlite") as copy:
        pipe.catalog.db.backup(copy)
    return data


def test_looks_like_a_catalog_product_compares_only_the_objects_its_category_is_searched_for(tagged):
    """A table's photo found the cushions of a photo with no table: every remembered object was ranked. With its
    category, only objects whose tag searches it are (the category map's rule); a photo whose closest object
    is of such a tag keeps it and its score. The kept matrix is masked, not read again."""
    pipe, results = tagged
    covers = pipe.categories.covers
    narrowed = 0
    statements: list[str] = []
    rooms_like(pipe, product_vector(pipe, _best_matched(results)[0]), 10)  # the vectors read once, as ever
    pipe.catalog.db.set_trace_callback(statements.append)
    try:
        for sku in _best_matched(results):
            category, query = pipe.catalog.get_by_sku(sku).category, product_vector(pipe, sku)
            every, only = rooms_like(pipe, query, 10), rooms_like(pipe, query, 10, category=category)
            assert only and all(covers({h.category}, category) for h in only), (sku, category)
            kept = {(h.photo, h.number, h.score) for h in only}
            assert {(h.photo, h.number, h.score) for h in every if covers({h.category}, category)} <= kept
            narrowed += any(not covers({h.category}, category) for h in every)
    finally:
        pipe.catalog.db.set_trace_callback(None)
    assert narrowed >= 3  # products whose photo found objects of other categories
    assert not [s for s in statements if "v.vector FROM scene_vectors" in s]  # the remembered vectors read once
    assert rooms_like(pipe, query, 10, category="no-such-category") == []


def test_looks_like_it_compares_every_object_and_the_box_narrows_it_to_a_category(tagged, qtbot,
                                                                                  tmp_path: Path, qapp):
    """The panel compares a selected product, or a dropped photo, with every remembered object (it finds more of
    a product's rooms: a tag's category can be wrong), said in the title; the box above the list narrows it to the
    objects whose tag searches one category, until another product or photo is asked about."""
    pytest.importorskip("pytestqt")
    from app.labels import pretty
    from app.widgets.where_used import ALIKE, LOOKS_LIKE, WhereUsedPanel
    from app.workers import Runner

    pipe, results = tagged
    covers = pipe.categories.covers
    sku, category = next((s, c) for s in _best_matched(results) for c in [pipe.catalog.get_by_sku(s).category]
                         if not all(covers({h.category}, c) for h in rooms_like(pipe, product_vector(pipe, s), ALIKE)))
    io = Runner(2, qapp)
    panel = WhereUsedPanel(pipe, io)
    qtbot.addWidget(panel)
    panel.resize(360, 700)
    panel.show()
    panel.mode.setCurrentIndex(LOOKS_LIKE)
    title = panel.title.text  # as a product's title reads: its name, else its category

    def listed(start: str, hits: list, mine: str = "") -> None:
        """The rows shown once the title starts so: ``hits`` in order, marked where matched to ``mine``."""
        qtbot.waitUntil(lambda: title().startswith(start), timeout=60_000)
        assert [panel.sightings.item(i).text() for i in range(panel.sightings.count())] == [
            f"{Path(h.photo).name}\n{pretty(h.category)} · alike {h.score:.2f}" + (" · matched to it" * (h.sku == mine))
            for h in hits]

    def choose(data: str) -> None:
        """A category picked in the box, as the user picks it."""
        chosen = panel.category.findData(data)
        panel.category.setCurrentIndex(chosen)
        panel.category.activated.emit(chosen)

    panel.show_product(sku)
    listed("Looks like", rooms_like(pipe, product_vector(pipe, sku), ALIKE), sku)
    assert "objects of every category" in title() and panel.category.currentData() == ""
    assert panel.category_row.isVisible() and panel.category.count() == len(pipe.catalog.category_counts()) + 1
    choose(category)
    qtbot.waitUntil(lambda: "objects of every category" not in title(), timeout=60_000)
    listed("Looks like", rooms_like(pipe, product_vector(pipe, sku), ALIKE, category=category), sku)
    assert panel.grab().save(str(tmp_path / "looks-like-category.png"))

    supplier = tmp_path / "supplier.jpg"
    shutil.copyfile(pipe.catalog.get_by_sku(sku).image_path, supplier)
    query = embed_product_photo(pipe, supplier)
    panel.show_photo(supplier)  # another question compares every object again
    listed("Looks like supplier.jpg: ", rooms_like(pipe, query, ALIKE))
    assert "objects of every category" in title() and panel.category.currentData() == ""
    choose(category)
    qtbot.waitUntil(lambda: "objects of every category" not in title(), timeout=60_000)
    listed("Looks like supplier.jpg: ", rooms_like(pipe, query, ALIKE, category=category))
    panel.show_product(sku)
    qtbot.waitUntil(lambda: "objects of every category" in title(), timeout=60_000)
    assert panel.category.currentData() == ""
    panel.mode.setCurrentIndex(0)
    assert not panel.category_row.isVisible()  # Matched in has nothing to narrow
    qtbot.waitUntil(lambda: not io.busy(), timeout=60_000)


def test_search_scenes_category_compares_only_the_objects_searched_for_it(tagged, capsys: pytest.CaptureFixture[str]):
    """`search --scenes` is the panel's dropped photo: every object, said so; `--category` narrows it as the
    panel's box does (it was refused)."""
    pipe, results = tagged
    covers = pipe.categories.covers
    sku = next(s for s in _best_matched(results) if not all(
        covers({h.category}, pipe.catalog.get_by_sku(s).category) for h in rooms_like(pipe, product_vector(pipe, s))))
    product = pipe.catalog.get_by_sku(sku)
    search = ["--data-dir", str(pipe.data_dir), "-q", "search", "--scenes", product.image_path]
    assert main([*search, "--json"]) == 0
    every = json.loads(capsys.readouterr().out)
    assert every["category"] is None and not all(covers({s["category"]}, product.category) for s in every["scenes"])
    assert main([*search, "--category", product.category, "--json"]) == 0
    only = json.loads(capsys.readouterr().out)
    assert only["category"] == product.category and only["scenes"]
    assert [s["photo"] for s in only["scenes"]] == [
        h.photo for h in rooms_like(pipe, product_vector(pipe, sku), category=product.category)]
    assert main([*search, "--category", product.category]) == 0
    assert f"closest object first (objects whose tag searches {product.category})" in capsys.readouterr().out


def test_looks_like_it_names_a_removed_best_match_as_no_longer_in_the_catalog(tagged, qtbot, tmp_path: Path,
                                                                              qapp):
    """A row's tooltip named an object's best match removed since by its bare SKU ('best match when tagged:
    102.335.32 (102.335.32)'); the rest of the app says 'No longer in the catalog'."""
    pytest.importorskip("pytestqt")
    from app.labels import GONE
    from app.widgets.where_used import ALIKE, WhereUsedPanel
    from app.workers import Runner

    pipe, results = tagged
    copied = Pipeline(Settings.defaults().with_(data_dir=copy_data_dir(pipe, tmp_path / "copy")))
    for photo, result in results.items():
        again(copied, photo, result)
    supplier = tmp_path / "supplier.jpg"
    shutil.copyfile(copied.catalog.products(category="sofa", limit=1)[0].image_path, supplier)
    hits = rooms_like(copied, embed_product_photo(copied, supplier), ALIKE)
    gone = hits[0].sku
    copied.catalog.remove([gone])
    io = Runner(2, qapp)
    panel = WhereUsedPanel(copied, io)
    qtbot.addWidget(panel)
    panel.show_photo(supplier)
    qtbot.waitUntil(lambda: panel.title.text().startswith("Looks like supplier.jpg"), timeout=60_000)
    tip = panel.sightings.item(0).toolTip()
    assert f"best match when tagged: {GONE} ({gone})" in tip and f"{gone} ({gone})" not in tip
    qtbot.waitUntil(lambda: not io.busy(), timeout=60_000)


def test_looks_like_it_reads_only_the_rows_of_photos_tagged_again_or_forgotten_since(tagged, scene_path,
                                                                                     tmp_path: Path):
    """After any photo was tagged, tagged again or forgotten, the next search read every remembered vector again
    (0.6 s at 10,000 photos, seconds at 50,000), so a merchandiser tagging between searches paid it each time.
    The kept matrix is now brought up to date in place, reading only the new photo's rows; its answers, and the
    matrix itself row for row, are those of a full read (a second pipeline over the same catalog)."""
    import engine.scene_memory as memory

    pipe, results = tagged
    data = _copy_of(pipe, tmp_path / "copy")
    searching = Pipeline(Settings.defaults().with_(data_dir=data))
    products = [pipe.catalog.get_by_sku(sku) for sku in _best_matched(results)[:4]]
    questions = [(product_vector(pipe, p.sku), category) for p in products for category in (None, p.category)]

    def full_read_gives_the_same(rows_read: int) -> None:
        kept = memory._VECTORS[searching.catalog]
        fresh = Pipeline(Settings.defaults().with_(data_dir=data))
        for query, category in questions:
            for k in (1, 10, 100):
                assert rooms_like(searching, query, k, category=category) == rooms_like(fresh, query, k,
                                                                                        category=category)
        full = memory._VECTORS[fresh.catalog]
        assert np.array_equal(kept.ids, full.ids) and np.array_equal(kept.matrix, full.matrix)
        assert memory._VECTORS[searching.catalog] is kept and kept.matrix.base is rows  # changed in place
        assert kept.read == rows_read  # vector rows read since the first search, that one's included

    first, second = results
    rooms_like(searching, questions[0][0], 10)
    kept = memory._VECTORS[searching.catalog]
    rows, objects = kept.matrix.base, sum(len(r.objects) for r in results.values())

    third = tag_scenes(searching, [scene_path("bright-kitchen")], tmp_path / "out").results[0]
    assert photo_count(searching.catalog) == 3 and third.objects
    full_read_gives_the_same(objects + len(third.objects))  # the new photo's rows only

    again(searching, first, results[first])  # tagged again: its objects replaced, under new ids
    full_read_gives_the_same(objects + len(third.objects) + len(results[first].objects))

    with searching.catalog.write():  # forgotten, as a photo replaced by another is
        searching.catalog.db.execute("DELETE FROM scenes WHERE path = ?", (str(second.resolve()),))
    assert photo_count(searching.catalog) == 2
    full_read_gives_the_same(objects + len(third.objects) + len(results[first].objects))  # nothing read
