"""Edit ▸ Settings: models folder and models, device, top-k, exact-match threshold, tag categories shown.

The models chosen here are saved in the data dir's ``config.yaml``, the file ``decorlens models
activate`` writes, so the GUI and the CLI always run the same models; the other choices are the app's
own preferences (QSettings).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.settings import DEVICES, AppSettings
from app.widgets import pretty
from engine.errors import DecorLensError
from engine.models import ResolvedModel, available_models
from engine.settings import Settings, save_choice

DEVICE_LABELS = {"auto": "Automatic (GPU when available)", "cpu": "CPU only", "gpu": "GPU (CUDA)"}


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
        self.settings = settings
        self.data_dir = data_dir
        self.models_override = models_override
        form = QFormLayout()
        self.models_dir = QLineEdit(settings.models_dir)
        self.models_dir.setPlaceholderText("standard location (DECORLENS_MODELS_DIR or the data folder)")
        self.models_dir.editingFinished.connect(self._fill_models)
        form.addRow("Models folder", self._with_browse(self.models_dir))
        self.detectors = QListWidget()
        self.detectors.setMaximumHeight(110)
        self.detectors.itemChanged.connect(self._check_detectors)
        form.addRow("Detectors", self.detectors)
        self.models_note = QLabel()
        self.models_note.setStyleSheet("color: #b3261e")
        form.addRow("", self.models_note)
        self.embedder = QComboBox()
        self.embedder.setPlaceholderText("no embedder found")
        form.addRow("Embedder", self.embedder)
        self.device = QComboBox()
        for key in DEVICES:
            self.device.addItem(DEVICE_LABELS[key], key)
        self.device.setCurrentIndex(DEVICES.index(settings.device))
        form.addRow("Run models on", self.device)
        self.top_k = QSpinBox(minimum=1, maximum=50, value=settings.top_k)
        form.addRow("Matches per tag", self.top_k)
        form.addRow("Exact match from", self._threshold_row(settings.exact_threshold))
        self.categories = self._category_list(categories, settings.hidden_categories)
        form.addRow("Tags shown", self.categories)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._fill_models()

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
        self.use_card = QCheckBox("model's calibrated value")
        self.use_card.setChecked(value is None)
        self.threshold = QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.01, decimals=2)
        self.threshold.setValue(value or 0.8)
        self.threshold.setEnabled(value is not None)
        self.use_card.toggled.connect(lambda on: self.threshold.setEnabled(not on))
        layout.addWidget(self.use_card)
        layout.addWidget(self.threshold)
        layout.addWidget(QLabel("similarity"))
        return row

    @staticmethod
    def _category_list(categories: list[str], hidden: set[str]) -> QListWidget:
        widget = QListWidget()
        for name in categories:
            item = QListWidgetItem(pretty(name))
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setCheckState(Qt.CheckState.Unchecked if name in hidden else Qt.CheckState.Checked)
            widget.addItem(item)
        widget.setMinimumHeight(180)
        return widget

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
        self.detectors.blockSignals(True)
        self.detectors.clear()
        for model in models:
            item = QListWidgetItem(_label(model))
            item.setData(Qt.ItemDataRole.UserRole, model.path.name)
            item.setToolTip(f"{len(model.card.class_names)} classes\n{model.path}")
            checked = model.path.name in self.current_detectors
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.detectors.addItem(item)
        self.detectors.blockSignals(False)
        self._check_detectors()

    def _fill_embedders(self, models: list[ResolvedModel]) -> None:
        self.embedder.clear()
        for model in models:
            self.embedder.addItem(_label(model), model.path.name)
            tip = f"{model.card.output_dim or '?'}-dimensional vectors\n{model.path}"
            self.embedder.setItemData(self.embedder.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.embedder.setCurrentIndex(self.embedder.findData(self.current_embedder))

    def _check_detectors(self) -> None:
        """Searching needs a detector: OK waits for one to be checked (unless none was found at all)."""
        if self.detectors.count() == 0:
            self.models_note.setText("No detector found in the models folders.")
        else:
            self.models_note.setText("" if self.chosen_detectors() else "Check at least one detector.")
        self.models_note.setVisible(bool(self.models_note.text()))
        self.ok.setEnabled(self.detectors.count() == 0 or bool(self.chosen_detectors()))

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
        except (DecorLensError, OSError) as exc:
            self.models_note.setText(f"The models could not be saved: {exc}")
            self.models_note.show()
            return
        s = self.settings
        s.models_dir = self.models_dir.text().strip()
        s.device = self.device.currentData()
        s.top_k = self.top_k.value()
        s.exact_threshold = None if self.use_card.isChecked() else self.threshold.value()
        items = [self.categories.item(i) for i in range(self.categories.count())]
        s.hidden_categories = {
            i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Unchecked
        }
        super().accept()


def _label(model: ResolvedModel) -> str:
    return f"{model.card.name} ({model.path.name})"


def _first_in(choices: tuple[str, ...], names: set[str]) -> str | None:
    """The alternative the engine runs: the first of ``choices`` that is available."""
    return next((c for c in choices if c in names), None)
