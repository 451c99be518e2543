"""File ▸ Batch Tag Folder: tag every photo of a folder, as ``decorlens tag`` does, plus shoppable pages.

The output is the CLI's (one JSON per scene and ``summary.csv``) so scripts and spreadsheets read
either, with ``<scene>.html`` beside each JSON. Cancel stops after the photo being tagged; what was
done is kept and summarised, and Start again into the same folder tags only the rest (``tag_scenes``).
Closing the dialog while it runs cancels too. Each photo is said as it is done (``photoTagged``, ``photoFailed``),
so the window's Photos strip marks it then, not all at the batch's end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRect, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.dialogs.settings import TOP_K_LABEL, top_k_box
from app.dialogs.shoppable import page_titles, tagged_folder
from app.estimates import time_left
from app.labels import model_label
from app.links import open_outside
from app.scene_files import scene_files
from app.theme import grow_to_fit
from app.widgets.message_bar import say
from app.widgets.scene_view import seen_names, sold_names
from app.workers import Job, Runner, Task
from engine.batch import SUMMARY, BatchReport, Tagged, check_not_an_input, kept_words
from engine.errors import Cancelled, DecorLensError
from engine.pipeline import Pipeline
from engine.shoppable import export_batch
from engine.words import counted

# each photo failed with the engine's "…catalog.sqlite is empty: import products first with `decorlens catalog
# import`": a command the app's user never types, said once per photo in "1 failed, e.g. …"
EMPTY_CATALOG = ("The catalog is empty, so no tag can be matched: import your products first (Catalog tab ▸ Import "
                 "CSV… or Import folder…), then Start again.")
NAMED = 5  # photos the summary names of those failed (each with why) and of those with no tag
ESTIMATE_AFTER = 3  # photos tagged before the time left is said: the first one also loads the models


def progress_words(done: int, total: int, left: str, last: str, kept: int) -> str:
    """The progress line: how many done and to go, the time ``left`` (" · about 5 min left" or ""), the ``last``
    photo done ("Just done: room.jpg", or "") and how many the last batch's were ``kept``."""
    return "\n".join(filter(None, [f"Tagging: {done:,} of {counted(total, 'photo')} done, {total - done:,} to go{left}…",
                                    last, f"{kept_words(kept)} (not tagged again)" if kept else ""]))


# the longest progress line, whose height the dialog keeps for it: as its 1 to 3 lines came and went, the dialog grew
# and the buttons moved under the mouse while the batch ran ("Just done" is elided to a line)
LONGEST_PROGRESS = progress_words(99_999, 199_998, f" · {time_left(359_940)} left", "Just done: …", 99_999)


@dataclass(frozen=True)
class Embedding:
    """How far the catalog's embedding for the embedder in use (``label``) is, before the batch's first photo."""

    label: str
    done: int
    total: int

    def words(self) -> str:
        return (f"Embedding the catalog for {self.label} first: {self.done:,} of {counted(self.total, 'product')}…\n"
                "Then the photos are tagged.")


def embed_first(pipeline: Pipeline, job: Job) -> None:
    """What the catalog lacks for the embedder in use (after a switch of embedder whose embedding was cancelled or
    cut short by quitting: all of it) embedded before the first photo, its progress delivered as ``Embedding``: inside
    the first photo's search the dialog said "0 of N photos" for 37 s over 1,955 products here (hours over a large
    catalog), and Cancel waited for its end. Cancel stops it between chunks, the catalog as it was. Checked once
    (``Pipeline.ensure_ready``): the first photo's search does not scan the catalog for missing vectors again."""
    label = model_label(pipeline.embedder.model)

    def told(done: int, total: int) -> None:
        job.deliver(Embedding(label, done, total))

    try:
        pipeline.ensure_ready(progress=told, cancelled=job.cancelled)
    except Cancelled:
        raise Cancelled(f"stopped while embedding the catalog for {label}: nothing was tagged, and the catalog "
                        "is as it was") from None


def shown_path(path: Path, photos: str) -> str:
    """A photo as the summary names it: below the Photos folder (``room.jpg``, ``spring/room.jpg``), else whole."""
    try:
        return str(path.relative_to(photos))
    except ValueError:
        return str(path)


def failed_words(failed: list[tuple[Path, str]], photos: str, head: str = "") -> str:
    """A line per failed photo (at most ``NAMED``) with why, in the words ``decorlens tag`` uses: the summary
    said "2 failed, e.g. …/truncated.jpg: cannot decode image", so the second photo and its reason went unsaid.
    ``head`` says what the failures were, "N photos could not be tagged" unless given."""
    if not failed:
        return ""
    each = "it" if len(failed) == 1 else "each"
    head = f"{head or counted(len(failed), 'photo') + ' could not be tagged'} ({SUMMARY} lists {each} with why):"
    return "\n" + "\n".join([head, *photo_lines([f"{shown_path(path, photos)}: {reason.removeprefix(f'{path}: ')}"
                                                  for path, reason in failed])])


