"""The catalog tab, batch tagging and first run without models, offscreen on real data."""

from __future__ import annotations

import csv
import os
import shutil
import threading
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QObject, QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from app.dialogs.batch import BatchDialog, time_left  # noqa: E402
from app.main_window import MAP_TAB, MainWindow  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.thumbnails import Thumbnails  # noqa: E402
from app.widgets.catalog_view import NO_MATCH  # noqa: E402
from app.widgets.map_view import CANCELLING, EMPTY, MapView  # noqa: E402
from app.workers import Job, Runner  # noqa: E402
from engine.batch import SUMMARY  # noqa: E402
from engine.errors import Cancelled  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.settings import Settings  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 90_000


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def make_window(qtbot, pipeline: Pipeline, settings: AppSettings) -> MainWindow:
    win = MainWindow(pipeline, settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine_info is not None, timeout=WAIT_MS)
    return win


@pytest.fixture
def small_catalog(tmp_path: Path, ikea: Path) -> Path:
    """Two category folders of three real IKEA product photos each."""
    root = tmp_path / "catalog-src"
    for category in ("clock", "mirror"):
        (root / category).mkdir(parents=True)
        for photo in sorted((ikea / "products" / category).glob("*.jpg"))[:3]:
            shutil.copy(photo, root / category / photo.name)
    return root


def test_import_search_filter_and_remove_in_the_catalog_view(qtbot, fresh_pipeline, settings, small_catalog):
    win = make_window(qtbot, fresh_pipeline, settings)
    view = win.catalog
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS) as finished:
        view.import_from(small_catalog)
    assert finished.args[0].added == 6
    qtbot.waitUntil(lambda: view.model.rowCount() == 6, timeout=WAIT_MS)
    assert [view.category.itemData(i) for i in range(view.category.count())] == [None, "clock", "mirror"]
    assert win.status_line.products.text() == "Catalog: 6 products"

    view.category.setCurrentIndex(view.category.findData("mirror"))
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=WAIT_MS)
    assert {p.category for p in view.model.products} == {"mirror"}
    sku = view.model.products[0].sku
    view.search.setText(sku)
    qtbot.waitUntil(lambda: [p.sku for p in view.model.products] == [sku], timeout=WAIT_MS)

    view.category.setCurrentIndex(0)
    view.search.setText("mirr")  # no name holds it: the empty grid points to the category box, which lists them
    qtbot.waitUntil(lambda: view.grid.placeholder != NO_MATCH and view.model.rowCount() == 0, timeout=WAIT_MS)
    assert view.grid.placeholder == ("No product's name or SKU holds “mirr”. To list a category, choose it in the "
                                     "box beside: Mirror (3).")
    view.search.clear()
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() == 6, timeout=WAIT_MS)
    view.grid.selectionModel().select(view.model.index(0), view.grid.selectionModel().SelectionFlag.Select)
    view.confirm_removal = lambda _count: True
    gone = view.selected_skus()
    view.remove_selected()
    qtbot.waitUntil(lambda: view.model.rowCount() == 5, timeout=WAIT_MS)
    assert gone[0] not in {p.sku for p in view.model.products}
    # the index followed the catalog: the removed product can no longer be matched
    matches = fresh_pipeline.match([_product_image(small_catalog, gone[0])], [None], top_k=6)[0]
    assert gone[0] not in {m.sku for m in matches} and len(matches) == 5


