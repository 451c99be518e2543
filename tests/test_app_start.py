"""The app's start as staff meet it, double-clicked with no terminal: why it could not open is said in a window and
kept in the log, a second copy on the same data folder says the first is open, and a crashed copy's lock is no
obstacle. Real processes, real data folders."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.main import LOCK_NAME, hold_data_dir
from app.workers import Runner
from decorlens.errors import LOG_NAME
from decorlens.gui import log_errors
from decorlens.main import main

ROOT = Path(__file__).resolve().parent.parent
SHOTS = os.environ.get("DECORLENS_SHOTS")  # a folder to grab the boxes into, to look at


def _start_box(qtbot, shot: str) -> dict[str, str]:
    """Run ``decorlens`` in this process and read, grab and close the message box it shows before any window."""
    seen: dict[str, str] = {}

    def close_box() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.update(text=box.text(), informative=box.informativeText())
            if SHOTS:
                box.grab().save(str(Path(SHOTS) / shot))
            box.accept()
        else:
            QTimer.singleShot(50, close_box)

    QTimer.singleShot(50, close_box)
    return seen


@pytest.fixture
def temp_dir(monkeypatch, tmp_path: Path) -> Path:
    """The temporary folder, where the log goes when the data folder cannot hold it: this test's own."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_data_folder_that_cannot_be_used_is_said_in_a_window_and_logged(qtbot, qapp, temp_dir: Path, tmp_path,
                                                                        capsys):
    """It printed one line on stderr and opened nothing: the packaged app on Windows has no console to print to."""
    not_a_folder = tmp_path / "DecorLens"
    not_a_folder.write_text("a file where the data folder should be\n")
    seen = _start_box(qtbot, "decorlens-start-error.png")
    assert main(["--data-dir", str(not_a_folder), "gui"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("decorlens: error: ") and "not a folder" in line
    assert seen["text"] == line.removeprefix("decorlens: error: ")
    log = temp_dir / LOG_NAME
    assert seen["informative"] == f"This is also written in {log}."
    assert line in log.read_text(encoding="utf-8")


def _app(data: Path, home: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, "-m", "decorlens", "--data-dir", str(data)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_second_copy_says_the_first_is_open_and_a_crashed_ones_lock_is_taken(qtbot, qapp, tmp_path: Path, capsys):
    """A second copy opened on the same data folder without a word, and its catalog held up the first's bundle
    imports. The CLI still works beside the app; once the first copy is killed (a crash), the app opens again."""
    data = tmp_path / "data"
    first = _app(data, tmp_path)
    try:
        qtbot.waitUntil(lambda: (data / LOCK_NAME).exists() or first.poll() is not None, timeout=120_000)
        assert first.poll() is None
        seen = _start_box(qtbot, "decorlens-already-open.png")
        assert main(["--data-dir", str(data)]) == 2
        assert seen["text"] == f"DecorLens is already open on the data folder {data}: switch to its window"
        assert seen["informative"] == f"This is also written in {data / LOG_NAME}."
        capsys.readouterr()
        assert main(["--data-dir", str(data), "catalog", "stats"]) == 0
    finally:
        first.send_signal(signal.SIGKILL)  # as a crash ends it: the lock file stays
        first.wait(60)
    assert (data / LOCK_NAME).exists()
    hold_data_dir(data).unlock()


def test_the_windows_errors_go_to_the_clis_log(qtbot, qapp, monkeypatch, tmp_path: Path):
    """A worker's bug was logged to stderr only, which the packaged app's staff never see."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # log_errors wraps it; put back after
    log = tmp_path / LOG_NAME
    log_errors(log)
    try:
        def bug(_job):
            raise KeyError("no such column")

        failed: list[str] = []
        runner = Runner(1)
        runner.start(bug, failed=failed.append)
        qtbot.waitUntil(lambda: bool(failed), timeout=60_000)
        runner.shutdown()
    finally:
        for handler in [h for h in logging.getLogger().handlers if getattr(h, "baseFilename", "") == str(log)]:
            logging.getLogger().removeHandler(handler)
            handler.close()
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "KeyError: 'no such column'" in text


def test_the_empty_catalog_tab_offers_a_bundle_import(qtbot, qapp, monkeypatch, tmp_path: Path, shared_models: Path):
    """Staff are most often handed a catalog bundle (.dlcat): the empty Catalog tab offered folder and CSV imports,
    the bundle's only in the Catalog menu. Import bundle… there asks for the bundle as the menu does."""
    from app.dialogs.bundles import Bundles
    from app.main import open_window

    asked: list[str] = []
    monkeypatch.setattr(Bundles, "ask_bundle", lambda self: asked.append(self.window.windowTitle()))  # no bundle
    _app, window = open_window(tmp_path / "data", shared_models)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.engine_info is not None, timeout=90_000)
    catalog = window.catalog
    window.tabs.setCurrentWidget(catalog)
    qtbot.waitUntil(lambda: not catalog.import_bundle.isHidden(), timeout=60_000)
    assert "Import bundle… takes a catalog bundle (.dlcat)" in catalog.grid.placeholder
    if SHOTS:
        catalog.grab().save(str(Path(SHOTS) / "decorlens-empty-catalog.png"))
    catalog.import_bundle.click()
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    window.close()
