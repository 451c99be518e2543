"""The card beside a hovered pin: the tag's best match (or the one a check of details put first), its picture,
name and how sure the match is."""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Sequence
from typing import NamedTuple

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.labels import GONE, badge_html, dot_html, evidence_html, pretty, product_detail, product_title
from app.thumbnails import Thumbnails
from app.widgets.floating import MARGIN, make_floating
from app.widgets.pins import CONFIRMED, HALO, RADIUS
from app.widgets.thumb import Thumb
from engine.corrections import Tag
from engine.rerank import Checked
from engine.results import Match

CARD_GAP = 22  # px from the pin's centre to the card: more than the pin's reach
REACH = math.ceil(RADIUS + HALO)  # px from a pin's centre to the edge of its halo: a card this near covers part of it
SIDES = ("right", "left", "below", "above")  # where the card goes, the first that suits
NAME_WIDTH = 300  # px: a product's name or detail line longer than this is cut with "…"
CLICK = "Click for all matches"
KEY = "Enter for all matches"  # the card of a pin reached with Tab: no mouse is on it to click
LISTED = "All matches on the right"  # about as long as CLICK: the card does not jump on the click
CONFIRMED_BADGE = f'<span style="color:white;background:{CONFIRMED.name()};">&nbsp;✓ Confirmed&nbsp;</span>'


