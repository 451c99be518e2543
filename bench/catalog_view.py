"""The Catalog tab at catalog sizes: does the window keep answering while a big catalog is listed, searched,
filtered, scrolled and selected?

For each size, an SQLite catalog of that many products (the Map bench's synthetic products,
``bench.map_view.bench_product``: SKU ``B<i>``, name ``bench <i>``, three categories, the dataset's product
photos reused in turn under other names so that each tile's thumbnail is decoded by itself; a price each,
``bench_price``) is written once
into the work dir and reused. A ``CatalogView`` over it, with its own worker pools, runs on Qt's offscreen
platform at 1400 × 800, and a 5 ms timer counts the turns of the event loop: the longest gap between two
turns is the longest stretch of work on the window's thread (a freeze, when over about 100 ms). Each step
also records how long until its answer is on screen (the listing applied, the Where used panel filled,
the visible tiles' thumbnails decoded). The steps, in the order a user takes them:

- ``listed``: the window's start-up listing (``refresh``, as ``MainWindow`` calls it), the tab still hidden;
- ``first shown``: the tab shown with that listing (the grid's first layout and paint, the visible thumbnails);
- ``typing``: "bench" typed at 150 ms a key, its answer awaited, then " 4242" (each key, the debounced query,
  both answers; the answer time is the second's, from its last key);
- ``typing slowly``: the search cleared, then "4242" typed at 400 ms a key, so that each key's query runs;
- ``typing over``: the search cleared, then "4242" typed so that each key comes ``OVER_MS`` after the last
  key's query started: its own query, a debounce later, supersedes that one while it still runs (where a
  query takes longer than the debounce: a million products); beside the answer,
  ``lone_ms``: the same search's answer by itself (the debounce plus its listing query, on the worker), the
  reference measured in the same round, and ``over_ratio``, the answer over it (1: typing over cost nothing);
- ``category``: the category filter set to the first category (as a click in its list does);
- ``price sort``: the whole catalog sorted by price, low to high (as a choice in the sort box does), then back to
  the category order; each product has a price of its own (``bench_price``: feeds write prices as text, which the
  sort reads as numbers), so the sort reads as many distinct prices as there are products;
- ``price, category``: then, still in price order, the category filter set to the first category (the prices
  already read by the listing's worker: a sort after the first);
- ``scroll to end``: the grid scrolled to its last row, until the tiles there have their thumbnails;
- ``select``: a click on the last visible tile, until the Where used panel shows the product;
- ``import``: 1,000 products written to the catalog (as an import's worker writes them) and the view told the
  import is done (``_imported``), until the new listing is shown; the products are removed afterwards.

Also timed, off the window's thread: the listing query itself (``Catalog.category_counts`` and
``Catalog.products`` with the view's limit) on the catalog.
"""
from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import Dataset, Options, header, machine_info, md_table, median, qt_app, write_report
from bench.event_turns import TICK_MS, Turns

SIZES = (20_000, 200_000, 1_000_000)
QUICK_SIZES = (20_000,)
KEY_MS = 150  # a quick typist's gap between keys: the search waits for a pause (SEARCH_DELAY_MS, 250 ms)
SLOW_KEY_MS = 400  # a slow typist's: every key sets off its query
FIRST_WORD, NUMBER = "bench", 4242  # "bench", then " 4242" (a smaller catalog's last number)
IMPORTED = 1_000
WINDOW = (1400, 800)
LIMIT_S = 120.0
OVER_MS = 100  # "typing over": the next key comes this long after the last key's query started
OVER_KEYS = ("answer_ms", "lone_ms", "over_ratio")
STEPS = ("listed", "first shown", "typing", "typing slowly", "typing over", "category", "price sort", "price, category",
         "scroll to end", "select", "import")