def test_the_empty_catalogs_call_to_action_goes_once_answered(qtbot, fresh_pipeline, settings, small_catalog,
                                                               scene_path):
    """"The catalog is empty … Open catalog" went on saying so beside "Importing 64 of 1,955 products…": it
    goes when its button is pressed, and an import started from the menu replaces it. It showed under the
    empty catalog's page too, which says the same with its own buttons: it shows once a photo replaces that
    page."""
    from app.main_window import CATALOG_TAB

    win = make_window(qtbot, fresh_pipeline, settings)
    bar = win.message
    assert win.photo_stack.currentWidget() is win.welcome and not bar.isVisible()
    win.open_paths([scene_path("bed-that-folds")])
    qtbot.waitUntil(lambda: bar.isVisible() and "catalog is empty" in bar.text.text(), timeout=WAIT_MS)
    assert win.photo_stack.currentWidget() is win.splitter
    bar.button.click()
    assert win.tabs.currentIndex() == CATALOG_TAB and not bar.isVisible()
    win.show_message("The catalog is empty: import your products to get matches.", "info", "Open catalog")
    with qtbot.waitSignal(win.catalog.importFinished, timeout=WAIT_MS):
        win.catalog.import_from(small_catalog)
        assert bar.text.text() == f"Importing {small_catalog.name}…"


def test_filtering_the_catalog_does_not_announce_a_changed_catalog(qtbot, pipeline, settings):
    """A search or category filter is not a catalog change: it used to mark the Map tab stale, so coming back
    to it re-read and redrew the whole map on the UI thread (250 ms for 1,955 products, seconds for 20,000)."""
    win = make_window(qtbot, pipeline, settings)
    view = win.catalog
    qtbot.waitUntil(lambda: view.model.rowCount() > 0, timeout=WAIT_MS)
    everything = view.model.rowCount()
    win.map_view.stale = False  # as after the map was shown: only a catalog change may make it stale again
    announced: list[int] = []
    view.catalogChanged.connect(announced.append)
    name = view.model.products[0].name
    view.search.setText(name)
    qtbot.waitUntil(lambda: 0 < view.model.rowCount() < everything, timeout=WAIT_MS)
    assert all(name.lower() in (p.name + p.sku).lower() for p in view.model.products)
    view.search.clear()
    index = view.category.findData(view.model.products[0].category)
    view.category.setCurrentIndex(index)
    view.category.activated.emit(index)
    qtbot.waitUntil(lambda: view.model.rowCount() == pipeline.catalog.category_counts()[view.category.currentData()],
                    timeout=WAIT_MS)
    assert announced == [] and not win.map_view.stale

    with qtbot.waitSignal(view.catalogChanged, timeout=WAIT_MS):
        view.refresh()  # what an import, a removal or a new pipeline calls
    assert announced == [pipeline.catalog.count()] and win.map_view.stale


def test_the_map_of_an_empty_catalog_says_so_and_reports_no_error(qtbot, fresh_pipeline, settings):
    """A fresh install's Map tab: one plain line, not the engine's "no <embedder key> vectors" error."""
    win = make_window(qtbot, fresh_pipeline, settings)
    reported = []
    win.map_view.message.connect(lambda text, level: reported.append((level, text)))
    win.tabs.setCurrentIndex(MAP_TAB)
    view = win.map_view
    qtbot.waitUntil(lambda: view.task is None and view.status.text() == EMPTY, timeout=WAIT_MS)
    assert reported == [] and not view.canvas.points and view.result is None
    # Refresh and Compare with… made the empty map again: greyed, saying what they wait for
    assert not view.recompute.isEnabled() and not view.compare.isEnabled()
    assert "no products" in view.recompute.toolTip() and "no products" in view.compare.toolTip()


