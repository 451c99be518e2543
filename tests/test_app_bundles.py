"""Catalog ▸ Export / Import a Catalog Bundle…, offscreen, between two data dirs of real IKEA products.

Before them a bundle existed only on the command line ("with DecorLens closed"), and the retail staff who
import the store's catalog on a till only ever see the app.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import shutil
import sqlite3
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from ikea_feed import write_feed

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QWidget  # noqa: E402

from app.dialogs.bundles import (  # noqa: E402
    EMPTY_EXPORT,
    BundleProgress,
    Bundles,
    export_text,
    import_text,
    question,
    read_plan,
)
from engine import __version__  # noqa: E402
from engine.backups import list_backups  # noqa: E402
from engine.bundle import (  # noqa: E402
    CHECKING,
    COPYING,
    IMAGES_DIR,
    IMPORT_LOCK,
    IMPORT_STEPS,
    INDEXING,
    PACKING,
    REPLACING,
    UNPACKING,
    WRITING,
    export_bundle,
    read_bundle,
)
from engine.files import sha256_of  # noqa: E402
from engine.imageio import load_image  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.settings import Settings  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 120_000
STORE, TILL = 80, 12  # more than one re-embedding chunk (64) in the store's catalog, so Cancel has a step to stop
V1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"


def _data_dir(work: Path, name: str, rows: list[dict], ikea: Path, exported_models: Path) -> Path:
    data = work / name
    shutil.copytree(exported_models, data / "models")
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data))
    assert pipeline.import_catalog(write_feed(ikea, rows, work / f"{name}.csv")).added == len(rows)
    pipeline.close()
    return data


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, exported_models: Path) -> dict:
    """The store's data dir (80 products of every kind) and a till's (12 others), imported once."""
    work = tmp_path_factory.mktemp("bundles")
    with open(ikea / "products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    store = rows[::24][:STORE]
    till = [row for row in rows[5::151] if row not in store][:TILL]
    return {"store": _data_dir(work, "store", store, ikea, exported_models),
            "till": _data_dir(work, "till", till, ikea, exported_models),
            "store_rows": store, "till_rows": till, "ikea": ikea}


def _pipeline(shop: dict, which: str, tmp_path: Path, **settings) -> Pipeline:
    data = tmp_path / which
    shutil.copytree(shop[which], data)
    return Pipeline(Settings.defaults().with_(data_dir=data, **settings))


def _photo(shop: dict, row: dict) -> np.ndarray:
    return load_image(shop["ikea"] / row["image"])


def _top(pipeline: Pipeline, photo: np.ndarray) -> list[tuple[str, float]]:
    """What a product photo finds in the whole catalog: the first three SKUs and their scores."""
    return [(m.sku, round(m.score, 4)) for m in pipeline.match([photo], [None], top_k=3)[0]]


def _skus(win) -> set[str]:
    return {p.sku for p in win.catalog.model.products}


def _trigger(win, text: str) -> None:
    catalog = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Catalog")
    next(a for a in catalog.actions() if a.text() == text).trigger()


def _importer(win, bundle: Path, asked: list[str], seen: list[tuple[bool, bool]], cancel: bool = False) -> Bundles:
    """The window's bundle tasks, its dialogs answered: ``bundle`` chosen, the question (kept in ``asked``) answered
    with Import; once the import shows its progress, whether it is modal and offers Cancel is kept in ``seen``,
    and Cancel is clicked when ``cancel``. The window then looks for another DecorLens's changes, as it does each
    time it is activated (the question closing activates it): its worker asks for the catalog, and opened it
    again while the import had let go of it, which the import then refused as in use."""
    tasks = win._bundle_tasks()
    tasks.ask_bundle = lambda: bundle

    def look() -> None:
        progress = tasks.progress
        seen.append((progress.isVisible() and progress.isModal(), progress.cancel.isVisible()))
        win.look_outside()
        if cancel:
            progress.cancel.click()

    def confirm(text: str, replaces: bool = True) -> bool:
        asked.append(text)
        QTimer.singleShot(0, look)  # the worker takes longer than one turn of the event loop
        return True

    tasks.confirm_import = confirm
    return tasks


def _wait_quiet(qtbot, win) -> None:
    qtbot.waitUntil(lambda: not win.bundles.io.busy() and win.bundles.progress is None, timeout=WAIT_MS)


def test_a_catalog_exported_in_one_window_imports_in_another_with_the_same_products_and_searches(
        qtbot, main_window, shop, tmp_path: Path):
    store_pipeline = _pipeline(shop, "store", tmp_path)
    store = main_window(store_pipeline)
    ship = tmp_path / "ship"
    ship.mkdir()
    bundle = ship / "store.dlcat"
    tasks = store._bundle_tasks()
    tasks.ask_pictures = lambda: True
    tasks.ask_export_path = lambda pictures: bundle if pictures else None
    _trigger(store, "&Export a Catalog Bundle…")
    assert tasks.progress.isModal() and tasks.progress.cancel.isVisible()  # an export can be cancelled
    _wait_quiet(qtbot, store)
    manifest = read_bundle(bundle).manifest
    megabytes = f"{bundle.stat().st_size / 1e6:.1f} MB"
    assert store.message.text.text() == (f"Wrote store.dlcat: {STORE} products and their {manifest['image_files']} "
                                         f"pictures, {megabytes}, in {ship}.")
    assert manifest["image_files"] > STORE // 2 and manifest["products"] == STORE
    photos = [_photo(shop, row) for row in shop["store_rows"][::10]]
    expected = [_top(store_pipeline, photo) for photo in photos]
    store.close()

    till_pipeline = _pipeline(shop, "till", tmp_path)
    till = main_window(till_pipeline)
    qtbot.waitUntil(lambda: till.catalog.model.rowCount() == TILL, timeout=WAIT_MS)
    asked: list[str] = []
    seen: list[tuple[bool, bool]] = []
    _importer(till, bundle, asked, seen)
    _trigger(till, "&Import a Catalog Bundle…")
    _wait_quiet(qtbot, till)
    (question,) = asked
    categories = len(manifest["categories"])
    assert question.startswith(f"Replace this catalog with the {STORE} products of store.dlcat?\n\n")
    assert f"store.dlcat holds {STORE} products in {categories} categories." in question
    assert "It was made today at " in question and f" by DecorLens {__version__}." in question
    assert (f"It REPLACES this catalog of {TILL} products. The catalog as it is now is backed up first: "
            "Catalog ▸ Restore a Backup… brings it back.") in question
    assert "embedder" not in question and "pictures are not inside it" not in question
    assert seen == [(True, True)]  # in the worker, under a modal progress, with Cancel (re-embedding or not)

    assert till.message.text.text() == (f"Imported {STORE} products from store.dlcat. The catalog it replaced is "
                                        "backed up: Restore a Backup… brings it back.")
    assert till.message.button.isVisibleTo(till) and till.message.button.text() == "Restore a Backup…"
    qtbot.waitUntil(lambda: till.catalog.model.rowCount() == STORE, timeout=WAIT_MS)
    assert _skus(till) == {row["product_id"] for row in shop["store_rows"]}
    qtbot.waitUntil(lambda: till.status_line.products.text() == f"Catalog: {STORE} products", timeout=WAIT_MS)
    assert till.pipeline is not till_pipeline  # the replaced catalog's caches went with the old pipeline
    assert [_top(till.pipeline, photo) for photo in photos] == expected
    for product in till.pipeline.catalog.products():  # the pictures came in the bundle
        assert Path(product.image_path).parent == till.pipeline.data_dir / IMAGES_DIR
    (backup,) = list_backups(till.pipeline.data_dir / "catalog.sqlite")
    assert backup.reason == "bundle-import" and backup.products() == TILL


def _damaged(bundle: Path, out: Path) -> Path:
    """The bundle with one picture's last bytes overwritten: a bad copy, caught by its checksum."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("images/") and item.filename.endswith(".jpg"):
                data = data[:-100] + b"x" * 100
            dst.writestr(item, data)
    return out


