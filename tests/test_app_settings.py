"""settings.ini holding what the app never writes (edited by hand, a damaged disk): the window still opens.

Found by filling each key with hostile values and opening the window and Settings on each: "top_k=inf"
raised OverflowError while the window was being made, "max_tags=nan" ValueError, a top_k past what Qt's
spin box holds stopped Settings from opening, and a models folder whose name is too long to stat raised out
of Settings' model list.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.dialogs.settings import SettingsDialog
from app.main_window import MainWindow
from app.settings import MAX_TOP_K, AppSettings
from engine.models import available_models, read_card
from engine.pipeline import Pipeline
from engine.runtime import runs_on_cpu

pytestmark = pytest.mark.gui
HOSTILE = ["", "abc", "-1", "nan", "inf", "-inf", "1e308", "99999999999999999999", "[1,2", "@Invalid()"]


def _settings(tmp_path: Path, lines: dict[str, str]) -> AppSettings:
    ini = tmp_path / "settings.ini"
    sections: dict[str, list[str]] = {}
    for key, value in lines.items():
        section, name = key.split("/")
        sections.setdefault(section, []).append(f"{name}={value}")
    ini.write_text("".join(f"[{s}]\n" + "\n".join(names) + "\n" for s, names in sections.items()))
    return AppSettings(QSettings(str(ini), QSettings.Format.IniFormat))


@pytest.mark.parametrize("value", HOSTILE)
def test_a_number_the_app_never_writes_reads_as_its_default(tmp_path: Path, value: str):
    settings = _settings(tmp_path, {"engine/top_k": value, "engine/exact_threshold": value, "view/max_tags": value})
    assert 1 <= settings.top_k <= MAX_TOP_K
    assert settings.max_tags == 0
    # a huge number is a threshold no cosine reaches: no match exact, as config.yaml's (test_exact_threshold_in_force)
    assert settings.exact_threshold is None or (value in ("1e308", "99999999999999999999") and settings.exact_threshold > 1)


def test_numbers_the_app_writes_read_back(tmp_path: Path):
    settings = _settings(tmp_path, {})
    settings.top_k, settings.exact_threshold, settings.max_tags = 7, 0.83, 10
    settings.device, settings.theme, settings.hidden_categories, settings.catalog_order = "cpu", "dark", {"a, b"}, "name"
    settings.add_recent("/photos/a, b.jpg")
    assert (settings.top_k, settings.exact_threshold, settings.max_tags) == (7, 0.83, 10)
    settings.store.sync()
    assert AppSettings(QSettings(settings.store.fileName(), QSettings.Format.IniFormat)).unreadable() == ""


def test_the_window_and_settings_open_over_a_damaged_settings_file(qtbot, fresh_pipeline, tmp_path: Path):
    """And the window says which values it could not use and what it uses instead: they were read as their defaults
    without a word (``device=GPU`` ran on the processor, a hand-written ``hidden_categories=["sofa"]`` hid nothing)."""
    settings = _settings(tmp_path, {"engine/top_k": "inf", "engine/exact_threshold": "nan", "view/max_tags": "1e308",
                                    "engine/models_dir": "x" * 5000, "engine/device": "GPU",
                                    "view/hidden_categories": '["sofa"]', "files/recent": "[1,2"})
    window = MainWindow(fresh_pipeline, settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.engine_info is not None, timeout=90_000)
    said = window.message.text.text()
    assert window.message.isVisible() and "settings.ini holds values DecorLens cannot use" in said
    for part in ("engine/top_k='inf' (using 5)", "engine/device='GPU' (using auto)", "view/max_tags='1e308' (using 0)",
                 "view/hidden_categories='[sofa]' (using none)", "files/recent='[1,2' (using none)"):
        assert part in said
    dialog = SettingsDialog(settings, window._categories(), fresh_pipeline.data_dir, None, window)
    qtbot.addWidget(dialog)
    assert dialog.top_k.value() == 5


def test_a_models_folder_that_cannot_be_listed_lists_the_others(fresh_pipeline, tmp_path: Path):
    """The data dir's own models are listed, as beside an empty models folder."""
    (tmp_path / "empty").mkdir()
    listed = {m.path.name for m in available_models(tmp_path / "empty", fresh_pipeline.data_dir)}
    assert listed and {m.path.name for m in available_models(tmp_path / ("x" * 5000), fresh_pipeline.data_dir)} == listed


