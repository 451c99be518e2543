"""What the photo tab shows before it can tag: the models to get, or the catalog to import; keyboard help."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.widgets.message_bar import announce
from app.workers import Runner, Task
from engine import modelpack
from engine.remedies import in_app

# Help ▸ Keyboard Shortcuts (F1) and docs/app.md's "Keyboard" table, both made from this list (a test holds the
# doc's table to ``shortcuts_markdown()``): the F1 list had fallen behind the doc's rows for the matches panel.
SHORTCUTS = [
    ("Open a photo / a folder", "Ctrl+O / Ctrl+Shift+O (or drop on the window)"),
    ("Paste a photo", "Ctrl+V"),
    ("Next / previous photo of the folder",
     "Page Down / Page Up (on the Room photo tab or in the Photos strip; in the Category box they open and page its list)"),
    ("Walk the tags", "Tab / Shift+Tab, arrow keys"),
    ("Show a tag's matches and go to them (a drawn box that asks What is it?: to its answers)", "Enter (or click)"),
    ("Answer What is it? (a drawn box's category)", "Space or Enter on an answer; Tab / Shift+Tab between them"),
    ("Walk the matches / select one for Why this match?", "↑ / ↓, Space or Enter"),
    ("Reach a match's product page and Confirm button", "Tab (Enter opens the page, Space confirms)"),
    ("Back from the matches to the photo", "Escape"),
    ("Copy a match's name / its copy menu (name, product code, link)", "Ctrl+C / Shift+F10 or the Menu key"),
    ("Change a tag's category",
     "Space, ↑/↓, Page Up/Down or a letter opens the list; ↑/↓, Page Up/Down or a letter, then Enter chooses"),
    ("Remove the selected tag (the next one is selected then)", "Delete"),
    ("Undo / redo a tag edit", "Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y)"),
    ("Search a region", "drag a box on the photo"),
    ("Search a region by keyboard: draw a box (on the selected tag's box, else mid-photo)", "D on the photo"),
    ("Move / resize that box (→ and ↓ larger); search it / cancel",
     "arrow keys / Shift+arrow keys; Enter / Escape"),
    ("Zoom", "mouse wheel, a trackpad pinch or Ctrl + two-finger scroll, + and − (Ctrl++ / Ctrl+− from the menu)"),
    ("Fit to window", "0 (Ctrl+0)"),
    ("Pan", "two-finger scroll on a trackpad, middle-drag, or Space + drag"),
    ("Show every object's box", "B"),
    ("Room photo / catalog (keyboard in its search box) / map tab", "Ctrl+1 / Ctrl+2 / Ctrl+3"),
    ("Catalog tab: the Category box / the Sort box (then ↑/↓ choose)", "Alt+G / Alt+S"),
    ("A tag's matches: its Category box", "Alt+A"),
    ("Where used: the Compare with objects of box", "Alt+W"),
    ("On the map: go from product to product (the ringed one's card shows)", "arrow keys"),
    ("On the map: select the ringed product / add it or take it out", "Space or Enter / Ctrl+Space"),
    ("On the map: zoom around it / the whole map", "+ and − (or Ctrl++ / Ctrl+−) / 0 (or Ctrl+0)"),
    ("On the map: the first / last product of its row (Ctrl: of the map)", "Home / End (Ctrl+Home / Ctrl+End)"),
    ("On the map: the product a view's height down / up (the map scrolls by as much)", "Page Down / Page Up"),
    ("On the map: the other products at the ringed one's spot", "Tab / Shift+Tab"),
    ("On the map: put the ringed product's card away (an arrow key shows it again)", "Escape"),
    ("Batch Tag Folder", "Ctrl+B"),
    ("Export scene JSON / shoppable page", "Ctrl+E / Ctrl+Shift+E"),
    ("Settings", "Ctrl+,"),
    ("Keyboard help", "F1"),
    ("Help ▸ User Guide: find words / the next, the one before / close it",
     "Ctrl+F / Enter or F3, Shift+F3 / Escape"),
    ("Close the Train window", "Escape (while a run trains: stops it, keeping its checkpoint; the window stays)"),
    ("Close Review Uncertain Tags / Restore a Backup / the duplicates window", "Escape"),
    ("Close the message along the bottom (the keyboard goes back where it was)", "Escape on it (Tab reaches it)"),
    ("Review Uncertain Tags: list the queue again (Refresh)", "F5"),
]


def shortcuts_html() -> str:
    rows = "".join(
        f"<tr><td style='padding:2px 16px 2px 0;'>{escape(what)}</td><td><b>{escape(keys)}</b></td></tr>"
        for what, keys in SHORTCUTS
    )
    return f"<table>{rows}</table>"


def shortcuts_markdown() -> str:
    """docs/app.md's "Keyboard" table: ``python -c "from app.widgets.setup_page import shortcuts_markdown as m;
    print(m())"`` prints it."""
    rows = [f"| {what} | {keys} |" for what, keys in SHORTCUTS]
    return "\n".join(["| Action | Keys |", "|---|---|", *rows])


