"""One open photo and what happens to it: decode, detect and match, region searches and corrections.

The window shows; this object decides. Every engine call runs in a worker; results that arrive
after the user has moved on to another photo are dropped (each photo gets a new ``token``). Every
correction is saved at once, in a one-thread pool so saves land in order, and goes on the undo stack
(one per photo). A photo opened while its edits are still being written reads them again in that pool,
after the write. A photo that cannot be opened changes nothing: the open one stays, with its edits.

The open photo's file may change while it is shown: retouched or cropped in another program and saved over, renamed,
deleted, its USB stick unplugged. Its tags are of the pixels decoded when it opened (and its edits filed by their
content), so they stay true to what is shown; but the designer expects the picture they just saved. As the app comes
back to the front, and when the system says the file changed (one ``QFileSystemWatcher`` watch, on the open photo: a
sync client or a script replaced it, the app in front), the file is looked at again (``check_on_disk``, in a worker): a
photo whose content is another now is opened again, shown and tagged as it is (edits of its earlier content stay filed
under that content); one gone is said once, and stays shown. A shop page is only exported from the file the tags were
made on (``export_page``).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage, QUndoStack

from app.labels import pretty, shown_sku
from app.settings import AppSettings
from app.undo import TagEdit
from app.workers import Job, Runner, Task
from engine import corrections
from engine.catalog import Product
from engine.corrections import USER, EditableScene, MatchedAgain, Tag, match_again
from engine.drawn_guess import GUESS_POOL, DrawnGuess, guess_box
from engine.errors import DecorLensError
from engine.files import FileVersion, file_version, sha256_of, write_atomic
from engine.imageio import first_of_many, photo_size, read_photo
from engine.pipeline import Pipeline
from engine.rerank import Checked
from engine.results import Box, Match, SceneObject, SceneResult
from engine.scene_memory import remember_saved
from engine.shoppable import ScenePage, write_scene_page
from engine.tags import placed_among


@dataclass
class Opened:
    """A decoded photo (its pixels, and as shown), its content hash and the edits saved for it earlier (if any)."""

    pixels: np.ndarray
    image: QImage
    sha256: str
    saved: EditableScene | None
    note: str = ""
    stamp: FileVersion | None = None  # the version of the file read (taken before reading: a save meanwhile is seen later)


def open_photo(path: Path, data_dir: Path) -> Opened:
    """Worker side of opening: decode as the engine does (EXIF-upright, capped) and look for saved edits."""
    seen = file_version(str(path))
    # One read: a photo on a network share was read twice to open. Its pixels stay the ``Decoded`` array, C-ordered
    # as decoded: they know the photo's own size, which every box shown, drawn and searched is in.
    pixels, sha = read_photo(path)
    h, w = pixels.shape[:2]
    image = QImage(np.ascontiguousarray(pixels).data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return Opened(pixels, image, sha, *saved_edits(path, sha, data_dir, photo_size(pixels)), stamp=seen)


SAME, CHANGED, GONE = "same", "changed", "gone"
SETTLE_MS = 500  # the open photo's file looked at this long after the system last said it changed: a save is many writes


def on_disk(path: Path, seen: FileVersion | None, sha256: str) -> tuple[str, FileVersion | None]:
    """Worker side of ``check_on_disk``: whether the photo's file holds what was opened (``SAME``), other content
    (``CHANGED``) or is gone (``GONE``), and its version now. A new version of the same bytes (touched, copied back,
    its permissions changed) is the same photo: it is hashed before it is called changed."""
    now = file_version(str(path))
    if now is None:
        return GONE, None
    if now == seen:
        return SAME, now
    try:
        return (SAME if sha256_of(path) == sha256 else CHANGED), now
    except OSError:
        return GONE, None


def page_of_photo_as_tagged(
    pipeline: Pipeline, data: dict, photo: Path, sha256: str, folder: Path, title: str
) -> ScenePage:
    """Worker side of ``export_page``: the page, from the photo's file only if it still holds what was tagged (its
    content hash ``sha256``, as opened). A photo cropped in another program since was put on the page with the tags
    of its earlier version, the pins on other things."""
    try:
        same = sha256_of(photo) == sha256
    except OSError as exc:
        raise DecorLensError(f"{photo.name} could not be read to export its page ({exc.strerror or exc}): is its "
                             "drive still there?") from exc
    if not same:
        raise DecorLensError(f"{photo.name} changed on disk since it was tagged: open it again to tag it as it is "
                             "now, then export its page.")
    return write_scene_page(pipeline, data, photo, folder, photo.stem, title)


def saved_edits(
    path: Path, sha256: str, data_dir: Path, size: tuple[int, int]
) -> tuple[EditableScene | None, str]:
    """The edits saved for the photo (None: none, or unreadable) and why they could not be read ("" if they could),
    in the photo's own (width, height) ``size``: a file saved before boxes were in the photo's pixels is brought to it."""
    saved_path = corrections.find_saved(data_dir, sha256)
    if saved_path is None:
        return None, ""
    try:
        return corrections.load(saved_path, path).scaled_to(*size), ""
    except DecorLensError as exc:
        return None, str(exc)


def read_again(opened: Opened, path: Path, data_dir: Path) -> Opened:
    """Worker side of reading a photo's edits once the saves pending when it was opened are written."""
    saved, note = saved_edits(path, opened.sha256, data_dir, photo_size(opened.pixels))
    return replace(opened, saved=saved, note=note)


