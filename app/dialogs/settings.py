"""Edit ▸ Settings: what a merchandiser chooses in plain words, the technical values behind *Advanced*.

Grouped by what they change: the matches (how many, for which tags), the look, where the models run;
*Advanced* holds the models folder, the detectors and embedder, and the similarity from which a match
is called exact. The models chosen here are saved in the data dir's ``config.yaml``, the file
``decorlens models activate`` writes, so the GUI and the CLI always run the same models; the other
choices are the app's own preferences (QSettings).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.labels import by_name, model_label, pretty, rich_tooltip
from app.settings import DEVICES, MAX_TOP_K, TAG_LIMITS, THEMES, AppSettings
from app.widgets.vertical_scroll import VerticalScroll
from engine.calibration import NEVER
from engine.errors import DecorLensError
from engine.models import ResolvedModel, available_models, model_names
from engine.paths import models_dir
from engine.runtime import runs_on_cpu
from engine.settings import Settings, save_choice

DETECTOR_ROWS = 5  # detectors listed before the list scrolls: the stock pair and a trained one fit
CATEGORY_ROWS = 4  # rows of categories the list keeps however short the screen (it is taller when there is room)
TITLE_BAR = 40  # logical pixels kept free on the screen for the window's title bar and frame
# an embedder item's damaged-calibration line (its data role is the model's file name)
CALIBRATION_ROLE = Qt.ItemDataRole.UserRole + 1

DEVICE_LABELS = {
    "auto": "Automatically (the graphics card when there is one)",
    "cpu": "The processor (CPU) only",
    "gpu": "The graphics card (NVIDIA CUDA)",
}
NO_GPU = ("This computer has no graphics card DecorLens can use (no CUDA in onnxruntime): the models would not "
          "load. Choose Automatically or the processor{extra}.")
GPU_EXTRA = ", or install DecorLens's [gpu] extra"  # a Python install's way; the packaged app has no extras
# Settings' and Batch Tag Folder's name for the same number ("Show for each tag" and "Matches per tag" were two
# names for it); the CLI's --top-k help says "matches per tag" too
TOP_K_LABEL = "Matches per tag"
NEVER_TEXT = "never"  # the exact-match threshold above every cosine: every match is Similar


def no_gpu_note() -> str:
    """Settings' note where the graphics card is chosen on a computer without one: the [gpu] extra is named only
    where there is one to install (store staff have the packaged app, which has none)."""
    return NO_GPU.format(extra="" if getattr(sys, "frozen", False) else GPU_EXTRA)


def top_k_box(value: int) -> QSpinBox:
    """The matches-per-tag field of Settings and Batch Tag Folder, as wide as "50 products": a form stretched it
    across the dialog, a 2-digit number at the left end of a 400 px box."""
    box = QSpinBox(minimum=1, maximum=MAX_TOP_K, value=value, suffix=" products")
    box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return box


class ThresholdBox(QDoubleSpinBox):
    """The exact-match cosine, up to 1, and one step above: no match is exact (``NEVER``, what config.yaml's or
    settings.ini's value above 1 means), shown as words: a box that stopped at 1 could not show such a value."""

    def __init__(self) -> None:
        # to the thousandth, as cards are calibrated: 0.755 in force showed, and was saved, as 0.76
        super().__init__(minimum=0.001, maximum=NEVER, singleStep=0.01, decimals=3)

    def textFromValue(self, value: float) -> str:
        return NEVER_TEXT if value > 1 else super().textFromValue(value)

    def valueFromText(self, text: str) -> float:
        return NEVER if text.strip() == NEVER_TEXT else super().valueFromText(text)

    def validate(self, text: str, pos: int) -> object:
        if text.strip() and NEVER_TEXT.startswith(text.strip()):
            whole = text.strip() == NEVER_TEXT
            return QValidator.State.Acceptable if whole else QValidator.State.Intermediate, text, pos
        return super().validate(text, pos)


class SettingsDialog(QDialog):
    """Changes are applied only on OK; the window then reloads the engine if models or device changed."""

    def __init__(
        self,
        settings: AppSettings,
        categories: list[str],
        data_dir: Path,
        models_override: str | os.PathLike[str] | None = None,
        parent: QWidget | None = None,
    ):
        """``models_override`` is the command line's models folder, which wins over the one set here."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self.settings = settings
        self.data_dir = data_dir
        self.models_override = models_override
        self.top_k = top_k_box(settings.top_k)
        self.max_tags = QComboBox()
        for limit in TAG_LIMITS:
            self.max_tags.addItem(f"The {limit} surest" if limit else "Every object found", limit)
        self.max_tags.setCurrentIndex(TAG_LIMITS.index(settings.max_tags))
        self.max_tags.setToolTip("A trained detector can find 30 or more objects in a busy room. Fewer tags are "
                                 "quicker to read; tags you drew, changed or confirmed are always shown.")
        self.categories = self._category_list(categories, settings.hidden_categories)
        self.theme = QComboBox()
        for key in THEMES:
            self.theme.addItem(theme.THEME_LABELS[key], key)
        self.theme.setCurrentIndex(THEMES.index(settings.theme))
        self.device = QComboBox()
        for key in DEVICES:
            self.device.addItem(DEVICE_LABELS[key], key)
        device = settings.engine_settings(data_dir, models_override).device  # config.yaml's until chosen here
        self.device.setCurrentIndex(DEVICES.index(device) if device in DEVICES else 0)
        self.device_note = QLabel(no_gpu_note(), wordWrap=True)  # the graphics card chosen where there is none
        self.device_note.setObjectName("note")
        self.device_note.hide()  # shown before the dialog is laid out, it left its height blank above OK once hidden
        self.device.currentIndexChanged.connect(self._enable_ok)
        self.models_dir = QLineEdit(settings.models_dir)
        self.models_dir.setPlaceholderText(f"the standard folder, {models_dir(None, data_dir)}")
        self.models_dir.setAccessibleName("Models folder")  # its form label names the row, beside the button
        self.models_dir.editingFinished.connect(self._fill_models)
        self.models_dir.textChanged.connect(self._name_models_folder)
        self.detectors = QListWidget()
        self.detectors.itemChanged.connect(self._check_detectors)
        self.models_note = QLabel()
        self.models_note.setObjectName("note")
        self.embedder = QComboBox(minimumContentsLength=36)  # a long file name is cut, not the dialog widened
        self.embedder.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.embedder.setPlaceholderText("no embedder found")
        self.embedder.currentIndexChanged.connect(  # the closed box cuts a long name: its tooltip has it whole
            lambda _index: self.embedder.setToolTip(self.embedder.currentData(Qt.ItemDataRole.ToolTipRole) or ""))
        self.calibration_note = QLabel(wordWrap=True)  # the chosen embedder's damaged calibration file, if any
        self.calibration_note.setObjectName("note")
        self.calibration_note.hide()
        self.embedder.currentIndexChanged.connect(self._show_calibration)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(self._matching_group())
        layout.addWidget(self._computer_group())
        self.advanced_toggle = QToolButton(text="Advanced: models and match threshold", checkable=True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        # the value in force: settings.ini's, else config.yaml's (None: the card's); settings.ini's alone ticked
        # "recommended" for config.yaml's exact_threshold: 7, under which no match is exact
        self.yaml_threshold = Settings.for_data_dir(data_dir).exact_threshold
        self.advanced = self._advanced_group(settings.exact_threshold or self.yaml_threshold)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        self.advanced.hide()
        layout.addWidget(self.advanced_toggle)
        layout.addWidget(self.advanced)
        layout.addStretch()
        _align_labels(body)
        self.body = VerticalScroll(body)
        # No Tab stop of its own: it opened with the keyboard on it, ringless, and took a Tab every time round
        self.body.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        QApplication.instance().focusChanged.connect(self._follow_focus)
        outer = QVBoxLayout(self)
        outer.setSpacing(10)
        outer.addWidget(self.body, 1)
        outer.addWidget(buttons)  # outside the scrolled part: OK and Cancel are on screen however short it is
        self._fill_models()
        self._name_models_folder()

    def _matching_group(self) -> QGroupBox:
        group = QGroupBox("Tags and matches")
        form = QFormLayout(group)
        form.addRow("Tags on a photo", self.max_tags)
        form.addRow(TOP_K_LABEL, self.top_k)
        hint = QLabel("Tags are shown for the checked kinds of furniture and decor:")
        hint.setObjectName("muted")
        form.addRow(hint)
        form.addRow(self.categories)
        return group

    def _computer_group(self) -> QGroupBox:
        group = QGroupBox("This computer")
        form = QFormLayout(group)
        form.addRow("Look", self.theme)
        form.addRow("Run the models on", self.device)
        form.addRow("", self.device_note)
        return group

    def _advanced_group(self, threshold: float | None) -> QGroupBox:
        group = QGroupBox()
        group.setStyleSheet("QGroupBox { margin-top: 4px; }")  # the toggle above names it: no room for a title
        form = QFormLayout(group)
        models = QLabel("Models folder")
        models.setBuddy(self.models_dir)
        form.addRow(models, self._with_browse(self.models_dir))
        form.addRow("Detectors", self.detectors)
        form.addRow("", self.models_note)
        form.addRow("Embedder", self.embedder)
        form.addRow("", self.calibration_note)
        form.addRow("Exact match from", self._threshold_row(threshold))
        return group

    def _show_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self._refit()
        if on:  # what was opened is scrolled into view, once the scroll area has taken its new height
            QTimer.singleShot(0, self._scroll_to_advanced)

    def _refit(self) -> None:
        """The dialog as tall as what it now shows (``fit_to_screen``)."""
        self.body.widget().layout().activate()
        self.body.updateGeometry()  # its size hint is its contents': the dialog's layout asks for it afresh
        self.fit_to_screen()

    def _scroll_to_advanced(self) -> None:
        self.body.ensureWidgetVisible(self.advanced, 0, 0)
        self.body.ensureWidgetVisible(self.advanced_toggle, 0, 0)  # and its toggle, above it

    def _follow_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        """The control the keyboard goes to is scrolled into view, from OK and Cancel too: the scroll area does so
        only for a Tab from inside it, and Tab from Cancel to the first control went through it while it was a Tab
        stop."""
        if new is not None and self.body.isAncestorOf(new):
            self.body.ensureWidgetVisible(new)

    def showEvent(self, event) -> None:
        if not event.spontaneous():
            self._refit()  # first: QDialog places itself over its parent at the size it has then
        super().showEvent(event)

    def fit_to_screen(self) -> None:
        """As tall as everything in it, up to the free height of its screen: the settings above the buttons
        scroll beyond it. Advanced opened made the dialog 737 px tall at the least, and OK and Cancel went
        below the bottom of a 1080 px screen at 150 % and a 1200 px one at 200 %."""
        free = self.screen().availableGeometry()
        frame = max(self.frameGeometry().height() - self.height(), TITLE_BAR)
        height = max(min(self.sizeHint().height(), free.height() - frame), self.minimumSizeHint().height())
        self.resize(max(self.width(), self.minimumSizeHint().width()), height)
        if self.isVisible() and self.frameGeometry().bottom() > free.bottom():  # grown past the bottom: moved up
            self.move(self.x(), max(free.top(), free.bottom() - self.frameGeometry().height()))

    def _with_browse(self, edit: QLineEdit) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_models)
        layout.addWidget(edit)
        layout.addWidget(browse)
        return row

    def _threshold_row(self, value: float | None) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        self.use_card = QCheckBox("the embedder's recommended value")
        self.use_card.setChecked(value is None)
        self.threshold = ThresholdBox()
        self.threshold.setValue(value or 0.8)
        self.threshold.setEnabled(value is not None)
        self.use_card.toggled.connect(lambda on: self.threshold.setEnabled(not on))
        layout.addWidget(self.use_card)
        self.threshold.setToolTip(
            f"Cosine similarity (0–1) from which a match is labelled Exact, else Similar; “{NEVER_TEXT}”: none is"
        )
        self.threshold.setAccessibleName("Exact match threshold")  # the form's label names the whole row
        layout.addWidget(self.threshold)
        layout.addStretch()
        return row

    @staticmethod
    def _category_list(categories: list[str], hidden: set[str]) -> QListWidget:
        widget = QListWidget()
        # a screen reader named it by its group's title, "Tags and matches", the hint above it out of its reach
        widget.setAccessibleName("Kinds shown as tags (checked ones)")
        for name in by_name(categories):
            item = QListWidgetItem(pretty(name))
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setCheckState(Qt.CheckState.Unchecked if name in hidden else Qt.CheckState.Checked)
            widget.addItem(item)
        widget.setViewMode(QListWidget.ViewMode.ListMode)
        widget.setFlow(QListWidget.Flow.LeftToRight)
        widget.setWrapping(True)  # rows of columns: the whole list at a glance, no long scroll
        widget.setResizeMode(QListWidget.ResizeMode.Adjust)
        if categories:
            metrics = widget.fontMetrics()
            widest = max(metrics.horizontalAdvance(pretty(name)) for name in categories)
            widget.setGridSize(QSize(widest + 48, metrics.height() + 10))
            widget.setMinimumHeight(CATEGORY_ROWS * widget.gridSize().height() + 2 * widget.frameWidth())
        return widget

    def _name_models_folder(self) -> None:
        """The folder models are read from, in the field's tooltip: the field is too narrow for its own
        placeholder ("the standard folder, /home/…"), and a folder typed in it hides that."""
        folder = models_dir(self.models_override or self.models_dir.text().strip() or None, self.data_dir)
        self.models_dir.setToolTip(rich_tooltip(f"Models are read from {folder}"))

    def _fill_models(self) -> None:
        """List the models of the folder shown, checking those the engine would run with it.

        What is checked when the list is filled is the baseline: OK saves the models only if they
        differ from it, so a dialog closed with OK never rewrites ``config.yaml`` by itself.
        """
        folder = self.models_override or self.models_dir.text().strip() or None
        found = available_models(folder, self.data_dir)
        current = Settings.for_data_dir(self.data_dir)
        detectors = [m for m in found if m.card.kind == "detector"]
        embedders = [m for m in found if m.card.kind == "embedder"]
        names = {m.path.name for m in detectors}
        resolved = [_first_in(choices, names) for choices in current.detectors]
        self.current_detectors = {c for c in resolved if c}
        # A configured detector with none of its files here cannot run: OK must save what is checked,
        # or the engine keeps asking for the missing file (it did, with a usable folder chosen).
        self.runnable = all(resolved)
        self.current_embedder = _first_in(current.embedder, {m.path.name for m in embedders})
        self._fill_detectors(detectors)
        self._fill_embedders(embedders)

    def _fill_detectors(self, models: list[ResolvedModel]) -> None:
        """The detectors that run come first (keeping the list's order): a long list shows them unscrolled."""
        self.detectors.blockSignals(True)
        self.detectors.clear()
        for model in sorted(models, key=lambda m: m.path.name not in self.current_detectors):
            item = QListWidgetItem(model_label(model))
            item.setData(Qt.ItemDataRole.UserRole, model.path.name)
            item.setToolTip(rich_tooltip(f"{model_names(model)}\n{len(model.card.class_names)} classes\n{model.path}"))
            checked = model.path.name in self.current_detectors
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.detectors.addItem(item)
        self.detectors.blockSignals(False)
        self._fit_detector_rows()
        self._check_detectors()

    def _fit_detector_rows(self) -> None:
        """As tall as its rows, up to ``DETECTOR_ROWS``, with room for the horizontal scroll bar."""
        rows = max(1, min(self.detectors.count(), DETECTOR_ROWS))
        row = self.detectors.sizeHintForRow(0) if self.detectors.count() else self.fontMetrics().height()
        bar = self.detectors.horizontalScrollBar().sizeHint().height()
        self.detectors.setFixedHeight(rows * row + 2 * self.detectors.frameWidth() + bar)

    def _fill_embedders(self, models: list[ResolvedModel]) -> None:
        self.embedder.clear()
        for model in models:
            self.embedder.addItem(model_label(model), model.path.name)
            tip = rich_tooltip(f"{model_names(model)}\n{model.card.output_dim or '?'}-dimensional vectors\n{model.path}")
            self.embedder.setItemData(self.embedder.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
            self.embedder.setItemData(self.embedder.count() - 1, model.card.calibration_problem, CALIBRATION_ROLE)
        self.embedder.setCurrentIndex(self.embedder.findData(self.current_embedder))

    def _show_calibration(self) -> None:
        """Under the embedder, the line of its damaged calibration file (``engine.user_calibration``): its card's
        thresholds label the matches until the file is deleted or the model calibrated again, and that is said."""
        problem = self.embedder.currentData(CALIBRATION_ROLE) or ""
        self.calibration_note.setText(problem)
        self.calibration_note.setVisible(bool(problem))

    def _check_detectors(self) -> None:
        """Searching needs a detector: "Check at least one detector" while none is."""
        if self.detectors.count() == 0:
            self.models_note.setText("No detector found in the models folders.")
        else:
            self.models_note.setText("" if self.chosen_detectors() else "Check at least one detector.")
        self.models_note.setVisible(bool(self.models_note.text()))
        self._enable_ok()

    def _enable_ok(self) -> None:
        """OK waits for a detector to be checked (unless none was found at all) and for a device the models can run
        on: the graphics card chosen on a computer without one put up "DecorLens needs its models" and its Download
        button, the open photo gone, as if the models were missing."""
        no_gpu = self.device.currentData() == "gpu" and runs_on_cpu("auto")
        if no_gpu != self.device_note.isVisibleTo(self):
            self.device_note.setVisible(no_gpu)
            if self.isVisible():  # else showEvent fits it
                self._refit()  # the line was cut off below the box, the dialog's height kept
        self.ok.setEnabled((self.detectors.count() == 0 or bool(self.chosen_detectors())) and not no_gpu)

    def chosen_detectors(self) -> list[str]:
        items = [self.detectors.item(i) for i in range(self.detectors.count())]
        return [i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Checked]

    def _browse_models(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Models folder", self.models_dir.text())
        if folder:
            self.models_dir.setText(folder)
            self._fill_models()

    def _save_models(self) -> None:
        """Write changed models to ``config.yaml`` as ``models activate`` does (one file per entry)."""
        detectors, embedder = self.chosen_detectors(), self.embedder.currentData()
        if detectors and (set(detectors) != self.current_detectors or not self.runnable):
            save_choice(self.data_dir, "detectors", [[name] for name in detectors])
        if embedder and embedder != self.current_embedder:
            save_choice(self.data_dir, "embedder", [embedder])

    def accept(self) -> None:
        try:
            self._save_models()
            if self.use_card.isChecked() and self.yaml_threshold is not None:  # else config.yaml's stayed in force
                save_choice(self.data_dir, "exact_threshold", None)
        except (DecorLensError, OSError) as exc:
            self.models_note.setText(f"The models could not be saved: {exc}")
            self.models_note.show()
            return
        s = self.settings
        s.models_dir = self.models_dir.text().strip()
        s.device = self.device.currentData()
        s.top_k = self.top_k.value()
        s.max_tags = self.max_tags.currentData()
        s.exact_threshold = None if self.use_card.isChecked() else self.threshold.value()
        if self.theme.currentData() != s.theme:
            s.theme = self.theme.currentData()
            theme.apply(QApplication.instance(), s.theme)
        items = [self.categories.item(i) for i in range(self.categories.count())]
        s.hidden_categories = {
            i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Unchecked
        }
        super().accept()


def _first_in(choices: tuple[str, ...], names: set[str]) -> str | None:
    """The alternative the engine runs: the first of ``choices`` that is available."""
    return next((c for c in choices if c in names), None)


def _align_labels(body: QWidget) -> None:
    """The label column of every group's form as wide as the widest: each form sized its own, so the fields of
    "Tags and matches", "This computer" and Advanced started at three different places down the dialog."""
    labels = [form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
              for form in body.findChildren(QFormLayout) for row in range(form.rowCount())
              if form.itemAt(row, QFormLayout.ItemRole.LabelRole) is not None
              and form.itemAt(row, QFormLayout.ItemRole.FieldRole) is not None]
    widest = max((label.sizeHint().width() for label in labels), default=0)
    for label in labels:
        label.setMinimumWidth(widest)
