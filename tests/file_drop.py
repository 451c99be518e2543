"""A file dragged from the file manager and dropped on a widget, as the window's tests do it."""

from __future__ import annotations

from pathlib import Path


def drop_file(widget, path: Path) -> bool:
    """Drag ``path`` onto ``widget`` and drop it there if the widget takes the drag; whether it took it."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    buttons, keys, action = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, Qt.DropAction.CopyAction
    enter = QDragEnterEvent(widget.rect().center(), action, mime, buttons, keys)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(widget, QDropEvent(QPointF(widget.rect().center()), action, mime, buttons, keys))
    return True
