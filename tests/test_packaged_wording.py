"""Words the store's staff meet in the packaged app that made sense only in the source tree: the User Guide opened
on `decorlens --data-dir D --models-dir M gui …` and "e.g. ../shared/models", Settings' models folder read "the
standard folder (DECORLENS_MODELS_DIR…", its no-graphics-card note said to install the [gpu] extra, and a missing
module was told to "run scripts/install again" or pip install. Packaged mode is simulated as PyInstaller sets it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QUrl

from app.dialogs.guide import GUIDE, GuideBrowser
from app.dialogs.settings import SettingsDialog
from app.settings import AppSettings
from engine.advice import Context, describe
from engine.paths import models_dir

PYTHON_ONLY = ("scripts/install", "pip install", "[gpu] extra", "DECORLENS_MODELS_DIR", "../shared")


def test_the_guides_first_section_is_for_the_app_and_its_command_lines_come_later(qtbot):
    guide = GuideBrowser()
    qtbot.addWidget(guide)
    guide.setSource(QUrl.fromLocalFile(str(GUIDE)))
    text = guide.toPlainText()
    start, cli = text.index("Start\n"), text.index("From the command line\n")
    first = text[start:text.index("Tag a photo\n")]
    assert "Help ▸ About" in first and "Edit ▸ Settings" in first
    assert not [line for line in first.splitlines() if line.lstrip().startswith(("decorlens", "--data-dir"))]
    assert not [word for word in PYTHON_ONLY if word in first]
    assert "decorlens --data-dir D --models-dir M gui room.jpg" in text[cli:] and "DecorLens.exe" in text[cli:]


@pytest.mark.parametrize("frozen", [True, False])
def test_a_missing_module_is_told_what_this_install_can_do(monkeypatch, frozen: bool):
    monkeypatch.setattr(sys, "frozen", frozen, raising=False)
    lines = [describe(ModuleNotFoundError(f"No module named '{name}'", name=name), Context())
             for name in ("PySide6", "yaml", "torch")]
    said = " ".join(lines)
    if frozen:
        assert lines[:2] == [f"this DecorLens is missing a part ({name}): reinstall DecorLens" for name in ("PySide6", "yaml")]
        assert "ships without" in lines[2] and "pip install" not in said and "run scripts/install again" not in said
    else:  # a Python install's own commands
        assert "pip install -e '.[gui]'" in lines[0] and "run scripts/install again" in lines[1]
        assert "scripts/install --train" in lines[2]


@pytest.mark.parametrize("frozen", [True, False])
def test_settings_name_the_models_folder_and_the_gpu_extra_only_where_it_exists(qtbot, monkeypatch, tmp_path: Path,
                                                                                 frozen: bool):
    monkeypatch.setattr(sys, "frozen", frozen, raising=False)
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings, [], tmp_path / "data")
    qtbot.addWidget(dialog)
    assert dialog.models_dir.placeholderText() == f"the standard folder, {models_dir(None, tmp_path / 'data')}"
    assert ("[gpu] extra" in dialog.device_note.text()) is not frozen
    assert "Choose Automatically or the processor" in dialog.device_note.text()