def photo_lines(named: list[str]) -> list[str]:
    """A line per photo under the summary's sentence on them, at most ``NAMED``, then how many more: the failed and
    the untagged photos are listed alike."""
    more = [f"… and {counted(len(named) - NAMED, 'more photo')}"] if len(named) > NAMED else []
    return [f"  {line}" for line in named[:NAMED] + more]


def untagged_words(report: BatchReport, photos: str) -> str:
    """Lines on the photos left without a tag, which (as the failed ones are named) and why: what the catalog sells
    was not in them, and what was seen is not sold. A lamp shop's batch of 40 rooms said only "Tagged 40 photos
    (6 tags)" of its sofas and beds; then "1 photo has no tag" said not which."""
    text = ""
    if report.untagged and report.looked_for is not None:
        many, unfound = report.untagged > 1, f"no detector in use finds {sold_names(report.unfound)}"
        why = (f"nothing your catalog sells ({sold_names(report.looked_for)}) was found in {'them' if many else 'it'}"
               + (f"; {unfound}" if report.unfound else "") if report.looked_for else
               f"{unfound}, all your catalog sells (Train ▸ Finding objects teaches DecorLens to find them)")
        text += f"\n{report.untagged:,} {'photos have' if many else 'photo has'} no tag: {why}:"
        text += "\n" + "\n".join(photo_lines([shown_path(path, photos) for path in report.untagged_photos]))
    if report.unsold:
        text += f"\nNot tagged, as your catalog has none: {seen_names(report.unsold)}."
    return text


def photo_done(scene: Path, line: Tagged | tuple[Path, str]) -> tuple[str, str, int] | tuple[str, str]:
    """What the strip needs of a photo just done, made in the batch's worker: (path, sha256, tags remembered) when
    tagged or kept, (path, why) when it failed. Small, so the whole search result is not handed to the GUI thread."""
    if isinstance(line, Tagged):
        return str(scene), line.sha256, len(line.data["objects"])  # what the scene memory keeps of it
    return str(scene), line[1]


