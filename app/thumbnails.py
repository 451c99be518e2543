"""Product pictures as small pixmaps, decoded in a worker and cached, for the grid, panel and hover card.

Decoding 2,000 product JPEGs on the UI thread would freeze the catalog grid for seconds; here a
missing thumbnail returns None at once, is decoded off-thread at reduced size, and ``ready`` tells
the widgets to repaint.

On a scaled screen (150 %, 200 %) a picture shown at 128 logical pixels covers 192 or 256 screen
pixels: a widget asks with its size and its ``devicePixelRatioF()``, and gets a pixmap decoded at size
× ratio and marked with that ratio, which Qt draws pixel for pixel (one decoded at a fixed 160 px and
stretched was blurred). ``fit`` does the same for a pixmap a widget scales itself.

A room photo's thumbnail can come with its content key (``get(..., digest=True)``, then ``digest``): the first
16 hex digits of its bytes' SHA-256, which name its saved edits (``engine.corrections.corrections_path``). The
worker hashes the bytes it reads for the thumbnail anyway, so the Photos strip learns which photos hold edits
without reading any file a second time.

A picture is kept by its path, and the file at a path changes under a running app: a designer retouches a photo in
another program and saves it over itself, crops it, renames or deletes it, or unplugs the USB stick it is on. Each
thumbnail remembers which version of its file it was made from (``engine.files.FileVersion``: inode, size,
modification and change time, as the worker's read saw them); ``recheck`` looks at the files of the thumbnails kept
again, in a worker (a network share can take a second a file), and lets go of those whose file is another now
(``changed``): their widgets ask again and show the photo as it is (or as unreadable, when gone), the strip its edits
and tags by its new content key. It runs as the app comes back to the front, where a designer returns from the
other program, and when a watched folder changes (the Photos strip's). A file's change time is the system's own: a
copy over a photo keeping its size and modification time (``cp -p``) still tells.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColorSpace, QGuiApplication, QImage, QImageIOHandler, QImageReader, QPixmap
from PySide6.QtWidgets import QWidget

from app.workers import Job, Runner
from engine.corrections import KEY_DIGITS
from engine.errors import ImageError
from engine.files import FileVersion, file_version, open_regular, version_of
from engine.imageio import ICC_MAX, OPENERS, WHOLE_READ_MAX, load_image_bytes, orientation

SIZE = 160  # the side of a thumbnail asked for without a size (the map's tiles, the match rows' pictures)
CAPACITY = 1200  # thumbnails kept at most
BUDGET = CAPACITY * SIZE * SIZE * 4  # bytes kept at most: CAPACITY default ones, fewer big ones (about 120 MB)
WIDEST = 2.5  # a thumbnail's longer side at most this many times its shorter: a panorama shows its centre (``kept``)

Key = tuple[str, int, int, float]  # path, the size asked for in device pixels, the ratio
_Turn = QImageIOHandler.Transformation
TURNS = {  # EXIF orientation -> what Qt's reader applies for it
    2: _Turn.TransformationMirror, 3: _Turn.TransformationRotate180, 4: _Turn.TransformationFlip,
    5: _Turn.TransformationFlipAndRotate90, 6: _Turn.TransformationRotate90,
    7: _Turn.TransformationMirrorAndRotate90, 8: _Turn.TransformationRotate270,
}
SRGB = QColorSpace(QColorSpace.NamedColorSpace.SRgb)


class Thumbnails(QObject):
    ready = Signal(str)
    changed = Signal(str)  # a photo's file is another than its thumbnail's (replaced, edited, gone); ``ready`` follows

    def __init__(self, runner: Runner, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self._cache: OrderedDict[Key, QPixmap] = OrderedDict()
        self._bytes = 0
        self._pending: set[Key] = set()
        # a photo's path -> its content key ("" unreadable): some 100 bytes a photo looked at, kept while the
        # thumbnails come and go, so a row scrolled back into view is marked before its picture is decoded again
        self._digests: dict[str, str] = {}
        self._stamps: dict[str, FileVersion | None] = {}  # a path -> the version of its file its latest thumbnail read
        self._rechecking: set[str] | None = None  # paths a recheck in flight looks at; more asked meanwhile wait
        self._recheck_next: set[str] = set()
        # a cache without a parent outlives a runner deleted with its window: a recheck would start on a deleted pool
        self._runner_alive = True
        runner.destroyed.connect(self._runner_gone)
        runner.stopped.connect(self._runner_gone)  # its window closed: a strip's folder watch rechecked on after it
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._app_state)

    def get(self, path: str, size: QSize | int = SIZE, dpr: float = 1.0, digest: bool = False) -> QPixmap | None:
        """The thumbnail if decoded (a null pixmap when unreadable), else None and a decode is queued.

        It fits ``size`` logical pixels (a side, or a QSize) on a screen of ``dpr`` device pixels per logical
        one: decoded at ``size × dpr`` device pixels, its ``devicePixelRatio`` is ``dpr``. A widget passes
        its own ``devicePixelRatioF()`` (``for_widget`` does); left out, it is 1, as before screens scaled.
        With ``digest``, the photo's content key is made with it, for ``digest(path)`` (a decode is queued for
        it even when the picture is here, decoded without it). A decode that raises (Pillow's AVIF plugin, on a file
        whose primary item names no item, raises RuntimeError where its header is read) is an unreadable picture
        too: left pending, it was never asked for again nor shown as unreadable while the app ran.
        """
        if isinstance(size, int):
            size = QSize(size, size)
        key = (path, math.ceil(size.width() * dpr), math.ceil(size.height() * dpr), float(dpr))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
        wanted = cached is None or (digest and path not in self._digests)
        if wanted and path and key not in self._pending:
            self._pending.add(key)
            self.runner.start(lambda _job, k=key: (k, _made(k, digest)), done=self._store,
                              failed=lambda _message, k=key: self._store((k, _Made(QImage(), "" if digest else None))))
        return cached

    def for_widget(self, path: str, widget: QWidget, size: QSize | int, digest: bool = False) -> QPixmap | None:
        """``get`` for a picture of ``size`` logical pixels on ``widget``, at its screen's pixel ratio."""
        return self.get(path, size, widget.devicePixelRatioF(), digest)

    def digest(self, path: str) -> str | None:
        """The photo's content key (``KEY_DIGITS`` hex digits of its SHA-256), made with a thumbnail asked for with
        ``digest``; "" when the file could not be read, None when not made yet."""
        return self._digests.get(path)

    def forget(self) -> None:
        """Drop every decoded picture and content key: a photo the catalog holds was replaced at the same path (a
        feed's photo rechecked on import, a folder's file overwritten), and its old thumbnail showed until the app
        restarted. Decodes under way still land; the rest are decoded again as they are shown."""
        self._cache.clear()
        self._digests.clear()
        self._stamps.clear()
        self._bytes = 0

    def recheck(self, paths: Iterable[str] | None = None) -> None:
        """Look again, in a worker, at the files of the thumbnails kept (of those among ``paths``, if given): each
        whose file changed since its thumbnail was read is let go of, and ``changed`` says so. A recheck asked while
        one runs follows it, once, for all the paths asked meanwhile. Only pictures kept are looked at (at most
        ``CAPACITY`` files, not every photo of a 20,000-photo folder scrolled through): one let go of is read again
        when shown, and a content key kept without its picture is made again with it."""
        if not self._runner_alive:
            return
        kept = {key[0] for key in self._cache}
        kept = kept if paths is None else kept.intersection(paths)
        if self._rechecking is not None:
            self._recheck_next |= kept
            return
        if not kept:
            return
        self._rechecking = kept
        seen = {path: self._stamps.get(path) for path in kept}
        self.runner.start(lambda job: _changed(seen, job), done=self._rechecked,
                          failed=lambda _message: self._rechecked([]))

    def _app_state(self, state: Qt.ApplicationState) -> None:
        """Back to the front, from the program the photos may have been edited, renamed or deleted in."""
        if state == Qt.ApplicationState.ApplicationActive:
            self.recheck()

    def _runner_gone(self) -> None:
        self._runner_alive = False

    def _rechecked(self, changed: list[str]) -> None:
        self._rechecking = None
        for path in changed:
            self._let_go(path)
            self.changed.emit(path)
            self.ready.emit(path)  # every widget showing it asks again, as for a picture decoded: the grid, the map
        if self._recheck_next:
            paths, self._recheck_next = self._recheck_next, set()
            self.recheck(paths)

    def _let_go(self, path: str) -> None:
        """Forget every picture of ``path`` and its content key: its file is another now."""
        for key in [k for k in self._cache if k[0] == path]:
            self._bytes -= _bytes(self._cache.pop(key))
        self._digests.pop(path, None)
        self._stamps.pop(path, None)

    def _store(self, item: tuple[Key, _Made]) -> None:
        key, made = item
        self._pending.discard(key)
        path = key[0]
        if path in self._stamps and self._stamps[path] != made.stamp:  # read from another version of the file
            self._let_go(path)
        self._stamps[path] = made.stamp
        if made.digest is not None:
            self._digests[path] = made.digest
        pixmap = QPixmap.fromImage(made.image)  # keeps the image's devicePixelRatio
        replaced = self._cache.pop(key, None)  # decoded before without its content key
        self._bytes += _bytes(pixmap) - (_bytes(replaced) if replaced is not None else 0)
        self._cache[key] = pixmap
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