INSTALL_NEWS = "Model pack installed, and your own models changed:"


def install_news(report: modelpack.InstallReport) -> str:
    """What the user must read of an install, in the app's words; "" when it has nothing to say. A trained model
    set aside off a pack name, or a calibration dropped, was said on the page for the moment before it reloaded
    to the photo page: the window's message bar keeps it until dismissed (a report of several lines waits)."""
    lines = [in_app(line) for line in [*report.set_aside, *report.dropped]]
    return "\n".join([INSTALL_NEWS, *lines]) if lines else ""


def looked_for(message: str) -> str:
    """What was looked for and where, less the command line that fixes it: staff of the packaged app, which has
    no `decorlens`, read it above this page's own buttons, which get the pack (``engine.remedies.FETCH_PACK``)."""
    return in_app(message)


PACK_TITLE = "DecorLens needs its models"
PACK_INTRO = (
    "<p>DecorLens finds furniture with an object detector and matches it with an embedder: the "
    "<b>model pack</b> (about 50 MB), installed once into this computer's DecorLens folder.</p>"
    # "(a USB stick, a network share, shared/models)": the project's own folder, which a store's staff never have
    "<p>Get it from a folder that holds a copy of the pack (a USB stick or a network share), or download it.</p>"
)
DEVICE_TITLE = "DecorLens cannot use the graphics card"
DEVICE_INTRO = (
    "<p>The settings ask for the models to run on the graphics card, and this computer has none DecorLens can "
    "use. The models are installed: only where they run needs changing.</p>"
    "<p>Open Settings and choose <b>Automatically</b> or <b>The processor (CPU) only</b> for "
    "<b>Run the models on</b>, then OK.</p>"
)


