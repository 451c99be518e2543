"""Catalog ▸ Train on my photos…: what training will learn from, progress, before/after, one click to use it.

The loop the window closes: photos tagged and corrected in the app (``<data dir>/corrections``) and
an optional dataset folder become a run folder (``app.train_jobs.prepare``); a worker process trains
on it (``app.train_process``) and writes the model into the run folder only; the before/after is the
pretrained and the fine-tuned model on the held-back photos' products. Nothing the engine uses
changes until *Use this model*; *Undo* puts the previous models back. Cancel discards the run
folder; a crash or a closed window keeps its checkpoint, which *Resume* continues. A window closed while a
run's data is being prepared starts nothing: a new run's folder goes as Cancel's does, a resumed one keeps its
checkpoint, and *Use* leaves the models in use as they are.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import theme, train_jobs
from app.estimates import time_left
from app.labels import by_name, plain_label, pretty
from app.train_jobs import RESUME_CONTINUES, RESUME_FINDS_AGAIN, REVIEW, resume_does
from app.train_process import TrainProcess
from app.widgets.before_after import BeforeAfterView, example_skus, load_thumbnails
from app.widgets.escape import EscapeCloses
from app.widgets.message_bar import say
from app.widgets.toolbar import TRAIN_MISSING, training_available
from app.widgets.vertical_scroll import VerticalScroll
from app.workers import Runner
from engine.pipeline import Pipeline
from engine.remedies import in_app
from engine.words import counted

NETWORK_NAMES = {"mobilenet_v2": "MobileNetV2", "efficientnet-lite0": "EfficientNet-Lite0"}
# What to train, in a merchandiser's words ("the embedder", "the detector" were the engine's); the models' own
# names, as Settings ▸ Advanced shows them, in each one's tooltip
KINDS = (
    ("Matching (which product each tag is)", "embedder",
     "Trains the embedder: the model that says which catalog product a tagged object is."),
    ("Finding objects (where the tags go)", "detector",
     "Trains the detector: the model that finds the furniture and decor in a photo and places the tags."),
    ("Both", "both", "Trains the embedder (matching) and the detector (finding objects), one after the other."),
)
# Under the row of controls, in words: the tooltips alone left a user who does not hover guessing.
EPOCHS_VIEWS = ("Epochs: passes over the photos, at most; training stops early once the matches stop improving. "
                "Views: varied copies (crop, flip, colour) of each photo; fewer start sooner, more generalise better. "
                "Two networks: two are fine-tuned and searched together; the right product is in the top 5 more "
                "often, for about twice the training time.")
DETECTOR_OWN = " Epochs, views and two networks set matching's training only: finding objects sets its own."
# In the table's place while it has nothing to list: an empty frame said neither why nor what to do
NOTHING_YET = ("No confirmed products or boxes to count yet. To give training something to learn from:\n"
               "•  tag photos (open one, or File ▸ Batch Tag Folder…), then confirm the right product on their tags "
               f"or correct the tags; {REVIEW} lists the least sure first;\n"
               "•  or choose a dataset folder below.\n"
               "Their confirmed products and boxes are then counted here, by category.")
NOT_A_DATASET = ("The counts show here once the field below names a dataset folder, or is cleared to learn from your "
                 "confirmed tags alone.")
SOURCE_LEAST_LINES = 6  # of what it learns from shown at the least, scrolled: the summary and the counts' first rows
MIN_RESULT_LINES = 6  # of the before / after shown at the least, scrolled: its numbers' head and first rows
STAGES = (  # progress bar per stage: (title, the protocol's stage names it shows)
    ("Finding the objects in the photos", ("anchors", "validation scenes", "composites")),
    ("Preparing the pictures", ("views",)),
    ("Training", ("train", "validate", "detector")),
    ("Saving the model", ("export",)),
    ("Comparing before and after", ("evaluate",)),
)
# The step line's words for training.run's stages: its messages are the command line's ("views (train anchors)",
# "epoch 2 · loss=0.4137", "epoch 2: val recall@1 0.533 @5 0.800", "export"), which a merchandiser cannot read
STEP_WORDS = (
    ("anchors", "Finding each product in its room photo"),
    ("validation scenes", "Finding the products in the photos kept aside to check each epoch"),
    ("composites", "Pasting catalog photos into room photos to practise on"),
    ("views", "Preparing the pictures"),
    ("export", "Saving the model"),
    ("evaluate", "Comparing the models in use and the new one on photos training never used"),
)
# "views (train anchors)" and its three siblings, one after another: the same words over each, "Preparing varied
# copies of the pictures", had the bar run to its end and start again three times, its estimate with it, unexplained
VIEW_WORDS = {
    "train anchors": "Preparing varied copies of the products in your photos",
    "train products": "Preparing varied copies of the catalog's photos",
    "val anchors": "Preparing the photos kept aside to check each epoch",
    "val products": "Preparing the catalog's photos to check each epoch against",
}
DETECTOR_WORDS = (  # finding objects' steps (the detector's), by how its message starts
    ("labelling", "Marking the objects in the photos to learn from"),
    ("pasting", "Pasting catalog products into the photos to practise finding them"),
    ("choosing", "Choosing how sure it must be of an object to place a tag"),
)
DETECTOR_TRAINS = "Training to find objects"  # "Training the detector": the dropdown says "Finding objects"
CLI_EPOCH = re.compile(r"epoch (\d+)(?:/(\d+))?\b")  # "epoch 2 · loss=…" (matches), "epoch 2/10" (detector)
STOPPED = "Stopped: nothing changed, the models in use stay."  # a run stopped before its end (closed, Escape)
# Matching's stages alone: a run finding objects only never ran them, and its bars ran to 100 % as the training began
MATCHING_ONLY = tuple(title for title, _names in STAGES[:2])
NOT_IN_RUN = ("Not part of this run: this step prepares matching's training; finding objects prepares its own, "
              "shown under Training")
SKIPPED = "skipped"  # a stage's share, where its bar says a percentage
UNDO_EARLIER = "Undo the earlier Use"  # Undo beside a result not in use: it goes back from another run's models
ESTIMATE_FROM = 0.05  # share of a step done before its time left is said: the first steps' pace misleads
# Quitting the app with a run training: what stopping it keeps (a run finding objects only keeps nothing; one of
# both models already finding objects keeps matching's training, and Resume trains finding objects from the start)
QUIT_KEEPS = f"the epochs it finished are kept, and {RESUME_CONTINUES}."
QUIT_KEEPS_NOTHING = "finding objects begins again with Start next time."
QUIT_KEEPS_MATCHING = f"{RESUME_FINDS_AGAIN}."
FEW_COMPARED = 30  # held-back products below which one product either way moves a measure by 3 points or more


class TrainWindow(EscapeCloses, QWidget):
    """A window of its own (not modal): the app stays usable while a model trains."""

    activated = Signal(object)  # the Pipeline with the new (or, after Undo, the previous) models

    def __init__(self, pipeline: Pipeline, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Train on My Photos")
        self.pipeline = pipeline
        self.io = Runner(1, self)
        self.process = TrainProcess(self)
        self.process.progress.connect(self._progress)
        # a run's own words for a stop are the command line's ("training cancelled in epoch 2; `--resume` continues
        # from epoch 1"): the window says its own, and the line above what Resume and Start do once that is known
        self.process.finished.connect(lambda kind, value: self._finished(kind, STOPPED if kind == "cancelled" else value))
        # "Use": the chosen run's models made ready (int8 copy, levels, vectors)
        self.installer = TrainProcess(self, "Making the new model ready")
        self.installer.progress.connect(self._install_progress)
        self._install_step: tuple[str, float, int] = ("", 0.0, 0)  # Use's step, when it started, done so far
        self.installer.finished.connect(self._installed)
        for process in (self.process, self.installer):  # after the window's own slots: it has said how the run ended
            process.finished.connect(self._quit_when_stopped)
        self.run: Path | None = None
        self.result_run: Path | None = None  # the finished run whose result is shown: "Use" installs its models
        self.previous: tuple[list[str], list[list[str]]] | None = None  # models before *Use this model*
        self.used_run: Path | None = None  # the run whose models Use put in use, which Undo goes back from
        self._back_to = ""  # whose ``previous`` are, in words (``LastRun.before_words``; "": not known yet)
        self._cancelling = False
        self._stopped = False  # a run ended unfinished (closed, Escape, a crash): the step line says what is left
        self._busy = False  # a run is prepared, trained or discarded, or a model put in use: Start and Resume wait
        # What the worker is preparing before a process starts ("start", "resume" or "use"; None: nothing), and
        # whether the window was closed meanwhile: then the process is not started (closeEvent)
        self._preparing: str | None = None
        self._closed_preparing = False
        self._started = 0.0
        self._stage_started: dict[str, float] = {}
        self._network = (1, 1)  # (the network training now, how many): two-network runs train one after the other
        self._epochs: list[tuple[int, int, float]] = []  # (epoch, of at most, when it ended) of the network training
        self._skipped: set[str] = set()  # the stages (STAGES' titles) the run shown takes no part in
        self._kind: str | None = None  # what the run trains ("embedder", "detector", "both"; None: resumed)
        self._finding_objects = False  # the run shown has begun training finding objects (the detector)
        self._quit_then: Callable[[], None] | None = None  # the app's quit, once the run stopped for it has ended
        self._clock = QTimer(self, interval=1000)
        self._clock.timeout.connect(self._tick)
        self._build()
        if not training_available():
            self.status.setText(TRAIN_MISSING)
            for widget in (self.start_button, self.resume_button, self.what, self.folder_button):
                widget.setEnabled(False)
            return
        self.refresh()

    # -- layout -----------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        source = QGroupBox("What it learns from")
        grid = QVBoxLayout(source)
        self.summary = QLabel("Counting your corrections…")
        self.summary.setWordWrap(True)
        self.table = _Table(0, 3)
        self.table.setHorizontalHeaderLabels(["Category", "Confirmed products", "Boxes"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves for the folder, Train and Start: it walked every cell
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        # headings start where their columns' words and counts do: centred, "Boxes" stood mid-window over nothing
        self.table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.setMinimumHeight(130)  # grows with the window: the results below take only what they need
        self.table.setAccessibleName("What it learns from, by category")  # a screen reader said only "table"
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("Optional: a dataset folder (products.csv, pairs.csv, scenes/)")
        self.folder.setAccessibleName("Dataset folder (optional)")  # the placeholder is no name, and goes once typed
        self.folder.editingFinished.connect(self.refresh)
        self.folder_button = QPushButton("Choose…")
        self.folder_button.clicked.connect(self._choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(self.folder_button)
        self.warning = plain_label()
        self.warning.setWordWrap(True)
        self.warning.setObjectName("warning")  # amber in the theme's shade: a fixed one read 2.9:1 on the dark panel
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in (self.summary, self.table):
            column.addWidget(widget)
        column.addLayout(row)
        column.addWidget(self.warning)
        self.source_scroll = _Source(body)
        grid.addWidget(self.source_scroll)
        layout.addWidget(source, 1)
        layout.addLayout(self._controls())
        self.help = QLabel(EPOCHS_VIEWS)
        self.help.setObjectName("muted")
        self.help.setWordWrap(True)  # wraps at the row's width: the window gets no wider for it
        layout.addWidget(self.help)
        below = QHBoxLayout()  # progress beside the before / after: both fit a laptop screen's height
        progress = QVBoxLayout()
        progress.addWidget(self._progress_box())
        self.status = _Line()
        progress.addWidget(self.status)
        progress.addStretch(1)
        below.addLayout(progress, 2)
        below.addWidget(self._results_box(), 3)
        layout.addLayout(below)
        theme.resize_to_screen(self, 1180, 880)

    def _controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.what = QComboBox()
        for index, (text, kind, tip) in enumerate(KINDS):
            self.what.addItem(text, kind)
            self.what.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        self.what.setToolTip(KINDS[0][2])
        self.epochs = QSpinBox(minimum=1, maximum=200, value=20)
        self.epochs.setToolTip("At most this many passes over the photos (training stops early when it stops improving)")
        self.views = QSpinBox(minimum=1, maximum=5, value=3)
        self.views.setToolTip("Varied copies (crop, flip, colour) of each photo prepared before training: "
                              "fewer start sooner, more generalise better")
        self.two_networks = QCheckBox("Two networks")
        self.two_networks.setToolTip("Fine-tunes MobileNetV2 and EfficientNet-Lite0 and searches with both: better "
                                     "matches (measured: the right product in the top 5 more often), about twice "
                                     "the training time")
        self.what.currentIndexChanged.connect(self._kind_changed)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        self.resume_button.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        labels = [QLabel(text) for text in ("Train", "epochs", "views")]
        for label, field in zip(labels, (self.what, self.epochs, self.views), strict=True):
            label.setBuddy(field)  # screen readers name the field by its label
            row.addWidget(label)
            row.addWidget(field)
        row.addWidget(self.two_networks)
        row.addStretch(1)
        for widget in (self.resume_button, self.start_button, self.cancel_button):
            row.addWidget(widget)
        return row

    def _kind_changed(self) -> None:
        """Two networks, epochs and views are the embedder's: a detector-only run has none of them (its
        training picks its own epochs for the device), and the help says so whenever a detector trains."""
        kind = self.what.currentData()
        self.what.setToolTip(self.what.currentData(Qt.ItemDataRole.ToolTipRole))  # the closed box's too
        self._enable_settings()
        self.help.setText(EPOCHS_VIEWS + (DETECTOR_OWN if kind != "embedder" else ""))
        self._show_warnings()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._enable_settings()

    def _enable_settings(self) -> None:
        """A run's settings (what, epochs, views, two networks, the folder) can be changed only while nothing runs:
        changed during a run they stayed on, as if the run had taken them, and changed nothing."""
        for widget in (self.what, self.folder, self.folder_button):
            widget.setEnabled(not self._busy)
        for widget in (self.two_networks, self.epochs, self.views):
            widget.setEnabled(not self._busy and self.what.currentData() != "detector")

    def _show_warnings(self) -> None:
        """What there is too little of for the chosen kind of run; the forecast goes once a result is shown."""
        summary = getattr(self, "summary_data", None)
        text = "\n".join(summary.warnings(self.what.currentData(), self.result_run is not None)) if summary else ""
        self.warning.setText(text)
        self.warning.setVisible(bool(text))

    def _progress_box(self) -> QGroupBox:
        box = QGroupBox("Progress")
        grid = QGridLayout(box)
        self.bars: dict[str, tuple[QLabel, QProgressBar]] = {}
        self.shares: dict[str, QLabel] = {}  # each bar's "40 %", or that its stage is not part of the run
        for row, (title, _names) in enumerate(STAGES):
            label, bar, share = QLabel(title), QProgressBar(textVisible=False), QLabel("0 %")
            bar.setAccessibleName(title)  # a screen reader read all five as "Progress", the box's title
            share.setObjectName("muted")
            share.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            share.setMinimumWidth(max(share.fontMetrics().horizontalAdvance(text) for text in ("100 %", SKIPPED)))
            self.shares[title] = share
            bar.valueChanged.connect(lambda value, title=title: self._share(title, value))
            bar.setValue(0)
            grid.addWidget(label, row, 0)
            grid.addWidget(bar, row, 1)
            grid.addWidget(share, row, 2)
            self.bars[title] = (label, bar)
        # Both wrap at the box's width: a step's words, or the clock with its estimate and network ("Elapsed 12:05 ·
        # about 1:10 left in “comparing before and after” · network 2 of 2", 481 px), widened the window to 1,243 px
        self.step = _Line()
        self.elapsed = _Line()
        grid.addWidget(self.step, len(STAGES), 0, 1, 3)
        grid.addWidget(self.elapsed, len(STAGES) + 1, 0, 1, 3)
        return box

    def _results_box(self) -> QGroupBox:
        self.results_box = box = QGroupBox("Before / after, on photos held back from training")
        layout = QVBoxLayout(box)
        self.before_after = BeforeAfterView()
        self.held = plain_label()
        self.held.setWordWrap(True)
        self.use_button = QPushButton("Use this model")
        self.use_button.clicked.connect(self.use)
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.undo)
        self.undo_button.setEnabled(False)
        self.int8 = QCheckBox("Make it faster on this computer")
        self.int8.setToolTip("Uses an int8 copy of the new model, calibrated on your catalog's photos: about half the "
                             "matching time without a graphics card, for about a point of top-5.")
        self.int8.hide()
        self.embed_bar = QProgressBar(textVisible=False)  # 6 px tall (the theme): a percentage would be cut
        self.embed_bar.hide()
        self.use_step = _Line()  # Use's step and how far, over its bar: the window's status line is a box away
        row = QHBoxLayout()
        row.addWidget(self.embed_bar, 1)
        row.addStretch(0)  # Use and Undo as wide as their words, at the right: they shared the box's width
        row.addWidget(self.use_button)
        row.addWidget(self.undo_button)
        shown = QWidget()
        column = QVBoxLayout(shown)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.before_after)
        column.addWidget(self.held)
        column.addStretch(1)
        self.results_scroll = _Results(shown)
        layout.addWidget(self.results_scroll, 1)
        # on a line of its own: beside Use and Undo it made the box 443 px wide at the least, and with the progress
        # beside it the window as wide as a 1280 × 800 screen at 150 %
        layout.addWidget(self.int8, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.use_step)
        layout.addLayout(row)  # below the scrolled results: Use and Undo are in the window however short it is
        box.hide()
        return box

    # -- what it learns from ----------------------------------------------------------------------

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A dataset folder (products.csv, pairs.csv, scenes/)")
        if path:
            self.folder.setText(path)
            self.refresh()

    def _folder(self) -> Path | None:
        text = self.folder.text().strip()
        return Path(text) if text else None

    def refresh(self) -> None:
        pipeline, folder = self.pipeline, self._folder()
        self.io.start(lambda _job: train_jobs.gather(pipeline, folder), done=self._show_summary,
                      failed=self._not_counted)

    def _not_counted(self, message: str) -> None:
        """A folder that is not a dataset (or none at all): said in the warning line, even below a result (it was
        set on a hidden line there), and Start waits for a folder that is one or an empty field: it stayed on with
        the last folder's counts, and failed only once the run's data was being prepared."""
        self.summary_data = None
        self.summary.setText("Nothing counted: the folder below cannot be used.")
        self.table.show_rows(0, NOT_A_DATASET)
        self.warning.setText(message)
        self.warning.show()
        self.start_button.setEnabled(False)
        self.resume_button.hide()

    def _show_summary(self, summary: train_jobs.Summary) -> None:
        self.summary_data = summary
        pairs = sum(summary.pairs.values())
        self.summary.setText(summary_text(summary))
        categories = by_name(set(summary.pairs) | set(summary.boxes))
        self.table.show_rows(len(categories), NOTHING_YET)
        for row, category in enumerate(categories):
            for column, value in enumerate((pretty(category), summary.pairs[category], summary.boxes[category])):
                self.table.setItem(row, column, QTableWidgetItem(str(value)))
        self._show_warnings()
        self.start_button.setEnabled(pairs > 0 and not self._busy)
        self.resume_button.setVisible(summary.resumable is not None and not self._busy)
        if self._stopped:  # a run stopped unfinished: what is left of it is known now
            self._stopped = False
            self.step.setText(_stopped_line(summary))
        elif summary.resumable and not self._busy and not self.step.text():  # one left by a quit app or a crash
            self.step.setText(summary.resumable_said)
        if self._busy:
            return
        if summary.last and self.previous is None and not self.status.text():  # as opened
            self._show_last(summary.last)
        else:  # after a Use or an Undo: Undo goes on from the models in use now, through every earlier Use
            self._offer_undo(summary.last)

    def _show_last(self, last: train_jobs.LastRun) -> None:
        """Opened again (the app quit meanwhile), the newest finished run's before / after: with Use where its models
        are not in use, and Undo back to the models before the ones in use where a run's are. Both went with the
        window that ran it, and the window had no way back to the stock models or an earlier run's."""
        self.result_run, in_use = last.run, last.used == last.run
        self._show_result(last.result)
        self._show_warnings()  # a result is shown: its numbers say more than the forecast
        self.use_button.setEnabled(not in_use)
        self.int8.setEnabled(not in_use)
        self._offer_undo(last)
        said = (f"In use: the models of the run {last.when}, chosen with Use this model." if in_use else
                f"The run {last.when} finished; its models are not in use: Use this model puts them in use.")
        if last.before:
            said += " Undo goes back to the models in use before them." if in_use else self._in_use_now()
        elif last.undo_off:
            said += f" {last.undo_off}"
        self.status.setText(said)

    def _offer_undo(self, last: train_jobs.LastRun | None) -> None:
        """Undo from the models in use now, as the run folders tell: the run whose Use made them active and the
        models before it. Undo went back one Use per session: after two (run A's, then B's), undoing B left A's
        models with no Undo, and the stock ones were to be had by a restart (or Settings by file name)."""
        self.previous = last.before if last else None
        self.used_run = last.used if last else None
        self._back_to = last.before_words if last else ""
        self.undo_button.setEnabled(self.previous is not None)
        self._name_undo()

    def _in_use_now(self) -> str:
        """Beside a result not in use, the earlier run whose models are, where Undo goes back from them."""
        if self.used_run is None or self.used_run == self.result_run or not self.undo_button.isEnabled():
            return ""
        return (f" In use now: the models of the run {train_jobs.started_words(self.used_run)}; Undo goes back to the "
                "models before them.")

    def _name_undo(self) -> None:
        """Undo says what it undoes. Beside a new result not in use, "Undo" read as undoing that result (or its
        training), while it goes back from an earlier run's Use."""
        earlier = self.used_run is not None and self.used_run != self.result_run
        self.undo_button.setText(UNDO_EARLIER if earlier else "Undo")
        back_to = self._back_to or "the ones in use before them"
        self.undo_button.setToolTip(f"Back from the models of the run {train_jobs.started_words(self.used_run)} to "
                                    f"{back_to}" if earlier else f"Back to {back_to}")

    # -- running ----------------------------------------------------------------------------------

    def start(self) -> None:
        pipeline, folder, kind = self.pipeline, self._folder(), self.what.currentData()
        epochs, views = self.epochs.value(), self.views.value()
        two = self.two_networks.isEnabled() and self.two_networks.isChecked()
        self._running("Preparing the training data…", kind)
        self._prepare("start")
        self.io.start(lambda _job: train_jobs.prepare(pipeline, folder, kind, epochs, views, two), done=self._launch,
                      failed=self._failed)

    def resume(self) -> None:
        run = self.summary_data.resumable
        self._running(f"Resuming: it {resume_does(self.summary_data.resumable_finds_again)}…")
        self._prepare("resume")
        self.io.start(lambda _job: train_jobs.resume(run), done=self._launch, failed=self._failed)

    def _prepare(self, what: str) -> None:
        self._preparing, self._closed_preparing = what, False

    def _running(self, text: str, kind: str | None = None) -> None:
        """A run starts (``kind``: what it trains; None, a resumed run: any)."""
        self.results_box.hide()
        self.result_run = None
        self._set_busy(True)
        for _label, bar in self.bars.values():
            bar.setRange(0, 100)
        self.start_button.setEnabled(False)
        self.resume_button.hide()
        self.cancel_button.setEnabled(True)
        self.status.setText(text)
        self._cancelling = self._stopped = False
        self._started = time.monotonic()
        self._next_network(1, 1)
        self._kind, self._finding_objects = kind, False
        self._take_part(set(MATCHING_ONLY) if kind == "detector" else set())
        self._clock.start()

    def _take_part(self, skipped: set[str]) -> None:
        """The stages a run skips greyed, said "skipped" for their share: a run finding objects only ran matching's
        two bars to 100 % as its training began, for steps it never took."""
        self._skipped = skipped
        for title, (label, bar) in self.bars.items():
            label.setEnabled(title not in skipped)
            bar.setEnabled(title not in skipped)
            bar.setAccessibleDescription(NOT_IN_RUN if title in skipped else "")
            for widget in (label, bar):
                widget.setToolTip(NOT_IN_RUN if title in skipped else "")
            self._share(title, bar.value())

    def _share(self, title: str, value: int) -> None:
        self.shares[title].setText(SKIPPED if title in self._skipped else f"{value} %")

    def _launch(self, job: Path) -> None:
        self.run = job.parent
        self._preparing = None
        if self._cancelling:  # Cancel came while the data was being prepared (or a close, for a new run)
            self._finished("cancelled", "")
            return
        if self._closed_preparing:  # the window was closed while a resumed run was being prepared
            again = self.summary_data is not None and self.summary_data.resumable_finds_again
            self._finished("cancelled", "Not resumed: the window was closed before the run started. "
                                        f"Resume {resume_does(again)}.")
            return
        self.status.setText("Training in a process of its own: the app stays usable meanwhile.")
        self.process.start(job)

    def cancel(self) -> None:
        """Stop and discard: the run folder goes, no model is written or activated."""
        self._cancelling = True
        self.cancel_button.setEnabled(False)
        self.status.setText("Stopping…")
        self.process.stop()

    def _progress(self, stage: str, done: int, total: int, message: str) -> None:
        from training.run import DETECTOR, NETWORK  # loaded once the user trains, not with the app

        self._finding_objects |= stage == DETECTOR
        if stage == NETWORK:
            self._next_network(done + 1, total)
            self.step.setText(step_words(stage, done, total, message))
            return
        title = next((t for t, names in STAGES if any(stage.startswith(n) for n in names)), None)
        if title is None:
            return
        self._stage_started.setdefault(title, time.monotonic())
        for earlier, _names in STAGES[: [t for t, _n in STAGES].index(title)]:
            if earlier not in self._skipped:
                self.bars[earlier][1].setValue(100)
        bar = self.bars[title][1]
        if stage != "validate" and total:
            value = round(100 * done / total)
            if value < bar.value():  # the bar starts again (Training's, each epoch): so does the clock of its estimate
                self._stage_started[title] = time.monotonic()
            bar.setValue(value)
        if stage == "validate":
            self._epoch_ended(done, total)
        self.step.setText(step_words(stage, done, total, message))

    def _epoch_ended(self, epoch: int, of: int) -> None:
        """An epoch's end, timed for the estimate of the epochs left; a network's first epoch (a detector's after
        matching's, in a run of both) starts the count again."""
        if self._epochs and epoch <= self._epochs[-1][0]:
            self._epochs = []
        self._epochs.append((epoch, of, time.monotonic()))

    def _next_network(self, number: int, of: int) -> None:
        """A run, and each of its networks (two train one after the other), starts its bars and stage clocks at zero."""
        self._network = (number, of)
        for _label, bar in self.bars.values():
            bar.setValue(0)
        self._stage_started = {}
        self._epochs = []

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._started
        text = f"Elapsed {_clock(elapsed)}"
        current = next((t for t, _n in reversed(STAGES) if t in self._stage_started), None)
        if current is not None:
            value = self.bars[current][1].value()
            spent = time.monotonic() - self._stage_started[current]
            if 5 <= value < 100:  # Training's bar is an epoch's: "about 0:00 left in “training”" had epochs to go
                where = "this epoch" if current == "Training" else f"“{current.lower()}”"
                text += f" · {_left(spent * (100 - value) / value)} left in {where}"
            if current == "Training" and len(self._epochs) > 1:  # the rest: 80 epochs of a detector are 25 min on a CPU
                (first, _of, start), (last, of, end) = self._epochs[0], self._epochs[-1]
                if of > last:
                    text += f" · up to {counted(of - last, 'more epoch')}: {_left((end - start) / (last - first) * (of - last))}"
        number, of = self._network
        if of > 1:  # the estimate is for this network's stage: say whether another one follows
            text += f" · network {number} of {of}" + (f", network {number + 1} next" if number < of else "")
        self.elapsed.setText(text)

    def _finished(self, kind: str, value) -> None:
        self._clock.stop()
        self.elapsed.setText(f"Took {_clock(time.monotonic() - self._started)}")  # its last estimate is past
        self.cancel_button.setEnabled(False)
        run, self.run = self.run, None
        if kind == "done":
            self.step.setText("Done.")
            self.result_run = run
            self._show_result(value)
            self._name_undo()
            say(self.status, _verdict(value) + self._in_use_now())
        elif self._cancelling:
            self.status.setText("Cancelling: removing the run…")
            self.io.start(lambda _job: train_jobs.discard(run), done=lambda _v: self._cancelled())
            return
        else:
            self._stopped = kind in ("cancelled", "crashed")
            # the fix in the app's words, not `decorlens train`'s; told to a screen reader, over what it says unless
            # the user stopped it
            say(self.status, in_app(str(value)), urgent=kind != "cancelled")
        self._set_busy(False)
        self.refresh()

    def _cancelled(self) -> None:
        """Nothing of the run is left, nor of its progress: its last step and time read as if it still ran."""
        say(self.status, "Cancelled: nothing changed.")
        for _label, bar in self.bars.values():
            bar.setValue(0)
        self.step.clear()
        self.elapsed.clear()
        self._set_busy(False)
        self.refresh()

    def _failed(self, message: str) -> None:
        self._clock.stop()
        self._preparing = None
        self.cancel_button.setEnabled(False)
        if not self.results_box.isHidden():  # "Use" failed (the int8 copy refused, or the window closed on it):
            # it can be tried again (isVisible would be false in a closed window, leaving Use off for good)
            self.embed_bar.hide()
            self.use_step.clear()
            self.use_button.setEnabled(True)
            self.int8.setEnabled(True)
        say(self.status, in_app(message), urgent=True)
        self._set_busy(False)
        self.refresh()

    # -- before / after, use, undo ----------------------------------------------------------------

    def _show_result(self, result: dict) -> None:
        embedder, compared = result.get("embedder"), result.get("before_after") or {}
        words = []
        if compared:
            self.before_after.show_numbers(compared["before"], compared["after"])
            words.append(_compared_text(compared))
            examples, pipeline = compared.get("examples", []), self.pipeline
            self.io.start(lambda _job: (load_thumbnails(compared), pipeline.alike_among(example_skus(examples))),
                          done=lambda shown: self._show_examples(examples, *shown))
        elif embedder and "pretrained" in embedder:  # no comparison: the validation photos that chose the epoch
            self.before_after.show_numbers(embedder["pretrained"], embedder["fine_tuned"])
        if embedder:
            words.append(_epochs_text(embedder.get("members", [embedder])))
        if result.get("detector"):
            words.append(detector_text(result["detector"]))
        self.held.setText(" ".join(words))
        self.int8.setVisible(bool(embedder and embedder.get("int8_offered")))
        self.use_button.setEnabled(True)
        self.results_box.show()

    def _show_examples(self, examples: list[dict], images: dict, alike: frozenset[str]) -> None:
        self.before_after.show_examples(examples, images, alike)

    def use(self) -> None:
        settings = self.pipeline.settings
        self.previous = (list(settings.embedder), [list(d) for d in settings.detectors])
        pipeline, run = self.pipeline, self.result_run
        self._embedding("Making the new model ready to use…")
        int8 = self.int8.isVisible() and self.int8.isChecked()
        self._prepare("use")
        self.io.start(lambda _job: train_jobs.install_job(pipeline, run, int8), done=self._install,
                      failed=self._failed)

    def _install(self, job: Path) -> None:
        """Use's job is written: the training process makes the models ready, unless the window was closed
        meanwhile (closing stops Use, as it stops a running one)."""
        self._preparing = None
        if self._closed_preparing:
            job.unlink(missing_ok=True)
            self._failed("Stopped: the previous models stay in use.")
            return
        self.installer.start(job)

    def _installed(self, kind: str, value) -> None:
        """The models are ready (copied, embedded for): activating them is quick, on a worker thread."""
        if kind != "done":
            self._failed(str(value) if kind != "cancelled" else "Stopped: the previous models stay in use.")
            return
        self.use_step.setText("Switching to the new model…")
        pipeline = self.pipeline
        self.io.start(lambda job: train_jobs.activate(pipeline, value["embedder"], value["detectors"], job.progress,
                                                      job.cancelled),
                      done=self._activated, failed=self._failed, progress=self._embed_progress)

    def undo(self) -> None:
        pipeline, (embedder, detectors) = self.pipeline, self.previous
        self._embedding("Going back to the previous models…")
        self.io.start(lambda job: train_jobs.activate(pipeline, embedder, detectors, job.progress, job.cancelled),
                      done=self._undone, failed=self._failed, progress=self._embed_progress)

    def _embedding(self, text: str) -> None:
        """Use or Undo at work: Start waits too (a run started meanwhile hid the progress of Use, which then
        changed the models unseen)."""
        self._set_busy(True)
        self.start_button.setEnabled(False)
        self.resume_button.hide()
        self.use_button.setEnabled(False)
        self.int8.setEnabled(False)
        self.undo_button.setEnabled(False)
        self.embed_bar.setValue(0)
        self.embed_bar.show()
        self.status.setText(text)

    def _install_progress(self, _stage: str, done: int, total: int, step: str) -> None:
        """Use's step in words, how far it is and, once it can tell, the time left: each step's clock starts with it."""
        now = time.monotonic()
        last, started, before = self._install_step
        if step != last or done < before:
            started = now
        self._install_step = (step, started, done)
        self.use_step.setText(install_words(step, done, total, now - started))
        self._embed_progress(done, total)

    def _embed_progress(self, done: int, total: int) -> None:
        self.embed_bar.setRange(0, max(total, 1))
        self.embed_bar.setValue(done)

    def _activated(self, pipeline: Pipeline) -> None:
        before = self.pipeline.settings
        self.pipeline = pipeline
        self.embed_bar.hide()
        self.use_step.clear()
        self.undo_button.setEnabled(True)
        self.used_run, self._back_to = self.result_run, ""  # whose the previous models are: told once counted again
        self._name_undo()
        say(self.status, _now_in_use(before, pipeline.settings))
        self._idle()
        self.activated.emit(pipeline)

    def _undone(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.embed_bar.hide()
        self.use_button.setEnabled(True)
        self.int8.setEnabled(True)
        back_to = self._back_to or "the previous models"
        self._offer_undo(None)  # until counted again: the run whose models came back, if any, is offered next
        say(self.status, f"Back to {back_to}: photos opened from now on are matched and tagged as before.")
        self._idle()
        self.activated.emit(pipeline)

    def _idle(self) -> None:
        self._set_busy(False)
        self.refresh()  # Start and Resume, as the counts allow

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest:  # the layout has just set the window's least size
            self._least_height()
        return handled

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._least_height()

    def _least_height(self) -> None:
        """As tall, at the least, as the wrapped lines need at the window's least width: Qt's least height counts
        each wrapped label as one line, so the window made as small as it goes squeezed every part by the rest,
        the table over the folder's field (42 px at 100 %)."""
        layout = self.layout()
        self._source_least(layout)
        need = layout.totalMinimumHeightForWidth(layout.totalMinimumSize().width())
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)

    def _source_least(self, layout: QVBoxLayout) -> None:
        """What it learns from asks for all its height where the screen has room for it, and for the rest of the
        screen's (as ``theme.resize_to_screen`` shares it) down to a few lines where not: asking always for a few
        lines, the before / after took the window's height first and left the counts 100 px at 100 %."""
        source, fewest = self.source_scroll, self.source_scroll.fewest()
        free = int((self.screen() or QApplication.primaryScreen()).availableGeometry().height() * theme.SCREEN_SHARE)
        for _ in range(3):  # each change moves the wrapped lines' widths a little: settled in one or two
            # the window's least height were it to show the fewest lines of it
            rest = layout.totalMinimumHeightForWidth(layout.totalMinimumSize().width()) - (source.least - fewest)
            least = max(fewest, min(source.whole(), fewest + free - rest))
            if least == source.least:
                return
            source.least = least
            source.updateGeometry()
            source.parentWidget().updateGeometry()  # its group box's least, asked again now
            layout.invalidate()

    def escape(self) -> None:
        """With nothing running, close. While a run trains (or *Use* makes its model ready), stop it as closing
        does (between steps, its checkpoint kept for Resume), but stay open to say so: a key pressed in passing
        never stops a run unseen, nor hides the window on one left running. While the data is being prepared, a
        run removed or the catalog embedded (seconds), wait: the status line says what runs."""
        running = [process for process in (self.process, self.installer) if process.running]
        for process in running:
            process.stop()
        if running:
            self.status.setText("Stopping: " + (self._stopping_keeps() if self.process in running
                                                else "the previous models stay in use."))
        elif not self._busy and not self.embed_bar.isVisible():
            self.close()

    def may_quit(self, then: Callable[[], None]) -> bool:
        """Whether the app may quit now (the main window's close asks). With a run training, or Use making its models
        ready, it asks first: *Keep training*, or stop it between steps, as Cancel does, and call ``then`` once it
        has ended (the app quits then). The app quit at once and its process was killed outright ("QProcess:
        Destroyed while process is still running"), mid-step, a checkpoint or a model perhaps half written."""
        process = self.working()
        if process is None:
            return True
        if not process.stopping:  # asked already (an earlier close, Escape): it is ending
            if not self._quit_asked(training=process is self.process):
                return False
            process.stop()
        self._quit_then = then
        self.status.setText("Quitting once " + (f"training has stopped: {self._stopping_keeps()}"
                                                if process is self.process else "Use has stopped: the models in use "
                                                "stay."))
        self.show()
        self.raise_()
        return False

    def working(self) -> TrainProcess | None:
        """The process running now: a run training, or Use making its models ready; None."""
        return next((p for p in (self.process, self.installer) if p.running), None)

    def session_ending(self, ask: bool) -> bool:
        """The desktop session ends with a run training or Use at work: logging out or shutting down where the session
        manager lets the app ask (``ask``: the question of quitting, in a logout's words; False returned where the user
        keeps it going, for the session manager to cancel the logout), or SIGTERM, which no one is there to answer.
        Stopped, it stops between steps as quitting does, a checkpoint kept for Resume, and the app goes once it has
        stopped (``may_quit``). Nothing handled either: a logout killed the run mid-step with the session, or left it
        going on alone, and SIGTERM asked a question no one answered."""
        process = self.working()
        if process is None or process.stopping:
            return True
        if ask and not self._quit_asked(training=process is self.process, leaving="Log Out"):
            return False
        process.stop()
        self.status.setText(("Logging out" if ask else "Asked to end") + ": stopping " + (
            f"the training between steps: {self._stopping_keeps()}" if process is self.process
            else "Use: the models in use stay."))
        return True

    def _quit_when_stopped(self, *_ended) -> None:
        """The run stopped for a quit has ended: the app quits, once the process's slots are left."""
        then, self._quit_then = self._quit_then, None
        if then is not None:
            QTimer.singleShot(0, then)

    def _stopping_keeps(self) -> str:
        """What stopping the run keeps. Resume trains finding objects from the start (``training.run``: the detector
        has no checkpoint of its own), so a run of both models stopped while it found objects said its epochs were
        kept and Resume continued from the last one, and Resume began that training over."""
        if self._kind == "detector":
            return QUIT_KEEPS_NOTHING
        return QUIT_KEEPS_MATCHING if self._finding_objects else QUIT_KEEPS

    def _quit_asked(self, training: bool, leaving: str = "Quit") -> bool:
        """Whether to quit (or log out: ``leaving``) and stop the run (or Use) that is running; *Keep* is the default,
        Escape's too."""
        stop = f"{leaving} and stop it".capitalize()
        if training:
            text, keep = f"A training is running. {stop}: {self._stopping_keeps()}", "Keep Training"
        else:
            text, keep = f"The new model is being made ready to use. {stop}: the models in use stay.", "Keep Going"
        box = QMessageBox(QMessageBox.Icon.Question, leaving, text, parent=self.parentWidget() or self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        quit_button = box.addButton(f"{leaving} and Stop It", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(box.addButton(keep, QMessageBox.ButtonRole.RejectRole))
        box.exec()
        return box.clickedButton() is quit_button

    def closeEvent(self, event) -> None:
        """Closing stops a running job but keeps its checkpoint: Resume continues it next time. A job still being
        prepared is not started once it is ready (it went on unseen after the window had gone): a new run is
        cancelled, its half-made folder removed, as Cancel does; a resumed run keeps its checkpoint; Use leaves
        the models in use as they are."""
        for process in (self.process, self.installer):
            if process.running:
                process.stop()
        if self._preparing == "start":
            self.cancel()
        elif self._preparing is not None:
            self._closed_preparing = True
            self.status.setText("Stopping: " + ("the previous models stay in use." if self._preparing == "use"
                                                else "the window was closed before the run started."))
        super().closeEvent(event)


class _Line(QLabel):
    """A line of news (a step, the clock, what the window did), word-wrapped, that takes no room while it says
    nothing: the three empty ones were 60 px of blank rows under the progress bars on a 1366 × 768 screen at 125 %,
    while What it learns from, held to the rest of the screen, cut its warning in half. Plain text."""

    def __init__(self):
        super().__init__()
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.hide()

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text))

    def clear(self) -> None:
        self.setText("")


