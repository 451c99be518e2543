"""``launch()``: the entry point ``decorlens gui`` calls; builds the app, the pipeline and the window.

The pipeline is created here but loads nothing: models load in a worker once the window shows, so
the window appears at once even on a slow disk, and a missing model becomes a page, not a crash.
"""

from __future__ import annotations

import gc
import os
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer
from PySide6.QtGui import QIcon, QSessionManager
from PySide6.QtWidgets import QApplication, QMessageBox

from app import theme
from app.engine_notes import EngineNotes
from app.main_window import MainWindow
from app.settings import APPLICATION, ORGANISATION, AppSettings
from app.single_instance import hand_over, serve_window
from engine import desktop_entry, paths
from engine.errors import DecorLensError
from engine.paths import resources_dir
from engine.pipeline import Pipeline
from engine.remedies import in_app

LOCK_NAME = "decorlens-app.lock"  # in the data folder, while a window has it open
# The CLI's ("decorlens: error: "), or the packaged app's, which names its program ("DecorLens: error: "); the box's
# title names the app
ERROR_PREFIX = re.compile(r"^[\w.-]+: error: ")


def app_icon() -> QIcon:
    return QIcon(str(resources_dir() / "icons" / "decorlens.svg"))


def _drop_opencv_qt_paths() -> None:
    """Undo what importing opencv-python (a dependency of the training extra) does to Qt.

    It points Qt at its own plugins and fonts through the environment; PySide6 then finds no usable
    platform plugin under X11 and the app aborts before a window shows.
    """
    for key in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR"):
        if "cv2" in Path(os.environ.get(key, "")).parts:
            del os.environ[key]


def application() -> QApplication:
    """The running QApplication, created with the app's names and icon if there is none yet."""
    if QApplication.instance() is None:
        _drop_opencv_qt_paths()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    # Wayland's app id: the dock shows the windows under the menu entry's icon (X11 matches WM_CLASS, APPLICATION)
    app.setDesktopFileName(desktop_entry.DESKTOP_ID)
    app.setWindowIcon(app_icon())
    return app


def open_window(
    data_dir: str | Path | None = None, models_dir: str | Path | None = None
) -> tuple[QApplication, MainWindow]:
    """The application, themed, and its main window over a new pipeline, shown (the benches open it too)."""
    app = application()
    settings = AppSettings(data=data_dir)
    theme.apply(app, settings.theme)
    notes = EngineNotes(app)
    pipeline = Pipeline(settings.engine_settings(data_dir, models_dir), notes.note)
    window = MainWindow(pipeline, settings, models_dir, notes)
    SessionEnd(window)
    window.show()
    return app, window


def launch(
    files: Sequence[str] = (), data_dir: str | Path | None = None, models_dir: str | Path | None = None
) -> int:
    """Open the main window on ``files`` (photos or folders) and run until it closes; where a window is already
    open on the data folder, hand it ``files`` instead (a photo double-clicked while the app runs) and end."""
    try:
        lock = hold_data_dir(data_dir)
    except AlreadyOpenError:
        if hand_over(paths.data_dir(data_dir), files):
            return 0
        raise
    try:
        app, window = open_window(data_dir, models_dir)
        serve_window(window, paths.data_dir(data_dir), window.open_paths)
        refresh_menu_entry(window)
        freeze_startup_objects()  # before any photo: a photo's objects must stay collectable
        if files:
            window.open_paths([Path(f) for f in files])
        _close_on_interrupt(window)
        code = app.exec()
        window.close()  # its workers stopped (done already when the user quit) before their catalog closes
        # The last connection's close moves what the window wrote into catalog.sqlite: left open, it stayed in
        # catalog.sqlite-wal, which a copy or a sync of the catalog's file alone leaves behind.
        window.pipeline.close()
        return code
    finally:
        lock.unlock()


def refresh_menu_entry(window: MainWindow) -> None:
    """An applications menu entry naming an app folder that was moved now starts this copy; said on the status bar,
    or as an error where it cannot be rewritten (the menu's DecorLens would not start)."""
    try:
        line = desktop_entry.refresh()
    except DecorLensError as exc:
        window.show_message(f"{exc}. Help ▸ Add to Applications Menu tries again.", "error")
        return
    if line:
        window.statusBar().showMessage(line, 10_000)


class AlreadyOpenError(DecorLensError):
    """Another copy holds the data folder's lock: said to the user, but no failure to log or to alarm them with."""

    routine = True


