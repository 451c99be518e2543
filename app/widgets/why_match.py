"""*Why this match?*: the tag's crop and the product photo, each under the heat of where they agree.

The heat maps come from ``engine.explain`` (computed in a worker); this widget only shows them, so a
user sees whether a match came from the object or from the floor, wall or table around it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QWidget

from app.labels import plain_label
from app.thumbnails import fit

SIDE = 150  # px: the two pictures side by side fit the panel's minimum width
EXPLAINED = "Bright: the parts of your photo and of {product} that look most alike (the match came from there)."


def pixmap_of(rgb: np.ndarray) -> QPixmap:
    """A QPixmap holding a copy of an (H, W, 3) uint8 RGB array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QPixmap.fromImage(QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy())


class WhyMatch(QFrame):
    """Two pictures with their heat maps and a line saying how to read them (or why there are none)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("whyMatch")
        self.crop = self._picture("The object in your photo")
        self.product = self._picture("The product photo")
        self.note = plain_label()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.crop, 0, 0)
        layout.addWidget(self.product, 0, 1)
        layout.addWidget(self.note, 1, 0, 1, 2)

    @staticmethod
    def _picture(what: str) -> QLabel:
        label = QLabel()
        label.setFixedSize(SIDE, SIDE)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setToolTip(what)
        label.setAccessibleName(what)
        return label

    def show_busy(self, product: str) -> None:
        """``product`` names the match explained (title and SKU): the heat shows on that row only, and a name
        can be twice in the list, so "the product" did not say which one."""
        self.crop.clear()
        self.product.clear()
        self.note.setText(f"Comparing the object with {product}…")

    def show_failed(self, message: str) -> None:
        self.crop.clear()
        self.product.clear()
        self.note.setText(f"Cannot show why: {message}")

    def show_overlays(self, crop: np.ndarray, product: np.ndarray, name: str) -> None:
        """The crop and the product photo with their heat already laid over them (RGB uint8); ``name`` as for
        ``show_busy``. Each is scaled to ``SIDE`` times the screen's pixel ratio: at 150 % a picture scaled to
        ``SIDE`` pixels was stretched again by Qt, blurred beside the sharp text."""
        for label, rgb in ((self.crop, crop), (self.product, product)):
            label.setPixmap(fit(pixmap_of(rgb), QSize(SIDE, SIDE), label.devicePixelRatioF()))
        self.note.setText(EXPLAINED.format(product=name))
