"""Product pictures as small pixmaps, decoded in a worker and cached, for the grid, panel and hover card.

Decoding 2,000 product JPEGs on the UI thread would freeze the catalog grid for seconds; here a
missing thumbnail returns None at once, is decoded off-thread at reduced size, and ``ready`` tells
the widgets to repaint.

On a scaled screen (150 %, 200 %) a picture shown at 128 logical pixels covers 192 or 256 screen
pixels: a widget asks with its size and its ``devicePixelRatioF()``, and gets a pixmap decoded at size
× ratio and marked with that ratio, which Qt draws pixel for pixel (one decoded at a fixed 160 px and
stretched was blurred). ``fit`` does the same for a pixmap a widget scales itself.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap
from PySide6.QtWidgets import QWidget

from app.workers import Runner

SIZE = 160  # the side of a thumbnail asked for without a size (the map's tiles, the match rows' pictures)
CAPACITY = 1200  # thumbnails kept at most
BUDGET = CAPACITY * SIZE * SIZE * 4  # bytes kept at most: CAPACITY default ones, fewer big ones (about 120 MB)

Key = tuple[str, int, int, float]  # path, the size asked for in device pixels, the ratio


class Thumbnails(QObject):
    ready = Signal(str)

    def __init__(self, runner: Runner, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self._cache: OrderedDict[Key, QPixmap] = OrderedDict()
        self._bytes = 0
        self._pending: set[Key] = set()

    def get(self, path: str, size: QSize | int = SIZE, dpr: float = 1.0) -> QPixmap | None:
        """The thumbnail if decoded (a null pixmap when unreadable), else None and a decode is queued.

        It fits ``size`` logical pixels (a side, or a QSize) on a screen of ``dpr`` device pixels per logical
        one: decoded at ``size × dpr`` device pixels, its ``devicePixelRatio`` is ``dpr``. A widget passes
        its own ``devicePixelRatioF()`` (``for_widget`` does); left out, it is 1, as before screens scaled.
        """
        if isinstance(size, int):
            size = QSize(size, size)
        key = (path, math.ceil(size.width() * dpr), math.ceil(size.height() * dpr), float(dpr))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if path and key not in self._pending:
            self._pending.add(key)
            self.runner.start(lambda _job, k=key: (k, decode_fitted(*k)), done=self._store)
        return None

    def for_widget(self, path: str, widget: QWidget, size: QSize | int) -> QPixmap | None:
        """``get`` for a picture of ``size`` logical pixels on ``widget``, at its screen's pixel ratio."""
        return self.get(path, size, widget.devicePixelRatioF())

    def _store(self, item: tuple[Key, QImage]) -> None:
        key, image = item
        self._pending.discard(key)
        pixmap = QPixmap.fromImage(image)  # keeps the image's devicePixelRatio
        self._cache[key] = pixmap
        self._bytes += _bytes(pixmap)
        while len(self._cache) > CAPACITY or (self._bytes > BUDGET and len(self._cache) > 1):
            _key, dropped = self._cache.popitem(last=False)
            self._bytes -= _bytes(dropped)
        self.ready.emit(key[0])


def fit(pixmap: QPixmap, size: QSize, dpr: float) -> QPixmap:
    """``pixmap`` scaled (smoothly, keeping its aspect) to fit ``size`` logical pixels at ``dpr``, marked with it:
    what a widget scaling a thumbnail itself shows sharp on a scaled screen (``QPixmap.scaled`` works in device
    pixels, so a plain ``scaled(size)`` is stretched over ``size × dpr`` screen pixels, or halved if marked)."""
    scaled = pixmap.scaled(QSize(math.ceil(size.width() * dpr), math.ceil(size.height() * dpr)),
                           Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    scaled.setDevicePixelRatio(dpr)
    return scaled


def _bytes(pixmap: QPixmap) -> int:
    return pixmap.width() * pixmap.height() * max(pixmap.depth(), 8) // 8


def decode_fitted(path: str, width: int, height: int, dpr: float) -> QImage:
    """The picture at ``path`` decoded to fit ``width`` × ``height`` device pixels, marked with ``dpr``; decoded
    scaled (JPEG's own downscaling), so a 4,000 px product photo never fills memory at full size."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid():
        reader.setScaledSize(size.scaled(QSize(width, height), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()  # a null image when unreadable: shown as a blank tile, not an error
    image.setDevicePixelRatio(dpr)
    return image
