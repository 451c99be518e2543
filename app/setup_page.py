"""What the window shows instead of a crash when models are missing, and the keyboard help."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.settings import MODELS_HELP

SHORTCUTS = [
    ("Open a photo", "Ctrl+O, or drop it on the window"),
    ("Open a folder of photos", "Ctrl+Shift+O"),
    ("Paste a photo", "Ctrl+V"),
    ("Next / previous photo of the folder", "Page Down / Page Up"),
    ("Walk the tags", "Tab / Shift+Tab, arrow keys"),
    ("Show a tag's matches", "Enter, or click the tag"),
    ("Remove the selected tag", "Delete"),
    ("Search a region the tags missed", "drag a box on the photo"),
    ("Zoom", "mouse wheel, + and −"),
    ("Fit the photo to the window", "0"),
    ("Pan", "middle-drag, or Space + drag"),
    ("Show every object's box", "B"),
    ("Photo / catalog tab", "Ctrl+1 / Ctrl+2"),
    ("Batch tag a folder", "Ctrl+B"),
    ("Export the scene as JSON / shoppable page", "Ctrl+E / Ctrl+Shift+E"),
    ("Settings", "Ctrl+,"),
]


def shortcuts_html() -> str:
    rows = "".join(
        f"<tr><td style='padding:2px 16px 2px 0;'>{what}</td><td><b>{keys}</b></td></tr>"
        for what, keys in SHORTCUTS
    )
    return f"<table>{rows}</table>"


class SetupPage(QWidget):
    """First run without models: what is missing and how to get it, with a way out."""

    chooseFolder = Signal()
    retry = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        title = QLabel("<h2>DecorLens needs its models</h2>")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("color:#7a271a;background:#fdf2f0;padding:8px;border-radius:4px;")
        help_text = QLabel(MODELS_HELP)
        help_text.setWordWrap(True)
        help_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        choose = QPushButton("Choose models folder…")
        choose.setDefault(True)
        choose.clicked.connect(self.chooseFolder)
        again = QPushButton("Try again")
        again.clicked.connect(self.retry)
        buttons = QHBoxLayout()
        buttons.addWidget(choose)
        buttons.addWidget(again)
        buttons.addStretch()
        column = QVBoxLayout()
        for widget in (title, help_text):
            column.addWidget(widget)
        column.addLayout(buttons)
        column.addWidget(QLabel("<br>What was looked for:"))
        column.addWidget(self.error)
        box = QWidget()
        box.setFixedWidth(640)
        box.setLayout(column)
        layout = QHBoxLayout(self)
        layout.addStretch()
        layout.addWidget(box, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addStretch()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