def test_an_empty_catalog_tab_says_what_to_import(qtbot, fresh_pipeline, settings, small_catalog):
    """A fresh install's Catalog tab was a blank grid: it says what the two import buttons take, and a search
    that finds nothing says so."""
    from app.widgets.catalog_view import EMPTY_CATALOG, NO_MATCH

    win = make_window(qtbot, fresh_pipeline, settings)
    grid = win.catalog.grid
    win.tabs.setCurrentWidget(win.catalog)
    qtbot.waitUntil(lambda: grid.placeholder == EMPTY_CATALOG, timeout=WAIT_MS)
    picture = grid.viewport().grab().toImage()
    middle = {picture.pixel(x, picture.height() // 2 + dy) for x in range(picture.width()) for dy in range(-20, 21)}
    assert len(middle) > 2  # words drawn across the middle, not one blank colour
    with qtbot.waitSignal(win.catalog.importFinished, timeout=WAIT_MS):
        win.catalog.import_from(small_catalog)
    win.catalog.search.setText("no such product anywhere")
    qtbot.waitUntil(lambda: grid.placeholder == NO_MATCH and grid.model().rowCount() == 0, timeout=WAIT_MS)


def test_cancelling_the_map_says_so_until_the_engine_stops(qtbot, pipeline, qapp):
    """The engine stops a map only at its next step (seconds to half a minute later): Cancel is acknowledged at
    once and stays acknowledged, where the next progress report used to put "Computing the map…" back."""
    view = MapView(pipeline, Runner(1, qapp), Thumbnails(Runner(1, qapp)))
    qtbot.addWidget(view)
    release = threading.Event()

    def slow_map(_pipeline, job: Job):  # a step the engine cannot interrupt; it still reports progress
        job.progress(1, 10)
        while not job.cancelled():
            release.wait(0.01)
        job.progress(2, 10)
        release.wait(WAIT_MS / 1000)
        raise Cancelled("the catalog map was cancelled")

    view._map_of = slow_map
    view.refresh()
    qtbot.waitUntil(lambda: view.progress.value() == 1, timeout=WAIT_MS)
    view.cancel.click()
    qtbot.waitUntil(lambda: view.progress.value() == 2, timeout=WAIT_MS)  # a report after the click
    assert view.status.text() == CANCELLING and not view.cancel.isEnabled()
    release.set()
    qtbot.waitUntil(lambda: view.task is None, timeout=WAIT_MS)
    assert "cancelled" in view.status.text() and view.cancel.isHidden()
    view.refresh()
    assert view.cancel.isEnabled()  # the next map can be cancelled again
    view.cancel.click()
    qtbot.waitUntil(lambda: view.task is None, timeout=WAIT_MS)


def test_cancelling_an_import_leaves_the_catalog_as_it_was(qtbot, fresh_pipeline, settings, ikea, tmp_path):
    folder = tmp_path / "big" / "storage_furniture"
    folder.mkdir(parents=True)
    for photo in sorted((ikea / "products" / "storage_furniture").glob("*.jpg"))[:140]:  # 3 chunks of 64
        (folder / photo.name).symlink_to(photo)
    view = make_window(qtbot, fresh_pipeline, settings).catalog
    said: list[tuple[str, str]] = []
    view.message.connect(lambda text, level: said.append((text, level)))
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS) as finished:
        view.import_from(folder.parent)
        qtbot.waitUntil(lambda: view.progress.value() > 0, timeout=WAIT_MS)  # first chunk stored
        view.cancel.click()
    # in the app's words, as its other messages: the engine's ("import cancelled; the catalog is unchanged") began
    # lower-case in the message bar
    assert finished.args[0] == "The import of big was cancelled; the catalog is unchanged."
    assert said[-1] == (finished.args[0], "info")
    assert fresh_pipeline.catalog.count() == 0
    assert view.progress_row.isHidden() and view.import_folder.isEnabled()


def test_an_import_that_took_nothing_says_so_as_an_error(qtbot, fresh_pipeline, settings, ikea, tmp_path):
    """Photos dropped in a folder without category subfolders are all skipped: a green "Catalog import done:
    0 added …" read as a success."""
    folder = tmp_path / "loose"
    folder.mkdir()
    for photo in sorted((ikea / "products" / "clock").glob("*.jpg"))[:2]:
        shutil.copy(photo, folder / photo.name)
    view = make_window(qtbot, fresh_pipeline, settings).catalog
    said: list[tuple[str, str]] = []
    view.message.connect(lambda text, level: said.append((text, level)))
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
        view.import_from(folder)
    text, level = said[-1]
    assert level == "error" and text.startswith("Nothing imported from loose: 2 skipped.\nSkipped ")
    assert fresh_pipeline.catalog.count() == 0


def test_products_a_feed_dropped_are_named_listed_and_selected_for_removal(qtbot, fresh_pipeline, settings, ikea,
                                                                          ikea_products, tmp_path):
    """A weekly feed that dropped 2 of last week's products said "Catalog import done: 0 added, 0 updated,
    4 unchanged." and left them in the catalog, matched in photos, with no way to find them but by SKU."""
    from ikea_feed import write_feed

    clocks = [r for r in ikea_products if r["category"] == "clock"][:6]
    win = make_window(qtbot, fresh_pipeline, settings)
    view = win.catalog
    said: list[tuple[str, str]] = []
    view.message.connect(lambda text, level: said.append((text, level)))
    for week, rows in (("week1.csv", clocks), ("week2.csv", clocks[2:])):
        with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
            view.import_from(write_feed(ikea, rows, tmp_path / week))
    dropped = sorted(r["product_id"] for r in clocks[:2])
    text, level = said[-1]
    assert level == "done" and f"2 products of the catalog are not in week2.csv (kept): {', '.join(dropped)}" in text
    qtbot.waitUntil(lambda: sorted(view.selected_skus()) == dropped, timeout=WAIT_MS)
    assert view.only_chip.text() == "Not in week2.csv: 2 ✕" and view.remove.isEnabled()
    assert fresh_pipeline.catalog.count() == 6
    # a report of several lines stays until closed: it faded in 8 seconds, as one line of news does
    assert win.message.isVisible() and win.message.waiting and "not in week2.csv" in win.message.text.text()
    # removed as the message says, the whole catalog is listed again: an empty grid said "No product matches the
    # search or category" under a chip still counting the 2
    asked: list[int] = []
    view.confirm_removal = lambda count: asked.append(count) or True
    with qtbot.waitSignal(view.removed, timeout=WAIT_MS):
        view.remove_selected()
        # said while it runs, Remove selected off: a second Delete asked again, then said "Removed 0 products"
        assert said[-1] == ("Removing 2 products from the catalog…", "info") and not view.remove.isEnabled()
        view.remove_selected()
    assert asked == [2]
    qtbot.waitUntil(lambda: view.model.rowCount() == 4, timeout=WAIT_MS)
    assert view.only is None and view.only_chip.isHidden() and view.count.text() == "4 shown"



def test_a_photo_replaced_at_its_path_shows_its_new_thumbnail_after_the_import(qtbot, fresh_pipeline, settings,
                                                                               small_catalog, ikea):
    """A supplier's photo replaced at the same URL (its cached copy keeps its path) or a folder's file overwritten:
    the import stored the new photo, and the catalog kept showing the old thumbnail until the app restarted."""
    win = make_window(qtbot, fresh_pipeline, settings)
    view = win.catalog
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
        view.import_from(small_catalog)
    photo = next((small_catalog / "clock").glob("*.jpg"))
    qtbot.waitUntil(lambda: view.model.thumbnails.get(str(photo)) is not None, timeout=WAIT_MS)
    before = view.model.thumbnails.get(str(photo)).toImage()
    shutil.copy(next((ikea / "products" / "sofa").glob("*.jpg")), photo)
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS) as finished:
        view.import_from(small_catalog)
    assert finished.args[0].changed.get("image_hash") == 1
    qtbot.waitUntil(lambda: view.model.thumbnails.get(str(photo)) is not None, timeout=WAIT_MS)
    assert view.model.thumbnails.get(str(photo)).toImage() != before