def test_a_damaged_bundle_is_refused_in_one_line_and_the_catalog_stays_as_it_was(
        qtbot, main_window, shop, tmp_path: Path):
    bundle = export_bundle(shop["store"], tmp_path / "store.dlcat").path
    damaged = _damaged(bundle, tmp_path / "damaged.dlcat")
    pipeline = _pipeline(shop, "till", tmp_path)
    photos = [_photo(shop, row) for row in shop["till_rows"][:4]]
    expected = [_top(pipeline, photo) for photo in photos]
    win = main_window(pipeline)
    qtbot.waitUntil(lambda: win.catalog.model.rowCount() == TILL, timeout=WAIT_MS)
    asked: list[str] = []
    _importer(win, damaged, asked, [])
    _trigger(win, "&Import a Catalog Bundle…")
    _wait_quiet(qtbot, win)
    assert win.message.level == "error"
    assert len(asked) == 1  # its manifest is whole: the damage is found while unpacking
    text = win.message.text.text()
    assert text.startswith("images/") and text.endswith(" in the bundle is damaged (checksum mismatch); copy the "
                                                      "bundle again")  # the engine's one line
    assert not win.message.button.isVisibleTo(win)
    assert win.pipeline is pipeline and _skus(win) == {row["product_id"] for row in shop["till_rows"]}
    assert [_top(pipeline, photo) for photo in photos] == expected
    data = pipeline.data_dir
    assert not list_backups(data / "catalog.sqlite") and not (data / IMAGES_DIR).exists()
    assert not list(data.glob(".bundle-import-*"))

    not_a_bundle = tmp_path / "holiday photos.dlcat"
    not_a_bundle.write_bytes(b"PK\x03\x04 not a zip at all")
    asked.clear()
    win.bundles.ask_bundle = lambda: not_a_bundle
    _trigger(win, "&Import a Catalog Bundle…")
    qtbot.waitUntil(lambda: "not a readable catalog bundle" in win.message.text.text(), timeout=WAIT_MS)
    assert not asked and win.message.level == "error"  # refused before anything is asked
    assert [_top(pipeline, photo) for photo in photos] == expected


