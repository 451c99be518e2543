"""The Map tab at catalog sizes: does the window keep answering while a big map opens, zooms and fills in?

For each size, a map of that many products (seeded random places; the dataset's product photos reused in
turn under other names, so that each product's thumbnail is decoded by itself, as the app decodes them)
is shown on one ``MapCanvas`` on Qt's offscreen platform, and the event loop runs until every thumbnail
is placed. Measured: the products' arrays made as the Map tab's worker makes them (``map_layout``, off the
window's thread), the ``show_map`` call itself (the window's thread), the items it put in the scene, the
median time to find the product under the mouse (``MapCanvas._hover`` at 40 places), the first turn of
the event loop after it (the new map's first paint), the longest any later turn took (a 5 ms timer
counts the turns) while the tiles' frames were drawn and the thumbnails arrived, and one repaint of the whole map and of a zoomed-in part. The reference, in the same
run and on the same canvas, is the whole map painted tile by tile (``MapPoint.draw`` for every product,
onto an image the view's size), which is what a paint per product cost before the map became one
picture, less Qt's dispatch of one Python ``paint`` per item: the ratio understates the gain over the
old canvas.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.common import Dataset, Options, header, machine_info, md_table, median, qt_app, write_report

SIZES = (2_000, 20_000, 50_000)
QUICK_SIZES = (2_000, 20_000)
ZOOM = 8.0  # the zoomed-in repaint: eight times the whole map's scale
TICK_MS = 5
CHECK_EVERY = 40
MAX_TURNS = 1_000  # times the photos are taken again under longer names (``_another_name``): paths stay short


def run(_pipeline: Any, options: Options) -> dict[str, Any]:
    app = qt_app("map")
    photos = [str(options.dataset / row["image"]) for row in Dataset(options.dataset).products]
    repeats = options.repeats or (1 if options.quick else 3)
    sizes = options.sizes or (QUICK_SIZES if options.quick else SIZES)
    rows = [_measure(app, size, photos, repeats, options) for size in sizes]
    data = {"benchmark": "map_view", "mode": options.mode, "machine": machine_info(),
            "repeats": repeats, "zoom": ZOOM, "sizes": rows}
    write_report(options, "map-view", data, render(data, options))
    return data


def _measure(app: Any, size: int, photos: list[str], repeats: int, options: Options) -> dict[str, Any]:
    from app.thumbnails import Thumbnails
    from app.widgets.map_canvas import MapCanvas, map_layout
    from app.workers import Runner

    runner = Runner(2, app)
    canvas = MapCanvas(Thumbnails(runner))
    canvas.resize(1200, 800)
    canvas.show()
    result, products = _synthetic_map(size, photos)
    start = time.perf_counter()
    prepared = map_layout(result, products)
    layout_s = time.perf_counter() - start
    start = time.perf_counter()
    canvas.show_map(result, products, prepared)
    show_s = time.perf_counter() - start
    items = len(canvas.scene().items())
    first_s, stall_s, fill_s = _run_until(lambda: not canvas.placing())
    hover = _hover(canvas)
    whole = median([_repaint(app, canvas) for _ in range(repeats)])
    tiles = median([_tile_by_tile(canvas) for _ in range(repeats)])
    canvas.scale(ZOOM, ZOOM)
    zoomed = median([_repaint(app, canvas) for _ in range(repeats)])
    canvas.close()
    runner.shutdown()
    row = {"products": size, "layout_ms": layout_s * 1000, "show_ms": show_s * 1000, "scene_items": items,
           "hover_ms": hover * 1000, "first_turn_ms": first_s * 1000, "longest_stall_ms": stall_s * 1000,
           "thumbnails_placed_s": fill_s, "whole_repaint_ms": whole * 1000, "tile_by_tile_ms": tiles * 1000,
           "zoomed_repaint_ms": zoomed * 1000, "speedup_whole": tiles / whole}
    options.log(f"map of {size}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items() if k != "products"))
    return row


def _synthetic_map(size: int, photos: list[str]) -> tuple[Any, dict[int, Any]]:
    from engine.catalog_map import CatalogMap

    rng = np.random.default_rng(0)
    ids = np.arange(1, size + 1)
    products = {int(i): bench_product(int(i), photos) for i in ids}
    return CatalogMap("bench", "bench", 0, ids, rng.random((size, 2)).astype(np.float32)), products


def bench_product(i: int, photos: list[str]) -> Any:
    """Product ``i`` (from 1) of a synthetic catalog: the map bench's and the catalog tab bench's (bench.catalog_view)."""
    from engine.catalog import Product

    return Product(sku=f"B{i}", name=f"bench {i}", category=("sofa", "lamp", "rug")[i % 3],
                   image_path=_another_name(photos, i), id=i)


def _another_name(photos: list[str], i: int) -> str:
    """The photos in turn, each turn under other names (``dir/./photo``, ``dir/././photo``...): every
    product's thumbnail is asked for and decoded by itself, as a catalog of that size would have it."""
    turn = i // len(photos)
    if turn > MAX_TURNS:  # each turn's paths one "/." longer: a single photo gave 200,000 products a 32 GB log
        raise ValueError(f"product {i:,} needs more photos than {len(photos):,}: give at least "
                         f"{i // MAX_TURNS:,}, or fewer products")
    folder, name = os.path.split(photos[i % len(photos)])
    return os.path.join(folder + "/." * turn, name)