class SetupPage(QWidget):
    """First run without models: what is missing, and the fixes that work on this machine; or, where the models are
    there but set to run on a graphics card this computer lacks, that and Settings, which fix it.

    The model pack is installed from a folder (a USB stick or a shop's network share) or downloaded
    from the release URL, in a worker with progress; ``installed`` then asks the window to reload the
    pipeline, so the photo page comes up without a restart. What the user must read of it (a trained model set
    aside, a calibration dropped) is kept in ``news`` for the window's message bar: the page is gone by then.

    By keyboard: the button pressed is greyed while the pack installs, so the keyboard goes to Cancel (it fell to
    Choose models folder…, the next button), and back to the button once it is done or failed (Cancel hid under
    it, and it fell to the tab bar). A screen reader is told how it ended.
    """

    openSettings = Signal()  # Settings asked for: its models folder (Choose models folder…) or device (Open Settings)
    retry = Signal()
    installed = Signal()

    def __init__(self, runner: Runner, models_folder: Callable[[], Path], parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.models_folder = models_folder  # where the pack goes: <data dir>/models of the current pipeline
        self.download_url = modelpack.RELEASE_URL
        self.task: Task | None = None
        self.news = ""  # the last install's ``install_news``, until the window says it
        self._pressed: QWidget | None = None  # the button the install was started from, by keyboard
        self.title = QLabel()
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.from_folder = QPushButton("Get models from a folder…")
        self.from_folder.clicked.connect(self.choose_pack_folder)
        self.download = QPushButton("Download")
        self.download.setToolTip(self.download_url)
        self.download.clicked.connect(lambda: self.install(self.download_url))
        settings = QPushButton("Choose models folder…")
        settings.setToolTip("Use models where they are (Settings ▸ Models folder), without copying them")
        settings.clicked.connect(self.openSettings)
        self.settings_button = QPushButton("Open Settings")
        self.settings_button.setToolTip("Edit ▸ Settings: Run the models on")
        self.settings_button.clicked.connect(self.openSettings)
        self.pack_buttons = (self.from_folder, self.download, settings)
        again = QPushButton("Try again")
        again.clicked.connect(self.retry)
        buttons = QHBoxLayout()
        for button in (*self.pack_buttons, self.settings_button, again):
            buttons.addWidget(button)
        buttons.addStretch()
        self.progress = QProgressBar(textVisible=False)
        self.progress.setAccessibleName("Installing the model pack")
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop; what was downloaded is kept and the next try resumes from there")
        self.cancel.clicked.connect(lambda: self.task and self.task.cancel())
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel)
        self.status = QLabel(textFormat=Qt.TextFormat.PlainText)  # a path or an error message, never markup
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setObjectName("errorBox")  # the theme's error colours (app.theme.error_box)
        column = QVBoxLayout()
        self.error_heading = QLabel()
        for widget in (self.title, self.intro):
            column.addWidget(widget)
        column.addLayout(buttons)
        column.addLayout(progress_row)
        column.addWidget(self.status)
        column.addWidget(self.error_heading)
        column.addWidget(self.error)
        _centred(self, column)
        self._busy(False)
        self.show_error("")

    def show_error(self, message: str) -> None:
        """Models missing: the pack's buttons, and what was looked for."""
        self._say(PACK_TITLE, PACK_INTRO, "What was looked for:", looked_for(message), pack=True)

    def show_device_error(self, message: str) -> None:
        """The models are there but the device asked for cannot run them (``engine.errors.DeviceError``): the pack's
        buttons would install what is already installed, and Settings is the fix."""
        self._say(DEVICE_TITLE, DEVICE_INTRO, "What went wrong:", in_app(message), pack=False)

    def _say(self, title: str, intro: str, heading: str, error: str, pack: bool) -> None:
        self.title.setText(f"<h2>{title}</h2>")
        self.intro.setText(intro)
        self.error_heading.setText(f"<br>{heading}")
        self.error.setText(error)
        for button in self.pack_buttons:
            button.setVisible(pack)
        self.settings_button.setVisible(not pack)
        (self.from_folder if pack else self.settings_button).setDefault(True)
        (self.settings_button if pack else self.from_folder).setDefault(False)

    def choose_pack_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder holding the DecorLens model pack")
        if folder:
            self.install(folder)

    def install(self, source: str) -> None:
        """Install the pack from ``source`` (a folder or URL) in a worker; the page shows how far it got."""
        target = self.models_folder()
        focus = QApplication.focusWidget()
        self._pressed = focus if focus in (self.from_folder, self.download) else None
        self._busy(True)
        if self._pressed is not None:
            self.cancel.setFocus(Qt.FocusReason.OtherFocusReason)
        self._tell(f"Installing the model pack from {source} into {target}…")
        self.task = self.runner.start(
            lambda job: modelpack.install(source, target, job.progress, job.cancelled),
            done=self._installed,
            failed=self._failed,
            cancelled=self._failed,
            progress=self._progress,
        )

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done / max(total, 1)))
        self._tell(f"Installing the model pack: {done / 1e6:.0f} of {total / 1e6:.0f} MB…")

    def _installed(self, report: modelpack.InstallReport) -> None:
        self._busy(False)
        self._tell(f"Installed: {report.summary().splitlines()[0]}. Loading the models…")
        announce(self, self.status.text(), urgent=False)
        self.news = install_news(report)
        self.installed.emit()

    def _failed(self, message: str) -> None:
        self._busy(False)
        message = in_app(message)  # a download that cannot reach its source: this page's Get models from a folder…
        self._tell(message, failed=True)
        announce(self, message, urgent=True)

    def _tell(self, text: str, failed: bool = False) -> None:
        """The line under the progress bar; a failure in the theme's error colour (``QLabel#note``), which follows a
        switch of theme: the colour was written into the text, so after a switch to light the dark theme's pale red
        stayed on the light page (1.8:1), the light theme's dark red on the dark one (2.5:1)."""
        if self.status.objectName() != ("note" if failed else ""):
            self.status.setObjectName("note" if failed else "")
            self.status.style().unpolish(self.status)
            self.status.style().polish(self.status)
        self.status.setText(text)

    def _busy(self, busy: bool) -> None:
        if not busy and self._pressed is not None and self.cancel.hasFocus():
            self._pressed.setEnabled(True)
            self._pressed.setFocus(Qt.FocusReason.OtherFocusReason)  # before Cancel hides, taking the keyboard away
        if not busy:
            self._pressed = None
        self.progress.setVisible(busy)
        self.cancel.setVisible(busy)
        self.progress.setRange(0, 0)
        for button in (self.from_folder, self.download):
            button.setEnabled(not busy)