class _Table(QTableWidget):
    """What it learns from, per category: it asks for no more than its least height, so a before / after shown
    below has the window's height first (a table of a few rows asked for 190 px and left the results a few
    lines); the window's height beyond what they need still goes to the table."""

    def __init__(self, rows: int, columns: int):
        super().__init__(rows, columns)
        # With no rows, what to do to have some, in the table's frame (an empty frame under its headings said
        # nothing); a label, not painted text: screen readers read it, and the table keeps its place and focus
        self.nothing = plain_label(parent=self.viewport())
        self.nothing.setWordWrap(True)
        self.nothing.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.nothing.setMargin(8)
        self.nothing.hide()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())

    def show_rows(self, count: int, otherwise: str) -> None:
        """``count`` rows, or, with none, ``otherwise`` in their place (and no headings over nothing)."""
        self.setRowCount(count)
        self.horizontalHeader().setVisible(count > 0)
        self.nothing.setText(otherwise)
        self.nothing.setVisible(count == 0)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:  # the viewport's, as the headings come and go too
            self.nothing.setGeometry(self.viewport().rect())
        return super().viewportEvent(event)


class _Source(VerticalScroll):
    """What it learns from (summary, counts, folder, warning), scrolled where the window is shorter than it is: its
    whole height (the counts' least, the wrapped summary and warning) made the window 604 px tall at the least, past
    a 1280 × 800 screen at 150 % (533 px), and a window held shorter squeezed the folder's field over the counts."""

    def __init__(self, body: QWidget):
        super().__init__(body)
        body.setAutoFillBackground(False)  # the group box's colour, not the window's
        self.least = self.fewest()

    def fewest(self) -> int:
        """The least height it ever asks for: ``SOURCE_LEAST_LINES`` lines."""
        return self.fontMetrics().lineSpacing() * SOURCE_LEAST_LINES

    def whole(self) -> int:
        """The body's whole height at the width it has."""
        body = self.widget()
        return max(body.heightForWidth(self.viewport().width()), body.minimumSizeHint().height())

    def minimumSizeHint(self) -> QSize:
        """The body's least width (it never scrolls across) and ``least`` height (``TrainWindow._source_least``)."""
        return QSize(self.least_width(), self.least)


