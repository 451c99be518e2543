"""The main window: the photo with its tags, the matches panel, the catalog tab, menus and status bar.

It wires widgets to the ``SceneController`` and shows what workers report; it holds no data logic.
The pipeline is passed in (tests share one), and replaced when Settings change models or device.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QBuffer, QEvent, QIODevice, QMimeData, Qt, QUrl
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.dialogs.about import show_about
from app.dialogs.batch import BatchDialog
from app.dialogs.guide import open_guide
from app.dialogs.install_check import open_install_check
from app.dialogs.settings import SettingsDialog
from app.dialogs.shoppable import PageExportDialog
from app.engine_info import EngineInfo, describe_engine
from app.engine_notes import EngineNotes, as_status
from app.labels import model_label, pretty, use_category_names
from app.links import open_outside
from app.scene_controller import SceneController
from app.scene_files import deliver_found, each_scene_file, given_photo, save_pasted
from app.settings import TABS, AppSettings
from app.thumbnails import Thumbnails
from app.widgets.catalog_view import FIRST_IMPORT_NEXT, CatalogView
from app.widgets.map_view import MapView
from app.widgets.message_bar import MessageBar
from app.widgets.photo_strip import ListingStatus, PhotoStrip, caption
from app.widgets.results_panel import CATALOG_EMPTY, NO_TAGS, ResultsPanel
from app.widgets.scene_view import (
    SceneView,
    copied_paths,
    dropped_paths,
    no_tags_message,
    no_tags_reason,
    sold_change_message,
    web_addresses,
)
from app.widgets.setup_page import EmptyCatalogPage, SetupPage, shortcuts_html
from app.widgets.status_line import StatusLine
from app.widgets.toolbar import TRAIN_MISSING, ToolBar, training_available
from app.window_memory import SplitterMemory, remember, save_open
from app.workers import Job, Runner, Task
from engine import desktop_entry
from engine.backups import NO_BACKUP, cli_restore_advice
from engine.batch import BatchReport
from engine.bundle import SUFFIX as BUNDLE_SUFFIX
from engine.categories import CategoryMap
from engine.corrections import edited_keys
from engine.errors import DecorLensError
from engine.explain import explain_tag
from engine.imageio import IMAGE_SUFFIXES, READABLE
from engine.models import find_first
from engine.pipeline import Pipeline
from engine.remedies import in_app
from engine.scene_memory import tag_counts
from engine.settings import Settings, save_choice
from engine.shoppable import ScenePage
from engine.words import counted

if TYPE_CHECKING:
    from app.dialogs.backups import Restored
    from app.dialogs.bundles import Bundles

IMAGE_FILTER = "Images (" + " ".join(f"*{suffix}" for suffix in sorted(IMAGE_SUFFIXES)) + ")"  # what opens
PHOTO_TAB, CATALOG_TAB, MAP_TAB = map(TABS.index, ("photo", "catalog", "map"))
RESTORE_ACTION = "Restore a Backup…"
RECENT_GONE = " — not found"  # an Open Recent entry whose photo was moved or deleted
OPEN_PAGE_ACTION = "Open Page"  # a shoppable page just exported, in the browser
SET_ASIDE_ACTION = "Set It Aside"  # a damaged catalog without backups: a new, empty one in its place
ADD_TO_MENU, REMOVE_FROM_MENU = "Add to Applications &Menu", "Remove from Applications &Menu"  # Help, on Linux
EMBED_ACTION = "Embed the Catalog"  # its embedding cancelled with no embedder to go back to: the photo waits for it
OFFLINE = ("DecorLens works offline and does not download pictures: save the picture, then drop the file here "
           "(or copy the picture itself and paste it with Ctrl+V).")


class Listed(NamedTuple):
    """A part of a listing's photos, and what was asked: ``folder`` when one folder alone, ``loose`` photos when no
    folder at all."""

    folder: Path | None
    loose: bool
    photos: list[Path]


class EngineChoice(NamedTuple):
    """What Settings can change that the pipeline is built with: a change means a new pipeline."""

    models_dir: Path | None
    device: str
    exact_threshold: float | None
    detectors: tuple[tuple[str, ...], ...]
    embedder: tuple[str, ...]


class MainWindow(QMainWindow):
    def __init__(self, pipeline: Pipeline, settings: AppSettings, models_dir: str | Path | None = None,
                 notes: EngineNotes | None = None):
        """``notes``: the relay ``pipeline`` logs to (``app.main.launch`` makes both), shown on the status
        bar; the pipelines made later (settings, models) log to it too."""
        super().__init__()
        self.pipeline = pipeline
        self.notes = notes or EngineNotes(self)
        self.settings = settings
        self.models_dir = models_dir  # from the command line: wins over Settings
        self._use_category_names()
        self.engine = Runner(2, self)
        self.io = Runner(2, self)
        self.saver = Runner(1, self)
        self.thumb_loader = Runner(2, self)
        self.thumbnails = Thumbnails(self.thumb_loader, self)
        self.controller = SceneController(pipeline, settings, self.engine, self.io, self.saver)
        self.engine_info: EngineInfo | None = None
        self.train_window = None  # app.dialogs.train.TrainWindow once opened
        self.review_window = None  # app.dialogs.review_queue.ReviewWindow once opened
        self.backups_window = None  # app.dialogs.backups.BackupsWindow once opened
        self.bundles: Bundles | None = None  # Catalog ▸ Export / Import a Catalog Bundle…, once first used
        self._pending_tag: tuple[Path, int] | None = None  # a review row's tag, shown once its photo is tagged
        self._kept_tag: tuple[Path, int] | None = None  # that tag, shown whatever Settings leave out while it is open
        self._candidates: list[Path] = []  # photos of a folder being opened: the first that loads wins
        self._found: list[Path] = []  # the photos the last listing found so far, in the strip's order
        self._listing: Task | None = None  # the folder being listed (the strip fills as it goes)
        self._relisting: Task | None = None  # the strip's folder listed again, as it changed on disk (``_relist``)
        self._relist_again = False  # it changed again while being listed: listed once more after
        self._saved_listings = self._tag_listings = 0  # the Photos strip's marks asked for: the last one shows
        self._strip_follows = False  # a photo of the listing opened: the strip shows it and takes what comes
        self._listed = Listed(None, False, [])  # the listing's last part: loose photos join the strip's loose ones
        self._saved_page: Path | None = None  # the shoppable page exported last (the message's Open Page)
        self._tried_all: tuple[Path, str] | None = None  # every photo found so far failed: the last, its error
        self._left_out: tuple[str, bool] | None = None  # the drop's "Left out …", whether its photo is still to open
        self._embedding: Task | None = None  # the catalog being embedded for the embedder chosen last
        self._embedding_from: EngineChoice | None = None  # the choice before it, which its Cancel puts back
        self._choice = self._engine_choice()  # what the pipeline was built from (config.yaml, Settings)
        self._revision: int | None = None  # the catalog's revision when the window last looked
        self._photo_news: str | None = None  # news of the open photo, said once the Photo tab is in front
        self._in_settings = False  # the Settings dialog is open
        self._tab_wanted: int | None = TABS.index(settings.last_tab)  # the last session's, once the catalog is read
        self.setWindowTitle("DecorLens")
        self.setAcceptDrops(True)
        theme.resize_to_screen(self, 1360, 860)
        self._build_central()
        self._build_status()
        self._build_menus()
        self._build_toolbar()
        self._wire()
        self._remember_layout()
        self.warm_up()
        self.catalog.refresh()
        self.look_outside()
        if unreadable := settings.unreadable(self._config()):  # settings.ini edited by hand: defaults used unsaid
            self.show_message(unreadable, "error")
        settings.guard.movedAside.connect(lambda line: self.show_message(line, "error"))  # put there while open

    # -- layout -----------------------------------------------------------------------------------

    def _build_central(self) -> None:
        self.view = SceneView(self.thumbnails)
        self.panel = ResultsPanel(self.thumbnails)
        self.panel.gone = self.view.gone = self.controller.gone
        self.panel.setMinimumWidth(330)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([1000, 360])
        self.setup = SetupPage(self.io, lambda: self.pipeline.data_dir / "models")
        self.welcome = EmptyCatalogPage()
        self.photo_stack = QStackedWidget()
        self.photo_stack.addWidget(self.splitter)
        self.photo_stack.addWidget(self.setup)
        self.photo_stack.addWidget(self.welcome)
        self.catalog = CatalogView(self.pipeline, self.engine, self.io, self.thumbnails, settings=self.settings)
        self.catalog.where_used.tagRequested.connect(self._open_tag)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.photo_stack, "Room photo")
        self.tabs.addTab(self.catalog, "Catalog")
        self.map_view = MapView(self.pipeline, self.engine, self.thumbnails)
        self.tabs.addTab(self.map_view, "Map")
        self.message = MessageBar()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tabs, 1)
        self.message.float_over(central)
        self.view.covered_by(self.message)
        self.setCentralWidget(central)
        self.photo_list = PhotoStrip(self.thumbnails)
        self.photo_list.photoChosen.connect(self.open_photo)
        self.photo_list.folderChanged.connect(self._relist)
        self.photo_dock = QDockWidget("Photos", self)
        self.photo_dock.setObjectName("photos")
        self.photo_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.photo_dock.setWidget(self.photo_list)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.photo_dock)
        self.photo_dock.hide()

    def _build_status(self) -> None:
        self.status_line = StatusLine()
        self.setStatusBar(self.status_line)
        self.listing_status = ListingStatus()
        self.listing_status.stopRequested.connect(self.stop_listing)
        self.status_line.insertPermanentWidget(0, self.listing_status)
        self._build_embedding_status()

    def _build_toolbar(self) -> None:
        """Open, Open folder, Batch, Catalog, Train, then Undo/Redo and Settings at the right."""
        self.toolbar = bar = ToolBar(self)
        bar.add(self.open_action, "open", "Open")
        bar.add(self.folder_action, "folder", "Open folder")
        bar.add(self.batch_action, "batch", "Batch")
        bar.add(self.catalog_action, "catalog", "Catalog")
        bar.add(self.train_action, "train", "Train")
        bar.add_spacer()
        bar.add(self.undo_action, "undo", "Undo")
        bar.add(self.redo_action, "redo", "Redo")
        bar.addSeparator()
        bar.add(self.settings_action, "settings", "Settings")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

    def _build_menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        self.open_action = self._action(
            file, "&Open Photo…", self.choose_photo, QKeySequence.StandardKey.Open
        )
        self.folder_action = self._action(file, "Open &Folder…", self.choose_folder, "Ctrl+Shift+O")
        self.recent = file.addMenu("Open &Recent")
        self.recent.aboutToShow.connect(self._fill_recent)
        self._action(file, "&Paste Photo", self.paste, QKeySequence.StandardKey.Paste)
        self.photo_actions = (self._action(file, "&Next Photo", lambda: self.photo_list.step(1), "PgDown"),
                              self._action(file, "Pre&vious Photo", lambda: self.photo_list.step(-1), "PgUp"))
        for action in self.photo_actions:
            # Page Down / Up step through the folder where the keyboard is on the photo page or the Photos strip;
            # elsewhere they are the widget's own (a window-wide shortcut took them from the Catalog grid, lists
            # and boxes, opened the next photo and switched to its tab). The menu items work from anywhere.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.photo_stack.addAction(action)
            self.photo_dock.addAction(action)
        file.addSeparator()
        self._action(file, "&Export Scene JSON…", self.export_json, "Ctrl+E")
        self._action(file, "Export &Shoppable Page…", self.export_page, "Ctrl+Shift+E")
        self.batch_action = self._action(file, "&Batch Tag Folder…", self.batch, "Ctrl+B")
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit = self.menuBar().addMenu("&Edit")
        self.undo_action = self.controller.undo.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.controller.undo.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Redo), QKeySequence("Ctrl+Y")])
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        self._action(edit, "&Remove Selected Tag", self._remove_current)
        self.settings_action = self._action(edit, "&Settings…", self.open_settings, "Ctrl+,")
        view = self.menuBar().addMenu("&View")
        self._action(view, "&Fit to Window", self.view.fit, "Ctrl+0")
        self._action(view, "Zoom &In", lambda: self.view.zoom(1.25), QKeySequence.StandardKey.ZoomIn)
        self._action(view, "Zoom &Out", lambda: self.view.zoom(0.8), QKeySequence.StandardKey.ZoomOut)
        boxes = self._action(view, "Show All &Boxes", self.view.set_all_boxes, "B")
        boxes.setCheckable(True)
        view.addSeparator()
        self._action(view, "&Room Photo", lambda: self.tabs.setCurrentIndex(PHOTO_TAB), "Ctrl+1")  # the tab's name
        self.catalog_action = self._action(view, "&Catalog", self.show_catalog_search, "Ctrl+2")
        self._action(view, "&Map", lambda: self.tabs.setCurrentIndex(MAP_TAB), "Ctrl+3")
        strip = self.photo_dock.toggleViewAction()
        strip.setText("Photo&s")  # the dock's title alone, the one View item with no Alt key: Alt+V, S brings it back
        view.addAction(strip)
        catalog = self.menuBar().addMenu("&Catalog")
        self._action(catalog, "Import &Folder…", lambda: self._to_catalog(self.catalog.choose_folder))
        self._action(catalog, "Import &CSV…", lambda: self._to_catalog(self.catalog.choose_csv))
        self._action(catalog, "Find a Product &Photo in My Photos…", self.find_product_photo)
        catalog.addSeparator()
        self.train_action = self._action(catalog, "&Train on My Photos…", self.show_training)
        self.train_action.setEnabled(training_available())
        self.train_action.setToolTip(
            "Teach the models your catalog and your corrections" if training_available() else TRAIN_MISSING
        )
        # its tooltip shown in the menu too: greyed out in the packaged app, the menu item said nothing of why (only the
        # toolbar's button did, to those who hovered it)
        catalog.setToolTipsVisible(True)
        self._action(catalog, "&Review Uncertain Tags…", self.show_review)
        catalog.addSeparator()
        self._action(catalog, "&Export a Catalog Bundle…", lambda: self._bundle_tasks().export())
        self._action(catalog, "&Import a Catalog Bundle…", lambda: self._bundle_tasks().import_())
        self._action(catalog, "Restore a &Backup…", self.show_backups)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&User Guide", self.show_guide)
        self._action(
            help_menu, "&Keyboard Shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents
        )
        self._action(help_menu, "&Check Installation…", self.check_installation)
        if desktop_entry.supported():  # a tarball's app has no menu entry until it writes one
            self.menu_entry_action = self._action(help_menu, ADD_TO_MENU, self.toggle_menu_entry)
            help_menu.aboutToShow.connect(lambda: self.menu_entry_action.setText(
                REMOVE_FROM_MENU if desktop_entry.installed_here() else ADD_TO_MENU))
        help_menu.addSeparator()
        self._action(help_menu, "&About DecorLens", self.show_about)

    def _action(self, menu: QMenu, text: str, slot, shortcut=None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(lambda checked=False: slot(checked) if action.isCheckable() else slot())
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        return action

    def _wire(self) -> None:
        self.notes.noted.connect(lambda line: self.statusBar().showMessage(as_status(line), 10_000))
        c = self.controller
        c.opened.connect(self._photo_opened)
        c.openFailed.connect(self._open_failed)
        c.photoShown.connect(self.view.show_photo)
        c.sceneChanged.connect(self._scene_changed)
        c.tagChanged.connect(self._tag_changed)
        c.tagAdded.connect(self.view.activate)
        c.matchesReady.connect(self._matches_ready)
        c.checkedReady.connect(self.panel.show_checked)
        c.checkedReady.connect(lambda number, _any, _checked: self.view.refresh_card(number))
        self.view.verified = c.verified_first
        c.checkFailed.connect(self.panel.check_failed)
        c.busyChanged.connect(self._busy)
        c.savedChanged.connect(self.photo_list.mark_saved)  # the ✓ on the photo's thumbnail once an edit is saved
        c.remembered.connect(self.photo_list.mark_tags)  # its tag mark as it is tagged, searched again, edited
        c.searched.connect(self.status_line.show_timings)
        c.failed.connect(lambda m: self.show_message(m, "error", page=PHOTO_TAB))
        c.info.connect(lambda m: self.show_message(m, "info", page=PHOTO_TAB))
        c.embeddingNeeded.connect(lambda: self.embed_catalog())
        self.view.pinActivated.connect(self.show_tag)
        self.view.regionDrawn.connect(c.search_region)
        self.view.removeRequested.connect(c.remove)
        self.view.filesDropped.connect(self.open_paths)
        self.panel.confirmRequested.connect(c.confirm)
        self.panel.categoryRequested.connect(self._change_category)
        self.panel.removeRequested.connect(c.remove)
        self.panel.scopeChanged.connect(self._scope_changed)
        self.panel.explainRequested.connect(self._explain)
        self.panel.checkRequested.connect(c.check_details)
        self.catalog.message.connect(lambda text, level: self.show_message(text, level, page=CATALOG_TAB))
        self.catalog.removed.connect(lambda text: self.show_message(text, "done", RESTORE_ACTION, page=CATALOG_TAB))
        self.catalog.catalogChanged.connect(self.map_view.mark_stale)
        self.map_view.message.connect(lambda text, level: self.show_message(text, level, page=MAP_TAB))
        self.map_view.showInCatalog.connect(self.show_in_catalog)
        self.catalog.catalogChanged.connect(self.status_line.show_products)
        self.catalog.catalogChanged.connect(self.panel.set_products)  # an empty catalog's tags say so
        self.catalog.catalogChanged.connect(lambda _n: self.controller.refresh_from_catalog())
        self.catalog.catalogChanged.connect(lambda _n: self._check_sold())
        self.catalog.catalogChanged.connect(lambda _n: self._list_tags())  # a bundle or restore brings its own memory
        self.setup.openSettings.connect(self.open_settings)
        self.setup.retry.connect(self.reload_pipeline)
        self.setup.installed.connect(self.reload_pipeline)
        self.welcome.importFolder.connect(lambda: self._to_catalog(self.catalog.choose_folder))
        self.welcome.importCsv.connect(lambda: self._to_catalog(self.catalog.choose_csv))
        self.welcome.importBundle.connect(lambda: self._bundle_tasks().import_())
        self.catalog.importBundle.connect(self.welcome.importBundle)  # the empty Catalog tab's, the same import
        self.welcome.openPhoto.connect(self.choose_photo)
        self.welcome.restoreBackup.connect(self.show_backups)
        self.welcome.addToMenu.connect(self.toggle_menu_entry)
        self.catalog.catalogChanged.connect(self._leave_welcome)
        c.photoShown.connect(lambda _image: self._show_photo_page())
        self.message.action.connect(self._answer_message)
        self.tabs.currentChanged.connect(self.message.page_shown)
        self.tabs.currentChanged.connect(lambda _page: self.look_outside())
        self.tabs.currentChanged.connect(lambda page: page == PHOTO_TAB and self._say_photo_news())

    def _remember_layout(self) -> None:
        """The window's size, place and state, its splitters and its tab as the last session left them
        (``app.window_memory``); the first-start size where none were saved or they do not fit a screen now."""
        remember(self, self.settings, "main")
        self.splitters = SplitterMemory(
            {"photo": self.splitter, "catalog": self.catalog.split, "map": self.map_view.split,
             "map_compare": self.map_view.maps}, self.settings, self)
        self.catalog.catalogChanged.connect(self._open_last_tab)
        self.tabs.currentChanged.connect(self._forget_last_tab)

    def _open_last_tab(self, products: int) -> None:
        """The tab shown as the last session ended, once the catalog is read and holds products, unless a tab was
        chosen or a photo opened meanwhile: an empty catalog opens on its own page, the Room photo tab, as on a
        first start; a catalog that cannot be read on that tab too, where its error and Restore show."""
        wanted, self._tab_wanted = self._tab_wanted, None
        if wanted is not None and products and self.controller.path is None and not self._candidates:
            self.tabs.setCurrentIndex(wanted)

    def _forget_last_tab(self) -> None:
        self._tab_wanted = None

    # -- engine -----------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the models in a worker; missing models turn the photo tab into the setup page. Only the pipeline in
        use is told of: two warm-ups (Settings applied twice in quick succession) run on the engine's two threads
        and may end in either order, and the older one's models, status and setup page are no longer the truth."""
        self.status_line.show_loading()
        pipeline = self.pipeline
        self.engine.start(
            lambda _job: describe_engine(pipeline),
            done=lambda info: pipeline is self.pipeline and self._engine_ready(info),
            failed=lambda m: pipeline is self.pipeline and self.show_message(m, "error"),
        )

    def _engine_ready(self, info: EngineInfo) -> None:
        self.engine_info = info
        if info.missing or info.device_error:
            if info.device_error:  # the models are there: Settings fix it, not the pack
                self.setup.show_device_error(info.device_error)
            else:
                self.setup.show_error(info.missing)
            self.photo_stack.setCurrentWidget(self.setup)
            self.status_line.show_missing("No graphics card" if info.device_error else "Models missing")
            return
        self._say_install_news()
        # a catalog that cannot be read is not an empty one: "Your catalog is empty … Import products" sent the
        # merchandiser to hours of importing, where the message's Restore a Backup… brings it back
        empty = info.products == 0 and not info.catalog_error and self.controller.path is None
        self.photo_stack.setCurrentWidget(self.welcome if empty else self.splitter)
        self.welcome.offer_backups(info.backups)
        self.welcome.offer_menu_entry(desktop_entry.worth_offering())
        self.status_line.show_engine(info)
        if info.catalog_error:
            self.show_message(info.catalog_error, "error")
        elif info.products == 0 and not empty:
            self._say_catalog_empty()

    def _embed_if_unembedded(self) -> None:
        """Embed the catalog now, with progress and Cancel, when it has no vector of the embedder in use (chosen in a
        session that quit mid-embedding, or its embedding cancelled since), as a photo opens: its search did it
        silently, behind "Finding furniture and decor…", 37 s for 1,955 products here and hours for a large catalog.
        The photo's search or match waits for it, saying so."""
        if self.engine_info is not None and self.engine_info.unembedded and self._embedding is None:
            self.embed_catalog()

    def _say_install_news(self) -> None:
        """Once the models installed from the setup page are loaded, what the install changed of the user's own
        (a trained model set aside, a calibration dropped) on the message bar, for the whole window: the page said
        it only for the moment before it made way for the photo page. Kept: a damaged catalog's error found next
        comes below it, not in its place."""
        news, self.setup.news = self.setup.news, ""
        if news:
            self.show_message(news, "info", kept=True)

    def _show_photo_page(self) -> None:
        """A photo opened replaces the empty catalog's page, which said what the banner says: the banner
        shows from then on, where the photo's tags have nothing to match."""
        if self.photo_stack.currentWidget() is self.welcome:
            self._say_catalog_empty()
        elif FIRST_IMPORT_NEXT in self.message.text.text():
            self.message.dismiss()  # its advice taken: it came back on the Catalog tab to say "open a room photo"
        self.photo_stack.setCurrentWidget(self.splitter)

    def _say_catalog_empty(self) -> None:
        self.show_message(CATALOG_EMPTY, "info", "Open catalog", PHOTO_TAB)

    def reload_pipeline(self) -> None:
        """A new pipeline from the saved settings and ``config.yaml``: models installed or chosen meanwhile."""
        self.set_pipeline(Pipeline(self.settings.engine_settings(self.pipeline.data_dir, self.models_dir),
                                   self.pipeline.log))

    def _leave_welcome(self, products: int) -> None:
        """The first import fills the catalog: the photo page replaces the empty catalog's page."""
        if products and self.photo_stack.currentWidget() is self.welcome:
            self.photo_stack.setCurrentWidget(self.splitter)

    def set_pipeline(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._choice = self._engine_choice()  # the Train window's Use and Undo too: not another DecorLens's change
        self._use_category_names()
        self.controller.pipeline = pipeline
        self.catalog.set_pipeline(pipeline)
        self.map_view.set_pipeline(pipeline)
        if self.backups_window is not None:  # a restore goes through the pipeline the window searches with
            self.backups_window.pipeline = pipeline
        self.warm_up()
        self.catalog.refresh()

    def use_models(self, pipeline: Pipeline) -> None:
        """Other models put in use (the Train window's Use and Undo): the window's pipeline, and the open photo
        tagged again with them."""
        self.set_pipeline(pipeline)
        self._tag_again()

    def _tag_again(self) -> None:
        """The open photo searched with the models now in use, unless it holds edits, which stay as made: it
        showed the previous models' tags and matches until it was opened again."""
        if self.controller.scene is None:
            return
        if self.controller.search_again():
            self.panel.clear()  # its tag's number will be another object's, matched by other models
        else:
            self.show_message("This photo keeps your edits, made on the previous models' tags; photos opened from "
                              "now on are tagged with the models now in use.", "info", page=PHOTO_TAB)

    def _check_sold(self) -> None:
        """After the catalog changed, the open photo tagged again if the categories it sells changed: a lamp shop's
        photo of a room kept no tag after chairs were imported, until it was opened again."""
        if self.controller.scene is None:
            return
        pipeline = self.pipeline
        self.io.start(lambda _job: (pipeline, pipeline.looked_for()), done=self._sold_now,
                      failed=lambda _m: None)  # an unreadable catalog is reported by the catalog tab's listing

    def _sold_now(self, seen: tuple[Pipeline, tuple[str, ...] | None]) -> None:
        pipeline, now = seen
        scene = self.controller.scene
        if pipeline is not self.pipeline or scene is None:
            return
        before = scene.result.looked_for  # None: every category (searched with an empty catalog), or saved edits'
        if now is None or before is None and scene.edited or before is not None and set(before) == set(now):
            return  # compared as searched: a sold category no detector finds (rug) made every change look like one
        searched = self.controller.search_again("Finding what your catalog now sells…")
        if searched:
            self.panel.clear()  # its tag's number will be another object's
        self._say_photo_news(sold_change_message(before, now, searched))

    def _say_photo_news(self, news: str | None = None) -> None:
        """``news`` of the open photo said now if the Photo tab is in front, else once it is (None: what was kept).
        Said at once on the Catalog tab, the photo's tags found again after an import replaced the import's report."""
        news = self._photo_news if news is None else news
        self._photo_news = None if self.tabs.currentIndex() == PHOTO_TAB else news
        if news is not None and self._photo_news is None:
            self.show_message(news, "info", page=PHOTO_TAB)

    def _use_category_names(self) -> None:
        """Every label follows the pipeline's category map; a broken map is reported by the search needing it."""
        try:
            use_category_names(self.pipeline.categories.names)
        except DecorLensError:
            use_category_names({})

    # -- opening photos ---------------------------------------------------------------------------

    def choose_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a room photo", self._last_folder(), IMAGE_FILTER)
        if path:
            self.open_paths([Path(path)])

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of room photos", self._last_folder())
        if folder:
            self.open_paths([Path(folder)])

    def find_product_photo(self) -> None:
        """Search the tagged photos by a product photo from the menu: dropping one on Where used is the mouse's
        way, and not everyone drags."""
        path, _ = QFileDialog.getOpenFileName(self, "Find a product photo in your tagged photos", "", IMAGE_FILTER)
        if path:
            self.tabs.setCurrentIndex(CATALOG_TAB)
            self.catalog.where_used.show_photo(Path(path))

    def _last_folder(self) -> str:
        return str(Path(self.settings.recent[0]).parent) if self.settings.recent else ""

    def open_paths(self, paths: list[Path]) -> None:
        """Files and folders (dropped, pasted, chosen): list their photos and open the first as soon as it is
        found. The listing goes on in a worker (0.2-0.3 s for 20,000 photos here, longer on a network share),
        the Photos strip filling as it goes; the listing's order is the strip's, so the photo opened first
        stays first. Opening something else, or Stop, ends a listing. Loose photos (no folder among ``paths``)
        join the loose photos the strip lists, once each (``PhotoStrip.show_photos``): a designer dropping a
        second photo compares it with the first."""
        bundles = [p for p in paths if p.suffix.lower() == BUNDLE_SUFFIX and p.is_file()]
        if bundles:  # a catalog bundle opened or dropped: it said "No photos in store.dlcat"
            self._import_dropped(bundles)
            paths = [p for p in paths if p not in bundles]
            if not paths:
                return
        if self._listing is not None:
            self._listing.cancel()  # its parts still on their way are dropped (``ours``)
        if self._relisting is not None:
            self._relisting.cancel()
            self._relisting = None
        self._list_saved()
        self._found, self._candidates, self._strip_follows, self._tried_all = [], [], False, None
        task: Task | None = None

        def ours(slot: Callable[..., None]) -> Callable[..., None]:
            return lambda *args: task is self._listing and slot(*args)

        def listing(job: Job) -> list[Path]:
            """Lists the photos; returns the files left out, not photos (a notes.txt, a Photoshop .psd)."""
            folders = [path for path in paths if path.is_dir()]  # asked here, not on the UI thread: a share may hang
            folder = folders[0] if len(paths) == 1 and folders else None
            deliver_found(each_scene_file(paths, job.cancelled),
                          lambda photos: job.deliver(Listed(folder, not folders, photos)), job.cancelled)
            return [p for p in paths if p not in folders and not given_photo(p)]

        task = self._listing = self.io.start(
            listing,
            delivered=ours(self._photos_found),
            done=ours(lambda left_out: self._listing_ended(paths, left_out=left_out)),
            failed=ours(lambda m: self._listing_ended(paths, m)),
        )

    def _list_saved(self) -> None:
        """Which photos have saved edits, for the Photos strip's ✓: the corrections folder's names listed once per
        opening, before the folder (another DecorLens may have saved some since). A folder that cannot be listed
        leaves the marks as they were: saving the next edit there says what is wrong. Of two listings, which the io
        runner's two threads may end in either order, the last asked shows."""
        self.photo_list.listing_saved()
        self._saved_listings += 1
        data_dir, asked = self.pipeline.data_dir, self._saved_listings
        self.io.start(lambda _job: edited_keys(data_dir),
                      done=lambda keys: asked == self._saved_listings and self.photo_list.show_saved(keys),
                      failed=lambda _m: None)
        self._list_tags()

    def _list_tags(self) -> None:
        """Every remembered photo's number of tags, for the Photos strip's tag marks: the scene memory read in one
        query, in a worker. A memory that cannot be read leaves the marks as they were (Where used says why). The
        last read asked shows: one from before a bundle import or a restore may end after the one from after it."""
        self.photo_list.listing_tags()
        pipeline = self.pipeline  # its catalog opened in the worker too: a damaged one fails there, not here
        self._tag_listings += 1
        asked = self._tag_listings
        self.io.start(lambda _job: tag_counts(pipeline.catalog),
                      done=lambda counts: asked == self._tag_listings and self.photo_list.show_tags(counts),
                      failed=lambda _m: None)

    def _import_dropped(self, bundles: list[Path]) -> None:
        """A catalog bundle dropped on the window (or given to ``decorlens gui``) imports as Catalog ▸ Import a
        Catalog Bundle… does, asking first; one at a time, as each replaces the catalog."""
        self._bundle_tasks().import_(bundles[0])
        if len(bundles) > 1:
            names = ", ".join(b.name for b in bundles[1:])
            self.show_message(f"Each bundle replaces the whole catalog, so only {bundles[0].name} is imported; "
                              f"not {names}.", "info")

    def stop_listing(self) -> None:
        """Stop the folder being listed; the photos found so far stay in the strip."""
        if self._listing is not None:
            self._listing.cancel()
            self._listing_ended([], stopped=True)
            count = len(self._found)
            self.statusBar().showMessage(f"Stopped listing: {count:,} photo{'' if count == 1 else 's'} listed.", 10_000)

    def _relist(self, folder: Path) -> None:
        """The strip's folder changed on disk (photos renamed, added, deleted in another program): it is listed again
        in a worker, as it was opened (``each_scene_file``: a folder of 10,000 photos too), and the strip follows
        (``PhotoStrip.relist``). One listing at a time: changes meanwhile (a copy of 500 files goes on) list it once
        more after. A folder gone (a USB stick pulled) is not listed: its rows stay, unreadable, till it is back."""
        if self._listing is not None or self.io.is_stopped:
            return  # still being listed for the first time (the strip takes that listing as it comes), or closed
        if self._relisting is not None:
            self._relist_again = True
            return
        self._relist_again = False
        task: Task | None = None

        def listed(photos: list[Path] | None) -> None:
            if task is not self._relisting:
                return
            self._relisting = None
            if photos is not None and self.photo_list.folder == folder:
                self.photo_list.relist(photos)
            if self._relist_again:
                self._relist(folder)

        def failed(_message: str) -> None:
            if task is self._relisting:
                self._relisting = None

        task = self._relisting = self.io.start(
            lambda job: list(each_scene_file([folder], job.cancelled)) if folder.is_dir() else None,
            done=listed, failed=failed)

    def _photos_found(self, part: Listed) -> None:
        """Part of the listing: the first photo is opened at once; once one opened, the strip takes the rest."""
        self._listed, photos = part, part.photos
        before = len(self._found)
        self._found.extend(photos)
        self.listing_status.found(len(self._found))
        if self._strip_follows:
            self.photo_list.add_photos(photos)
            if before == 1 and self.photo_list.listed() > 1:
                self.photo_dock.show()
        if before == 0:
            self._candidates = self._found  # the same list: photos found later are candidates too
            self.open_photo(photos[0])
        elif self._tried_all is not None:  # every photo found before failed to open
            self._tried_all = None
            self.open_photo(photos[0])

    def _listing_ended(self, asked: list[Path], error: str | None = None, stopped: bool = False,
                       left_out: list[Path] | None = None) -> None:
        """``left_out``: files among those dropped or chosen that are no photos; said, where others opened: of three
        files dropped, two opened and the third was skipped without a word."""
        self._listing = None
        self.listing_status.hide()
        if error is not None:
            self.show_message(error, "error", page=PHOTO_TAB)
        elif not self._found and not stopped:
            self.show_message(
                "No photos in " + ", ".join(p.name for p in asked) + f" (DecorLens reads {READABLE}).",
                "error",
                page=PHOTO_TAB,
            )
        elif left_out:
            names = ", ".join(p.name for p in left_out)
            # the window's, not the photo's: the photo opening as the listing ends would dismiss it; kept: the
            # photo's "Restored your edits…" replaced it at once. It goes once a photo other than the drop's opens.
            text = f"Left out {names}: not a photo DecorLens reads ({READABLE})."
            self._left_out = (in_app(text), bool(self._candidates))
            self.show_message(text, "info", kept=True)
        if self._tried_all is not None:  # nothing more to try: said as for a listing that ended first
            self._open_failed(*self._tried_all)

    def _let_go_of_left_out(self) -> None:
        """A photo opened: the drop's "Left out …" stays over its own photo opening (still to come when the listing
        ended, or opened before), and goes once another opens."""
        if self._left_out is None:
            return
        text, own_photo_to_come = self._left_out
        if own_photo_to_come:
            self._left_out = (text, False)
        else:
            self._left_out = None
            self.message.let_go(text)

    def open_photo(self, path: Path) -> None:
        """Start opening ``path``; the window changes only once it decoded (``_photo_opened``)."""
        self.look_outside()  # before its search: models another DecorLens activated meanwhile
        self._embed_if_unembedded()
        self.controller.open(path)

    def look_outside(self) -> None:
        """Catch up with another DecorLens on this data dir (a CLI import or removal, ``models activate``):
        on returning to the window or a tab, and before a photo is searched. The window kept the catalog
        tab's list and count, the open photo's products and the models it started with (``config.yaml``
        and the Settings dialog named the new embedder, the status bar and every search the old one)."""
        if self._in_settings:
            return
        try:
            choice = self._engine_settings()
        except DecorLensError as exc:  # a config.yaml edited by hand: said as a new pipeline would say it
            self.show_message(str(exc), "error")
            return
        if choice != self._choice:
            self.show_message("Another DecorLens changed the models of this data dir (config.yaml): "
                              "searches now use them.", "info")
            self.apply_settings(self._choice)
        pipeline = self.pipeline
        self.io.start(lambda _job: (pipeline, pipeline.catalog.revision), done=self._catalog_revision,
                      failed=lambda _m: None)  # an unreadable catalog is reported by the catalog tab's listing

    def _catalog_revision(self, seen: tuple[Pipeline, int]) -> None:
        pipeline, revision = seen
        if pipeline is not self.pipeline:
            return
        if self._revision is not None and revision != self._revision:
            self.catalog.refresh()  # catalogChanged: the count, the map, the open photo's products follow
        self._revision = revision

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.look_outside()

    def _photo_opened(self, path: Path) -> None:
        if self._kept_tag is not None and self._kept_tag[0] != path:
            self._kept_tag = None  # another photo: the tag opened from a list is one of its photo's like any other
        if path in self._candidates:
            self.photo_list.show_photos(self._found, self._listed.loose, self._listed.folder)
            self.photo_dock.setVisible(self.photo_list.listed() > 1)
            self._strip_follows = self._listing is not None
        self._candidates = []
        self.settings.add_recent(path)
        self.setWindowTitle(f"{caption(path)} — DecorLens")
        self.tabs.setCurrentIndex(PHOTO_TAB)
        self.panel.clear()
        self.view.clear()
        focus = QApplication.focusWidget()
        if focus is None or not self.photo_dock.isAncestorOf(focus):  # stepping through the strip, it stays there
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)  # the first Tab goes to the first tag, not the view
        self._photo_news = None  # the last photo's
        self._let_go_of_left_out()
        if self.message.page == PHOTO_TAB:
            self.message.dismiss()  # the last photo's news or error; another tab's or the window's stays
        self.photo_list.select(path)

    def _open_failed(self, path: Path, message: str) -> None:
        """Nothing the user had changes; a folder being opened tries its next photo (one photo dropped or
        chosen is named as itself, not as the last of "none of the photos")."""
        self.photo_list.mark_failed(str(path), "could not be opened")
        if path in self._candidates:
            rest = self._candidates[self._candidates.index(path) + 1 :]
            if rest:
                self.open_photo(rest[0])
                return
            if self._listing is not None:  # the next photo found is tried
                self._tried_all = (path, message)
                return
            self._tried_all, self._candidates = None, []
            if len(self._found) > 1:
                self.show_message(f"None of the photos could be opened; the last said: {message}", "error",
                                  page=PHOTO_TAB)
                return
        reason = message.removeprefix(f"{path}: ")  # the engine's line names the file too
        self.show_message(f"{path.name} could not be opened: {reason}", "error", page=PHOTO_TAB)
        self.photo_list.select(self.controller.path)

    def _fill_recent(self) -> None:
        """The recent photos; those whose file is gone are marked "not found" once a worker looked (a photo on a
        network share or a sleeping disk can take seconds to answer: the menu shows at once, never waiting on it)."""
        self.recent.clear()
        entries = self.settings.recent
        for entry in entries:
            action = self.recent.addAction(entry)
            action.setData(entry)
            action.triggered.connect(lambda _c=False, p=entry: self._open_recent(p))
        if entries:
            self.io.start(lambda _job: {entry for entry in entries if not Path(entry).is_file()},
                          done=lambda gone: self._mark_recent_gone(entries, gone), failed=lambda _m: None)
            self.recent.addSeparator()
            self.recent.addAction("Clear Menu").triggered.connect(self.settings.clear_recent)
        else:
            self.recent.addAction("No recent photos").setEnabled(False)

    def _mark_recent_gone(self, entries: list[str], gone: set[str]) -> None:
        """Open Recent's entries in ``gone`` say their photo is not found (chosen, they are taken off), while the
        menu still lists ``entries``."""
        actions = self.recent.actions()[:len(entries)]
        if [action.data() for action in actions] != entries:
            return  # the menu was filled again meanwhile
        for action in actions:
            if action.data() in gone:
                action.setText(f"{action.data()}{RECENT_GONE}")

    def _open_recent(self, entry: str) -> None:
        """Open a recent photo; one moved or deleted is taken off the menu, said so (looked at in a worker). Another
        photo asked for meanwhile (dropped, a strip's row) wins: the recent one opened over it."""
        path, asked = Path(entry), self._opens_asked()
        self.io.start(lambda _job: path.is_file(),
                      done=lambda here: asked == self._opens_asked() and self._open_recent_found(path, here),
                      failed=lambda _m: asked == self._opens_asked() and self.open_paths([path]))

    def _opens_asked(self) -> tuple[int, int]:
        """What changes as another photo is asked for: an open, or ``open_paths`` (a drop: its photo opens once its
        listing found it), which lists the saved edits once each time."""
        return self.controller.opens, self._saved_listings

    def _open_recent_found(self, path: Path, here: bool) -> None:
        if here:
            self.open_paths([path])
            return
        self.settings.remove_recent(path)
        self.show_message(f"{path.name} is no longer in {path.parent} (moved or deleted): taken off Open Recent.",
                          "error", page=PHOTO_TAB)

    def paste(self) -> None:
        """A copied file opens as it is; a copied picture is kept in the data dir first."""
        if not self.open_dropped(QGuiApplication.clipboard().mimeData()):
            self.show_message("The clipboard holds no picture or photo file.", "info", page=PHOTO_TAB)

    def open_dropped(self, mime: QMimeData) -> bool:
        """Open what was dropped or pasted: files and folders as they are (or their paths copied as text), a
        picture (dragged from a browser or an image editor) kept in the data dir first; a web address is not
        fetched (DecorLens works offline), which is said, not passed over in silence. Returns whether there was
        anything of the sort."""
        if paths := dropped_paths(mime) or copied_paths(mime):
            self.open_paths(paths)
        elif mime.hasImage():
            image, data_dir = QImage(mime.imageData()), self.pipeline.data_dir
            self.io.start(
                lambda _job: save_pasted(data_dir, _png(image)),
                done=lambda p: self.open_paths([p]),
                failed=lambda m: self.show_message(m, "error", page=PHOTO_TAB),
            )
        elif web_addresses(mime):
            self.show_message(OFFLINE, "info", page=PHOTO_TAB)
        else:
            return False
        return True

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if dropped_paths(mime) or mime.hasImage() or web_addresses(mime):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.open_dropped(event.mimeData())
        event.acceptProposedAction()

    # -- the scene --------------------------------------------------------------------------------

    def _scene_changed(self) -> None:
        scene = self.controller.scene
        self.view.match_size(scene.result.width, scene.result.height)
        self.view.why_no_tags = "" if scene.visible else no_tags_reason(scene.result, removed=bool(scene.tags))
        self._show_tags()
        opening = self._opening()
        if opening is not None and opening in self.view.tags:
            self.view.activate(opening)
            self._pending_tag = None
        if not scene.visible:  # why, in the message bar (it fades) and in the panel (it stays)
            why = no_tags_message(scene.result, removed=bool(scene.tags))
            self._say_photo_news(why)
            self.panel.clear(f"{NO_TAGS}\n\n{why}")
        elif self.panel.number is not None and self.panel.number not in self.view.tags:
            self.panel.clear()

    def _tag_changed(self, number: int) -> None:
        self._show_tags()
        if self.panel.number == number:
            self.show_tag(number)

    def _show_tags(self) -> None:
        """The scene's pins as Settings ask (kinds shown, how many); says so when some are left out."""
        hidden, limit = self.settings.hidden_categories, self.settings.max_tags
        shown = [t for t in self.controller.scene.visible if t.obj.category not in hidden]
        kept = self._kept_tag
        self.view.set_tags(shown, limit, {kept[1]} if kept and kept[0] == self.controller.path else set())
        self.status_line.show_tag_count(len(self.view.tags), len(shown))

    def _opening(self) -> int | None:
        """The tag a review row asked for, once its photo is the one shown."""
        pending = self._pending_tag
        return pending[1] if pending and pending[0] == self.controller.path else None

    def show_tag(self, number: int) -> None:
        """Fill the panel for a tag: heading at once, matches as soon as they are known."""
        if self.controller.scene is None:
            return
        tag = self.controller.scene.tag(number)
        categories = self._category_map()
        self.panel.show_tag(
            tag,
            self.view.colours.colour(tag.obj.category),
            categories.categories if categories else [],
            categories.searched(tag.obj.category) if categories else (tag.obj.category,),
            self.controller.guesses(number),
        )
        self.panel.set_searching()
        self.controller.request_matches(number, self.panel.any_category)

    def _matches_ready(self, number: int, any_category: bool, matches: list) -> None:
        if self.panel.number == number and self.panel.any_category == any_category:
            self.panel.show_matches(matches)

    def _scope_changed(self, number: int, any_category: bool) -> None:
        self.panel.set_searching()
        self.controller.request_matches(number, any_category)

    def _explain(self, number: int, match) -> None:
        """Why this match?: the tag's and the product's heat maps, computed off the UI thread."""
        scene = self.controller.scene
        obj, pixels, pipeline = scene.tag(number).obj, self.controller.pixels, self.pipeline

        def ours() -> bool:  # another photo's tag, opened since, may have this number and this product
            return self.controller.scene is scene

        self.engine.start(
            lambda _job: explain_tag(pipeline.embedder, pixels, obj.box, pipeline.settings.padding,
                                     match.image_path, obj.parts).overlays(),
            done=lambda overlays: ours() and self.panel.show_explanation(number, match.sku, *overlays),
            failed=lambda message: ours() and self.panel.explanation_failed(number, match.sku, message),
        )

    def _change_category(self, number: int, category: str) -> None:
        self.panel.set_searching(f"Searching {pretty(category)}…")
        self.controller.change_category(number, category)

    def _remove_current(self) -> None:
        if self.view.current is not None:
            self.controller.remove(self.view.current)

    def _busy(self, text: str) -> None:
        self.view.set_busy(text)
        self.status_line.busy.setVisible(bool(text))

    # -- exports, batch, settings -----------------------------------------------------------------

    def export_json(self) -> None:
        if self._need_scene():
            path, _ = QFileDialog.getSaveFileName(
                self, "Export scene JSON", f"{self.controller.path.stem}.json", "JSON (*.json)"
            )
            if path:
                self.controller.export_json(
                    Path(path), lambda _r: self.show_message(f"Saved {path}.", "done", page=PHOTO_TAB)
                )

    def export_page(self) -> None:
        """The page's title and folder (``PageExportDialog``, both remembered), then the page as the window shows
        the photo."""
        if self._need_scene():
            chosen = PageExportDialog.ask(self.settings.store, self.controller.path, self)
            if chosen is not None:
                shown, found = len(self.view.tags), len(self.controller.scene.visible)
                which = f", with the {shown} of {found} tags shown" if shown < found else ""
                self.controller.export_page(chosen.folder, lambda saved: self._page_saved(saved, which),
                                            set(self.view.tags), chosen.title)

    def _page_saved(self, saved: ScenePage, which: str) -> None:
        """Say where the page went ("info" when not all is as the merchandiser confirmed), with Open Page: a path
        in the message bar was all there was, to be found again in a file manager to look at the page."""
        self._saved_page = saved.path
        self.show_message(f"Saved {saved.summary()}{which}.", "info" if saved.gone else "done", OPEN_PAGE_ACTION,
                          page=PHOTO_TAB)

    def _need_scene(self) -> bool:
        if self.controller.scene is None:
            self.show_message("Open a photo and wait for its tags first.", "info", page=PHOTO_TAB)
        return self.controller.scene is not None

    def batch(self) -> None:
        """Batch Tag Folder…, its Photos the folder the strip lists (the one being looked through), if one is. One at a
        time: Ctrl+B (or the toolbar's Batch) while one was open opened a second one, whose Start ran a second batch
        into the same folder beside the first; the open one comes to the front instead."""
        for open_one in (d for d in self.findChildren(BatchDialog) if d.isVisible()):  # not one closed, to be deleted
            open_one.raise_()
            open_one.activateWindow()
            return
        dialog = BatchDialog(self.pipeline, self.engine, self.settings.top_k, self, self.photo_list.folder,
                             self.settings.store)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # each photo's tag mark as the batch finishes it: a folder of 300 photos showed no progress on the strip
        dialog.photoTagged.connect(self.photo_list.mark_tags)
        dialog.photoFailed.connect(lambda path, _why: self.photo_list.mark_failed(path, "could not be tagged"))
        dialog.finished_batch.connect(self._batch_finished)
        dialog.show()

    def _batch_finished(self, _report: BatchReport | str) -> None:
        """The Photos strip's tag marks after a batch (each photo's was set as it was done): the memory read again, for
        a photo tagged but not remembered (a locked catalog) to show what the memory holds."""
        self._list_tags()

    def open_settings(self) -> None:
        before = self._choice  # config.yaml may have changed since (models activate): OK reloads then
        data_dir = self.pipeline.data_dir
        dialog = SettingsDialog(self.settings, self._categories(), data_dir, self.models_dir, self)
        self._in_settings = True  # its own save of config.yaml is no other DecorLens's (look_outside)
        try:
            accepted = dialog.exec()
        finally:
            self._in_settings = False
        if accepted:
            self.apply_settings(before)
        dialog.deleteLater()

    def apply_settings(self, before: EngineChoice) -> None:
        """After Settings: a new pipeline only when models, device or threshold changed (models reload);
        a new embedder also gets the catalog embedded for it."""
        after = self._engine_settings()
        unsearched = self._unsearched_photo()  # before the reload: engine_info is still the missing models'
        if after != before:
            self.reload_pipeline()
        if after.embedder != before.embedder:
            self.embed_catalog(before)  # the open photo is searched again once it is done
        elif after.detectors != before.detectors:
            self._tag_again()
        if self.controller.scene is not None:
            self._scene_changed()
        elif unsearched is not None and after != before:  # it stayed untagged under "model … not found"
            if (self.message.level, self.message.page) == ("error", PHOTO_TAB):  # its error: said again if it fails
                self.message.dismiss()
            self.open_photo(unsearched)

    def _unsearched_photo(self) -> Path | None:
        """The open photo, when its search failed for want of models (opened while they were missing): searched again
        once Settings choose others."""
        missing = self.engine_info is not None and bool(self.engine_info.missing or self.engine_info.device_error)
        return self.controller.path if missing and self.controller.scene is None else None

    def _engine_choice(self) -> EngineChoice | None:
        """``_engine_settings``, or None while ``config.yaml`` cannot be read (``look_outside`` says why)."""
        try:
            return self._engine_settings()
        except DecorLensError:
            return None

    def _config(self) -> Settings | None:
        """The data dir's config.yaml settings, None while it cannot be read (``look_outside`` says why)."""
        try:
            return Settings.for_data_dir(self.pipeline.data_dir)
        except DecorLensError:
            return None

    def _engine_settings(self) -> EngineChoice:
        s = self.settings.engine_settings(self.pipeline.data_dir, self.models_dir)
        return EngineChoice(s.models_dir, s.device, s.exact_threshold, s.detectors, s.embedder)

    def embed_catalog(self, before: EngineChoice | None = None) -> None:
        """Embed the catalog for a new embedder now, in a worker, its progress and Cancel in the status bar.

        Searches would do it on first use, but silently, behind "Finding furniture and decor…"; a
        search started meanwhile waits for this one instead of embedding twice, and says so. The open photo is
        searched again once it is done, not meanwhile. Quitting cancels it (the catalog stays as it was, the chosen
        embedder too, and the next search picks up).

        ``before``: the choice whose embedder Cancel puts back (``cancel_embedding``). Choosing yet another
        embedder cancels the embedding for the one before: it held the catalog's write lock to the end (92 s for
        1,955 products here), the chosen one's waiting behind it, and then said "Catalog ready"; its reports after
        that are dropped, and Cancel still goes back to the embedder of the first, the one the catalog has. A photo
        search waiting for that one is started again, to wait for this one: it embedded the catalog for the embedder
        given up once its embedding stopped, beside this one.
        """
        pipeline, status, replaced = self.pipeline, self.embedding_label, self._embedding
        chosen = self._embedder_label(pipeline.settings.embedder, pipeline.settings.models_dir)
        self.controller.wait_for_embedding(chosen)
        if replaced is not None:
            replaced.cancel()
            self.controller.search_anew()
        else:
            self._embedding_from = before
        status.setText(f"Embedding the catalog for {chosen}…")
        self.embedding_status.show()
        task: Task | None = None

        def ours(slot: Callable[..., None]) -> Callable[..., None]:
            return lambda *args: task is self._embedding and slot(*args)

        task = self._embedding = self.engine.start(
            lambda job: pipeline.prepare_matcher(progress=job.progress, cancelled=job.cancelled),
            done=ours(self._catalog_embedded),
            failed=ours(self._embedding_failed),
            cancelled=ours(lambda _m: self._embedding_ended()),
            progress=ours(lambda n, total: status.setText(f"Embedding the catalog for {chosen}: {n:,} of {total:,}…")),
        )

    def _build_embedding_status(self) -> None:
        """"Embedding the catalog for …: 800 of 1,955" and Cancel in the status bar while it runs, as a folder's
        listing has Stop: it takes 37 s for 1,955 products here, and nothing let the user change their mind.
        Tab reaches Cancel (a tool button takes the keyboard's focus by Tab), Space presses it."""
        self.embedding_label = QLabel()
        self.embedding_cancel = QToolButton(text="Cancel")
        self.embedding_cancel.setToolTip("Stop embedding the catalog and keep the embedder used before")
        self.embedding_cancel.setAccessibleName("Cancel embedding the catalog")
        self.embedding_cancel.clicked.connect(self.cancel_embedding)
        self.embedding_status = QWidget()
        layout = QHBoxLayout(self.embedding_status)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.embedding_label)
        layout.addWidget(self.embedding_cancel)
        self.embedding_status.hide()
        self.status_line.insertPermanentWidget(0, self.embedding_status)

    def cancel_embedding(self) -> None:
        """Cancel: the embedding stops (the engine rolls its vectors back and deletes the backup it took first: the
        catalog, its indexes and its backups stay as they were) and the embedder before is put back, in
        config.yaml (where Settings saved the new one) and in the pipeline, so searches go on with the vectors the
        catalog has. A search of the photo started meanwhile (it waited for the embedding) starts again with that
        pipeline: it went on to embed the whole catalog itself for the embedder given up, 37 s that nothing stopped,
        and tagged the photo with it. A photo tagged before is searched again only if Settings changed its detectors
        too (the new embedder never searched it). With no embedder to put back (the embedding an edited photo's match
        asked for), the photo's work waiting for it stops too: it went on to embed the catalog itself, without
        progress or Cancel; Embed the Catalog starts it again."""
        task, before = self._embedding, self._embedding_from
        if task is None:
            return
        task.cancel()
        given_up = self._embedder_label(self.pipeline.settings.embedder, self.pipeline.settings.models_dir)
        if before is None or not before.embedder:  # not from Settings: nothing to put back
            self.controller.stop_waiting()
            self._embedding_ended()
            self.show_message(f"The catalog was not embedded for {given_up}, the embedder in use, so the photo was not "
                              "matched with it.", "info", EMBED_ACTION, page=PHOTO_TAB)
            return
        self._embedding_ended()
        try:
            save_choice(self.pipeline.data_dir, "embedder", list(before.embedder))
        except (DecorLensError, OSError) as exc:
            self.show_message(f"The embedder before could not be put back: {exc}", "error")
            return
        self.reload_pipeline()
        if not self.controller.search_anew() and (self._choice is None or self._choice.detectors != before.detectors):
            self._tag_again()
        kept = self._embedder_label(before.embedder, self.pipeline.settings.models_dir)
        self.show_message(f"Kept {kept}: the catalog was not embedded for {given_up}.", "info")

    def _embed_again(self) -> None:
        """Embed the Catalog, after Cancel stopped it and the photo's work waiting for it: a photo with tags is matched
        or searched again once it is done (``_catalog_embedded``), one whose first search stopped is opened again (its
        search waits for the embedding, saying so)."""
        self.embed_catalog()
        if self.controller.scene is None and self.controller.path is not None:
            self.open_photo(self.controller.path)

    def _embedder_label(self, choices: tuple[str, ...], models_dir: Path | None) -> str:
        """The embedder ``choices`` name, as Settings and the status bar name it; its file name if it cannot be
        read (the line still says which)."""
        try:
            return model_label(find_first(choices, models_dir, self.pipeline.data_dir))
        except DecorLensError:
            return choices[0] if choices else "the embedder"

    def _catalog_embedded(self, count: int) -> None:
        self._embedding_ended()
        if self.engine_info is not None:
            self.engine_info.unembedded = False
        text = f"Catalog ready for the new embedder ({counted(count, 'product')} embedded)." if count else ""
        self.statusBar().showMessage(text, 10_000)
        self._tag_again()

    def _embedding_failed(self, message: str) -> None:
        self._embedding_ended()
        self.show_message(message, "error")

    def _embedding_ended(self) -> None:
        self._embedding = self._embedding_from = None
        self.embedding_status.hide()
        self.controller.wait_for_embedding("")

    def _categories(self) -> list[str]:
        categories = self._category_map()
        return categories.categories if categories else []

    def _category_map(self) -> CategoryMap | None:
        """The category map (a small YAML, read once); a broken user copy is reported, not raised."""
        try:
            return self.pipeline.categories
        except DecorLensError as exc:
            self.show_message(str(exc), "error")
            return None

    def show_about(self) -> None:
        show_about(self, self._engine_settings().models_dir, self.pipeline.data_dir, self.show_guide)

    def show_guide(self) -> None:
        """Help ▸ User Guide: docs/app.md in a window; one line on the message bar where this install lacks it."""
        if problem := open_guide(self, self.settings):
            self.show_message(problem, "error")

    def toggle_menu_entry(self) -> None:
        """Help ▸ Add to / Remove from Applications Menu (Linux): this copy's desktop entry, for the menu, the dock's
        icon and a photo's Open With (``engine.desktop_entry``)."""
        try:
            if desktop_entry.installed_here():
                desktop_entry.remove()
                text = "DecorLens is no longer in the applications menu."
            else:
                desktop_entry.install()
                text = "DecorLens is in the applications menu now, and under Open With for photos."
        except DecorLensError as exc:
            self.show_message(str(exc), "error")
            return
        self.welcome.offer_menu_entry(False)
        self.show_message(text, "done")

    def check_installation(self) -> None:
        """Help ▸ Check Installation…: the self-check in a window, in a worker."""
        open_install_check(self.pipeline, self, self.settings)

    def show_training(self) -> None:
        """The Train window, imported when first opened: the app starts as fast without training code."""
        if self.train_window is None:
            from app.dialogs.train import TrainWindow

            self.train_window = TrainWindow(self.pipeline, self)
            remember(self.train_window, self.settings, "train")
            self.train_window.activated.connect(self.use_models)
        self.train_window.show()
        self.train_window.raise_()
        self.train_window.activateWindow()

    def show_review(self) -> None:
        """The review queue (imported when first opened); a row opens its photo on that tag."""
        if self.review_window is None:
            from app.dialogs.review_queue import ReviewWindow

            # no parent: a window owned by this one is kept above it (by the window manager; on Windows, always), so
            # the photo a row opened came up behind the queue's 1400 px; it closes and goes with this one instead
            self.review_window = ReviewWindow(self.pipeline, listed=lambda: list(self.photo_list.photos))
            remember(self.review_window, self.settings, "review")
            self.destroyed.connect(self.review_window.deleteLater)
            self.review_window.openTag.connect(self._open_tag)
        else:
            self.review_window.pipeline = self.pipeline
            self.review_window.refresh()
        self.review_window.show()
        self.review_window.raise_()
        self.review_window.activateWindow()  # opened again: raised, but keys still went to the window behind

    def show_backups(self) -> None:
        """The catalog's backups (imported when first opened), listed anew each time; a restore refreshes the
        window as an import does."""
        if self.backups_window is None:
            from app.dialogs.backups import BackupsWindow

            self.backups_window = BackupsWindow(self.pipeline, self)
            remember(self.backups_window, self.settings, "backups")
            self.backups_window.restored.connect(self._catalog_restored)
            self.catalog.catalogChanged.connect(self._backups_follow)  # a removal takes a backup: listed at once
        else:
            self.backups_window.refresh()
        self.backups_window.show()
        self.backups_window.raise_()
        self.backups_window.activateWindow()

    def _backups_follow(self, _products: int) -> None:
        if self.backups_window.isVisible():
            self.backups_window.refresh()

    def _catalog_restored(self, restored: Restored) -> None:
        """After a restore: the Catalog tab, the status line's count, the map and the open photo's products follow
        (``catalogChanged``); a catalog that was damaged was unreadable to the engine's description too, which is
        taken again (the status line, the empty catalog's page, the error shown)."""
        if restored.aside is not None:
            self.warm_up()
        self.catalog.refresh()
        self.show_message(restored.summary(), "done")

    def _bundle_tasks(self) -> Bundles:
        """The catalog bundles' export and import (imported when first used)."""
        if self.bundles is None:
            from app.dialogs.bundles import Bundles

            self.bundles = Bundles(self, lambda: self.pipeline)
            self.bundles.message.connect(self.show_message)
            self.bundles.imported.connect(self._bundle_imported)
        return self.bundles

    def _bundle_imported(self, summary: str, backed_up: bool) -> None:
        """After a bundle replaced the catalog: a fresh pipeline of the same settings, as the old one's caches (the
        category map, the categories sold, the type priors, by catalog revision) were the replaced catalog's. The
        Catalog tab, the status line, the map and the open photo's products follow (``set_pipeline``); the message
        offers the way back, as a removal's does."""
        self.set_pipeline(Pipeline(self.pipeline.settings, self.pipeline.log))
        self.show_message(summary, "done", RESTORE_ACTION if backed_up else "")

    def set_damaged_aside(self) -> None:
        """A damaged catalog with no backup to restore: kept beside, never deleted (``Pipeline.set_catalog_aside``),
        and a new, empty catalog opened in its place, for the products to be imported again."""
        pipeline = self.pipeline
        self.engine.start(lambda _job: pipeline.set_catalog_aside(), done=self._damaged_set_aside,
                          failed=lambda m: self.show_message(m, "error"))

    def _damaged_set_aside(self, aside: Path) -> None:
        from app.dialogs.backups import Restored  # the words of the Backups window's own Set It Aside

        self.warm_up()  # the empty catalog's page and status line, in place of the damaged one's error
        self.catalog.refresh()
        self.show_message(Restored(0, None, aside).summary(), "done")

    def _open_tag(self, path: Path, number: int) -> None:
        """The photo of a review row (or a Where used row) on that tag, in front of the review queue."""
        self._pending_tag = self._kept_tag = (Path(path), number)
        self.open_photo(path)
        self.raise_()
        self.activateWindow()

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard Shortcuts", shortcuts_html())  # as its menu item

    def show_catalog_search(self) -> None:
        """Ctrl+2: the Catalog tab with the keyboard in its search box, as a switch to the tab puts it there; pressed
        on the tab itself, it did nothing, and the search box was a Tab walk away."""
        self.tabs.setCurrentIndex(CATALOG_TAB)
        self.catalog.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.catalog.search.selectAll()  # typed over, as a browser's address bar

    def show_in_catalog(self, skus: list[str]) -> None:
        """The map's selection in the Catalog tab, where products are read in full, used and removed."""
        self.catalog.show_skus(skus)
        self.tabs.setCurrentIndex(CATALOG_TAB)

    def _to_catalog(self, choose: Callable[[], None]) -> None:
        """The first-start page's import: the Catalog tab, where its progress shows, once a feed or folder is chosen;
        a file dialog cancelled leaves the page where it was (it went to an empty Catalog tab all the same)."""
        choose()
        if self.catalog.importing is not None:
            self.tabs.setCurrentIndex(CATALOG_TAB)

    def show_message(self, text: str, level: str = "info", action: str = "", page: int | None = None,
                     kept: bool = False) -> None:
        """``page``: the tab the message is about (it hides on the others); None for the whole window (the
        models, the catalog's file, the category map), shown on every tab. ``kept``: news later news is said below
        rather than replacing it (``MessageBar``). A damaged catalog's message offers
        Restore a Backup… where the engine's words name the CLI's command; any other fix is named the app's way."""
        found = cli_restore_advice(text)  # the CLI's command, which retail staff never see: the button instead
        if found and not action:
            start, end, count = found
            text, action = f"{text[:start]}restore {_backups(count)} to carry on{text[end:]}", RESTORE_ACTION
        elif NO_BACKUP in text and not action:  # "move it aside" was the user's to do, in a folder they never see
            text = text.replace(NO_BACKUP, "it has no backups: set it aside, then import the products again")
            action = SET_ASIDE_ACTION
        self.message.show_message(in_app(text), level, action, page, kept)

    def _answer_message(self) -> None:
        """The message's button: Restore a Backup… for a damaged catalog, else the catalog's call to action (the
        empty catalog's "Open catalog")."""
        if self.message.button.text() == RESTORE_ACTION:
            self.show_backups()
        elif self.message.button.text() == SET_ASIDE_ACTION:
            self.set_damaged_aside()
        elif self.message.button.text() == EMBED_ACTION:
            self._embed_again()
        elif self.message.button.text() == OPEN_PAGE_ACTION:
            open_outside(QUrl.fromLocalFile(str(self._saved_page)), self)
        else:
            self.tabs.setCurrentIndex(CATALOG_TAB)

    def closeEvent(self, event) -> None:
        """Let running work stop cleanly (saves finish, imports roll back) before the window goes. That wait
        blocks the window (up to seconds, while a step finishes), so the message is painted first, under a
        busy cursor: a window that neither closes nor repaints looks hung. A run training asks first, and is stopped
        between steps before the app quits (``TrainWindow.may_quit``): quitting killed it mid-step."""
        if self.train_window is not None and not self.train_window.may_quit(self.close):
            event.ignore()
            return
        # the photo's memory too: a save still running at quit was cut off by the interpreter's exit (a crash on
        # quit, seen as a segfault after a full test run whose windows had just saved an edit); and the review
        # queue's and the Train window's own runners (a run's folder being written or removed, models installed)
        runners = [self.engine, self.io, self.saver, self.thumb_loader, self.controller.memory]
        runners += [window.io for window in (self.review_window, self.train_window, self.backups_window, self.bundles)
                    if window is not None]
        waiting = any(runner.busy() for runner in runners)
        if waiting:
            self.statusBar().showMessage("Finishing running work…")
            self.statusBar().repaint()
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            if self.train_window is not None:
                self.train_window.close()  # a running job stops between steps; Resume continues it
            for runner in runners:
                runner.shutdown()
            if self.review_window is not None:
                self.review_window.close()  # a window of its own: left open, the app would run on without this one
        finally:
            if waiting:
                QApplication.restoreOverrideCursor()
        save_open(self)  # this window's size and place, and those of its own windows still open
        self.splitters.save()
        self.settings.last_tab = TABS[self.tabs.currentIndex()]
        super().closeEvent(event)


def _backups(count: int | None) -> str:
    """The backups a damaged catalog's message names: "its backup", "one of its 3 backups", "a backup"."""
    if count is None:
        return "a backup"
    return "its backup" if count == 1 else f"one of its {count:,} backups"


def _png(image: QImage) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())
