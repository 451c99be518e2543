"""Files, folders and web pages handed to the computer's own programs, with a word where none takes them.

``QDesktopServices.openUrl`` starts ``xdg-open`` (the desktop's launcher on Windows and macOS) and answers False
where it cannot: a store PC with no browser or file manager set up, or no ``xdg-open`` at all. Open Page, Open
results folder, the guide's pictures and web links, About's folders, the strip's Open Containing Folder and the
product links ignored that answer, so a click did nothing and said nothing. Each now goes through
``open_outside``, which says what could not be opened and shows its address, selectable and with a Copy button,
to open another way. (Where ``xdg-open`` starts but then finds no program, Qt has already answered True: that
failure happens in another process, after the call, and is not seen here.)
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

TITLE = "Cannot open"


def open_outside(url: QUrl, parent: QWidget) -> bool:
    """Open ``url`` in the program the computer has for it; False, and a message over ``parent``, where none starts.

    The message is shown with ``open()``, not ``exec()``: the click that asked returns at once, as it did when the
    program started.
    """
    if QDesktopServices.openUrl(url):
        return True
    local = url.isLocalFile()
    address = url.toLocalFile() if local else url.toString()
    box = QMessageBox(QMessageBox.Icon.Information, TITLE, cannot_open_line(url), QMessageBox.StandardButton.Close,
                      parent)
    box.setInformativeText(address)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    copy = box.addButton("Copy Path" if local else "Copy Address", QMessageBox.ButtonRole.ActionRole)
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(address))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return False


def cannot_open_line(url: QUrl) -> str:
    """The message's one line: what could not be opened, and what to do instead."""
    if not url.isLocalFile():
        return "No web browser on this computer opened this link: copy its address below into a browser."
    if Path(url.toLocalFile()).is_dir():
        return "No file manager on this computer opened this folder: copy its path below and open it yourself."
    return "No program on this computer opened this file: copy its path below and open it yourself."
