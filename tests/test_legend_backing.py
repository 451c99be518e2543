"""The Tags legend over the photo: its text readable (WCAG AA, 4.5:1) whatever the photo under it, in the light
and the dark theme. Its backing let a tenth of the photo through, which took the grey counts to 4.3:1 over a dark
photo in the light theme and 4.2:1 over a bright one in the dark theme."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from contrast import TEXT_CONTRAST, contrast
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QApplication, QLabel

from app import theme
from app.palette import CategoryColours
from app.widgets.legend import Legend
from engine.corrections import Tag
from engine.results import SceneObject

BUSY = "ikea-a-bed-that-folds-away-to-be-a-sofa-by-day__1364309472525-s4"  # bookshelf, frames, a window


def photos(ikea: Path) -> dict[str, QPixmap]:
    """A real room photo, and the two extremes any photo's pixels lie between."""
    real = QPixmap(str(ikea / "scenes" / f"{BUSY}.jpg")).scaled(QSize(800, 600), Qt.AspectRatioMode.IgnoreAspectRatio)
    black, white = QPixmap(800, 600), QPixmap(800, 600)
    black.fill(QColor("#000000"))
    white.fill(QColor("#ffffff"))
    return {"room": real, "black": black, "white": white}


@pytest.mark.parametrize("name", ["light", "dark"])
def test_the_legends_text_is_readable_over_any_photo(qtbot, ikea: Path, name: str, tmp_path: Path) -> None:
    app = QApplication.instance()
    theme.apply(app, name)
    try:
        for what, pixmap in photos(ikea).items():
            photo = QLabel()
            photo.setPixmap(pixmap)
            photo.resize(pixmap.size())
            qtbot.addWidget(photo)
            legend = Legend(photo)
            tags = [Tag(n, SceneObject(c, c, 0.8, (10, 10, 90, 90), (50, 50), [])) for n, c in
                    enumerate(("lamp", "chair", "chair", "bookshelf"), 1)]
            legend.show_tags(tags, CategoryColours())
            legend.place([], [], photo.rect(), 0)
            photo.show()
            assert legend.isVisible()
            # no bigger than before: its label and the layout's margins, nothing added around them
            assert legend.size() == legend.label.sizeHint() + QSize(22, 12), legend.size()
            image = photo.grab().toImage()
            image.save(str(tmp_path.parent / f"legend-{name}-{what}.png"))
            box = legend.geometry()
            # the backing as drawn: the right-hand padding, clear of the text and the rounded corners
            ground = [image.pixelColor(x, y) for x in range(box.right() - 10, box.right() - 3)
                      for y in range(box.top() + 8, box.bottom() - 7)]
            colours = theme.colours(app)
            for ink in (colours.text, colours.muted):
                worst = min(contrast(ink, g) for g in ground)
                assert worst >= TEXT_CONTRAST, f"{ink} on the {name} legend over a {what} photo: {worst:.2f}:1"
    finally:
        theme.apply(app, "light")