def test_a_bundle_of_another_embedder_is_re_embedded_here_and_that_can_be_cancelled(
        qtbot, main_window, shop, tmp_path: Path):
    bundle = export_bundle(shop["store"], tmp_path / "store.dlcat").path
    pipeline = _pipeline(shop, "till", tmp_path, embedder=(V1,))
    ours = pipeline.embedder.key
    win = main_window(pipeline)
    qtbot.waitUntil(lambda: win.catalog.model.rowCount() == TILL, timeout=WAIT_MS)
    asked: list[str] = []
    seen: list[tuple[bool, bool]] = []
    _importer(win, bundle, asked, seen, cancel=True)
    _trigger(win, "&Import a Catalog Bundle…")
    _wait_quiet(qtbot, win)
    theirs = next(iter(read_bundle(bundle).embedders))
    assert (f"Its products were made searchable with another embedder ({theirs}) than this machine's ({ours}): "
            f"this machine will compute its own vectors for the {STORE} products from their pictures. That takes a "
            "while, and can be cancelled.") in asked[0]
    assert seen == [(True, True)]
    assert win.message.text.text() == "Import of store.dlcat cancelled; the catalog is unchanged."
    data = pipeline.data_dir
    assert win.pipeline is pipeline and pipeline.catalog.count() == TILL
    assert not list_backups(data / "catalog.sqlite") and not (data / IMAGES_DIR).exists()

    _importer(win, bundle, asked, seen)
    _trigger(win, "&Import a Catalog Bundle…")
    _wait_quiet(qtbot, win)
    assert win.message.text.text().startswith(
        f"Imported {STORE} products from store.dlcat, their vectors computed on this machine ({STORE}).")
    qtbot.waitUntil(lambda: win.catalog.model.rowCount() == STORE, timeout=WAIT_MS)
    assert win.pipeline.catalog.embedders() == {theirs: STORE, ours: STORE}
    for row in shop["store_rows"][::16]:  # searched with this machine's embedder, each finds its own picture
        (best,) = win.pipeline.match([_photo(shop, row)], [None], top_k=1)[0]
        assert win.pipeline.embedder.key == ours and best.score > 0.99
        assert win.pipeline.catalog.get_by_sku(best.sku).image_hash == sha256_of(shop["ikea"] / row["image"])


