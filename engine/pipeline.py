"""Scene → tags → matches, wired once.

A ``Pipeline`` loads its models on first use and keeps them, so the CLI, the GUI and evaluation all
call the same object: ``search_scene`` for a whole photo, ``search_region`` for a box the user drew,
``match`` for crops already cut. Nothing here imports torch or Qt.

Every box it takes or reports is in the photo's own (EXIF-upright) pixels, whatever size the photo was decoded at
(``engine.imageio`` decodes a photo past ``MAX_SIDE`` smaller): objects are found on the decoded pixels and their
result scaled to the photo's size (``SceneResult.scaled_to``); boxes given are brought to the decoded pixels
(``engine.crops.to_decoded``) before anything is cut.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from engine import compact_index
from engine.backups import KEEP, BackupRun, check_columns, prune, set_aside, take_backup
from engine.calibration import card_levels
from engine.catalog import Catalog, CatalogDamagedError, restore_damaged
from engine.categories import CategoryMap
from engine.colour import ColourHistogram
from engine.crops import crop as cut_crop
from engine.crops import crops as cut_crops
from engine.crops import to_decoded, to_photo
from engine.detect import Detector, DetectorSet, as_tags, seen_size
from engine.embed import Embedder
from engine.errors import Cancelled, DecorLensError
from engine.imageio import load_image, photo_size
from engine.importer import (
    ImportReport,
    Progress,
    backed_up_import,
    catalog_alike,
    embed_missing,
    import_rows,
    read_source,
    searched_categories,
)
from engine.index import CatalogIndex, ensure_nonempty
from engine.models import ResolvedModel, find_first
from engine.paths import CATALOG_FILE
from engine.paths import data_dir as resolve_data_dir
from engine.people import PeopleRegions, PoseModel, load_pose, without_people
from engine.query import QueryOptions, pool, views
from engine.rerank import Checked, LocalFeatures, RerankOptions, check, rerank_matches
from engine.results import Box, Detection, Match, MatchKind, SceneObject, SceneResult
from engine.settings import Settings
from engine.tags import place_tags
from engine.type_prior import TypePrior, reorder
from engine.words import counted

Log = Callable[[str], None]
T = TypeVar("T")
COLOUR = "colour"
EMBEDDER = "embedder"
DEFAULT_EXACT = 0.8
MAX_NAMED = 20  # products named one by one when they cannot be embedded
LOCK_POLL_S = 0.1  # how often work waiting for an import or an embedding asks whether it was cancelled


class locked_cached_property(Generic[T]):
    """``functools.cached_property`` computed under the owner's ``_parts_lock``: two GUI workers asking
    for the catalog or a model at once load it once (the stdlib one lost its lock in Python 3.12).

    A part already loaded is returned without the lock: an import or the catalog's embedding for a new embedder
    holds the pipeline (``_lock``) for minutes, and every worker that only read the catalog or a model waited
    for its end, the app's two engine workers among them (the window's model check after Settings, then each photo
    search queued behind it)."""

    def __init__(self, factory: Callable[[Pipeline], T]):
        self.factory = factory
        self.__doc__ = factory.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Pipeline | None, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        try:
            return obj.__dict__[self.name]
        except KeyError:  # not loaded yet, or closed (``close``) meanwhile
            pass
        with obj._parts_lock:
            if self.name not in obj.__dict__:
                obj.__dict__[self.name] = self.factory(obj)
            return obj.__dict__[self.name]


@dataclass(frozen=True)
class BoxQueries:
    """Boxes of one photo embedded for search (``Pipeline.embed_queries``): each box's looks (its own box,
    then its parts'), all looks in one flat list, and their vectors."""

    pixels: np.ndarray
    looks: list[list[Box]]
    flat: list[Box]
    vectors: np.ndarray
    matcher: Embedder | ColourHistogram


