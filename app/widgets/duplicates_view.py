"""The duplicates window of the Catalog tab: groups of products whose photos are identical or nearly so.

Each group shows its products side by side (picture, name, SKU, category and price, the tagged photos each is
matched in, the feed's details that differ) with **Keep this one**, which removes
the group's other products as ``decorlens catalog remove`` does (a catalog backup first), and **Not
duplicates**, which records the group as variants (``engine.duplicates.mark_variants``) so neither the
window nor ``decorlens catalog duplicates`` lists it again. Finding, removing and marking run in
workers: the window never freezes on a large catalog. Names and SKUs come from feeds, so they are shown
as plain text only.

The removals made while the window is open are one run (``engine.backups.BackupRun``): the backup before the
first stays however many groups follow, so Restore a Backup… brings back the catalog as it was before them all.
What each action did is said in the window, above the groups, where the user is looking.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.labels import plain_label, product_detail, product_title, shown_sku
from app.thumbnails import Thumbnails
from app.widgets.escape import EscapeCloses
from app.widgets.flow_layout import Flow
from app.widgets.message_bar import say
from app.widgets.trackpad import PixelScroll
from app.workers import Job, Runner, Task
from engine.backups import BackupRun
from engine.catalog import Product
from engine.duplicates import DuplicateGroup, find_duplicates, mark_variants
from engine.pipeline import Pipeline
from engine.scene_memory import photos_of
from engine.words import counted

KEPT_BACKUP = ("The catalog as it was before this window's first removal stays backed up: Catalog ▸ Restore a "
               "Backup… brings it back.")
PICTURE = QSize(150, 150)
SIZE = QSize(900, 640)  # the window's size where the screen has room for it
GROUPS_FOCUS = ("QScrollArea#duplicateGroups { border: 2px solid transparent; }"
                "QScrollArea#duplicateGroups:focus { border-color: palette(highlight); }")
FRAME = QSize(40, 60)  # room left on the screen for the window's frame and title bar


class ProductCard(QFrame):
    """One product of a group: its picture, name and SKU, and the button that keeps it."""

    kept = Signal(str)  # this card's SKU, to keep

    def __init__(self, product: Product, thumbnails: Thumbnails, facts: Sequence[str] = (), alike: bool = False):
        """``alike``: the SKU reads as another of the catalog's (``Pipeline.alike_among``), shown marked: a group
        of "ABC-1" and a Cyrillic "АBC-1" of one photo, the look-alike duplicate a feed makes, showed two cards
        alike to the letter."""
        super().__init__()
        self.product = product
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.picture.setFixedSize(PICTURE)
        self.thumbnails = thumbnails
        self._show_picture(product.image_path)
        thumbnails.ready.connect(self._show_picture)
        title = product_title(product.name, product.sku, product.category)
        name = plain_label(title)
        name.setWordWrap(True)
        name.setMaximumWidth(PICTURE.width() + 30)
        detail = product_detail(product.name, product.sku, product.category, product.price, alike)
        self.keep = QPushButton("Keep this one")
        self.keep.setToolTip("Remove the group's other products from the catalog (a backup is taken first)")
        # a screen reader said "Keep this one" of every card, the card's words out of Tab's reach: which product,
        # and what tells it from the others (the photos it is in, its colour), are said with the button
        self.keep.setAccessibleName(f"Keep {title}, {detail}")
        self.keep.setAccessibleDescription(". ".join([*facts, self.keep.toolTip()]))
        self.keep.clicked.connect(self._kept)
        layout = QVBoxLayout(self)
        for widget in (self.picture, name, *map(_small_label, [detail, *facts]), self.keep):
            layout.addWidget(widget)

    def _kept(self) -> None:
        self.kept.emit(self.product.sku)

    def _show_picture(self, path: str) -> None:
        if path != self.product.image_path:
            return
        pixmap = self.thumbnails.for_widget(path, self.picture, PICTURE)  # sharp on a scaled screen too
        if pixmap is not None and not pixmap.isNull():
            self.picture.setPixmap(pixmap)


def _small_label(text: str) -> QLabel:
    label = plain_label(text)
    label.setWordWrap(True)
    label.setMaximumWidth(PICTURE.width() + 30)
    return label


def card_facts(group: DuplicateGroup, uses: dict[str, int]) -> list[list[str]]:
    """Per product of ``group``, what tells it from the others: the tagged photos it is matched in (keep the one
    the photos use), and each detail of the feed that differs in the group ("Color: Black-brown"). The cards
    showed a name and a SKU alone, the same name twice for most groups, so nothing helped decide which to keep,
    or that they are variants."""
    keys = sorted({k for p in group.products for k in p.extra})
    differing = [k for k in keys if len({str(p.extra.get(k, "")) for p in group.products}) > 1]
    return [[_used(uses.get(p.sku)), *(f"{k}: {p.extra.get(k, '—')}" for k in differing)] for p in group.products]


def _used(photos: int | None) -> str:
    if photos is None:
        return ""
    return "In no tagged photo" if photos == 0 else f"In {counted(photos, 'tagged photo')}"


def photos_using(pipeline: Pipeline, groups: list[DuplicateGroup]) -> dict[str, int]:
    """SKU → how many remembered (tagged) photos match each product of ``groups``, in one grouped query."""
    return photos_of(pipeline.catalog, [p.sku for g in groups for p in g.products])


class GroupRow(QFrame):
    """A group: how alike its photos are, its products side by side, and *Not duplicates*."""

    # Each carries its row: the view's slots are its bound methods, not lambdas holding the row. A lambda connected to
    # a row's (or its cards') signals held the row's last Python reference, let go while Qt deleted the row: PySide
    # then freed the row a second time (a segfault or a corrupted heap after "Not duplicates", 3 runs in 8).
    keep = Signal(object, str)  # the row, the SKU to keep
    variants = Signal(object)  # the row

    def __init__(self, group: DuplicateGroup, thumbnails: Thumbnails, uses: dict[str, int] | None = None,
                 alike: Collection[str] = ()):
        super().__init__()
        self.group = group
        self.setFrameShape(QFrame.Shape.StyledPanel)
        how = "Identical photos" if group.identical else f"Nearly identical photos (similarity {group.score:.3f})"
        self.not_duplicates = QPushButton("Not duplicates")
        self.not_duplicates.setToolTip("They are variants (two colours, two sizes): keep all, list them no more")
        titles = ", ".join(product_title(p.name, p.sku, p.category) for p in group.products)
        self.not_duplicates.setAccessibleName(f"Not duplicates: {titles}")  # of which group, where each is the same
        self.not_duplicates.setAccessibleDescription(f"{how}. {self.not_duplicates.toolTip()}")
        self.not_duplicates.clicked.connect(self._variants)
        head = QHBoxLayout()
        head.addWidget(QLabel(f"<b>{how}</b> · {len(group.products):,} products"))  # no catalog text here
        head.addStretch()
        head.addWidget(self.not_duplicates)
        facts = card_facts(group, uses or {})
        self.cards = [ProductCard(p, thumbnails, [f for f in said if f], p.sku in alike)
                      for p, said in zip(group.products, facts)]
        row = Flow()
        row.setSpacing(6)
        for card in self.cards:
            card.kept.connect(self._keep)
            row.addWidget(card)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(row)

    def _keep(self, sku: str) -> None:
        self.keep.emit(self, sku)

    def _variants(self) -> None:
        self.variants.emit(self)

    def skus(self) -> list[str]:
        return [p.sku for p in self.group.products]

    def set_busy(self, busy: bool) -> None:
        for button in [self.not_duplicates, *(card.keep for card in self.cards)]:
            button.setEnabled(not busy)


def fitting(size: QSize, screen: QSize) -> QSize:
    """``size``, made no larger than the screen's free area leaves room for (its frame and title bar included):
    900 × 640 went past the bottom of a 600 px tall one (a 1,200 px screen at 200 %)."""
    return size.boundedTo(screen - FRAME)


class DuplicatesView(EscapeCloses, QWidget):
    """A window of its own over the catalog; ``changed`` tells the Catalog tab to list its products again. Escape
    closes it, as it closes the app's other windows of their own: it did nothing here, and the window has no Close
    button, so a keyboard user had no way out but the window manager's."""

    message = Signal(str, str)  # text, level
    removed = Signal(str)  # a removal's message (the catalog was backed up first)
    changed = Signal()

    def __init__(self, pipeline: Pipeline, engine: Runner, thumbnails: Thumbnails, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Duplicates in the catalog")
        screen = (parent or self).screen()  # the window's, which it opens over
        self.resize(fitting(SIZE, screen.availableGeometry().size()))
        self.pipeline, self.engine, self.thumbnails = pipeline, engine, thumbnails
        self.rows: list[GroupRow] = []
        self.alike: Collection[str] = ()  # the listed SKUs that read as another of the catalog's (``_show``)
        self.run = BackupRun()  # the removals made while the window is open
        self.status = QLabel()
        self.said = plain_label()  # what the last action did (SKUs come from feeds: plain text)
        self.said.setWordWrap(True)
        self.said.hide()
        self.refresh_button = QPushButton("Find again")
        self.refresh_button.clicked.connect(self.refresh)
        self.progress = QProgressBar(textVisible=False)  # as the Catalog tab's import shows its progress
        self.progress.setAccessibleName("Looking for duplicates")  # a screen reader said "progress bar" alone
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop reading the product photos; those read so far are not kept")
        self.cancel.clicked.connect(self._cancel)
        self._finding: Task | None = None
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel)
        top.addWidget(self.refresh_button)
        self._set_finding(None)
        self.list = QWidget()
        self.list_layout = QVBoxLayout(self.list)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.list)
        PixelScroll(scroll)  # a trackpad's 3 px moved the groups 12 px
        # A Tab stop (Page Up/Down scroll the groups) that said nothing and showed nothing when Tab reached it
        scroll.setObjectName("duplicateGroups")
        scroll.setAccessibleName("Duplicate groups")
        scroll.setStyleSheet(GROUPS_FOCUS)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.said)
        layout.addWidget(scroll, 1)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closed, the window's run of removals ends: the next opening starts another, and what it said goes."""
        self.run = BackupRun()
        self.said.hide()
        super().closeEvent(event)

    def refresh(self) -> None:
        """Find the groups in a worker (embedding what is missing first, as the CLI verb does); once at a time.
        Embedding a whole catalog (a new one, or after the matcher changed) takes minutes: it shows its
        progress and can be cancelled, where "Looking for duplicates…" alone stood with nothing to stop it."""
        if self._finding is not None:
            return
        self.status.setText("Looking for duplicates…")
        pipeline = self.pipeline

        def work(job: Job) -> tuple[list[DuplicateGroup], dict[str, int], frozenset[str]]:
            pipeline.prepare_matcher(progress=job.progress, cancelled=job.cancelled)
            groups = find_duplicates(pipeline)
            alike = pipeline.alike_among(p.sku for g in groups for p in g.products)
            return groups, photos_using(pipeline, groups), alike

        self._set_finding(self.engine.start(work, done=lambda found: self._show(*found), failed=self._failed,
                                            progress=self._progress, cancelled=self._cancelled))

    def _set_finding(self, task: Task | None) -> None:
        """While ``task`` finds the groups: its progress and Cancel show, Find again waits."""
        self._finding = task
        self.refresh_button.setEnabled(task is None)
        self.cancel.setEnabled(True)
        self.cancel.setVisible(task is not None)
        self.progress.setRange(0, 0)  # busy until the first count comes
        self.progress.setVisible(task is not None)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(f"Reading the product photos first: {done:,} of {total:,}…")

    def _cancel(self) -> None:
        if self._finding is not None:
            self._finding.cancel()
            self.cancel.setEnabled(False)

    def _cancelled(self, _text: str) -> None:
        self._set_finding(None)
        say(self.status, "Stopped before looking: the catalog is unchanged. Find again starts over.")

    def _failed(self, text: str) -> None:
        self._set_finding(None)
        self.status.setText("Could not look for duplicates.")
        self.message.emit(text, "error")

    def _show(self, groups: list[DuplicateGroup], uses: dict[str, int] | None = None,
              alike: Collection[str] = ()) -> None:
        """``alike``: the SKUs that read as another of the catalog's, marked on their cards and in what is said."""
        self._set_finding(None)
        for row in self.rows:
            row.deleteLater()
        self.alike = alike
        self.rows = [GroupRow(g, self.thumbnails, uses, alike) for g in groups]
        while self.list_layout.count():  # the old rows and the stretch
            self.list_layout.takeAt(0)
        for row in self.rows:
            row.keep.connect(self.keep)
            row.variants.connect(self.not_duplicates)
            self.list_layout.addWidget(row)
        self.list_layout.addStretch()
        self._count()

    def _count(self) -> None:
        """The groups still listed, counted again as each is dealt with: "148 groups" stood above the last one."""
        groups = [row.group for row in self.rows]
        identical = sum(g.identical for g in groups)
        say(self.status, f"{counted(len(groups), 'group')} to look at: {identical:,} of identical photos, "
                         f"{len(groups) - identical:,} of nearly identical ones" if groups
                         else "No duplicates in the catalog.")

    def keep(self, row: GroupRow, sku: str) -> None:
        """Remove the group's other products in a worker (``remove_products`` backs the catalog up first)."""
        others = [s for s in row.skus() if s != sku]
        row.set_busy(True)
        pipeline, run, kept = self.pipeline, self.run, shown_sku(sku, sku in self.alike)
        self.engine.start(
            lambda _job: pipeline.remove_products(others, run),
            done=lambda count: self._done(row, f"Kept {kept}; removed {count:,} product{'s' if count != 1 else ''} "
                                               f"from the catalog. {KEPT_BACKUP}", self.removed.emit),
            failed=lambda m: self._action_failed(row, m),
        )

    def not_duplicates(self, row: GroupRow) -> None:
        """Record the group as variants in a worker; it is listed no more, here or by the CLI."""
        skus = row.skus()
        row.set_busy(True)
        catalog = self.pipeline.catalog
        self.engine.start(
            lambda _job: mark_variants(catalog, skus, skus[0]),
            done=lambda _n: self._done(row, f"{len(skus):,} products marked as variants, not duplicates."),
            failed=lambda m: self._action_failed(row, m),
        )

    def _done(self, row: GroupRow, text: str, say: Callable[[str], None] | None = None) -> None:
        """The group is dealt with: its row goes, the window says what was done (it was said only in the main
        window, behind this one), and so do ``say`` (else a plain message) there."""
        if row in self.rows:
            self.rows.remove(row)
            row.hide()
            row.deleteLater()
            self._count()
        self._say(text)
        (say or (lambda done: self.message.emit(done, "done")))(text)
        self.changed.emit()

    def _action_failed(self, row: GroupRow, text: str) -> None:
        """Said; the row's buttons are on again if it is still listed: Find again may have replaced (deleted) it
        meanwhile, as ``_done`` knows."""
        if row in self.rows:
            row.set_busy(False)
        self._say(text)
        self.message.emit(text, "error")

    def _say(self, text: str) -> None:
        self.said.setText(text)
        self.said.show()
