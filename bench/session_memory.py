"""A day of stepping through a folder: does the window's memory level off as photo after photo is opened?

A merchandiser opens a folder (File ▸ Open Folder) and goes through it with Page Down on the Photos strip,
hovering pins and clicking one on each photo so the results panel fills in with its products' pictures.
This runs that on the real main window (Qt's offscreen platform) over a copy of a data dir, photo after
photo, and after each one records the process's RSS, Python's live objects (``gc.get_objects``), Qt's
widgets, and what the app caches: product thumbnails (count and bytes, ``app.thumbnails``), the scene's
graphics items, the controller's per-photo searches and undo stack, the catalog's SQLite connections, the
heap SQLite holds and the process's open files.

Reported: RSS after the first photo and after every ``--every``, and the slope over the last half of the
photos (MB per 100 photos, least squares), which is near 0 when memory has levelled off. ``--pause S``
waits S seconds every ``--pause-every`` photos, as a person does: Qt's worker threads expire after 30 s
idle, and a search after that runs on a new thread.

The data dir is copied into a temporary folder first (the scene memory and settings it writes go there).

    python -m bench.session_memory --data-dir DIR [--scenes …/ikea_interior/scenes] [--photos 60]
        [--every 10] [--pause 0 --pause-every 10] [--json OUT]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import default_dataset, load_average

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PAGE = 4096


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def sqlite_mb() -> float | None:
    """The heap SQLite holds for all its connections (page caches, prepared statements), if it can be read."""
    try:
        import _sqlite3
        import ctypes

        used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
        used.restype = ctypes.c_int64
        return round(used() / 1e6, 1)
    except (ImportError, OSError, AttributeError):
        return None


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (photo, value) pairs, per photo."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def wait(ms: int) -> None:
    """Run the event loop for ``ms`` (QTest.qWait would hold the GIL from the workers)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(ms), loop.quit)
    loop.exec()


def wait_until(condition: Any, timeout_s: float = 120.0, step_ms: int = 50) -> bool:
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        QApplication.processEvents()
        if condition():
            return True
        wait(step_ms)
    return False


@contextmanager
def window_on_copy(data_dir: Path, prefix: str) -> Iterator[Any]:
    """The main window over a copy of ``data_dir`` (its bench caches left out), closed with its pipeline after:
    the scene memory and settings a run writes go into the copy, not into the user's data dir."""
    from app.main import open_window

    with tempfile.TemporaryDirectory(prefix=prefix) as work:
        data = Path(work) / "data"
        shutil.copytree(data_dir, data, ignore=shutil.ignore_patterns("bench"))
        _app, window = open_window(data)
        window.resize(1360, 860)
        try:
            yield window
        finally:
            window.close()
            window.pipeline.close()


