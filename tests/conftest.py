"""Shared fixtures: the real models and the real IKEA data from ../shared, one catalog per session.

Every model the engine needs is ONNX in ../shared/models (the COCO detector too, written there by
`decorlens models export`), so no test needs torch to get a detector; only the tests of exporting
export. The whole session runs with a home folder of its own (see ``pytest_configure``).
"""

from __future__ import annotations

import csv
import gc
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from engine.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DECORLENS_SHARED", ROOT.parent / "shared"))
MODELS = SHARED / "models"
IKEA = SHARED / "datasets" / "ikea_interior"
COCO_ONNX = "yolo11n-ovint8-dq.onnx"
# Where programs put per-user files; the session points them all into a temp home.
HOME_VARIABLES = {
    "HOME": ".", "XDG_DATA_HOME": ".local/share", "XDG_CONFIG_HOME": ".config", "XDG_CACHE_HOME": ".cache",
    "YOLO_CONFIG_DIR": ".config/Ultralytics", "DECORLENS_DATA_DIR": ".local/share/DecorLens",
}
_HOME = pytest.StashKey[Path]()
_SESSION_CATALOG = pytest.StashKey["SessionCatalog"]()
LEFTOVER_WORK_MS = 120_000  # what a test may leave running (a strip's thumbnails, on CI's 2 cores) ends well within


def pytest_configure(config: pytest.Config) -> None:
    """A temp home for the whole session, set before any test module is imported.

    It has to be this early: ultralytics decides its settings folder when it is imported (during
    collection), and child processes (the CLI, the bench) inherit the environment. platformdirs reads
    the XDG variables on each call. Without it, tests wrote ~/.local/share/DecorLens and
    ~/.config/Ultralytics of whoever ran them.
    """
    home = Path(tempfile.mkdtemp(prefix="decorlens-test-home-"))
    config.stash[_HOME] = home
    for name, relative in HOME_VARIABLES.items():
        (home / relative).mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(home / relative)


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)



def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything imported by now (the test modules, torch, Qt, onnxruntime: some 600,000 objects) lives to the end,
    so it is frozen out of the garbage collector's view. The collection after each GUI test (``_no_work_left_running``)
    then walks only what the tests made: 0.3 s less per GUI test, minutes of the suite."""
    gc.collect()
    gc.freeze()

@pytest.fixture(scope="session")
def test_home(pytestconfig: pytest.Config) -> Path:
    """The session's temp home folder (HOME, XDG dirs, DECORLENS_DATA_DIR and YOLO_CONFIG_DIR lie in it)."""
    return pytestconfig.stash[_HOME]


def needs_ultralytics() -> None:
    """Skip the test where ultralytics is missing, without importing it (``pytest.importorskip`` does): its import
    replaces ``PIL.Image.open`` for the whole session, and every later test then ran under its patch, which turns
    a file Pillow cannot identify into a ModuleNotFoundError. ``training.yolo.import_yolo`` imports it without."""
    if importlib.util.find_spec("ultralytics") is None:
        pytest.skip("ultralytics is not installed (the [train] extra)", allow_module_level=True)


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data missing: {path} (tests expect ../shared beside the repo, or DECORLENS_SHARED)")
    return path


@pytest.fixture(autouse=True)
def _no_mouse_button_left_down():
    """Fails the test that leaves a mouse button down in the app's eyes. Every later mouse move is then a
    drag: no Enter, no hover on a photo's pins, and a test much later times out for no reason of its own."""
    yield
    import sys

    if "PySide6.QtGui" not in sys.modules:
        return
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is not None and QGuiApplication.mouseButtons() != Qt.MouseButton.NoButton:
        pytest.fail("the test left a mouse button pressed (QTest's double-click does: use conftest.double_click)")


@pytest.fixture(autouse=True)
def _check_session_catalog(request: pytest.FixtureRequest):
    """Fails the test that changed the session catalog's products or vectors (see ``catalog_state``), in its teardown.

    Every test of an xdist worker shares the session catalog: one that embedded it for another embedder made a later
    test's embedding end at once (tests/test_app_embed_cancel.py failed on CI, its culprit never found). Checked after
    each test that uses it, so a leak fails where it is made. pytest sets autouse fixtures up in the order of their
    names: this one's check, at teardown, runs after ``_no_work_left_running`` has waited for the test's GUI work.
    About 1 ms a test."""
    yield
    held = request.config.stash.get(_SESSION_CATALOG, None)
    if held is None or not {"pipeline", "session_data_dir"} & set(request.fixturenames):
        return
    after = catalog_state(held.pipeline)
    if after != held.state:
        before, held.state = held.state, after  # only the test that changed it fails, not every later one
        pytest.fail(f"the test changed the session catalog (products, revision, vectors by embedder) from {before} "
                    f"to {after}: write to a copy (tests/scene_copy.copy_data_dir) or use fresh_pipeline")


