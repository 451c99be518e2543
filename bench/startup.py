"""Start-up: from launching a process to a usable window, and to the first tags on a dropped photo.

Each measurement is a fresh Python process started from here; its clock starts when we launch it
(the parent passes ``time.time()``), so interpreter start and imports count. The file cache is warm
(every run after the first reads the same files), which is what a user sees on the second launch.

- GUI: ``app.main``'s own steps (QApplication, Pipeline, MainWindow, show) on Qt's offscreen
  platform, with the user's settings redirected to a temp dir; "usable window" is the first event-loop
  turn after ``show()``; the photo is dropped then (``open_paths``, as the drop handler calls it) and
  "first tags" is the controller's ``sceneChanged``. A second photo dropped once the engine is warm
  gives the drop → tags time on its own.
- Engine (no GUI): import, model load, catalog and index open, first scene, second scene.
- Reference: the same for the torch/ultralytics reference pipeline (``bench.reference``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench.common import ROOT, Options, Workspace, header, machine_info, md_table, median, write_report

PRELUDE = """
import json, os, sys, time
T0 = float(sys.argv[1])
marks = {}
def mark(name):
    marks.setdefault(name, (time.time() - T0) * 1000.0)
def done():
    print("BENCH-MARKS " + json.dumps(marks), flush=True)
"""

ENGINE_CHILD = PRELUDE + """
mark("interpreter")
from engine.pipeline import Pipeline
from engine.settings import Settings
from pathlib import Path
mark("imported")
pipe = Pipeline(Settings.defaults().with_(data_dir=Path(sys.argv[2])))
pipe.detector; pipe.embedder
mark("models_loaded")
pipe.index_for(pipe.embedder).sync(pipe.catalog)
mark("catalog_open")
first = pipe.search_scene(sys.argv[3])
mark("first_tags")
t = time.time(); pipe.search_scene(sys.argv[4]); marks["second_scene_ms"] = (time.time() - t) * 1000.0
marks["objects"] = len(first.objects)
done()
"""

REFERENCE_CHILD = PRELUDE + """
mark("interpreter")
sys.path.insert(0, sys.argv[5])
from bench.common import Options, Workspace
from bench.reference import ReferencePipeline
from engine.pipeline import Pipeline
from engine.settings import Settings
from pathlib import Path
import torch, ultralytics, torchvision
mark("imported")
options = Options(workdir=Path(sys.argv[2]).parent, log=lambda m: None)
workspace = Workspace(Pipeline(Settings.defaults()), options)
ref = ReferencePipeline(workspace)
mark("models_loaded")
mark("catalog_open")
first = ref.search_scene(Path(sys.argv[3]))
mark("first_tags")
t = time.time(); ref.search_scene(Path(sys.argv[4])); marks["second_scene_ms"] = (time.time() - t) * 1000.0
marks["objects"] = len(first.objects)
done()
"""

GUI_CHILD = PRELUDE + """
mark("interpreter")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from pathlib import Path
from PySide6.QtCore import QTimer
from app.main import application
from app.main_window import MainWindow
from app.settings import AppSettings
from engine.pipeline import Pipeline
mark("imported")
app = application()
settings = AppSettings()
pipeline = Pipeline(settings.engine_settings(sys.argv[2]))
window = MainWindow(pipeline, settings)
window.show()
mark("shown")
photos = [Path(sys.argv[3]), Path(sys.argv[4])]
state = {"t2": None}
def usable():
    mark("usable_window")
    window.open_paths([photos[0]])  # what the drop handler calls
def scene_changed():
    if "first_tags" not in marks:
        mark("first_tags")
        marks["objects"] = len(window.controller.scene.visible)
        QTimer.singleShot(0, second)
    elif state["t2"] is not None:
        marks["second_drop_ms"] = (time.time() - state["t2"]) * 1000.0
        done()
        app.quit()
def second():
    state["t2"] = time.time()
    window.open_paths([photos[1]])
def engine_ready():
    if window.engine_info is not None:
        mark("models_loaded")
    else:
        QTimer.singleShot(5, engine_ready)