def test_the_embedders_damaged_calibration_is_said_under_it(qtbot, tmp_path: Path, shared_models: Path):
    """An embedder whose calibration file is damaged was missing from the list (engine.user_calibration): it is
    listed, and the line of its file says the card's thresholds apply until the file is deleted or it is calibrated."""
    folder = tmp_path / "models"
    folder.mkdir()
    embedder = folder / "mobilenet_v2_1.0_224_quant.float.onnx"
    embedder.symlink_to(shared_models / embedder.name)
    (folder / "mobilenet_v2_1.0_224_quant.float.calibration.json").write_text("{")
    dialog = SettingsDialog(_settings(tmp_path, {}), [], tmp_path / "data", folder)
    qtbot.addWidget(dialog)
    dialog.advanced_toggle.setChecked(True)
    dialog.show()
    assert dialog.embedder.currentData() == embedder.name and dialog.calibration_note.isVisible()
    assert dialog.calibration_note.text() == read_card(embedder).calibration_problem != ""


@pytest.mark.skipif(not runs_on_cpu("auto"), reason="this computer has a graphics card the models can run on")
def test_the_graphics_card_chosen_where_there_is_none_is_said_and_not_saved(qtbot, tmp_path: Path, shared_models: Path):
    """OK put up "DecorLens needs its models" and its Download button, the open photo gone; it waits for a device
    the models can run on, and the line under the device box says why, the dialog as much taller."""
    dialog = SettingsDialog(_settings(tmp_path, {}), [], tmp_path / "data", shared_models)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert not dialog.device_note.isVisible() and dialog.ok.isEnabled()
    height = dialog.height()  # no blank left for the hidden line: it stood above OK
    dialog.device.setCurrentIndex(dialog.device.findData("gpu"))
    assert _note_shown_whole(dialog) and not dialog.ok.isEnabled() and dialog.height() > height
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    assert not dialog.device_note.isVisible() and dialog.ok.isEnabled()


def _note_shown_whole(dialog: SettingsDialog) -> bool:
    """Shown and not cut off below the device box: the dialog kept the height it had without it."""
    note = dialog.device_note
    QApplication.processEvents()
    return note.isVisible() and dialog.body.viewport().rect().contains(note.mapTo(dialog.body.viewport(),
                                                                                  note.rect().bottomLeft()))


def test_a_photo_opened_while_models_were_missing_is_searched_once_settings_choose_them(
        qtbot, tmp_path: Path, exported_models: Path, scene_path):
    """It stayed untagged under the error "model … not found in <the empty folder>" after OK on a folder that holds
    them, until it was opened again."""
    data = tmp_path / "data"
    shutil.copytree(exported_models, data / "models")  # the detector alone: the embedder is missing
    (tmp_path / "empty").mkdir()
    settings = _settings(tmp_path, {"engine/models_dir": str(tmp_path / "empty")})
    window = MainWindow(Pipeline(settings.engine_settings(data)), settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.engine_info is not None and bool(window.engine_info.missing), timeout=90_000)
    window.open_photo(scene_path("a-living-space-to-snuggle"))
    qtbot.waitUntil(lambda: window.message.isVisible() and "not found in" in window.message.text.text(), timeout=90_000)
    before = window._choice
    settings.models_dir = ""  # the standard folder, DECORLENS_MODELS_DIR: Settings' OK
    window.apply_settings(before)
    qtbot.waitUntil(lambda: window.controller.scene is not None, timeout=90_000)
    assert not window.message.isVisible() or "not found" not in window.message.text.text()
