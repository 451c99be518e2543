"""Escape in the windows of their own (Review Uncertain Tags, Restore a Backup, Train), as in a dialog.

They are QWidget windows, not dialogs, so Escape did nothing in them: a keyboard user had no way out but the
window manager's.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent


class EscapeCloses:
    """Mixed in before QWidget: Escape (alone) calls ``escape``, which closes the window unless overridden."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.escape()
        else:
            super().keyPressEvent(event)

    def escape(self) -> None:
        self.close()
