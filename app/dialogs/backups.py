"""Catalog ▸ Restore a Backup…: the catalog's backups, newest first, and a Restore that asks first.

DecorLens backs the catalog up before each removal, embedder switch, bundle import, restore and import that
changes products (``engine.backups``); ``decorlens catalog restore`` brought one back, but retail staff never see a
terminal, so a removal by mistake, or a damaged catalog, left them stuck. Here each backup is a row: when it was taken
(local time), before what, and how many products it holds. Restore says what the catalog holds now and
what it will hold, and that the current catalog is backed up first (so the restore can be undone here too).

Listing and restoring run in the window's worker: a backup's count reads its file, and a restore rewrites
the catalog and brings the search index up to it (embedding what the backup lacks for the active embedder).
A damaged catalog, which does not open, is restored as the CLI restores it: the pipeline lets go of it, the
backup is put in its place and the damaged file kept beside it (``Pipeline.restore_backup``). A damaged catalog
with no backup is set aside from here too, kept beside the same way (``Pipeline.set_catalog_aside``), as the main
window's Set It Aside does: the window said to move the file out of its folder, a folder retail staff never see.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.labels import plain_label, plain_question, shown, shown_sku
from app.theme import resize_to_screen
from app.widgets.escape import EscapeCloses
from app.widgets.message_bar import say
from app.workers import Job, Runner, Task
from engine.backups import KEEP, Backup, list_backups, read_only, read_only_uri
from engine.catalog import CatalogDamagedError
from engine.errors import Cancelled, ModelError
from engine.lookalike import lookalikes, skeleton
from engine.paths import CATALOG_FILE
from engine.pipeline import Pipeline
from engine.words import backup_reason, counted, weekday_day_month

TITLE = "Restore a Backup"  # Catalog ▸ Restore a Backup…: the window and its question are titled with its words
WHEN_MADE = (f"DecorLens backs the catalog up before each removal, embedder switch, bundle import and restore, "
             f"and before an import that changes products it holds, and keeps the newest {KEEP}; a restore pushes "
             "none of them out.")
NO_BACKUPS = f"No backups yet. {WHEN_MADE} Once there is one, it is listed here and can be put back."
RESTORING = "Restoring the backup…"
SETTING_ASIDE = "Setting the damaged catalog aside…"
SET_ASIDE = "Set It Aside"  # the main window's message bar offers the same, in the same words
IMPORT_AGAIN = "Import the products again: Catalog ▸ Import Folder…, Import CSV… or Import a Catalog Bundle…."
UNREADABLE = "This backup cannot be read: choose another."
NAMED = 3  # products a difference names before it counts the rest
# A backup (main) against the catalog now (attached as now), in one statement, so one snapshot of each: the catalog's
# count, the backup's products it holds too, those it does not, and those of both with another name, category, price
# or photo (what a restore would change).
TALLY = ("SELECT (SELECT COUNT(*) FROM now.products), COUNT(n.sku), COUNT(*) - COUNT(n.sku), "
         "COALESCE(SUM(n.sku IS NOT NULL AND (t.name IS NOT n.name OR t.category IS NOT n.category "
         "OR t.price IS NOT n.price OR t.image_hash IS NOT n.image_hash)), 0) "
         "FROM main.products t LEFT JOIN now.products n ON n.sku = t.sku")
ONLY = ("SELECT a.name, a.sku FROM {0}.products a WHERE NOT EXISTS (SELECT 1 FROM {1}.products b WHERE b.sku = a.sku) "
        "ORDER BY a.sku LIMIT ?")  # the first NAMED products of {0} that {1} lacks
# The SKUs of {0} that a named SKU can read as (``alike``): those outside ASCII (a scan of the SKU column) and those
# the named SKUs' skeletons are (the JSON array), as ``engine.importer.catalog_lookalikes`` reads a catalog's
READ_AS = "SELECT sku FROM {0}.products WHERE sku GLOB '*[^ -~]*' OR sku IN (SELECT value FROM json_each(?))"
CANCELLING = "Cancelling… the backup is restored; only making its products searchable stops."


@dataclass(frozen=True)
class Listing:
    """What the window shows: the backups (each with its product count, None when unreadable) and the catalog
    now: its product count, or why it cannot be read (``damage``: SQLite's words, the catalog then None)."""

    backups: list[tuple[Backup, int | None]]
    products: int | None
    damage: str = ""
    differences: dict[str, Difference] = field(default_factory=dict)  # backup name → it against the catalog now


@dataclass(frozen=True)
class Difference:
    """A backup against the catalog now: the products it would bring back and take out ("NAME (SKU)"), and how
    many of both it holds with another name, category, price or photo. A backup listed "1,988 products"
    against a catalog of 1,985 left the merchandiser to work out which three came back, and whether a week's
    price updates since would be undone."""

    back: Named
    gone: Named
    changed: int

    def short(self) -> str:
        """The list's cell: "3 more: GRNADAL (903.200.97), …", "2 fewer: …", "the same as now"."""
        parts = [f"{len(self.back):,} more: {named(self.back)}" if self.back else "",
                 f"{len(self.gone):,} fewer: {named(self.gone)}" if self.gone else "",
                 f"{self.changed:,} changed since" if self.changed else ""]
        return "; ".join(p for p in parts if p) or "the same as now"

    def sentence(self) -> str:
        """The question's: what the restore brings back, takes out and puts back as it was."""
        parts = [f"brings back {len(self.back):,} product{'s' * (len(self.back) != 1)}: {named(self.back)}"
                 if self.back else "",
                 f"takes out {len(self.gone):,} added since: {named(self.gone)}" if self.gone else "",
                 f"puts back the name, category, price or photo of {self.changed:,} changed since"
                 if self.changed else ""]
        said = "; ".join(p for p in parts if p)
        return f"It {said}." if said else "It holds the same products as the catalog now."

    def done(self) -> str:
        """The restore's message: "Back in the catalog: GRNADAL (903.200.97), …", not a count alone."""
        parts = [f"back in the catalog: {named(self.back)}" if self.back else "",
                 f"taken out, added since: {named(self.gone)}" if self.gone else "",
                 f"as they were then: {counted(self.changed, 'product')} changed since" if self.changed else ""]
        said = "; ".join(p for p in parts if p)
        return f"{said[:1].upper()}{said[1:]}." if said else ""


@dataclass(frozen=True)
class Named:
    """Products a difference names: the first ``NAMED`` by SKU ("NAME (SKU)"), and how many there are in all (its
    length): a backup of a million products against an emptied catalog held a million names to show three."""

    first: list[str]
    count: int

    def __len__(self) -> int:
        return self.count


def named(products: Named) -> str:
    """The first ``NAMED`` products, then how many more."""
    more = f" and {len(products) - NAMED:,} more" if len(products) > NAMED else ""
    return ", ".join(products.first[:NAMED]) + more


@dataclass(frozen=True)
class Restored:
    """The catalog replaced from this window: how many products it holds now, from which backup, and where a
    damaged catalog was set aside (None when the backup was restored into a readable one). ``backup`` None: a
    damaged catalog with no backup was set aside, and a new, empty one opens in its place."""

    products: int
    backup: Backup | None
    aside: Path | None
    searchable: bool = True  # False: making its products searchable was cancelled; the next search does it
    difference: Difference | None = None  # the backup against the catalog it replaced

    def summary(self) -> str:
        if self.backup is None:
            return (f"The damaged catalog is kept as {self.aside.name} in the data folder, and a new, empty catalog "
                    f"is open. {IMPORT_AGAIN}")
        kept = f"; the damaged catalog is kept as {self.aside.name}" if self.aside else ""
        later = "" if self.searchable else " Making them searchable was cancelled: the next search does it."
        back = f" {self.difference.done()}" if self.difference else ""
        return f"Restored {self.products:,} products from {describe(self.backup)}{kept}.{back}{later}"


class BackupsWindow(EscapeCloses, QWidget):
    restored = Signal(object)  # Restored: a backup restored, or a damaged catalog set aside

    def __init__(self, pipeline: Pipeline, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(TITLE)
        self.pipeline = pipeline
        self.listing: Listing | None = None
        self.io = Runner(1, self)
        self.restoring = False
        self.task: Task | None = None  # the restore running
        self.summary = plain_label("Looking for backups…")  # SQLite's words for a damaged file are quoted
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setAccessibleName("Backups")
        self.table.setHorizontalHeaderLabels(["Taken", "Taken before", "Products", "Compared with now"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves for Restore… and Close: it walked each row's three cells
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.activated.connect(lambda _index: self.restore_selected())  # a double-click, or Enter
        self.busy = QProgressBar(textVisible=False)
        self.busy.setAccessibleName("Restoring")  # a screen reader said "progress bar" alone
        self.busy.setRange(0, 0)
        self.busy.hide()
        self.note = plain_label()  # what Restore is doing, what it did, or why it cannot
        self.note.setWordWrap(True)
        self.restore = QPushButton("Restore…")
        self.restore.setEnabled(False)
        self.restore.clicked.connect(self.restore_selected)
        self.set_aside = QPushButton(SET_ASIDE)  # shown for a damaged catalog with no backup, in Restore's place
        self.set_aside.hide()
        self.set_aside.clicked.connect(self.set_damaged_aside)
        self.cancel = QPushButton("Cancel")  # while the restored products are made searchable: minutes, for a
        self.cancel.hide()  # backup of another embedder's catalog (taken before an embedder switch)
        self.cancel.clicked.connect(self.cancel_restore)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        row.addWidget(self.restore)
        row.addWidget(self.set_aside)
        row.addWidget(self.cancel)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        for widget in (self.summary, self.table, self.busy):
            layout.addWidget(widget)
        layout.addLayout(row)
        resize_to_screen(self, 720, 420)
        self.refresh()

    # -- listing --------------------------------------------------------------------------------

    def refresh(self) -> None:
        """List the backups and read the catalog's count anew (another removal may have made one since)."""
        pipeline = self.pipeline
        self.io.start(lambda _job: read_listing(pipeline), done=self._show, failed=self._failed)

    def _show(self, listing: Listing) -> None:
        """The rows, newest first; the backup chosen before stays chosen (a refresh after another removal
        lists one more above it), else the newest is."""
        before = self.selected()
        self.listing = listing
        self.summary.setText(_summary(listing))
        stuck = listing.products is None and not listing.backups  # damaged, and nothing to restore
        self.restore.setVisible(not stuck)
        self.set_aside.setVisible(stuck)
        self.table.setRowCount(len(listing.backups))
        for row, (backup, count) in enumerate(listing.backups):
            taken = when(backup.taken)
            difference = listing.differences.get(backup.name)
            cells = (taken[:1].upper() + taken[1:], backup_reason(backup.reason),
                     "unreadable" if count is None else f"{count:,} products",
                     difference.short() if difference else "")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(backup.name)  # the name `decorlens catalog restore` takes
                self.table.setItem(row, column, item)
        names = [backup.name for backup, _count in listing.backups]
        if names:
            self.table.selectRow(names.index(before[0].name) if before and before[0].name in names else 0)
        self._selection_changed()

    def _failed(self, message: str) -> None:
        """The catalog could not be read for a reason a backup does not cure (a newer DecorLens's, locked):
        said as it is, with nothing to restore."""
        self.listing = None
        self.summary.setText(message)
        self.restore.show()
        self.set_aside.hide()
        self.table.setRowCount(0)
        self._selection_changed()

    def selected(self) -> tuple[Backup, int | None] | None:
        rows = self.table.selectionModel().selectedRows()
        if self.listing is None or not rows or rows[0].row() >= len(self.listing.backups):  # rows being replaced
            return None
        return self.listing.backups[rows[0].row()]

    def _selection_changed(self) -> None:
        chosen = self.selected()
        unreadable = chosen is not None and chosen[1] is None
        self.restore.setEnabled(chosen is not None and not unreadable and not self.restoring)
        self.set_aside.setEnabled(not self.restoring)
        if unreadable and not self.restoring:
            self.note.setText(UNREADABLE)
        elif self.note.text() == UNREADABLE:  # what Restore did last stays said
            self.note.clear()

    # -- restoring ------------------------------------------------------------------------------

    def restore_selected(self) -> None:
        """Ask in plain words, then restore in the worker; the window stays usable, its list and Restore wait."""
        chosen = self.selected()
        if chosen is None or chosen[1] is None or self.restoring or self.listing is None:
            return
        backup, count = chosen
        if not self.confirm_restore(confirmation(self.listing, backup, count)):
            return
        self._set_restoring(True)
        pipeline = self.pipeline
        difference = self.listing.differences.get(backup.name)
        self.task = self.io.start(lambda job: replace(restore(pipeline, backup, job), difference=difference),
                                  done=self._restored,
                                  failed=self._restore_failed, cancelled=lambda _m: self._set_restoring(False),
                                  progress=self._progress)

    def confirm_restore(self, text: str) -> bool:
        """The question before a restore (a test answers it)."""
        return plain_question(self, TITLE, text, "Restore")

    def _progress(self, done: int, total: int) -> None:
        """The restored products being made searchable, with Cancel: the bar moved for minutes with nothing to
        stop it."""
        self.busy.setRange(0, max(total, 1))
        self.busy.setValue(done)
        cancelling = self.task is not None and self.task.is_cancelled()
        self.cancel.setVisible(self.restoring)
        self.note.setText(CANCELLING if cancelling else
                          f"Embedding the restored products for search: {done:,} of {total:,}…")

    def cancel_restore(self) -> None:
        """Stop making the restored products searchable; the restore itself is done and stays."""
        if self.task is not None and self.restoring:
            self.task.cancel()
            self.cancel.setEnabled(False)
            self.note.setText(CANCELLING)

    def _restored(self, result: Restored) -> None:
        self._set_restoring(False)
        say(self.note, result.summary())
        self.restored.emit(result)
        self.refresh()  # the backup of the catalog as it was is listed at the top

    def _restore_failed(self, message: str) -> None:
        self._set_restoring(False)
        say(self.note, message, urgent=True)
        self.refresh()  # a failure may have come after the catalog changed (a damaged one set aside)

    def set_damaged_aside(self) -> None:
        """A damaged catalog with no backup: set aside in the worker, kept beside, never deleted; the main window
        learns of the new, empty catalog through ``restored``, as after a restore."""
        if self.restoring:
            return
        self._set_restoring(True, SETTING_ASIDE)
        pipeline = self.pipeline
        self.io.start(lambda _job: Restored(0, None, pipeline.set_catalog_aside()), done=self._restored,
                      failed=self._restore_failed)

    def _set_restoring(self, on: bool, doing: str = RESTORING) -> None:
        """The window busy with a restore or a setting aside (``doing`` says which): its list and buttons wait."""
        self.restoring = on
        if not on:
            self.task = None
        self.cancel.setVisible(False)  # until the index catch-up reports its progress
        self.cancel.setEnabled(True)
        self.busy.setRange(0, 0)  # busy until the index catch-up reports its progress
        self.busy.setVisible(on)
        self.table.setEnabled(not on)
        if on:
            self.note.setText(doing)
        self._selection_changed()


def read_listing(pipeline: Pipeline) -> Listing:
    """Worker side: every backup with its count and how it differs from the catalog now, and the catalog's count,
    or its damage (it does not open)."""
    path = pipeline.data_dir / CATALOG_FILE
    backups = list_backups(path)
    try:
        products = int(pipeline.catalog.db.execute("SELECT COUNT(*) FROM products").fetchone()[0])
    except CatalogDamagedError as exc:
        return Listing([(backup, backup.products()) for backup in backups], None, exc.detail)
    read = [(backup, *read_backup(backup, path)) for backup in backups]
    return Listing([(backup, count) for backup, count, _difference in read], products,
                   differences={backup.name: difference for backup, _count, difference in read if difference})


def read_backup(backup: Backup, catalog: Path) -> tuple[int | None, Difference | None]:
    """``backup``'s product count (None: it cannot be read) and how it differs from the catalog at ``catalog`` (None:
    it cannot be compared), from one opening of the backup, compared by SQLite on the SKUs' index. The listing
    opened each backup twice, and read its rows and the catalog's into Python dicts: five backups of a million
    products took 27 s and 2.3 GB resident; compared here, 8 s and 125 MB, in the window's worker (SQLite lets the
    window's thread run meanwhile). The IKEA catalog's five take some 30 ms either way."""
    try:
        with read_only(backup.path) as db:
            count = int(db.execute("SELECT COUNT(*) FROM products").fetchone()[0])
            try:
                return count, difference(db, catalog)
            except sqlite3.DatabaseError:  # a column missing (a backup of another schema), the catalog locked
                return count, None
    except sqlite3.DatabaseError:
        return None, None


def difference(db: sqlite3.Connection, catalog: Path) -> Difference:
    """The backup open in ``db`` against the catalog at ``catalog``, attached to it read-only."""
    db.execute("ATTACH ? AS now", (read_only_uri(catalog),))
    total, kept, back, changed = db.execute(TALLY).fetchone()
    first_back, first_gone = _first(db, "main", "now", back), _first(db, "now", "main", total - kept)
    alike = alike_named(db, [sku for _name, sku in first_back + first_gone])
    return Difference(_named(first_back, back, alike), _named(first_gone, total - kept, alike), changed)


def _first(db: sqlite3.Connection, holder: str, lacking: str, count: int) -> list[tuple[str, str]]:
    """The first ``NAMED`` by SKU (name, SKU) of the ``count`` products of ``holder`` that ``lacking`` does not hold."""
    return db.execute(ONLY.format(holder, lacking), (NAMED,)).fetchall() if count else []


def _named(first: list[tuple[str, str]], count: int, alike: set[str]) -> Named:
    """"NAME (SKU)" of each, the SKU as every screen shows it (``shown_sku``), marked where it reads as another."""
    skus = {sku: shown_sku(sku, sku in alike) for _name, sku in first}
    return Named([f"{shown(name) if name else skus[sku]} ({skus[sku]})" for name, sku in first], count)


def alike_named(db: sqlite3.Connection, skus: list[str]) -> set[str]:
    """Those of ``skus`` (a difference's named) that read as another SKU of the backup (main) or the catalog now
    (now): "brings back АBC-1 (a Cyrillic А); takes out ABC-1" read as the same product coming and going. The backup
    is no ``Catalog`` (``engine.importer.read_alike``), so its SKUs and the catalog's that can read alike are read
    here (``READ_AS``), and only when a named SKU is outside ASCII: nearly every catalog's are not."""
    outside = {sku for sku in skus if not sku.isascii()}
    if not outside:
        return set()
    read_as = json.dumps([skeleton(sku) for sku in outside])
    others = [sku for schema in ("main", "now") for (sku,) in db.execute(READ_AS.format(schema), (read_as,))]
    return {sku for group in lookalikes(outside, others) for sku in group if sku in outside}


def restore(pipeline: Pipeline, backup: Backup, job: Job) -> Restored:
    """Worker side: ``backup`` restored into the catalog (backed up first), or in place of a damaged one, as
    ``decorlens catalog restore`` does it; then the index brought up to it, so the next search is not the one
    that waits for it."""
    products, aside, _damage = pipeline.restore_backup(backup.path)
    try:
        pipeline.prepare_matcher(progress=job.progress, cancelled=job.cancelled)
    except ModelError:  # no models yet (the setup page): the first search once they are installed embeds
        pass
    except Cancelled:  # the restore stays: only the vectors computed so far are dropped
        return Restored(products, backup, aside, searchable=False)
    return Restored(products, backup, aside)


def confirmation(listing: Listing, backup: Backup, count: int) -> str:
    """The question before a restore: what the catalog holds now, what it will hold, and how to go back."""
    chosen = describe(backup)
    if listing.products is None:
        return (f"The catalog is damaged and cannot be read ({listing.damage}).\n\n"
                f"Restoring {chosen} puts its {count:,} products in its place. The damaged catalog is not deleted: "
                "it is kept beside it as a file of its own.")
    if listing.products == 0:
        return f"The catalog is empty now. Restoring {chosen} puts its {count:,} products back in it."
    difference = listing.differences.get(backup.name)
    said = f" {difference.sentence()}" if difference else ""
    return (f"The catalog holds {listing.products:,} products now. Restoring {chosen} replaces them with its "
            f"{count:,} products.{said}\n\nThe catalog as it is now is backed up first, so this restore can be "
            "undone here too.")


def describe(backup: Backup) -> str:
    """A backup as a sentence names it: "the backup of today at 14:32 (taken before a removal)"."""
    return f"the backup of {when(backup.taken)} (taken before {backup_reason(backup.reason)})"


def when(taken: datetime, now: datetime | None = None) -> str:
    """``taken`` in local time, as people say it: "today at 14:32", "yesterday at 09:05", "Mon 3 Mar at 18:20",
    with the year once it is not this one (the names' UTC stamps told a merchandiser nothing)."""
    local, today = taken.astimezone(), (now or datetime.now().astimezone()).date()
    clock = f"{local:%H:%M}"
    if local.date() == today:
        return f"today at {clock}"
    if local.date() == today - timedelta(days=1):
        return f"yesterday at {clock}"
    year = f" {local.year}" if local.year != today.year else ""
    return f"{weekday_day_month(local)}{year} at {clock}"


def _summary(listing: Listing) -> str:
    damaged = f"The catalog is damaged and cannot be read ({listing.damage})"
    if not listing.backups and listing.products is None:
        return (f"{damaged}, and there is no backup of it to restore. Set it aside to carry on: the damaged file is "
                "kept beside it in the data folder, never deleted, and a new, empty catalog opens for the products "
                "to be imported again.")
    if not listing.backups:
        return NO_BACKUPS
    if listing.products is None:
        return (f"{damaged}. Restore a backup to carry on: it is put in the catalog's place, and the damaged file is "
                "kept beside it, not deleted.")
    return (f"The catalog holds {listing.products:,} products now. {WHEN_MADE} Choose a backup to put back; the "
            "catalog as it is now is backed up first.")
