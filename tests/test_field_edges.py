"""A field to type or choose in shows its edge on every panel, in both themes: found at 200 % in the dark theme
(a low-vision user's setting), where Batch's and Settings' fields were told from the panel by their words alone.
The line edit's border was the theme's line colour, 1.2:1 to 1.6:1 on the panels; Fusion outlined a combo box
and a spin box in a shade of the panel, 1.3:1. WCAG 1.4.11 asks 3:1 of what identifies a control. Measured on the
grab, at the left edge of each field, on a dialog's panel and inside a group box. Offscreen (pytest-qt)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from contrast import SHAPE_CONTRAST, contrast
from PySide6.QtWidgets import QComboBox, QDialog, QGroupBox, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from app import theme

pytestmark = pytest.mark.gui


@pytest.fixture(params=["light", "dark"])
def themed(request, qapp):
    """The app styled in each theme, and back to light after (other tests expect it)."""
    theme.apply(qapp, request.param)
    yield theme.colours(qapp)
    theme.apply(qapp, "light")


def fields(parent: QWidget) -> list[QWidget]:
    """A line edit, a combo box and a spin box laid out in ``parent``."""
    combo = QComboBox()
    combo.addItem("Every object found")
    made = [QLineEdit(placeholderText="folder of room photos"), combo, QSpinBox()]
    layout = QVBoxLayout(parent)
    for field in made:
        layout.addWidget(field)
    return made


def test_every_field_shows_its_edge_on_the_panels(qtbot, themed):
    dialog = QDialog()
    qtbot.addWidget(dialog)
    group = QGroupBox("Tags and matches")
    layout = QVBoxLayout(dialog)
    plain = QWidget()
    layout.addWidget(plain)
    layout.addWidget(group)
    placed = [(f, themed.window) for f in fields(plain)] + [(f, themed.base) for f in fields(group)]
    dialog.show()
    qtbot.waitExposed(dialog)
    weak = []
    for field, ground in placed:
        image = field.grab().toImage()
        edge = image.pixelColor(0, image.height() // 2)
        ratio = contrast(edge, ground)
        if ratio < SHAPE_CONTRAST:
            weak.append(f"{type(field).__name__} on {ground}: {edge.name()} {ratio:.2f}:1")
    assert not weak, weak
