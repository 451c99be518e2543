"""The exact-match threshold Settings shows is the one in force, from whichever file holds it.

config.yaml's ``exact_threshold: 7`` was accepted (above 1: no match is exact, ``calibration.NEVER``) while Settings
ticked "the embedder's recommended value", its box stopping at 1; settings.ini's 7 read as not set at all; a 0 or
negative config.yaml value was accepted, 0 then used as the card's value and -0.5 calling every match exact.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings

from app.dialogs.settings import SettingsDialog
from app.settings import AppSettings
from engine.calibration import NEVER
from engine.errors import DecorLensError
from engine.settings import Settings

NEVER_TEXT = "never"  # what the box shows above 1

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("value", ["0", "-0.5", ".nan", ".inf", "-.inf"])
def test_a_config_threshold_no_cosine_can_mean_is_one_line(tmp_path: Path, value: str) -> None:
    (tmp_path / "config.yaml").write_text(f"exact_threshold: {value}\n")
    with pytest.raises(DecorLensError, match=r"\(exact_threshold: .* is not a number above 0, or null\)"):
        Settings.for_data_dir(tmp_path)


def _dialog(qtbot, tmp_path: Path, yaml: str | None, ini: str | None) -> SettingsDialog:
    """Settings over a data folder whose config.yaml and settings.ini hold these exact_threshold values, if any."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "config.yaml").write_text(f"exact_threshold: {yaml}\n" if yaml else "{}\n")
    (data / "settings.ini").write_text(f"[engine]\nexact_threshold={ini}\n" if ini else "")
    models = tmp_path / "models"  # none: the threshold is all this reads
    models.mkdir(exist_ok=True)
    settings = AppSettings(QSettings(str(data / "settings.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings, [], data, models)
    qtbot.addWidget(dialog)
    return dialog


@pytest.mark.parametrize(("yaml", "ini", "shown", "in_force"), [
    ("7", None, NEVER_TEXT, 7),  # config.yaml's, above 1: no match is exact
    (None, "7", NEVER_TEXT, 7),  # settings.ini's, hand-edited: read as unset, the card's was claimed
    ("0.755", None, "0.755", 0.755),  # shown to the thousandth: 0.76 was shown, and saved on OK
    ("0.755", "-1", "0.755", 0.755),  # settings.ini's unusable ones leave config.yaml's in force
    ("0.755", "nan", "0.755", 0.755),
    ("0.755", "inf", "0.755", 0.755),
])
def test_settings_shows_the_threshold_in_force(qtbot, tmp_path: Path, yaml: str | None, ini: str | None, shown: str,
                                               in_force: float) -> None:
    dialog = _dialog(qtbot, tmp_path, yaml, ini)
    assert dialog.settings.engine_settings(dialog.data_dir).exact_threshold == in_force
    assert not dialog.use_card.isChecked() and dialog.threshold.isEnabled() and dialog.threshold.text() == shown


def test_recommended_chosen_over_a_config_value_is_the_one_in_force(qtbot, tmp_path: Path) -> None:
    """Ticked over config.yaml's value, settings.ini's "not chosen" left config.yaml's in force: OK clears it there;
    "never" typed in the box is kept, as config.yaml's 7 is."""
    dialog = _dialog(qtbot, tmp_path, "7", None)
    dialog.use_card.setChecked(True)
    dialog.accept()
    assert dialog.settings.engine_settings(dialog.data_dir).exact_threshold is None
    assert Settings.for_data_dir(dialog.data_dir).exact_threshold is None
    again = _dialog(qtbot, tmp_path, None, None)
    assert again.use_card.isChecked()
    again.use_card.setChecked(False)
    again.threshold.lineEdit().setText(NEVER_TEXT)
    again.accept()
    reopened = SettingsDialog(again.settings, [], again.data_dir, tmp_path / "models")
    qtbot.addWidget(reopened)
    assert again.settings.exact_threshold == NEVER and reopened.threshold.text() == NEVER_TEXT


def test_an_unusable_ini_threshold_names_config_yamls_as_the_one_used(qtbot, tmp_path: Path) -> None:
    """The window's line about settings.ini's unusable values named "the embedder's recommended value" for the
    threshold even where config.yaml's was in force."""
    dialog = _dialog(qtbot, tmp_path, "0.755", "-1")
    config = Settings.for_data_dir(dialog.data_dir)
    assert "engine/exact_threshold='-1' (using config.yaml's 0.755)" in dialog.settings.unreadable(config)
    assert "(using the embedder's recommended value)" in dialog.settings.unreadable(Settings.defaults())
