"""Keys as a keyboard gives them, for the tests of using the app by keyboard alone: to whatever has the focus."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

WAIT_MS = 90_000


def press(qtbot, key: Qt.Key) -> QWidget:
    """A key to whatever has the keyboard; returns what has it after."""
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard"
    qtbot.keyClick(target, key)
    return QApplication.focusWidget()


def shown(qtbot, window: QWidget) -> None:
    """``window`` shown and active: keys go to it."""
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