class _Made(NamedTuple):
    """A thumbnail as the worker made it: the picture (null: unreadable), the photo's content key when asked for
    ("" unreadable, None not asked) and the version of the file it read (None: none could be read)."""

    image: QImage
    digest: str | None
    stamp: FileVersion | None = None


def _made(key: Key, digest: bool) -> _Made:
    """Worker side of a thumbnail: ``decode_hashed`` (with ``digest``) or ``decode_fitted`` of the key's file, and
    the version of the file read."""
    path, width, height, dpr = key
    data, stamp = _read(path)
    if data is None:
        return _Made(QImage(), "" if digest else None, stamp)
    key_hex = hashlib.sha256(data).hexdigest()[:KEY_DIGITS] if digest else None
    return _Made(_decode_bytes(data, path, width, height, dpr), key_hex, stamp)


def _changed(seen: dict[str, FileVersion | None], job: Job) -> list[str]:
    """Worker side of ``recheck``: the paths whose file is not the version ``seen`` now."""
    changed = []
    for path, was in seen.items():
        if job.cancelled():
            break
        if file_version(path) != was:
            changed.append(path)
    return changed


def _bytes(pixmap: QPixmap) -> int:
    return pixmap.width() * pixmap.height() * max(pixmap.depth(), 8) // 8