@pytest.fixture(autouse=True)
def _no_work_left_running(request: pytest.FixtureRequest):
    """After each GUI test, the widgets it closed are deleted, every pool of the app is waited for and the test's
    garbage is collected, all on the GUI thread, so that nothing of one test runs into the next.

    Closed windows were deleted (pytest-qt's ``deleteLater``) in the next test's first wait, while that test's work
    ran, and their work and a test's own Runners' ran on beside it. A test's Qt objects in reference cycles were
    freed by whichever thread's allocation set off the next collection: on a pool thread Qt cannot stop an object's
    timers, and the GUI thread's event loop later fired one for the deleted object (a segfault, shown by
    tests/test_app_workers.py). Found looking for why a CI run aborted once, in a window fixture's wait while a worker
    ran a catalog query (not reproduced).
    """
    yield
    import sys

    if "PySide6.QtCore" not in sys.modules or not _is_gui_test(request):
        return
    from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool

    app = QCoreApplication.instance()
    if app is None:
        return
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the closed windows: their Runners retire
    busy = [pool for pool in app.findChildren(QThreadPool) if not pool.waitForDone(LEFTOVER_WORK_MS)]
    QCoreApplication.processEvents()  # the results the ended work sent, to slots of this test's objects
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the retired Runners' pools
    if busy:
        pytest.fail(f"work this test started still ran {LEFTOVER_WORK_MS // 1000} s after it ended")


def _is_gui_test(request: pytest.FixtureRequest) -> bool:
    """Marked gui, or using pytest-qt: a collection after every test of the whole suite would cost it minutes."""
    return request.node.get_closest_marker("gui") is not None or bool({"qtbot", "qapp"} & set(request.fixturenames))


def double_click(qtbot, widget, pos, button=None) -> None:
    """A double-click ending as a real one does, with the button up. QTest's (Qt 6.11) ends on the second
    press, so the app believes the button is held from then on."""
    from PySide6.QtCore import Qt

    button = Qt.MouseButton.LeftButton if button is None else button
    qtbot.mouseDClick(widget, button, pos=pos)
    qtbot.mouseRelease(widget, button, pos=pos)


@pytest.fixture(scope="session")
def shared_models() -> Path:
    return _require(MODELS)


@pytest.fixture(scope="session")
def ikea() -> Path:
    return _require(IKEA)


