"""The Catalog tab's *Where used* panel: the tagged photos a product was matched in, and what goes with it.

The scene memory (``engine.scene_memory``) is read in a worker, and each sighting's object is cut
from its photo there too (as a QImage: only pixmaps are bound to the UI thread), so selecting a
product never waits for disk. Double-clicking a sighting asks for its photo to be opened on that tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.labels import plain_label, pretty, product_title, rich_tooltip
from app.workers import Runner
from engine.crops import crop
from engine.errors import DecorLensError
from engine.imageio import load_image
from engine.pipeline import Pipeline
from engine.scene_memory import Sighting, goes_with, where_used

CROP = QSize(96, 96)
SHOWN = 30  # sightings listed (best first); the CLI lists them all


@dataclass
class Found:
    """What the panel shows for one product, gathered in a worker."""

    sku: str
    title: str
    sightings: list[tuple[Sighting, QImage]]
    together: list[tuple[str, str, int]]  # sku, title, photos


def gather(pipeline: Pipeline, sku: str, dpr: float = 1.0) -> Found:
    """Worker side: the product's sightings with their objects cut out (for a screen of pixel ratio ``dpr``),
    and the products that go with it."""
    catalog = pipeline.catalog
    product = catalog.get_by_sku(sku)
    title = product_title(product.name, sku, product.category) if product else sku
    photos: dict[str, np.ndarray | None] = {}
    sightings = []
    for seen in where_used(catalog, sku, SHOWN):
        if seen.photo not in photos:
            photos[seen.photo] = _pixels(seen.photo)
        sightings.append((seen, _object_image(photos[seen.photo], seen, dpr)))
    together = []
    for other, count in goes_with(catalog, sku):
        p = catalog.get_by_sku(other)
        together.append((other, product_title(p.name, other, p.category) if p else other, count))
    return Found(sku, title, sightings, together)


def _pixels(photo: str) -> np.ndarray | None:
    try:
        return load_image(photo)  # decoded as the search decoded it, so the boxes fit
    except DecorLensError:
        return None  # moved or deleted since it was tagged: listed without a picture


def _object_image(pixels: np.ndarray | None, seen: Sighting, dpr: float) -> QImage:
    """The object at ``CROP`` logical pixels: ``CROP`` × ``dpr`` device pixels, marked with ``dpr`` (sharp at 200 %)."""
    if pixels is None:
        return QImage()
    part = np.ascontiguousarray(crop(pixels, seen.box, 0.0))
    h, w = part.shape[:2]
    image = QImage(part.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    image = image.scaled(CROP * dpr, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    image.setDevicePixelRatio(dpr)
    return image


class WhereUsedPanel(QWidget):
    tagRequested = Signal(Path, int)  # a sighting double-clicked: open its photo on that tag
    failed = Signal(str)

    def __init__(self, pipeline: Pipeline, io: Runner, parent: QWidget | None = None):
        super().__init__(parent)
        self.pipeline, self.io = pipeline, io
        self.sku = ""
        self._asked = 0  # which show_product (or clear) came last: only its answer is shown
        self.title = plain_label("Select a product to see where it is used.")
        self.title.setWordWrap(True)
        self.sightings = QListWidget(objectName="whereUsed")
        self.sightings.setAccessibleName("Where used")
        self.sightings.setIconSize(CROP)
        self.sightings.setViewMode(QListView.ViewMode.ListMode)
        self.sightings.setWordWrap(True)
        self.sightings.itemActivated.connect(self._activated)
        self.together_label = plain_label("Goes with")
        self.together = QListWidget(objectName="goesWith", wordWrap=True)
        self.together.setAccessibleName("Goes with")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.sightings, 3)
        layout.addWidget(self.together_label)
        layout.addWidget(self.together, 1)

    def show_product(self, sku: str) -> None:
        """List ``sku``'s sightings; a later call, or a clear, wins over one still being gathered (the same
        product asked again of another data dir included: the old catalog's answer may come last)."""
        self.sku, self._asked = sku, self._asked + 1
        pipeline, asked, dpr = self.pipeline, self._asked, self.sightings.devicePixelRatioF()
        self.io.start(
            lambda _job: gather(pipeline, sku, dpr),
            done=lambda found: asked == self._asked and self._show(found),
            failed=self.failed.emit,
        )

    def clear(self) -> None:
        self.sku, self._asked = "", self._asked + 1
        self.title.setText("Select a product to see where it is used.")
        self.sightings.clear()
        self.together.clear()

    def _show(self, found: Found) -> None:
        self.sightings.clear()
        self.together.clear()
        photos = len({s.photo for s, _ in found.sightings})
        self.title.setText(
            f"Where used: {found.title} — best match in {photos} photo{'s' if photos != 1 else ''}"
            if found.sightings else f"Where used: {found.title} — not matched in any tagged photo yet"
        )
        for seen, image in found.sightings:
            how = "confirmed" if seen.confirmed else seen.kind
            item = QListWidgetItem(f"{Path(seen.photo).name}\n{pretty(seen.category)} · {how} {seen.score:.2f}")
            item.setIcon(QIcon(QPixmap.fromImage(image)) if not image.isNull() else QIcon())
            item.setData(Qt.ItemDataRole.UserRole, (seen.photo, seen.number))
            item.setToolTip(rich_tooltip(seen.photo + ("" if seen.exists else "\n(the photo is gone)")))
            self.sightings.addItem(item)
        for sku, title, count in found.together:
            self.together.addItem(f"{title} · {sku} · {count} photo{'s' if count != 1 else ''}")
        self.together_label.setVisible(bool(found.together))
        self.together.setVisible(bool(found.together))

    def _activated(self, item: QListWidgetItem) -> None:
        photo, number = item.data(Qt.ItemDataRole.UserRole)
        self.tagRequested.emit(Path(photo), number)