def test_every_skipped_row_of_an_import_is_said_on_a_line_of_its_own(qtbot, fresh_pipeline, settings, ikea,
                                                                    ikea_products, tmp_path):
    """A feed with a SKU given twice and a row whose photo is missing said "…, 2 skipped; first skipped: C-1 — the
    same SKU comes again later…": the missing photo was named nowhere in the app. A newline in a path stays on
    its line; past five rows the rest are counted."""
    from ikea_feed import write_feed

    clocks = [r for r in ikea_products if r["category"] == "clock"][:2]
    bad = [("C-1", "first", "clock", str(ikea / clocks[0]["image"])), ("C-1", "again", "clock", str(ikea / clocks[1]["image"])),
           ("GONE", "photo missing", "clock", str(tmp_path / "gone.jpg")),
           ("NL", "path with a newline", "clock", str(tmp_path / "two\nlines.jpg"))]
    view = make_window(qtbot, fresh_pipeline, settings).catalog
    said: list[tuple[str, str]] = []
    view.message.connect(lambda text, level: said.append((text, level)))
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
        view.import_from(write_feed(ikea, clocks, tmp_path / "feed.csv", extra=bad))
    from app.widgets.catalog_view import FIRST_IMPORT_NEXT, skipped_lines

    text, level = said[-1]
    assert level == "done" and text.split("\n") == [
        "Catalog import done: 3 added, 3 skipped.",
        "Skipped C-1: the same SKU comes again later (line 5); that later row is kept",
        f"Skipped GONE: {tmp_path / 'gone.jpg'}: no such file",
        f"Skipped NL: {tmp_path}/two\\u000alines.jpg: no such file",
        FIRST_IMPORT_NEXT,
    ]
    assert skipped_lines([(f"S-{n}", "no such file") for n in range(1, 1008)])[4:] == [
        "Skipped S-5: no such file", "… and 1,002 more skipped."]


