"""The graphics items drawn over the photo: a round numbered pin per tag and its object's box.

Pins ignore the view's zoom (they stay finger-sized at any scale); boxes are in image pixels and only
show for the pin under the mouse or the keyboard, so the photo stays readable. A pin the view moved off its
object's point, so as not to overlap another at the zoom shown, has a leader line to that point.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsObject,
    QGraphicsRectItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.theme import GREEN
from engine.corrections import USER, Tag

RADIUS = 13.0
HALO = 6.0
RING = 1.5  # px: each of the current pin's two lines (``PinItem._paint_current_ring``)
CONFIRMED = QColor(GREEN)


class PinItem(QGraphicsObject):
    """One tag: a coloured disc with its number; a halo when current, a check when its match is confirmed."""

    hovered = Signal(int, bool)
    clicked = Signal(int)

    def __init__(self, tag: Tag, colour: str):
        super().__init__()
        self.number = tag.number
        self.colour = QColor(colour)
        self.confirmed = bool(tag.confirmed_sku)
        self.drawn = tag.origin == USER
        self.current = False
        self._hover = False
        self.point = QPointF(*tag.obj.tag)  # the object's point: where the pin goes unless another is too near
        self.setPos(self.point)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptHoverEvents(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(10)

    def boundingRect(self) -> QRectF:
        r = RADIUS + HALO + 1
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), RADIUS + 2, RADIUS + 2)
        return path

    def set_current(self, on: bool) -> None:
        self.current = on
        self.setZValue(11 if on else 10)
        self.update()

    def paint(
        self, painter: QPainter, _option: QStyleOptionGraphicsItem, _widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.current or self._hover:
            halo = QColor(self.colour)
            halo.setAlpha(110)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(halo)
            painter.drawEllipse(QPointF(0, 0), RADIUS + HALO, RADIUS + HALO)
        if self.current:
            self._paint_current_ring(painter)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 90))
        painter.drawEllipse(QPointF(0, 1.5), RADIUS + 1, RADIUS + 1)
        pen = QPen(QColor("white"), 2.5)
        pen.setStyle(Qt.PenStyle.DashLine if self.drawn else Qt.PenStyle.SolidLine)
        painter.setPen(pen)
        painter.setBrush(self.colour)
        painter.drawEllipse(QPointF(0, 0), RADIUS, RADIUS)
        self._paint_number(painter)
        if self.confirmed:
            self._paint_check(painter)

    @staticmethod
    def _paint_current_ring(painter: QPainter) -> None:
        """The current pin (the keyboard's, or the one whose matches show): a white line inside a black one at the
        halo's edge, so one of the two stands 3:1 or more on any photo. The see-through halo alone stood under 2:1
        from a dark photo (every category's), 1.6:1 from a white one (the rug's grey) and 1.0:1 from a mid grey, so on
        a dark bedroom the keyboard's pin looked like the others. Within ``RADIUS + HALO``, the reach the view
        keeps the legend and the card from."""
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for colour, radius in ((Qt.GlobalColor.white, RADIUS + HALO - 2.25), (Qt.GlobalColor.black, RADIUS + HALO - 0.75)):
            painter.setPen(QPen(colour, RING))
            painter.drawEllipse(QPointF(0, 0), radius, radius)

    def _paint_number(self, painter: QPainter) -> None:
        font = QFont(painter.font())
        font.setPixelSize(12 if self.number < 100 else 10)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(
            QRectF(-RADIUS, -RADIUS, 2 * RADIUS, 2 * RADIUS), Qt.AlignmentFlag.AlignCenter, str(self.number)
        )

    def _paint_check(self, painter: QPainter) -> None:
        centre = QPointF(RADIUS * 0.75, -RADIUS * 0.75)
        painter.setPen(QPen(QColor("white"), 1.5))
        painter.setBrush(CONFIRMED)
        painter.drawEllipse(centre, 6.5, 6.5)
        tick = QPen(QColor("white"), 1.8)
        tick.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(tick)
        painter.drawPolyline(
            [centre + QPointF(-3, 0), centre + QPointF(-1, 2.5), centre + QPointF(3.2, -2.5)]
        )

    def hoverEnterEvent(self, event) -> None:
        self._hover = True
        self.update()
        self.hovered.emit(self.number, True)

    def hoverLeaveEvent(self, event) -> None:
        self._hover = False
        self.update()
        self.hovered.emit(self.number, False)

    def mousePressEvent(self, event) -> None:
        event.accept()
        self.clicked.emit(self.number)


class LeaderItem(QGraphicsLineItem):
    """A thin line from a pin moved aside to its object's point, marked by a small dot (as the shoppable page
    draws them): the pin no longer covers what it tags."""

    def __init__(self, colour: str):
        super().__init__()
        pen = QPen(QColor("white"), 1.5)
        pen.setCosmetic(True)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.setPen(pen)
        self.dot = QGraphicsEllipseItem(-3, -3, 6, 6, self)
        self.dot.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.dot.setPen(QPen(QColor("white"), 1.5))
        self.dot.setBrush(QColor(colour))
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(9)  # under every pin
        self.hide()

    def lead(self, point: QPointF, pin: QPointF) -> None:
        self.setLine(point.x(), point.y(), pin.x(), pin.y())
        self.dot.setPos(point)


class BoxItem(QGraphicsRectItem):
    """The detected (or drawn) box of one tag, in image pixels."""

    def __init__(self, tag: Tag, colour: str):
        x1, y1, x2, y2 = tag.obj.box
        super().__init__(QRectF(x1, y1, x2 - x1, y2 - y1))
        pen = QPen(QColor(colour), 2.5)
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        fill = QColor(colour)
        fill.setAlpha(40)
        self.setBrush(QBrush(fill))
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self.setZValue(5)
        self.hide()


class BandItem(QGraphicsRectItem):
    """The box being drawn with the mouse; it stays on screen while its region is searched."""

    def __init__(self, origin: QPointF):
        super().__init__(QRectF(origin, origin))
        self.origin = origin
        pen = QPen(QColor("white"), 2)
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.setBrush(QColor(255, 255, 255, 50))
        self.setZValue(20)

    def stretch_to(self, point: QPointF) -> None:
        self.setRect(QRectF(self.origin, point).normalized())
