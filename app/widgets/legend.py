"""The legend over the photo: which colour is which category, placed where it covers no pin."""

from __future__ import annotations

import html
from collections import Counter

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from app import theme
from app.labels import dot_html, pretty
from app.palette import CategoryColours
from app.widgets.floating import MARGIN, make_floating

RADIUS = theme.FLOATING["legend"][1]  # the corners the theme gives it
from engine.corrections import Tag


class Legend(QFrame):
    """Which colour is which category, with how many tags of each are on the photo.

    It never covers a pin, and it folds to a one-line chip of dots only where its names fit nowhere: ``place``
    puts the full list in a corner of the view's empty bands beside a letterboxed photo, else in the first
    corner of the view free of pins (a corner of a band spills into the photo, away from its pins), and only
    then the chip, in a band or a free corner; hidden when not even the chip fits.
    """

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("legend")
        make_floating(self)
        self.label = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 12, 6)
        layout.addWidget(self.label)
        self.counts: list[tuple[str, str, int]] = []  # (colour, category, tags), most tags first
        self.full = self.folded = ""
        self.hide()

    def show_tags(self, tags: list[Tag], colours: CategoryColours) -> None:
        """New content; the caller then calls ``place`` with where the pins are."""
        self.counts = [(colours.colour(c), c, n) for c, n in Counter(t.obj.category for t in tags).most_common()]
        self._write()

    def _write(self) -> None:
        """The full list and the folded chip, the counts in the theme's muted colour."""
        muted = theme.colours().muted
        rows = [f"{dot_html(colour)} {html.escape(pretty(c))} <span style='color:{muted};'>{n}</span>"
                for colour, c, n in self.counts]
        self.full = "<b>Tags</b><br>" + "<br>".join(rows) if rows else ""
        self.folded = "<b>Tags</b> " + "".join(dot_html(colour) for colour, _c, _n in self.counts) if rows else ""

    def changeEvent(self, event: QEvent) -> None:
        """The theme changed under a shown legend: its counts take the new muted colour at once (the text
        is HTML, which no stylesheet reaches); the size stays, only colours change."""
        if event.type() == QEvent.Type.PaletteChange and self.counts:
            folded = self.label.text() == self.folded
            self._write()
            self.label.setText(self.folded if folded else self.full)
            if self.toolTip():
                self.setToolTip(self.full)
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        """An opaque backing in the theme's base colour, over the theme's see-through one: a tenth of a busy
        photo showing through took the grey counts below 4.5:1 (4.3 over black in the light theme, 4.2 over
        white in the dark one). The same box, so it hides no more of the photo."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.colours().base))
        painter.drawRoundedRect(QRectF(self.rect()), RADIUS, RADIUS)

    def place(self, pins: list[QPoint], bands: list[QRect], view: QRect, clearance: int) -> None:
        """Into a corner with no pin within ``clearance`` px: the full list in one of ``bands``, else in ``view``;
        the chip likewise where the list fits neither; hidden if none is free. Bands first for each: there the
        legend hides no photo. The chip was tried in a band before the list in the view, so opening the Photos
        strip or the panel (a narrower view, the photo letterboxed above and below) folded the names to dots
        though a corner of the view had room for them."""
        for text in (self.full, self.folded):
            if not text:
                break
            self.label.setText(text)
            self.adjustSize()
            for areas in (bands, [view]):
                corner = next((c for area in areas if (c := free_corner(self.size(), pins, area, clearance))), None)
                if corner is not None:
                    self.setToolTip(self.full if text is self.folded else "")  # the chip's names, on hover
                    self.move(corner)
                    self.show()
                    self.raise_()
                    return
        self.hide()


def free_corner(size: QSize, pins: list[QPoint], area: QRect, clearance: int) -> QPoint | None:
    """Top-left, top-right, bottom-left or bottom-right of ``area`` (inset by MARGIN): the first
    position where a ``size`` box keeps ``clearance`` px from every pin, or None (also when it does not fit)."""
    if size.width() + 2 * MARGIN > area.width() or size.height() + 2 * MARGIN > area.height():
        return None
    left, top = area.left() + MARGIN, area.top() + MARGIN
    right, bottom = area.right() - MARGIN - size.width(), area.bottom() - MARGIN - size.height()
    for x, y in ((left, top), (right, top), (left, bottom), (right, bottom)):
        box = QRect(QPoint(x, y), size).adjusted(-clearance, -clearance, clearance, clearance)
        if x >= area.left() and y >= area.top() and not any(box.contains(p) for p in pins):
            return QPoint(x, y)
    return None