def test_an_import_says_which_products_no_tag_will_match(qtbot, fresh_pipeline, settings, ikea, ikea_products,
                                                         tmp_path):
    """A product of the feed's category "spaceship" was "added" in green, and no photo could ever match it."""
    from ikea_feed import write_feed

    clocks = [r for r in ikea_products if r["category"] == "clock"][:2]
    view = make_window(qtbot, fresh_pipeline, settings).catalog
    said: list[tuple[str, str]] = []
    view.message.connect(lambda text, level: said.append((text, level)))
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
        view.import_from(write_feed(ikea, clocks[:1], tmp_path / "feed.csv", extra=[
            ("BAD-CAT", "clock", "spaceship", str(ikea / clocks[1]["image"]))]))
    assert said[-1][0].split("\n")[1:-1] == [(
        "1 product in a category no tag searches, so no photo will match it: spaceship (1); correct the feed, or "
        "add it to the data folder's categories.yaml.")]


def _product_image(root: Path, sku: str):
    from engine.imageio import load_image

    return load_image(next(root.rglob(f"{sku}.jpg")))


class _MovesWhileRunning(QObject):
    """Where the batch dialog's Cancel button moved to while a batch ran."""

    def __init__(self, dialog: BatchDialog):
        super().__init__(dialog)
        self.dialog, self.seen = dialog, []
        dialog.cancel_button.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Move and self.dialog.task is not None:
            self.seen.append(watched.pos().toTuple())
        return False


