"""File ▸ Export Shoppable Page asks for the page's title and folder, and remembers both.

The app wrote every page headed with its photo's file name's words and asked only for a folder, each time
from scratch. Driven as a person would: the real window over the shared IKEA catalog, a real room photo
searched, the dialog filled by typing and Export clicked; the page written is read back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from test_shoppable_export import Page

from app.dialogs.shoppable import PageExportDialog
from engine.shoppable import readable_title

WAIT_MS = 90_000
ROOM = "bed-that-folds"
OTHER = "a-cosy-space-for-coffee"


def open_photo(qtbot, win, path: Path) -> None:
    win.open_paths([path])
    qtbot.waitUntil(lambda: win.controller.scene is not None and win.controller.path == path, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(win.view.pins) and not win.controller._running, timeout=WAIT_MS)


def export_with(win, answer: Callable[[PageExportDialog], None]) -> None:
    """File ▸ Export Shoppable Page, ``answer`` given to its dialog once it shows (it runs modal, as for a
    person)."""
    seen: list[PageExportDialog] = []

    def when_shown(tries: int) -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, PageExportDialog) and dialog.isVisible():
            seen.append(dialog)
            answer(dialog)
        elif tries:
            QTimer.singleShot(20, lambda: when_shown(tries - 1))
        elif dialog is not None:
            dialog.close()  # another dialog (the folder chooser of old): closed, so the test fails, not hangs

    QTimer.singleShot(0, lambda: when_shown(250))
    win.export_page()
    assert seen, "no export dialog was shown"


def type_into(field, text: str) -> None:
    """Replace what a field holds by typing, as a person does after selecting it all."""
    field.setFocus()
    field.selectAll()
    QTest.keyClicks(field, text)


def test_the_page_is_titled_as_typed_and_the_next_export_remembers_title_and_folder(qtbot, active_window,
                                                                                       scene_path, tmp_path: Path):
    win, room = active_window, scene_path(ROOM)
    open_photo(qtbot, win, room)
    folder, first = tmp_path / "pages", {}

    def first_time(dialog: PageExportDialog) -> None:
        first.update(title=dialog.title.text(), selected=dialog.title.selectedText(), folder=dialog.folder.text(),
                     can_export=dialog.export_button.isEnabled(), note=dialog.note.text())
        type_into(dialog.title, "Sunday in a small flat </h1><script>alert(1)</script>")
        type_into(dialog.folder, str(folder))  # not made yet: a typo must not make a folder somewhere
        QTest.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        first.update(still_open=dialog.isVisible(), refused=dialog.note.text())
        folder.mkdir()
        QTest.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)

    export_with(win, first_time)
    words = readable_title(room.stem)
    assert first == {"title": words, "selected": words, "folder": "", "can_export": False,
                     "note": "Choose the folder the page goes in.", "still_open": True,
                     "refused": f"{folder}: no such folder; choose one with Choose…"}
    qtbot.waitUntil(lambda: "Saved" in win.message.text.text(), timeout=WAIT_MS)
    page = Page((folder / f"{room.stem}.html").read_text(encoding="utf-8"))
    title = "Sunday in a small flat </h1><script>alert(1)</script>"
    assert page.with_class("photo")[0]["alt"] == title and title in page.text  # the heading, as text
    assert len(page.scripts) == 1 and "alert" not in page.scripts[0]

    again: dict[str, str] = {}
    export_with(win, lambda d: (again.update(title=d.title.text(), folder=d.folder.text()), d.reject()))
    assert again == {"title": title, "folder": str(folder)}  # the same photo: its title and the folder

    other = scene_path(OTHER)
    open_photo(qtbot, win, other)
    offered: dict[str, str] = {}

    def keep_offered(dialog: PageExportDialog) -> None:
        offered.update(title=dialog.title.text(), folder=dialog.folder.text(), note=dialog.note.text())
        dialog.accept()

    export_with(win, keep_offered)
    assert offered == {"title": readable_title(other.stem), "folder": str(folder),
                       "note": f"Writes {other.stem}.html and an images folder there, ready to upload."}
    written = folder / f"{other.stem}.html"
    qtbot.waitUntil(written.is_file, timeout=WAIT_MS)
    text = written.read_text(encoding="utf-8")
    assert f"<h1>{readable_title(other.stem)}</h1>" in text  # its own file name's words, not the other title
