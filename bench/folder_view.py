"""Opening a folder of many photos in the real main window: how soon is its first photo shown, how soon is
the whole folder in the Photos strip, does the window keep answering, and what does it hold?

For each size N, a folder of N photos is made (hard links of the dataset's room photos, symbolic links
where the file system refuses; distinct names, one in ten in ten subfolders, as a merchandiser's shoot
has them) and opened with ``open_paths`` (what File ▸ Open Folder and a drop call) in the main window of
``app.main.open_window`` over a data dir of its own, offscreen at 1360 × 860, models loaded first. A 5 ms
timer counts the turns of the event loop: the longest gap is the longest stretch of work on the window's
thread (a freeze, when over about 100 ms). Measured, from the call:

- ``shown``: the first photo shown (the controller's ``photoShown``), and how many rows the strip held then;
- ``listed``: the strip holding all N rows (what the user can step through);
- ``longest``: the longest stretch until the photo is searched and the folder listed, and 300 ms after;
- RSS before the call and once that settled.

References measured in the same run, each round: the same window opening a folder of one photo (a link to
the same room photo the big folder opens on: the time to show a photo when the folder costs nothing, and
its longest stretch), and ``app.scene_files.scene_files`` listing the big folder in this process with
no window (the listing's own cost). Ratios: shown / the one-photo folder's shown; listed / the bare listing.

    python -m bench.folder_view [--sizes 5000,20000] [--quick] [--workdir DIR] [--no-write]

``decorlens bench folder`` runs it too. The folders and the data dir go into a temporary folder (under
``--workdir`` when given), removed at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Options, header, machine_info, md_table, median, qt_app, write_report
from bench.event_turns import TICK_MS, Turns
from bench.session_memory import rss_mb

SIZES = (5_000, 20_000)
QUICK_SIZES = (5_000,)
LIMIT_S = 300.0
WINDOW = (1360, 860)
NESTED = 10  # one photo in this many goes into a subfolder


def run(pipeline: Any, options: Options) -> dict[str, Any]:
    app = qt_app("folder")
    machine = machine_info()
    scenes = sorted((options.dataset / "scenes").glob("*.jpg"))
    if not scenes:
        from engine.errors import DecorLensError

        raise DecorLensError(f"bench folder needs room photos in {options.dataset / 'scenes'}")
    repeats = options.repeats or (1 if options.quick else 3)
    sizes = options.sizes or (QUICK_SIZES if options.quick else SIZES)
    models_dir = pipeline.settings.models_dir if pipeline is not None else None
    work = Path(tempfile.mkdtemp(prefix="decorlens-bench-folder-", dir=options.workdir))
    try:
        window = _open_window(app, work / "data", models_dir)
        rows, links = [], ""
        for size in sizes:
            rounds = []
            for r in range(repeats):
                folder = work / f"photos-{size}-{r}"
                links = make_folder(folder, size, scenes)
                rounds.append(_round(window, folder, size, scenes, work / f"one-{size}-{r}"))
                shutil.rmtree(folder)
            rows.append(_summary(size, rounds))
            options.log(f"folder of {size:,}: " + ", ".join(f"{k} {v:.3g}" for k, v in rows[-1].items()
                                                            if k != "rounds"))
        window.close()
        window.pipeline.close()
        window.settings.store.sync()  # what closing saved (its size and place) written now, not into a deleted folder
    finally:
        shutil.rmtree(work, ignore_errors=True)
    data = {"benchmark": "folder_view", "mode": options.mode, "machine": machine,
            "repeats": repeats, "window": WINDOW, "tick_ms": TICK_MS, "links": links, "sizes": rows}
    write_report(options, "folder-view", data, render(data, options))
    return data


def make_folder(folder: Path, size: int, scenes: list[Path]) -> str:
    """``size`` links to ``scenes`` in turn under ``folder`` (one in ``NESTED`` in a subfolder); returns which
    kind of link: "hard", or "symbolic" where the file system refuses hard links to the dataset."""
    folder.mkdir(parents=True)
    for sub in range(NESTED):
        (folder / f"set-{sub}").mkdir()
    kind = "hard"
    for i in range(size):
        parent = folder / f"set-{i % NESTED}" if i % NESTED == NESTED - 1 else folder
        target, link = scenes[i % len(scenes)], parent / f"room-{i:06d}.jpg"
        if kind == "hard":
            try:
                os.link(target, link)
                continue
            except OSError:
                kind = "symbolic"
        os.symlink(target, link)
    return kind


def _open_window(app: Any, data_dir: Path, models_dir: Path | None) -> Any:
    """The main window as ``decorlens gui`` opens it, once its models loaded."""
    from app.main import freeze_startup_objects, open_window

    _app, window = open_window(data_dir, models_dir)
    window.resize(*WINDOW)
    freeze_startup_objects()
    Turns(LIMIT_S).until(lambda: window.engine_info is not None)
    return window


def _round(window: Any, folder: Path, size: int, scenes: list[Path], one: Path) -> dict[str, Any]:
    """The one-photo folder (the reference), then the big folder, in the same window; then the bare listing."""
    from app.scene_files import scene_files

    first = scene_files([folder])[0]
    one.mkdir()
    os.symlink(first.resolve(), one / first.name)
    reference = _open(window, one, 1)
    measured = _open(window, folder, size)
    start = time.perf_counter()
    listed = scene_files([folder])
    bare_s = time.perf_counter() - start
    if len(listed) != size or listed[0] != first:
        raise RuntimeError(f"the listing of {folder} changed under the bench")
    return {**measured, "bare_listing_s": bare_s, "reference_shown_s": reference["shown_s"],
            "reference_longest_ms": reference["longest_ms"]}


def _open(window: Any, folder: Path, size: int) -> dict[str, Any]:
    """Open ``folder`` in ``window`` and wait until its first photo is searched and all ``size`` rows listed."""
    controller, strip, turns = window.controller, window.photo_list, Turns(LIMIT_S)
    turns.until(lambda: not controller._running)
    turns.longest = 0.0
    shown: dict[str, Any] = {}

    def on_shown(_image: object) -> None:
        if not shown:
            shown.update(at=time.perf_counter(), rows=strip.count())

    def listed() -> bool:
        return strip.count() == size and strip.photos[:1] == [controller.path]

    controller.photoShown.connect(on_shown)
    rss_before = rss_mb()
    start = time.perf_counter()
    window.open_paths([folder])
    listed_s = time.perf_counter() - start + turns.until(listed, settle_ms=0)
    turns.until(lambda: bool(shown) and controller.scene is not None and not controller._running)
    controller.photoShown.disconnect(on_shown)
    return {"shown_s": shown["at"] - start, "rows_when_shown": shown["rows"], "listed_s": listed_s,
            "longest_ms": turns.longest * 1000, "rss_before_mb": rss_before, "rss_after_mb": rss_mb()}


def _summary(size: int, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str) -> float:
        return median([r[key] for r in rounds])

    return {"photos": size, "shown_s": med("shown_s"), "reference_shown_s": med("reference_shown_s"),
            "shown_ratio": median([r["shown_s"] / r["reference_shown_s"] for r in rounds]),
            "rows_when_shown": med("rows_when_shown"), "listed_s": med("listed_s"),
            "bare_listing_s": med("bare_listing_s"),
            "listed_ratio": median([r["listed_s"] / r["bare_listing_s"] for r in rounds]),
            "longest_ms": max(r["longest_ms"] for r in rounds), "reference_longest_ms": med("reference_longest_ms"),
            "rss_before_mb": med("rss_before_mb"), "rss_after_mb": med("rss_after_mb"), "rounds": rounds}


def render(data: dict[str, Any], options: Options) -> str:
    rows = [[f"{r['photos']:,}", f"{r['shown_s']:.2f} / {r['reference_shown_s']:.2f} = {r['shown_ratio']:.2f}×",
             f"{r['rows_when_shown']:,.0f}", f"{r['listed_s']:.2f} / {r['bare_listing_s']:.2f} = {r['listed_ratio']:.1f}×",
             f"{r['longest_ms']:.0f} / {r['reference_longest_ms']:.0f}", f"{r['rss_before_mb']:,.0f} → {r['rss_after_mb']:,.0f}"]
            for r in data["sizes"]]
    table = md_table(["photos", "first photo shown s / one-photo folder s", "rows when shown",
                      "all listed in the strip s / bare listing s", "longest stretch ms / one-photo folder ms",
                      "RSS MB before → after"], rows)
    return header("Opening a folder of many photos in the main window", data["machine"], options,
                  f"Medians of {data['repeats']} rounds (longest stretch: the worst round), {data['links']} links; "
                  f"the references are measured in the same window in each round.") + "\n" + table + "\n"


if __name__ == "__main__":
    from bench.runner import standalone

    raise SystemExit(standalone("folder"))
