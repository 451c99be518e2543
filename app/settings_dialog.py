"""Edit ▸ Settings: models folder, device, top-k, exact-match threshold, tag categories shown."""

from __future__ import annotations

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

DEVICE_LABELS = {"auto": "Automatic (GPU when available)", "cpu": "CPU only", "gpu": "GPU (CUDA)"}


class SettingsDialog(QDialog):
    """Changes are applied only on OK; the window then reloads the engine if models or device changed."""

    def __init__(self, settings: AppSettings, categories: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        form = QFormLayout()
        self.models_dir = QLineEdit(settings.models_dir)
        self.models_dir.setPlaceholderText("standard location (DECORLENS_MODELS_DIR or the data folder)")
        form.addRow("Models folder", self._with_browse(self.models_dir))
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
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

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
            item = QListWidgetItem(name.replace("_", " "))
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setCheckState(Qt.CheckState.Unchecked if name in hidden else Qt.CheckState.Checked)
            widget.addItem(item)
        widget.setMinimumHeight(180)
        return widget

    def _browse_models(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Models folder", self.models_dir.text())
        if folder:
            self.models_dir.setText(folder)

    def accept(self) -> None:
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