class EmptyCatalogPage(QWidget):
    """The photo tab while the catalog is empty: import products first, and how to lay them out."""

    importFolder = Signal()
    importCsv = Signal()
    importBundle = Signal()
    openPhoto = Signal()
    restoreBackup = Signal()
    addToMenu = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.menu_entry = QLabel("<p><b>Start DecorLens from your applications menu</b> next time, and open photos "
                                 "with it from your file manager:</p>")  # ``offer_menu_entry``
        self.menu_entry.setWordWrap(True)
        self.menu_entry.setContentsMargins(0, 8, 0, 4)
        self.menu_button = QPushButton("Add to Applications Menu")
        self.menu_button.clicked.connect(self.addToMenu)
        for widget in (self.menu_entry, self.menu_button):
            widget.hide()
        self.backups = QLabel()  # ``offer_backups``: the catalog's products may be in a backup, not lost
        self.backups.setWordWrap(True)
        self.backups.setContentsMargins(0, 8, 0, 4)  # a paragraph apart, as the text's own are
        self.backups.hide()
        self.restore_button = QPushButton("Restore a Backup…")
        self.restore_button.clicked.connect(self.restoreBackup)
        self.restore_button.hide()
        text = QLabel(
            "<h2>Your catalog is empty</h2>"
            "<p>Import your products, and every tag on a room photo shows the ones that match it.</p>"
            "<p><b>A folder</b> with one subfolder per category, named as in the tag list "
            "(<code>sofa/</code>, <code>lamp/</code>, <code>plant_pot/</code>…), each holding product photos; "
            "a photo's file name (without extension) becomes its SKU.</p>"
            "<p><b>A CSV file</b> with a header row and the columns <code>sku</code>, <code>category</code> "
            "and <code>image</code> (a path relative to the CSV, or a URL), optionally <code>name</code>, "
            "<code>url</code> and <code>price</code>. Google Merchant Center and Shopify exports import "
            "as they are.</p>"
            "<p><b>A catalog bundle</b> (<code>.dlcat</code>), the whole catalog as another DecorLens exported it "
            "(Catalog ▸ Export a Catalog Bundle…): how a store's other machines get it. You can also drop the "
            "file on this window.</p>"
        )
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_button = QPushButton("Import products…")
        self.import_button.setDefault(True)
        menu = QMenu(self.import_button)
        self.folder_action = menu.addAction("From a folder of category subfolders…")
        self.folder_action.triggered.connect(self.importFolder)
        self.csv_action = menu.addAction("From a CSV file…")
        self.csv_action.triggered.connect(self.importCsv)
        self.bundle_action = menu.addAction("From a catalog bundle (.dlcat)…")
        self.bundle_action.triggered.connect(self.importBundle)
        self.import_button.setMenu(menu)
        photo = QPushButton("Open a room photo…")
        photo.setToolTip("Tags work without a catalog; matches need one")
        photo.clicked.connect(self.openPhoto)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(photo)
        buttons.addWidget(self.restore_button)
        buttons.addStretch()
        column = QVBoxLayout()
        column.addWidget(text)
        column.addWidget(self.backups)
        column.addLayout(buttons)
        column.addWidget(self.menu_entry)
        column.addWidget(self.menu_button, 0, Qt.AlignmentFlag.AlignLeft)
        _centred(self, column)

    def offer_menu_entry(self, offered: bool) -> None:
        """The packaged app on Linux, a folder from a tarball, with no applications menu entry yet: the page staff
        see first offers the one Help ▸ Add to Applications Menu writes, which they would not go looking for."""
        for widget in (self.menu_entry, self.menu_button):
            widget.setVisible(offered)

    def offer_backups(self, count: int) -> None:
        """An empty catalog with backups: a sync client or a move that left ``catalog.sqlite`` behind made a new,
        empty one, and "Import your products" alone sent staff to hours of importing what a restore brings back."""
        self.backups.setText(
            f"<p><b>Products missing?</b> This catalog has {'a backup' if count == 1 else f'{count:,} backups'}: "
            "Restore a Backup… brings its products back, if they went missing (a catalog file moved, or left "
            "out by a sync).</p>")
        for widget in (self.backups, self.restore_button):
            widget.setVisible(count > 0)


def _centred(page: QWidget, column: QVBoxLayout) -> None:
    box = QWidget()
    box.setFixedWidth(640)
    box.setLayout(column)
    layout = QHBoxLayout(page)
    layout.addStretch()
    layout.addWidget(box, 0, Qt.AlignmentFlag.AlignVCenter)
    layout.addStretch()
