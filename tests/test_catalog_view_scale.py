"""The Catalog tab on a catalog bigger than it lists: what keeps the window's work flat at a million products.

``decorlens bench catalog`` (docs/benchmarks, "The Catalog tab at catalog sizes") found no freeze at 20,000
to 1,000,000 products because the grid lists at most ``MAX_SHOWN`` of them: the tile grid (a ``QListView`` in
icon mode) lays out every row it is given on the window's thread, 1.6 s for a million rows on that machine.
These tests hold that bound, and the bench's own run, without timing anything.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ sits beside the installed packages in the checkout
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import Qt

from app.thumbnails import Thumbnails
from app.widgets.catalog_view import MAX_SHOWN, CatalogView
from app.workers import Runner
from bench import catalog_view as bench
from bench.common import Dataset, Options
from engine.pipeline import Pipeline
from engine.settings import Settings

pytestmark = pytest.mark.gui
WAIT_MS = 60_000
MORE = 7  # products beyond what the grid lists


def test_a_catalog_bigger_than_the_grid_lists_its_first_products_and_says_so(qtbot, ikea: Path,
                                                                             tmp_path: Path, qapp):
    photos = [str(ikea / row["image"]) for row in Dataset(ikea).products]
    size = MAX_SHOWN + MORE
    data_dir = bench.synthetic_catalog(tmp_path / "data", size, photos, lambda _m: None)
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data_dir))
    view = CatalogView(pipeline, Runner(1, qapp), Runner(2, qapp), Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(view)
    view.resize(1400, 800)
    view.show()
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() > 0, timeout=WAIT_MS)
    assert view.model.rowCount() == MAX_SHOWN
    assert view.count.text() == f"{MAX_SHOWN:,} shown (first {MAX_SHOWN:,})"
    assert view.category.itemText(0) == f"All categories ({size:,})"  # the whole catalog is counted

    view.grid.scrollToBottom()  # the end of the list is the last listed product, and it can be selected
    last = view.model.index(MAX_SHOWN - 1)
    view.grid.selectionModel().select(last, view.grid.selectionModel().SelectionFlag.ClearAndSelect)
    product = view.model.data(last, Qt.ItemDataRole.UserRole)
    qtbot.waitUntil(lambda: product.name in view.where_used.title.text(), timeout=WAIT_MS)

    view.search.setText(f"bench {size}")  # a search reaches products beyond the listed ones
    qtbot.waitUntil(lambda: [p.sku for p in view.model.products] == [f"B{size}"], timeout=WAIT_MS)
    assert view.count.text() == "1 shown"
    pipeline.catalog.close()


def test_searches_typed_over_before_they_ran_are_not_run(qtbot, ikea: Path, tmp_path: Path, qapp):
    """Each search ran to its end, however many keys came after it: at a million products, half a second of
    the two I/O threads each, and the answer to the last key waited behind them."""
    import threading

    photos = [str(ikea / row["image"]) for row in Dataset(ikea).products]
    pipeline = Pipeline(Settings.defaults().with_(data_dir=bench.synthetic_catalog(tmp_path / "d", 40, photos,
                                                                                   lambda _m: None)))
    io = Runner(1, qapp)
    view = CatalogView(pipeline, Runner(1, qapp), io, Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(view)
    searched: list[str] = []
    products = pipeline.catalog.products
    pipeline.catalog.products = lambda category, text, limit, skus, order: searched.append(text) or products(
        category, text, limit=limit, skus=skus, order=order)
    busy = threading.Event()
    io.start(lambda _job: busy.wait(WAIT_MS / 1000))  # the I/O thread is busy while the keys come
    for typed in ("b", "be", "bench 40"):
        view.search.setText(typed)
        view.refresh(changed=False)
    busy.set()
    qtbot.waitUntil(lambda: [p.sku for p in view.model.products] == ["B40"], timeout=WAIT_MS)
    assert searched == ["bench 40"]
    assert io.shutdown(WAIT_MS)
    pipeline.catalog.close()


def test_a_search_typed_over_while_it_runs_stops_and_the_next_one_lists(qtbot, ikea: Path, tmp_path: Path,
                                                                        qapp):
    """A search already running when the next key came ran on to its end (a second at a million products),
    holding an I/O thread. It now stops within a few thousand SQLite steps, says nothing (it is no error),
    its connection stays usable, and the next search lists. The running search is held in its first LIKE
    (SQLite's own, replaced on the worker's connection during the query by one that waits) until the next
    key has come; then every row matches at once, and only a stop keeps it from reading them all."""
    import threading

    photos = [str(ikea / row["image"]) for row in Dataset(ikea).products]
    size = MAX_SHOWN + MORE
    pipeline = Pipeline(Settings.defaults().with_(data_dir=bench.synthetic_catalog(tmp_path / "d", size, photos,
                                                                                   lambda _m: None)))
    io = Runner(1, qapp)  # one thread: the next search runs once the superseded one has ended
    view = CatalogView(pipeline, Runner(1, qapp), io, Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(view)
    messages: list[str] = []
    view.message.connect(lambda text, _level: messages.append(text))
    running, next_key, compared = threading.Event(), threading.Event(), []

    def held_like(_pattern: str, _value: str, _escape: str) -> bool:
        compared.append(1)
        running.set()
        return next_key.wait(WAIT_MS / 1000)  # every row matches: without a stop, all are read and sorted

    products, connections = pipeline.catalog.products, []

    def held_products(category: str | None, text: str, limit: int, skus: list[str] | None, order: str) -> list:
        connections.append(pipeline.catalog._local.held)  # kept: a function on it must not be freed at the job's end
        connections[-1].conn.create_function("like", 3, held_like)
        return products(category, text, limit=limit, skus=skus, order=order)

    pipeline.catalog.products = held_products
    view.search.setText("bench")
    view.refresh(changed=False)
    assert running.wait(WAIT_MS / 1000)
    view.search.setText("")  # the next key: a search without LIKE, listing the first products
    view.refresh(changed=False)
    next_key.set()
    qtbot.waitUntil(lambda: view.model.rowCount() == MAX_SHOWN, timeout=WAIT_MS)
    assert view.count.text() == f"{MAX_SHOWN:,} shown (first {MAX_SHOWN:,})" and not messages
    assert len(compared) < size // 2, f"the superseded search read {len(compared)} of {size} products"
    interrupted = connections[0].conn
    assert interrupted.execute("SELECT COUNT(*) FROM products").fetchone()[0] == size  # still usable
    assert io.shutdown(WAIT_MS)
    pipeline.catalog.close()


def test_the_catalog_bench_measures_a_small_catalog(ikea: Path, tmp_path: Path, qapp) -> None:
    data = bench.run(None, Options(dataset=ikea, sizes=(300,), repeats=1, write=False, workdir=tmp_path,
                                   log=lambda _m: None))
    (row,) = data["sizes"]
    assert row["products"] == 300 and set(row["steps"]) == set(bench.STEPS)
    assert all(step["answer_ms"] > 0 and step["longest_ms"] > 0 for step in row["steps"].values())
    assert row["steps"]["listed"]["rows"] == 300
    again = bench.synthetic_catalog(tmp_path / "catalog-view" / "300", 300, [], lambda _m: None)  # reused
    assert Pipeline(Settings.defaults().with_(data_dir=again)).catalog.count() == 300