def current_products(pipeline: Pipeline, skus: set[str]) -> dict[str, Product]:
    """Worker side of a catalog refresh: the products of these SKUs as the catalog holds them now."""
    catalog = pipeline.catalog
    return {sku: p for sku in skus if (p := catalog.get_by_sku(sku)) is not None}


def searched_scene(
    pipeline: Pipeline, path: Path | None, pixels: np.ndarray | None, top_k: int, job: Job
) -> tuple[SceneResult, str]:
    """Worker side of tagging a photo: its scene, and the key of the embedder that matched it ("" for an empty
    catalog, whose tags have no matches: edited, they are matched once there are products). A cancelled ``job``
    stops the catalog's embedding for the embedder, should the search have to do it first."""
    result = pipeline.search_scene(path, top_k, require_catalog=False, decoded=pixels, cancelled=job.cancelled)
    return result, embedder_in_use(pipeline) or ""


def embedder_in_use(pipeline: Pipeline) -> str | None:
    """Worker side of checking an edited photo's matches: the key of the embedder in use (loading it, if it is
    not yet); None while the catalog is empty, with nothing to match."""
    return pipeline.embedder.key if pipeline.catalog.count() else None


def embedder_to_match(pipeline: Pipeline) -> tuple[str, bool] | None:
    """``embedder_in_use``, and whether the catalog has no vector of it at all (its embedding was cancelled by
    quitting, or failed): the tags are matched once it is embedded."""
    key = embedder_in_use(pipeline)
    return None if key is None else (key, not pipeline.catalog.has_vectors(key))


@dataclass(frozen=True)
class _Searching:
    """The open photo's tag search in flight (``SceneController._search``): ``text`` says it is busy, on line ``key``
    of the busy lines, for the photo of ``sha256``."""

    task: Task
    key: int
    text: str
    sha256: str


@dataclass(frozen=True)
class Asked:
    """What a drawn tag may be (``DrawnGuess.categories``) and what that was found with: the catalog's revision
    and the pipeline (its models). After an import, a removal or other models it is stale: a photo opened again
    offered the categories of its drawn boxes' saved matches, searched in the catalog of then. ``obj``: the tag
    as it was asked about; the question stands while the tag is that (an answer replaces it, an undo puts it
    back)."""

    categories: tuple[str, ...]
    revision: int
    pipeline: Pipeline
    obj: SceneObject


def _products_of(tag: Tag) -> set[str]:
    """The SKUs a tag shows: its matches and its confirmed product."""
    return {m.sku for m in tag.obj.matches} | ({tag.confirmed_sku} if tag.confirmed else set())