def decode_fitted(path: str, width: int, height: int, dpr: float) -> QImage:
    """The picture at ``path`` decoded to fit ``width`` × ``height`` device pixels, marked with ``dpr``; decoded
    scaled (JPEG's own downscaling), so a 4,000 px product photo never fills memory at full size. A file that
    cannot be read, or is no photo DecorLens reads, is a null image (a blank tile)."""
    return _made((path, width, height, dpr), False).image


def decode_hashed(path: str, width: int, height: int, dpr: float) -> tuple[QImage, str]:
    """``decode_fitted``, and the photo's content key: its bytes are read once, hashed and decoded from memory (a
    second read of each file to hash it would double the strip's disk reads, on a network share too). A file that
    cannot be read (gone, a FIFO named ``x.jpg``) is a blank tile without a key."""
    made = _made((path, width, height, dpr), True)
    return made.image, made.digest or ""


def _read(path: str) -> tuple[bytes | None, FileVersion | None]:
    """The bytes of the regular file at ``path`` and its version (``version_of`` the file read: None when none was).
    No bytes when it cannot be read (``engine.files.NotAFile`` is an OSError: a FIFO named ``x.jpg`` is refused, where
    Qt opening it by name blocked its worker for good), or is over ``WHOLE_READ_MAX`` (a blank tile; search still
    reads it, streaming): a 2 GB sparse file named ``x.jpg``, 8 KB on disk, took 4.3 GB and 11 s to show as a tile,
    and a larger one ended the app."""
    try:
        with open_regular(path) as fh:
            found = os.fstat(fh.fileno())
            return (None if found.st_size > WHOLE_READ_MAX else fh.read()), version_of(found)
    except OSError:
        return None, None