class _Results(VerticalScroll):
    """The before / after, scrolled above Use and Undo where the window is shorter than they are (four example rows
    and the numbers made the window 956 px tall at the least, below a 1280 × 720 screen, Use and Undo beneath it,
    and squeezed the examples' captions over their pictures). Never across: its names and headings wrap."""

    def __init__(self, shown: QWidget):
        super().__init__(shown)
        shown.setAutoFillBackground(False)  # the group box's colour, not the window's

    def minimumSizeHint(self) -> QSize:
        """Its content's least width (its words wrapped) and a few lines' height: the numbers start to scroll
        before the buttons go."""
        return QSize(self.least_width(), self.fontMetrics().lineSpacing() * MIN_RESULT_LINES)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The body laid out again (the examples shown, their tiles only then counted): its least width is asked
        again. Asked as the examples were added, it was the numbers' alone, and the tiles ran under the scroll bar."""
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)


def summary_text(summary: train_jobs.Summary) -> str:
    """What training learns from, in words. With no photo corrected yet it says so, and how many are tagged: "0
    photos tagged and corrected here: 0 confirmed products, 0 boxes, 0 removed tags" read as if the photos the user
    had batch-tagged were lost; "new since the last training" is said only once a training has finished."""
    boxes = sum(summary.boxes.values())
    if summary.photos:
        text = (f"{counted(summary.photos, 'photo')} tagged and corrected here: "
                f"{counted(sum(summary.pairs.values()) - summary.folder_pairs, 'confirmed product')}, "
                f"{counted(boxes, 'box', 'boxes')}, {counted(summary.removed, 'removed tag')}")
    elif summary.tagged:
        text = (f"{counted(summary.tagged, 'photo')} tagged, none corrected here yet: training learns from the "
                "products you confirm on their tags")
    else:
        text = "No photo tagged and corrected here yet: training learns from the products you confirm on tags"
    if summary.folder_pairs:
        text += (f"; the dataset folder adds {counted(summary.folder_pairs, 'product')} on "
                 f"{counted(summary.folder_photos, 'photo')}")
    new = summary.new_since_last
    return text + (f". {counted(new, 'correction')} {'is' if new == 1 else 'are'} new since the last training."
                   if summary.trained else ".")


