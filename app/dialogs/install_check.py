"""Help ▸ Check Installation…: ``decorlens self-check`` (``engine.selfcheck``) in the app, for staff who have no
command line, each step listed as it passes or fails, and the details support asks for one button away.

The check loads its own copy of the models and tags a room it draws, in a worker (``app.workers``), so the
window stays live; Cancel, closing the window or quitting stops it within the step it is in, between one model's
load or run and the next (``run_self_check``'s ``cancelled``, its temp catalog cleaned up): quitting waited for the
step's end, up to a second. The user's own catalog is only counted, never written.
"""

from __future__ import annotations

import platform
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.settings import AppSettings
from app.widgets.message_bar import say
from app.window_memory import remember
from app.workers import Job, Runner, Task
from engine.errors import Cancelled, DecorLensError, ModelError
from engine.models import ResolvedModel, model_label, read_card
from engine.pipeline import Pipeline
from engine.remedies import in_app
from engine.selfcheck import SelfCheckReport, Step, run_self_check, versions
from engine.words import counted

# The engine's step names as staff read them; a step added there shows by its own name.
STEP_NAMES = {
    "resources": "Category map", "models": "Model files", "runtime": "Runtime", "scene": "Test photo",
    "detector": "Detector", "embedder": "Embedder", "catalog": "Test catalog", "search": "Search",
}
CANCELLED = "Check cancelled"
PASSED = Qt.ItemDataRole.UserRole  # a step's name item: whether the step passed (its colour follows the theme)


@dataclass
class Checked:
    """What a finished check hands the window: the engine's report and what support asks for beside it."""

    report: SelfCheckReport
    models: list[tuple[str, str, str]] = field(default_factory=list)  # (role, label, file)
    catalog: str = ""  # "1,955 products", or why it could not be counted
    versions: dict[str, str] = field(default_factory=dict)


def check(pipeline: Pipeline, job: Job) -> Checked:
    """The worker's task: the self-check on the window's settings, each step handed on as it ends."""

    def on_step(step: Step) -> None:
        job.deliver(step)
        if job.cancelled():
            raise Cancelled(CANCELLED)

    report = run_self_check(pipeline.settings, on_step=on_step, cancelled=job.cancelled)
    return Checked(report, _labelled(report.models), _products(pipeline), versions())


def _labelled(models: dict[str, str]) -> list[tuple[str, str, str]]:
    """Each model the check found, named as the app names it (``model_label``), with its file."""
    named = []
    for role, file in models.items():
        try:
            label = model_label(ResolvedModel(Path(file), read_card(Path(file))))
        except ModelError as exc:
            label = f"card unreadable: {exc}"
        named.append((role, label, file))
    return named


def _products(pipeline: Pipeline) -> str:
    try:
        return counted(pipeline.catalog.count(), "product")
    except (DecorLensError, sqlite3.Error, OSError) as exc:  # a damaged or locked catalog: the report says so
        return f"cannot be counted ({exc})"


def verdict(report: SelfCheckReport) -> str:
    """The one line the window ends on."""
    failed = report.failed
    if failed is not None:
        return f"✗ The check failed at {step_name(failed.name)}: {in_app(failed.detail)}"
    return f"✓ This installation works: every check passed in {report.seconds:.1f} s on {report.device}."


def step_name(name: str) -> str:
    return STEP_NAMES.get(name, name)


def details(checked: Checked, data_dir: Path) -> str:
    """The plain text Copy Details puts on the clipboard: everything a support call asks first."""
    report, v = checked.report, checked.versions
    built = "packaged app" if v.get("frozen") == "True" else "from source"
    lines = [
        f"DecorLens installation check, {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"Verdict: {verdict(report)}",
        f"Summary: {report.summary()}",
        (f"Version: DecorLens {v.get('decorlens', '?')} ({built}), "
         f"Python {v.get('python', '?')}, onnxruntime {v.get('onnxruntime', '?')} ({v.get('providers', '?')})"),
        f"OS: {v.get('platform', platform.platform())}",
        f"Device: {report.device or 'not reached'}",
        f"Data folder: {data_dir}",
        f"Catalog: {checked.catalog}",
        "Models:",
        *[f"  {role}: {label} ({file})" for role, label, file in checked.models],
        "Checks:",
        *[f"  {'ok  ' if s.ok else 'FAIL'} {s.name:<10} {s.detail} ({s.ms:.0f} ms)" for s in report.steps],
    ]
    if not checked.models:
        lines.insert(lines.index("Checks:"), "  none found")
    return "\n".join(lines) + "\n"