def run(pipeline: Any, options: Options) -> dict[str, Any]:
    app = qt_app("catalog")
    machine = machine_info()  # the load at the start
    photos = [str(options.dataset / row["image"]) for row in Dataset(options.dataset).products]
    repeats = options.repeats or (1 if options.quick else 3)
    sizes = options.sizes or (QUICK_SIZES if options.quick else SIZES)
    if options.workdir or pipeline is not None:
        root = (options.workdir or pipeline.data_dir / "bench") / "catalog-view"
    else:
        root = Path(tempfile.mkdtemp(prefix="decorlens-bench-catalog-"))
    rows = []
    for size in sizes:
        data_dir = synthetic_catalog(root / str(size), size, photos, options.log)
        rounds = [_measure(app, data_dir, size) for _ in range(repeats)]
        row = {"products": size, "database_mb": (data_dir / "catalog.sqlite").stat().st_size / 1e6,
               "query_ms": median([r["query_ms"] for r in rounds]),
               "steps": {step: {key: median([r["steps"][step][key] for r in rounds])
                                for key in rounds[0]["steps"][step]} for step in STEPS},
               "worst_stall_ms": max(max(s["longest_ms"] for s in r["steps"].values()) for r in rounds),
               "rounds": rounds}
        options.log(f"catalog of {size:,}: worst stall {row['worst_stall_ms']:.0f} ms; " + "; ".join(
            f"{step} {v['longest_ms']:.0f}/{v['answer_ms']:.0f} ms" for step, v in row["steps"].items()))
        rows.append(row)
    data = {"benchmark": "catalog_view", "mode": options.mode, "machine": machine,
            "repeats": repeats, "window": WINDOW, "tick_ms": TICK_MS, "sizes": rows}
    write_report(options, "catalog-view", data, render(data, options))
    return data


def synthetic_catalog(data_dir: Path, size: int, photos: list[str], log: Callable[[str], None]) -> Path:
    """A data dir whose catalog holds products 1 to ``size`` of ``bench_product`` (written once, then reused)."""
    from bench.map_view import bench_product
    from engine.catalog import Catalog

    path = data_dir / "catalog.sqlite"
    if path.is_file():
        with Catalog(path) as catalog:
            last = catalog.get_by_sku(f"B{size}")
            if catalog.count() == size and last is not None and last.price == bench_price(size):
                return data_dir
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    with Catalog(path) as catalog, catalog.transaction():
        catalog.db.executemany(
            "INSERT INTO products (id, sku, name, category, image_path, image_hash, price) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((p.id, p.sku, p.name, p.category, p.image_path, f"bench{p.id}", bench_price(p.id))
             for p in (bench_product(i, photos) for i in range(1, size + 1))))
    log(f"wrote a catalog of {size:,} products in {time.perf_counter() - start:.1f} s: {path}")
    return data_dir


def bench_price(i: int) -> str:
    """Product ``i``'s price as a feed writes it: "1,234.56 USD", a different one for each product up to a million."""
    cents = (i * 7_919) % 1_000_003 + 100
    return f"{cents // 100:,}.{cents % 100:02d} USD"


