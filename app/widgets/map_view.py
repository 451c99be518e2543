"""The Map tab: the catalog as the embedder sees it, and beside it, on demand, as another embedder sees it.

Products the model finds alike lie close together, each framed in its category's colour, so a
merchandiser sees at a glance which categories the model mixes up (``app.widgets.map_canvas`` draws
one map). *Compare with…* lists the other installed embedders; the one chosen gets its own map beside
the active embedder's, each titled with its embedder's name (``engine.catalog_map.map_titles``, as the
HTML page titles its maps). The two are linked by product: hovering a product on one rings it on the
other, and selecting on either selects the same products on both; one list beside them shows the
selection. *Close comparison* returns to one map.

Every map comes from a worker, one at a time: read from the cache at once when the catalog is
unchanged, else computed (about half a minute for 2,000 products on two cores) with progress and
Cancel; the window never waits. A compared embedder without vectors for the catalog is first embedded
by the pipeline's own ``prepare_matcher``, as switching embedders does. Without openTSNE (no ``[map]``
extra) a cached map still opens; without one, the status line says how to get one.
"""

from __future__ import annotations

import html
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.labels import dot_html, model_label, pretty, product_title, rich_tooltip, shown, shown_sku
from app.palette import category_colour
from app.thumbnails import Thumbnails
from app.widgets.map_canvas import MapCanvas, MapLayout, MapPoint, map_layout
from app.workers import Job, Runner, Task
from engine.catalog import Product
from engine.catalog_map import CatalogMap, catalog_map, check_can_compute, map_titles
from engine.errors import DecorLensError
from engine.models import ResolvedModel, available_models, find_first, model_names
from engine.pipeline import Pipeline
from engine.words import counted

HINT = ("Wheel or + −: zoom · right-drag: pan · drag: select several · double-click or 0: whole map · "
        "arrow keys: from product to product, Home / End: a row's ends (Ctrl: the map's), Page Up / Down: a page, "
        "Tab or a second click: the next at one spot, Space or Enter: select it")
EMPTY = "The catalog is empty: import products on the Catalog tab to see them on the map."
EMPTY_TIP = "The catalog has no products yet: import some on the Catalog tab"
REFRESH_TIP = "Read the map again (computed anew only when the catalog or embedder changed)"
COMPARE_TIP = "Show another installed embedder's map beside this one"
CANCELLING = "Cancelling… the map stops at its next step."
# Products named in the selection list; the rest are counted. A rubber band over a big map selects
# thousands, and the list was rebuilt whole on every move of the mouse (18,000 items: about 0.3 s each).
LISTED_AT_MOST = 500


@dataclass
class Loaded:
    """What the worker hands back: the map and its products (names and categories as they are now)."""

    result: CatalogMap
    products: dict[int, Product]
    seconds: float
    layout: MapLayout | None = None  # the products as the canvas keeps them, made in the worker
    pipeline: Pipeline | None = None  # the compared embedder's pipeline, kept for the next refresh
    base: Pipeline | None = None  # the pipeline it was made from (a newer one makes its own)
    names: str = ""  # the embedder's card name and file, the tooltip over its label (``model_names``)


class MapPanel(QWidget):
    """One map under its title (the title shows while two maps are compared)."""

    def __init__(self, thumbnails: Thumbnails, name: str, spoken: str, parent: QWidget | None = None):
        """``name`` is the canvas's object name, ``spoken`` its accessible name (what a screen reader says)."""
        super().__init__(parent)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # a card name is a file's word, not markup
        self.title.setStyleSheet("font-weight:600;font-size:14px;padding:2px 4px;")
        self.canvas = MapCanvas(thumbnails)
        self.canvas.setObjectName(name)
        self.canvas.setAccessibleName(spoken)
        self.head = QHBoxLayout()
        self.head.addWidget(self.title, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.head)
        layout.addWidget(self.canvas, 1)
        self.title.hide()