def test_a_bundle_without_its_pictures_reads_them_from_the_shared_folder_named(
        qtbot, main_window, shop, tmp_path: Path):
    bundle = export_bundle(shop["store"], tmp_path / "paths.dlcat", include_images=False).path
    pipeline = _pipeline(shop, "till", tmp_path)
    win = main_window(pipeline)
    asked: list[str] = []
    tasks = _importer(win, bundle, asked, [])
    tasks.ask_images_folder = lambda _info: None  # the folder not chosen: nothing is asked, nothing imported
    _trigger(win, "&Import a Catalog Bundle…")
    qtbot.waitUntil(lambda: not tasks.io.busy(), timeout=WAIT_MS)
    assert not asked and pipeline.catalog.count() == TILL

    shared = shop["ikea"] / "products"
    tasks.ask_images_folder = lambda info: shared if info.path == bundle else None
    _trigger(win, "&Import a Catalog Bundle…")
    _wait_quiet(qtbot, win)
    assert win.message.text.text().startswith(f"Imported {STORE} products from paths.dlcat.")
    assert asked[0].endswith(f"Its product pictures are not inside it: they are read from {shared}.")
    qtbot.waitUntil(lambda: win.catalog.model.rowCount() == STORE, timeout=WAIT_MS)
    for product in win.pipeline.catalog.products():
        assert Path(product.image_path).is_relative_to(shared.resolve())  # stored resolved: ../shared may be a link


def test_the_question_says_a_damaged_catalog_is_replaced_and_tagged_photos_stay_in_the_backup(shop, tmp_path: Path):
    """The plan read from a till whose catalog SQLite cannot read; the words for a catalog that remembers photos."""
    info = read_bundle(export_bundle(shop["store"], tmp_path / "store.dlcat").path)
    pipeline = _pipeline(shop, "till", tmp_path)
    with contextlib.closing(sqlite3.connect(pipeline.data_dir / "catalog.sqlite")) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(pipeline.data_dir / "catalog.sqlite", "r+b") as fh:
        fh.write(bytes(4096))  # its first page zeroed
    plan = read_plan(pipeline, info.path)
    assert plan.products is None and plan.damage and not plan.re_embed
    damaged = question(plan)
    assert f"It replaces this catalog, which is damaged and cannot be read ({plan.damage})." in damaged
    assert "REPLACES" not in damaged and "kept beside it" in damaged

    remembered = question(replace(plan, products=1955, damage="", photos=40))
    assert "It REPLACES this catalog of 1,955 products." in remembered
    assert ("The 40 tagged photos this catalog remembers (Where used, Review Uncertain Tags) are not in the bundle: "
            "after the import they are in that backup only.") in remembered


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its sha256; SQLite's shared-memory index aside (any reader writes it)."""
    return {str(path.relative_to(root)): sha256_of(path)
            for path in sorted(root.rglob("*")) if path.is_file() and not path.name.endswith("-shm")}


