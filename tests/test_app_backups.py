"""Catalog ▸ Restore a Backup…, offscreen on a real catalog of shared IKEA products.

Before it, the app had no way to bring a backup back: a removal by mistake stayed, and a damaged catalog's
message sent the merchandiser to `decorlens catalog restore`, a command retail staff never see.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from ikea_feed import write_feed

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QItemSelectionModel  # noqa: E402

from app.dialogs.backups import NO_BACKUPS, BackupsWindow  # noqa: E402
from app.widgets.setup_page import INSTALL_NEWS
from engine.catalog import Product  # noqa: E402
from engine.imageio import load_image  # noqa: E402
from engine.modelpack import InstallReport
from engine.pipeline import Pipeline  # noqa: E402
from engine.settings import Settings  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 90_000
PRODUCTS = 12


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, exported_models: Path) -> dict:
    """A data dir of 12 real IKEA products, of several categories, with no backup yet, checkpointed whole into
    its file (so that damage to the file is not hidden behind a WAL)."""
    work = tmp_path_factory.mktemp("backups")
    with open(ikea / "products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[::151][:PRODUCTS]
    data = work / "data"
    shutil.copytree(exported_models, data / "models")
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data))
    assert pipeline.import_catalog(write_feed(ikea, rows, work / "feed.csv")).added == PRODUCTS
    pipeline.close()
    with contextlib.closing(sqlite3.connect(data / "catalog.sqlite")) as db:
        assert db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    (data / "catalog.sqlite-wal").unlink(missing_ok=True)
    return {"data": data, "rows": rows, "ikea": ikea}


def _pipeline(shop: dict, tmp_path: Path) -> Pipeline:
    data = tmp_path / "data"
    shutil.copytree(shop["data"], data)
    return Pipeline(Settings.defaults().with_(data_dir=data))


def _photo(shop: dict, sku: str) -> np.ndarray:
    row = next(r for r in shop["rows"] if r["product_id"] == sku)
    return load_image(shop["ikea"] / row["image"])


def _best(pipeline: Pipeline, photo: np.ndarray) -> str:
    """The SKU a product photo finds first in the catalog: itself while it is there."""
    return pipeline.match([photo], [None], top_k=1)[0][0].sku


def _open_backups(qtbot, win) -> BackupsWindow:
    """Catalog ▸ Restore a Backup…, from the menu, once its list is read."""
    catalog = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Catalog")
    next(a for a in catalog.actions() if a.text() == "Restore a &Backup…").trigger()
    window = win.backups_window
    qtbot.waitUntil(lambda: window.isVisible() and window.listing is not None and not window.io.busy(),
                    timeout=WAIT_MS)
    return window


def _restore(qtbot, win, window: BackupsWindow, row: int) -> str:
    """Restore the backup of ``row``, answering the question with Restore; returns the question."""
    asked = []
    window.confirm_restore = lambda text: asked.append(text) or True
    window.table.selectRow(row)
    with qtbot.waitSignal(window.restored, timeout=WAIT_MS):
        window.restore.click()
        # the restore runs in the worker: the window shows it is busy and takes no second Restore meanwhile
        assert window.busy.isVisible() and not window.restore.isEnabled() and not window.table.isEnabled()
    qtbot.waitUntil(lambda: not window.io.busy() and window.restore.isEnabled(), timeout=WAIT_MS)
    (question,) = asked
    return question


def test_products_removed_by_mistake_are_restored_from_the_window_and_searchable(qtbot, main_window, shop,
                                                                                 tmp_path: Path):
    pipeline = _pipeline(shop, tmp_path)
    win = main_window(pipeline)
    view = win.catalog
    qtbot.waitUntil(lambda: view.model.rowCount() == PRODUCTS, timeout=WAIT_MS)
    for row in (0, 1, 2):
        view.grid.selectionModel().select(view.model.index(row), QItemSelectionModel.SelectionFlag.Select)
    gone = view.selected_skus()
    view.confirm_removal = lambda _count: True
    view.remove_selected()
    qtbot.waitUntil(lambda: view.model.rowCount() == PRODUCTS - 3, timeout=WAIT_MS)
    assert _best(pipeline, _photo(shop, gone[0])) not in gone
    # the removal's message offers the way back, as an undo would
    assert win.message.text.text() == "Removed 3 products from the catalog."
    assert win.message.button.text() == "Restore a Backup…" and win.message.button.isVisibleTo(win)

    win.message.button.click()
    window = win.backups_window
    qtbot.waitUntil(lambda: window is not None and window.isVisible() and window.listing is not None
                    and not window.io.busy(), timeout=WAIT_MS)
    assert window.table.rowCount() == 1
    taken, before, products = (window.table.item(0, column).text() for column in range(3))
    assert taken.startswith("Today at ") and before == "a removal" and products == f"{PRODUCTS} products"
    # which products a backup brings back, in the list and the question: "1,988 products" against 1,985 said not
    compared = window.table.item(0, 3).text()
    assert compared.startswith("3 more: ") and all(f"({sku})" in compared for sku in gone)
    question = _restore(qtbot, win, window, 0)
    assert "It brings back 3 products: " in question and all(f"({sku})" in question for sku in gone)
    assert f"The catalog holds {PRODUCTS - 3} products now" in question
    assert f"replaces them with its {PRODUCTS} products" in question
    assert "backed up first, so this restore can be undone" in question

    qtbot.waitUntil(lambda: view.model.rowCount() == PRODUCTS, timeout=WAIT_MS)
    assert set(gone) <= {p.sku for p in view.model.products}
    qtbot.waitUntil(lambda: win.status_line.products.text() == f"Catalog: {PRODUCTS} products", timeout=WAIT_MS)
    assert win.message.isVisible() and win.message.text.text().startswith(f"Restored {PRODUCTS} products from the "
                                                                          "backup of today at ")
    assert "Back in the catalog: " in win.message.text.text() and all(sku in win.message.text.text() for sku in gone)
    assert all(_best(pipeline, _photo(shop, sku)) == sku for sku in gone)  # searchable again
    # the catalog as it was before the restore is the newest backup: the restore can be undone the same way
    qtbot.waitUntil(lambda: window.table.rowCount() == 2 and not window.io.busy(), timeout=WAIT_MS)
    assert [window.table.item(0, c).text() for c in (1, 2)] == ["a restore", f"{PRODUCTS - 3} products"]
    assert window.table.item(0, 3).text().startswith("3 fewer: ") and window.table.item(1, 3).text() == \
        "the same as now"
    assert window.note.text() == win.message.text.text()  # the window says what it did too


def test_a_damaged_catalog_offers_restore_a_backup_and_is_restored_from_the_app(qtbot, main_window, shop,
                                                                                 tmp_path: Path):
    """The message said "restore a backup: `decorlens catalog restore` lists its 1"; now its button opens the
    window, which puts the backup in place of the damaged file as the CLI does and keeps that file aside."""
    pipeline = _pipeline(shop, tmp_path)
    data = pipeline.data_dir
    removed = shop["rows"][0]["product_id"]
    assert pipeline.remove_products([removed]) == 1  # the backup, of all 12
    pipeline.close()
    with contextlib.closing(sqlite3.connect(data / "catalog.sqlite")) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (data / "catalog.sqlite-wal").unlink(missing_ok=True)
    with open(data / "catalog.sqlite", "r+b") as fh:
        fh.write(bytes(4096))  # its first page zeroed: SQLite no longer opens it

    win = main_window(pipeline)
    bar = win.message
    qtbot.waitUntil(lambda: bar.isVisible() and "is damaged" in bar.text.text(), timeout=WAIT_MS)
    assert "decorlens catalog restore" not in bar.text.text() and "restore its backup" in bar.text.text()
    assert bar.button.isVisible() and bar.button.text() == "Restore a Backup…"
    assert win.photo_stack.currentWidget() is not win.welcome  # not "Your catalog is empty … Import products"
    bar.button.click()
    window = win.backups_window
    qtbot.waitUntil(lambda: window.isVisible() and window.listing is not None and not window.io.busy(),
                    timeout=WAIT_MS)
    assert window.listing.products is None and "damaged" in window.summary.text()
    question = _restore(qtbot, win, window, 0)
    assert "The catalog is damaged and cannot be read" in question and f"puts its {PRODUCTS} products" in question

    assert len(list(data.glob("catalog-damaged-*.sqlite"))) == 1  # set aside, not deleted
    qtbot.waitUntil(lambda: win.catalog.model.rowCount() == PRODUCTS, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.status_line.products.text() == f"Catalog: {PRODUCTS} products", timeout=WAIT_MS)
    assert bar.text.text().startswith(f"Restored {PRODUCTS} products") and "catalog-damaged-" in bar.text.text()
    assert _best(pipeline, _photo(shop, removed)) == removed
    assert f"The catalog holds {PRODUCTS} products now" in window.summary.text()


def test_an_empty_catalog_with_backups_offers_them_on_its_page(qtbot, main_window, shop, tmp_path: Path):
    """A sync client that left catalog.sqlite out (or a move) made a new, empty catalog beside its backups: the
    page said only "Your catalog is empty … Import products", where the CLI said the backups were there."""
    pipeline = _pipeline(shop, tmp_path)
    data = pipeline.data_dir
    assert pipeline.remove_products([shop["rows"][0]["product_id"]]) == 1  # the backup, of all 12
    pipeline.close()
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        (data / name).unlink(missing_ok=True)

    win = main_window(pipeline)
    page = win.welcome
    assert win.photo_stack.currentWidget() is page
    assert page.restore_button.isVisibleTo(win) and "This catalog has a backup" in page.backups.text()
    page.restore_button.click()
    window = win.backups_window
    qtbot.waitUntil(lambda: window.isVisible() and window.listing is not None and not window.io.busy(),
                    timeout=WAIT_MS)
    question = _restore(qtbot, win, window, 0)
    assert "The catalog is empty now. Restoring" in question
    qtbot.waitUntil(lambda: win.catalog.model.rowCount() == PRODUCTS, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.photo_stack.currentWidget() is not page, timeout=WAIT_MS)


def test_an_empty_catalog_without_backups_offers_no_restore(qtbot, main_window, fresh_pipeline):
    win = main_window(fresh_pipeline)
    assert win.photo_stack.currentWidget() is win.welcome
    assert not win.welcome.restore_button.isVisibleTo(win) and not win.welcome.backups.isVisibleTo(win)


def test_no_backups_yet_says_when_they_are_made_and_an_unreadable_one_cannot_be_restored(qtbot, fresh_pipeline,
                                                                                          ikea: Path):
    window = BackupsWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.listing is not None, timeout=WAIT_MS)
    assert window.summary.text() == NO_BACKUPS and "before each removal, embedder switch" in NO_BACKUPS
    assert window.table.rowCount() == 0 and not window.restore.isEnabled()

    folder = fresh_pipeline.data_dir / "backups"  # a backup a sync client cut to nothing
    folder.mkdir()
    (folder / "catalog-20240102T030405000000Z-remove.sqlite").write_bytes(b"not a database")
    window.refresh()
    qtbot.waitUntil(lambda: window.table.rowCount() == 1, timeout=WAIT_MS)
    assert window.table.item(0, 2).text() == "unreadable" and not window.restore.isEnabled()
    assert "cannot be read" in window.note.text()
    taken = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).astimezone()  # local time, the year as it is not this one
    assert window.table.item(0, 0).text() == f"{taken:%a} {taken.day} {taken:%b} {taken.year} at {taken:%H:%M}"

    # a backup of products without this embedder's vectors (taken before an embedder switch): restored, they are
    # embedded for minutes, which Cancel now stops; the restore itself stays and says so
    catalog = fresh_pipeline.catalog
    with open(ikea / "products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[:600]
    with catalog.transaction() as revision:
        for r in rows:
            catalog.upsert(Product(r["product_id"], r["name"], r["category"], str(ikea / r["image"])), revision)
    catalog.backup("re-embed")
    window.refresh()
    qtbot.waitUntil(lambda: window.table.rowCount() == 2, timeout=WAIT_MS)
    window.confirm_restore = lambda _text: True
    window.table.selectRow(0)
    window.restore.click()
    qtbot.waitUntil(lambda: "of 600" in window.note.text(), timeout=WAIT_MS)
    assert window.cancel.isVisible() and 0 < window.busy.value() < 600
    with qtbot.waitSignal(window.restored, timeout=WAIT_MS) as restored:
        window.cancel.click()
    assert restored.args[0].products == 600 and not restored.args[0].searchable
    assert window.note.text().endswith("Making them searchable was cancelled: the next search does it.")
    assert not window.cancel.isVisible() and catalog.count() == 600


def _damaged_pipeline(shop, tmp_path: Path) -> tuple[Pipeline, bytes]:
    """A copy of the shop whose catalog's first page is zeroed (SQLite no longer opens it), and its bytes then."""
    pipeline = _pipeline(shop, tmp_path)
    catalog = pipeline.data_dir / "catalog.sqlite"
    with open(catalog, "r+b") as fh:
        fh.write(bytes(4096))
    return pipeline, catalog.read_bytes()