def _measure(app: Any, data_dir: Path, size: int) -> dict[str, Any]:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from app.thumbnails import Thumbnails
    from app.widgets.catalog_view import MAX_SHOWN, CatalogView
    from app.workers import Runner
    from engine.importer import ImportReport
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    pipeline = Pipeline(Settings.defaults().with_(data_dir=data_dir))
    start = time.perf_counter()
    with pipeline.catalog.snapshot():
        pipeline.catalog.category_counts()
        pipeline.catalog.products(None, "", limit=MAX_SHOWN)
    query_ms = (time.perf_counter() - start) * 1000
    runners = [Runner(2, app), Runner(2, app), Runner(2, app)]
    thumbnails = Thumbnails(runners[2])
    view = CatalogView(pipeline, runners[0], runners[1], thumbnails)
    for runner in runners:  # the view's, as the app's runners are its window's: deleted by Qt with the view
        runner.setParent(view)
    view.resize(*WINDOW)
    shown = _count_calls(view, "_show")
    turns, steps = Turns(LIMIT_S), {}

    def listing(action: Callable[[], None]) -> float:
        before = shown[0]
        action()
        return turns.until(lambda: shown[0] > before)

    def thumbnails_in() -> bool:
        return not thumbnails._pending

    answer = listing(view.refresh)
    steps["listed"] = {**turns.step(), "answer_ms": answer * 1000, "rows": view.model.rowCount()}

    start = time.perf_counter()
    view.show()
    turns.until(lambda: view.grid.viewport().isVisible(), 50, 0)
    answer = time.perf_counter() - start + turns.until(thumbnails_in)
    steps["first shown"] = {"answer_ms": answer * 1000, **turns.step()}

    def typed(text: str, gap_ms: float) -> float:
        """Seconds from the last key until the listing for the whole search text is shown (an answer to a
        query the last keys overtook does not count)."""
        for key in text[:-1]:
            QTest.keyClick(view.search, key)
            turns.until(lambda: True, gap_ms, 0)
        before, wanted = shown[0], (view.search.text() + text[-1]).strip()

        def answered() -> bool:
            listed = view.model.products[:100]
            return shown[0] > before and bool(listed) and all(wanted in p.name for p in listed)

        QTest.keyClick(view.search, text[-1])
        return turns.until(answered)

    number = str(min(NUMBER, size))
    first = typed(FIRST_WORD, KEY_MS)
    second = typed(" " + number, KEY_MS)
    steps["typing"] = {"answer_ms": second * 1000, "first_word_answer_ms": first * 1000, **turns.step()}

    view.search.clear()
    listing(lambda: None)
    turns.step()
    answer = typed(number, SLOW_KEY_MS)
    steps["typing slowly"] = {"answer_ms": answer * 1000, **turns.step()}
    view.search.clear()
    listing(lambda: None)
    turns.step()
    steps["typing over"] = {**_typed_over(view, turns, shown, number), **turns.step()}
    view.search.clear()
    listing(lambda: None)
    turns.step()
    index = 1  # the first category ("All categories" is 0)
    view.category.setCurrentIndex(index)
    steps["category"] = {"answer_ms": listing(lambda: view.category.activated.emit(index)) * 1000, **turns.step()}
    view.category.setCurrentIndex(0)
    listing(lambda: view.category.activated.emit(0))
    turns.until(thumbnails_in)
    turns.step()
    steps["price sort"] = {"answer_ms": _sorted(view, "price", listing) * 1000, **turns.step()}
    view.category.setCurrentIndex(index)
    steps["price, category"] = {"answer_ms": listing(lambda: view.category.activated.emit(index)) * 1000,
                                **turns.step()}
    view.category.setCurrentIndex(0)
    listing(lambda: view.category.activated.emit(0))
    _sorted(view, "category", listing)
    turns.until(thumbnails_in)
    turns.step()

    start = time.perf_counter()
    view.grid.scrollToBottom()
    turns.until(lambda: True, 50, 0)
    answer = time.perf_counter() - start + turns.until(thumbnails_in)
    steps["scroll to end"] = {"answer_ms": answer * 1000, **turns.step()}

    viewport = view.grid.viewport()
    last = view.grid.indexAt(QPoint(viewport.width() - 40, viewport.height() - 40))
    if not last.isValid():
        last = view.model.index(view.model.rowCount() - 1)
    turns.step()
    center = view.grid.visualRect(last).center()
    product = view.model.data(last, Qt.ItemDataRole.UserRole)
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=center)
    answer = turns.until(lambda: product.name in view.where_used.title.text())
    steps["select"] = {"answer_ms": answer * 1000, "row": last.row(), **turns.step()}

    db = sqlite3.connect(data_dir / "catalog.sqlite", isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO products (sku, name, category, image_path, image_hash) VALUES (?, ?, ?, ?, ?)",
                       ((f"NEW{i}", f"new {i}", "sofa", f"/nowhere/new{i}.jpg", f"new{i}") for i in range(IMPORTED)))
        db.execute("COMMIT")
        answer = listing(lambda: view._imported(Path("new.csv"), ImportReport(added=IMPORTED)))
        steps["import"] = {"answer_ms": answer * 1000, **turns.step()}
    finally:
        db.execute("DELETE FROM products WHERE sku LIKE 'NEW%'")
        db.close()
    view.close()
    view.deleteLater()
    for runner in runners:
        runner.pool.waitForDone()
    app.processEvents()
    pipeline.catalog.close()
    return {"products": size, "query_ms": query_ms, "steps": steps}


