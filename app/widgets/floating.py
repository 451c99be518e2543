"""What the widgets floating over the photo share (hover card, legend): a rounded card that lets the mouse through.

They are children of the view's viewport (not tooltips or top-level windows) so they move with the
window, show up in screenshots, and never take the mouse away from the pins underneath.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGraphicsDropShadowEffect

MARGIN = 10  # px kept between a floating widget and the view's edge


def make_floating(widget: QFrame, radius: int = 8, opacity: float = 0.96) -> None:
    """Style ``widget`` as a translucent card with a shadow that never takes mouse events."""
    widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    widget.setStyleSheet(
        f"QFrame#{widget.objectName()}{{background:rgba(255,255,255,{int(opacity * 255)});"
        f"border-radius:{radius}px;}} QLabel{{background:transparent;color:#1f2328;}}"
    )
    shadow = QGraphicsDropShadowEffect(widget)
    shadow.setBlurRadius(18)
    shadow.setOffset(0, 2)
    widget.setGraphicsEffect(shadow)