class BatchDialog(QDialog):
    finished_batch = Signal(object)  # BatchReport, or the message when cancelled or failed
    photoTagged = Signal(str, str, int)  # a photo's path, content hash and number of tags, as it is tagged (or kept)
    photoFailed = Signal(str, str)  # a photo's path and why it could not be tagged, as it fails

    def __init__(self, pipeline: Pipeline, engine: Runner, top_k: int, parent: QWidget | None = None,
                 folder: Path | None = None, store: QSettings | None = None):
        """``folder``: the Photos to offer, the folder the window is looking through (the merchandiser who just
        stepped through it chose it once already). ``store``: the app's settings, whose page titles (given in Export
        Shoppable Page, read at each Start) head the pages of those photos."""
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Batch Tag Folder")
        self.setMinimumWidth(560)
        self.pipeline = pipeline
        self.engine = engine
        self.task: Task | None = None
        self._embedding = False  # the bar counts the products embedded before the first photo (``embed_first``)
        self._restart_clock("")
        self.source = QLineEdit(str(folder or ""), placeholderText="folder of room photos (subfolders included)")
        # offered beside the Photos it names, as Browse offers it: left empty, a new user's Start asked for a folder
        self.target = QLineEdit(str(tagged_folder(folder)) if folder else "",
                                placeholderText="where the JSON, CSV and HTML pages go")
        self.top_k = top_k_box(top_k)
        form = QFormLayout()
        for text, edit, title in (("Photos", self.source, "Folder of room photos"),
                                  ("Save to", self.target, "Output folder")):
            label = QLabel(text)
            label.setBuddy(edit)
            # the form's label named the row holding the field and Browse, so a screen reader named no field (it
            # finds a buddy label only beside the field, not a row up)
            edit.setAccessibleName(f"{text} ({title.lower()})")
            form.addRow(label, self._browse_row(edit, title))
        form.addRow(TOP_K_LABEL, self.top_k)
        # the fields, held while a batch runs: a Save to edited then was the folder the summary named and Open results
        # folder opened, though the batch wrote where it was started (and a Matches per tag changed then did nothing)
        self.form = QWidget()
        self.form.setLayout(form)
        form.setContentsMargins(0, 0, 0, 0)  # in line with the words and buttons below, as it was
        self.progress = QProgressBar(textVisible=False)
        self.progress.setAccessibleName("Photos tagged")  # a screen reader said "progress bar" alone
        self.progress.hide()  # an empty bar before a start reads as a text field; it shows while running
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # its room kept: shown by Start, it moved the buttons down under the mouse
        self.progress.setSizePolicy(policy)
        self.status = QLabel(
            "Each photo gets its tags as <photo>.json and a shoppable web page <photo>.html; "
            "all tags of the folder also go in one spreadsheet, summary.csv. A photo you corrected here is "
            "written with your edits."
        )
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # shows folder names and error messages
        self.status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)  # in its room for progress
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button = QPushButton("Open results folder")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(
            lambda: open_outside(QUrl.fromLocalFile(self.target.text()), self)
        )
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch()
        for button in (self.start_button, self.cancel_button, close):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        grow_to_fit(self)  # the summary of a batch, with its failures, is longer than the words before a start

    def showEvent(self, event: QShowEvent) -> None:
        """The words below the bar get the height of the longest progress line (``LONGEST_PROGRESS``) at the
        dialog's narrowest, so the buttons stay put while a batch runs."""
        super().showEvent(event)
        width = self.status.width() - (self.width() - self.minimumWidth())
        room = QRect(0, 0, max(width, 1), 10_000)
        self.status.setMinimumHeight(
            self.status.fontMetrics().boundingRect(room, Qt.TextFlag.TextWordWrap, LONGEST_PROGRESS).height())

    def _browse_row(self, edit: QLineEdit, title: str) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        browse = QPushButton("Browse…")
        browse.setAccessibleName(f"Browse: {title.lower()}")  # two buttons of the same name told nothing apart
        browse.clicked.connect(lambda: self._browse(edit, title))
        layout.addWidget(edit, 1)
        layout.addWidget(browse)
        return row

    def _browse(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text())
        if folder:
            offered = str(tagged_folder(Path(edit.text()))) if edit.text() else ""
            edit.setText(folder)
            # the offer follows the Photos chosen, a folder typed or browsed for stays
            if edit is self.source and self.target.text() in ("", offered):
                self.target.setText(str(tagged_folder(Path(folder))))

    def start(self) -> None:
        source, target = self.source.text().strip(), self.target.text().strip()
        if not source or not target:
            say(self.status, "Choose the photos folder and where to save the results.", urgent=True)
            return
        pipeline, top_k, out = self.pipeline, self.top_k.value(), Path(target)
        titles = page_titles(self.store) if self.store is not None else {}
        try:
            check_not_an_input(out, [source])
        except DecorLensError as exc:
            say(self.status, str(exc), urgent=True)
            return

        def work(job) -> BatchReport:
            try:  # a folder on a slow share takes minutes to list: Cancel stops that too
                scenes = scene_files([source], leave_out=out, cancelled=job.cancelled)
            except Cancelled:
                raise Cancelled("stopped while looking for photos: nothing was tagged") from None
            if not scenes:
                raise ValueError(f"no photos found in {source}")
            if pipeline.catalog.count() == 0:
                raise DecorLensError(EMPTY_CATALOG)
            embed_first(pipeline, job)
            return export_batch(pipeline, scenes, out, top_k, job.progress, job.cancelled,
                                on_photo=lambda scene, line: job.deliver(
                                    (photo_done(scene, line), isinstance(line, Tagged) and line.kept)),
                                titles=titles)

        self._show_tagging()  # a batch before may have stopped while embedding
        self._set_running(True)
        self._restart_clock(source)
        self.status.setText("Looking for photos…")
        self.task = self.engine.start(
            work, done=self._done, progress=self._progress, failed=self._stopped, cancelled=self._cancelled,
            delivered=self._delivered,
        )

    def _restart_clock(self, photos: str) -> None:
        """What the progress line says of a batch started on ``photos``: none done, none kept, no time spent."""
        self._photos, self._last, self._kept = photos, "", 0
        self._tagged, self._spent, self._since = 0, 0.0, time.monotonic()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling the catalog's embedding…" if self._embedding else
                                "Cancelling after the current photo…")

    def _progress(self, done: int, total: int) -> None:
        self._show_tagging()
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        # "Tagged 1500 of 2000 photos…" counted the photos that failed as tagged, in digits unlike the end's "1,953";
        # "Tagging: 4 of 18 photos done…" said neither which photo, nor how long, nor that a Start again kept some
        left = (f" · {time_left(self._spent / (self._tagged - 1) * (total - done))} left"
                if self._tagged >= ESTIMATE_AFTER and done < total else "")
        last = self.status.fontMetrics().elidedText(f"Just done: {self._last}", Qt.TextElideMode.ElideMiddle,
                                                    self.status.width()) if self._last else ""
        self.status.setText(progress_words(done, total, left, last, self._kept))

    def _delivered(self, part: Embedding | tuple[tuple[str, str, int] | tuple[str, str], bool]) -> None:
        if isinstance(part, Embedding):
            self._embedded(part)
        else:
            self._photo_done(part)

    def _embedded(self, embedding: Embedding) -> None:
        """The catalog's embedding before the first photo, on the bar (as products embedded) and in words."""
        if not self._embedding:
            self._embedding = True
            self.progress.setAccessibleName("Products embedded")
        self.progress.setRange(0, embedding.total)
        self.progress.setValue(embedding.done)
        if self.task is not None and not self.task.is_cancelled():  # "Cancelling…" stays until it stops
            self.status.setText(embedding.words())

    def _show_tagging(self) -> None:
        """The bar counts photos again once the embedding before them is done."""
        if self._embedding:
            self._embedding = False
            self.progress.setAccessibleName("Photos tagged")

    def _photo_done(self, delivered: tuple[tuple[str, str, int] | tuple[str, str], bool]) -> None:
        """A photo done: said by name; the time it took counts toward the estimate unless it was kept (read back in
        a blink) or the first tagged (which loads the models)."""
        self._show_tagging()
        part, kept = delivered
        now = time.monotonic()
        # a photo that failed read as tagged ("Just done: x.jpg"); why comes in the summary at the end
        self._last = shown_path(Path(part[0]), self._photos) + ("" if len(part) == 3 else " (could not be tagged)")
        if kept:
            self._kept += 1
        else:
            self._spent += (now - self._since) if self._tagged else 0.0
            self._tagged += 1
        self._since = now
        if len(part) == 3:
            self.photoTagged.emit(*part)
        else:
            self.photoFailed.emit(*part)

    def _done(self, report: BatchReport) -> None:
        self._set_running(False)
        if not report.done:  # "Tagged 0 of 2 photos (0 tags). Each photo has its shoppable page…" of none written
            self._none_tagged(report)
            return
        objects = sum(len(r.objects) for r in report.results)
        corrected = len(report.edited)
        edited = f"; {corrected:,} as you corrected {'it' if corrected == 1 else 'them'}" if corrected else ""
        edited += f"; {kept_words(len(report.kept))}" if report.kept else ""
        # "Summary: …/summary.csv" named only the spreadsheet: the pages, what a batch is run for, went unsaid
        of = f" of {len(report.done) + len(report.failed):,}" if report.failed else ""  # as `decorlens tag` says
        text = (f"Tagged {len(report.done):,}{of} {'photo' if len(report.done) == 1 and not of else 'photos'} "
                f"({counted(objects, 'tag')}){edited}. Each photo has its shoppable page "
                f"(.html) and its tags (.json); {SUMMARY} lists all tags. Open results folder shows them: "
                f"{self.target.text()}")
        text += untagged_words(report, self._photos)
        if report.resume_unused:
            text += f"\n{report.resume_words(Path(self.target.text()))}"
        text += failed_words(report.failed, self._photos)
        say(self.status, text)
        self.finished_batch.emit(report)

    def _none_tagged(self, report: BatchReport) -> None:
        """Each photo failed, as ``decorlens tag`` refuses such a batch: no page, no tags, each photo's reason."""
        head = ("The photo could not be tagged" if len(report.failed) == 1 else
                f"None of the {counted(len(report.failed), 'photo')} could be tagged")
        say(self.status, failed_words(report.failed, self._photos, f"{head}, so no page was written").lstrip("\n"),
            urgent=True)
        self.finished_batch.emit(report)

    def _cancelled(self, message: str) -> None:
        saved = (f" What was tagged is saved in {self.target.text()}; Start again tags the rest."
                 if self._photos_done() else "")
        self._stopped(f"{message[:1].upper()}{message[1:]}.{saved}", urgent=False)

    def _stopped(self, message: str, urgent: bool = True) -> None:
        """The batch ended before its end: failed (``urgent``), or cancelled."""
        self._set_running(False)
        say(self.status, message, urgent)
        self.finished_batch.emit(message)

    def _photos_done(self) -> int:
        """The photos of the batch done so far: tagged, failed or kept."""
        return self._tagged + self._kept

    def _set_running(self, on: bool) -> None:
        if not on:
            self.task = None
            if not self._photos_done():  # stopped before a first photo: its bar (busy, or embedding) says it still runs
                self.progress.hide()
        self.form.setEnabled(not on)
        self.start_button.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        self.open_button.setEnabled(not on and bool(self.target.text()))
        if on:
            self.progress.setRange(0, 0)
            self.progress.show()

    def reject(self) -> None:
        """Escape, Close or the title bar's close button cancel a running batch, as Cancel does, and keep the
        dialog open to say what was saved; with nothing running they close it.

        Closed at once, the dialog (deleted on close) went on being called by its batch, which ran to the end
        unseen and uncancellable."""
        if self.task is not None:
            self.cancel()
            return
        super().reject()
