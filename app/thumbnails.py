"""Product pictures as small pixmaps, decoded in a worker and cached, for the grid, panel and hover card.

Decoding 2,000 product JPEGs on the UI thread would freeze the catalog grid for seconds; here a
missing thumbnail returns None at once, is decoded off-thread at reduced size, and ``ready`` tells
the widgets to repaint.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

from app.workers import Runner

SIZE = 160
CAPACITY = 1200


class Thumbnails(QObject):
    ready = Signal(str)

    def __init__(self, runner: Runner, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()

    def get(self, path: str) -> QPixmap | None:
        """The thumbnail if decoded (a null pixmap when unreadable), else None and a decode is queued."""
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        if path and path not in self._pending:
            self._pending.add(path)
            self.runner.start(lambda _job, p=path: (p, _decode(p)), done=self._store)
        return None

    def _store(self, item: tuple[str, QImage]) -> None:
        path, image = item
        self._pending.discard(path)
        self._cache[path] = QPixmap.fromImage(image)
        while len(self._cache) > CAPACITY:
            self._cache.popitem(last=False)
        self.ready.emit(path)


def _decode(path: str) -> QImage:
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid():
        reader.setScaledSize(size.scaled(QSize(SIZE, SIZE), Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()  # a null image when unreadable: shown as a blank tile, not an error