class MapView(QWidget):
    """The Map tab: the active embedder's map, optionally a second embedder's beside it, and the selection."""

    selectionChanged = Signal(list)  # SKUs
    showInCatalog = Signal(list)  # SKUs: list these products in the Catalog tab
    message = Signal(str, str)  # text, level

    def __init__(self, pipeline: Pipeline, engine: Runner, thumbnails: Thumbnails, parent: QWidget | None = None):
        super().__init__(parent)
        self.pipeline = pipeline
        self.engine = engine
        self.thumbnails = thumbnails
        self.task: Task | None = None
        self.stale = True  # computed (or read) again the next time the tab is shown
        self.result: CatalogMap | None = None
        self.compare_model: ResolvedModel | None = None  # the embedder chosen to compare with
        self.compared: CatalogMap | None = None
        self._compare_pipeline: Pipeline | None = None
        self._running = ""  # "active" or "compared": which map the running worker makes
        # what the running worker does and what it counts ("" for a percentage), written by it before it reports
        self._phase: tuple[str, str] = ("", "")
        self._status = ""
        self._names = ""  # the shown map's embedder, card name and file (``model_names``): its tooltips' first line
        self._empty = False  # the catalog has no products: nothing to refresh or compare
        self._counts: Counter[str] = Counter()  # the map's products per category, as the legend lists them
        self._build()

    def _build(self) -> None:
        self.status = QLabel("The map is made when this tab is first shown.")
        self.status.setWordWrap(True)
        self.recompute = QPushButton("Refresh")
        self.recompute.setToolTip(REFRESH_TIP)
        self.recompute.clicked.connect(self.refresh)
        self.compare = QPushButton("Compare with…")
        self.compare.setToolTip(COMPARE_TIP)
        self.compare_menu = QMenu(self.compare)
        self.compare_menu.setToolTipsVisible(True)  # each embedder's file, under its label
        self.compare_menu.aboutToShow.connect(self._fill_compare_menu)
        self.compare.setMenu(self.compare_menu)
        self.progress = QProgressBar(textVisible=False)  # 6 px tall (the theme): a percentage would be cut
        self.progress.setAccessibleName("Drawing the map")  # a screen reader said "progress bar" alone
        self.cancel = QPushButton("Cancel")
        self.cancel.setAccessibleName("Cancel drawing the map")  # Tab reaches it first in the tab: "Cancel" of what
        self.cancel.clicked.connect(self.cancel_map)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.progress)
        top.addWidget(self.cancel)
        top.addWidget(self.compare)
        top.addWidget(self.recompute)
        self.main_panel = MapPanel(self.thumbnails, "catalogMap", "Catalog map")
        self.compare_panel = MapPanel(self.thumbnails, "comparedMap", "Compared map")
        self.close_compare = QPushButton("Close comparison")
        self.close_compare.clicked.connect(self.end_comparison)
        self.compare_panel.head.addWidget(self.close_compare)
        for panel in (self.main_panel, self.compare_panel):  # both maps start at the same height
            panel.title.setMinimumHeight(self.close_compare.sizeHint().height())
        self.compare_panel.hide()
        self.canvas, self.compare_canvas = self.main_panel.canvas, self.compare_panel.canvas
        for canvas in (self.canvas, self.compare_canvas):  # bound methods: disconnected when this tab goes
            canvas.hovered.connect(self._light_other)
            canvas.selectionChanged.connect(self._scene_selection)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)  # escaped category names plus our own dots
        self.chosen_label = QLabel()
        # wrapped: its one line of hint ("Click a product (or Space…") held the side at 500 px, and in a 1,000 px
        # window the map beside an empty list was squeezed to 290 px
        self.chosen_label.setWordWrap(True)
        self.chosen = QListWidget()
        self.chosen.setObjectName("mapSelection")
        self.chosen.setAccessibleName("Selected products")
        self.chosen.setToolTip("Double-click a product to show it in the Catalog tab")
        self.chosen.itemActivated.connect(self._show_one)
        self.in_catalog = QPushButton("Show in Catalog")
        self.in_catalog.setToolTip("List the selected products in the Catalog tab: their details, Where used, removal")
        self.in_catalog.clicked.connect(lambda: self.showInCatalog.emit(self._chosen_skus))
        self._chosen_skus: list[str] = []
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.legend)
        side_layout.addWidget(self.chosen_label)
        side_layout.addWidget(self.chosen, 1)
        side_layout.addWidget(self.in_catalog)
        self.maps = QSplitter()
        self.maps.addWidget(self.main_panel)
        self.maps.addWidget(self.compare_panel)
        self.split = split = QSplitter()  # its sizes remembered by the main window
        split.addWidget(self.maps)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setSizes([1000, 280])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self._set_busy(False)
        self._selection_changed(self.canvas)

    def _light_other(self, point: MapPoint | None) -> None:
        """The product hovered on one map is ringed on the other."""
        other = self.compare_canvas if self.sender() is self.canvas else self.canvas
        other.light(point.product.sku if isinstance(point, MapPoint) else None)

    def _scene_selection(self) -> None:
        self._selection_changed(self.compare_canvas if self.sender() is self.compare_canvas else self.canvas)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.stale and self.task is None:
            self.refresh()

    def set_pipeline(self, pipeline: Pipeline) -> None:
        """Another pipeline (models or data dir changed): the compared embedder's is made again from it."""
        self.pipeline = pipeline
        if self._compare_pipeline is not None and self.task is None:
            self._compare_pipeline.close()
        self._compare_pipeline = None
        self.mark_stale()

    def mark_stale(self, *_args: object) -> None:
        """The catalog changed: read the maps again now if they are on screen, else when next shown."""
        self.stale = True
        if self.isVisible() and self.task is None:
            self.refresh()

    # -- the active embedder's map --------------------------------------------------------------

    def refresh(self) -> None:
        """Load or compute the map of the active embedder in a worker (then the compared one's, if any)."""
        if self.task is not None:
            return
        self.stale = False
        pipeline = self.pipeline

        def work(job: Job) -> Loaded | None:
            return self._map_of(pipeline, job) if pipeline.catalog.count() else None

        self._start("active", work, "Reading the catalog map…", self._loaded)

    def _loaded(self, loaded: Loaded | None) -> None:
        """``None``: the catalog is empty, a state of a fresh install to explain, not an error to report."""
        self.task = None
        self._empty = loaded is None
        if loaded is None:
            self._show_empty()
            return
        self.result = loaded.result
        self.canvas.show_map(loaded.result, loaded.products, loaded.layout)
        self._counts = Counter(p.category for p in loaded.products.values())
        self._write_legend()
        self._status = f"{counted(len(self.canvas.points), 'product')} by {shown(loaded.result.title)} ({_how(loaded)})."
        self._set_busy(False, f"{self._status} {HINT}")
        self._names = loaded.names
        self.status.setToolTip(rich_tooltip(loaded.names))  # a card's name is a file's text, as Qt would read HTML
        if self.stale and self.isVisible():  # the catalog changed while this map was being made
            self.refresh()
        elif self.compare_model is not None:
            self._load_compared()
        else:
            self._selection_changed(self.canvas)

    def _show_empty(self) -> None:
        """No products, so no map: an old one (every product removed) and any comparison go too."""
        if self.compare_model is not None:
            self.end_comparison()
        self.result = None
        self.canvas.clear()
        self._counts = Counter()
        self.legend.clear()
        self._selection_changed(self.canvas)
        self._set_busy(False, EMPTY)
        if self.stale and self.isVisible():  # an import finished while the catalog was being counted
            self.refresh()

    # -- the compared embedder's map ------------------------------------------------------------

    def compare_with(self, model: ResolvedModel) -> None:
        """Show ``model``'s map beside the active one: embedded and mapped in a worker when needed."""
        if self.task is not None:
            return
        self.compare_model, self._compare_pipeline = model, None
        if self.result is None:
            self.refresh()  # the active map first; the compared one follows
        else:
            self._load_compared()

    def end_comparison(self) -> None:
        """One map again (a compared map still being made is cancelled)."""
        making = self.task is not None and self._running == "compared"
        if making:
            self.task.cancel()
        self.compare_model, self.compared = None, None
        if self._compare_pipeline is not None and not making:  # the worker may still read its catalog
            self._compare_pipeline.close()
        self._compare_pipeline = None
        self.compare_canvas.clear()
        self.canvas.light(None)
        self.compare_panel.hide()
        self.main_panel.title.hide()
        if self.result is not None and self.task is None:
            self._set_busy(False, f"{self._status} {HINT}")
        self._selection_changed(self.canvas)

    def _load_compared(self) -> None:
        model, base, other = self.compare_model, self.pipeline, self._compare_pipeline
        assert model is not None

        def work(job: Job) -> Loaded:
            compared = other or base.with_embedder(model.path)
            if compared is base:
                raise DecorLensError(f"{model_label(model)} is the active embedder: choose another to compare with")
            loaded = self._map_of(compared, job)
            loaded.pipeline, loaded.base = compared, base
            return loaded

        self._start("compared", work, f"Reading {model_label(model)}'s map…", self._loaded_compared)

    def _loaded_compared(self, loaded: Loaded) -> None:
        self.task = None
        if self.compare_model is None:  # closed while it was being made
            if loaded.pipeline is not None:
                loaded.pipeline.close()
            return
        self._compare_pipeline = loaded.pipeline if loaded.base is self.pipeline else None
        self.compared = loaded.result
        assert self.result is not None
        titles = map_titles([self.result, loaded.result])
        tips = (self._names, loaded.names)
        for panel, title, result, names in zip((self.main_panel, self.compare_panel), titles,
                                               (self.result, loaded.result), tips):
            panel.title.setText(shown(title))
            panel.title.setToolTip(rich_tooltip(f"{names}\n{result.embedder}"))
            panel.title.show()
        if not self.compare_panel.isVisible():
            self.compare_panel.show()
            half = sum(self.maps.sizes()) // 2
            self.maps.setSizes([half, half])
        self.compare_canvas.show_map(loaded.result, loaded.products, loaded.layout)
        self.compare_canvas.select(self.canvas.selected_skus())
        self._set_busy(False, f"{self._status} Beside it: {shown(loaded.result.title)} ({_how(loaded)}). {HINT}")
        self.status.setToolTip(rich_tooltip(f"{tips[0]}\nBeside it: {loaded.names}"))
        if self.stale and self.isVisible():
            self.refresh()

    def _fill_compare_menu(self) -> None:
        """The installed embedders other than the active one (listed when the menu opens: models come and go)."""
        self.compare_menu.clear()
        settings = self.pipeline.settings
        try:
            active = find_first(settings.embedder, settings.models_dir, self.pipeline.data_dir).path
        except DecorLensError:
            active = None
        others = [m for m in available_models(settings.models_dir, self.pipeline.data_dir)
                  if m.card.kind == "embedder" and m.path != active]
        for model in others:
            action = self.compare_menu.addAction(model_label(model))
            action.setToolTip(rich_tooltip(f"{model_names(model)}\n{model.path}"))
            action.triggered.connect(lambda _checked=False, m=model: self.compare_with(m))
        if not others:
            self.compare_menu.addAction("No other embedder installed").setEnabled(False)
        if self.compare_model is not None:
            self.compare_menu.addSeparator()
            self.compare_menu.addAction("Close comparison", self.end_comparison)

    # -- the worker -----------------------------------------------------------------------------

    def _map_of(self, pipeline: Pipeline, job: Job) -> Loaded:
        """In the worker: the catalog embedded for ``pipeline``'s embedder, then its map, then its products and
        their places as the canvas keeps them (a second of Python at a million products, off the window's thread)."""
        started = time.perf_counter()
        label = model_label(pipeline.embedder.model)
        if pipeline.catalog.missing_vectors(pipeline.embedder.key):  # no current map can exist: one is computed
            check_can_compute()
        self._phase = (f"Reading the products' photos with {label}:", "photos")
        pipeline.prepare_matcher(progress=job.progress, cancelled=job.cancelled)
        self._phase = (f"Reading the map of {label}…", "")

        def stage(words: str) -> None:
            self._phase = (f"Making the map of {label}: {words}…", "")

        result = catalog_map(pipeline.catalog, pipeline.embedder, pipeline.data_dir, job.progress, job.cancelled,
                             pipeline.log, stage)
        products = pipeline.catalog.get_many(int(pid) for pid in result.ids)
        alike = pipeline.alike_among(p.sku for p in products.values())
        return Loaded(result, products, time.perf_counter() - started, map_layout(result, products, alike),
                      names=model_names(pipeline.embedder.model))

    def _start(
        self, which: str, work: Callable[[Job], Loaded | None], text: str, done: Callable[..., None]
    ) -> None:
        self._running, self._phase = which, (text, "")
        self._set_busy(True, text)
        self.task = self.engine.start(work, done=done, failed=self._failed, progress=self._progress,
                                      cancelled=self._cancelled)

    def cancel_map(self) -> None:
        """Say at once that the cancel was taken: the engine stops only at its next step (its libraries'
        import, PCA, the neighbour search, or 10 t-SNE iterations): a second or two, longer on a busy
        machine."""
        if self.task is not None:
            self.task.cancel()
            self.cancel.setEnabled(False)
            self.status.setText(CANCELLING)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(CANCELLING if self.task is not None and self.task.is_cancelled() else
                            _doing(*self._phase, done, total))

    def _failed(self, text: str) -> None:
        self.task = None
        if self._running == "compared":  # the active map stays; the comparison ends
            name = model_label(self.compare_model) if self.compare_model is not None else "the other embedder"
            self.end_comparison()
            self._set_busy(False, f"No map of {name}: {text}")
        else:
            self.stale = True
            self._set_busy(False, f"No map: {text}")
        self.message.emit(text, "error")

    def _cancelled(self, _text: str) -> None:
        self.task = None
        if self._running == "compared":
            asked = self.compare_model is not None  # Cancel pressed, rather than the comparison closed
            self.end_comparison()
            self._set_busy(False, f"The comparison was cancelled. {self._status}" if asked else
                           f"{self._status} {HINT}")
            return
        self.stale = True
        self._set_busy(False, "The map was cancelled; Refresh computes it.")

    def _set_busy(self, busy: bool, text: str = "") -> None:
        if text:
            self.status.setText(text)
        self.progress.setVisible(busy)
        self.cancel.setVisible(busy)
        self.cancel.setEnabled(busy)
        for button, tip in ((self.recompute, REFRESH_TIP), (self.compare, COMPARE_TIP)):
            button.setEnabled(not busy and not self._empty)  # on with no products, they made an empty map again
            button.setToolTip(EMPTY_TIP if self._empty else tip)
        if busy:
            self.progress.setRange(0, 0)

    # -- selection ------------------------------------------------------------------------------

    def _selection_changed(self, source: MapCanvas) -> None:
        """One selection for both maps: the map it was made on decides, the other follows."""
        skus = source.selected_skus()
        other = self.compare_canvas if source is self.canvas else self.canvas
        other.select(skus)
        self.chosen.clear()
        for sku in skus[:LISTED_AT_MOST]:
            point = source.points[sku]
            product = point.product
            title = product_title(product.name, product.sku, product.category)
            item = QListWidgetItem(f"{title}\n{shown_sku(sku, point.alike)} · {pretty(product.category)}")
            item.setData(Qt.ItemDataRole.UserRole, sku)
            self.chosen.addItem(item)
        if len(skus) > LISTED_AT_MOST:
            more = QListWidgetItem(f"… and {len(skus) - LISTED_AT_MOST:,} more")
            more.setFlags(Qt.ItemFlag.NoItemFlags)
            self.chosen.addItem(more)
        self.chosen_label.setText(
            f"{len(skus):,} selected" if skus else "Click a product (or Space on the ringed one), or drag around several, to select them"
        )
        self._chosen_skus = skus
        self.in_catalog.setEnabled(bool(skus))
        self.selectionChanged.emit(skus)

    def _write_legend(self) -> None:
        self.legend.setText(_legend(self._counts, theme.colours().muted))

    def changeEvent(self, event: QEvent) -> None:
        """The theme changed: the legend's counts take its muted colour (the legend is HTML, which no stylesheet
        reaches). They were a fixed grey, 3.5:1 on the dark theme's window and 4.3:1 on the light one's."""
        if event.type() == QEvent.Type.PaletteChange and self._counts:
            self._write_legend()
        super().changeEvent(event)

    def _show_one(self, item: QListWidgetItem) -> None:
        sku = item.data(Qt.ItemDataRole.UserRole)
        if sku:  # not the "… and N more" line
            self.showInCatalog.emit([sku])


def _doing(phase: str, unit: str, done: int, total: int) -> str:
    """The status line while a map is made: what, and how far ("120 of 1,955 photos" or "40%")."""
    return f"{phase} {done:,} of {total:,} {unit}" if unit else f"{phase} {100 * done // max(total, 1)}%"


def _how(loaded: Loaded) -> str:
    """Where the map came from and, for a catalog above ``MAX_LAID_OUT``, that only a sample was laid out (a
    merchandiser reading 200,000 dots should know most were placed by look-alike, not by t-SNE)."""
    how = "from the cache" if loaded.result.cached else f"computed in {loaded.seconds:.0f} s"
    if loaded.result.sampled:
        how += (f"; {loaded.result.laid_out:,} of them, a sample of every category, laid out, the rest placed"
                " beside their nearest look-alikes")
    return how


def _legend(counts: Counter[str], muted: str) -> str:
    """Which colour is which category, most products first (category names are escaped: they come from feeds),
    the counts in the theme's ``muted`` colour."""
    return " &nbsp; ".join(
        f"<span style='white-space:nowrap'>{dot_html(category_colour(c))} {html.escape(pretty(c))} "
        f"<span style='color:{muted};'>{n}</span></span>"
        for c, n in counts.most_common()
    )