class HoverCard(QFrame):
    """The best match of one tag: picture, name, sku and category, exact/similar with its score, or confirmed."""

    def __init__(self, thumbnails: Thumbnails, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("hoverCard")
        make_floating(self)
        self.thumb = Thumb(thumbnails, 84)
        self.heading = QLabel()
        self.name = QLabel()
        self.name.setTextFormat(Qt.TextFormat.PlainText)  # a product name is catalog data, never HTML
        self.name.setStyleSheet("font-weight:600;font-size:14px;")
        self.detail = QLabel()
        self.detail.setTextFormat(Qt.TextFormat.RichText)  # escaped catalog text plus markup of our own
        self.badge = QLabel()
        self.hint = QLabel(CLICK)
        self.hint.setObjectName("muted")  # the theme's muted colour, light or dark
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

    def show_tag(
        self, tag: Tag, colour: str, anchor: QPoint, bounds: QRect, verified: Checked | None = None,
        others: Sequence[QPoint] = (), gone: Collection[str] = (), listed: bool = False, by_key: bool = False,
    ) -> None:
        """Fill in and place beside ``anchor`` (the pin) inside ``bounds``, never over the pin (``_place``).
        ``verified``: the product a check of details put first, shown unless the user confirmed another; ``others``:
        the other pins, which the card leaves uncovered where a side allows; ``gone``: SKUs the catalog no longer
        has, whose product the card says is no longer sold rather than how sure its match is; ``listed``: the
        panel lists this tag's matches already, so the card points there instead of asking for the click just made
        (the card stays up under the mouse after it); ``by_key``: the keyboard reached the pin, so Enter opens it."""
        self.number = tag.number
        self.hint.setText(LISTED if listed else KEY if by_key else CLICK)
        checked = verified if verified is not None and tag.confirmed is None else None
        best = checked.match if checked is not None else tag.best
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
            self.name.setText(_elided(self.name, product_title(best.name, best.sku, best.category)))
            detail = product_detail(best.name, best.sku, best.category, alike=best.alike)
            self.detail.setText(html.escape(_elided(self.detail, detail)))
            self.badge.setText(_badge(best, tag.confirmed_sku == best.sku, best.sku in gone, checked))
        self.show()  # polish first: the stylesheet fonts change the size adjustSize computes
        self.layout().activate()  # an open card refilled (a check finished, a key stepped) has a stale size hint
        self.adjustSize()
        self.move(self._place(anchor, bounds, others))
        self.raise_()

    def _place(self, anchor: QPoint, bounds: QRect, others: Sequence[QPoint] = ()) -> QPoint:
        """The card's corner: ``CARD_GAP`` from the pin on its right, left, below or above, slid along that side
        up to ``CARD_GAP`` past the pin, so it never covers the pin it is about. Of those places: one wholly
        inside ``bounds`` (less ``MARGIN``) if any (else the least outside), then the one that covers the fewest
        of ``others``, then one level with the pin before one off its corner, right before left before below
        before above, the least slid.

        It tried each side only centred on the pin: in a photo with 22 pins the card covered up to six of them
        that the same side slid a little left free; where it fit on no side (a view smaller than two cards both
        ways) it was pushed into the view over its own pin. Now such a view cuts the card rather than the pin."""
        inner = bounds.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        places = [place for rank, side in enumerate(SIDES) for place in _places(side, rank, anchor, self.size(), inner,
                                                                                 others)]
        best = min(places, key=lambda place: (_outside(place.rect, inner), _covered(place.rect, others),
                                              place.corner, place.rank, place.slid))
        return best.rect.topLeft()


class _Place(NamedTuple):
    """Where the card may go: its rectangle, whether it is slid past the pin (off its corner, not level with
    it), its side's rank in ``SIDES``, how far it is slid from centred."""

    rect: QRect
    corner: bool
    rank: int
    slid: int


def _places(side: str, rank: int, anchor: QPoint, size: QSize, inner: QRect, others: Sequence[QPoint]) -> list[_Place]:
    """The places worth trying on one ``side`` of the pin: centred on it, and each place where one of ``others``
    just comes out from under the card (the pins a card covers change only there, so the fewest covered is
    among them, where a fixed step could step over a gap just wide enough), kept inside ``inner`` along the side
    where they can be."""
    beside = side in ("right", "left")  # the card beside the pin slides up and down, one below or above it across
    pin_across, pin_along = (anchor.x(), anchor.y()) if beside else (anchor.y(), anchor.x())
    thick, long = (size.width(), size.height()) if beside else (size.height(), size.width())
    low, high = (inner.top(), inner.bottom()) if beside else (inner.left(), inner.right())
    across = pin_across + CARD_GAP if side in ("right", "below") else pin_across - CARD_GAP - thick
    centred = pin_along - long // 2
    tried = {centred, pin_along - long + 1, pin_along}  # and the last places level with the pin
    for pin in others:
        at = pin.y() if beside else pin.x()
        tried |= {at + REACH + 1, at - REACH - long}
    starts = {_clamp(_clamp(t, pin_along - CARD_GAP - long + 1, pin_along + CARD_GAP), low, high + 1 - long)
              for t in tried}
    return [_Place(QRect(across, start, thick, long) if beside else QRect(start, across, long, thick),
                   not start <= pin_along < start + long, rank, abs(start - centred)) for start in starts]


def _covered(card: QRect, pins: Sequence[QPoint]) -> int:
    """How many ``pins`` the card covers, even in part (within ``REACH`` of it)."""
    near = card.adjusted(-REACH, -REACH, REACH, REACH)
    return sum(near.contains(pin) for pin in pins)


def _outside(card: QRect, inner: QRect) -> int:
    """How many of the card's pixels lie outside ``inner`` (0: wholly inside)."""
    shown = card.intersected(inner)
    return card.width() * card.height() - shown.width() * shown.height()


def _badge(best: Match, confirmed: bool, gone: bool, checked: Checked | None) -> str:
    """How sure the card's product is: "✓ Confirmed" once the merchandiser confirmed it, in place of the engine's
    "Similar 0.56" it still showed (the panel's row says the same, the rating in its button's tooltip); "No
    longer in the catalog" rather than a rating for a product gone; else the rating, and the points a check
    found."""
    if confirmed:
        return CONFIRMED_BADGE + (f" <i>{GONE}</i>" if gone else "")
    if gone:
        return f"<i>{GONE}</i>"
    return badge_html(best) + (f"<br>{evidence_html(checked.inliers)}" if checked is not None else "")


def _clamp(value: int, low: int, high: int) -> int:
    """``value`` within ``low``..``high``; ``low`` where the range is empty (a card larger than the view)."""
    return max(low, min(value, high))


def _elided(label: QLabel, text: str) -> str:
    """``text`` cut to ``NAME_WIDTH`` in ``label``'s font: a feed's long title or SKU, shown whole, spread the card
    over the photo and over the very pin it belongs to (the panel shows the whole name)."""
    label.ensurePolished()  # the font the stylesheet gives it is the one drawn
    return label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, NAME_WIDTH)