def _sorted(view: Any, order: str, listing: Callable[[Callable[[], None]], float]) -> float:
    """Seconds until the grid is listed in ``order``, chosen in the sort box as a click in its list does."""
    index = view.order.findData(order)
    view.order.setCurrentIndex(index)
    return listing(lambda: view.order.activated.emit(index))


def _typed_over(view: Any, turns: Turns, shown: list[int], text: str) -> dict[str, float]:
    """``text`` typed key by key, each key ``OVER_MS`` after the last key's query started (its debounce fired),
    so each query but the first is started while the one before it runs (at the larger sizes, where a query
    takes longer than the debounce): the answer from the last key, and the same search's answer alone."""
    from PySide6.QtTest import QTest

    for key in text[:-1]:
        started = view._query
        QTest.keyClick(view.search, key)
        turns.until(lambda started=started: view._query > started, OVER_MS, OVER_MS)
    before = shown[0]

    def answered() -> bool:
        listed = view.model.products[:100]
        return shown[0] > before and bool(listed) and all(text in p.name for p in listed)

    QTest.keyClick(view.search, text[-1])
    answer = turns.until(answered)
    turns.until(lambda: not view.io.busy(), 0, 0)  # the superseded queries ended (at once, or at their end)
    before = shown[0]
    view.search.clear()
    turns.until(lambda: shown[0] > before and not view.io.busy(), 0, 0)
    before = shown[0]
    view.search.setText(text)  # the same search at once: one key, its query alone on the worker
    lone = turns.until(lambda: shown[0] > before)
    return {"answer_ms": answer * 1000, "lone_ms": lone * 1000, "over_ratio": answer / lone}


def _count_calls(obj: Any, name: str) -> list[int]:
    """Count the calls of ``obj.name`` (a bound method, wrapped on the instance)."""
    calls, method = [0], getattr(obj, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        calls[0] += 1
        return result

    setattr(obj, name, counted)
    return calls


def render(data: dict[str, Any], options: Options) -> str:
    rows = []
    for r in data["sizes"]:
        cells = [f"{r['products']:,}", r["query_ms"]]
        for step in STEPS:
            s = r["steps"][step]
            cells.append(f"{s['longest_ms']:.0f} / {s['answer_ms']:,.0f}")
        cells.append(r["worst_stall_ms"])
        rows.append(cells)
    table = md_table(["products", "listing query ms (worker)"] + [f"{s}: longest ms / answer ms" for s in STEPS]
                     + ["worst stall ms (any round)"], rows)
    over = md_table(["products", "typing over: answer ms", "the same search alone ms", "ratio"],
                    [[f"{r['products']:,}", *(r["steps"]["typing over"][k] for k in OVER_KEYS)] for r in data["sizes"]])
    note = "Typing over running searches, from the last key, against the same search typed alone in the same round:"
    return header("The Catalog tab at catalog sizes", data["machine"], options,
                  f"Each step: the longest stretch of the window's thread (a {data['tick_ms']} ms timer's longest "
                  f"gap) / the time until its answer was on screen; medians of {data['repeats']} rounds, each on "
                  "a fresh view.") + f"\n{table}\n\n{note}\n\n{over}\n"


if __name__ == "__main__":
    from bench.runner import standalone

    raise SystemExit(standalone("catalog"))
