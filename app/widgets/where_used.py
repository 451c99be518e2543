"""The Catalog tab's *Where used* panel: the tagged photos a product was matched in, and what goes with it;
or, under *Looks like it*, the tagged photos holding an object like the product's photo, matched or not.

*Looks like it* is the CLI's ``search --scenes``: it finds a product in rooms where a look-alike beat it,
and a product photo dropped on the panel (a supplier's picture, not in the catalog yet) is searched the
same way. Every remembered object is compared, whatever its tag's category: on the shared IKEA scenes that
finds more of a product's rooms than comparing its own category only (the detectors miss or mislabel many
objects); the category box above the list narrows it to the objects whose tag searches one category (a desk:
desks and tables, not the chairs around them). The scene memory (``engine.scene_memory``) is read in a
worker, and each sighting's object is cut from its photo there too (as a QImage: only pixmaps are bound to
the UI thread), so selecting a product never waits for disk. Double-clicking a sighting asks for its photo
to be opened on that tag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from app.labels import (
    GONE,
    isolated,
    match_word,
    plain_label,
    pretty,
    product_title,
    rich_tooltip,
    shown,
    shown_sku,
)
from app.scene_files import caption
from app.thumbnails import decode_fitted
from app.widgets.scene_view import NAMED, dropped_paths, seen_names
from app.widgets.trackpad import PixelScroll
from app.workers import Job, Runner, Task
from engine.crops import crop
from engine.errors import DecorLensError
from engine.imageio import read_photo
from engine.importer import read_alike
from engine.paths import readable_path
from engine.pipeline import Pipeline
from engine.review_queue import ReviewItem
from engine.scene_memory import (
    Sighting,
    box_in,
    embed_product_photo,
    goes_with,
    photo_count,
    product_vector,
    rooms_like,
    tag_categories,
    tags_of_kind,
    where_used,
)
from engine.words import CONFIRMED_WORD, counted, rated

CROP = QSize(96, 96)
PRODUCT = QSize(40, 40)  # a Goes with row's product photo
SHOWN = 30  # sightings listed (best first); the CLI lists them all
ALIKE = 20  # photos listed under Looks like it (the CLI's --scenes lists 10 unless told)
MATCHED, LOOKS_LIKE = 0, 1  # the mode tabs
NOTHING = "Select a product to see where it is used, or drop a product photo here to find it in your photos."
NO_BREAK = "\u00a0"  # a space a wrapped line is never broken at
EVERY = "All categories"  # as the catalog's own category filter says


@dataclass
class Found:
    """What the panel shows for one product, gathered in a worker."""

    sku: str
    title: str
    sightings: list[tuple[Sighting, QImage]]
    together: list[tuple[str, str, int, QImage]]  # sku, title, photos, its product photo
    tagged: int = 0  # photos remembered: what Looks like it searched
    matched: dict[str, str] | None = None  # Looks like it: each sighting's own best match, sku -> title
    category: str | None = None  # Looks like it: the catalog category compared (None: every one)
    categories: list[str] | None = None  # Looks like it: the catalog's categories, to choose another
    kind_tags: int | None = None  # Where used: the tagged photos' tags of the product's kind (None: not asked)
    tag_counts: dict[str, int] | None = None  # Looks like it: the tagged photos' tags per decor category
    # the SKUs shown that read as another (``read_alike``): Goes with's, or Looks like it's best matches when tagged
    alike: set[str] = field(default_factory=set)


def gather(pipeline: Pipeline, sku: str, dpr: float = 1.0) -> Found:
    """Worker side: the product's sightings with their objects cut out (for a screen of pixel ratio ``dpr``),
    and the products that go with it (``goes_with`` offers only products still in the catalog)."""
    catalog = pipeline.catalog
    together = []
    for other, count in goes_with(catalog, sku):
        if (found := catalog.get_by_sku(other)) is None:  # removed since goes_with read the memory
            continue
        picture = decode_fitted(found.image_path, math.ceil(PRODUCT.width() * dpr),
                                math.ceil(PRODUCT.height() * dpr), dpr)
        together.append((other, priced(product_title(found.name, other, found.category), found.price), count,
                         centred(picture, PRODUCT, dpr)))
    product = catalog.get_by_sku(sku)
    kind_tags = None if product is None else tags_of_kind(pipeline, product.category)
    return Found(sku, _heading(pipeline, sku), _with_pictures(where_used(catalog, sku, SHOWN), dpr), together,
                 photo_count(catalog), kind_tags=kind_tags,
                 alike=set(pipeline.alike_among(t[0] for t in together)))  # products of the catalog now


def gather_alike(pipeline: Pipeline, asked: str | Path, job: Job, dpr: float = 1.0, within: str = "") -> Found:
    """Worker side of *Looks like it*: the photos whose objects look most like a catalog product (a SKU,
    by its stored vector) or a product photo (a path, embedded as the catalog embeds its photos).

    ``within`` is the catalog category whose objects are compared ("": every object).
    """
    catalog = pipeline.catalog
    if isinstance(asked, Path):
        sku, title, query = "", asked.name, embed_product_photo(pipeline, asked)
    else:
        sku, title, query = asked, _heading(pipeline, asked), product_vector(pipeline, asked)
        if query is None:
            raise DecorLensError(f"{_title(pipeline, asked)} ({asked}) has no vector for the active embedder: its "
                                 "photo is missing or unreadable; import it again with a readable photo")
    category = within or None
    hits = rooms_like(pipeline, query, ALIKE, progress=job.progress, cancelled=job.cancelled, category=category)
    matched = {s.sku: _title(pipeline, s.sku, GONE) for s in hits if s.sku}
    return Found(sku, title, _with_pictures(hits, dpr), [], photo_count(catalog), matched, category,
                 list(catalog.category_counts()), tag_counts=tag_categories(catalog),
                 alike=read_alike(catalog, matched))


def _title(pipeline: Pipeline, sku: str, gone: str = "") -> str:
    """The product's title; for one no longer in the catalog ``gone`` where given, else its SKU."""
    product = pipeline.catalog.get_by_sku(sku)
    return isolated(product_title(product.name, sku, product.category)) if product else gone or sku


