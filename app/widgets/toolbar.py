"""The main toolbar: the few things a merchandiser does most, as icons with words beside them.

The actions are the menu's own (one ``QAction`` each), so a shortcut, a disabled state or a tooltip
is the same in both places. Icons are redrawn when the theme changes.
"""

from __future__ import annotations

import importlib.util
import sys

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QSizePolicy, QToolBar, QWidget

from app.icons import icon
from engine.advice import INSTALL_TRAINING

# What the Train action and window say without the training extra, for the install at hand: the packaged
# app never has it (docs/installer.md, "Training: which variant"), a Python install gets it in one command.
TRAIN_MISSING = (
    "This packaged DecorLens cannot train (it ships without PyTorch): train with a Python install "
    f"({INSTALL_TRAINING}), then put the model in the models folder and choose it in Settings."
    if getattr(sys, "frozen", False) else
    f"Training needs the training extra (PyTorch, several GB): run {INSTALL_TRAINING} in the DecorLens folder."
)


def training_available() -> bool:
    """Whether this installation can fine-tune models (the [train] extra brings torch and training/)."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "training"))


class ToolBar(QToolBar):
    """The main window's toolbar, never narrower than all its buttons with their words."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Toolbar", parent)
        self.setObjectName("toolbar")
        self.setMovable(False)
        self.setFloatable(False)
        self.setIconSize(QSize(20, 20))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._icons: list[tuple[QAction, str]] = []

    def add(self, action: QAction, key: str, text: str | None = None) -> None:
        """Show ``action`` with the icon ``key`` (``app.icons.NAMES``); ``text`` replaces a menu's wording."""
        action.setIcon(icon(key))
        action.setIconText(text or action.text().replace("&", "").rstrip("…"))
        self._icons.append((action, key))
        self.addAction(action)

    def add_spacer(self) -> None:
        """Push what follows to the right edge."""
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)

    def minimumSizeHint(self) -> QSize:
        """As wide as every button with its words: the window's least width came from the photo and the panel, 18 px
        short of the toolbar, so Settings was folded away into the overflow (») and out of sight. The main window
        cannot be made narrower than this, so every action is always one click away, its name beside its icon."""
        return QSize(self.sizeHint().width(), super().minimumSizeHint().height())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            for action, key in self._icons:
                action.setIcon(icon(key))
        super().changeEvent(event)