def test_a_damaged_catalog_without_backups_is_set_aside_from_the_app(qtbot, main_window, shop, tmp_path: Path):
    """With no backup to restore, the line said "move it aside and import the products again": a file in a folder
    retail staff never see. Its button now sets it aside, kept whole, and the app opens a new, empty catalog."""
    pipeline, damaged = _damaged_pipeline(shop, tmp_path)
    data = pipeline.data_dir

    win = main_window(pipeline)
    bar = win.message
    qtbot.waitUntil(lambda: bar.isVisible() and "is damaged" in bar.text.text(), timeout=WAIT_MS)
    assert "move it aside" not in bar.text.text() and "set it aside, then import the products again" in bar.text.text()
    assert bar.button.isVisible() and bar.button.text() == "Set It Aside"
    # a model pack installed from the setup page: the models reload, the install's note is said, then the catalog's
    # error; the error replaced the note (of a trained model moved aside) before it could be read
    error = bar.text.text()
    moved = "Your trained embedder.onnx is kept as embedder-trained.onnx."
    win.setup._installed(InstallReport(data / "models", ["embedder.onnx"], [], set_aside=[moved]))
    qtbot.waitUntil(lambda: bar.text.text().startswith(INSTALL_NEWS) and bar.level == "error", timeout=WAIT_MS)
    assert bar.text.text() == f"{INSTALL_NEWS}\n{moved}\n{error}" and bar.level == "error"
    assert bar.button.isVisible() and bar.button.text() == "Set It Aside"
    bar.button.click()
    qtbot.waitUntil(lambda: bar.text.text().startswith("The damaged catalog is kept as catalog-damaged-"),
                    timeout=WAIT_MS)
    (aside,) = data.glob("catalog-damaged-*.sqlite")
    assert aside.read_bytes() == damaged  # kept whole, never deleted
    qtbot.waitUntil(lambda: win.status_line.products.text() == "Catalog: 0 products", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.photo_stack.currentWidget() is win.welcome, timeout=WAIT_MS)  # import first


