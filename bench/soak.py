"""A shop's day with the window left open: does anything the app holds grow without levelling off?

Retail staff leave DecorLens open all day. This walks the real main window (Qt's offscreen platform) over a copy of
a data dir as they use it: photo after photo opened (``open_photo``, as a click on the Photos strip does; the
dataset's scenes over and over), every pin hovered, one clicked, its matches listed in the whole catalog too (the
*Any category* scope) and its first match chosen; every ``--tabs`` photos that match is confirmed (an edit, saved;
the photo's edits are restored when it comes round again) and the Catalog and Map tabs are shown, then the Room photo
tab again. Every ``--every`` photos it records, besides ``bench.session_memory``'s counts (RSS, Python
objects, widgets, thumbnails, SQLite, open files): Python's and the OS's threads, each thread pool's threads and the
Runners' tasks in flight, the QObjects the application owns (every Runner's pool and signal bridge is one), and the
scene memory's photos and objects.

Reported: each count at the first and every ``--every``-th photo, and its slope over the last half (per 100
photos, least squares), near 0 once it has levelled off.

    python -m bench.soak --data-dir DIR [--photos 200] [--every 25] [--tabs 10] [--json OUT]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import default_dataset, load_average
from bench.session_memory import counts, slopes_per_100, wait, wait_until, window_on_copy

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PHOTO_TAB, CATALOG_TAB, MAP_TAB = 0, 1, 2
STEP_S = 60.0  # a photo's search, a scope's listing: at most this long on a loaded 2-core machine


def soak_counts(window: Any) -> dict[str, Any]:
    """``bench.session_memory.counts`` and what a long session's threads, pools and scene memory hold."""
    from PySide6.QtCore import QCoreApplication, QThreadPool

    from engine.scene_memory import photo_count

    app = QCoreApplication.instance()
    pools = app.findChildren(QThreadPool)
    runners = (window.engine, window.io, window.saver, window.thumb_loader, window.controller.memory)
    catalog = window.pipeline.catalog
    objects = catalog.db.execute("SELECT count(*) FROM scene_objects").fetchone()[0]
    return {
        **counts(window),
        "py_threads": threading.active_count(),
        "os_threads": len(os.listdir("/proc/self/task")),
        "pools": len(pools),
        "pool_threads": sum(pool.activeThreadCount() for pool in pools),
        "tasks_in_flight": sum(len(r._tasks) for r in runners),
        "app_children": len(app.children()),
        "memory_photos": photo_count(catalog),
        "memory_objects": objects,
    }


def visit(window: Any, path: Path, tabs: bool) -> bool:
    """Open ``path`` as the strip does, hover its pins, click the first, list its matches in any category and
    choose the first; with ``tabs``, show the Catalog and Map tabs and come back."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    controller, view, panel = window.controller, window.view, window.panel
    window.open_photo(path)
    if not wait_until(lambda: controller.path == path and controller.scene is not None and not controller._running,
                      STEP_S):
        return False
    viewport = view.viewport()
    for number in sorted(view.pins):
        QTest.mouseMove(viewport, view.mapFromScene(view.pins[number].pos()))
        wait(10)
    if view.pins:
        first = min(view.pins)
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=view.mapFromScene(view.pins[first].pos()))
        wait_until(lambda: panel.number == first and bool(panel.rows), STEP_S)
        QTest.mouseClick(panel.any, Qt.MouseButton.LeftButton)
        wait_until(lambda: not controller._running and bool(panel.rows), STEP_S)
        if panel.rows:
            QTest.mouseClick(panel.rows[0], Qt.MouseButton.LeftButton)
            if tabs and not controller.scene.tag(first).confirmed:  # an edit: saved, and restored when it opens again
                controller.confirm(first, panel.rows[0].match)
        wait_until(lambda: not panel.thumbnails._pending and not window.saver.busy(), STEP_S)
    if tabs:
        for tab in (CATALOG_TAB, MAP_TAB, PHOTO_TAB):
            window.tabs.setCurrentIndex(tab)
            wait(300)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a data dir, the IKEA catalog imported")
    parser.add_argument("--scenes", type=Path, default=None, help="a folder of room photos (default: the dataset's)")
    parser.add_argument("--photos", type=int, default=200, help="how many photos to open (the scenes repeat)")
    parser.add_argument("--every", type=int, default=25, help="record and print every this many photos")
    parser.add_argument("--tabs", type=int, default=10, help="show the Catalog and Map tabs every this many photos")
    parser.add_argument("--json", type=Path, default=None, help="write the recorded rows here")
    args = parser.parse_args(argv)
    scenes = sorted((args.scenes or default_dataset() / "scenes").glob("*.jpg"))

    with window_on_copy(args.data_dir, "decorlens-soak-") as window:
        if not wait_until(lambda: window.engine_info is not None, 120):
            print("the models never loaded", file=sys.stderr)
            return 1
        load, start, rows = load_average(), time.perf_counter(), []
        for n in range(args.photos):
            path = scenes[n % len(scenes)]
            if not visit(window, path, tabs=(n + 1) % args.tabs == 0):
                print(f"photo {n + 1} ({path.name}) never finished", file=sys.stderr)
                return 1
            if n == 0 or (n + 1) % args.every == 0 or n + 1 == args.photos:
                gc.collect()
                row = {"photo": n + 1, "seconds": round(time.perf_counter() - start), **soak_counts(window)}
                rows.append(row)
                print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        per_100 = slopes_per_100(rows, [k for k, v in rows[0].items()
                                        if k not in ("photo", "seconds") and isinstance(v, (int, float))])
        print(f"\n{args.photos} photos in {rows[-1]['seconds']} s; load average {load} at the start, {load_average()} after")
        print("slope over the last half, per 100 photos: " + ", ".join(f"{k} {v:+}" for k, v in per_100.items()))
        if args.json:
            args.json.write_text(json.dumps({"photos": args.photos, "slope_per_100": per_100, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
