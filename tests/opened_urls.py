"""What the app asks the desktop to open (a folder in the file manager, a page in the browser), caught in a test.

``QDesktopServices.setUrlHandler`` is Qt's own hook for a URL scheme's handler: while ``opened_urls`` runs, the
URLs of its scheme the app opens are listed instead of starting a file manager or a browser on the test machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices


class _Catcher(QObject):
    def __init__(self):
        super().__init__()
        self.paths: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.paths.append(url.toLocalFile() if url.isLocalFile() else url.toString())


@contextmanager
def opened_urls(scheme: str = "file") -> Iterator[list[str]]:
    """The URLs of ``scheme`` opened meanwhile, in order: a ``file:`` URL as its local path, another as text."""
    catcher = _Catcher()
    QDesktopServices.setUrlHandler(scheme, catcher, "open")
    try:
        yield catcher.paths
    finally:
        QDesktopServices.unsetUrlHandler(scheme)