def test_the_backups_window_sets_a_damaged_catalog_without_backups_aside(qtbot, main_window, shop, tmp_path: Path):
    """The window said "move …/catalog.sqlite out of its folder, then import the products again", a file in a folder
    retail staff never see, while the message bar offered Set It Aside. The window now offers the same: the file is
    kept whole beside it, and the main window follows the new, empty catalog as after a restore."""
    pipeline, damaged = _damaged_pipeline(shop, tmp_path)
    data = pipeline.data_dir

    win = main_window(pipeline)
    qtbot.waitUntil(lambda: win.message.isVisible() and "is damaged" in win.message.text.text(), timeout=WAIT_MS)
    window = _open_backups(qtbot, win)
    summary = window.summary.text()
    assert "no backup of it to restore" in summary and "Set it aside" in summary and "never deleted" in summary
    assert "catalog.sqlite" not in summary and "move" not in summary
    assert window.set_aside.isVisible() and window.set_aside.isEnabled() and not window.restore.isVisible()

    with qtbot.waitSignal(window.restored, timeout=WAIT_MS):
        window.set_aside.click()
        assert window.busy.isVisible() and not window.set_aside.isEnabled()  # in the worker
    (aside,) = data.glob("catalog-damaged-*.sqlite")
    assert aside.read_bytes() == damaged  # kept whole, never deleted
    said = window.note.text()
    assert said.startswith(f"The damaged catalog is kept as {aside.name}") and "Import Folder…" in said
    qtbot.waitUntil(lambda: win.message.text.text() == said, timeout=WAIT_MS)  # the main window says it too
    qtbot.waitUntil(lambda: win.status_line.products.text() == "Catalog: 0 products", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.photo_stack.currentWidget() is win.welcome, timeout=WAIT_MS)  # import first
    qtbot.waitUntil(lambda: window.summary.text() == NO_BACKUPS and not window.io.busy(), timeout=WAIT_MS)
    assert not window.set_aside.isVisible() and window.restore.isVisible()