def test_an_export_without_its_pictures_is_asked_for_in_the_question_and_keeps_their_paths(
        qtbot, main_window, shop, tmp_path: Path):
    """The CLI's ``--no-images`` (tills that share the picture folder) had no way in the app: the question before
    the export says when to leave the pictures out, and ticking its box writes a bundle of their paths only."""
    pipeline = _pipeline(shop, "store", tmp_path)
    win = main_window(pipeline)
    tasks = win._bundle_tasks()
    bundle = tmp_path / "ship" / "paths.dlcat"
    asked: list[str] = []
    tasks.ask_export_path = lambda pictures: None if pictures else bundle

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        asked.append(box.text())
        assert box.checkBox().text() == "Leave the pictures out: the tills share the picture folder"
        assert not box.checkBox().isChecked() and box.defaultButton().text() == "Export…"
        box.checkBox().setChecked(True)
        box.defaultButton().click()

    QTimer.singleShot(0, answer)
    _trigger(win, "&Export a Catalog Bundle…")
    _wait_quiet(qtbot, win)
    assert "one shared folder" in asked[0] and "much smaller" in asked[0]
    manifest = read_bundle(bundle).manifest
    assert manifest["images"] == "external" and manifest["image_files"] == 0 and manifest["products"] == STORE
    with zipfile.ZipFile(bundle) as zf:
        assert not [name for name in zf.namelist() if name.startswith("images/")]
    assert win.message.text.text().startswith(f"Wrote paths.dlcat: {STORE} products and their pictures' paths (not "
                                              "the pictures), ")
    assert win.message.text.text().endswith(" Each till is asked for the shared picture folder when it imports it.")


def test_a_cancelled_export_says_nothing_was_written_and_writes_nothing(qtbot, main_window, shop, tmp_path: Path):
    pipeline = _pipeline(shop, "store", tmp_path)
    win = main_window(pipeline)
    qtbot.waitUntil(lambda: win.catalog.model.rowCount() == STORE, timeout=WAIT_MS)
    before = _tree(pipeline.data_dir)
    tasks = win._bundle_tasks()
    bundle = tmp_path / "ship" / "store.dlcat"
    tasks.ask_pictures = lambda: True
    tasks.ask_export_path = lambda _pictures: bundle
    _trigger(win, "&Export a Catalog Bundle…")
    tasks.progress.cancel.click()  # the worker has only begun: 80 pictures to check and write
    assert tasks.progress.text.text() == "Cancelling…"
    _wait_quiet(qtbot, win)
    assert win.message.text.text() == "Export to store.dlcat cancelled; nothing was written."
    assert win.message.level == "info"
    assert not bundle.parent.exists() and _tree(pipeline.data_dir) == before


def test_an_empty_catalog_is_not_exported(qtbot, main_window, fresh_pipeline, tmp_path: Path):
    """An empty catalog was written as a bundle of 0 products, which replaced each till's catalog with nothing."""
    win = main_window(fresh_pipeline)
    tasks = win._bundle_tasks()
    bundle = tmp_path / "ship" / "empty.dlcat"
    tasks.ask_pictures = lambda: True
    tasks.ask_export_path = lambda _pictures: bundle
    _trigger(win, "&Export a Catalog Bundle…")
    _wait_quiet(qtbot, win)
    assert win.message.text.text() == EMPTY_EXPORT and win.message.level == "error"
    assert not bundle.parent.exists()


def test_the_export_says_each_step_and_counts_the_pictures():
    shown = [export_text(Path("/shop/store.dlcat"), step, 1234, 5000) for step in (COPYING, CHECKING, PACKING, WRITING)]
    assert shown == ["Exporting the catalog to store.dlcat.\nCopying the catalog…",
                     "Exporting the catalog to store.dlcat.\nChecking the pictures: 1,234 of 5,000…",
                     "Exporting the catalog to store.dlcat.\nPacking the catalog into the bundle…",
                     "Exporting the catalog to store.dlcat.\nWriting the pictures into the bundle: 1,234 of 5,000…"]