class SceneController(QObject):
    opened = Signal(Path)  # a photo decoded: it replaces the open one
    openFailed = Signal(Path, str)  # a photo that cannot be opened; the open one stays as it was
    photoShown = Signal(QImage)
    sceneChanged = Signal()  # tags added or removed: redraw all pins
    tagChanged = Signal(int)  # one tag's category, matches or confirmation changed
    tagAdded = Signal(int)
    matchesReady = Signal(int, bool, list)  # tag number, any category, matches
    checkedReady = Signal(int, bool, list)  # tag number, any category, [Checked]: matches checked by details
    checkFailed = Signal(int, str)  # tag number, why its check could not run
    busyChanged = Signal(str)  # what is running, "" when idle
    searched = Signal(dict)  # timings of the last engine search, in ms
    failed = Signal(str)
    info = Signal(str)
    # a photo's content hash, and whether edits of it are saved now: after each save written; on opening it, whether
    # readable edits were found (an unreadable file is moved aside then). The Photos strip marks edited photos by it.
    savedChanged = Signal(str, bool)
    # an edited photo's tags are to be matched with the embedder in use, and the catalog has no vector of it: the
    # window embeds the catalog (progress and Cancel in the status bar) while the match waits for it
    embeddingNeeded = Signal()
    # a photo's path, content hash and number of tags, once kept in the scene memory as shown (opened, searched again,
    # edited), or as shown when the memory keeps nothing (an empty catalog): the Photos strip's tag mark follows it
    remembered = Signal(str, str, int)

    def __init__(self, pipeline: Pipeline, settings: AppSettings, engine: Runner, io: Runner, saver: Runner):
        super().__init__()
        self.pipeline = pipeline
        self.settings = settings
        self.engine, self.io, self.saver = engine, io, saver
        self.memory = Runner(1, self)  # remembering waits out an import's write lock; saving edits must not
        self.path: Path | None = None
        # The open photo as decoded when it opened: every search of it (tags, a drawn box, the whole catalog, a
        # check of details) cuts these, not the file again: a second decode per click, and a photo changed or
        # gone since (a USB stick pulled) searched other pixels than those shown, or failed.
        self.pixels: np.ndarray | None = None
        self.scene: EditableScene | None = None
        self._token = 0
        self._any: dict[int, list[Match]] = {}
        self._checked: dict[tuple[int, bool], list[Checked]] = {}  # (tag, any category): until the tag changes
        self._products: dict[str, Product] = {}  # the catalog's data for the scene's products, at the last refresh
        self._alike: frozenset[str] = frozenset()  # those of them that read as another SKU, at the last refresh
        self.gone: set[str] = set()  # the scene's products the catalog no longer had at the last refresh
        self._running: dict[int, str] = {}
        self._tasks: dict[int, Task] = {}  # the open photo's work in flight (``_start``), by busy line: cancelled with it
        self._searching: _Searching | None = None
        self._waiting = ""  # the embedder the catalog is being embedded for, which a search started now waits for
        self._after_wait: dict[int, str] = {}  # busy lines saying they wait for it: what each says once it ends
        # a match of the open photo's tags in flight (``_match_with``): its busy line and embedder. Asked again meanwhile
        # (the embedding it waited for ended, and the window tagged the photo again), it is not started twice
        self._matching: tuple[int, str] | None = None
        self._asked: set[str] = set()  # embedders ``embeddingNeeded`` asked for: once each (one whose products all
        # failed to embed would be asked for again after each try)
        self._guesses: dict[int, Asked] = {}  # drawn tags: what they may be, from their wider search
        self._guessing: set[int] = set()  # drawn tags whose box is being searched again for ``guesses``
        self._revision: int | None = None  # the catalog's, as last read: guesses of another are stale
        self._keys = itertools.count()
        self._opening = 0
        self._opened_ticket = 0  # the last open that ended (opened or failed): ``_opening`` while none is in flight
        self._saving: Counter[str] = Counter()  # photos (by content hash) with edits not yet written: how many saves
        self.undo = QUndoStack(self)
        # the open photo's file's version as last seen, and its content hash as opened (``check_on_disk``)
        self._on_disk: tuple[FileVersion | None, str] = (None, "")
        self._gone_said = False  # the open photo's file was found gone, and that was said
        self._changed_note: tuple[Path, str] | None = None  # a photo changed on disk, said once it is open again
        self._settled = QTimer(self, singleShot=True, interval=SETTLE_MS, timeout=self.check_on_disk)
        self._watch = QFileSystemWatcher(self)  # the open photo's file
        self._watch.fileChanged.connect(lambda _path: self._settled.start())
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._app_state)
        self._looking = True  # until the window's workers are gone (``_stop_looking``)
        io.destroyed.connect(self._stop_looking)
        io.stopped.connect(self._stop_looking)  # closed, the window may stay (held) with its workers: it reopened photos

    # -- opening ------------------------------------------------------------------------------------

    @property
    def opens(self) -> int:
        """How many photos were asked to open so far: a look taking a while before an open (Open Recent's) opens
        nothing once another was asked for meanwhile."""
        return self._opening

    def open(self, path: Path) -> None:
        """Decode ``path`` in a worker; only once it decoded does it replace the open photo.

        A later ``open`` wins over one still decoding; a failure is reported with ``openFailed`` and
        leaves the open photo, its tags, edits and undo history untouched. A photo whose edits were still
        being written when the open began reads them again behind those saves (``saver`` runs one task
        at a time, in order): edited, left for another photo and opened again at once, it read its file
        before the last edit was in it, and the edit looked lost until the photo was opened once more.
        """
        self._opening += 1
        ticket, key, data_dir = self._opening, next(self._keys), self.pipeline.data_dir
        # taken now: a save ending after the worker read the file, before its result came, is gone later
        unwritten = set(self._saving)
        self._running[key] = "Opening the photo…"
        self.busyChanged.emit(self._running[key])

        def finish(handler: Callable, value: object) -> None:
            self._running.pop(key, None)
            self.busyChanged.emit(next(reversed(self._running.values()), ""))
            if ticket == self._opening:
                self._opened_ticket = ticket
                handler(path, value)

        def decoded(opened: Opened) -> None:
            if ticket != self._opening or opened.sha256 not in unwritten:
                finish(self._opened, opened)
                return
            self.saver.start(
                lambda _job: read_again(opened, path, data_dir),
                done=lambda v: finish(self._opened, v),
                failed=lambda message: finish(self.openFailed.emit, message),
            )

        self.io.start(
            lambda _job: open_photo(path, data_dir),
            done=decoded,
            failed=lambda message: finish(self.openFailed.emit, message),
        )

    def _opened(self, path: Path, opened: Opened) -> None:
        saved = opened.saved
        if self.scene is not None and self.scene.image_sha256 == opened.sha256 and (saved is not None or self.undo.count()):
            saved = self.scene  # the photo open again: its edits as shown, newer than the file read if one was made since
        self._token += 1
        self.path, self.scene, self._any, self._checked, self._products = path, None, {}, {}, {}
        self._guesses, self._guessing = {}, set()
        self._matching = None
        self.pixels = opened.pixels
        self.gone.clear()
        self._stop_searching()
        self._stop_tasks()
        self._running.clear()
        self.busyChanged.emit("")
        self.undo.clear()
        self._on_disk, self._gone_said = (opened.stamp, opened.sha256), False
        self._watch_file(path)
        self.opened.emit(path)
        self.photoShown.emit(opened.image)
        self.savedChanged.emit(opened.sha256, saved is not None)
        if self._changed_note is not None and self._changed_note[0] == path:
            self.info.emit(self._changed_note[1])
        self._changed_note = None
        if opened.note:
            self.failed.emit(opened.note)
        elif first_of_many(opened.pixels):
            self.info.emit(f"{path.name} holds more than one picture (an animation's frames or a TIFF's pages): "
                           "the first is shown and tagged.")
        if saved is not None:
            self._set_scene(saved)
            self.info.emit(f"Restored your edits to {self.path.name}.")
            self.refresh_from_catalog()  # names, prices and links may have changed since
            self._match_again(f"Restored your edits to {self.path.name}; its tags were matched again with the embedder "
                              "now in use.")
            return
        self._search("Finding furniture and decor…", opened.sha256)

    def _stop_looking(self) -> None:
        """The window's workers are stopped or gone (it closed): the file is no longer looked at. This object has no Qt
        parent and outlives them while Python holds it; the app's return to the front then started a look on a deleted
        pool, or one on a stopped pool that opened the photo again in the closed window."""
        self._looking = False
        self._settled.stop()
        if self._watch.files():
            self._watch.removePaths(self._watch.files())

    def _app_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive and self._looking:
            self.check_on_disk()

    def check_on_disk(self) -> None:
        """Look at the open photo's file again, in a worker (a network share may be slow): changed, it is opened again;
        gone, that is said once. Runs as the app comes back to the front, from the program it may have been edited in.
        Not while a photo is being opened, and what it finds is dropped once another is asked for meanwhile: opened
        again, the photo changed would win over that one."""
        if self.path is None or self._opened_ticket != self._opening:
            return
        asked, path, (seen, sha) = (self._token, self._opening), self.path, self._on_disk
        self.io.start(lambda _job: on_disk(path, seen, sha),
                      done=lambda found: asked == (self._token, self._opening) and self._looked_on_disk(path, *found),
                      failed=lambda _message: None)

    def _watch_file(self, path: Path) -> None:
        """Watch the open photo's file, and only it: a file replaced by renaming another over it (an editor's safe
        save) or deleted loses its watch, so it is watched again each time it is found."""
        if self._watch.files() != [str(path)]:
            if self._watch.files():
                self._watch.removePaths(self._watch.files())
            self._watch.addPath(str(path))  # a file gone already is left out, without a word

    def _looked_on_disk(self, path: Path, state: str, now: FileVersion | None) -> None:
        if state == SAME:
            self._on_disk, self._gone_said = (now, self._on_disk[1]), False
            self._watch_file(path)
        elif state == GONE and not self._gone_said:
            self._gone_said = True
            self.info.emit(f"{path.name} is no longer where it was opened from (moved, renamed or deleted, or its "
                           "drive unplugged): it stays shown as it was.")
        elif state == CHANGED:
            edited = self.scene is not None and self.scene.edited
            kept = " Your edits of its earlier version stay saved with that version." if edited else ""
            self._changed_note = path, f"{path.name} changed on disk: it is shown and tagged as it is now.{kept}"
            self.open(path)

    def search_again(self, busy: str = "Finding furniture and decor with the models now in use…") -> bool:
        """The open photo tagged again with the pipeline's models, now other ones (Settings, the Train window's
        Use), or for the categories the catalog now sells (``busy``: what the photo says meanwhile): it kept the
        previous tags and matches until it was opened again. A photo with edits keeps them, made on the previous
        tags (returns False), and its tags are matched again if the embedder changed; one edited while it is
        searched keeps them too."""
        if self.scene is None or self.pixels is None:
            return False
        if self.scene.edited:
            self._match_again("This photo keeps your edits; its tags were matched again with the new embedder.")
            return False
        self.undo.clear()  # steps undone on the previous tags would be redone on others
        self._search(busy, self.scene.image_sha256)
        return True

    def _search(self, text: str, sha256: str) -> None:
        """The open photo's pixels searched with the pipeline's models; its tags become the scene, unless the scene
        shown meanwhile was edited (tagged again by other models: the edits stay). A search of it still running is
        cancelled, its result dropped: this one's models are newer. While the catalog is embedded for the
        pipeline's embedder (``wait_for_embedding``) the busy line says the search waits for it: it said "Finding
        furniture and decor…" for a minute, the photo looking frozen."""
        path, top_k, pixels, pipeline = self.path, self.settings.top_k, self.pixels, self.pipeline
        self._stop_searching()
        searching: _Searching | None = None

        def ours(handler: Callable[[object], None]) -> Callable[[object], None]:
            def handle(value: object) -> None:
                if searching is self._searching:
                    self._searching = None
                    handler(value)
            return handle

        task, key = self._start_waiting(
            text,
            lambda job: searched_scene(pipeline, path, pixels, top_k, job),
            ours(lambda found: None if self.scene is not None and self.scene.edited else self._detected(*found, sha256)),
            ours(self.failed.emit),
        )
        searching = self._searching = _Searching(task, key, text, sha256)

    def _stop_searching(self) -> None:
        """Cancel the open photo's search in flight: another photo opened, or a newer search of it began. One waiting
        for (or doing) the catalog's embedding for its embedder stops there, instead of embedding the whole catalog
        for a photo no longer shown, or for an embedder given up."""
        if self._searching is not None:
            self._searching.task.cancel()
            self._running.pop(self._searching.key, None)
            self._searching = None

    def _stop_tasks(self) -> None:
        """Cancel the work started for the photo left (another opened): a drawn box's search, a tag's in another
        category or the whole catalog, Check details. The first after a switch of embedder embeds the whole catalog
        (37 s for 1,955 products) and stops there, instead of going on for a photo no longer shown."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    def wait_for_embedding(self, embedder: str) -> None:
        """The catalog is being embedded for ``embedder`` (the pipeline's, named as the status bar names it); "": no
        longer. A search started meanwhile says it waits for it; once it ends, the search in flight says what it
        does again."""
        self._waiting = embedder
        if embedder:
            return
        lines = {key: text for key, text in self._after_wait.items() if key in self._running}
        self._after_wait.clear()
        if lines:
            self._running.update(lines)
            self.busyChanged.emit(next(reversed(self._running.values())))

    def stop_waiting(self) -> None:
        """Cancel the open photo's work that waits for the catalog's embedding (its search, a match of its tags): that
        embedding was cancelled with no earlier embedder to go back to, and the work went on to embed the whole catalog
        itself, without progress or Cancel."""
        for key in self._after_wait:
            if (task := self._tasks.pop(key, None)) is not None:
                task.cancel()
            self._running.pop(key, None)
        if self._searching is not None and self._searching.key in self._after_wait:
            self._searching = None
        if self._matching is not None and self._matching[0] in self._after_wait:
            self._matching = None
        self._after_wait.clear()
        self.busyChanged.emit(next(reversed(self._running.values()), ""))

    def _start_waiting(
        self, text: str, work: Callable[[Job], object], done: Callable[[object], None],
        failed: Callable[[str], None] | None = None,
    ) -> tuple[Task, int]:
        """``_start`` on the engine for work that waits for the catalog's embedding, if one runs: its busy line says
        so until it ends (``wait_for_embedding``), then ``text``."""
        if not self._waiting:
            return self._start(self.engine, text, work, done, failed)
        task, key = self._start(self.engine, f"Waiting for the catalog to be embedded for {self._waiting}…", work,
                                done, failed)
        self._after_wait[key] = text
        return task, key

    def search_anew(self) -> bool:
        """The open photo's search in flight, if any, started again with the pipeline now in use (it is cancelled):
        one started while the catalog was embedded for an embedder since given up (Cancel, another chosen) waited
        with that embedder's pipeline, then embedded the whole catalog for it and tagged the photo with it. Returns
        whether there was one."""
        searching = self._searching
        if searching is None:
            return False
        self._search(searching.text, searching.sha256)
        return True

    def _detected(self, result: SceneResult, embedder: str, sha256: str) -> None:
        """The photo's tags as found, in place of those shown (tagged again: other models, other categories sold).
        What was found for the tags replaced goes with them, their numbers being other objects' now: a check of
        details or a whole-catalog search that came in while these were searched was kept for the new tag of its
        number (and one still running is dropped as it comes: ``_start``)."""
        self.searched.emit(result.timings_ms)
        self._any, self._checked, self._guesses, self._guessing, self._matching = {}, {}, {}, set(), None
        self._set_scene(EditableScene(result, sha256, matched_with=embedder))

    def _match_again(self, words: str) -> None:
        """An edited photo's tags matched by the embedder in use where their matches are another's (a switch of
        embedder since they were searched): the previous embedder's list stayed under the new one's tags, its
        scores read against the new one's thresholds. ``words``: what the message bar then says.

        Which embedder is in use is asked in a worker first (loading it can take a second), unannounced: most
        often it is the one that matched them (other detectors, the photo reopened), and nothing is searched."""
        token, pipeline = self._token, self.pipeline
        self.engine.start(
            lambda _job: embedder_to_match(pipeline),
            done=lambda found: self._match_with(token, found, words),
            failed=self.failed.emit,
        )

    def _match_with(self, token: int, found: tuple[str, bool] | None, words: str) -> None:
        """Match the tags with embedder ``found`` (its key, and whether the catalog lacks its vectors). Lacking them,
        the window is asked to embed the catalog, and the match waits for it, saying so. One for ``found`` already in
        flight gives the matches: the window tags the photo again once the embedding the match waited for ends, and
        the match ran twice, a second of the engine's work for nothing."""
        in_flight = self._matching and self._matching[1]
        if token != self._token or found is None or found[0] in (self.scene.matched_with, in_flight) or not self.scene.visible:
            return
        key, unembedded = found
        if unembedded and not self._waiting and key not in self._asked:
            self._asked.add(key)
            self.embeddingNeeded.emit()  # the window's ``embed_catalog``: ``wait_for_embedding`` names it
        tags = [replace(t) for t in self.scene.visible]  # as they stand now: edits meanwhile are the GUI thread's
        pixels, pipeline, top_k = self.pixels, self.pipeline, self.settings.top_k
        matching: tuple[int, str] | None = None

        def ended(handler: Callable[[object], None]) -> Callable[[object], None]:
            def handle(value: object) -> None:
                if self._matching is matching:
                    self._matching = None
                handler(value)
            return handle

        _task, line = self._start_waiting(
            "Matching your tags with the new embedder…",
            lambda job: match_again(pipeline, pixels, tags, top_k, job.cancelled),
            ended(lambda again: self._matched_again(again, words)),
            ended(self.failed.emit),
        )
        matching = self._matching = (line, key)

    def _matched_again(self, again: MatchedAgain, words: str) -> None:
        """The tags that stand as they were searched take the new matches. The undo history goes: an undo put back
        the previous embedder's matches with its step."""
        taken = self.scene.take_matches(again)
        self.undo.clear()
        self._any, self._checked = {}, {}
        self._save()
        self.sceneChanged.emit()
        for number in taken:
            self.tagChanged.emit(number)
        self.refresh_from_catalog()
        self.info.emit(words)

    def _set_scene(self, scene: EditableScene) -> None:
        self.scene = scene
        self.sceneChanged.emit()
        self._remember()

    # -- searching ----------------------------------------------------------------------------------

    def search_region(self, box: Box) -> None:
        """A box the user drew: search every category, add it as a tag of its own. It takes its best match's
        category for now; what it may be is offered (``guesses``, ``engine.drawn_guess``)."""
        if self.scene is None:
            return
        path, top_k, pixels, pipeline, tags = self.path, self.settings.top_k, self.pixels, self.pipeline, list(self.scene.tags)
        pool = max(top_k, GUESS_POOL)
        self._start(
            self.engine,
            "Searching the box…",
            lambda job: guess_box(pipeline, path, pixels, box, tags, pool, job.cancelled),
            lambda guess: self._region_found(guess, top_k, pipeline),
        )

    def _region_found(self, guess: DrawnGuess, top_k: int, pipeline: Pipeline) -> None:
        self.searched.emit(guess.result.timings_ms)
        number = max((t.number for t in self.scene.tags), default=0) + 1
        found = guess.result.objects[0]
        self._revision = guess.revision
        pins, size = [t.obj.tag for t in self.scene.visible], (guess.result.width, guess.result.height)
        drawn = replace(found, matches=found.matches[:top_k], tag=placed_among(found.tag, found.box, pins, size))
        self._edit("Draw Box", number, lambda: self.scene.add_region(drawn))
        self._guesses[number] = Asked(guess.categories, guess.revision, pipeline, self.scene.tag(number).obj)
        self.tagAdded.emit(number)

    def guesses(self, number: int) -> tuple[str, ...]:
        """What a drawn tag may be, while the question stands (none for a detector's tag, nor once answered),
        found in the catalog and with the models in use now: none yet while its box is searched again
        (``tagChanged`` follows) in a photo opened again, after an import or a removal, or with other models."""
        tag = self.scene.tag(number)
        asked = self._guesses.get(number)
        if tag.origin != USER or (tag.obj is not asked.obj if asked is not None else not self._unanswered(tag)):
            return ()
        if asked is not None and asked.pipeline is self.pipeline and self._revision in (None, asked.revision):
            return asked.categories
        self._guess_again(number)
        return ()

    @staticmethod
    def _unanswered(tag: Tag) -> bool:
        """A drawn tag not asked about since the photo opened still has its question unless its category was
        changed or a product confirmed. (Its matches do not tell: an answer's are its category's only, but so
        are the whole catalog's when its five best share a kind, and a saved box was then never asked about.)"""
        return tag.original_category is None and tag.confirmed is None

    def _products_now(self) -> set[int]:
        """The scene's tags take the catalog's product data (``update_products``), which replaces their objects:
        a drawn tag asked about keeps its question (``Asked.obj``), a refresh being no answer."""
        tags = {t.number: t for t in self.scene.tags}
        asking = {n: a for n, a in self._guesses.items() if n in tags and tags[n].obj is a.obj}
        changed = self.scene.update_products(self._products, self._alike)
        for number, asked in asking.items():
            self._guesses[number] = replace(asked, obj=self.scene.tag(number).obj)
        return changed

    def _guess_again(self, number: int) -> None:
        """Search a drawn tag's box again for ``guesses`` (once at a time), as drawing it did."""
        if number in self._guessing:
            return
        self._guessing.add(number)
        path, pixels, pipeline, tags = self.path, self.pixels, self.pipeline, list(self.scene.tags)
        obj, pool = self.scene.tag(number).obj, max(self.settings.top_k, GUESS_POOL)
        self._start(
            self.engine,
            "Searching the box…",
            lambda job: guess_box(pipeline, path, pixels, obj.box, tags, pool, job.cancelled),
            lambda guess: self._guessed(number, Asked(guess.categories, guess.revision, pipeline, obj)),
            failed=lambda message: self._guessed(number, Asked((), -1 if self._revision is None else self._revision,
                                                               pipeline, obj), message),
        )

    def _guessed(self, number: int, asked: Asked, failure: str = "") -> None:
        """A drawn tag's box searched again: its guesses are shown; none if the search failed, which is said
        once (the next change of catalog or models tries again)."""
        self._guessing.discard(number)
        self._guesses[number] = asked
        if failure:
            self.failed.emit(failure)
            return
        self._revision = asked.revision
        if number in {t.number for t in self.scene.visible}:
            self.tagChanged.emit(number)

    def request_matches(self, number: int, any_category: bool) -> None:
        """Matches of a tag: its own (same category) at once, the whole catalog's after a search; as checked
        by details if they were."""
        tag = self.scene.tag(number)
        if (number, any_category) in self._checked:
            self.checkedReady.emit(number, any_category, self._checked[number, any_category])
        elif not any_category:
            self.matchesReady.emit(number, False, list(tag.obj.matches))
        elif number in self._any:
            self.matchesReady.emit(number, True, self._any[number])
        elif self._whole_catalog(tag):
            self._any[number] = list(tag.obj.matches)
            self.matchesReady.emit(number, True, self._any[number])
        else:
            path, obj, top_k, pixels = self.path, tag.obj, self.settings.top_k, self.pixels
            self._start(
                self.engine,
                "Searching the whole catalog…",
                lambda job: self.pipeline.search_region(path, obj.box, None, top_k, any_category=True, parts=obj.parts,
                                                        decoded=pixels, cancelled=job.cancelled),
                lambda result: self._any_found(number, result),
            )

    @staticmethod
    def _whole_catalog(tag: Tag) -> bool:
        """A drawn box's own matches are the whole catalog's until its category is changed (it takes its best
        match's): Any category (the scope of its question What is it?) lists them without searching again."""
        return tag.origin == USER and tag.original_category is None

    def _any_found(self, number: int, result: SceneResult) -> None:
        self.searched.emit(result.timings_ms)
        self._any[number] = result.objects[0].matches
        self.matchesReady.emit(number, True, self._any[number])

    def check_details(self, number: int, any_category: bool) -> None:
        """A tag's top matches checked by their fine details (``Pipeline.check_object``), in a worker: up to a
        second a tag, so only for the tag a user asks about. Kept until the tag is edited."""
        if (number, any_category) in self._checked:
            self.checkedReady.emit(number, any_category, self._checked[number, any_category])
            return
        obj, pixels, pipeline, top_k = self.scene.tag(number).obj, self.pixels, self.pipeline, self.settings.top_k
        category = None if any_category or not obj.category else obj.category
        self._start(
            self.engine,
            "Checking details…",
            lambda job: pipeline.check_object(pixels, obj.box, category, obj.parts, top_k, cancelled=job.cancelled),
            lambda checked: self._checked_found(number, any_category, checked),
            failed=lambda message: self.checkFailed.emit(number, message),
        )

    def _checked_found(self, number: int, any_category: bool, checked: list[Checked]) -> None:
        self._checked[number, any_category] = checked
        self.checkedReady.emit(number, any_category, checked)

    def verified_first(self, number: int) -> Checked | None:
        """The product a check of the tag's own matches put first for sharing its details, if one did: the hover card
        shows it, as the panel lists it first (a confirmed product still comes before it). Its own matches are its
        category's, or the whole catalog's for a drawn box asking What is it? (``_whole_catalog``), whose check is
        of those: the card showed a drawn box's check of details as never made."""
        tag = self.scene.tag(number) if self.scene is not None else None
        checked = self._checked.get((number, tag is not None and self._whole_catalog(tag)))
        return checked[0] if checked and checked[0].same else None

    # -- corrections --------------------------------------------------------------------------------

    def change_category(self, number: int, category: str) -> None:
        path, obj, top_k, pixels = self.path, self.scene.tag(number).obj, self.settings.top_k, self.pixels
        self._start(
            self.engine,
            f"Searching {pretty(category)}…",
            lambda job: self.pipeline.search_region(path, obj.box, category, top_k, parts=obj.parts, decoded=pixels,
                                                    cancelled=job.cancelled),
            lambda result: self._recategorised(number, category, result),
        )

    def _recategorised(self, number: int, category: str, result: SceneResult) -> None:
        if number not in {t.number for t in self.scene.visible}:
            return  # removed, or its box undone, while it was searched: the user moved on
        matches = result.objects[0].matches
        self._edit("Change Category", number, lambda: self.scene.set_category(number, category, matches))

    def confirm(self, number: int, match: Match) -> None:
        """Confirm ``match`` for the tag, or withdraw its confirmation; a product the catalog no longer has
        can only be withdrawn (confirmed, it became training data and a pin of the shop page)."""
        if match.sku in self.gone and self.scene is not None and self.scene.tag(number).confirmed_sku != match.sku:
            named = match.name or shown_sku(match.sku)  # its invisible characters marked; gone, it reads as none
            self.failed.emit(f"{named} is no longer in the catalog: it cannot be confirmed.")
            return
        if self.scene is not None:
            text = (
                "Withdraw Confirmation"
                if self.scene.tag(number).confirmed_sku == match.sku
                else "Confirm Match"
            )
            self._edit(text, number, lambda: self.scene.confirm(number, match))

    def remove(self, number: int) -> None:
        if self.scene is not None:
            self._edit("Remove Tag", number, lambda: self.scene.remove(number))

    def _edit(self, text: str, number: int, change: Callable[[], object]) -> None:
        """Make an edit undoable: snapshot the tag around ``change``; pushing the command saves it."""
        before = self.scene.snapshot(number)
        change()
        self.undo.push(TagEdit(text, number, before, self.scene.snapshot(number), self._put_tag))

    def _put_tag(self, number: int, state: Tag | None) -> None:
        """Undo, redo and every edit end here: the tag as ``state``, saved, and shown."""
        self.scene.restore(number, state)
        self._products_now()  # a snapshot from before a refresh holds the data of then
        self._any.pop(number, None)
        self._checked = {key: v for key, v in self._checked.items() if key[0] != number}
        self._save()
        self.sceneChanged.emit()  # pins, legend and colours follow removals, additions and categories
        if state is not None and not state.removed:
            self.tagChanged.emit(number)
        if state is not None and _products_of(state) - self._products.keys() - self.gone:
            self.refresh_from_catalog()  # an undo brings back matches of then: one another DecorLens removed since

    # -- the catalog as it is now -----------------------------------------------------------------

    def refresh_from_catalog(self) -> None:
        """Show the matches' names, prices, links and pictures as the catalog holds them now.

        Saved edits and earlier searches keep the product data of their time; a CSV import may since
        have named products a folder import only knew by SKU. The refresh is for display: it is not an
        edit, so it is neither saved nor undoable (the next edit saves it).
        """
        if self.scene is None:
            return
        token, pipeline, skus = self._token, self.pipeline, self.scene.skus()
        self.io.start(
            lambda _job: (current_products(pipeline, skus), pipeline.alike_among(skus), pipeline.catalog.revision),
            done=lambda found: token == self._token and self._catalog_now(skus, *found),
            failed=self.failed.emit,
        )

    def _catalog_now(self, skus: set[str], products: dict[str, Product], alike: frozenset[str], revision: int) -> None:
        """The scene's products as the catalog at ``revision`` holds them, ``alike`` those that read as another of
        its SKUs; drawn tags' guesses from another revision are stale: shown again, they are searched again."""
        self._products, self._alike, self._revision = products, alike, revision
        changed = self._products_now()
        changed |= {n for n, asked in self._guesses.items() if asked.revision != revision}
        gone = skus - products.keys()
        turned = gone ^ self.gone  # removed since, or back
        changed |= {t.number for t in self.scene.tags if turned & ({m.sku for m in t.obj.matches} | {t.confirmed_sku})}
        self.gone.clear()
        self.gone.update(gone)
        for number, matches in list(self._any.items()):
            self._any[number] = [corrections.current_match(m, products, alike) for m in matches]
        for key, checked in list(self._checked.items()):
            self._checked[key] = [replace(c, match=corrections.current_match(c.match, products, alike))
                                  for c in checked]
        if changed:
            self.sceneChanged.emit()
            for number in sorted(changed):
                self.tagChanged.emit(number)

    def _save(self) -> None:
        data, data_dir, sha = self.scene.to_json(), self.pipeline.data_dir, self.scene.image_sha256
        self._saving[sha] += 1
        self.saver.start(
            lambda _job: corrections.save(data, data_dir),
            done=lambda _path: self._written(sha),
            failed=lambda message: self._written(sha, message),
        )
        self._remember()

    def _written(self, sha256: str, failure: str = "") -> None:
        """One save of the photo's edits ended; ``failure``: why it could not be written."""
        self._saving[sha256] -= 1
        if not self._saving[sha256]:
            del self._saving[sha256]
        if failure:
            self.failed.emit(failure)
        else:
            self.savedChanged.emit(sha256, True)

    def _remember(self) -> None:
        """Keep the photo as shown now in the scene memory (Where used, Goes with): on opening, on each edit."""
        data, path, pipeline, searched, pixels = self.scene.to_json(), self.path, self.pipeline, self.scene.result, self.pixels
        sha256 = self.scene.image_sha256
        self.memory.start(
            lambda _job: remember_saved(pipeline, path, data, searched, pixels),
            # an empty catalog keeps nothing (None), but the tags are shown: the strip said "not tagged yet" under them
            done=lambda count: self.remembered.emit(str(path), sha256, len(data["objects"]) if count is None else count),
            failed=self.failed.emit,
        )

    # -- exports ------------------------------------------------------------------------------------

    def export_json(self, target: Path, done: Callable[[object], None]) -> None:
        text = json.dumps(self.scene.to_json(), indent=2, ensure_ascii=False)
        self.io.start(lambda _job: write_atomic(target, text), done=done, failed=self.failed.emit)

    def export_page(self, folder: Path, done: Callable[[object], None], shown: Collection[int] | None = None,
                    title: str = "") -> None:
        """The shoppable page of the photo; with ``shown``, only those tags (what the window shows: a page
        is published as the merchandiser saw it, without the categories hidden or the tags left out); headed
        ``title``, or with none the photo's file name's words.

        ``done`` gets the ``ScenePage``: its path, and the confirmed products left off as no longer in the
        catalog (``ScenePage.summary``), which the window says after "Saved", so the merchandiser learns why a
        pin they confirmed shows another product or none."""
        data, photo, sha256, pipeline = self.scene.to_json(), self.path, self._on_disk[1], self.pipeline
        if shown is not None:
            data["objects"] = [o for o in data["objects"] if o["number"] in shown]
        self.io.start(
            lambda _job: page_of_photo_as_tagged(pipeline, data, photo, sha256, folder, title),
            done=done,
            failed=self.failed.emit,
        )

    # -- bookkeeping --------------------------------------------------------------------------------

    def _run(
        self, runner: Runner, text: str, work: Callable[[], object], done: Callable[[object], None],
        failed: Callable[[str], None] | None = None,
    ) -> None:
        """Start ``work`` for the current photo; its result is dropped if another photo was opened since.
        A failure goes to ``failed``, else to the window's ``failed`` message."""
        self._start(runner, text, lambda _job: work(), done, failed)

    def _start(
        self, runner: Runner, text: str, work: Callable[[Job], object], done: Callable[[object], None],
        failed: Callable[[str], None] | None = None,
    ) -> tuple[Task, int]:
        """``_run`` for ``work`` that takes its job (to be cancelled, as it is once another photo opens: ``_stop_tasks``):
        its task and its busy line's key. Cancelled, its busy line goes. Its result is dropped too once the photo's
        tags were found anew (``_detected``): it was for the tags then, found with the models then."""
        token, key, scene = self._token, next(self._keys), self.scene
        self._running[key] = text
        self.busyChanged.emit(text)

        def finish(handler: Callable, value: object) -> None:
            self._tasks.pop(key, None)
            if token != self._token:
                return
            self._running.pop(key, None)
            self.busyChanged.emit(next(reversed(self._running.values()), ""))
            if self.scene is scene:
                handler(value)

        task = self._tasks[key] = runner.start(
            work,
            done=lambda v: finish(done, v),
            failed=lambda message: finish(failed or self.failed.emit, message),
            cancelled=lambda _message: finish(lambda _v: None, None),
        )
        return task, key