def _epochs_text(networks: list[dict]) -> str:
    """The epoch each network kept (epoch 0 is the model it started from); advice when none beat it."""
    if len(networks) == 1:
        n = networks[0]
        text = (f"Best epoch {n['best_epoch']} of {n['epochs']}." if n["best_epoch"]
                else f"No epoch of {n['epochs']} beat the model it started from on the validation photos.")
    else:
        text = "Best epochs: " + ", ".join(f"{_network_name(n)} {_kept(n)}" for n in networks) + "."
    if all(n["best_epoch"] == 0 for n in networks):
        text += " Using it changes little: more confirmed products (Review) help most."
    return text


def _kept(network: dict) -> str:
    """Which epoch a network kept, in words: "none of 3" read as if the network were lost."""
    if network["best_epoch"]:
        return f"{network['best_epoch']} of {network['epochs']}"
    return f"as it started (no epoch of {network['epochs']} beat it)"


def _network_name(network: dict) -> str:
    return NETWORK_NAMES.get(network["backbone"], network["backbone"])


def _verdict(result: dict) -> str:
    """Whether the new model did better than the models in use on the held-back photos, and what to do about it:
    "Training finished. Nothing changes until you choose Use this model." invited Use even for a model no better
    (or worse). Judged on what the run trained: the matches (top-5, then top-1), the tags (coverage, then
    precision)."""
    compared = result.get("before_after") or {}
    keys = (("top5", "top1") if result.get("embedder") else ()) + (("coverage", "tag_precision")
                                                                   if result.get("detector") else ())
    pairs = [(compared.get("before", {}).get(k), compared.get("after", {}).get(k)) for k in keys]
    pairs = [(b, a) for b, a in pairs if b is not None and a is not None]
    if not pairs:
        return "Training finished. Nothing changes until you choose Use this model."
    better = sum(round(a, 3) > round(b, 3) for b, a in pairs)
    worse = sum(round(a, 3) < round(b, 3) for b, a in pairs)
    again = f"Confirm the right products on more tags ({REVIEW}), then train again."
    luck = (f" On {compared['after']['pairs']} products, one or two either way can be luck."
            if compared.get("after", {}).get("pairs", 0) < FEW_COMPARED and (better or worse) else "")
    if better and not worse:
        return (f"Training finished: the new model did better on photos training never used.{luck} Use this model "
                "to search with it; Undo goes back.")
    if worse and not better:
        return (f"Training finished: the new model did worse on photos training never used.{luck} Keep the models "
                f"in use (do not choose Use this model). {again}")
    if worse:
        return (f"Training finished: the new model did better on some measures and worse on others.{luck} Try it "
                "with Use this model if the better ones matter more; Undo goes back.")
    return ("Training finished: on photos training never used, the new model did as well as the models in use, no "
            f"better, so using it changes little. {again}")