def test_batch_writes_cli_outputs_and_pages_and_can_be_cancelled(qtbot, pipeline, scene_path, tmp_path, qapp):
    photos = tmp_path / "photos"
    photos.mkdir()
    for fragment in ("bed-that-folds", "bright-kitchen", "contemporary-kitchen"):
        shutil.copy(scene_path(fragment), photos)
    # two that fail, sorted last: the summary said "2 failed, e.g. <the first>", the second photo and why unsaid
    (photos / "truncated.jpg").write_bytes(scene_path("rustic-way").read_bytes()[:20_000])
    (photos / "x.jpg").write_text("not a photo")
    out = tmp_path / "tagged"
    dialog = BatchDialog(pipeline, Runner(2, qapp), 3)
    qtbot.addWidget(dialog)
    dialog.source.setText(str(photos))
    dialog.target.setText(str(out))
    dialog.show()
    # the progress line's 1 to 3 lines (Just done, kept) grew the dialog, moving the buttons under the mouse
    moves = _MovesWhileRunning(dialog)
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS) as finished:
        dialog.start()
        qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=WAIT_MS)
        dialog.cancel()
    assert "cancelled" in finished.args[0]
    pages, results = sorted(out.glob("*.html")), sorted(out.glob("*.json"))
    assert 1 <= len(results) < 3
    assert [p.stem for p in pages] == [r.stem for r in results]
    with open(out / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {Path(r["scene"]).stem for r in rows} == {r.stem for r in results}
    page = pages[0].read_text()
    assert page.count('class="spot"') >= 3 and (out / "images" / f"{pages[0].stem}.jpg").is_file()
    assert dialog.start_button.isEnabled()
    # Start again tags only the rest: the photos the cancelled batch tagged are kept (they were all tagged again)
    assert finished.args[0].endswith("Start again tags the rest.")
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS) as again:
        dialog.start()
    assert [p.stem for p in again.args[0].kept] == [r.stem for r in results] and len(again.args[0].done) == 3
    said = dialog.status.text()
    assert said.startswith("Tagged 3 of 5 photos (") and f"{len(results)} kept as the last batch tagged them" in said
    assert said.endswith("\n2 photos could not be tagged (summary.csv lists each with why):\n"
                         "  truncated.jpg: cannot decode image (file is truncated)\n"
                         "  x.jpg: not an image (unknown or unsupported format; DecorLens reads JPEG, PNG, WEBP, GIF, "
                         "BMP, TIFF, AVIF, HEIF)")
    # as a big folder's batch reports: not "Tagged 1500", which counted failures; "done…" alone said not which photo,
    # how long, nor that the photos of the cancelled run were kept. The time left counts the photos tagged (5 - kept).
    dialog._progress(1500, 2000)
    first, last, kept = dialog.status.text().split("\n")
    assert first.startswith("Tagging: 1,500 of 2,000 photos done, 500 to go · ") and first.endswith(" left…")
    assert (last, kept) == ("Just done: x.jpg (could not be tagged)", f"{len(results)} kept as the last batch tagged them (not tagged again)")
    assert moves.seen == []


def test_the_batchs_time_left_is_rounded_as_it_is_sure():
    assert [time_left(s) for s in (4, 45, 94, 3_000, 5_000)] == [
        "a few seconds", "under a minute", "about 2 min", "about 50 min", "about 1 h 23 min"]


def test_escape_during_a_batch_cancels_it_and_the_dialog_stays_to_say_what_was_saved(qtbot, pipeline, scene_path,
                                                                                        tmp_path, qapp):
    """Escape hid the dialog (and the window's, deleted on close, with it) while its batch ran on to the end
    with no Cancel, and each progress report then hit a deleted progress bar."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for fragment in ("bed-that-folds", "bright-kitchen", "contemporary-kitchen"):
        shutil.copy(scene_path(fragment), photos)
    dialog = BatchDialog(pipeline, Runner(2, qapp), 1)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.source.setText(str(photos))
    dialog.target.setText(str(tmp_path / "tagged"))
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS) as finished:
        dialog.start()
        qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=WAIT_MS)
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
        assert dialog.isVisible() and "Cancelling" in dialog.status.text()
    assert "cancelled" in finished.args[0] and dialog.isVisible() and "saved in" in dialog.status.text()
    assert len(list((tmp_path / "tagged").glob("*.json"))) < 3
    QTest.keyClick(dialog, Qt.Key.Key_Escape)  # nothing runs now: Escape closes
    assert not dialog.isVisible()


def test_a_batch_that_finds_no_photos_says_so_and_shows_no_busy_bar(qtbot, fresh_pipeline, tmp_path, qapp):
    dialog = BatchDialog(fresh_pipeline, Runner(2, qapp), 3)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.source.setText(str(tmp_path / "no-such-folder"))
    dialog.target.setText(str(tmp_path / "tagged"))
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS) as finished:
        dialog.start()
        # held while it runs: a Save to edited then was named by the summary and opened, though never written to
        assert not any(w.isEnabled() for w in (dialog.source, dialog.target, dialog.top_k))
    assert "no photos" in finished.args[0].lower() and "no photos" in dialog.status.text().lower()
    assert dialog.start_button.isEnabled() and not dialog.progress.isVisible()
    assert all(w.isEnabled() for w in (dialog.source, dialog.target, dialog.top_k))


def test_a_batch_that_tags_no_photo_says_each_ones_reason_and_claims_no_page(qtbot, pipeline, tmp_path, qapp):
    """It said "Tagged 0 of 1 photos (0 tags). Each photo has its shoppable page (.html)…", as `decorlens tag` says
    "…: not an image (…); nothing was tagged"."""
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "x.jpg").write_text("not a photo")
    dialog = BatchDialog(pipeline, Runner(2, qapp), 1, folder=photos)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS):
        dialog.start()
    assert dialog.status.text() == (
        "The photo could not be tagged, so no page was written (summary.csv lists it with why):\n"
        "  x.jpg: not an image (unknown or unsupported format; DecorLens reads JPEG, PNG, WEBP, GIF, BMP, TIFF, AVIF, "
        "HEIF)")


def test_a_batch_leaves_its_output_folder_out_and_refuses_the_photos_folder_as_output(qtbot, pipeline, scene_path,
                                                                                     tmp_path, qapp):
    """Saving into the photos folder mixed the pages' pictures into it; saving below it, a second run tagged
    the first's page pictures as rooms (as `decorlens tag` did)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(scene_path("bed-that-folds"), photos)
    dialog = BatchDialog(pipeline, Runner(2, qapp), 1)
    qtbot.addWidget(dialog)
    dialog.source.setText(str(photos))
    dialog.target.setText(str(photos))
    dialog.start()
    assert "folder of their own" in dialog.status.text() and dialog.task is None
    dialog.target.setText(str(photos / "tagged"))
    for _run in range(2):
        with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT_MS) as finished:
            dialog.start()
        assert len(finished.args[0].done) == 1, finished.args[0]  # the photo, not the pages' pictures


