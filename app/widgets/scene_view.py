"""The photo with its tags: fit, zoom and pan, hover and click pins, draw a box to search a region.

Scene coordinates are the engine's image pixels (the upright, possibly downscaled image the engine
searched), so a tag at ``obj.tag`` is drawn exactly there whatever the zoom. Mouse: hover a pin for
its best match, click it for all matches, drag on the photo to search a region, wheel (or Ctrl+two-finger
scroll, or a pinch) to zoom, middle-drag, Space+drag or a trackpad's two-finger scroll to pan. Keyboard:
Tab/arrows walk the pins, Enter opens one and moves the keyboard to its matches in the panel (Escape there comes
back), Delete removes it, +/- zoom, 0 fits; D draws a box (on the selected pin's box, else mid-photo) that the
arrows move and Shift+arrows resize, Enter searches it.

Pins are drawn items, which assistive technology cannot see: the view's accessible name says which tag the
keyboard is on (its number, category and best match), so a screen reader reads each pin the arrows reach
(Qt sends NameChanged when the name changes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QPoint, QRect, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from app.labels import GONE, pretty
from app.palette import CategoryColours
from app.theme import FOCUS_RING, draw_focus_ring
from app.thumbnails import Thumbnails
from app.widgets.hover_card import HoverCard
from app.widgets.legend import Legend
from app.widgets.message_bar import MessageBar, announce
from app.widgets.notice import Notice
from app.widgets.pins import HALO, RADIUS, BandItem, BoxItem, LeaderItem, PinItem
from app.widgets.results_panel import ResultsPanel, match_words, product_words
from app.widgets.trackpad import coasting, pan_by_pixels, pinch
from engine.corrections import Tag, surest
from engine.rerank import Checked
from engine.results import SceneResult
from engine.tags import clamp, clamp_bounds, spread_apart
from engine.words import named_as_counted

GROUND = "#30343a"  # the view around the photo, in both themes
ZOOM_STEP = 1.25
MAX_ZOOM = 16.0
MIN_BAND = 8  # pixels on screen: smaller drags are clicks, not boxes
PIN_GAP = 2 * RADIUS + 6  # pixels on screen between pins' centres: their discs, rings and shadows never touch
KEY_STEP = 10  # pixels on screen an arrow moves or resizes a box drawn by keyboard
DRAW_KEY = Qt.Key.Key_D  # on the photo: draw a box by keyboard (setup_page.SHORTCUTS says so)
DRAWING = ("Drawing a box to search: arrow keys move it, Shift with arrow keys resizes it (right and down larger), "
           "Enter searches it, Escape cancels.")
EMPTY_HINT = (
    "<b style='font-size:22px;'>Drop a room photo here</b><br><br>"
    "or File ▸ Open (Ctrl+O) · Open Folder (Ctrl+Shift+O) · Paste (Ctrl+V)<br><br>"
    "<span style='color:#9ca3af;'>DecorLens finds the furniture and decor, pins a tag on each piece "
    "and shows the matching products from your catalog.</span>"
)
PHOTO = "Room photo"
NO_DECOR = "No furniture or decor found. Drag a box around a piece to search it."
ALL_REMOVED = "Every tag of this photo was removed. Drag a box around a piece to search it."
NAMED = 4  # categories named in the message about a photo without tags


def no_tags_message(result: SceneResult, removed: bool = False) -> str:
    """What the message bar says of a photo without tags: what was looked for (the categories the catalog sells)
    and what was seen but is not sold. A lamp shop's bedroom photo said "No furniture or decor found" of its bed
    and chairs, as if the detector had failed. ``removed``: its tags were all removed, not none found."""
    if removed:
        return ALL_REMOVED
    if result.looked_for is None:  # an empty catalog: every decor category was looked for
        return NO_DECOR
    unfound = f"No detector in use finds {sold_names(result.unfound)}"
    if not result.looked_for:  # a rug shop: no stock detector finds a rug, so no photo gets a tag
        return (f"{unfound}, all your catalog sells: drag a box around one to search it, or teach DecorLens to find "
                "them (Train ▸ Finding objects).")
    text = f"Nothing your catalog sells ({sold_names(result.looked_for)}) was found in this photo."
    if result.unfound:
        text += f" {unfound}."
    if result.unsold:
        text += f" Not tagged, as your catalog has none: {seen_names(result.unsold)}."
    return f"{text} Drag a box around a piece to search it."


def sold_change_message(before: Collection[str] | None, now: Collection[str], searched: bool) -> str:
    """What the message bar says when an import or a removal changed the categories the catalog sells while a photo
    was open: the photo kept the tags of the catalog of before (a lamp shop's photo that had no tag had none after
    chairs were imported). ``before`` None: the catalog was empty. ``searched``: tagged again; else it keeps the
    user's edits."""
    if before is None:  # the first import: the pins of every kind of decor, matched with nothing, were kept
        return f"Your catalog now sells {sold_names(now)}: this photo was tagged again."
    added, dropped = [c for c in now if c not in before], [c for c in before if c not in now]
    change = " and ".join(part for part in (
        f"now sells {sold_names(added)} too" if added else "",
        f"no longer sells {sold_names(dropped)}" if dropped else "",
    ) if part)
    if searched:
        return f"Your catalog {change}: this photo was tagged again."
    return f"Your catalog {change}; this photo keeps your edits: drag a box around a piece to search it."