def detector_text(detector: dict) -> str:
    """Finding objects' result in words: "Detector: 3 categories, validation mAP50 0.61." was the engine's. mAP50
    is the mean over categories of the average precision with a box counted found when it overlaps the marked box
    by at least half (intersection over union 0.5): finding more of them raises it, false finds lower it."""
    categories = counted(len(detector["classes"]), "category", "categories")
    score = detector.get("map50")
    if score is None or math.isnan(score):  # no photo was kept aside to check it
        return f"Finding objects: learned {categories}; no photos were kept aside to score it."
    return (f"Finding objects: learned {categories}. On the photos kept aside to check it, it scores {score:.0%} "
            "for finding them (an object counts as found when the box drawn and its marked box overlap by at least "
            "half; false finds lower the score; averaged over the categories).")


def _stopped_line(summary: train_jobs.Summary) -> str:
    """What is left of a run stopped unfinished, and what Resume and Start do with it."""
    if summary.resumable_finds_again:
        return f"Stopped while finding objects: {RESUME_FINDS_AGAIN}; Start begins again."
    if summary.resumable:
        return f"Stopped before the end: {RESUME_CONTINUES}, Start begins again."
    return "Stopped before its first epoch finished: Start begins again."


def _now_in_use(before, after) -> str:
    """What Use changed, in words, and when it shows: "Searches now use my-photos-….onnx; the catalog is
    embedded for it." named the matches' model even when only the detector had changed."""
    changed = []
    if tuple(after.embedder) != tuple(before.embedder):
        changed.append(f"matches come from the new model ({Path(after.embedder[0]).stem})")
    if [list(d) for d in after.detectors] != [list(d) for d in before.detectors]:
        changed.append("tags come from the new detector")
    if not changed:
        return "The models were already in use: nothing changed."
    them = "them" if len(changed) > 1 else "it"
    return (f"Now {' and '.join(changed)}. Photos opened from now on use {them}, and so does the one open now "
            "unless you edited it; Undo goes back to the previous models.")


