"""The app's start as staff meet it, double-clicked with no terminal: why it could not open is said in a window and
kept in the log, a second copy on the same data folder hands its files to the first (or says the first is open),
and a crashed copy's lock is no obstacle. Real processes, real data folders."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PySide6.QtCore import QDir, QTimer
from PySide6.QtNetwork import QLocalSocket
from PySide6.QtWidgets import QApplication, QMessageBox

from app.main import LOCK_NAME, hold_data_dir
from app.single_instance import HandOverServer, serve_window, server_name
from app.workers import Runner
from decorlens.errors import LOG_MAX, LOG_NAME
from decorlens.gui import log_errors
from decorlens.main import main
from decorlens.options import PROG, use_program

ROOT = Path(__file__).resolve().parent.parent
SHOTS = os.environ.get("DECORLENS_SHOTS")  # a folder to grab the boxes into, to look at


def _start_box(qtbot, shot: str) -> dict[str, str]:
    """Run ``decorlens`` in this process and read, grab and close the message box it shows before any window."""
    seen: dict[str, str] = {}

    def close_box() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.update(text=box.text(), informative=box.informativeText(), icon=box.icon().name)
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
    log = temp_dir / f"decorlens-{os.getuid()}" / LOG_NAME  # the user's own folder there
    assert seen["informative"] == f"This is also written in {log}." and seen["icon"] == "Critical"
    assert line in log.read_text(encoding="utf-8")



def test_the_packaged_apps_start_error_names_it_and_its_box_says_it_once(qtbot, qapp, temp_dir: Path, tmp_path,
                                                                         capsys):
    """The packaged app's line starts with its own name, as staff start it (it has no `decorlens`); its box, titled
    DecorLens, shows the line without that prefix, as the CLI's."""
    not_a_folder = tmp_path / "DecorLens"
    not_a_folder.write_text("a file where the data folder should be\n")
    seen = _start_box(qtbot, "decorlens-packaged-start-error.png")
    try:
        assert main(["--data-dir", str(not_a_folder), "gui"], "DecorLens") == 2
    finally:
        use_program(PROG)
    line = capsys.readouterr().err.strip()
    assert line.startswith("DecorLens: error: ") and "not a folder" in line
    assert seen["text"] == line.removeprefix("DecorLens: error: ")