@pytest.fixture(scope="session")
def ikea_products(ikea: Path) -> list[dict[str, str]]:
    with open(ikea / "products.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def ikea_pairs(ikea: Path) -> list[dict[str, str]]:
    with open(ikea / "pairs.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def scene_path(ikea: Path):
    """Path of a scene by (part of) its id."""

    def find(fragment: str) -> Path:
        matches = sorted((ikea / "scenes").glob(f"*{fragment}*.jpg"))
        assert matches, f"no scene matching {fragment}"
        return matches[0]

    return find


@pytest.fixture(scope="session")
def exported_models(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> Path:
    """A models folder holding only the COCO detector as ONNX with its card, as `models export` writes it.

    Copied from ../shared/models (where `decorlens models export` wrote it): tests that need a detector
    need neither torch nor an export; tests/test_export.py tests exporting itself.
    """
    out = tmp_path_factory.mktemp("exported-models")
    for name in (COCO_ONNX, COCO_ONNX.replace(".onnx", ".card.json")):
        shutil.copy(_require(shared_models / name), out / name)
    return out


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory, exported_models: Path) -> Path:
    """A data dir whose models/ holds the COCO ONNX (the other shared models come via the env)."""
    data = tmp_path_factory.mktemp("data")
    shutil.copytree(exported_models, data / "models")
    return data


@pytest.fixture(scope="session")
def real_map(tmp_path_factory: pytest.TempPathFactory, exported_models: Path, ikea: Path):
    """Every tenth shared product imported and embedded, its catalog map computed: (map, products by id). Once
    a session: the map tests only read it."""
    from ikea_feed import write_feed

    from engine.catalog_map import catalog_map
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    data = tmp_path_factory.mktemp("tenth-map")
    shutil.copytree(exported_models, data / "models")
    with open(ikea / "products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[::10]
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data))
    report = pipeline.import_catalog(write_feed(ikea, rows, data / "feed.csv"))
    assert report.added == len(rows), report.summary()
    result = catalog_map(pipeline.catalog, pipeline.embedder, pipeline.data_dir)
    products = pipeline.catalog.get_many(int(pid) for pid in result.ids)
    pipeline.close()
    return result, products


@pytest.fixture(scope="session", autouse=True)
def _models_env(shared_models: Path):
    """Point the engine at ../shared/models, as CI does, and keep user dirs out of tests."""
    old = os.environ.get("DECORLENS_MODELS_DIR")
    os.environ["DECORLENS_MODELS_DIR"] = str(shared_models)
    yield
    if old is None:
        os.environ.pop("DECORLENS_MODELS_DIR", None)
    else:
        os.environ["DECORLENS_MODELS_DIR"] = old


@pytest.fixture(scope="session")
def pipeline(pytestconfig: pytest.Config, session_data_dir: Path, ikea: Path):
    """A pipeline with both stock detectors and the whole shared IKEA catalog imported (once). Tests leave its
    products and vectors as they found them (``_check_session_catalog``)."""
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    pipe = Pipeline(Settings.defaults().with_(data_dir=session_data_dir))
    report = pipe.import_catalog(ikea / "products.csv")
    assert report.added > 1900, report.summary()
    pytestconfig.stash[_SESSION_CATALOG] = SessionCatalog(pipe, catalog_state(pipe))
    return pipe


def catalog_state(pipe: Pipeline) -> tuple[int, int, dict[str, int]]:
    """What later tests rely on: the product count, the catalog's revision (any product written) and each
    embedder's vector count. Scene memory is not in it: every window test over the session pipeline remembers the
    photos it opens, as the app does."""
    catalog = pipe.catalog
    return catalog.count(), catalog.revision, catalog.embedders()


@dataclass
class SessionCatalog:
    """The session pipeline and the state of its catalog that the tests so far left."""

    pipeline: Pipeline
    state: tuple[int, int, dict[str, int]]


@pytest.fixture
def fresh_pipeline(tmp_path: Path, exported_models: Path):
    """A pipeline over an empty data dir of its own (for tests that write)."""
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    shutil.copytree(exported_models, tmp_path / "models")
    return Pipeline(Settings.defaults().with_(data_dir=tmp_path))


@pytest.fixture
def runner(qapp):
    """A worker pool of two threads, owned by the application (a Runner needs a parent), shut down after."""
    from app.workers import Runner

    runner = Runner(2, qapp)
    yield runner
    runner.shutdown()


@pytest.fixture
def main_window(qtbot, tmp_path: Path):
    """Opens the app's main window over a pipeline, with a settings file of its own, once its models load."""
    from PySide6.QtCore import QSettings

    from app.main_window import MainWindow
    from app.settings import AppSettings

    windows = []

    def open_window(pipeline, size: tuple[int, int] | None = None):
        settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(pipeline, settings)
        qtbot.addWidget(win)
        if size:
            win.resize(*size)
        win.show()
        qtbot.waitUntil(lambda: win.engine_info is not None, timeout=90_000)
        windows.append(win)
        return win

    yield open_window
    for win in windows:
        if win.isVisible():  # a test may have closed it already
            win.close()


def clear_user_edits(data_dir: Path) -> None:
    """The shared data dir without the corrections and pasted photos an earlier test's window saved."""
    from app.scene_files import PASTED
    from engine.corrections import FOLDER

    for folder in (FOLDER, PASTED):
        shutil.rmtree(data_dir / folder, ignore_errors=True)


@pytest.fixture
def restore_light(qapp):
    """The app's light theme again after a test that applied another (other tests expect it)."""
    from app import theme

    yield qapp
    theme.apply(qapp, "light")


@pytest.fixture
def shown_window(main_window, pipeline):
    """The main window over the shared pipeline, 1280 × 800 and shown once its models load, its data dir without
    another test's saved edits before and after. What ``window`` and ``active_window`` give: apart, as a module's
    own ``window`` may ask for ``active_window`` (tests/test_app_keyboard.py)."""
    clear_user_edits(pipeline.data_dir)
    win = main_window(pipeline, (1280, 800))
    yield win
    win.close()
    clear_user_edits(pipeline.data_dir)


@pytest.fixture
def window(shown_window):
    """The main window over the shared pipeline, 1280 × 800 (see ``shown_window``)."""
    return shown_window


@pytest.fixture
def active_window(qtbot, shown_window):
    """The main window over the shared pipeline, 1280 × 800 and active: keys go to it."""
    shown_window.activateWindow()
    qtbot.waitUntil(shown_window.isActiveWindow, timeout=90_000)
    return shown_window


def run_on_scaled_screen(script: str, args: list[str], work: Path, width: int, height: int, scale: float) -> dict:
    """The JSON that ``script`` (``python -c``, given ``work`` and ``args``) prints last, run on one offscreen
    screen of ``width`` × ``height`` device pixels at ``scale`` display scaling: a scale can be set only before
    the QApplication exists, so each screen is a process of its own. The child's scale and screen are checked."""
    import json
    import subprocess
    import sys

    (work / "screen.json").write_text(json.dumps({"screens": [
        {"name": "screen", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96, "logicalBaseDpi": 96}
    ]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={work / 'screen.json'}",
           "QT_SCALE_FACTOR": str(scale)}
    run = subprocess.run([sys.executable, "-c", script, str(work), *args], cwd=Path(__file__).resolve().parent.parent,
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["dpr"] == scale and found["screen"] == [0, 0, round(width / scale), round(height / scale)]
    return found