def hold_data_dir(data_dir: str | Path | None) -> QLockFile:
    """The data folder's app lock, held: one window per data folder.

    A second copy opened on the same folder without a word, and its open catalog then held up the first's bundle
    imports. The CLI takes no lock: it works beside the app. A copy that crashed leaves a lock whose process is
    gone, which QLockFile takes over (no age limit: the app holds it for days)."""
    folder = paths.data_dir(data_dir)
    _check_lock_file(folder / LOCK_NAME)
    lock = QLockFile(str(folder / LOCK_NAME))
    lock.setStaleLockTime(0)
    if lock.tryLock(0):
        return lock
    if lock.error() == QLockFile.LockError.LockFailedError:
        raise AlreadyOpenError(f"DecorLens is already open on the data folder {folder}: switch to its window")
    raise DecorLensError(f"cannot write in the data folder {folder}: check its permissions, or choose another "
                         "folder with --data-dir")


def _check_lock_file(path: Path) -> None:
    """Refuse a lock file that QLockFile would read as no lock of its: a FIFO in its place (a sync tool's special
    file, a shared data folder's) blocked the start for ever, reading it, with no window; a link was read as a lock
    held by no one, "already open" for good."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        what = "a link" if path.is_symlink() else "not a regular file"
        raise DecorLensError(f"{path}: {what}, not the lock file DecorLens makes; remove it")


def show_start_error(line: str, log: Path | None, routine: bool = False) -> None:
    """Why the app could not open, in a window: the packaged app is started with no terminal to read. ``routine``:
    nothing is wrong ("already open"), which the red error icon said it was."""
    application()
    icon = QMessageBox.Icon.Information if routine else QMessageBox.Icon.Critical
    box = QMessageBox(icon, APPLICATION, in_app(ERROR_PREFIX.sub("", line, count=1)))
    if log is not None:
        box.setInformativeText(f"This is also written in {log}.")
    box.exec()


def freeze_startup_objects() -> None:
    """Take what start-up built (modules, Qt wrappers, the window) out of the cyclic collector's scans.

    Those ~94,000 objects live as long as the app, yet every full collection walked them all on
    whichever thread set it off: 14–57 ms of stalled UI each time (docs/engine.md). Start-up's own cyclic
    garbage is collected first, so freezing keeps nothing that is already dead; objects made later (photos,
    results) are collected as before.
    """
    gc.collect()
    gc.freeze()


class SessionEnd(QObject):
    """Logging out (or shutting down) with a run training or Use at work: where the session manager lets the app ask
    (X11's logout, Windows'), the Train window asks as quitting does (``TrainWindow.session_ending``), and keeping it
    going cancels the logout; stopping it stops the run between steps, a checkpoint kept for Resume, and the app goes
    once it has stopped. Nothing handled it: the run was killed mid-step with the session, or went on alone. macOS
    asks to quit instead (``MainWindow.closeEvent``). A child of the window: its connection goes with it."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        QApplication.instance().commitDataRequest.connect(self.commit_data)

    def commit_data(self, manager: QSessionManager) -> None:
        """Where the session manager lets no app ask, this is most often a session saved with no logout (KDE's Save
        Session; its logout lets apps ask), and the run goes on: a logout that does follow ends the app, and the run
        then stops between steps as its input closes (``training.run``), or on SIGTERM (``_terminated``). Qt says
        neither which it is. Interaction is asked for only with a run at work: the session manager waits for it."""
        train = self.window.train_window
        if train is None or train.working() is None or not manager.allowsInteraction():
            return
        if not train.session_ending(ask=True):
            manager.cancel()
        manager.release()


def _close_on_interrupt(window: MainWindow) -> None:
    """Ctrl+C in the terminal closes the window cleanly (running work ends, saves land); so does SIGTERM, which the
    session or a service manager sends to end the app, with no one there to answer the question of a run training:
    that run stops between steps unasked (``TrainWindow.session_ending``) and the window closes once it has.

    Python handles signals only when it runs, so a timer wakes the interpreter a few times a second.
    """
    signal.signal(signal.SIGINT, lambda *_: window.close())
    signal.signal(signal.SIGTERM, lambda *_: _terminated(window))
    timer = QTimer(window, interval=250)
    timer.timeout.connect(lambda: None)
    timer.start()


def _terminated(window: MainWindow) -> None:
    if window.train_window is not None:
        window.train_window.session_ending(ask=False)
    window.close()
