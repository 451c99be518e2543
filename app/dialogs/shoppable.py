"""File ▸ Export Shoppable Page: the page's title and its folder, asked together before the page is written.

The title is the page's heading, its browser tab and the photo's alt text: the first thing a shopper reads.
The app had no way to set it, so every page was headed with its file name's words ("Ikea an urban oasis in 4
metres square", "IMG 2041"). The title is prefilled with the one last given to this photo, else with those
words (``engine.shoppable.readable_title``), selected so typing replaces it; the folder with the Batch's folder
that holds the photo's page (``batch_folder``), else the last one used. Both are remembered in the app's settings:
a merchandiser exports a photo again after correcting a pin and expects the same title and place, and exports the
photos of a set to one folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.theme import grow_to_fit
from app.widgets.message_bar import say
from engine.batch import fit_stem
from engine.shoppable import readable_title

FOLDER_KEY = "export/page_folder"  # the folder of the last page exported
TITLES_KEY = "export/page_titles"  # JSON {photo path: title given}, oldest first
MAX_TITLES = 200  # photos whose titles are kept: a season's catalogue shoot, a few KB of settings


@dataclass(frozen=True)
class PageExport:
    """What the merchandiser chose: where the page goes and its title ("" for the file name's words)."""

    folder: Path
    title: str


class PageExportDialog(QDialog):
    def __init__(self, store: QSettings, photo: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export Shoppable Page")  # the menu item's words, as every window's title
        self.setMinimumWidth(520)
        self.store, self.photo = store, photo
        default = readable_title(photo.stem)
        self.title = QLineEdit(self._titles().get(str(photo), default), placeholderText=default)
        self.title.setAccessibleName("Page title")
        self.title.selectAll()
        self.folder = QLineEdit(str(batch_folder(photo) or store.value(FOLDER_KEY, "", type=str)),
                                placeholderText="folder for the page and its images")
        self.folder.setAccessibleName("Save to (folder for the page)")
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # shows file and folder names
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(_row_label("&Title", self.title), self.title)
        form.addRow(_row_label("&Save to", self.folder), self._folder_row())
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.folder.textChanged.connect(self._folder_changed)
        self._folder_changed()
        grow_to_fit(self)  # the note takes two lines once a folder is chosen

    @classmethod
    def ask(cls, store: QSettings, photo: Path, parent: QWidget | None = None) -> PageExport | None:
        """The title and folder for ``photo``'s page, remembered for the next export; None when cancelled."""
        dialog = cls(store, photo, parent)
        try:
            return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()  # a child of the window: each export would otherwise keep one

    def choice(self) -> PageExport:
        """The folder and the title as typed, its runs of spaces made one; "" when it is the file name's words."""
        title = " ".join(self.title.text().split())
        return PageExport(Path(self.folder.text().strip()).expanduser(),
                          "" if title == readable_title(self.photo.stem) else title)

    def accept(self) -> None:
        """Export into an existing folder only (a typo would make a new one somewhere), and remember the choice."""
        chosen = self.choice()
        if not chosen.folder.is_dir():
            say(self.note, f"{chosen.folder}: no such folder; choose one with Choose…", urgent=True)
            return
        self.store.setValue(FOLDER_KEY, str(chosen.folder))
        self._remember_title(chosen.title)
        super().accept()

    def _folder_row(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        choose = QPushButton("Choose…")
        choose.setAccessibleName("Choose the folder for the page")
        choose.setAutoDefault(False)  # Enter exports; it took Enter from Export while the folder was empty
        choose.clicked.connect(self._choose)
        layout.addWidget(self.folder, 1)
        layout.addWidget(choose)
        return row

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the shoppable page",
                                                  self.folder.text() or str(self.photo.parent))
        if folder:
            self.folder.setText(folder)

    def _folder_changed(self) -> None:
        """Export only with a folder; the note says what it will hold (a page of the same name is replaced)."""
        folder = self.folder.text().strip()
        self.export_button.setEnabled(bool(folder))
        page = f"{fit_stem(self.photo.stem)}.html"
        # said when it is so (the Batch's page of the photo, offered by ``batch_folder``): "Writes" read as a new page
        replacing = " (replacing the one there)" if folder and (Path(folder).expanduser() / page).is_file() else ""
        self.note.setText(f"Writes {page}{replacing} and an images folder there, ready to upload."
                          if folder else "Choose the folder the page goes in.")

    def _titles(self) -> dict[str, str]:
        return page_titles(self.store)

    def _remember_title(self, title: str) -> None:
        """This photo's title, the most recent last; a title left as the file name's words is forgotten."""
        titles = self._titles()
        titles.pop(str(self.photo), None)
        if title:
            titles[str(self.photo)] = title
        kept = dict(list(titles.items())[-MAX_TITLES:])
        self.store.setValue(TITLES_KEY, json.dumps(kept))


def tagged_folder(photos: Path) -> Path:
    """The results' folder Batch Tag Folder offers for ``photos``: beside it, never in it (the batch would list its own
    pages)."""
    return photos.parent / f"{photos.name}-tagged"


def batch_folder(photo: Path) -> Path | None:
    """The folder Batch Tag Folder wrote the photo's folder's pages to (the one it offers, ``tagged_folder``), when it
    holds this photo's page: the page of a photo corrected after the batch, exported there, replaces the batch's, so
    the folder to upload has one page per photo, as corrected. The last folder used (another set's, or none on a
    first export) made a second page of the photo elsewhere, and the upload kept the uncorrected one."""
    folder = tagged_folder(photo.parent)
    return folder if (folder / f"{fit_stem(photo.stem)}.html").is_file() else None


def page_titles(store: QSettings) -> dict[str, str]:
    """The titles given so far, by photo (the Batch's pages are headed with them too); a damaged or hand-edited
    value reads as none."""
    try:
        titles = json.loads(str(store.value(TITLES_KEY, "{}", type=str)))
    except (ValueError, RecursionError):  # nested 100,000 deep, the dialog did not open
        return {}
    if not isinstance(titles, dict):
        return {}
    return {str(k): str(v) for k, v in titles.items() if isinstance(v, str)}


def _row_label(text: str, field: QLineEdit) -> QLabel:
    """A form row's label, its Alt key going to ``field``, as tall as the field so its words sit on the field's
    line: the form put the 24 px label at the top of the 26 px field, its words a pixel above the field's."""
    label = QLabel(text, buddy=field)
    label.setMinimumHeight(field.sizeHint().height())
    return label
