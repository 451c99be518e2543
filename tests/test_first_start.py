"""First start as a new user meets it: an empty data dir, no DECORLENS_* variables, real models and photos.

With the model pack installed the window opens ready to tag and, while the catalog is empty, offers the
import; without it the setup page installs the pack from a folder or the download URL (here a server on
127.0.0.1) and the window reloads; a models folder chosen in Settings takes effect on OK. Without a
display ``decorlens`` says so in one line.
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from test_modelpack import RangeHandler, assert_installed, serve  # tests/ is on sys.path

from engine import modelpack

ROOT = Path(__file__).resolve().parent.parent
WAIT_MS = 90_000
COCO, OIV7 = "yolo11n-ovint8-dq.onnx", "yolov8n-oiv7-int8.onnx"
V2 = "mobilenet_v2_1.0_224_quant.float.onnx"


@pytest.mark.parametrize("argv", [[], ["gui"]])
def test_no_display_is_one_line_pointing_to_search(tmp_path: Path, argv: list[str]):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DECORLENS_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "decorlens", *argv], check=False, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux needs DISPLAY or WAYLAND_DISPLAY")
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1 and len(lines[0]) <= 200, done.stderr
    assert "no display" in lines[0] and "decorlens search" in lines[0]


# -- the window (pytest-qt, offscreen) -------------------------------------------------------------------

@pytest.fixture
def qt(monkeypatch):
    """The Qt modules, offscreen, with the engine left to find models only where a new user's would be."""
    monkeypatch.setenv("QT_QPA_PLATFORM", os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    pytest.importorskip("PySide6")
    pytest.importorskip("pytestqt")
    monkeypatch.delenv("DECORLENS_MODELS_DIR", raising=False)
    from PySide6.QtCore import QSettings

    from app.dialogs.settings import SettingsDialog
    from app.main_window import MainWindow
    from app.settings import AppSettings
    from engine.pipeline import Pipeline

    return MainWindow, AppSettings, SettingsDialog, Pipeline, QSettings


def open_window(qtbot, qt, data: Path):
    """What ``launch`` does for an empty home: settings and pipeline from the data dir, then the window."""
    main_window, app_settings, _dialog, pipeline, qsettings = qt
    settings = app_settings(qsettings(str(data / "settings.ini"), qsettings.Format.IniFormat))
    win = main_window(pipeline(settings.engine_settings(data)), settings)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitUntil(lambda: win.engine_info is not None, timeout=WAIT_MS)
    return win


def wait_ready(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win.engine_info is not None and not win.engine_info.missing
                    and win.photo_stack.currentWidget() is not win.setup, timeout=WAIT_MS)


@pytest.mark.gui
def test_with_the_pack_installed_the_window_opens_ready_to_tag(qtbot, qt, tmp_path, shared_models, ikea,
                                                                scene_path):
    data = tmp_path / "data"
    modelpack.install(shared_models, data / "models")
    win = open_window(qtbot, qt, data)
    assert not win.engine_info.missing and "yolo11n" in win.status_line.device.toolTip()
    assert win.photo_stack.currentWidget() is win.welcome  # an empty catalog: import first
    page = win.welcome
    assert page.import_button.menu().actions() == [page.folder_action, page.csv_action, page.bundle_action]

    products = tmp_path / "products"
    for category in ("chair", "table", "shelf", "clock"):  # what the room holds: tags show what is sold
        (products / category).mkdir(parents=True)
        for photo in sorted((ikea / "products" / category).glob("*.jpg"))[:2]:
            shutil.copy(photo, products / category)
    win.catalog.import_from(products)
    qtbot.waitUntil(lambda: win.photo_stack.currentWidget() is win.splitter, timeout=WAIT_MS)
    win.open_paths([scene_path("bed-that-folds")])
    qtbot.waitUntil(lambda: bool(win.view.pins), timeout=WAIT_MS)
    win.close()


@pytest.mark.gui
def test_an_empty_catalog_explains_the_folder_and_csv_layouts(qtbot, qt, tmp_path, shared_models):
    data = tmp_path / "data"
    modelpack.install(shared_models, data / "models")
    win = open_window(qtbot, qt, data)
    text = " ".join(label.text() for label in win.welcome.findChildren(type(win.status_line.models)))
    for words in ("one subfolder per category", "sku", "category", "image", "Shopify"):
        assert words in text
    win.close()


@pytest.mark.gui
def test_missing_models_are_installed_from_a_folder_and_the_window_reloads(qtbot, qt, tmp_path, shared_models):
    """The models folder holds a detector trained under a pack model's name (another real detector's bytes, a card
    with a training recipe): the install sets it aside, and the message bar says so after the reload, until
    dismissed, in the app's words. The page said it only for the moment before the photo page replaced it."""
    from engine.models import read_card, write_card

    data = tmp_path / "data"
    mine = data / "models" / OIV7
    mine.parent.mkdir(parents=True)
    shutil.copyfile(shared_models / COCO, mine)
    card = read_card(shared_models / COCO)
    card.recipe.update({"base": "yolo11n-ovint8-dq.pt", "data": "/home/shop/pairs"})
    write_card(mine, card)  # as training.detector.export_trained writes it
    win = open_window(qtbot, qt, data)
    assert win.photo_stack.currentWidget() is win.setup
    assert "not found" in win.setup.error.text()  # what was looked for; the fix is the page's buttons
    win.setup.install(str(shared_models))
    wait_ready(qtbot, win)
    assert_installed(data / "models")
    assert "yolov8n-oiv7" in win.status_line.device.toolTip()
    said = win.message.text.text()
    assert win.message.isVisible() and win.message.waiting, said
    assert (f"{OIV7} was trained here (its card says so), not the pack's: kept as yolov8n-oiv7-int8-trained.onnx "
            "with its card") in said and "choose yolov8n-oiv7-int8-trained.onnx in Edit ▸ Settings" in said
    assert "activate" not in said and "decorlens" not in said
    assert (data / "models" / "yolov8n-oiv7-int8-trained.onnx").read_bytes() == (shared_models / COCO).read_bytes()
    win.close()


@pytest.mark.gui
def test_download_installs_the_pack_from_the_url(qtbot, qt, tmp_path, shared_models):
    from PySide6.QtCore import Qt

    data = tmp_path / "data"
    win = open_window(qtbot, qt, data)
    with serve(shared_models) as (server, url):
        win.setup.download_url = url
        qtbot.mouseClick(win.setup.download, Qt.MouseButton.LeftButton)
        wait_ready(qtbot, win)
    assert server.requests
    assert_installed(data / "models")
    assert win.message.isHidden()  # an install with nothing of the user's to say shows nothing more
    win.close()


class StallingHandler(RangeHandler):
    """Sends the first half of the COCO detector, then waits until the test lets it go on."""

    go_on = threading.Event()

    def send_head(self):
        if not self.path.endswith(COCO):
            return super().send_head()
        data = self.send_first_half()
        self.go_on.wait(timeout=60)
        self.wfile.write(data[len(data) // 2 :])
        return None


@pytest.mark.gui
def test_a_cancelled_download_keeps_its_part_and_resumes(qtbot, qt, tmp_path, shared_models):
    from PySide6.QtCore import Qt

    data = tmp_path / "data"
    win = open_window(qtbot, qt, data)
    StallingHandler.go_on.clear()
    with serve(shared_models, StallingHandler) as (_server, url):
        win.setup.download_url = url
        qtbot.mouseClick(win.setup.download, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: win.setup.progress.value() > 0, timeout=WAIT_MS)
        assert win.setup.cancel.isVisible() and not win.setup.download.isEnabled()
        qtbot.mouseClick(win.setup.cancel, Qt.MouseButton.LeftButton)
        StallingHandler.go_on.set()
        qtbot.waitUntil(lambda: win.setup.download.isEnabled(), timeout=WAIT_MS)
    assert "cancelled" in win.setup.status.text() and not win.setup.cancel.isVisible()
    have = (data / "models" / f"{COCO}.part").stat().st_size
    assert 0 < have < (shared_models / COCO).stat().st_size and not (data / "models" / COCO).exists()
    assert win.photo_stack.currentWidget() is win.setup
    with serve(shared_models) as (server, url):
        win.setup.install(url)
        wait_ready(qtbot, win)
    assert (COCO, f"bytes={have}-") in server.requests
    assert_installed(data / "models")
    win.close()


@pytest.mark.gui
def test_download_without_network_says_what_to_do(qtbot, qt, qapp, tmp_path):
    from PySide6.QtGui import QColor

    from app import theme

    with socket.socket() as probe:  # nobody listens: refused, as when offline
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    win = open_window(qtbot, qt, tmp_path / "data")
    win.setup.download_url = f"http://127.0.0.1:{port}/"
    win.setup.install(win.setup.download_url)
    qtbot.waitUntil(lambda: win.setup.download.isEnabled(), timeout=WAIT_MS)
    assert "could not reach" in win.setup.status.text()
    assert win.photo_stack.currentWidget() is win.setup
    theme.apply(qapp, "dark")  # the error line in the theme's red: the light theme's read 2.6:1 on the dark window
    try:
        win.setup.install(win.setup.download_url)
        qtbot.waitUntil(lambda: win.setup.download.isEnabled(), timeout=WAIT_MS)
        qapp.processEvents()  # the theme's style reaches the line
        line = win.setup.status.grab().toImage()
        drawn = {line.pixelColor(x, y).name() for x in range(line.width()) for y in range(line.height())}
        assert QColor(theme.DARK.error).name() in drawn  # as drawn: the line follows the theme (QLabel#note)
    finally:
        theme.apply(qapp, "light")
    win.close()


@pytest.mark.gui
def test_a_models_folder_chosen_in_settings_takes_effect_at_once(qtbot, qt, tmp_path, shared_models):
    """The issue's case: the COCO detector only as a .pt, OIV7 and the embedder as ONNX."""
    settings_dialog = qt[2]
    folder = tmp_path / "models-here"
    folder.mkdir()
    for name in (OIV7, V2, "yolo11n-ovint8-dq.pt"):
        (folder / name).symlink_to(shared_models / name)
    data = tmp_path / "data"
    win = open_window(qtbot, qt, data)
    assert win.photo_stack.currentWidget() is win.setup

    before = win._engine_settings()
    dialog = settings_dialog(win.settings, [], data, parent=win)
    dialog.models_dir.setText(str(folder))
    dialog._fill_models()
    assert dialog.chosen_detectors() == [OIV7] and dialog.ok.isEnabled()
    dialog.accept()
    win.apply_settings(before)
    wait_ready(qtbot, win)
    assert "yolov8n-oiv7" in win.status_line.device.toolTip() and "yolo11n" not in win.status_line.device.toolTip()
    assert yaml.safe_load((data / "config.yaml").read_text())["detectors"] == [[OIV7]]
    win.close()

    again = open_window(qtbot, qt, data)  # a restart keeps it
    assert not again.engine_info.missing and again.settings.models_dir == str(folder)
    again.close()


@pytest.mark.gui
def test_a_graphics_card_asked_for_where_there_is_none_offers_settings_not_the_pack(qtbot, qt, tmp_path,
                                                                                     shared_models):
    """config.yaml says device: gpu (hand-edited, or copied from a GPU machine) on a machine without CUDA: the
    models are there, so the page names the device and offers Settings; the pack's buttons come back for models
    that are really missing (Try again after the folder is emptied)."""
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA: device: gpu runs")
    _window, app_settings, _dialog, _pipeline, qsettings = qt
    data = tmp_path / "data"
    data.mkdir()
    (data / "config.yaml").write_text("device: gpu\n")
    app_settings(qsettings(str(data / "settings.ini"), qsettings.Format.IniFormat)).models_dir = str(shared_models)
    win = open_window(qtbot, qt, data)
    page = win.setup
    assert win.photo_stack.currentWidget() is page and win.engine_info.device_error and not win.engine_info.missing
    assert "cannot use the graphics card" in page.title.text() and "GPU requested" in page.error.text()
    assert "Run the models on in Edit ▸ Settings" in page.error.text() and "[gpu] extra" not in page.error.text()
    assert page.settings_button.isVisible() and page.settings_button.isDefault()
    assert not any(button.isVisible() for button in page.pack_buttons)
    assert win.status_line.models.text() == "No graphics card"

    empty = tmp_path / "no-models"
    empty.mkdir()
    win.settings.models_dir = str(empty)
    (data / "config.yaml").write_text("device: cpu\n")
    page.retry.emit()
    qtbot.waitUntil(lambda: win.engine_info is not None and bool(win.engine_info.missing), timeout=WAIT_MS)
    assert "needs its models" in page.title.text() and not page.settings_button.isVisible()
    assert all(button.isVisible() for button in page.pack_buttons) and page.from_folder.isDefault()
    assert win.status_line.models.text() == "Models missing"
    win.close()


@pytest.mark.gui
def test_launch_takes_start_up_objects_out_of_the_collectors_scans(qt, qtbot, monkeypatch, tmp_path, shared_models):
    """A full collection in the running app walks only what was made after start-up, not ~94,000 objects."""
    from PySide6.QtWidgets import QApplication

    from app import main

    data = tmp_path / "data"
    modelpack.install(shared_models, data / "models")
    tracked = len(gc.get_objects())
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)  # return where the event loop would start
    monkeypatch.setattr(main, "_close_on_interrupt", lambda window: None)  # keep pytest's Ctrl+C
    try:
        assert main.launch(data_dir=data) == 0
        assert gc.get_freeze_count() > tracked / 2 and len(gc.get_objects()) < tracked / 10
    finally:
        gc.unfreeze()
        for widget in QApplication.topLevelWidgets():
            widget.close()