def sold_names(categories: Iterable[str]) -> str:
    """The categories a catalog sells, as people read them: "Lamp, Rug" or "Sofa, Armchair, Chair, … and 27 more"."""
    return some_names(pretty(c) for c in categories)


def seen_names(counts: Mapping[str, int]) -> str:
    """Objects seen per category, most first: "4 chairs, 2 cushions & throws, 1 table, 1 bed and 5 more". Not
    "Chair ×4": a screen reader read the sign as "times"."""
    seen = sorted(counts.items(), key=lambda item: -item[1])
    return some_names(f"{n:,} {named_as_counted(pretty(c), n)}" for c, n in seen)


def some_names(names: Iterable[str]) -> str:
    """The first ``NAMED`` names, and how many more: "4 chairs, 1 bed, 1 table, 1 clock and 5 more"."""
    listed = list(names)
    more = f" and {len(listed) - NAMED:,} more" if len(listed) > NAMED else ""
    return ", ".join(listed[:NAMED]) + more


def no_tags_reason(result: SceneResult, removed: bool = False) -> str:
    """Why a photo has no tags, in a few words, for the photo's accessible name: "Room photo, no tags" said
    nothing of why (the message bar's whole sentence, ``no_tags_message``, fades)."""
    if removed:
        return "every tag was removed"
    if result.looked_for is None:
        return "no furniture or decor found"
    if not result.looked_for:
        return "no detector in use finds what your catalog sells"
    return "nothing your catalog sells was found"


HOW_TO = ("Tab or the arrow keys move from tag to tag; Enter shows a tag's matches, Delete removes it. "
          "Drag a box, or press D and move it with the arrow keys, to search a region.")


def _too_near(points: list[tuple[float, float]], gap: float) -> bool:
    """Whether two of ``points`` are closer than ``gap`` (a hair less, as spread_apart leaves them just apart)."""
    return any(math.dist(a, b) < gap - 1e-3 for i, a in enumerate(points) for b in points[i + 1:])


def dropped_paths(mime: QMimeData) -> list[Path]:
    """Local files and folders in a drag from the file manager."""
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []


def copied_paths(mime: QMimeData) -> list[Path]:
    """Files and folders copied as text, one a line: Windows' "Copy as path" quotes them, macOS' "Copy … as
    Pathname" and a terminal do not. Only paths that exist count, so other text is still said to be no photo."""
    if mime.hasUrls() or not mime.hasText():
        return []
    lines = (line.strip().strip('"').strip() for line in mime.text().splitlines())
    paths = [Path(QUrl(line).toLocalFile()) if line.startswith("file:") else Path(line) for line in lines if line]
    return [p for p in paths if p.is_absolute() and _exists(p)]


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; pasted prose is no path (a name too long, a NUL) rather than an error."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def web_addresses(mime: QMimeData) -> list[str]:
    """Addresses on the web in a drag or a copy: a picture dragged from a browser that gives no pixels, or its
    address copied as text ("Copy image address")."""
    urls = mime.urls() if mime.hasUrls() else [QUrl(mime.text().strip(), QUrl.ParsingMode.StrictMode)]
    return [u.toString() for u in urls if u.isValid() and u.scheme() in ("http", "https") and u.host()]


