"""*Why this match?*: the tag's crop and the product photo, each under the heat of where they agree.

The heat maps come from ``engine.explain`` (computed in a worker); this widget only shows them, so a
user sees whether a match came from the object or from the floor, wall or table around it.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QWidget

from app.labels import plain_label
from app.thumbnails import fit

SIDE = 150  # px: the two pictures side by side fit the panel's minimum width
LEAST = 72  # px: the side they shrink to where the window is short (a 1920 × 1200 screen at 200 %)
WIDE = 2.0  # a crop this many times as wide as tall (a bed, a sideboard) goes over the product photo, not beside it
EXPLAINED = "Bright: the parts of your photo and of {product} that look most alike (the match came from there)."


def pixmap_of(rgb: np.ndarray) -> QPixmap:
    """A QPixmap holding a copy of an (H, W, 3) uint8 RGB array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QPixmap.fromImage(QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy())


class HeatPicture(QLabel):
    """One of the two pictures: ``SIDE`` square where there is room, down to ``LEAST`` where the window is short,
    its picture fitted to the size it is given at the screen's pixel ratio. At a fixed ``SIDE`` the open pictures
    made the main window's least height 578 px, taller than a 960 × 600 screen (1920 × 1200 at 200 %) with its
    title bar: the window grew past the screen's edge, its status bar out of sight. A ``wide`` picture is as wide
    as the two side by side, as tall as its shape asks (``SIDE`` at most), down to half ``LEAST``: a 4:1 crop of a
    bed in a ``SIDE`` square was a strip 37 px tall, its heat unreadable."""

    def __init__(self, what: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.source: QPixmap | None = None
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setToolTip(what)
        self.setAccessibleName(what)

    @property
    def wide(self) -> bool:
        return self.source is not None and self.source.width() >= WIDE * self.source.height()

    def sizeHint(self) -> QSize:
        if not self.wide:
            return QSize(SIDE, SIDE)
        return QSize(2 * SIDE, min(SIDE, math.ceil(2 * SIDE * self.source.height() / self.source.width())))

    def minimumSizeHint(self) -> QSize:
        return QSize(LEAST, LEAST // 2 if self.wide else LEAST)

    def show_picture(self, pixmap: QPixmap | None) -> None:
        self.source = pixmap
        self.updateGeometry()  # a wide picture asks another size
        self._fit()

    def _fit(self) -> None:
        if self.source is None:
            self.clear()
            return
        room = self.sizeHint().boundedTo(self.size()).expandedTo(QSize(1, 1))
        self.setPixmap(fit(self.source, room, self.devicePixelRatioF()))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def event(self, event: QEvent) -> bool:
        """Moved to a screen of another scale: the picture is made again for it."""
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self._fit()
        return super().event(event)


class WhyMatch(QFrame):
    """Two pictures with their heat maps and a line saying how to read them (or why there are none)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("whyMatch")
        self.crop = HeatPicture("The object in your photo")
        self.product = HeatPicture("The product photo")
        self.note = plain_label()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 4, 0, 4)
        self._arrange()

    def show_busy(self, product: str) -> None:
        """``product`` names the match explained (title and SKU): the heat shows on that row only, and a name
        can be twice in the list, so "the product" did not say which one."""
        self.crop.show_picture(None)
        self.product.show_picture(None)
        self.note.setText(f"Comparing the object with {product}…")

    def show_failed(self, message: str) -> None:
        self.crop.show_picture(None)
        self.product.show_picture(None)
        self.note.setText(f"Cannot show why: {message}")

    def show_overlays(self, crop: np.ndarray, product: np.ndarray, name: str) -> None:
        """The crop and the product photo with their heat already laid over them (RGB uint8); ``name`` as for
        ``show_busy``. Each is scaled to its side times the screen's pixel ratio: at 150 % a picture scaled to
        ``SIDE`` pixels was stretched again by Qt, blurred beside the sharp text."""
        for label, rgb in ((self.crop, crop), (self.product, product)):
            label.show_picture(pixmap_of(rgb))
        self._arrange()
        self.note.setText(EXPLAINED.format(product=name))

    def _arrange(self) -> None:
        """The crop beside the product photo, or over it, each as wide as both, where the crop is ``wide``."""
        for widget in (self.crop, self.product, self.note):
            self.grid.removeWidget(widget)
        if self.crop.wide:
            self.grid.addWidget(self.crop, 0, 0, 1, 2)
            self.grid.addWidget(self.product, 1, 0, 1, 2)
        else:
            self.grid.addWidget(self.crop, 0, 0)
            self.grid.addWidget(self.product, 0, 1)
        self.grid.addWidget(self.note, 2, 0, 1, 2)