def slopes_per_100(rows: list[dict[str, Any]], keys: Iterable[str]) -> dict[str, float]:
    """Each count's least-squares slope over the last half of ``rows``, per 100 photos: near 0 once it levels off.
    A count that could not be read on some row (``sqlite_mb`` on a build without the symbol) is left out."""
    half = rows[len(rows) // 2:]
    return {k: round(slope([(r["photo"], r[k]) for r in half]) * 100, 1)
            for k in keys if all(r[k] is not None for r in half)}


def counts(window: Any) -> dict[str, Any]:
    """What the window and the app keep, now."""
    from PySide6.QtWidgets import QApplication

    thumbs = window.panel.thumbnails
    controller = window.controller
    catalog = window.pipeline.catalog
    return {
        "rss_mb": round(rss_mb(), 1),
        "py_objects": len(gc.get_objects()),
        "widgets": len(QApplication.allWidgets()),
        "thumbnails": len(thumbs._cache),
        "thumbnail_mb": round(thumbs._bytes / 1e6, 1),
        "thumbnails_pending": len(thumbs._pending),
        "scene_items": len(window.view.scene().items()),
        "panel_rows": len(window.panel.rows),
        "undo": controller.undo.count(),
        "any_searches": len(controller._any),
        "checked": len(controller._checked),
        "sqlite_connections": len(getattr(catalog, "_connections", ())),
        "sqlite_mb": sqlite_mb(),
        "open_files": len(os.listdir("/proc/self/fd")),
    }


def top_types(before: Counter[str], after: Counter[str], n: int = 12) -> list[tuple[str, int]]:
    grown = after.copy()
    grown.subtract(before)
    return [(name, d) for name, d in grown.most_common(n) if d > 0]


def type_counts() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


def visit(window: Any, path: Path, timeout_s: float) -> bool:
    """Wait for ``path``'s tags, hover every pin, click the first and wait for the panel's pictures."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    controller, view = window.controller, window.view
    if not wait_until(lambda: controller.path == path and controller.scene is not None and not controller._running,
                      timeout_s):
        return False
    wait_until(lambda: bool(view.pins), 10)
    viewport = view.viewport()
    for number in sorted(view.pins):
        QTest.mouseMove(viewport, view.mapFromScene(view.pins[number].pos()))
        wait(20)
    if view.pins:
        first = min(view.pins)
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=view.mapFromScene(view.pins[first].pos()))
        panel, thumbs = window.panel, window.panel.thumbnails
        wait_until(lambda: panel.number == first and bool(panel.rows), 30)
        wait_until(lambda: not thumbs._pending, 30)
        wait(50)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.session_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a data dir, the IKEA catalog imported")
    parser.add_argument("--scenes", type=Path, default=None, help="a folder of room photos (default: the dataset's)")
    parser.add_argument("--photos", type=int, default=60, help="how many photos to step through")
    parser.add_argument("--every", type=int, default=10, help="print a line every this many photos")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds idle every --pause-every photos")
    parser.add_argument("--pause-every", type=int, default=10)
    parser.add_argument("--types", action="store_true", help="also list the Python types that grew most")
    parser.add_argument("--json", type=Path, default=None, help="write every photo's counts here")
    args = parser.parse_args(argv)
    scenes = args.scenes or default_dataset() / "scenes"

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    with window_on_copy(args.data_dir, "decorlens-session-memory-") as window:
        load = load_average()
        window.open_paths([scenes])
        if not wait_until(lambda: bool(window.photo_list.photos), 60):
            print("the folder's photos never listed", file=sys.stderr)
            return 1
        photos = window.photo_list.photos
        total = min(args.photos, len(photos))
        rows: list[dict[str, Any]] = []
        types_half: Counter[str] | None = None
        start = time.perf_counter()
        for n in range(total):
            if not visit(window, photos[n], 60):
                print(f"photo {n + 1} ({photos[n].name}) never finished", file=sys.stderr)
                return 1
            gc.collect()
            row = {"photo": n + 1, "name": photos[n].name, "seconds": round(time.perf_counter() - start, 1),
                   **counts(window)}
            rows.append(row)
            if args.types and n + 1 == total // 2:
                types_half = type_counts()
            if n == 0 or (n + 1) % args.every == 0 or n + 1 == total:
                print(" ".join(f"{k}={v}" for k, v in row.items() if k != "name"), flush=True)
            if args.pause and (n + 1) % args.pause_every == 0 and n + 1 < total:
                wait(int(args.pause * 1000))
            if n + 1 < total:  # Page Down with the keyboard on the Photos strip, as a person steps through
                window.photo_list.setFocus(Qt.FocusReason.OtherFocusReason)
                QTest.keyClick(window.photo_list, Qt.Key.Key_PageDown)
        half = rows[len(rows) // 2:]
        per_100 = slopes_per_100(rows, ("rss_mb", "py_objects", "widgets", "thumbnails", "thumbnail_mb",
                                        "sqlite_connections", "sqlite_mb", "open_files"))
        print(f"\n{total} photos in {rows[-1]['seconds']:.0f} s; load average {load} at the start, {load_average()} after")
        print(f"RSS {rows[0]['rss_mb']:.0f} MB after photo 1, {half[0]['rss_mb']:.0f} MB after photo {half[0]['photo']}, "
              f"{rows[-1]['rss_mb']:.0f} MB after photo {total}; peak {max(r['rss_mb'] for r in rows):.0f} MB")
        print("slope over the last half, per 100 photos: "
              + ", ".join(f"{k} {v:+.1f}" for k, v in per_100.items()))
        if types_half is not None:
            print("Python types grown over the last half:", top_types(types_half, type_counts()))
        if args.json:
            args.json.write_text(json.dumps({"photos": total, "slope_per_100": per_100, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