def _app(data: Path, home: Path, *files: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, "-m", "decorlens", "--data-dir", str(data), "gui", *map(str, files)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _socket_file(data: Path) -> Path:
    """Where a window open on ``data`` listens (Linux and macOS: a socket file in the temporary folder)."""
    return Path(QDir.tempPath()) / server_name(data)


def test_a_second_copy_hands_over_or_says_the_first_is_open_and_a_crashed_ones_lock_is_taken(qtbot, qapp,
                                                                                           tmp_path: Path, capsys):
    """A second copy opened on the same data folder without a word, and its catalog held up the first's bundle
    imports. Now it hands its files to the first and ends without a word; where the first does not answer (hung,
    or an old version) it says the first is open. The CLI still works beside the app; once the first copy is killed
    (a crash), the app opens again although its lock and socket files are left behind."""
    data = tmp_path / "data"
    first = _app(data, tmp_path)
    try:
        qtbot.waitUntil(lambda: _socket_file(data).exists() or first.poll() is not None, timeout=120_000)
        assert first.poll() is None
        assert main(["--data-dir", str(data)]) == 0
        assert capsys.readouterr().err == ""
        first.send_signal(signal.SIGSTOP)  # a hung window: the second copy waits a moment, then says so
        seen = _start_box(qtbot, "decorlens-already-open.png")
        assert main(["--data-dir", str(data)]) == 2
        assert seen["text"] == f"DecorLens is already open on the data folder {data}: switch to its window"
        assert seen["icon"] == "Information" and seen["informative"] == ""  # nothing wrong: no red icon, no log
        assert not (data / LOG_NAME).exists()
        capsys.readouterr()
        assert main(["--data-dir", str(data), "catalog", "stats"]) == 0
    finally:
        first.send_signal(signal.SIGKILL)  # as a crash ends it: the lock and socket files stay
        first.wait(60)
    assert (data / LOCK_NAME).exists() and _socket_file(data).exists()
    lock = hold_data_dir(data)
    server = HandOverServer(data, lambda _paths: None)
    assert server.server.isListening(), server.server.errorString()
    server.server.close()
    lock.unlock()


@pytest.fixture
def open_app(qtbot, qapp, tmp_path: Path, shared_models: Path):
    """A window open on a data folder, holding its lock and listening for later copies, as ``launch`` leaves it."""
    from app.main import open_window

    data = tmp_path / "data"
    lock = hold_data_dir(data)
    _app, window = open_window(data, shared_models)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    server = serve_window(window, data, window.open_paths)
    yield data, window, server
    window.close()
    server.server.close()
    lock.unlock()


def test_a_photo_opened_while_the_app_runs_goes_to_its_window(qtbot, open_app, scene_path, tmp_path: Path):
    """Double-clicking a photo while the app ran started a second copy that said "already open": the photo opens
    in the running window, which comes forward, and the second copy ends without a word."""
    data, window, _server = open_app
    photo = scene_path("bright-kitchen")
    window.showMinimized()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    second = subprocess.Popen([sys.executable, "-m", "decorlens", "--data-dir", str(data), "gui", photo.name],
                              cwd=photo.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    qtbot.waitUntil(lambda: second.poll() is not None, timeout=60_000)  # the window answers while we wait
    out, err = second.communicate()
    assert (second.returncode, out, err) == (0, b"", b"")
    # the second copy names it from its working folder, which the system gives resolved (CI's ../shared is a link)
    qtbot.waitUntil(lambda: _opened(window) == photo.resolve() and window.controller.scene is not None,
                    timeout=90_000)
    assert not window.isMinimized()
    if SHOTS:
        window.screen().grabWindow(0).save(str(Path(SHOTS) / "decorlens-handed-over.png"))  # the screen, under Xvfb


def _opened(window) -> Path | None:
    """The photo the window shows, resolved."""
    return None if window.controller.path is None else window.controller.path.resolve()


def _send(qtbot, data: Path, message: bytes) -> bytes:
    """Connect to the window open on ``data`` as any local process may, send ``message``, return its answer."""
    client = QLocalSocket()
    client.connectToServer(server_name(data))
    assert client.waitForConnected(5_000)
    client.write(message)
    answer = bytearray()
    client.readyRead.connect(lambda: answer.extend(client.readAll().data()))
    qtbot.waitUntil(lambda: client.state() == QLocalSocket.LocalSocketState.UnconnectedState, timeout=30_000)
    return bytes(answer)


def test_a_hostile_client_is_dropped_and_the_window_goes_on(qtbot, open_app, scene_path):
    """The socket takes input from any local process: 10 MB, a silent client, not JSON, not a list of absolute paths
    are dropped unanswered and open nothing; a copy's files still open after them."""
    data, window, _server = open_app
    for message in (b"x" * 10_000_000, b"", b"\xff\xfe not json\n", b'{"open": ["/etc/passwd"]}\n', b"[1, 2]\n",
                    b'["relative.jpg"]\n', b'["/a\\u0000b.jpg"]\n'):
        assert _send(qtbot, data, message) == b"", message[:40]
    assert window.controller.path is None
    photo = scene_path("bright-kitchen")
    assert _send(qtbot, data, json.dumps([str(photo)]).encode() + b"\n") == b"ok\n"
    qtbot.waitUntil(lambda: window.controller.path == photo and window.controller.scene is not None, timeout=90_000)


def test_the_windows_errors_go_to_the_clis_log(qtbot, qapp, monkeypatch, tmp_path: Path):
    """A worker's bug was logged to stderr only, which the packaged app's staff never see."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # log_errors wraps it; put back after
    log = tmp_path / LOG_NAME
    log_errors(log)
    try:
        def bug(_job):
            raise KeyError("no such column")

        failed: list[str] = []
        runner = Runner(1, qapp)
        runner.start(bug, failed=failed.append)
        qtbot.waitUntil(lambda: bool(failed), timeout=60_000)
        runner.shutdown()
    finally:
        for handler in [h for h in logging.getLogger().handlers if getattr(h, "baseFilename", "") == str(log)]:
            logging.getLogger().removeHandler(handler)
            handler.close()
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "KeyError: 'no such column'" in text


def test_the_windows_log_is_set_aside_when_full_as_the_clis_is(monkeypatch, tmp_path: Path):
    """A window open for weeks appended every error to one file, however large it grew."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # log_errors wraps it; put back after
    log = tmp_path / LOG_NAME
    log.write_text("x" * (LOG_MAX - 10) + "\n")  # the first entry fills it
    log_errors(log)
    try:
        logging.getLogger("app").error("first unexpected error")
        logging.getLogger("app").error("second unexpected error")
    finally:
        for handler in [h for h in logging.getLogger().handlers if getattr(h, "baseFilename", "") == str(log)]:
            logging.getLogger().removeHandler(handler)
            handler.close()
    older = log.with_name(f"{LOG_NAME}.1").read_text()
    assert older.startswith("x" * 10) and "first unexpected error" in older
    assert "second unexpected error" in log.read_text() and "first" not in log.read_text()


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


def test_a_closed_window_leaves_its_catalog_whole_in_its_file(qtbot, tmp_path: Path, ikea: Path, scene_path):
    """The window never closed its catalog: what it wrote (a photo's tags remembered, an import) stayed in
    catalog.sqlite-wal after it ended, and a copy or sync of catalog.sqlite alone lacked it (a catalog imported in
    the app had no tables at all). Ending it as staff do (Ctrl+Q, the window's close; here SIGTERM, which closes
    the window the same way) leaves everything in catalog.sqlite."""
    (tmp_path / "products" / "lamp").mkdir(parents=True)
    for photo in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]:
        shutil.copy(photo, tmp_path / "products" / "lamp")
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-m", "decorlens", "--data-dir", str(data), "-q", "catalog", "import",
                    str(tmp_path / "products")], cwd=ROOT, env=env, check=True)
    app = _app(data, tmp_path, scene_path("bright-kitchen"))
    try:
        qtbot.waitUntil(lambda: _scenes(data / "catalog.sqlite") == 1 or app.poll() is not None, timeout=120_000)
        assert (data / "catalog.sqlite-wal").stat().st_size > 0  # the photo's tags, written since the import
    finally:
        app.send_signal(signal.SIGTERM)
        assert app.wait(60) == 0
    assert not (data / "catalog.sqlite-wal").exists()
    alone = tmp_path / "copy" / "catalog.sqlite"
    alone.parent.mkdir()
    shutil.copy(data / "catalog.sqlite", alone)
    assert _scenes(alone) == 1


def _scenes(catalog: Path) -> int:
    """The photos a catalog file remembers, read through a connection of this process's own, closed at once."""
    with contextlib.closing(sqlite3.connect(catalog)) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return db.execute("SELECT count(*) FROM scenes").fetchone()[0] if "scenes" in names else 0
