"""Widgets floating over the photo: the hover card of a pin, the category legend, hint and busy labels.

They are children of the view's viewport (not tooltips or top-level windows) so they move with the
window, show up in screenshots, and never take the mouse away from the pins underneath.
"""

from __future__ import annotations

import html
from collections import Counter

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QFrame, QGraphicsDropShadowEffect, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.corrections import Tag
from app.palette import CategoryColours
from app.thumbnails import Thumbnails
from app.widgets import Thumb, badge_html, dot_html, pretty, product_detail, product_title

CARD_GAP = 22
MARGIN = 10


def _floating(widget: QFrame, radius: int = 8, opacity: float = 0.96) -> None:
    widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    widget.setStyleSheet(
        f"QFrame#{widget.objectName()}{{background:rgba(255,255,255,{int(opacity * 255)});"
        f"border-radius:{radius}px;}} QLabel{{background:transparent;color:#1f2328;}}"
    )
    shadow = QGraphicsDropShadowEffect(widget)
    shadow.setBlurRadius(18)
    shadow.setOffset(0, 2)
    widget.setGraphicsEffect(shadow)


class HoverCard(QFrame):
    """The best match of one tag: picture, name, sku and category, exact/similar with its score."""

    def __init__(self, thumbnails: Thumbnails, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("hoverCard")
        _floating(self)
        self.thumb = Thumb(thumbnails, 84)
        self.heading = QLabel()
        self.name = QLabel()
        self.name.setTextFormat(Qt.TextFormat.PlainText)  # a product name is catalog data, never HTML
        self.name.setStyleSheet("font-weight:600;font-size:14px;")
        self.detail = QLabel()
        self.detail.setTextFormat(Qt.TextFormat.RichText)  # escaped catalog text plus markup of our own
        self.badge = QLabel()
        self.hint = QLabel('<span style="color:#6b7280;">Click for all matches</span>')
        text = QVBoxLayout()
        text.setSpacing(2)
        for label in (self.heading, self.name, self.detail, self.badge, self.hint):
            text.addWidget(label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 14, 10)
        layout.addWidget(self.thumb)
        layout.addLayout(text)
        self.number = 0
        self.hide()

    def show_tag(self, tag: Tag, colour: str, anchor: QPoint, bounds: QRect) -> None:
        """Fill in and place beside ``anchor`` (the pin), flipping left or up to stay inside ``bounds``."""
        self.number = tag.number
        best = tag.best
        self.heading.setText(
            f"{dot_html(colour)} <b>{tag.number}</b> · {html.escape(pretty(tag.obj.category))}"
        )
        if best is None:
            self.thumb.show_path("")
            self.name.setText("No match in the catalog")
            self.detail.setText(f"searched: {html.escape(pretty(tag.obj.category))}")
            self.badge.setText("")
        else:
            self.thumb.show_path(best.image_path)
            self.name.setText(product_title(best.name, best.sku, best.category))
            confirmed = (
                " · <b style='color:#2e9d49;'>✓ confirmed</b>" if tag.confirmed_sku == best.sku else ""
            )
            self.detail.setText(
                f"{html.escape(product_detail(best.name, best.sku, best.category))}{confirmed}"
            )
            self.badge.setText(badge_html(best))
        self.show()  # polish first: the stylesheet fonts change the size adjustSize computes
        self.adjustSize()
        self.move(self._place(anchor, bounds))
        self.raise_()

    def _place(self, anchor: QPoint, bounds: QRect) -> QPoint:
        x = anchor.x() + CARD_GAP
        if x + self.width() > bounds.right() - MARGIN:
            x = anchor.x() - CARD_GAP - self.width()
        y = anchor.y() - self.height() // 2
        y = max(bounds.top() + MARGIN, min(y, bounds.bottom() - MARGIN - self.height()))
        return QPoint(max(bounds.left() + MARGIN, x), y)


class Legend(QFrame):
    """Which colour is which category, with how many tags of each are on the photo.

    It never covers a pin: ``place`` puts it in the first corner of the view free of pins, folds it
    to a one-line chip when the full list fits in none, and hides it when not even the chip does.
    """

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("legend")
        _floating(self, radius=6, opacity=0.9)
        self.label = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 12, 6)
        layout.addWidget(self.label)
        self.full = self.folded = ""
        self.hide()

    def show_tags(self, tags: list[Tag], colours: CategoryColours) -> None:
        """New content; the caller then calls ``place`` with where the pins are."""
        counts = Counter(t.obj.category for t in tags)
        rows = [
            f"{dot_html(colours.colour(c))} {html.escape(pretty(c))} <span style='color:#6b7280;'>{n}</span>"
            for c, n in counts.most_common()
        ]
        self.full = "<b>Tags</b><br>" + "<br>".join(rows) if rows else ""
        self.folded = "<b>Tags</b> " + "".join(dot_html(colours.colour(c)) for c in counts) if rows else ""

    def place(self, pins: list[QPoint], area: QRect, clearance: int) -> None:
        """Into a corner of ``area`` with no pin within ``clearance`` px; folded, or hidden, if none is free."""
        for text in (self.full, self.folded):
            if not text:
                break
            self.label.setText(text)
            self.adjustSize()
            corner = free_corner(self.size(), pins, area, clearance)
            if corner is not None:
                self.move(corner)
                self.show()
                self.raise_()
                return
        self.hide()


def free_corner(size: QSize, pins: list[QPoint], area: QRect, clearance: int) -> QPoint | None:
    """Top-left, top-right, bottom-left or bottom-right of ``area`` (inset by MARGIN): the first
    position where a ``size`` box keeps ``clearance`` px from every pin, or None."""
    left, top = area.left() + MARGIN, area.top() + MARGIN
    right, bottom = area.right() - MARGIN - size.width(), area.bottom() - MARGIN - size.height()
    for x, y in ((left, top), (right, top), (left, bottom), (right, bottom)):
        box = QRect(QPoint(x, y), size).adjusted(-clearance, -clearance, clearance, clearance)
        if x >= area.left() and y >= area.top() and not any(box.contains(p) for p in pins):
            return QPoint(x, y)
    return None


class Notice(QLabel):
    """A centred line over the photo: what to do first, or what is running."""

    def __init__(self, parent: QWidget, big: bool = False):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(big)
        style = (
            "color:#e5e7eb;font-size:17px;line-height:150%;"
            if big
            else "color:white;background:rgba(20,20,20,0.75);border-radius:14px;padding:6px 16px;"
        )
        self.setStyleSheet(style)
        self.big = big
        self.hide()

    def show_text(self, text: str) -> None:
        self.setText(text)
        self.show()
        self.raise_()
        self.place()

    def place(self) -> None:
        area = self.parentWidget().rect()
        if self.big:
            self.setGeometry(area.adjusted(40, 40, -40, -40))
        else:
            self.adjustSize()
            self.move((area.width() - self.width()) // 2, area.height() - self.height() - 18)