def step_words(stage: str, done: int, total: int, message: str) -> str:
    """What the run does now, for the step line: a stage's words and how far it is; a message already in words
    (one the window does not know) is shown as it comes."""
    count = f": {done} of {total}" if total > 1 else ""
    epoch = CLI_EPOCH.match(message)
    if stage == "validate":
        return f"Epoch {done} of at most {total} done: checking it on the photos kept aside"
    if stage == "train" and epoch:
        return f"Training: epoch {epoch[1]}, step {done} of {total}"
    if stage == "detector":
        if epoch:
            return f"{DETECTOR_TRAINS}: epoch {epoch[1]}" + (f" of {epoch[2]}" if epoch[2] else "")
        words = next((w for start, w in DETECTOR_WORDS if message.startswith(start)), DETECTOR_TRAINS)
        return words + count
    words = VIEW_WORDS.get(stage.removeprefix("views (").removesuffix(")")) or next(
        (w for name, w in STEP_WORDS if stage.startswith(name)), None)
    if words is not None:
        return words + count
    return (message[:1].upper() + message[1:]) if message else stage


def install_words(step: str, done: int, total: int, spent: float) -> str:
    """A step of Use (``training.install``) in words, how far it is and, from a twentieth of it on, the time left
    at the pace so far ("Embedding the catalog for the new model: 500 of 1,955 products · under a minute left")."""
    from training.install import CATALOG, INT8, LEVELS

    words, unit = {INT8: ("Making the faster copy of the new model", "catalog photos tried"),
                   CATALOG: ("Embedding the catalog for the new model", "products"),
                   LEVELS: ("Measuring how sure the new model can be of a match", "photos set aside")}.get(
        step, ("Making the new model ready to use", "steps"))
    if not total:
        return f"{words}…"
    text = f"{words}: {done:,} of {total:,} {unit}"
    if ESTIMATE_FROM <= done / total < 1:
        text += f" · {time_left(spent * (total - done) / done)} left"
    return text


def _compared_text(compared: dict) -> str:
    """How many held-back products the numbers stand on, and the pairs that changed, in words."""
    which = "its test photos" if compared["split"] == "test" else "its validation photos: too few for a test set"
    text = (f"{counted(compared['after']['pairs'], 'product')} on {counted(compared['scenes'], 'photo')} training "
            f"never used ({which}).")  # "12 products on 1 photos" said a held-back set of one photo
    if "paired" in compared:
        p = compared["paired"]["top5"]
        text += (f" In the top 5 the new model finds {p['wins']} the old one missed and misses {p['losses']} "
                 "it found.")
    return text


def _left(seconds: float) -> str:
    """An estimate in words: under ten seconds, "about 0:04" read as exact, and "about 0:00" as nothing left."""
    return "a few seconds" if seconds < 10 else f"about {_clock(seconds)}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"