def test_a_bundle_dropped_on_a_new_install_imports_as_the_menu_does(qtbot, main_window, fresh_pipeline, shop,
                                                                    tmp_path: Path):
    """Retail staff given the store's bundle on a new till: dropped on the window (or given to `decorlens gui`),
    it said "No photos in store.dlcat", and the first page offered only a folder or a CSV. The first page now
    offers a bundle too, and a bundle dropped asks the import's question, then imports."""
    from file_drop import drop_file

    bundle = export_bundle(shop["store"], tmp_path / "ship" / "store.dlcat").path
    win = main_window(fresh_pipeline)
    qtbot.waitUntil(lambda: win.photo_stack.currentWidget() is win.welcome, timeout=WAIT_MS)
    chosen: list[bool] = []
    tasks = win._bundle_tasks()
    tasks.ask_bundle = lambda: chosen.append(True)  # the open dialog, closed without a choice
    win.welcome.bundle_action.trigger()
    assert chosen == [True] and "catalog bundle" in win.welcome.findChild(QLabel).text()

    asked: list[str] = []
    _importer(win, tmp_path / "not-this-one.dlcat", asked, [])
    assert drop_file(win, bundle)
    _wait_quiet(qtbot, win)
    assert len(asked) == 1 and asked[0].startswith(f"Import the {STORE} products of store.dlcat?\n\n")
    assert "This catalog is empty: the import fills it." in asked[0] and "REPLACES" not in asked[0]
    assert win.message.text.text().startswith(f"Imported {STORE} products from store.dlcat.")
    qtbot.waitUntil(lambda: win.catalog.model.rowCount() == STORE, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.photo_stack.currentWidget() is not win.welcome, timeout=WAIT_MS)


@pytest.mark.parametrize("which", ["empty", "till"])
def test_enter_imports_into_an_empty_catalog_and_cancels_a_replacement(
        qtbot, main_window, fresh_pipeline, shop, tmp_path: Path, which: str):
    """The question before an import had Cancel as its default even into an empty catalog, where nothing is
    replaced: retail staff pressing Enter on a new till imported nothing. Enter now imports there; into a catalog
    with products, which the import replaces, Enter still cancels."""
    bundle = export_bundle(shop["store"], tmp_path / "ship" / "store.dlcat").path
    pipeline = fresh_pipeline if which == "empty" else _pipeline(shop, "till", tmp_path)
    win = main_window(pipeline)
    win._bundle_tasks().ask_bundle = lambda: bundle
    defaults: list[str] = []

    def press_enter() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, press_enter)
            return
        defaults.append(box.defaultButton().text())
        qtbot.keyClick(box, Qt.Key.Key_Return)

    QTimer.singleShot(0, press_enter)
    _trigger(win, "&Import a Catalog Bundle…")
    _wait_quiet(qtbot, win)
    expected = STORE if which == "empty" else TILL
    qtbot.waitUntil(lambda: win.pipeline.catalog.count() == expected, timeout=WAIT_MS)
    assert defaults == (["Import"] if which == "empty" else ["Cancel"])


def test_enter_in_the_progress_window_does_not_cancel_escape_does(qtbot, main_window, shop, tmp_path: Path):
    """Cancel, the progress window's only button, was its default: Enter (pressed once more for the save dialog just
    answered, or out of habit) cancelled minutes of export or import. Escape and the button still cancel."""
    pipeline = _pipeline(shop, "store", tmp_path)
    win = main_window(pipeline)
    tasks = win._bundle_tasks()
    tasks.ask_pictures = lambda: True
    tasks.ask_export_path = lambda _pictures: tmp_path / "ship" / "store.dlcat"
    _trigger(win, "&Export a Catalog Bundle…")
    progress = tasks.progress
    for widget in (progress.cancel, progress):  # Cancel has the focus as the window opens
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            qtbot.keyClick(widget, key)
    assert progress.cancel.isEnabled() and progress.text.text() != "Cancelling…"
    _wait_quiet(qtbot, win)
    assert win.message.text.text().startswith("Wrote store.dlcat: ")

    tasks.ask_export_path = lambda _pictures: tmp_path / "ship" / "again.dlcat"
    _trigger(win, "&Export a Catalog Bundle…")
    qtbot.keyClick(tasks.progress, Qt.Key.Key_Escape)
    assert tasks.progress.text.text() == "Cancelling…"
    _wait_quiet(qtbot, win)
    assert win.message.text.text() == "Export to again.dlcat cancelled; nothing was written."


