"""What the widgets floating over the photo share (hover card, legend): a rounded card that lets the mouse through.

They are children of the view's viewport (not tooltips or top-level windows) so they move with the
window, show up in screenshots, and never take the mouse away from the pins underneath. The theme's
stylesheet colours them by object name (``app.theme.FLOATING``), so they follow the light or dark theme.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGraphicsDropShadowEffect

MARGIN = 10  # px kept between a floating widget and the view's edge


def make_floating(widget: QFrame) -> None:
    """Make ``widget`` a card with a shadow that never takes mouse events; its object name must be one the
    theme colours (``app.theme.FLOATING``)."""
    widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    shadow = QGraphicsDropShadowEffect(widget)
    shadow.setBlurRadius(18)
    shadow.setOffset(0, 2)
    widget.setGraphicsEffect(shadow)
