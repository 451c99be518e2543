"""Catalog ▸ Export a Catalog Bundle… and Import a Catalog Bundle…: the whole catalog as one ``.dlcat`` file.

A bundle is how a merchandiser ships the catalog to the store's tills and laptops (``engine.bundle``), but it
existed only on the command line, "with DecorLens closed", and retail staff only ever see the installed app.
Here the export first asks whether the pictures go in (left out where every till reads them from one shared
folder: the CLI's ``--no-images``), then writes the bundle in a worker, showing each step the engine names with
its counts ("Writing the pictures into the bundle: 1,234 of 5,000…"), with a Cancel that leaves nothing written:
a large catalog's export takes minutes, and ran under a bar that never moved. The import first reads the bundle's
manifest in a worker and asks in plain words (what the bundle holds, when and by which DecorLens it was made,
that it replaces this catalog, which is backed up first, what this machine will compute), then imports it in a
worker while the open app lets go of its catalog (``Pipeline.catalog_released``): the swap refuses a catalog
that any connection holds. Its progress window names each step as the engine does, with counts ("Checking the
products and their pictures: 1,234 of 5,000…"), and Cancel until the last one (replacing the catalog, which the
engine never stops): cancelled, the catalog and the data dir are as they were. A bundle whose vectors are another
embedder's is re-embedded here (the CLI's ``--re-embed``); one exported without its images is read from the shared
folder the user names (``--images-from``). A refused bundle leaves the catalog as it was, and the engine's one line
says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.dialogs.backups import when
from app.labels import plain_label, plain_question
from app.workers import Job, Runner
from engine.bundle import (
    ADDING,
    CHECKING,
    COPYING,
    EMBEDDING,
    INDEXING,
    PACKING,
    REPLACING,
    SUFFIX,
    UNPACKING,
    WRITING,
    BundleInfo,
    ImportResult,
    export_bundle,
    import_bundle,
    read_bundle,
)
from engine.catalog import CatalogDamagedError
from engine.errors import DecorLensError
from engine.pipeline import Pipeline
from engine.scene_memory import photo_count

FILTER = f"Catalog bundles (*{SUFFIX})"
RESTORE = "Catalog ▸ Restore a Backup…"
MAX_VERSION = 40  # characters of a manifest's DecorLens version shown (a bundle is anyone's file)
EXPORT = "Export a Catalog Bundle"  # the menu items' words: the titles of their windows
IMPORT = "Import a Catalog Bundle"
EXPORT_QUESTION = (
    "Export this catalog as one bundle file, to import on the store's tills and laptops?\n\n"
    "The bundle carries every product's picture, so each till shows them wherever they came from.\n\n"
    "Leave the pictures out only when every till reads them from one shared folder (a network drive), where "
    "this computer reads them too: the bundle is then much smaller, and each till is asked for that folder "
    "when it imports the bundle.")
LEAVE_OUT = "Leave the pictures out: the tills share the picture folder"
EMPTY_EXPORT = ("The catalog is empty: nothing was exported. Import its products first: Catalog ▸ Import Folder… "
                "or Import CSV….")
# What each step of an export is called here; the pictures' steps say their counts, the others (SQLite pages,
# megabytes of the catalog) only move the bar.
EXPORT_STEPS = {COPYING: "Copying the catalog", CHECKING: "Checking the pictures",
                PACKING: "Packing the catalog into the bundle", WRITING: "Writing the pictures into the bundle"}
COUNTED = (CHECKING, WRITING)
# What each step of an import is called here, and what its count counts (the index is built uncounted). The last
# step says that Cancel is gone: the engine does not stop while the catalog is replaced.
IMPORT_WORDS = {UNPACKING: "Unpacking the bundle", CHECKING: "Checking the products and their pictures",
                ADDING: "Adding the pictures to this computer", EMBEDDING: "Computing this computer's vectors",
                INDEXING: "Building the search index",
                REPLACING: "Replacing the catalog (this step cannot be cancelled)"}
IMPORT_UNITS = {UNPACKING: "MB", CHECKING: "products", ADDING: "pictures", EMBEDDING: "products"}


@dataclass(frozen=True)
class Plan:
    """What an import will do, read before it is asked about: the bundle, the catalog here now (its products,
    None when damaged, with SQLite's words), the tagged photos it remembers, and this machine's embedder."""

    info: BundleInfo
    products: int | None
    damage: str
    photos: int
    embedder: str
    images_from: Path | None = None  # the shared folder of a bundle exported without its images

    @property
    def re_embed(self) -> bool:
        """The bundle has no vectors of this machine's embedder: they are computed here from its pictures."""
        return self.embedder not in self.info.embedders

    @property
    def external(self) -> bool:
        return self.info.manifest["images"] != "embedded"


class BundleProgress(QDialog):
    """The export or import running: what it does, a bar, and Cancel where the engine can stop (an export, an
    import until it replaces the catalog).

    Modal to the whole app: an import holds the catalog closed, and a search asked for meanwhile would only
    wait for it. The window behind still repaints; Esc and the title bar's close ask to cancel, never hide it.
    Enter does not: Cancel is the dialog's only button, and as a dialog's button it was its default, so Enter
    (pressed for the question just answered, or out of habit) cancelled minutes of work.
    """

    cancelRequested = Signal()

    def __init__(self, parent: QWidget, title: str, text: str):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.text = plain_label(text)  # names the bundle, which anyone named
        self.text.setWordWrap(True)
        self.text.setMinimumWidth(420)
        self.bar = QProgressBar(textVisible=False)
        self.bar.setAccessibleName(title)  # a screen reader said "progress bar" alone
        self.bar.setRange(0, 0)  # busy until a step reports how far it is
        self.cancelling = False
        self.cancel = QPushButton("Cancel")
        self.cancel.setAutoDefault(False)  # Enter never presses it, even when it has the focus
        self.cancel.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.bar)
        layout.addLayout(row)

    def show_step(self, text: str, stoppable: bool = True) -> None:
        """A new step: its words, and a busy bar until it reports how far it is. A step the engine does not stop
        in takes Cancel away, and is said even after Cancel (asked too late: the work goes on to its end)."""
        self.bar.setRange(0, 0)
        self.cancel.setEnabled(stoppable and not self.cancelling)
        if not (stoppable and self.cancelling):
            self.text.setText(text)

    def show_progress(self, done: int, total: int, text: str) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        if not self.cancelling:  # "Cancelling…" stays said
            self.text.setText(text)

    def reject(self) -> None:
        """Cancel asked for (once, and only where the engine stops); the dialog closes when the worker has stopped,
        with ``finish``."""
        if self.cancel.isEnabled():
            self.cancelling = True
            self.cancel.setEnabled(False)
            self.text.setText("Cancelling…")
            self.cancelRequested.emit()

    def finish(self) -> None:
        self.done(QDialog.DialogCode.Accepted)
        self.deleteLater()