def _heading(pipeline: Pipeline, sku: str) -> str:
    """The asked product's title as the panel's heading says it: with its price, where the feed gave one."""
    product = pipeline.catalog.get_by_sku(sku)
    return priced(product_title(product.name, sku, product.category), product.price) if product else sku


def priced(title: str, price: str) -> str:
    """A product's title followed by its price as the feed wrote it (the catalog tiles' price line), when it has
    one: a merchandiser choosing what goes with a product weighs the price, which the panel never showed. Its spaces
    do not break: a wrapped row read "1" at a line's end and "299,00 kr" on the next. A right-to-left title is
    ``isolated``: a Hebrew or Arabic name took the price and the rest of the heading into its own direction
    ("4 995 [name] kr · SE-2")."""
    return f"{isolated(title)} · {shown(price).replace(' ', NO_BREAK)}" if price else isolated(title)


def _with_pictures(seen: list[Sighting], dpr: float) -> list[tuple[Sighting, QImage]]:
    """Each sighting with its object cut out; a photo holding several is decoded once."""
    photos: dict[str, np.ndarray | None] = {}
    for one in seen:
        if one.photo not in photos:
            photos[one.photo] = photo_pixels(one.photo, one.sha256)
    return [(one, object_image(photos[one.photo], one, dpr)) for one in seen]


def photo_pixels(photo: str, sha256: str = "") -> np.ndarray | None:
    """A tagged photo decoded for cutting its objects (the Review Uncertain Tags window's too), or None. With the
    ``sha256`` it was tagged with, None too where the file holds other content now: a photo cropped or retouched in
    another program and saved over showed, cut at its tags' boxes, other things than were tagged."""
    try:
        pixels, now = read_photo(photo)  # decoded as the search decoded it; Sighting.box_in fits the boxes to it
    except DecorLensError:
        return None  # moved or deleted since it was tagged: listed without a picture
    return pixels if not sha256 or now == sha256 else None