def test_a_corrupt_catalog_is_reported_in_the_window(qtbot, tmp_path, settings, exported_models):
    data = tmp_path / "data"
    shutil.copytree(exported_models, data / "models")
    (data / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    win = make_window(qtbot, Pipeline(Settings.defaults().with_(data_dir=data)), settings)
    qtbot.waitUntil(lambda: win.message.isVisible() and win.message.level == "error", timeout=WAIT_MS)
    assert "catalog.sqlite" in win.message.text.text() and win.isVisible()


def test_missing_models_show_what_is_missing_instead_of_crashing(qtbot, tmp_path, settings):
    empty = tmp_path / "no-models"
    empty.mkdir()
    pipeline = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data", models_dir=empty))
    win = make_window(qtbot, pipeline, settings)
    assert win.engine_info.missing
    assert win.photo_stack.currentWidget() is win.setup
    text = win.setup.error.text()  # what was looked for; the fix is the page's buttons, not a command line the
    assert "not found" in text and "decorlens models" not in text  # packaged app does not have
    assert win.setup.from_folder.isVisibleTo(win) and win.setup.download.isVisibleTo(win)
    assert win.status_line.models.text() == "Models missing"


def test_an_import_waiting_for_another_writer_says_so_on_the_status_bar(qtbot, fresh_pipeline, settings,
                                                                       small_catalog):
    """Another DecorLens writing the catalog holds its lock (for minutes, on a big import): the engine says it
    waits, but the app dropped the line and showed only a busy bar, for up to two minutes."""
    import sqlite3

    from app.engine_notes import EngineNotes

    notes = EngineNotes()
    pipeline = Pipeline(fresh_pipeline.settings, notes.note)
    win = MainWindow(pipeline, settings, notes=notes)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine_info is not None, timeout=WAIT_MS)
    other = sqlite3.connect(pipeline.catalog.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the other DecorLens, importing
    try:
        with qtbot.waitSignal(win.catalog.importFinished, timeout=WAIT_MS) as finished:
            win.catalog.import_from(small_catalog)
            qtbot.waitUntil(lambda: "Waiting for another DecorLens" in win.statusBar().currentMessage(),
                            timeout=WAIT_MS)
            other.execute("ROLLBACK")
    finally:
        other.close()
    assert finished.args[0].added == 6
    assert win.statusBar().currentMessage().startswith("The other DecorLens has finished")  # no stale "waiting"


@pytest.mark.parametrize("products", [5, 40])  # one row, no scroll bar; rows past the bottom, a scroll bar
def test_the_product_grid_fills_each_row_whatever_the_width(qtbot, products):
    """At a width its columns divided exactly, or with no scroll bar shown (QListView keeps its room anyway),
    the grid laid one column fewer out than it sized its cells for: a tile-wide empty strip on the right."""
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QListView

    from app.widgets.catalog_view import TILE, ProductGrid

    grid, model = ProductGrid(), QStandardItemModel()
    for n in range(products):
        model.appendRow(QStandardItem(str(n)))
    grid.setViewMode(QListView.ViewMode.IconMode)
    grid.setResizeMode(QListView.ResizeMode.Adjust)
    grid.setMovement(QListView.Movement.Static)
    grid.setUniformItemSizes(True)
    grid.setModel(model)
    qtbot.addWidget(grid)
    grid.show()
    short = []
    for width in range(500, 1400):
        grid.resize(width, 600)
        QTest.qWait(0)
        columns = len({grid.visualRect(model.index(n, 0)).center().x() for n in range(products)})
        strip = grid.viewport().width() - columns * grid.gridSize().width()
        if columns < products and strip >= TILE.width() // 2:
            short.append((width, columns, strip))
    assert short == []


def test_the_category_box_and_buttons_are_never_cut_whatever_the_windows_width(qtbot, fresh_pipeline, settings, ikea,
                                                                                ikea_products, tmp_path):
    """Beside the Map selection chip the category box was squeezed to "All categories (33" at the window's least
    width, and the search box to "S…": from the least width to a wide one, the box keeps its longest entry's width,
    the search box its placeholder's, and the buttons theirs (on a row of their own below where the row is full).
    A chip naming a long feed does not widen the window."""
    from ikea_feed import write_feed

    rows = [r for category in ("armchair", "tableware_kitchenware", "clock")
            for r in [p for p in ikea_products if p["category"] == category][:2]]
    win = make_window(qtbot, fresh_pipeline, settings)
    view = win.catalog
    win.tabs.setCurrentWidget(view)
    with qtbot.waitSignal(view.importFinished, timeout=WAIT_MS):
        view.import_from(write_feed(ikea, rows, tmp_path / "feed.csv"))
    qtbot.waitUntil(lambda: view.model.rowCount() == len(rows), timeout=WAIT_MS)
    least = win.minimumSizeHint().width()
    view.show_skus([row["product_id"] for row in rows[:2]])
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=WAIT_MS)
    assert view.only_chip.isVisible() and view.category.count() == 4
    cut = []
    for width in [*range(least, 1400, 9), 1360]:
        win.resize(width, 700)
        QTest.qWait(0)
        cut += [(width, *widths) for widths in _cut_widgets(view)]
    assert cut == []
    assert view.category.sizeHint().width() >= view.category.fontMetrics().horizontalAdvance("All categories (6)")
    view.show_skus([rows[0]["product_id"]], "Not in supplier-range-autumn-winter-2026-week-49-final-v2.csv")
    win.resize(least, 700)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=WAIT_MS)
    assert win.minimumSizeHint().width() == least and win.width() == least and _cut_widgets(view) == []
    assert view.only_chip.text().endswith("-v2.csv: 1 ✕") and "…" in view.only_chip.text()


def _cut_widgets(view) -> list[tuple]:
    """The search row's widgets narrower than their text, or past the tab's right edge: (name, width, needed)."""
    search = view.search
    needs = [(search, search.fontMetrics().horizontalAdvance(search.placeholderText()))]
    needs += [(w, w.sizeHint().width()) for w in (view.category, view.only_chip, view.order, view.import_folder,
                                                   view.import_csv, view.remove, view.find_duplicates)]
    return [(type(w).__name__, w.width(), needed) for w, needed in needs
            if w.isVisible() and (w.width() < needed or w.mapTo(view, w.rect().topRight()).x() > view.width())]
