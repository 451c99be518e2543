"""A field to type or choose in shows its edge on every panel, in both themes: found at 200 % in the dark theme
(a low-vision user's setting), where Batch's and Settings' fields were told from the panel by their words alone.
The line edit's border was the theme's line colour, 1.2:1 to 1.6:1 on the panels; Fusion outlined a combo box
and a spin box in a shade of the panel, 1.3:1. WCAG 1.4.11 asks 3:1 of what identifies a control. Measured on the
grab, at the left edge of each field, on a dialog's panel and inside a group box. A scroll bar's thumb, a shade of
its groove in Fusion (1.1:1 in both themes), likewise. Offscreen (pytest-qt)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from contrast import SHAPE_CONTRAST, contrast
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGroupBox,
    QLineEdit,
    QListWidget,
    QSpinBox,
    QStyle,
    QStyleOptionSlider,
    QVBoxLayout,
    QWidget,
)

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


def test_a_scroll_bars_thumb_stands_out_from_its_groove(qtbot, themed):
    """Settings' categories, the catalog, Train's counts: where the list is, told by the thumb."""
    rows = QListWidget()
    qtbot.addWidget(rows)
    rows.addItems([f"Category {n}" for n in range(200)])
    rows.resize(300, 300)
    rows.show()
    qtbot.waitExposed(rows)
    bar = rows.verticalScrollBar()
    image = bar.grab().toImage()
    middle = bar.width() // 2
    option = QStyleOptionSlider()
    bar.initStyleOption(option)
    thumb = bar.style().subControlRect(QStyle.ComplexControl.CC_ScrollBar, option, QStyle.SubControl.SC_ScrollBarSlider, bar)
    inside = image.pixelColor(middle, thumb.center().y())
    groove = image.pixelColor(middle, (thumb.bottom() + bar.height()) // 2)  # below the thumb, above the arrow
    assert contrast(inside, groove) >= SHAPE_CONTRAST, (inside.name(), groove.name())