class SceneView(QGraphicsView):
    pinActivated = Signal(int)
    regionDrawn = Signal(object)  # (x1, y1, x2, y2) in image pixels
    removeRequested = Signal(int)
    filesDropped = Signal(list)

    def __init__(self, thumbnails: Thumbnails, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)  # zoom() keeps its own anchor
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor(GROUND))
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.colours = CategoryColours()
        self.card = HoverCard(thumbnails, self.viewport())
        self._card_by_key = False  # whether the keyboard opened the card (Tab to a pin), not the mouse
        self.legend = Legend(self.viewport())
        self.hint = Notice(self.viewport(), big=True)
        self.busy = Notice(self.viewport())
        self._cover: MessageBar | None = None  # a bar floating over the view's bottom (``covered_by``)
        self.photo: QGraphicsPixmapItem | None = None
        self.pins: dict[int, PinItem] = {}
        self.boxes: dict[int, BoxItem] = {}
        self.leaders: dict[int, LeaderItem] = {}
        self.tags: dict[int, Tag] = {}
        self.current: int | None = None
        self.verified: Callable[[int], Checked | None] = lambda _number: None  # a tag's product checked first
        self.gone: Collection[str] = frozenset()  # SKUs the catalog no longer has (the controller's set)
        self.show_all_boxes = False
        self._band: BandItem | None = None
        self._keyed = False  # the band is being drawn by keyboard (``draw_by_key``)
        self._pan_from: QPoint | None = None
        self._space = False
        self._fit = True
        self._panel: ResultsPanel | None = None
        self.why_no_tags = ""  # ``no_tags_reason`` of the photo shown, when it has no tags
        self.setAccessibleName(PHOTO)
        self.setAccessibleDescription(HOW_TO)
        self.hint.show_text(EMPTY_HINT)

    # -- content ----------------------------------------------------------------------------------

    def clear(self) -> None:
        """No photo: the previous one's pins must not stay clickable while the next one opens, nor its legend
        stay listed: hidden with its rows kept, the legend came back with the next photo's fit and named the
        last photo's categories over one still being tagged."""
        self.scene().clear()
        self.photo, self.pins, self.boxes, self.tags, self.current, self._band = None, {}, {}, {}, None, None
        self.leaders = {}
        self._keyed = False
        self.why_no_tags = ""
        self.card.hide()
        self.legend.show_tags([], self.colours)
        self.legend.hide()
        self.hint.show_text(EMPTY_HINT)
        self._announce()

    def show_photo(self, image: QImage) -> None:
        """A new photo: tags, boxes and colours of the previous one go."""
        self.clear()
        self.hint.hide()
        self.photo = self.scene().addPixmap(QPixmap.fromImage(image))
        self.photo.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().setSceneRect(self.photo.sceneBoundingRect())
        self.fit()

    def match_size(self, width: int, height: int) -> None:
        """Scale the photo to the engine's image size so tag coordinates land on the right pixels."""
        if self.photo is None or self.photo.pixmap().width() == 0:
            return
        self.photo.setScale(width / self.photo.pixmap().width())
        self.scene().setSceneRect(QRectF(0, 0, width, height))
        if self._fit:
            self.fit()

    def set_tags(self, tags: list[Tag], limit: int = 0, keep: Collection[int] = ()) -> None:
        """Show these tags, all but the ``limit`` surest of the detector's and those in ``keep`` left out
        (``corrections.surest``); keeps the current pin if it is still there."""
        for item in [*self.pins.values(), *self.boxes.values(), *self.leaders.values()]:
            self.scene().removeItem(item)
        self.clear_band()
        shown = surest(tags, limit, keep)
        self.tags = {t.number: t for t in shown}
        self.pins, self.boxes, self.leaders = {}, {}, {}
        for tag in shown:
            colour = self.colours.colour(tag.obj.category)
            self.boxes[tag.number] = BoxItem(tag, colour)
            self.leaders[tag.number] = LeaderItem(colour)
            self.scene().addItem(self.leaders[tag.number])
            self.pins[tag.number] = pin = PinItem(tag, colour)
            pin.hovered.connect(self._hovered)
            pin.clicked.connect(self.activate)
            self.scene().addItem(self.boxes[tag.number])
            self.scene().addItem(pin)
        self.card.hide()
        self._layout_pins()
        self.legend.show_tags(shown, self.colours)
        self._place_legend()
        self._set_current(self.current if self.current in self.pins else None)
        self.set_all_boxes(self.show_all_boxes)

    def set_busy(self, text: str) -> None:
        if text:
            self.busy.show_text(text)
            self.busy.place(self._open_area())
        else:
            self.busy.hide()

    def covered_by(self, bar: MessageBar) -> None:
        """``bar`` floats over the view's bottom when shown (the window's message bar, which never moves the photo):
        the busy notice and the legend keep above it. "Finding furniture and decor…" lay under the message "Open a
        photo and wait for its tags first", which asked to wait for it. (A signal, not an event filter: a filter in
        Python on the bar was called while the window was being destroyed, and crashed the interpreter's exit.)"""
        self._cover = bar
        bar.moved.connect(self._cover_moved)

    def _cover_moved(self) -> None:
        self.busy.place(self._open_area())
        self._place_legend()

    def _open_area(self) -> QRect:
        """The viewport, less what the floating bar covers of its bottom."""
        area, bar = self.viewport().rect(), self._cover
        if bar is None or not bar.isVisible():
            return area
        top = self.viewport().mapFromGlobal(bar.mapToGlobal(QPoint(0, 0))).y()
        return area.adjusted(0, 0, 0, -max(0, min(area.height(), area.bottom() + 1 - top)))

    def set_all_boxes(self, on: bool) -> None:
        self.show_all_boxes = on
        for number, box in self.boxes.items():
            box.setVisible(on or number == self.current)

    # -- pins -------------------------------------------------------------------------------------

    def activate(self, number: int) -> None:
        """Make a pin current and ask for its matches (click, Enter)."""
        self._set_current(number)
        self.setFocus()
        if (panel := self.matches_panel()) is not None:
            panel.photo = self  # Escape in the panel comes back here
        self.pinActivated.emit(number)
        self.refresh_card(number)  # its hint: the matches are listed now

    def open_current(self) -> None:
        """Enter: the current pin's matches, and the keyboard on the first of them (the selected one). Tab
        still walks the pins, as documented; Enter is the one step from a pin to its products."""
        if self.current is None:
            return
        self.activate(self.current)
        self.card.hide()  # the keyboard goes to the matches, which list what the card said (and it hid them)
        if (panel := self.matches_panel()) is not None and panel.number == self.current:
            panel.focus_matches()

    def matches_panel(self) -> ResultsPanel | None:
        """The panel in this window that lists the tags' matches (found once)."""
        if self._panel is None:
            self._panel = self.window().findChild(ResultsPanel)
        return self._panel

    def _set_current(self, number: int | None) -> None:
        if self.current in self.pins:
            self.pins[self.current].set_current(False)
            self.boxes[self.current].setVisible(self.show_all_boxes)
        self.current = number
        if number is not None:
            self.pins[number].set_current(True)
            self.boxes[number].setVisible(True)
            self.ensureVisible(self.pins[number], 60, 60)
        self._announce()

    def _announce(self) -> None:
        """Name the view after the tag the keyboard is on, or the photo's tags when it is on none."""
        name = self.spoken()
        if name != self.accessibleName():
            self.setAccessibleName(name)

    def spoken(self) -> str:
        """What a screen reader says for the view: "Tag 2, 1 of 7: Plants & pots. Best match: FEJKA,
        702.922.98 · Plants & pots, Similar 0.62" ("Confirmed product: …" once confirmed), the hover card's facts
        in words."""
        if self.photo is None:
            return PHOTO
        if self.current not in self.tags:
            count = len(self.pins)
            if count:
                return f"{PHOTO}, {count} tag{'' if count == 1 else 's'}"
            return f"{PHOTO}, no tags: {self.why_no_tags}" if self.why_no_tags else f"{PHOTO}, no tags"
        tag, order = self.tags[self.current], sorted(self.pins)
        checked = self.verified(tag.number)
        best = checked.match if checked is not None and tag.confirmed is None else tag.best
        if best is None:
            match = "Best match: no match in the catalog"
        elif tag.confirmed_sku == best.sku:  # the merchandiser's answer, not the engine's "Similar 0.56"
            match = f"Confirmed product: {product_words(best)}"
        else:
            match = f"Best match: {match_words(best)}"
        sold = f", {GONE.lower()}" if best is not None and best.sku in self.gone else ""
        where = f"{order.index(tag.number) + 1} of {len(order)}"
        return f"Tag {tag.number}, {where}: {pretty(tag.obj.category)}. {match}{sold}"

    def _hovered(self, number: int, entered: bool) -> None:
        if entered:
            self._card_by_key = False
            self._show_card(number)
            self.boxes[number].setVisible(True)
            return
        if number in self.boxes:
            self.boxes[number].setVisible(self.show_all_boxes or number == self.current)
        if self.card.number == number:
            self.card.hide()

    def refresh_card(self, number: int) -> None:
        """Redraw the hover card if it is open on ``number``: a check of details that finishes while the
        user still hovers the pin changes which product the card shows."""
        if self.card.isVisible() and self.card.number == number and number in self.tags:
            self._show_card(number)
        self._announce()  # the best match a check put first

    def _show_card(self, number: int) -> None:
        anchor = self.mapFromScene(self.pins[number].pos())
        self.card.show_tag(
            self.tags[number],
            self.colours.colour(self.tags[number].obj.category),
            anchor,
            self.viewport().rect(),
            self.verified(number),
            [self.mapFromScene(pin.pos()) for other, pin in self.pins.items() if other != number],
            self.gone,
            listed=(panel := self.matches_panel()) is not None and panel.number == number,
            by_key=self._card_by_key,
        )

    def step(self, forward: bool, wrap: bool = True) -> bool:
        """Move the keyboard to the next/previous pin (by number); False at the end when not wrapping."""
        order = sorted(self.pins)
        if not order:
            return False
        if self.current not in order:
            target = order[0] if forward else order[-1]
        else:
            index = order.index(self.current) + (1 if forward else -1)
            if not 0 <= index < len(order) and not wrap:
                return False
            target = order[index % len(order)]
        self._set_current(target)
        self._card_by_key = True  # the card says Enter, not Click, until the mouse opens one
        self._show_card(target)
        return True

    # -- zoom and pan -----------------------------------------------------------------------------

    def fit(self) -> None:
        if self.photo is not None:
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            self._fit = True
            self._layout_pins()
            self._refresh_card()

    def zoom(self, factor: float, at: QPoint | None = None) -> None:
        """Zoom by ``factor`` keeping the photo's point at ``at`` (viewport pixels; by default the mouse's, over
        the photo, else the view's centre) where it is. Qt's own anchor under the mouse took the last point its
        mouse handling saw, so a wheel turned right after drawing a box zoomed about where the drag began and the
        photo jumped by the box's size."""
        if self.photo is None:
            return
        if at is None:
            cursor = self.viewport().mapFromGlobal(QCursor.pos())
            at = cursor if self.viewport().rect().contains(cursor) else self.viewport().rect().center()
        fixed = self.mapToScene(at)
        fit_scale = min(
            self.viewport().width() / max(1.0, self.sceneRect().width()),
            self.viewport().height() / max(1.0, self.sceneRect().height()),
        )
        scale = self.transform().m11()
        target = max(fit_scale * 0.5, min(MAX_ZOOM, scale * factor))
        self.scale(target / scale, target / scale)
        drift = self.mapFromScene(fixed) - at
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
        self._fit = False
        self._layout_pins()
        self._refresh_card()

    def _layout_pins(self) -> None:
        """Pins apart at the zoom shown: the engine spaces them for the photo fit to the window (a pin's width in
        image pixels), so with the Photos strip open, or zoomed out, neighbours touched or hid each other's
        numbers. Pins too near move apart on screen, first within their objects' boxes, then, where those are too
        small, anywhere on the photo; one moved off its point gets a leader line to it."""
        scale = self.transform().m11()
        if not self.pins or scale <= 0:
            return
        numbers = sorted(self.pins)
        photo = self._inside_photo(scale)
        points = [(self.pins[n].point.x() * scale, self.pins[n].point.y() * scale) for n in numbers]
        boxes = [clamp_bounds(tuple(v * scale for v in self.tags[n].obj.box), photo) for n in numbers]
        placed = spread_apart([clamp(p, photo) for p in points], boxes, PIN_GAP)
        if _too_near(placed, PIN_GAP):
            placed = spread_apart(placed, [photo] * len(placed), PIN_GAP)
        for number, point, (x, y) in zip(numbers, points, placed, strict=True):
            self.pins[number].setPos(x / scale, y / scale)
            leader = self.leaders[number]
            leader.lead(self.pins[number].point, self.pins[number].pos())
            leader.setVisible(math.dist(point, (x, y)) > RADIUS)  # the pin no longer covers its point

    def _inside_photo(self, scale: float) -> tuple[float, float, float, float]:
        """The photo on screen (in view pixels from its corner), a pin's reach in from each edge: a pin there
        shows whole on the photo."""
        width, height, inset = self.sceneRect().width() * scale, self.sceneRect().height() * scale, RADIUS + 2
        mx, my = min(inset, width / 2), min(inset, height / 2)
        return mx, my, width - mx, height - my

    def _refresh_card(self) -> None:
        """Zoomed or panned: the open card follows its pin, and hides once the pin is out of the view (it was
        pushed to the view's edge, about a pin no longer shown)."""
        if self.card.isVisible() and self.card.number in self.pins:
            if self.viewport().rect().contains(self.mapFromScene(self.pins[self.card.number].pos())):
                self._show_card(self.card.number)
            else:
                self.card.hide()
        self._place_legend()

    def _place_legend(self) -> None:
        """Pins move with zoom, pan and resize; the legend moves out of their way (app.widgets.legend.Legend)."""
        pins = [self.mapFromScene(pin.pos()) for pin in self.pins.values()]
        view = self._open_area()
        self.legend.place(pins, self._bands_beside_photo(view), view, int(RADIUS + HALO))

    def _bands_beside_photo(self, view: QRect) -> list[QRect]:
        """The empty strips of the view above, below, left and right of the photo (a letterboxed photo leaves
        some): a legend there hides nothing of the photo."""
        if self.photo is None:
            return []
        photo = self.mapFromScene(self.photo.sceneBoundingRect()).boundingRect()
        return [band for band in (
            QRect(view.left(), view.top(), view.width(), photo.top() - view.top()),
            QRect(view.left(), photo.bottom() + 1, view.width(), view.bottom() - photo.bottom()),
            QRect(view.left(), view.top(), photo.left() - view.left(), view.height()),
            QRect(photo.right() + 1, view.top(), view.right() - photo.right(), view.height()),
        ) if band.width() > 0 and band.height() > 0]

    def wheelEvent(self, event: QWheelEvent) -> None:
        """A two-finger scroll pans the zoomed photo by the fingers' pixels (it zoomed, and a zoomed photo moved
        only by dragging); a mouse wheel, or either with Ctrl, zooms about the pointer by its turn (a trackpad's
        small deltas by as little), but not by what scrolls on by itself once the fingers lift: it zoomed on, up
        to the closest zoom, after a swipe. Pins are the scene's items: they pan with the photo."""
        if not pan_by_pixels(self, event) and not coasting(event) and (steps := event.angleDelta().y() / 120.0):
            self.zoom(ZOOM_STEP**steps, event.position().toPoint())
        event.accept()

    def viewportEvent(self, event: QEvent) -> bool:
        """A trackpad pinch zooms about the fingers, as the wheel does about the mouse: it did nothing."""
        if (factor := pinch(event)) is not None:
            self.zoom(factor, event.position().toPoint())
            return True
        return super().viewportEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit()
        self.hint.place()
        self.busy.place(self._open_area())
        self._place_legend()

    # -- mouse: click pins, draw boxes, pan ------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        point = event.position().toPoint()
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space
        ):
            self._pan_from = point
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        elif isinstance(self.itemAt(point), PinItem):
            super().mousePressEvent(event)
        elif event.button() == Qt.MouseButton.LeftButton and self.photo is not None:
            self.clear_band()
            self._band = BandItem(self.mapToScene(point))
            self.scene().addItem(self._band)
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        point = event.position().toPoint()
        if self._pan_from is not None:
            delta = point - self._pan_from
            self._pan_from = point
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            self._fit = False
            self._refresh_card()
        elif self._band is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self._band.stretch_to(self.mapToScene(point))
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(
                Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor
            )
        elif self._band is not None and event.button() == Qt.MouseButton.LeftButton:
            self._finish_band()
        else:
            super().mouseReleaseEvent(event)

    def _finish_band(self) -> None:
        rect = self._band.rect().intersected(self.sceneRect())
        on_screen = self.mapFromScene(rect).boundingRect()
        if on_screen.width() < MIN_BAND or on_screen.height() < MIN_BAND:
            self.scene().removeItem(self._band)
            self._band = None
            self._set_current(None)
            return
        self._band.setRect(rect)  # stays visible until the region's tag arrives
        self.regionDrawn.emit((rect.left(), rect.top(), rect.right(), rect.bottom()))

    def clear_band(self) -> None:
        self._keyed = False
        if self._band is not None:
            self.scene().removeItem(self._band)
            self._band = None

    # -- a box drawn by keyboard ------------------------------------------------------------------

    def draw_by_key(self) -> None:
        """D: a box to search, for those without a mouse: on the selected pin's box (to search a part of it or a
        piece beside it), else mid-photo, a quarter of its size. The arrows then move it (``key_box``)."""
        if self.photo is None:
            return
        scene = self.sceneRect()
        rect = (self.boxes[self.current].rect() if self.current in self.boxes
                else QRectF(0, 0, scene.width() / 4, scene.height() / 4))
        if self.current not in self.boxes:
            rect.moveCenter(scene.center())
        self.clear_band()
        self.card.hide()
        self._band = BandItem(rect.topLeft())
        self._band.setRect(self._kept_in_photo(rect))
        self.scene().addItem(self._band)
        self._keyed = True
        self.ensureVisible(self._band, 20, 20)
        announce(self, f"{DRAWING} {self.box_words()}", urgent=False)

    def key_box(self, key: Qt.Key, resize: bool) -> None:
        """An arrow on a box drawn by keyboard: move it ``KEY_STEP`` screen pixels, or (``resize``) make it as much
        larger (right, down) or smaller (left, up), never smaller than a box the mouse may draw."""
        dx = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}.get(key, 0)
        dy = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1}.get(key, 0)
        step, rect = KEY_STEP / self.transform().m11(), QRectF(self._band.rect())
        if resize:
            least = 2 * MIN_BAND / self.transform().m11()
            rect.setWidth(max(least, rect.width() + dx * step))
            rect.setHeight(max(least, rect.height() + dy * step))
        else:
            rect.translate(dx * step, dy * step)
        self._band.setRect(self._kept_in_photo(rect))
        self.ensureVisible(self._band, 20, 20)
        announce(self, self.box_words(), urgent=False)

    def _kept_in_photo(self, rect: QRectF) -> QRectF:
        """``rect`` moved (and cut, if larger) to lie within the photo."""
        scene = self.sceneRect()
        rect = QRectF(rect.left(), rect.top(), min(rect.width(), scene.width()), min(rect.height(), scene.height()))
        rect.moveLeft(min(max(rect.left(), scene.left()), scene.right() - rect.width()))
        rect.moveTop(min(max(rect.top(), scene.top()), scene.bottom() - rect.height()))
        return rect

    def box_words(self) -> str:
        """Where the box drawn by keyboard is, for a screen reader: "Box from 38% to 62% across, 38% to 62% down"."""
        rect, scene = self._band.rect(), self.sceneRect()
        across = [round(100 * x / scene.width()) for x in (rect.left(), rect.right())]
        down = [round(100 * y / scene.height()) for y in (rect.top(), rect.bottom())]
        return f"Box from {across[0]}% to {across[1]}% across, {down[0]}% to {down[1]}% down."

    def _key_on_box(self, event: QKeyEvent) -> bool:
        """Keys while a box is drawn by keyboard: arrows, Enter (search it, as a box the mouse drew), Escape, and
        Delete or Backspace, which take the box away (they removed the tag it was started on)."""
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.key_box(key, bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._keyed = False
            announce(self, "Searching the box.", urgent=False)
            self._finish_band()
        elif key in (Qt.Key.Key_Escape, Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear_band()
            announce(self, "Box cancelled.", urgent=False)
        else:
            return False
        return True

    # -- keyboard ---------------------------------------------------------------------------------

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """The focus ring around the photo while it has the keyboard, as the map has: with no pin selected (a photo
        just opened, Escape) nothing showed where the keys went, and the first Tab seemed to do nothing visible.

        A white line inside the accent ring: the accent alone stood 2.65:1 on the view's dark ground (WCAG asks
        3:1 of a focus indicator); the white stands 12.5:1 there, and the accent 4.7:1 beside it where a bright
        photo reaches the edge."""
        super().drawForeground(painter, rect)
        if self.hasFocus():
            painter.save()
            painter.resetTransform()  # viewport pixels: the ring stays on the view's edge at any zoom or pan
            edge = QRectF(self.viewport().rect())
            draw_focus_ring(painter, edge, self.palette())
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(QPen(QColor("white"), FOCUS_RING))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            inset = 1.5 * FOCUS_RING  # the line just inside the accent's
            painter.drawRect(edge.adjusted(inset, inset, -inset, -inset))
            painter.restore()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        """Every scroll (a drag, the scroll bars, the view following the pin the arrows reached): the viewport's
        floating children scroll with the photo, so the legend (placed again only on zoom, resize and drag) went out
        of sight or over pins; it, the card and the busy notice are placed again, and the focus ring is drawn again
        on the edge."""
        super().scrollContentsBy(dx, dy)
        self._refresh_card()
        if self.busy.isVisible():
            self.busy.place(self._open_area())
        if self.hasFocus():
            self.viewport().update()

    def focusInEvent(self, event) -> None:
        """Tab into the photo lands on its first pin, Shift+Tab on its last: coming back with the pin that Tab
        left on still selected, the next Tab left again, and the other pins were out of Tab's reach."""
        super().focusInEvent(event)
        self.viewport().update()
        reason = event.reason()
        if reason in (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason) and not self._keyed:
            self._set_current(None)
            self.step(reason == Qt.FocusReason.TabFocusReason)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.viewport().update()

    def focusNextPrevChild(self, forward: bool) -> bool:
        """Tab walks the pins first; after the last one focus moves on as usual."""
        if self._keyed:  # a box drawn by keyboard is left for the pins: the arrows walk them again
            self.clear_band()
        return self.step(forward, wrap=False) or super().focusNextPrevChild(forward)

    def remove_current(self) -> None:
        """Delete: remove the selected tag and select the next one (the one before, after the last), as a list does.
        The keyboard was left on no pin, the photo said only its count, and the next arrow started again at tag 1."""
        order = sorted(self.pins)
        index = order.index(self.current)
        after = order[index + 1] if index + 1 < len(order) else order[index - 1] if index else None
        self.removeRequested.emit(self.current)
        if self.current is None and after in self.pins:
            self._set_current(after)
            self._card_by_key = True
            self._show_card(after)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if self._keyed and self._band is not None and self._key_on_box(event):
            return
        if key == DRAW_KEY and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.draw_by_key()
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.step(True)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.step(False)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.current is not None:
            self.open_current()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.current is not None:
            self.remove_current()
        elif key == Qt.Key.Key_Escape:
            self.clear_band()
            self.card.hide()
            self._set_current(None)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_0:
            self.fit()
        elif key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
        super().keyReleaseEvent(event)

    # -- drag and drop ----------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.filesDropped.emit(paths)