class Bundles(QObject):
    """The two menu items' work, for the main window: it says what happened with ``message`` (text, level) and
    hands an import's summary on with ``imported`` (and whether a backup was taken), after which the window
    takes a fresh pipeline: the bundle's catalog, and its category map, are another catalog's."""

    message = Signal(str, str)
    imported = Signal(str, bool)

    def __init__(self, window: QWidget, pipeline: Callable[[], Pipeline]):
        super().__init__(window)
        self.window = window
        self.pipeline = pipeline  # the window's current one (Settings may replace it)
        self.io = Runner(1, self)
        self.progress: BundleProgress | None = None
        self.step = COPYING  # the step of the export or import now (named by the engine as each starts)

    # -- export -----------------------------------------------------------------------------------

    def export(self) -> None:
        """Whether the pictures go in, the save dialog, then the export in the worker: its steps shown as the engine
        names them, with Cancel."""
        pictures = None if self.io.busy() else self.ask_pictures()
        path = None if pictures is None else self.ask_export_path(pictures)
        if path is None:
            return
        notes: list[str] = []
        pipeline = self.pipeline()
        data_dir = pipeline.data_dir

        def work(job: Job) -> BundleInfo:
            if pipeline.catalog.count() == 0:  # a bundle of nothing replaced each till's catalog with nothing
                raise DecorLensError(EMPTY_EXPORT)
            return export_bundle(data_dir, path, include_images=pictures, log=notes.append, progress=job.progress,
                                 cancelled=job.cancelled, step=job.deliver)

        self.step = COPYING
        self._start(EXPORT, export_text(path, COPYING, 0, 0), work,
                    done=lambda info: self.message.emit(exported_words(info, notes), "info" if notes else "done"),
                    cancelled=lambda _text: self.message.emit(
                        f"Export to {path.name} cancelled; nothing was written.", "info"),
                    progress=lambda done, total: self._exporting(path, done, total),
                    delivered=lambda step: self._export_step(path, step))

    def ask_pictures(self) -> bool | None:
        """Whether the pictures go into the bundle; None when the export is cancelled (a test answers it)."""
        return option_question(self.window, EXPORT, EXPORT_QUESTION, "Export…", LEAVE_OUT)

    def ask_export_path(self, pictures: bool) -> Path | None:
        """Where to write the bundle (a test answers it); a bundle without pictures is suggested a name that says so."""
        without = "" if pictures else "-without-pictures"
        suggested = Path.home() / f"catalog-{date.today():%Y-%m-%d}{without}{SUFFIX}"
        path, _ = QFileDialog.getSaveFileName(self.window, EXPORT, str(suggested), FILTER)
        return Path(path) if path else None

    def _export_step(self, path: Path, step: object) -> None:
        self.step = str(step)
        if self.progress is not None:
            self.progress.show_step(export_text(path, self.step, 0, 0))

    def _exporting(self, path: Path, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress.show_progress(done, total, export_text(path, self.step, done, total))

    # -- import -----------------------------------------------------------------------------------

    def import_(self, path: Path | None = None) -> None:
        """The bundle ``path`` (dropped on the window, or given to ``decorlens gui``), else one chosen in the open
        dialog; then its manifest and this catalog read in the worker, then the question, as for the menu's."""
        if self.io.busy():
            return
        path = path or self.ask_bundle()
        if path is None:
            return
        pipeline = self.pipeline()
        self.io.start(lambda _job: read_plan(pipeline, path), done=self._ask,
                      failed=lambda text: self.message.emit(text, "error"))

    def ask_bundle(self) -> Path | None:
        """The bundle to import (a test answers it)."""
        path, _ = QFileDialog.getOpenFileName(self.window, IMPORT, "", FILTER)
        return Path(path) if path else None

    def ask_images_folder(self, info: BundleInfo) -> Path | None:
        """The shared folder a bundle exported without its images reads them from (a test answers it)."""
        folder = QFileDialog.getExistingDirectory(
            self.window, f"The shared folder holding the product pictures of {info.path.name}")
        return Path(folder) if folder else None

    def confirm_import(self, text: str, replaces: bool = True) -> bool:
        """The question before an import (a test answers it): the bundle's name and version are anyone's words.
        Into an empty catalog, which it ``replaces`` nothing of, Enter imports."""
        return plain_question(self.window, IMPORT, text, "Import", replaces)

    def _ask(self, plan: Plan) -> None:
        if plan.external:
            folder = self.ask_images_folder(plan.info)
            if folder is None:
                return
            plan = replace(plan, images_from=folder)
        if not self.confirm_import(question(plan), replaces=plan.products != 0):
            return
        pipeline = self.pipeline()
        name = plan.info.path.name
        self.step = UNPACKING
        self._start(IMPORT, import_text(name, UNPACKING, 0, 0),
                    lambda job: import_into(pipeline, plan, job),
                    done=lambda result: self.imported.emit(imported_words(plan, result), _backed_up(result)),
                    cancelled=lambda _text: self.message.emit(
                        f"Import of {name} cancelled; the catalog is unchanged.", "info"),
                    progress=lambda done, total: self._importing(name, done, total),
                    delivered=lambda step: self._import_step(name, step))

    def _import_step(self, name: str, step: object) -> None:
        self.step = str(step)
        if self.progress is not None:
            self.progress.show_step(import_text(name, self.step, 0, 0), stoppable=self.step != REPLACING)

    def _importing(self, name: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress.show_progress(done, total, import_text(name, self.step, done, total))

    # -- running ----------------------------------------------------------------------------------

    def _start(self, title: str, text: str, work: Callable[[Job], object],
               done: Callable[[object], None], cancelled: Callable[[str], None] | None = None,
               progress: Callable[[int, int], None] | None = None,
               delivered: Callable[[object], None] | None = None) -> None:
        """``work`` in the worker under the progress dialog, which closes before its outcome is said."""
        progress_dialog = self.progress = BundleProgress(self.window, title, text)

        def ended(slot: Callable[..., None] | None) -> Callable[..., None]:
            def end(*args: object) -> None:
                progress_dialog.finish()
                self.progress = None
                if slot is not None:
                    slot(*args)
            return end

        task = self.io.start(work, done=ended(done), failed=ended(lambda text: self.message.emit(text, "error")),
                             cancelled=ended(cancelled), progress=progress, delivered=delivered)
        progress_dialog.cancelRequested.connect(task.cancel)
        progress_dialog.show()


def option_question(parent: QWidget, title: str, text: str, accept: str, option: str) -> bool | None:
    """``app.labels.plain_question`` with a box to tick under it (unticked): ``accept`` the default, as nothing is
    replaced; whether the box was left unticked, or None when cancelled."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    ticked = QCheckBox(option)
    box.setCheckBox(ticked)
    yes = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(yes)
    box.exec()
    return None if box.clickedButton() is not yes else not ticked.isChecked()


def export_text(path: Path, step: str, done: int, total: int) -> str:
    """The export's progress in words: the bundle, then the step, with its count where it counts pictures."""
    words = EXPORT_STEPS[step]
    counted = f": {done:,} of {total:,}…" if step in COUNTED and total else "…"
    return f"Exporting the catalog to {path.name}.\n{words}{counted}"


def import_text(name: str, step: str, done: int, total: int) -> str:
    """The import's progress in words: the bundle, then the step, with its count where it counts."""
    unit = IMPORT_UNITS.get(step)
    counted = f": {done:,} of {total:,} {unit}…" if unit and total else "…"
    return f"Importing {name}.\n{IMPORT_WORDS[step]}{counted}"


def read_plan(pipeline: Pipeline, path: Path) -> Plan:
    """Worker side: the bundle's manifest (checked: a wrong or hostile file is refused here, in one line), the
    catalog here (a damaged one is replaced as well: its damage is said instead of its count), this embedder."""
    info = read_bundle(path)
    embedder = pipeline.embedder.key
    try:
        catalog = pipeline.catalog
        return Plan(info, catalog.count(), "", photo_count(catalog), embedder)
    except CatalogDamagedError as exc:
        return Plan(info, None, exc.detail, 0, embedder)


def import_into(pipeline: Pipeline, plan: Plan, job: Job) -> ImportResult:
    """Worker side: the import, with the window's catalog let go of for it (workers asking for it wait)."""
    embedder = pipeline.embedder  # loaded before: it is loaded under the same lock
    with pipeline.catalog_released():
        return import_bundle(plan.info.path, pipeline.data_dir, embedder, plan.re_embed, job.progress,
                             images_from=[plan.images_from] if plan.images_from else [], cancelled=job.cancelled,
                             step=job.deliver)


def question(plan: Plan) -> str:
    """The question before an import, in plain words: what comes, what goes, how to go back, what it will do."""
    info, m = plan.info, plan.info.manifest
    name, count, categories = info.path.name, info.products, len(m["categories"])
    version = str(m.get("decorlens", "?"))[:MAX_VERSION]
    kinds = f"{categories:,} categor{'y' if categories == 1 else 'ies'}"
    ask = f"Import the {count:,} products of {name}?" if plan.products == 0 else (
        f"Replace this catalog with the {count:,} products of {name}?")  # an empty one: nothing is replaced
    lines = [ask,
             f"{name} holds {count:,} products in {kinds}. It was made {_made(m.get('created'))} by DecorLens {version}."]
    if plan.products is None:
        lines.append(f"It replaces this catalog, which is damaged and cannot be read ({plan.damage}). The damaged "
                     "file is not deleted: it is kept beside it as a file of its own.")
    elif plan.products == 0:
        lines.append("This catalog is empty: the import fills it.")
    else:
        lines.append(f"It REPLACES this catalog of {plan.products:,} products. The catalog as it is now is backed "
                     f"up first: {RESTORE} brings it back.")
    if plan.photos:
        lines.append(f"The {plan.photos:,} tagged photos this catalog remembers (Where used, Review Uncertain Tags) "
                     "are not in the bundle: after the import they are in that backup only.")
    if plan.re_embed:
        made_with = ", ".join(info.embedders) or "none"
        lines.append(f"Its products were made searchable with another embedder ({made_with}) than this machine's "
                     f"({plan.embedder}): this machine will compute its own vectors for the {count:,} products "
                     "from their pictures. That takes a while, and can be cancelled.")
    if plan.images_from is not None:
        lines.append(f"Its product pictures are not inside it: they are read from {plan.images_from}.")
    return "\n\n".join(lines)


def imported_words(plan: Plan, result: ImportResult) -> str:
    """What an import did, for the message bar (``ImportResult.summary`` names CLI commands)."""
    name = plan.info.path.name
    text = f"Imported {result.products:,} products from {name}"
    if result.re_embedded:
        text += f", their vectors computed on this machine ({result.re_embedded:,})"
    text += "."
    if result.missing_images:
        text += f" {result.missing_images:,} product pictures are not in {plan.images_from}."
    unembedded = result.products - result.re_embedded if plan.re_embed else 0
    if unembedded:
        text += (f" {unembedded:,} products could not be made searchable here: their pictures are missing or "
                 "unreadable.")
    if result.damaged is not None:
        text += f" The damaged catalog it replaced is kept as {result.damaged.name}."
    elif _backed_up(result):
        text += " The catalog it replaced is backed up: Restore a Backup… brings it back."
    if result.categories_kept is not None:
        text += f" Its category map replaced this one's, which is kept as {result.categories_kept.name}."
    return text


def exported_words(info: BundleInfo, notes: list[str]) -> str:
    """What an export wrote: the file, its products, pictures and size, and the engine's notes (changed images)."""
    m = info.manifest
    embedded = m["images"] == "embedded"
    pictures = f"their {m['image_files']:,} pictures" if embedded else "their pictures' paths (not the pictures)"
    size = _size(info.path.stat().st_size)
    text = f"Wrote {info.path.name}: {info.products:,} products and {pictures}, {size}, in {info.path.parent}."
    shared = [] if embedded else ["Each till is asked for the shared picture folder when it imports it."]
    return " ".join([text, *shared, *(f"Note: {note}." for note in notes)])


def _backed_up(result: ImportResult) -> bool:
    """Whether Restore a Backup… lists the catalog the import replaced (an empty one is not backed up)."""
    return result.previous is not None


def _made(created: object) -> str:
    """A manifest's UTC stamp as people say it ("today at 14:32", "on Mon 3 Mar at 18:20"); anything else as
    the unknown it is."""
    try:
        said = when(datetime.fromisoformat(str(created)))
    except ValueError:
        return "at an unknown time"
    return said if said.startswith(("today", "yesterday")) else f"on {said}"


def _size(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{max(size / 1e6, 0.1):.1f} MB"
