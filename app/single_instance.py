"""A second copy started on a data folder that is already open hands its files to the open window and ends.

Double-clicking a photo ("Open with DecorLens") while the app runs started a second copy, which could only say
"already open" (one window per data folder: ``app.main.hold_data_dir``). Now the copy holding the folder's lock
listens on a local socket named after the folder; a later copy sends its files there as one line of UTF-8 JSON
(a list of absolute paths), waits for "ok", and exits without a word. The socket is open to any local process of
the same user, so what arrives is treated as hostile: a line over ``MAX_MESSAGE`` bytes, a client that stays
silent, or anything but a JSON list of absolute paths is dropped, and the paths go only through the window's own
``open_paths``, which checks them as it does dropped files. On Linux and macOS the socket file lies in a folder
that is the user's alone (``$XDG_RUNTIME_DIR``, or ``decorlens-UID`` in the temporary folder): in the shared
temporary folder another user could bind the name first, and a later copy then sent its paths to that user's
process, which answered "ok", and the files never opened.

On X11 a window manager may refuse ``activateWindow`` from a process the user is not typing into (focus-stealing
prevention): the window is then raised and its taskbar entry flashes (``QApplication.alert``), and the user clicks it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QWidget

from engine.files import is_own_folder, own_temp_folder

MAX_MESSAGE = 1024 * 1024  # bytes: about 10,000 paths; a client sending more is dropped
CLIENT_MS = 5_000  # a connected client that has not sent its line by then is dropped
ANSWER_MS = 3_000  # how long a second copy waits for the open window: a hung window means "already open" instead
ACK = b"ok\n"


def server_name(folder: Path) -> str | None:
    """The open window's socket: one per data folder (its real path hashed, so two spellings of a folder meet), short
    enough for the socket path limit (about 104 bytes). Outside Windows (a named pipe) a path in a folder that is the
    user's alone (``_private_folder``); None where there is none."""
    digest = hashlib.sha256(os.path.realpath(folder).encode("utf-8", "surrogateescape")).hexdigest()
    name = f"decorlens-{digest[:24]}"
    if sys.platform == "win32":
        return name
    folder = _private_folder()
    return None if folder is None else str(folder / name)


def _private_folder() -> Path | None:
    """A folder no other user can create a file in: ``$XDG_RUNTIME_DIR`` (the login session's), else
    ``own_temp_folder``; None where there is none. Not Qt's RuntimeLocation, which warns on stderr where the variable
    is unset: a second copy ends without a word."""
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR") or ".")
    return runtime if runtime.is_absolute() and is_own_folder(runtime) else own_temp_folder()


def hand_over(folder: Path, files: Sequence[str | Path]) -> bool:
    """Send ``files`` to the window open on ``folder``; True once it has taken them. False where none answers (a
    copy that crashed, hung, or is too old to listen): the caller then says that the folder is already open."""
    name = server_name(folder)
    if name is None:
        return False
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(ANSWER_MS):
        return False
    message = json.dumps([str(Path(f).absolute()) for f in files]).encode("utf-8") + b"\n"
    socket.write(message)
    answer = b""
    while socket.waitForReadyRead(ANSWER_MS) and len(answer) < len(ACK):
        answer += socket.readAll().data()
    socket.abort()
    return answer == ACK


def paths_in(line: bytes) -> list[Path] | None:
    """The paths a client sent, or None where the line is not a JSON list of absolute paths (a list nested 100,000
    deep raised RecursionError out of the socket's slot: logged as the window's bug, the client kept till its time)."""
    try:
        sent = json.loads(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(sent, list) or not all(isinstance(s, str) and s and "\0" not in s for s in sent):
        return None
    paths = [Path(s) for s in sent]
    return paths if all(p.is_absolute() for p in paths) else None


class HandOverServer(QObject):
    """Listens for later copies on the data folder; ``received`` gets each copy's paths (maybe none)."""

    def __init__(self, folder: Path, received: Callable[[list[Path]], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.received = received
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        name = server_name(folder)
        if name is None:  # the window still works; later copies say "already open" instead
            logging.getLogger("app").warning("later copies cannot hand over files: no folder of this user's for "
                                             "the socket")
            return
        # A crashed copy's socket file would make listen fail; we hold the folder's lock, so the name is no one's.
        # (On Unix, UserAccessOption's listen already replaces the file; this covers the platforms where it does not.)
        QLocalServer.removeServer(name)
        if not self.server.listen(name):
            logging.getLogger("app").warning("later copies cannot hand over files: %s", self.server.errorString())

    def _accept(self) -> None:
        while (client := self.server.nextPendingConnection()) is not None:
            buffer = bytearray()
            client.readyRead.connect(lambda c=client, b=buffer: self._read(c, b))
            client.disconnected.connect(client.deleteLater)
            QTimer.singleShot(CLIENT_MS, client, client.abort)

    def _read(self, client: QLocalSocket, buffer: bytearray) -> None:
        buffer += client.read(MAX_MESSAGE + 1 - len(buffer)).data()
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > MAX_MESSAGE:
                client.abort()
            return
        paths = paths_in(bytes(buffer[:end]))
        if paths is None:
            client.abort()
            return
        client.readyRead.disconnect()  # one line per client: what follows it is not read
        client.write(ACK)
        client.disconnectFromServer()
        self.received(paths)


def serve_window(window: QWidget, folder: Path, open_paths: Callable[[list[Path]], None]) -> HandOverServer:
    """Later copies' files open in ``window`` (through ``open_paths``), which comes forward."""

    def received(paths: list[Path]) -> None:
        if paths:
            open_paths(paths)
        bring_forward(window)

    return HandOverServer(folder, received, window)


def bring_forward(window: QWidget) -> None:
    """Unminimise, raise and activate ``window``; where the window manager refuses activation, flash it."""
    if window.isMinimized():
        window.showNormal()
    window.raise_()
    window.activateWindow()
    QApplication.alert(window)