window.controller.sceneChanged.connect(scene_changed)
QTimer.singleShot(0, usable)
QTimer.singleShot(0, engine_ready)
QTimer.singleShot(300_000, lambda: (done(), app.quit()))
app.exec()
"""


def run_child(script: str, args: list[str], env: dict[str, str], timeout: float = 600) -> dict[str, Any]:
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", script, repr(start), *args],
        check=False, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH-MARKS "):
            marks = json.loads(line.split(" ", 1)[1])
            marks["process_ms"] = (time.time() - start) * 1000.0
            return marks
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    raise RuntimeError(f"start-up child failed (rc {proc.returncode}): " + " | ".join(tail))


def run(pipeline: Any, options: Options) -> dict[str, Any]:
    machine = machine_info()
    workspace = Workspace(pipeline, options)
    workspace.ensure_catalog()
    scenes = sorted(row["scene_id"] for row in workspace.dataset.scenes)
    photos = [str(workspace.dataset.scene_path(scenes[0])), str(workspace.dataset.scene_path(scenes[1]))]
    data_dir = str(workspace.data)
    repeats = 1 if options.quick else 3
    home = tempfile.mkdtemp(prefix="decorlens-startup-")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["XDG_CONFIG_HOME"] = home  # QSettings of the GUI child: not the user's
    env["DECORLENS_DATA_DIR"] = data_dir
    if pipeline.settings.models_dir:
        env["DECORLENS_MODELS_DIR"] = str(pipeline.settings.models_dir)
    # ReferencePipeline needs its cached catalog vectors: build them here, not inside a timed child
    from bench.reference import ReferencePipeline

    ReferencePipeline(workspace, pipeline.settings.device)

    kinds = {"engine": ENGINE_CHILD, "reference": REFERENCE_CHILD}
    gui_note = None
    try:
        import PySide6  # noqa: F401

        import app.main  # noqa: F401
        kinds["gui"] = GUI_CHILD
    except ImportError as exc:
        gui_note = f"GUI not measured: {exc}"
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    errors = []
    try:
        for r in range(repeats):
            for kind, script in kinds.items():
                try:
                    runs[kind].append(run_child(script, [data_dir, *photos, str(ROOT)], env))
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    errors.append(f"{kind} run {r + 1}: {exc}")
                    options.log(errors[-1])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    summary = {
        kind: {key: median([m[key] for m in items if key in m])
               for key in sorted({k for m in items for k in m})}
        for kind, items in runs.items() if items
    }
    data = {
        "benchmark": "startup",
        "mode": options.mode,
        "machine": machine,
        "repeats": repeats,
        "photos": photos,
        "summary": summary,
        "runs": runs,
        "errors": errors,
        "gui_note": gui_note,
    }
    if "engine" in summary and "reference" in summary:
        data["speedup_vs_reference_first_tags"] = summary["reference"]["first_tags"] / summary["engine"]["first_tags"]
    write_report(options, "startup", data, render(data, options))
    return data


def render(data: dict[str, Any], options: Options) -> str:
    s = data["summary"]
    keys = [("interpreter", "interpreter up"), ("imported", "imports done"), ("usable_window", "usable window"),
            ("models_loaded", "models loaded"), ("catalog_open", "catalog + index open"),
            ("first_tags", "first tags on the photo"), ("second_drop_ms", "next photo: drop → tags"),
            ("second_scene_ms", "next photo: scene (warm)"), ("process_ms", "process exit")]
    kinds = [k for k in ("gui", "engine", "reference") if k in s]
    names = {"gui": "GUI (app.main, offscreen)", "engine": "engine (no GUI)", "reference": "reference (torch)"}
    rows = [[label, *(s[k].get(key) for k in kinds)] for key, label in keys if any(key in s[k] for k in kinds)]
    lines = [
        header("Start-up: launch → usable window → first tags", data["machine"], options),
        (f"ms since the process was launched (median of {data['repeats']}); warm file cache. "
        "The photo is dropped as soon as the window is usable; models load in the background meanwhile."),
        "",
        md_table(["milestone (ms from launch)", *(names[k] for k in kinds)], rows),
    ]
    if "speedup_vs_reference_first_tags" in data:
        lines += ["", (f"Launch → first tags: engine {s['engine']['first_tags']:.0f} ms vs reference "
                      f"{s['reference']['first_tags']:.0f} ms ({data['speedup_vs_reference_first_tags']:.2f}×).")]
    if data.get("gui_note"):
        lines += ["", data["gui_note"]]
    if data["errors"]:
        lines += ["", "Errors:", *(f"- {e}" for e in data["errors"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from bench.runner import standalone

    return standalone("startup", argv)


if __name__ == "__main__":
    sys.exit(main())