def object_image(pixels: np.ndarray | None, seen: Sighting | ReviewItem, dpr: float) -> QImage:
    """The object fitted into ``CROP`` logical pixels (``CROP`` × ``dpr`` device pixels: sharp at 200 %), centred
    on a square. A photo moved, or changed, since it was tagged gives the square empty."""
    if pixels is None:
        return centred(QImage(), CROP, dpr)
    part = np.ascontiguousarray(crop(pixels, box_in(seen.box, seen.size, pixels.shape[1], pixels.shape[0]), 0.0))
    h, w = part.shape[:2]
    image = QImage(part.data, w, h, 3 * w, QImage.Format.Format_RGB888).scaled(
        CROP * dpr, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    image.setDevicePixelRatio(dpr)
    return centred(image, CROP, dpr)


def centred(image: QImage, size: QSize, dpr: float) -> QImage:
    """``image`` (marked with ``dpr``, at most ``size`` logical pixels) centred on a transparent square of ``size``:
    a list draws each row's text right after its picture, so pictures of their own widths left the names ragged."""
    canvas = QImage(size * dpr, QImage.Format.Format_ARGB32_Premultiplied)
    canvas.fill(Qt.GlobalColor.transparent)
    canvas.setDevicePixelRatio(dpr)
    if not image.isNull():
        painter = QPainter(canvas)  # in logical pixels, as both images are marked with dpr
        painter.drawImage(QPointF(canvas.width() - image.width(), canvas.height() - image.height()) / (2 * dpr), image)
        painter.end()
    return canvas


class FittedRows(QStyledItemDelegate):
    """A list's rows no wider than its viewport. Qt sizes a wrapped row by its longest run of text it cannot break (a
    photo name's "occasion__1364319304125-"), so such a row was laid out past the viewport: 319 px wide in the 316 of
    the app's theme (its list frame takes 2 px each side; 318 without it), 319 in 196 in a narrow panel. Qt paints
    them within the viewport, so screenshots before and after are the same pixels; the rows' rectangles
    (``visualItemRect``, what a screen reader is told of a row) reached under the frame and past the list."""

    def __init__(self, view: QListView) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(min(hint.width(), self.view.viewport().width()), hint.height())


class WhereUsedPanel(QWidget):
    tagRequested = Signal(Path, int)  # a sighting double-clicked: open its photo on that tag
    productRequested = Signal(str)  # a product that goes with it double-clicked: show it in the catalog
    failed = Signal(str)

    def __init__(self, pipeline: Pipeline, io: Runner, parent: QWidget | None = None):
        super().__init__(parent)
        self.pipeline, self.io = pipeline, io
        self.sku = ""
        self.photo: Path | None = None  # a product photo dropped on the panel, searched under Looks like it
        self.within = ""  # the category chosen under Looks like it ("": every object)
        self._asked = 0  # which question (or clear) came last: only its answer is shown
        self._task: Task | None = None  # the last question's worker: cancelled when another comes
        self.setAcceptDrops(True)
        self.mode = QTabBar(objectName="whereUsedMode", drawBase=False, expanding=False)
        self.mode.addTab("Matched in")
        self.mode.addTab("Looks like it")
        self.mode.setTabToolTip(MATCHED, "Tagged photos in which this product is an object's best match, or confirmed")
        self.mode.setTabToolTip(LOOKS_LIKE, "Tagged photos holding an object that looks like this product's photo, "
                                            "matched to it or not: finds it where a look-alike won")
        self.mode.setAccessibleName("Where used: matched in, or looks like it")
        self.mode.currentChanged.connect(self._mode_changed)
        self.category = QComboBox(objectName="whereUsedCategory", minimumContentsLength=12)
        self.category.setAccessibleName("Looks like it: category compared")
        self.category.setToolTip("Only objects whose tag searches this catalog category are compared (a desk: desks "
                                 "and tables). Every object finds more of a product's rooms: a tag's category can "
                                 "be wrong")
        self.category.activated.connect(self._category_chosen)
        self.category_row = QWidget()
        row = QHBoxLayout(self.category_row)
        row.setContentsMargins(0, 0, 0, 0)
        # Alt+W; the buddy names the box to a screen reader, which (AT-SPI) read its entry alone, not its name
        row.addWidget(QLabel("Compare &with objects of", buddy=self.category))
        row.addWidget(self.category, 1)
        self.category_row.hide()
        self.title = plain_label(NOTHING)
        self.title.setWordWrap(True)
        self.title.setMinimumWidth(1)  # a name without spaces (a hand-edited catalog's) no longer widens the panel
        self.sightings = QListWidget(objectName="whereUsed")
        self.sightings.setAccessibleName("Where used")
        self.sightings.setAccessibleDescription(NOTHING)
        self.sightings.setIconSize(CROP)
        self.sightings.setViewMode(QListView.ViewMode.ListMode)
        self.sightings.setWordWrap(True)
        self.sightings.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # a name too long for
        self.sightings.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a line: "pasted-2026…spring.png", not cut off
        self.sightings.setResizeMode(QListView.ResizeMode.Adjust)  # rows laid out again as the list's width changes
        self.sightings.setItemDelegate(FittedRows(self.sightings))
        # a trackpad swipe moved the rows in jumps of a whole photo crop (100 px), every other 3 px of finger travel
        self.sightings.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        PixelScroll(self.sightings)
        self.sightings.itemActivated.connect(self._activated)
        self.together_label = plain_label("Goes with")
        self.together = QListWidget(objectName="goesWith", wordWrap=True)
        self.together.setAccessibleName("Goes with")
        self.together.setToolTip("Products matched in the same photos. Double-click one to show it in the catalog")
        self.together.setIconSize(PRODUCT)
        self.together.itemActivated.connect(
            lambda item: self.productRequested.emit(item.data(Qt.ItemDataRole.UserRole)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.mode)
        layout.addWidget(self.category_row)
        layout.addWidget(self.title)
        layout.addWidget(self.sightings, 3)
        layout.addWidget(self.together_label)
        layout.addWidget(self.together, 1)

    def show_product(self, sku: str) -> None:
        """List where ``sku`` is used, in the mode shown; a later call, or a clear, wins over one still being
        gathered (the same product asked again of another data dir included: the old catalog's answer may
        come last)."""
        self.sku, self.photo, self.within = sku, None, ""
        self.mode.setTabEnabled(MATCHED, True)
        self._ask()

    def show_photo(self, photo: Path) -> None:
        """Find a product photo (not necessarily in the catalog) in the tagged photos: Looks like it only."""
        self.sku, self.photo, self.within = "", photo, ""
        self.mode.setTabEnabled(MATCHED, False)
        if self.mode.currentIndex() == LOOKS_LIKE:
            self._ask()
        else:
            self.mode.setCurrentIndex(LOOKS_LIKE)  # asks, through _mode_changed

    def clear(self) -> None:
        self._cancel()
        self.sku, self.photo, self.within, self._asked = "", None, "", self._asked + 1
        self.mode.setTabEnabled(MATCHED, True)
        self._empty()

    def _empty(self) -> None:
        self._set_heading(NOTHING)
        self.category_row.hide()
        self.sightings.clear()
        self.together.clear()
        self.together_label.hide()  # no empty "Goes with" box under nothing
        self.together.hide()

    def _set_heading(self, text: str) -> None:
        """The line above the list, and the list's accessible description: Tab goes from the mode to the list, past
        the line, so a screen reader said "Where used, list" and never which product, how many photos, or why none."""
        self.title.setText(text)
        self.sightings.setAccessibleDescription(text)

    def _mode_changed(self) -> None:
        if self.sku or self.photo:
            self._ask()

    def _category_chosen(self) -> None:
        """Another category to compare with, kept until another product or photo is asked about."""
        self.within = self.category.currentData()
        self._ask()

    def _cancel(self) -> None:
        """A question no longer wanted stops: Looks like it may be embedding thousands of objects first."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _ask(self) -> None:
        self._cancel()
        self._asked += 1
        pipeline, asked, dpr = self.pipeline, self._asked, self.sightings.devicePixelRatioF()
        self.category_row.setVisible(self.mode.currentIndex() == LOOKS_LIKE)
        if self.mode.currentIndex() == MATCHED:
            sku = self.sku
            work = lambda _job: gather(pipeline, sku, dpr)
        else:
            query, within = self.photo or self.sku, self.within
            work = lambda job: gather_alike(pipeline, query, job, dpr, within)
            named = query.name if isinstance(query, Path) else "this product"
            self._set_heading(f"Looking for {named} in the tagged photos…")
        self._task = self.io.start(
            work, done=lambda found: asked == self._asked and self._show(found),
            failed=lambda message: asked == self._asked and self._failed(message),
            progress=lambda done, total: asked == self._asked and self._embedding(done, total),
            cancelled=lambda _message: None,  # only ever for a question superseded
        )

    def _embedding(self, done: int, total: int) -> None:
        """After an embedder switch, the tagged photos' objects are embedded for it before Looks like it can
        search them (once: they are kept)."""
        self._set_heading(f"Embedding the objects of the tagged photos for this embedder first: {done:,} of "
                          f"{total:,}… (once; select another product to stop)")

    def _failed(self, message: str) -> None:
        self._empty()
        self.failed.emit(message)

    def _show(self, found: Found) -> None:
        self.sightings.clear()
        self.together.clear()
        self._set_heading(_matched_title(found) if found.matched is None else _alike_title(found))
        if found.categories is not None:
            self._list_categories(found.categories, found.category)
        for seen, image in found.sightings:
            item = QListWidgetItem(f"{shown(readable_path(caption(Path(seen.photo))))}\n{_how(seen, found)}")
            item.setIcon(QIcon(QPixmap.fromImage(image)))
            item.setData(Qt.ItemDataRole.UserRole, (seen.photo, seen.number))
            item.setToolTip(rich_tooltip(readable_path(seen.photo) + _matched_to(seen, found) + ("" if seen.exists else
                                                                                    "\n(the photo is gone)")))
            self.sightings.addItem(item)
        for sku, title, count, image in found.together:
            photos = f"{count:,} photo{'s' if count != 1 else ''}"
            item = QListWidgetItem(f"{title} · {shown_sku(sku, sku in found.alike)} · {photos}", self.together)
            item.setIcon(QIcon(QPixmap.fromImage(image)))
            item.setData(Qt.ItemDataRole.UserRole, sku)
        self.together_label.setVisible(bool(found.together))
        self.together.setVisible(bool(found.together))

    def _list_categories(self, categories: list[str], chosen: str | None) -> None:
        """The catalog's categories to compare with, the one compared shown."""
        self.category.clear()
        self.category.addItem(EVERY, "")
        for category in categories:
            self.category.addItem(pretty(category), category)
        self.category.setCurrentIndex(max(self.category.findData(chosen or ""), 0))

    def _activated(self, item: QListWidgetItem) -> None:
        photo, number = item.data(Qt.ItemDataRole.UserRole)
        self.tagRequested.emit(Path(photo), number)

    # -- a product photo dropped on the panel -------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if len(dropped_paths(event.mimeData())) == 1 and dropped_paths(event.mimeData())[0].is_file():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.show_photo(dropped_paths(event.mimeData())[0])
        event.acceptProposedAction()


def _matched_title(found: Found) -> str:
    """Tags and photos both counted, as `decorlens where` does: "best match in 2 photos" over a list of 5 rows
    (4 tags in one photo) left the rows unexplained."""
    photos = len({s.photo for s, _ in found.sightings})
    if not found.sightings and found.tagged and found.kind_tags == 0:  # photos tagged before the catalog sold it
        return (f"Where used: {found.title} — none of the {counted(found.tagged, 'tagged photo')} has a tag of its "
                "kind: were they tagged before your catalog sold it? Open them again, or Batch tag their folder")
    if not found.sightings:
        return f"Where used: {found.title} — not matched in any tagged photo yet"
    return (f"Where used: {found.title} — best match of {counted(len(found.sightings), 'tag')} in "
            f"{counted(photos, 'photo')}")


def _alike_title(found: Found) -> str:
    """Says when every category was compared (only the box above narrows it)."""
    if not found.tagged:
        return f"Looks like {found.title}: no tagged photos yet. Open or tag room photos first."
    if not found.sightings and found.category:
        return (f"Looks like {found.title}: no object of the {counted(found.tagged, 'tagged photo')} is of this "
                f"category; choose {EVERY} above to compare them all")
    # "the 3 photos of 3 tagged with the most alike object" read awkwardly: said as `decorlens search --scenes` says it
    counts = found.tag_counts or {}  # a lamp shop's photos hold lamps only: compared with a sofa, said so
    every = f" (objects of every category tagged: {seen_names(counts)})" if len(counts) <= NAMED else \
        " (objects of every category)"
    return (f"Looks like {found.title}: {len(found.sightings):,} of {counted(found.tagged, 'tagged photo')}, "
            f"closest object first{'' if found.category else every}")


def _how(seen: Sighting, found: Found) -> str:
    """The line under a sighting's photo name: its category, and how it was matched or how alike it looks."""
    if found.matched is None:
        return f"{pretty(seen.category)} · {rated(CONFIRMED_WORD if seen.confirmed else match_word(seen.kind), seen.score)}"
    mark = " · matched to it" if found.sku and seen.sku == found.sku else ""
    return f"{pretty(seen.category)} · alike {seen.score:.2f}{mark}"


def _matched_to(seen: Sighting, found: Found) -> str:
    """Under Looks like it, the tooltip names what the object was matched to when it was tagged, its SKU marked
    where it reads as another (``shown_sku``): "Lamp (ABC-1)" named the Cyrillic "АBC-1" as the catalog's "ABC-1"."""
    if found.matched is None or not seen.sku:
        return ""
    sku = shown_sku(seen.sku, seen.sku in found.alike)
    return f"\nbest match when tagged: {found.matched.get(seen.sku, sku)} ({sku})"