def _run_until(finished: Callable[[], bool], limit_s: float = 600.0) -> tuple[float, float, float]:
    """Turn the event loop until ``finished()`` (asked every ``CHECK_EVERY`` turns: asking costs a turn's
    time on a big map): the first turn (the first paint of the new map), the longest gap between the
    turns after it, and how long it all took."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop, gaps, last = QEventLoop(), [0.0], [time.perf_counter()]
    start = last[0]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now
        if len(gaps) % CHECK_EVERY == 0 and (finished() or now - start > limit_s):
            loop.quit()

    timer = QTimer(interval=TICK_MS, timeout=tick)
    timer.start()
    loop.exec()
    timer.stop()
    return gaps[1], max(gaps[2:], default=0.0), time.perf_counter() - start


def _hover(canvas: Any) -> float:
    """The median time to find the product under the mouse (and show its card) at 40 seeded places."""
    from PySide6.QtCore import QPoint

    rng, times = np.random.default_rng(1), []
    size = canvas.viewport().size()
    for x, y in rng.integers((0, 0), (size.width(), size.height()), (40, 2)).tolist():
        start = time.perf_counter()
        canvas._hover(QPoint(x, y))
        times.append(time.perf_counter() - start)
    canvas._hover(None)
    return median(times)


def _repaint(app: Any, canvas: Any) -> float:
    app.processEvents()
    start = time.perf_counter()
    canvas.viewport().repaint()
    return time.perf_counter() - start


def _tile_by_tile(canvas: Any) -> float:
    """The reference: every tile of the map painted by itself, as the view shows them, onto an image."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(canvas.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
    points = list(canvas.points.values())  # views of the map's rows, made before the clock starts
    start = time.perf_counter()
    painter = QPainter(image)
    painter.setRenderHints(canvas.renderHints())
    painter.setTransform(canvas.viewportTransform())
    for point in points:
        point.draw(painter, canvas.thumbnails.get(point.product.image_path))
    painter.end()
    return time.perf_counter() - start


def render(data: dict[str, Any], options: Options) -> str:
    rows = [[f"{r['products']:,}", r["layout_ms"], r["show_ms"], f"{r['scene_items']:,}", r["hover_ms"],
             r["first_turn_ms"], r["longest_stall_ms"],
             r["thumbnails_placed_s"], r["whole_repaint_ms"], r["tile_by_tile_ms"], f"{r['speedup_whole']:.0f}×",
             r["zoomed_repaint_ms"]]
            for r in data["sizes"]]
    table = md_table(["products", "arrays (worker) ms", "show_map ms", "scene items", "hover ms", "first paint ms", "longest stall after ms", "thumbnails placed s",
                      "whole map repaint ms",
                      "tile by tile ms (reference)", "ratio", f"zoomed ×{data['zoom']:g} repaint ms"], rows)
    return header("The Map tab at catalog sizes", data["machine"], options,
                  f"Repaints: the median of {data['repeats']}; one show per size. The dataset's product photos "
                  "are reused in turn, each product's decoded by itself.") + "\n" + table + "\n"


if __name__ == "__main__":
    from bench.runner import standalone

    raise SystemExit(standalone("map"))