class Pipeline:
    """Models, catalog and indexes for one data dir; safe to call from worker threads."""

    def __init__(
        self, settings: Settings | None = None, log: Log = lambda _msg: None, categories: CategoryMap | None = None
    ):
        """``categories`` overrides the data dir's map (evaluation scores a copied catalog with the user's)."""
        self.settings = settings or Settings.defaults()
        self.log = log
        self.data_dir = resolve_data_dir(self.settings.data_dir)
        self._lock = threading.RLock()  # held by an import, an embedding, a removal: minutes
        self._parts_lock = threading.RLock()  # loading a model or opening the catalog; taken after ``_lock``, never before
        self._indexes: dict[str, CatalogIndex] = {}
        self._indexes_lock = threading.Lock()
        self._ready: dict[str, int] = {}  # matcher key → catalog revision known to be fully embedded
        self._sold: tuple[int, frozenset[str] | None] | None = None  # catalog revision → decor categories sold
        self._unfound: tuple[int, tuple[str, ...]] | None = None  # catalog revision → unfindable_categories
        self._type_priors: dict[str, tuple[int, TypePrior]] = {}  # embedder key → (catalog revision, prior)
        self._alike: tuple[int, frozenset[str]] | None = None  # catalog revision → catalog_alike (``alike_among``)
        if categories is not None:
            self.__dict__["categories"] = categories

    # -- lazily loaded parts ------------------------------------------------------------------

    @locked_cached_property
    def categories(self) -> CategoryMap:
        return CategoryMap.load(self.data_dir)

    @locked_cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.data_dir / CATALOG_FILE, log=self.log)

    @locked_cached_property
    def detector(self) -> DetectorSet:
        models = [self._find_first(choices) for choices in self.settings.detectors]
        return DetectorSet([
            Detector(m, self.categories, self.settings.device, self.settings.confidence) for m in models
        ])

    @locked_cached_property
    def pose(self) -> PoseModel | None:
        """The pose model that keeps tags off people (``people:`` setting; None when off or not installed)."""
        return load_pose(self.settings.people, self.settings.models_dir, self.data_dir, self.settings.device)

    @locked_cached_property
    def embedder(self) -> Embedder:
        model = self._find_first(self.settings.embedder)
        if model.card.calibration_problem:  # its card's thresholds label the matches: never unsaid
            self.log(model.card.calibration_problem)
        return Embedder(model, self.settings.device)

    @locked_cached_property
    def colour(self) -> ColourHistogram:
        return ColourHistogram()

    @locked_cached_property
    def local_features(self) -> LocalFeatures:
        """Product photos' local features, kept for the next re-rank (engine.rerank), described at the size the
        ``query: rerank: side`` setting names (it was checked, then never used)."""
        return LocalFeatures(self.query.rerank.side)

    def matcher(self, name: str = EMBEDDER) -> Embedder | ColourHistogram:
        if name == COLOUR:
            return self.colour
        if name == EMBEDDER:
            return self.embedder
        raise ValueError(f"unknown matcher {name!r} (use {EMBEDDER!r} or {COLOUR!r})")

    @property
    def device(self) -> str:
        return self.embedder.device

    @property
    def exact_threshold(self) -> float:
        return self.settings.exact_threshold or self._card_levels[0] or DEFAULT_EXACT

    @property
    def likely_threshold(self) -> float:
        """Uncalibrated cards have none: their matches are "exact" or "similar", as before calibration."""
        return self._card_levels[1]

    @property
    def _card_levels(self) -> tuple[float | None, float]:
        card = self.embedder.card
        return card_levels(card.exact_threshold, card.likely_threshold, card.metrics)

    def match_kind(self, score: float) -> MatchKind:
        """How sure a match of the active embedder is, in the calibrated words of its card."""
        if score >= self.exact_threshold:
            return "exact"
        return "likely" if score >= self.likely_threshold else "similar"

    def with_stock_embedder(self) -> Pipeline:
        """This data dir, detectors and settings with the shipped embedder, whichever one is active.

        Training picks its crops, and evaluation its "pretrained" baseline, with the shipped model,
        so neither depends on which fine-tuned embedder a user happens to have activated.
        """
        return self.with_embedder(self._find_first(Settings.defaults().embedder).path)

    def with_embedder(self, model: Path) -> Pipeline:
        """This pipeline when it already embeds with ``model``, else one like it (same data dir) that does."""
        if model == self._find_first(self.settings.embedder).path:
            return self
        return Pipeline(self.settings.with_(embedder=(str(model),)), self.log, self.categories)

    def with_query(self, query: QueryOptions) -> Pipeline:
        """This pipeline when it already queries with ``query``, else one like it that does (evaluation
        scores query levers side by side on one catalog)."""
        if query == self.query:
            return self
        return Pipeline(self.settings.with_(query=query), self.log, self.categories)

    def close(self) -> None:
        """Release the catalog (e.g. before a catalog bundle replaces it); parts reload on next use."""
        with self._lock, self._parts_lock:
            if "catalog" in self.__dict__:
                self.catalog.close()
                del self.__dict__["catalog"]
            self._indexes.clear()
            self._ready.clear()

    @contextmanager
    def catalog_released(self) -> Iterator[None]:
        """The catalog closed, and kept closed while the block runs (the app's bundle import replaces its file).

        ``close`` alone did not keep it closed: the app's next worker to ask for the catalog (the window's
        check for another DecorLens's changes, each time it is activated) opened it again at once, and the
        import then refused the catalog as in use. A worker asking for it meanwhile waits, then opens the new one.
        """
        with self._lock, self._parts_lock:
            self.close()
            yield

    # -- searching ----------------------------------------------------------------------------

    def search_scene(
        self, image: str | Path, top_k: int | None = None, any_category: bool = False, matcher: str = EMBEDDER,
        require_catalog: bool = True, decoded: np.ndarray | None = None, cancelled: Callable[[], bool] = lambda: False,
    ) -> SceneResult:
        """Detect every decor object in a photo, tag it and match it to the catalog.

        With ``require_catalog=False`` an empty catalog gives tags without matches instead of an
        error (the GUI shows the pins and asks for an import). ``decoded``: the photo's pixels as already
        read (``load_image``), searched instead of reading ``image`` again: the app's, so that what it shows
        is what is searched, even once the file has changed or gone. ``cancelled``: asked while the catalog is
        embedded for the matcher first (``prepare_matcher``), or while it waits for an embedding or an import already
        running (``_wait_unlocked``), which raises ``Cancelled``: a search the app gave up (another photo opened, the
        new embedder's Cancel) embedded the whole catalog to the end, 37 s of CPU.
        """
        self._wait_unlocked(cancelled)
        timings: dict[str, float] = {}
        pixels = self._timed(timings, "decode", lambda: load_image(image) if decoded is None else decoded)
        people = self._timed(timings, "people", lambda: self.people_in(pixels))
        detections, unsold = self._timed(timings, "detect", lambda: self.detect_seen(pixels, people=people))
        if not require_catalog and self.catalog.count() == 0:
            h, w = pixels.shape[:2]
            objects = [
                SceneObject(d.category, d.label, d.score, d.box, tag, [], d.source, parts=d.parts)
                for d, tag in zip(detections, place_tags(detections, (w, h), people=people))
            ]
            result = SceneResult(str(image), w, h, self.detector.device, {**timings, "embed": 0.0, "search": 0.0},
                                 objects)
        else:
            result = self._match_objects(str(image), pixels, detections, timings, top_k, any_category, matcher, people,
                                         cancelled)
        result.looked_for = self.looked_for()
        if result.looked_for is not None:
            result.unfound = self.unfindable_categories()
        result.unsold = unsold
        return result.scaled_to(*photo_size(pixels))

    def looked_for(self) -> tuple[str, ...] | None:
        """The decor categories a photo's tags are looked for in (``SceneResult.looked_for``): those the catalog
        sells that a detector in use finds, in the map's order; None: an empty catalog, every category. The app
        compares it with a photo's to tell whether a catalog change changed what the photo should show."""
        sold = self.sold_categories()
        if sold is None:
            return None
        finds = self.finds()
        return tuple(c for c in self.categories.categories if c in sold and c in finds)

    def detect(
        self, pixels: np.ndarray, conf: float | None = None, people: PeopleRegions | None = None
    ) -> list[Detection]:
        """The objects that become tags: detected, of a category the catalog sells, not people, a part and its
        whole one tag, rows grouped.

        With an empty catalog nothing is known to be sold, so every decor object is kept (the GUI
        shows the pins and asks for an import). Boxes are in the photo's own pixels, as every box this class takes
        and reports (``pixels`` may be it decoded smaller: ``engine.imageio.Decoded``).
        """
        return [replace(d, box=to_photo(pixels, d.box), parts=tuple(to_photo(pixels, p) for p in d.parts))
                for d in self.detect_seen(pixels, conf, people)[0]]

    def detect_seen(
        self, pixels: np.ndarray, conf: float | None = None, people: PeopleRegions | None = None
    ) -> tuple[list[Detection], dict[str, int]]:
        """``detect``'s tags, and how many objects of each decor category the catalog does not sell were seen
        (counted as they would be tagged). The detectors run once for both. Boxes are on ``pixels``, not yet in the
        photo's own pixels (``search_scene`` places tags on them first).

        A lamp shop's photo of a living room has no tag; without the count, every screen said "no decor
        found" of a room full of furniture, as if the detector had failed.
        """
        size = seen_size(pixels.shape[1], pixels.shape[0])
        kept, others = self.detector.detect_split(pixels, conf, self.sold_categories())
        tags = as_tags(without_people(kept, people), size, self.categories)
        unsold = Counter(d.category for d in as_tags(without_people(others, people), size, self.categories))
        return tags, {c: unsold[c] for c in self.categories.categories if unsold[c]}

    def people_in(self, pixels: np.ndarray) -> PeopleRegions | None:
        """Where people's bodies and faces are in a photo; None when the ``people:`` setting leaves it off."""
        return self.pose.regions(pixels) if self.pose is not None else None

    def finds(self) -> frozenset[str]:
        """The decor categories the detectors in use can report."""
        return frozenset().union(*(d.finds for d in self.detector.detectors))

    def unfindable_categories(self) -> tuple[str, ...]:
        """Catalog categories with products that no decor category the detectors find searches: never tagged, so
        only a drawn box or another detector finds them (the stock detectors find no rug: a rug shop's photos had
        no tag, said as "no rug found")."""
        revision = self.catalog.revision  # read once per revision: every search asks
        if self._unfound is None or self._unfound[0] != revision:
            found = {c for decor in self.finds() for c in self.categories.searched(decor)}
            self._unfound = (revision, tuple(sorted(set(self.catalog.category_counts()) - found)))
        return self._unfound[1]

    def sold_categories(self) -> frozenset[str] | None:
        """Decor categories that search at least one catalog category with products; None: empty catalog."""
        revision = self.catalog.revision
        if self._sold is None or self._sold[0] != revision:
            stocked = set(self.catalog.category_counts())
            searches = self.categories.searched
            sold = frozenset(c for c in self.categories.categories if stocked & set(searches(c))) if stocked else None
            self._sold = (revision, sold)
        return self._sold[1]

    def alike_among(self, skus: Iterable[str]) -> frozenset[str]:
        """Those of ``skus`` (the catalog's) that read as another of its SKUs (``Match.alike``): only one outside
        ASCII can, so nearly every catalog's ask nothing. The catalog's set (``catalog_alike``) is found once per
        catalog revision, a look-up after: asking the catalog each search scanned every SKU (0.3 s at a million)."""
        outside = frozenset(sku for sku in skus if not sku.isascii())
        if not outside:
            return outside
        revision = self.catalog.revision
        if self._alike is None or self._alike[0] != revision:
            self._alike = (revision, catalog_alike(self.catalog))
        return outside & self._alike[1]

    def search_region(
        self, image: str | Path, box: Box, category: str | None = None, top_k: int | None = None,
        any_category: bool = False, matcher: str = EMBEDDER, parts: Sequence[Box] = (),
        decoded: np.ndarray | None = None, cancelled: Callable[[], bool] = lambda: False,
    ) -> SceneResult:
        """Match one region (drawn by the user, or a tag searched again); without a category, search every
        category. ``parts``: the tag's (SceneObject.parts), searched with it as ``search_scene`` did;
        ``decoded`` and ``cancelled`` as there: the first search after a switch of embedder embeds the whole catalog."""
        self._wait_unlocked(cancelled)
        timings: dict[str, float] = {"detect": 0.0}
        pixels = self._timed(timings, "decode", lambda: load_image(image) if decoded is None else decoded)
        w, h = photo_size(pixels)
        x1, y1, x2, y2 = (float(v) for v in box)
        clipped = (max(0.0, min(x1, x2)), max(0.0, min(y1, y2)), min(float(w), max(x1, x2)), min(float(h), max(y1, y2)))
        if clipped[2] - clipped[0] < 2 or clipped[3] - clipped[1] < 2:
            raise ValueError(f"box {box} is empty or outside the {w}x{h} image")
        region = Detection(to_decoded(pixels, clipped), 1.0, "region", category or "", "user",
                           tuple(to_decoded(pixels, p) for p in parts))
        return self._match_objects(
            str(image), pixels, [region], timings, top_k, any_category or not category, matcher, cancelled=cancelled
        ).scaled_to(w, h)

    def match(
        self, crops: Sequence[np.ndarray], categories: Sequence[str | None], top_k: int | None = None,
        matcher: str = EMBEDDER,
    ) -> list[list[Match]]:
        """Top-k matches for each crop; ``None`` as its category searches the whole catalog."""
        chosen = self.matcher(matcher)
        vectors = chosen.embed(crops) if len(crops) else np.zeros((0, 1), np.float32)
        return self._search(vectors, categories, top_k or self.settings.top_k, chosen)

    def match_boxes(
        self, pixels: np.ndarray, boxes: Sequence[Box], categories: Sequence[str | None], top_k: int | None = None,
        matcher: str = EMBEDDER, parts: Sequence[Sequence[Box]] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> list[list[Match]]:
        """Top-k matches for each box of a photo, queried exactly as ``search_scene`` queries them: with
        ``parts`` (a detection's), each box's list holds the best of its own search and its parts'. The catalog
        is embedded for the matcher first where it lacks vectors (``cancelled`` as ``search_scene`` takes it): an
        edited photo matched again with an embedder the catalog had none for (its embedding cancelled by quitting)
        got an empty list for every tag."""
        self._wait_unlocked(cancelled)
        self._ensure_ready(self.matcher(matcher), matcher, cancelled)
        return self.search_queries(self.embed_queries(pixels, boxes, matcher, parts), categories, top_k)

    def embed_queries(
        self, pixels: np.ndarray, boxes: Sequence[Box], matcher: str = EMBEDDER,
        parts: Sequence[Sequence[Box]] | None = None,
    ) -> BoxQueries:
        """The first half of ``match_boxes``, apart so that one embedding serves several searches (an
        evaluation searches each box in its category and in the whole catalog)."""
        chosen = self.matcher(matcher)
        boxes = [to_decoded(pixels, b) for b in boxes]
        parts = [[to_decoded(pixels, p) for p in own] for own in parts or [()] * len(boxes)]
        looks, flat = _flat_looks(boxes, parts)
        return BoxQueries(pixels, looks, flat, self._query_vectors(pixels, flat, chosen), chosen)

    def search_queries(
        self, queries: BoxQueries, categories: Sequence[str | None], top_k: int | None = None
    ) -> list[list[Match]]:
        """The second half of ``match_boxes``: each box's top-k in ``categories`` (None: the whole catalog)."""
        q = queries
        searched = _per_look(categories, q.looks)
        k = top_k or self.settings.top_k
        return self._search_objects(q.pixels, q.looks, q.flat, q.vectors, searched, k, q.matcher)

    def check_object(
        self, pixels: np.ndarray, box: Box, category: str | None, parts: Sequence[Box] = (),
        top_k: int | None = None, options: RerankOptions | None = None, cancelled: Callable[[], bool] = lambda: False,
    ) -> list[Checked]:
        """One object's matches checked by local features: the first ``max(top_k, options.top)`` of its search
        (box and ``parts``, as ``search_scene`` searches them), each with the points its photo shares with
        those crops, verified ones first, cut to ``top_k``. ``category`` None searches the whole catalog.

        Slower than a search (engine.rerank, docs/results.md): meant for the one tag a user asks about, in a
        worker. ``options`` default to the settings' re-rank, else its top 20. ``cancelled`` as ``search_scene``
        takes it.
        """
        self._wait_unlocked(cancelled)
        options = options or (self.query.rerank if self.query.rerank.on else RerankOptions(top=20))
        chosen = self.embedder
        self._ensure_ready(chosen, EMBEDDER, cancelled)
        looks, flat = _flat_looks([to_decoded(pixels, box)], [[to_decoded(pixels, p) for p in parts]])
        searched = _per_look([category], looks)
        vectors = self._query_vectors(pixels, flat, chosen)
        depth = max(top_k or self.settings.top_k, options.top)
        found = _fused(self._search(vectors, searched, depth, chosen), looks, depth, by_rank=self.query.types.on)[0]
        crops = [cut_crop(pixels, b, self.settings.padding) for b in flat]
        return check(crops, found, options, self.local_features)[: top_k or self.settings.top_k]

    # -- catalog ------------------------------------------------------------------------------

    def import_catalog(
        self, source: str | Path, progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False
    ) -> ImportReport:
        """Import a folder or CSV (the catalog backed up first where it changes products it held:
        ``backed_up_import``), embed new and changed images, and bring the index up to date."""
        rows, renamed = searched_categories(read_source(Path(source)), self.categories)
        with self._lock, self.saved_if_interrupted():
            report = backed_up_import(self.catalog, Path(source).name, lambda: import_rows(
                self.catalog, rows, self.embedder, self.data_dir / "images", progress, cancelled
            ))
            self.index_for(self.embedder).sync(self.catalog)
        report.renamed = renamed
        return report

    @contextmanager
    def saved_if_interrupted(self) -> Iterator[None]:
        """Ctrl-C once an import has committed (the index is catching up) is no rollback: it raises
        ``Cancelled`` saying the products were saved, not a KeyboardInterrupt the CLI reports as "nothing
        half-written was kept". The index needs no undoing: every search syncs it to the catalog first."""
        before = self.catalog.revision
        try:
            yield
        except KeyboardInterrupt as exc:
            if self.catalog.revision == before:  # interrupted inside the transaction: it was rolled back
                raise
            raise Cancelled(f"interrupted after the import was saved (the catalog has "
                            f"{counted(self.catalog.count(), 'product')}); the search index is brought up to date "
                            "when it is next used") from exc

    def restore_backup(self, backup: Path) -> tuple[int, Path | None, str]:
        """Restore ``backup`` into the catalog (the catalog backed up first) or, when the catalog is damaged, in its
        place, the damaged file kept beside it: what `decorlens catalog restore` and the app's Restore a Backup…
        do. Returns the products restored, and where a damaged catalog was kept and what was wrong with it (None
        and "" otherwise)."""
        check_columns(backup)
        try:
            return self.catalog.restore_from(backup), None, ""
        except CatalogDamagedError as exc:  # it did not open, or its check found damage: nothing changed in it
            with self.catalog_released():  # kept closed until the restored one is in its place
                aside, products = restore_damaged(self.data_dir / CATALOG_FILE, backup)
            self.catalog.mark_restored(backup)
            return products, aside, exc.detail

    def set_catalog_aside(self) -> Path:
        """Move a damaged catalog with no backup to restore out of the way, never deleting it
        (``engine.backups.set_aside``), while the catalog is held closed; a new, empty one opens in its place on next
        use. Returns where the damaged file is kept."""
        with self.catalog_released():
            return set_aside(self.data_dir / CATALOG_FILE)

    def remove_products(self, skus: Sequence[str], run: BackupRun | None = None) -> int:
        """Remove products (a backup first) and update the index; a removal of a ``run`` keeps the backup taken
        before the run's first (``engine.backups.BackupRun``)."""
        with self._lock:
            removed = self.catalog.remove(skus, run)
            self.index_for(self.embedder).sync(self.catalog)
        return removed

    def prepare_matcher(
        self, matcher: str = EMBEDDER, progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False
    ) -> int:
        """Embed what the catalog lacks for this matcher (e.g. after the embedder changed); returns how
        many were embedded. Products that could not be (image moved or unreadable) are named in the log."""
        chosen = self.matcher(matcher)
        with self._lock:
            missing = len(self.catalog.missing_vectors(chosen.key))
            taken = None
            if missing and chosen.key not in self.catalog.embedders() and not self.catalog.restored():
                # an embedder switch: the whole catalog is embedded again; its backup prunes once that is done
                taken = take_backup(self.catalog.db, self.catalog.path, "re-embed", keep=KEEP + 1)
            embedded = self._embed_backed_up(chosen, taken, progress, cancelled)
            failed = self.catalog.missing_vectors(chosen.key) if missing else []
            if missing:
                self.log(f"embedded {embedded:,} of {counted(missing, 'product')} for {chosen.key}")
            for product in failed[:MAX_NAMED]:
                self.log(f"could not embed {product.sku}: {_unreadable(product.image_path)}")
            if len(failed) > MAX_NAMED:
                self.log(f"… and {len(failed) - MAX_NAMED:,} more products without a {chosen.key} vector")
            self.index_for(chosen).sync(self.catalog)
        return embedded

    def _embed_backed_up(self, chosen: Embedder | ColourHistogram, taken: Path | None, progress: Progress | None,
                         cancelled: Callable[[], bool]) -> int:
        """``embed_missing`` after ``taken``, a backup that pushed none out: pruned to the newest ``KEEP`` once the
        vectors are written, deleted if they are not (cancelled or failed, the transaction rolled back: it only copies
        the catalog as it still is). A cancelled embedder switch deleted the oldest backup, one more each time."""
        try:
            embedded = embed_missing(self.catalog, chosen, progress, cancelled)
        except BaseException:
            if taken is not None:
                taken.unlink(missing_ok=True)
            raise
        if taken is not None:
            prune(self.catalog.path, taken)
        return embedded

    def index_for(self, matcher: Embedder | ColourHistogram) -> CatalogIndex:
        with self._indexes_lock:  # not self._lock: searches must not wait for a running import
            if matcher.key not in self._indexes:
                self._indexes[matcher.key] = CatalogIndex(self.data_dir / "index", matcher.key, matcher.dim, self.log,
                                                          compact_at=self._compact_at())
            return self._indexes[matcher.key]

    # -- internals ----------------------------------------------------------------------------

    def _compact_at(self) -> int | None:
        """The catalog size from which indexes are compact; ``auto``: from AUTO_AT where faiss is installed."""
        value = self.settings.compact_at
        if value != "auto":
            return value
        return compact_index.AUTO_AT if compact_index.available() else None

    def _match_objects(
        self, name: str, pixels: np.ndarray, detections: Sequence[Detection], timings: dict[str, float],
        top_k: int | None, any_category: bool, matcher: str, people: PeopleRegions | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> SceneResult:
        h, w = pixels.shape[:2]
        tags = place_tags(detections, (w, h), people=people)
        chosen = self.matcher(matcher)
        self._ensure_ready(chosen, matcher, cancelled)
        looks, boxes = _flat_looks([d.box for d in detections], [d.parts for d in detections])
        categories = _per_look([None if any_category else d.category for d in detections], looks)
        vectors, plain = self._timed(timings, "embed", lambda: self._embed_boxes(pixels, boxes, chosen))
        k = top_k or self.settings.top_k
        matches = self._timed(
            timings, "search",
            lambda: self._search_objects(pixels, looks, boxes, vectors, categories, k, chosen),
        )
        if plain is not None:
            plain = plain[_firsts(looks)]
        handed_on = [None] * len(detections) if plain is None else list(plain)
        objects = [
            SceneObject(d.category, d.label, d.score, d.box, tag, m, d.source, v, d.parts)
            for d, tag, m, v in zip(detections, tags, matches or [[] for _ in detections], handed_on)
        ]
        key = chosen.key if plain is not None else ""
        return SceneResult(name, w, h, chosen.device, timings, objects, key)

    def _search_objects(
        self, pixels: np.ndarray, looks: Sequence[Sequence[Box]], boxes: Sequence[Box], vectors: np.ndarray,
        categories: Sequence[str | None], k: int, chosen: Embedder | ColourHistogram,
    ) -> list[list[Match]]:
        """One list per object from the search of every look (``_flat_looks``). Where the query re-orders
        a list (local features, types) the cosine no longer gives the order, so looks are fused by rank."""
        if not boxes:
            return []
        reordered = chosen is not self.colour and (self.query.rerank.on or self.query.types.on)
        return _fused(self._search_boxes(pixels, boxes, vectors, categories, k, chosen), looks, k, by_rank=reordered)

    def _search_boxes(
        self, pixels: np.ndarray, boxes: Sequence[Box], vectors: np.ndarray, categories: Sequence[str | None],
        k: int, chosen: Embedder | ColourHistogram,
    ) -> list[list[Match]]:
        """The search, then, when the query asks for it, its top re-ordered by local features."""
        rerank = self.query.rerank
        if not rerank.on or chosen is self.colour:
            return self._search(vectors, categories, k, chosen)
        return self._reranked(pixels, boxes, vectors, categories, k, chosen, rerank)

    def _reranked(
        self, pixels: np.ndarray, boxes: Sequence[Box], vectors: np.ndarray, categories: Sequence[str | None],
        k: int, chosen: Embedder, options: RerankOptions,
    ) -> list[list[Match]]:
        """The top ``max(k, options.top)`` of each box's search re-ordered by local features, cut to ``k``."""
        found = self._search(vectors, categories, max(k, options.top), chosen)
        return [
            rerank_matches(cut_crop(pixels, box, self.settings.padding), matches, options, self.local_features)[:k]
            for box, matches in zip(boxes, found)
        ]

    def _search(
        self, vectors: np.ndarray, categories: Sequence[str | None], k: int, matcher: Embedder | ColourHistogram
    ) -> list[list[Match]]:
        index = self.index_for(matcher)
        types = self.query.types
        typed = types.on and matcher is not self.colour  # colour has no types
        depth = max(k, types.top) if typed else k
        searched = [list(self.categories.searched(c)) if c else None for c in categories]
        results = [index.search(self.catalog, v[None], s, depth)[0] for v, s in zip(vectors, searched)]
        products = self.catalog.get_many({pid for hits in results for pid, _ in hits})
        alike = self.alike_among(p.sku for p in products.values())
        def kind(score: float) -> MatchKind:
            return "similar" if matcher is self.colour else self.match_kind(score)

        found = [
            [
                Match(pid, p.sku, p.name, p.category, score, kind(score), p.image_path, p.url, p.price, p.sku in alike)
                for pid, score in hits
                if (p := products.get(pid)) is not None
            ]
            for hits in results
        ]
        if not typed:
            return found
        assert isinstance(matcher, Embedder)
        prior = self.type_prior(matcher)
        return [reorder(matches, v, prior, types)[:k] for matches, v in zip(found, vectors)]

    def type_prior(self, matcher: Embedder) -> TypePrior:
        """The catalog's type centroids for ``matcher`` (engine.type_prior), rebuilt when the catalog changes."""
        with self._lock:
            revision = self.catalog.revision
            cached = self._type_priors.get(matcher.key)
            if cached is None or cached[0] != revision:
                cached = (revision, TypePrior.build(self.catalog, matcher.key, self.query.types.min_products))
                self._type_priors[matcher.key] = cached
            return cached[1]

    @property
    def query(self) -> QueryOptions:
        return self.settings.query

    def _query_vectors(
        self, pixels: np.ndarray, boxes: Sequence[Box], chosen: Embedder | ColourHistogram
    ) -> np.ndarray:
        """One vector per box: the embedder pools the query's views of it; colour keeps the one padded crop."""
        return self._embed_boxes(pixels, boxes, chosen)[0]

    def _embed_boxes(
        self, pixels: np.ndarray, boxes: Sequence[Box], chosen: Embedder | ColourHistogram
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(query vectors, plain vectors): the plain one of a box is its unflipped crop at the settings'
        padding, one of the views the query embeds anyway; the scene memory stores it (None: not embedded)."""
        if not boxes:
            return np.zeros((0, chosen.dim), np.float32), None
        if chosen is self.colour:
            return chosen.embed(cut_crops(pixels, boxes, self.settings.padding)), None
        crops = [view for box in boxes for view in views(pixels, box, self.query)]
        embedded = chosen.embed(crops)
        pooled = pool(embedded, self.query.views)
        if self.settings.padding not in self.query.paddings:
            return pooled, None
        plain = self.query.paddings.index(self.settings.padding)  # views: one per padding, then mirrored
        return pooled, embedded.reshape(len(boxes), self.query.views, -1)[:, plain]

    def _wait_unlocked(self, cancelled: Callable[[], bool]) -> None:
        """Wait while an import or the catalog's embedding for a new embedder holds this pipeline (``_lock``),
        raising ``Cancelled`` once ``cancelled`` says so. A search the app gave up while it waited (another photo
        opened) held its engine worker to the embedding's end, 37 s for 1,955 products, and the next photo's search
        queued behind it."""
        while not self._lock.acquire(timeout=LOCK_POLL_S):
            if cancelled():
                raise Cancelled("search cancelled while it waited for the catalog")
        self._lock.release()

    def ensure_ready(self, matcher: str = EMBEDDER, progress: Progress | None = None,
                     cancelled: Callable[[], bool] = lambda: False) -> None:
        """Refuse an empty catalog; embed what ``matcher`` lacks, once per catalog revision, ``progress`` told how
        many first (the CLI's bar; a search inside it told nothing for minutes). ``cancelled``: as ``prepare_matcher``
        takes it, asked between chunks; the catalog is then left as it was. Checked once: the search after the CLI's
        bar read every product again (a scan of the catalog, seconds at a million products)."""
        self._ensure_ready(self.matcher(matcher), matcher, cancelled, progress)

    def _ensure_ready(self, chosen: Embedder | ColourHistogram, matcher: str,
                      cancelled: Callable[[], bool] = lambda: False, progress: Progress | None = None) -> None:
        revision = self.catalog.revision
        if self._ready.get(chosen.key) == revision:
            return
        ensure_nonempty(self.catalog)
        if missing := self.catalog.missing_vectors(chosen.key):
            if progress is not None:
                progress(0, len(missing))
            self.prepare_matcher(matcher, progress, cancelled)
        self._ready[chosen.key] = self.catalog.revision

    def _find_first(self, choices: Sequence[str]) -> ResolvedModel:
        """The first of several alternative model files that exists (official before rebuilt)."""
        return find_first(choices, self.settings.models_dir, self.data_dir)

    @staticmethod
    def _timed(timings: dict[str, float], stage: str, work: Callable[[], object]):
        start = time.perf_counter()
        result = work()
        timings[stage] = (time.perf_counter() - start) * 1000.0
        return result


def _flat_looks(boxes: Sequence[Box], parts: Sequence[Sequence[Box]]) -> tuple[list[list[Box]], list[Box]]:
    """Each object's boxes to search with (its own, then its parts'), and all of them in one flat list:
    one batch embeds and searches every look of every object."""
    looks = [[box, *extra] for box, extra in zip(boxes, parts)]
    return looks, [box for d in looks for box in d]


def _per_look(categories: Sequence[str | None], looks: Sequence[Sequence[Box]]) -> list[str | None]:
    """The category each look searches: its object's, in the flat order of ``_flat_looks``."""
    return [c for c, d in zip(categories, looks) for _ in d]


def _firsts(looks: Sequence[Sequence[Box]]) -> list[int]:
    """Where each object's own box sits in the flat list of every look."""
    return np.cumsum([0, *(len(d) for d in looks[:-1])]).tolist()


def _fused(
    found: Sequence[list[Match]], looks: Sequence[Sequence[Box]], k: int, by_rank: bool = False
) -> list[list[Match]]:
    """One list per object from the lists of its looks: each product once, at its best score, best first
    (measured better than interleaving ranks, docs/results.md). ``by_rank``: at its best rank in any look,
    ties by score, for lists whose order is not the cosine's. An object of one look keeps its list as searched."""
    fused, start = [], 0
    for d in looks:
        if len(d) == 1:
            fused.append(found[start])
            start += 1
            continue
        best: dict[int, tuple[tuple[float, float], Match]] = {}
        for hits in found[start:start + len(d)]:
            for rank, m in enumerate(hits):
                key = (rank if by_rank else 0, -m.score)
                if m.product_id not in best or key < best[m.product_id][0]:
                    best[m.product_id] = (key, m)
        fused.append([m for _, m in sorted(best.values(), key=lambda entry: entry[0])][:k])
        start += len(d)
    return fused


def _unreadable(image_path: str) -> str:
    """Why a product image could not be embedded, in the image loader's words."""
    try:
        load_image(image_path, max_side=64)
    except DecorLensError as exc:
        return str(exc)
    return f"{image_path} could not be read during embedding"
