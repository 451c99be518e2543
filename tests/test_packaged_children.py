"""What the packaged app hands the programs it starts, and what its setup page names. Found walking the built app
under Xvfb as a store's staff: Open Page, Open results folder and About's data folder run ``xdg-open``, whose shell
loaded the app's own ``libtinfo`` from ``_internal``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.widgets.setup_page import SetupPage
from app.workers import Runner
from decorlens.frozen import frozen_entry


@pytest.mark.skipif(sys.platform == "win32", reason="LD_LIBRARY_PATH is the POSIX loader's")
@pytest.mark.parametrize("users", ["/opt/store/lib", None])
def test_programs_the_packaged_app_starts_get_the_users_library_path(monkeypatch, tmp_path: Path, users: str | None):
    """PyInstaller's bootloader sets LD_LIBRARY_PATH to the app's ``_internal`` (the user's own value, if any, in
    LD_LIBRARY_PATH_ORIG); a program the app starts gets the user's value back, or none where there was none."""
    bundle = str(tmp_path / "DecorLens" / "_internal")
    monkeypatch.setattr(sys, "_MEIPASS", bundle, raising=False)  # as the bootloader sets it
    monkeypatch.setenv("LD_LIBRARY_PATH", bundle + (f":{users}" if users else ""))
    if users:
        monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", users)
    else:
        monkeypatch.delenv("LD_LIBRARY_PATH_ORIG", raising=False)
    assert frozen_entry(["--version"]) == 0
    child = subprocess.run(["sh", "-c", 'printf %s "${LD_LIBRARY_PATH-unset}"'], capture_output=True, text=True,
                           check=True)
    assert child.stdout == (users or "unset")


def test_setup_page_names_no_folder_of_the_project(qtbot, tmp_path: Path, qapp):
    """"(a USB stick, a network share, shared/models)": the project's models folder, which no store has."""
    page = SetupPage(Runner(1, qapp), lambda: tmp_path / "models")
    qtbot.addWidget(page)
    page.show_error("model x.onnx not found in " + str(tmp_path / "models"))
    assert "USB stick" in page.intro.text()
    assert "shared" not in page.intro.text()