def test_an_import_is_cancelled_from_its_progress_window_and_leaves_the_data_dir_as_it_was(
        qtbot, main_window, shop, tmp_path: Path):
    """Only an import that re-embedded could be cancelled (its progress said "Importing store.dlcat…" and nothing
    else for minutes); every import now names its steps and can be cancelled (Escape here) until it replaces the
    catalog."""
    bundle = export_bundle(shop["store"], tmp_path / "store.dlcat").path
    pipeline = _pipeline(shop, "till", tmp_path)
    win = main_window(pipeline)
    qtbot.waitUntil(lambda: win.catalog.model.rowCount() == TILL, timeout=WAIT_MS)
    data = pipeline.data_dir
    before = _tree(data)
    tasks = win._bundle_tasks()
    tasks.ask_bundle = lambda: bundle
    shown: list[str] = []

    def escape() -> None:
        shown.append(tasks.progress.text.text())
        qtbot.keyClick(tasks.progress, Qt.Key.Key_Escape)

    def confirm(_text: str, replaces: bool = True) -> bool:
        QTimer.singleShot(0, escape)
        return True

    tasks.confirm_import = confirm
    _trigger(win, "&Import a Catalog Bundle…")
    _wait_quiet(qtbot, win)
    assert shown == ["Importing store.dlcat.\nUnpacking the bundle…"]
    assert win.message.text.text() == "Import of store.dlcat cancelled; the catalog is unchanged."
    assert win.pipeline is pipeline and pipeline.catalog.count() == TILL
    empty = hashlib.sha256(b"").hexdigest()  # the import's lock file, left on purpose (engine.files.exclusive)
    assert _tree(data) == {**before, IMPORT_LOCK: empty}
    assert not list_backups(data / "catalog.sqlite") and not list(data.glob(".bundle-import-*"))


def test_the_last_step_of_an_import_takes_cancel_away(qtbot):
    """The engine never stops while it replaces the catalog: Cancel and Escape are gone then, and the step is said
    even after a Cancel that came too late."""
    parent = QWidget()
    qtbot.addWidget(parent)
    asked: list[bool] = []
    progress = BundleProgress(parent, "Import a catalog bundle", import_text("store.dlcat", UNPACKING, 0, 0))
    progress.cancelRequested.connect(lambda: asked.append(True))
    progress.show_step(import_text("store.dlcat", REPLACING, 0, 0), stoppable=False)
    qtbot.keyClick(progress, Qt.Key.Key_Escape)
    assert not progress.cancel.isEnabled() and asked == []
    assert progress.text.text() == "Importing store.dlcat.\nReplacing the catalog (this step cannot be cancelled)…"

    progress = BundleProgress(parent, "Import a catalog bundle", import_text("store.dlcat", INDEXING, 0, 0))
    progress.cancelRequested.connect(lambda: asked.append(True))
    progress.cancel.click()
    progress.show_step(import_text("store.dlcat", REPLACING, 0, 0), stoppable=False)
    assert asked == [True] and progress.text.text().endswith("(this step cannot be cancelled)…")


def test_the_import_says_each_step_and_counts_where_it_counts():
    shown = [import_text("store.dlcat", step, 1234, 5000) for step in IMPORT_STEPS]
    assert shown == ["Importing store.dlcat.\nUnpacking the bundle: 1,234 of 5,000 MB…",
                     "Importing store.dlcat.\nChecking the products and their pictures: 1,234 of 5,000 products…",
                     "Importing store.dlcat.\nAdding the pictures to this computer: 1,234 of 5,000 pictures…",
                     "Importing store.dlcat.\nComputing this computer's vectors: 1,234 of 5,000 products…",
                     "Importing store.dlcat.\nBuilding the search index…",
                     "Importing store.dlcat.\nReplacing the catalog (this step cannot be cancelled)…"]
