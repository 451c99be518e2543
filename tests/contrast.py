"""WCAG contrast, as the look tests measure text and shapes against what they are drawn on."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QWidget

TEXT_CONTRAST = 4.5  # WCAG AA, text of a normal size
SHAPE_CONTRAST = 3.0  # WCAG 1.4.11, what a control is seen by (a check box's square)
SWITCHES = [("light", "dark"), ("dark", "light")]  # shown in the first theme, then the app switched to the second


def luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast(one: QColor | str, other: QColor | str) -> float:
    light, dark = sorted((luminance(QColor(one)), luminance(QColor(other))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def colours_drawn(widget: QWidget) -> set[str]:
    """Every colour among the widget's pixels as drawn now."""
    image = widget.grab().toImage()
    return {image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())}


def settle(qtbot) -> None:
    """The theme's palette and style change reach the widgets through the event loop."""
    QApplication.processEvents()
    qtbot.wait(1)