def _decode_bytes(data: bytes, path: str, width: int, height: int, dpr: float) -> QImage:
    """A photo's bytes decoded as ``_decode`` does, in the one format their header names (``_format``), Qt's
    guessing off. Given a file name, Qt trusted its suffix and, when the bytes said otherwise (a PNG named .jpg),
    asked every image plugin in turn; given bytes without a format, it did so always. Its SVG plugin's sniffing
    takes one of Qt's shared locks while the worker holds the GIL (the strip hung so, seen once), and its SVG and
    PDF plugins rendered files no other part of DecorLens reads. Bytes Pillow does not know are a null image; bytes
    Qt cannot decode are decoded as search decodes them (Qt's TIFF reader has no JPEG codec: a scanner's
    JPEG-compressed TIFF, which search reads, was a blank tile)."""
    found, turn, big_profile = _format(data)
    if found.isEmpty():
        return QImage()
    # HEIC, AVIF: Pillow's plugins decode them. A colour profile over ICC_MAX: Qt parsed and applied any (a crafted
    # 95 MB one took 0.9 s and ~600 MB a tile); search leaves it out, and so does the Pillow decode, alike.
    if big_profile or found not in QImageReader.supportedImageFormats():
        return _decode_with_pillow(data, path, width, height, dpr)
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, found)
    reader.setAutoDetectImageFormat(False)
    reader.setAutoTransform(True)
    # Qt's PNG reader ignores a PNG's EXIF orientation, which search applies: a turned PNG's tile lay on its side.
    turned_alike = reader.transformation() == TURNS.get(turn, _Turn.TransformationNone)
    image = _decode(reader, width, height, dpr) if turned_alike else QImage()
    del reader  # before the buffer: Qt's TIFF reader closes its file through it when it goes (a crash, after)
    return _decode_with_pillow(data, path, width, height, dpr) if image.isNull() else image


def _decode_with_pillow(data: bytes, path: str, width: int, height: int, dpr: float) -> QImage:
    """A photo in a format DecorLens reads and Qt has no plugin for (an iPhone's HEIC, AVIF), decoded as search
    decodes it (``engine.imageio``: upright, size limits) to fit ``width`` × ``height``; a null image when refused."""
    try:
        rgb = load_image_bytes(data, path, max(width, height))
    except ImageError:
        return QImage()
    x, y, w, h = kept(rgb.shape[1], rgb.shape[0])
    rgb = np.ascontiguousarray(rgb[y : y + h, x : x + w])
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    if w > width or h > height:
        image = image.scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    image.setDevicePixelRatio(dpr)
    return image


def kept(width: int, height: int) -> tuple[int, int, int, int]:
    """The part of a ``width`` × ``height`` photo its thumbnail shows (x, y, width, height): all of it, unless one side
    is over ``WIDEST`` times the other; then its centre at that shape. A 12,000 × 3,000 panorama, fitted whole to the
    Photos strip's 136 × 96 cell, was a 136 × 34 sliver no one could tell from the next; a strip of thumbnails is for
    knowing a photo at a glance, so its centre fills the width at 136 × 54. Every ordinary photo (4:3, 3:2, 16:9,
    21:9 and their upright turns) is still shown whole, and so is every square product picture."""
    w = min(width, math.ceil(height * WIDEST))
    h = min(height, math.ceil(width * WIDEST))
    return (width - w) // 2, (height - h) // 2, w, h


def _format(data: bytes) -> tuple[QByteArray, int, bool]:
    """The format of a photo's bytes, named for Qt, as Pillow reads it from the header, among the formats
    DecorLens reads (``engine.imageio.OPENERS``), "" when none; its EXIF orientation as search reads it; and whether
    it embeds a colour profile over ``ICC_MAX`` (which search ignores). By the content, not the suffix: a PNG named
    .jpg still shows."""
    try:
        with Image.open(io.BytesIO(data), formats=OPENERS) as img:
            found, turn = img.format or "", orientation(img)
            big_profile = len(img.info.get("icc_profile") or b"") > ICC_MAX
    except (OSError, ValueError, Image.DecompressionBombError):
        return QByteArray(), 1, False
    return QByteArray(("jpeg" if found == "MPO" else found.lower()).encode()), turn, big_profile


def _decode(reader: QImageReader, width: int, height: int, dpr: float) -> QImage:
    size = reader.size()
    if size.isValid():
        x, y, w, h = kept(size.width(), size.height())
        reader.setClipRect(QRect(x, y, w, h))
        # Qt scales before it turns: a photo stored on its side (EXIF 5-8) fits the box on its side, or its tile came
        # out 96 x 71 in a 136 x 96 cell instead of 128 x 96.
        box = QSize(height, width) if reader.transformation() & _Turn.TransformationRotate90 else QSize(width, height)
        reader.setScaledSize(QSize(w, h).scaled(box, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()  # a null image when unreadable: shown as a blank tile, not an error
    space = image.colorSpace()
    if space.isValid() and space.colorModel() == QColorSpace.ColorModel.Rgb and space != SRGB:
        image.convertToColorSpace(SRGB)  # Qt draws the numbers as they are: a Display P3 photo's tile was dull
    image.setDevicePixelRatio(dpr)
    return image