class InstallCheckWindow(QDialog):
    """Runs the check as it opens; Check Again runs it anew, Cancel stops it, Copy Details copies the report."""

    def __init__(self, pipeline: Pipeline, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Check Installation")
        self.pipeline = pipeline
        self.runner = Runner(1, self)
        self.task: Task | None = None
        self.checked: Checked | None = None
        intro = QLabel("Loads the models and tags a room photo it draws, then finds its products in a test catalog. "
                       "Your own catalog is not changed.")
        intro.setWordWrap(True)
        self.steps = QTableWidget(0, 3)
        self.steps.setHorizontalHeaderLabels(["Check", "Result", "Time"])
        self.steps.verticalHeader().hide()
        self.steps.setShowGrid(False)
        self.steps.setWordWrap(True)  # a model step names three files and their folder
        self.steps.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.steps.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.steps.setAccessibleName("Checks")
        header = self.steps.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.sectionResized.connect(lambda *_: self.steps.resizeRowsToContents())  # wrapped rows fit anew
        self.busy = QProgressBar()
        self.busy.setAccessibleName("Checking")  # a screen reader said "progress bar" alone
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setStyleSheet("font-weight: bold;")
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy = self.buttons.addButton("Copy Details", QDialogButtonBox.ButtonRole.ActionRole)
        self.again = QPushButton("Cancel")
        self.buttons.addButton(self.again, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy.clicked.connect(self.copy_details)
        self.again.clicked.connect(self._again_or_cancel)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, self.steps, self.busy, self.verdict, self.buttons):
            layout.addWidget(widget, 1 if widget is self.steps else 0)
        theme.resize_to_screen(self, 760, 440)

    def start(self) -> None:
        """Run the check (again): the list empties and fills step by step."""
        self.steps.setRowCount(0)
        self.checked = None
        self.copy.setEnabled(False)
        self.again.setText("Cancel")
        self.busy.show()
        self.verdict.setText("Checking…")
        self.task = self.runner.start(lambda job: check(self.pipeline, job), done=self._done, failed=self._failed,
                                      cancelled=self._cancelled, delivered=self._step)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.verdict.setText("Stopping…")

    def running(self) -> bool:
        return self.runner.busy()

    def _again_or_cancel(self) -> None:
        if self.running():
            self.cancel()
        else:
            self.start()

    def _step(self, step: Step) -> None:
        row = self.steps.rowCount()
        self.steps.insertRow(row)
        name = QTableWidgetItem(f"{'✓' if step.ok else '✗'}  {step_name(step.name)}")
        name.setData(PASSED, step.ok)
        _colour_step(name)
        time_taken = QTableWidgetItem(f"{step.ms / 1000:.1f} s")
        time_taken.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        for column, item in enumerate((name, QTableWidgetItem(in_app(step.detail)), time_taken)):
            if column < 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.steps.setItem(row, column, item)
        self.steps.resizeRowToContents(row)
        self.steps.scrollToItem(name)

    def _done(self, checked: Checked) -> None:
        self.checked = checked
        self._ended(verdict(checked.report), urgent=checked.report.failed is not None)
        self.copy.setEnabled(True)

    def _failed(self, message: str) -> None:
        self._ended(f"✗ The check could not run: {in_app(message)}", urgent=True)

    def _cancelled(self, _message: str) -> None:
        passed = self.steps.rowCount()
        self._ended(f"{CANCELLED} after {counted(passed, 'step')}: start it again with Check Again.")

    def _ended(self, line: str, urgent: bool = False) -> None:
        self.task = None
        self.busy.hide()
        say(self.verdict, line, urgent)
        self.again.setText("Check Again")

    def copy_details(self) -> None:
        if self.checked is None:
            return
        QGuiApplication.clipboard().setText(details(self.checked, self.pipeline.data_dir))
        say(self.verdict, f"{verdict(self.checked.report)}\nDetails copied: paste them into your message to support.")

    def changeEvent(self, event: QEvent) -> None:
        """The theme switched (Settings' Look, or the desktop under "Same as the system"): the steps take its green
        and red. Set once, a check run in the light theme kept #1f7a37 on the dark table (2.7:1), one run in the
        dark theme #4ac26b on the white one (2.3:1)."""
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            for row in range(self.steps.rowCount()):
                _colour_step(self.steps.item(row, 0))
        super().changeEvent(event)

    def reject(self) -> None:
        """Closing stops a running check (within its step)."""
        self.cancel()
        super().reject()


def _colour_step(name: QTableWidgetItem) -> None:
    """A step's name in the theme's green if it passed (``PASSED``), else its red."""
    colours = theme.colours()
    name.setForeground(QColor(colours.success if name.data(PASSED) else colours.error))


def open_install_check(pipeline: Pipeline, parent: QWidget, settings: AppSettings | None = None) -> InstallCheckWindow:
    """The window (the one already open brought forward, its check left running), a check started where none runs.
    ``settings``: where its size and place are remembered between sessions."""
    window = parent.findChild(InstallCheckWindow)
    if window is None:
        window = InstallCheckWindow(pipeline, parent)
        if settings is not None:
            remember(window, settings, "install_check")
    if not window.running():
        window.pipeline = pipeline  # the window's own, reloaded since (other models, another data folder)
        window.start()
    window.show()
    window.raise_()
    window.activateWindow()
    return window
