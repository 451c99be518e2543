"""A seeded random walk over the real main window: a day of clicking in a minute, with the window's promises
checked after every step.

The window runs over a data dir of its own with a small real catalog (IKEA products of the scenes walked, imported
by the real importer, its map computed), a few real scene photos and a folder of them. ``random.Random(seed)``
picks one of the user's actions (open a photo or a folder, Stop the listing, Page Up/Down, switch tabs, hover,
click and key through pins, confirm, remove and re-categorise tags, draw a box, undo and redo, select products,
Where used's two tabs and its Goes with, a product photo dropped on it or chosen from the menu, the map's Show
in Catalog and its chip, a catalog search, a removal in the Catalog tab or by the CLI in another process, a re-import, the shoppable
page, a pasted picture or web address). Some actions follow the one before at once, while its work runs; the others
wait for the window to settle (no worker running) and then check what the user sees against what is so: the pins
are the scene's visible tags, the matches panel shows the current tag's matches with the removed products marked,
the saved edits and the scene memory are what the photo shows, the Catalog grid and the map hold what the catalog
holds, Where used's title is about what is selected or searched, Undo/Redo follow the stack, the status bar counts
the catalog, no busy sign or mouse button is left, no slot raised and no 'unexpected error' was said. A failure
names the seed and step and prints the steps up to it, so ``SEEDS`` reproduces it (a walk that took a step at once
may depend on timing too).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from file_drop import drop_file
from ikea_feed import write_feed

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage

from app.dialogs.shoppable import PageExport
from app.labels import product_title
from app.main_window import CATALOG_TAB, MAP_TAB, PHOTO_TAB, MainWindow
from app.widgets.photo_strip import caption
from app.widgets.results_panel import GONE
from app.widgets.where_used import LOOKS_LIKE, MATCHED, NOTHING
from engine import corrections
from engine.corrections import surest
from engine.pipeline import Pipeline
from engine.scene_memory import where_used
from engine.settings import Settings

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parent.parent
SEEDS = (2026,)  # each walk is reproducible from its seed alone; one in CI (its 2 cores give the suite 20 min)
STEPS = 120
SCENES = (  # photos whose products are in the catalog, and two whose are not
    "a-leather-look-made-for-lounging", "have-fun-with-flexible-stackable-storage",
    "a-bed-that-folds-away-to-be-a-sofa-by-day", "a-bright-kitchen-idea", "a-cosy-base-camp",
)
IN_FOLDER = SCENES[1:4]
PRODUCTS = 40
SETTLE_MS = 120_000
QUICK = 0.3  # the share of actions taken at once after the one before, while its work runs


@pytest.fixture(scope="module")
def walk_data(tmp_path_factory: pytest.TempPathFactory, ikea: Path, ikea_products: list[dict[str, str]],
              ikea_pairs: list[dict[str, str]]) -> tuple[Path, Path]:
    """A data dir with the products of the walked scenes (``PRODUCTS`` of them) imported and mapped, and the
    feed that imported them (a re-import puts back what a walk removed)."""
    root = tmp_path_factory.mktemp("walk")
    wanted = {p["product_id"] for p in ikea_pairs if any(s in p["scene_id"] for s in SCENES[:3])}
    rows = [r for r in ikea_products if r["product_id"] in wanted][:PRODUCTS]
    feed = write_feed(ikea, rows, root / "feed.csv")
    pipeline = Pipeline(Settings.defaults().with_(data_dir=root / "data"))
    assert pipeline.import_catalog(feed).added == len(rows)
    if _has_opentsne():
        from engine.catalog_map import catalog_map

        catalog_map(pipeline.catalog, pipeline.embedder, pipeline.data_dir)
    pipeline.catalog.close()
    return root / "data", feed


def _has_opentsne() -> bool:
    try:
        import openTSNE  # noqa: F401
    except ImportError:
        return False
    return True


def _cli(data: Path, *argv: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "decorlens", "-q", "--data-dir", str(data), *argv],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr


class Walk:
    """The window, the dice and what the user did; each ``do_…`` is one thing a user does."""

    def __init__(self, qtbot, win: MainWindow, seed: int, data: Path, feed: Path, scenes: list[Path],
                 folder: Path, work: Path, monkeypatch):
        self.qtbot, self.win, self.rng, self.seed = qtbot, win, random.Random(seed), seed
        self.data, self.feed, self.scenes, self.folder, self.work = data, feed, scenes, folder, work
        self.log: list[str] = []
        self.number = 0  # the step being taken
        self.pin_walked = False  # the keyboard moved the current pin (Tab, arrows, Escape), not opening it
        self.after: list[Callable[[], list[str]]] = []  # checks of the last step, once settled
        self.messages: list[str] = []
        monkeypatch.setattr(win.message, "show_message", self._said(win.message.show_message))
        monkeypatch.setattr("app.main_window.QFileDialog.getExistingDirectory", lambda *_a, **_k: str(work / "page"))
        monkeypatch.setattr("app.main_window.PageExportDialog.ask", lambda *_a, **_k: PageExport(work / "page", ""))
        self._product_photo = work / "supplier.jpg"
        monkeypatch.setattr("app.main_window.QFileDialog.getOpenFileName",
                            lambda *_a, **_k: (str(self._product_photo), ""))
        win.catalog.confirm_removal = lambda _count: True
        win.settings.max_tags = self.rng.choice((0, 5))  # Settings ▸ Tags on a photo: all, or the surest few

    def _said(self, show: Callable) -> Callable:
        def show_message(text: str, level: str = "info", action: str = "", page: int | None = None,
                         kept: bool = False) -> None:
            self.messages.append(f"{level}: {text}")
            show(text, level, action, page, kept)

        return show_message

    def note(self, text: str) -> None:
        self.log.append(f"{self.number:3}. {text}")

    # -- the actions ------------------------------------------------------------------------------

    def actions(self) -> list[tuple[Callable[[], None], int]]:
        """Each action with its weight: the photo's editing most often, the CLI rarely (a process of its own)."""
        return [
            (self.do_open_photo, 6), (self.do_open_folder, 3), (self.do_stop_listing, 2), (self.do_page, 5),
            (self.do_switch_tab, 5), (self.do_hover_pin, 5), (self.do_click_pin, 8), (self.do_confirm, 6),
            (self.do_remove_tag, 4), (self.do_recategorise, 4), (self.do_scope, 3), (self.do_undo, 6),
            (self.do_redo, 4), (self.do_select_products, 6), (self.do_where_used_mode, 4),
            (self.do_product_photo, 3), (self.do_map_selection, 3), (self.do_chip, 3), (self.do_search, 4),
            (self.do_cli_remove, 2), (self.do_app_remove, 2), (self.do_reimport, 2), (self.do_export_page, 2),
            (self.do_paste, 2), (self.do_draw_box, 2), (self.do_keys, 5), (self.do_check_details, 1),
            (self.do_why, 1), (self.do_drop_on_window, 2), (self.do_open_sighting, 3), (self.do_goes_with, 2),
        ]

    def step(self) -> None:
        """One action that could be taken (a Redo with nothing to redo is drawn again)."""
        actions, weights = zip(*self.actions(), strict=True)
        for _ in range(20):
            before = len(self.log)
            self.rng.choices(actions, weights)[0]()
            if len(self.log) > before:
                return

    def do_open_photo(self) -> None:
        path = self.rng.choice(self.scenes)
        self.note(f"open photo {path.name}")
        self.win.open_paths([path])

    def do_open_folder(self) -> None:
        self.note("open folder")
        self.win.open_paths([self.folder])

    def do_stop_listing(self) -> None:
        """Open the folder and press Stop in the status bar while it is listed, at some point of the listing."""
        self.note("open folder, Stop")
        self.win.open_paths([self.folder])
        self.qtbot.wait(self.rng.randint(0, 30))
        if self.win.listing_status.isVisible():
            self.win.listing_status.stop.click()
        else:
            self.win.stop_listing()

    def do_page(self) -> None:
        forward = self.rng.random() < 0.7
        self.note("Page Down" if forward else "Page Up")
        self.win.photo_actions[0 if forward else 1].trigger()

    def do_switch_tab(self) -> None:
        tab = self.rng.choice((PHOTO_TAB, CATALOG_TAB, MAP_TAB))
        self.note(f"tab {tab}")
        self.win.tabs.setCurrentIndex(tab)

    def _pin(self) -> int | None:
        return self.rng.choice(sorted(self.win.view.pins)) if self.win.view.pins else None

    def do_hover_pin(self) -> None:
        number = self._pin()
        if number is None:
            return
        self.note(f"hover pin {number}")
        pin = self.win.view.pins[number]
        pin.hovered.emit(number, True)
        if self.rng.random() < 0.5:
            pin.hovered.emit(number, False)

    def do_click_pin(self) -> None:
        """Click a pin on the photo page; another pin drawn over it may take the click, as it would a user's."""
        self.win.tabs.setCurrentIndex(PHOTO_TAB)
        number = self._pin()
        if number is None:
            return
        self.note(f"click pin {number}")
        self.pin_walked = False
        view = self.win.view
        self.qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(view.pins[number].pos()))

    def do_keys(self) -> None:
        """Keys on the photo: Tab and arrows walk the pins, Enter opens one, Delete removes it, Escape lets go."""
        self.win.tabs.setCurrentIndex(PHOTO_TAB)
        if not self.win.view.pins:
            return
        key = self.rng.choice((Qt.Key.Key_Tab, Qt.Key.Key_Right, Qt.Key.Key_Left, Qt.Key.Key_Return,
                               Qt.Key.Key_Return, Qt.Key.Key_Delete, Qt.Key.Key_Escape))
        self.note(f"key {key.name} on the photo (current {self.win.view.current})")
        if key == Qt.Key.Key_Return:
            self.pin_walked = self.pin_walked and self.win.view.current is None  # opened: the panel follows
        elif key != Qt.Key.Key_Delete:
            self.pin_walked = True
        self.win.view.setFocus()
        self.qtbot.keyClick(self.win.view, key)

    def do_check_details(self) -> None:
        if self.win.panel.tag is not None and self.win.panel.check.isEnabled():
            self.note(f"Check details of tag {self.win.panel.number}")
            self.win.panel.check.click()

    def do_why(self) -> None:
        if self.win.panel.tag is not None:
            self.note(f"Why this match? {'off' if self.win.panel.why.isChecked() else 'on'}")
            self.win.panel.why.click()

    def do_confirm(self) -> None:
        rows = [r for r in self.win.panel.rows if r.confirm.isEnabled()]
        if rows:
            self.win.tabs.setCurrentIndex(PHOTO_TAB)
            row = self.rng.choice(rows)
            self.note(f"confirm button of {row.match.sku} ({row.confirm.text()}) on tag {self.win.panel.number}")
            row.confirm.click()

    def do_remove_tag(self) -> None:
        """The matches panel's Remove tag (its tag), or Edit ▸ Remove Selected Tag (the photo's current one)."""
        if self.win.panel.tag is not None and self.rng.random() < 0.5:
            self.note(f"Remove tag in the matches panel ({self.win.panel.number})")
            self.win.panel.remove.click()
        elif self.win.view.current is not None:
            self.note(f"Edit > Remove Selected Tag ({self.win.view.current})")
            self.win._remove_current()

    def do_recategorise(self) -> None:
        box = self.win.panel.category
        if self.win.panel.tag is None or box.count() < 2:
            return
        index = self.rng.randrange(box.count())
        self.note(f"category of tag {self.win.panel.number} -> {box.itemData(index)}")
        box.setCurrentIndex(index)
        box.activated.emit(index)

    def do_scope(self) -> None:
        if self.win.panel.tag is not None:
            button = self.rng.choice((self.win.panel.any, self.win.panel.same))
            self.note(f"scope {button.text()}")
            button.click()

    def do_undo(self) -> None:
        if self.win.undo_action.isEnabled():
            self.note(f"Undo {self.win.controller.undo.undoText()}")
            self.win.undo_action.trigger()

    def do_redo(self) -> None:
        if self.win.redo_action.isEnabled():
            self.note(f"Redo {self.win.controller.undo.redoText()}")
            self.win.redo_action.trigger()

    def do_select_products(self) -> None:
        self.win.tabs.setCurrentIndex(CATALOG_TAB)
        grid, rows = self.win.catalog.grid, self.win.catalog.model.rowCount()
        count = self.rng.choice((0, 1, 1, 1, 2, 3))
        chosen = sorted(self.rng.sample(range(rows), min(count, rows)))
        self.note(f"select products {[self.win.catalog.model.products[r].sku for r in chosen]}")
        model = grid.selectionModel()
        model.clearSelection()
        for row in chosen:
            model.select(self.win.catalog.model.index(row), model.SelectionFlag.Select)

    def do_where_used_mode(self) -> None:
        mode = self.win.catalog.where_used.mode
        index = MATCHED if mode.currentIndex() == LOOKS_LIKE else LOOKS_LIKE
        if mode.isTabEnabled(index):
            self.note(f"Where used tab {mode.tabText(index)}")
            mode.setCurrentIndex(index)

    def do_product_photo(self) -> None:
        """A supplier's product photo (a catalog product's, copied), dropped on Where used or chosen in the menu."""
        rows = list(self.win.catalog.model.products) or self.win.pipeline.catalog.products(limit=5)
        if not rows:
            return
        shutil.copyfile(self.rng.choice(rows).image_path, self._product_photo)
        self.win.tabs.setCurrentIndex(CATALOG_TAB)
        if self.rng.random() < 0.5:
            self.note("drop a product photo on Where used")
            drop_file(self.win.catalog.where_used, self._product_photo)
        else:
            self.note("Catalog > Find a Product Photo in My Photos")
            self.win.find_product_photo()

    def do_map_selection(self) -> None:
        if not _has_opentsne():
            return
        self.win.tabs.setCurrentIndex(MAP_TAB)
        tab = self.win.map_view
        self.settle()  # the map and the catalog it maps: a removal a step before may not be listed yet
        seen = self._map_problems()  # as the map is now, before Show in Catalog leaves the tab
        self.after.append(lambda: seen)
        if not tab.canvas.points:
            return
        chosen = self.rng.sample(sorted(tab.canvas.points), min(len(tab.canvas.points), self.rng.randint(1, 6)))
        tab.canvas.select(chosen)
        tab.canvas.selectionChanged.emit()  # as a rubber band over them announces
        if self.rng.random() < 0.7:
            self.note(f"map: select {chosen}, Show in Catalog")
            tab.in_catalog.click()
        elif tab.chosen.count():
            self.note(f"map: select {chosen}, double-click the first")
            tab.chosen.itemActivated.emit(tab.chosen.item(0))

    def do_chip(self) -> None:
        chip = self.win.catalog.only_chip
        self.win.tabs.setCurrentIndex(CATALOG_TAB)
        if chip.isVisible():
            self.note(f"chip {chip.text()}")
            chip.click()

    def do_search(self) -> None:
        products = self.win.pipeline.catalog.products()
        pick = self.rng.choice(products) if products else None
        text = self.rng.choice(("", "", "zzz-none", pick.sku[:5] if pick else "", pick.name if pick else ""))
        self.win.tabs.setCurrentIndex(CATALOG_TAB)
        self.note(f"search {text!r}")
        self.win.catalog.search.setText(text)

    def _target_sku(self) -> str | None:
        """A product to remove: most often one the open photo shows (confirmed or matched)."""
        catalog, scene = self.win.pipeline.catalog, self.win.controller.scene
        present = {p.sku for p in catalog.products()}
        shown = sorted(scene.skus() & present) if scene is not None and self.rng.random() < 0.7 else []
        pool = shown or sorted(present)
        return self.rng.choice(pool) if pool else None

    def do_cli_remove(self) -> None:
        """``decorlens catalog remove`` in another process, then back to the window (as activating it does)."""
        sku = self._target_sku()
        if sku is None:
            return
        self.note(f"CLI: catalog remove {sku}; back to the window")
        _cli(self.data, "catalog", "remove", sku)
        self.win.look_outside()

    def do_app_remove(self) -> None:
        sku = self._target_sku()
        if sku is None:
            return
        self.note(f"Catalog tab: remove {sku}")
        self.win.tabs.setCurrentIndex(CATALOG_TAB)
        self.win.catalog.remove_skus([sku])

    def do_reimport(self) -> None:
        self.note("Catalog tab: import the feed again")
        self.win.tabs.setCurrentIndex(CATALOG_TAB)
        self.win.catalog.import_from(self.feed)

    def do_export_page(self) -> None:
        c = self.win.controller
        if c.scene is None:
            return
        self.note("File > Export Shoppable Page")
        page = self.work / "page" / f"{c.path.stem}.html"
        page.unlink(missing_ok=True)
        self.win.export_page()
        self.after.append(lambda: self._page_problems(page))

    def _page_problems(self, page: Path) -> list[str]:
        """The page names no product the catalog no longer has."""
        if not page.is_file():
            return [f"no page written at {page.name}"]
        text, gone = page.read_text(), self.win.controller.gone
        return [f"the page shows {sku}, no longer in the catalog" for sku in sorted(gone) if sku in text]

    def do_paste(self) -> None:
        """Copied as another program copies, through the clipboard's own setters: a QMimeData made here and given
        to the clipboard would be deleted by Qt's exit handlers after Python is gone, a segfault at exit."""
        clipboard = QGuiApplication.clipboard()
        if self.rng.random() < 0.7:
            photo = self.rng.choice(self.scenes)
            self.note(f"paste the picture of {photo.name}")
            clipboard.setImage(QImage(str(photo)))
        else:
            self.note("paste a web address")
            clipboard.setText("https://www.ikea.com/images/a-room.jpg")
        self.win.paste()

    def do_drop_on_window(self) -> None:
        """A photo or the folder from the file manager, or a picture or a link from a browser, dropped on the window."""
        mime, what = QMimeData(), self.rng.choice(("photo", "folder", "picture", "link"))
        if what in ("photo", "folder"):
            mime.setUrls([QUrl.fromLocalFile(str(self.folder if what == "folder" else self.rng.choice(self.scenes)))])
        elif what == "picture":
            mime.setImageData(QImage(str(self.rng.choice(self.scenes))))
        else:
            mime.setUrls([QUrl("https://www.ikea.com/images/a-room.jpg")])
        self.note(f"drop a {what} on the window")
        self.win.dropEvent(QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                      Qt.KeyboardModifier.NoModifier))

    def do_open_sighting(self) -> None:
        """Double-click a photo listed under Where used: it opens on that tag."""
        listed = self.win.catalog.where_used.sightings
        if listed.count() and self.win.tabs.currentIndex() == CATALOG_TAB:
            item = listed.item(self.rng.randrange(listed.count()))
            self.note(f"open the sighting {item.text().splitlines()[0]} ({item.data(Qt.ItemDataRole.UserRole)[1]})")
            listed.itemActivated.emit(item)

    def do_goes_with(self) -> None:
        """Double-click a product listed under Goes with: the grid lists and selects it alone."""
        listed = self.win.catalog.where_used.together
        if listed.count() and self.win.tabs.currentIndex() == CATALOG_TAB:
            item = listed.item(self.rng.randrange(listed.count()))
            self.note(f"goes with: double-click {item.data(Qt.ItemDataRole.UserRole)}")
            listed.itemActivated.emit(item)

    def do_draw_box(self) -> None:
        scene = self.win.controller.scene
        if scene is None:
            return
        w, h = scene.result.width, scene.result.height
        x, y = self.rng.uniform(0, w * 0.6), self.rng.uniform(0, h * 0.6)
        box = (x, y, x + self.rng.uniform(0.15, 0.4) * w, y + self.rng.uniform(0.15, 0.4) * h)
        self.note(f"draw a box {tuple(round(v) for v in box)}")
        self.win.view.regionDrawn.emit(box)

    # -- settling and the window's promises -------------------------------------------------------

    def run(self, steps: int) -> None:
        """``steps`` actions; some follow the one before at once, while its work runs (as a user's clicks do),
        the others wait for the window to settle, and then its promises are checked. A slot that raised fails
        the walk at the step it raised in."""
        self.settle()
        for number in range(steps):
            self.number = number
            with self.qtbot.captureExceptions() as raised:
                self.step()
                quick = not self.after and self.rng.random() < QUICK
                if quick:
                    self.qtbot.wait(self.rng.randint(0, 40))
                else:
                    self.settle()
            problems = [f"a slot raised {kind.__name__}: {value}" for kind, value, _trace in raised]
            if not quick:
                problems += self.problems()
            if problems:
                pytest.fail(f"seed {self.seed}, step {number}: " + "; ".join(problems) + "\nsteps:\n"
                            + "\n".join(self.log) + "\nlast messages:\n" + "\n".join(self.messages[-8:]))
            if quick:
                self.log[-1] += "  (the next at once)"

    def idle(self) -> bool:
        win = self.win
        runners = (win.engine, win.io, win.saver, win.thumb_loader, win.controller.memory)
        return (not any(r.busy() for r in runners) and not win.controller._running and win._listing is None
                and not win.catalog._debounce.isActive() and win.map_view.task is None
                and not win.photo_list._insert_soon.isActive())

    def settle(self) -> None:
        """No worker running, twice with the event loop turned between: a result's slot may start another."""
        for _ in range(2):
            self.qtbot.waitUntil(self.idle, timeout=SETTLE_MS)
            self.qtbot.wait(5)
        self.qtbot.waitUntil(self.idle, timeout=SETTLE_MS)

    def problems(self) -> list[str]:
        after, self.after = self.after, []
        return [*(p for check in after for p in check()), *self._photo_problems(), *self._kept_problems(),
                *self._panel_problems(), *self._catalog_problems(), *self._map_problems(), *self._window_problems()]

    def _photo_problems(self) -> list[str]:
        win, c = self.win, self.win.controller
        if c.scene is None:
            return [] if not win.view.pins else [f"pins {sorted(win.view.pins)} shown without a scene"]
        hidden = win.settings.hidden_categories
        visible = [t for t in c.scene.visible if t.obj.category not in hidden]
        kept = win._kept_tag  # a tag opened from Where used is shown whatever the limit
        keep = {kept[1]} if kept is not None and kept[0] == c.path else set()
        expected = {t.number: t for t in surest(visible, win.settings.max_tags, keep)}
        found = []
        if set(win.view.pins) != set(expected):
            found.append(f"pins {sorted(win.view.pins)} but the scene's visible tags are {sorted(expected)}")
        for number, tag in win.view.tags.items():
            if number in expected and (tag.obj.category, tag.confirmed_sku) != (
                    expected[number].obj.category, expected[number].confirmed_sku):
                found.append(f"pin {number} shows {tag.obj.category}/{tag.confirmed_sku}, the scene "
                             f"{expected[number].obj.category}/{expected[number].confirmed_sku}")
        if win.view.current is not None and win.view.current not in win.view.pins:
            found.append(f"current tag {win.view.current} has no pin")
        card = win.view.card
        if card.isVisible() and card.number in win.view.tags:
            best = win.view.tags[card.number].best
            if best is not None and (GONE in card.badge.text()) != (best.sku in c.gone):
                found.append(f"the hover card of tag {card.number} reads {card.badge.text()!r}; gone: {best.sku in c.gone}")
        elif card.isVisible():
            found.append(f"a hover card is shown for tag {card.number}, which has no pin")
        if win.windowTitle() != f"{caption(c.path)} — DecorLens" or (
                c.path in win.photo_list.photos and win.photo_list.photos[win.photo_list.currentRow()] != c.path):
            found.append(f"{c.path.name} is open; the title reads {win.windowTitle()!r}, the strip selects row "
                         f"{win.photo_list.currentRow()}")
        if win.status_line.busy.isVisible() or win.view.busy.isVisible() or win.listing_status.isVisible():
            found.append("a busy indicator is left shown")
        present = {p.sku for p in win.pipeline.catalog.products()}
        if unmarked := c.scene.skus() - present - c.gone:  # a stale extra (no longer shown) is harmless
            found.append(f"{sorted(unmarked)} are not in the catalog, not marked gone")
        if back := c.gone & present:
            found.append(f"{sorted(back)} are marked gone but are in the catalog")
        return found

    def _kept_problems(self) -> list[str]:
        """What is kept of the open photo agrees with what it shows: its saved edits (if any) and the scene
        memory (Where used), each tag under its best match."""
        c = self.win.controller
        if c.scene is None:
            return []
        found, shown = [], [(t.number, t.obj.category, t.confirmed_sku, t.removed) for t in c.scene.tags]
        saved = corrections.find_saved(self.data, c.scene.image_sha256)
        if saved is not None and [(t.number, t.obj.category, t.confirmed_sku, t.removed) for t in
                                  corrections.load(saved, c.path).tags] != shown:
            found.append(f"the saved edits of {c.path.name} are not what it shows")
        photo, catalog = str(c.path.resolve()), self.win.pipeline.catalog
        for tag in c.scene.visible:
            if tag.best is not None and not any(s.photo == photo and s.number == tag.number
                                                for s in where_used(catalog, tag.best.sku)):
                found.append(f"Where used does not know tag {tag.number} as {tag.best.sku}")
        return found

    def _map_problems(self) -> list[str]:
        tab = self.win.map_view
        if not tab.isVisible() or tab.stale:
            return []
        present = {p.sku for p in self.win.pipeline.catalog.products()}
        found = [] if set(tab.canvas.points) == present else [
            f"the map places {sorted(set(tab.canvas.points) ^ present)} wrongly (in one of map and catalog only)"]
        if set(tab._chosen_skus) - present:
            found.append(f"the map's selection holds {sorted(set(tab._chosen_skus) - present)}, not in the catalog")
        return found

    def _panel_problems(self) -> list[str]:
        win, c, panel = self.win, self.win.controller, self.win.panel
        if panel.number is None:
            return []
        if c.scene is None or panel.number not in win.view.pins:
            return [f"the matches panel shows tag {panel.number}, which has no pin"]
        found = []
        if panel.number != win.view.current and not self.pin_walked:
            found.append(f"the matches panel shows tag {panel.number}, the photo has {win.view.current} current")
        tag = c.scene.tag(panel.number)
        if (panel.tag.obj.category, panel.tag.confirmed_sku) != (tag.obj.category, tag.confirmed_sku):
            found.append(f"the panel's tag {panel.number} is {panel.tag.obj.category}/{panel.tag.confirmed_sku}, "
                         f"the scene's {tag.obj.category}/{tag.confirmed_sku}")
        checked = c._checked.get((panel.number, panel.any_category))
        if checked is not None:
            expected = [x.match.sku for x in checked]
        elif panel.any_category:
            expected = [m.sku for m in c._any.get(panel.number, [])]
        else:
            expected = [m.sku for m in tag.obj.matches]
        if [r.match.sku for r in panel.rows] != expected:
            found.append(f"the panel lists {[r.match.sku for r in panel.rows]}, tag {panel.number}'s matches are "
                         f"{expected}")
        for row in panel.rows:
            sku = row.match.sku
            if (row.confirm.text() == GONE) != (sku in c.gone and sku != tag.confirmed_sku):
                found.append(f"match row {sku} reads {row.confirm.text()!r}; gone: {sku in c.gone}")
        return found

    def _catalog_problems(self) -> list[str]:
        view, catalog = self.win.catalog, self.win.pipeline.catalog
        listed = [p.sku for p in view.model.products]
        text, category = view.search.text().strip(), view.category.currentData()
        expected = [p.sku for p in catalog.products(category, text, skus=view.only)]
        found = []
        if listed != expected:
            found.append(f"the grid lists {listed}, the catalog has {expected} for {text!r}/{category}/{view.only}")
        if view.only_chip.isHidden() != (view.only is None):  # hidden by itself, not by its tab
            found.append(f"the chip is {'hidden' if view.only_chip.isHidden() else 'shown'} with only={view.only}")
        panel, selected = view.where_used, view.selected_skus()
        title = panel.title.text()
        if panel.photo is not None:
            if not title.startswith(f"Looks like {panel.photo.name}") or panel.mode.currentIndex() != LOOKS_LIKE:
                found.append(f"Where used searched {panel.photo.name} but reads {title!r}")
        elif len(selected) == 1:
            product = catalog.get_by_sku(selected[0])
            name = product_title(product.name, product.sku, product.category) if product else selected[0]
            head = "Where used: " if panel.mode.currentIndex() == MATCHED else "Looks like "
            if panel.sku != selected[0] or not title.startswith(head + name):
                found.append(f"{selected[0]} is selected; Where used reads {title!r} (for {panel.sku!r})")
        elif title != NOTHING or panel.sightings.count():
            found.append(f"{len(selected)} products selected; Where used reads {title!r}")
        present = {p.sku for p in catalog.products()}
        for row in range(panel.together.count()):
            text = panel.together.item(row).text()
            if text.split(" · ")[-2] not in present:
                found.append(f"Goes with lists {text!r}, not in the catalog")
        return found

    def _window_problems(self) -> list[str]:
        win, undo, found = self.win, self.win.controller.undo, []
        if (win.undo_action.isEnabled(), win.redo_action.isEnabled()) != (undo.canUndo(), undo.canRedo()):
            found.append(f"Undo/Redo enabled {win.undo_action.isEnabled()}/{win.redo_action.isEnabled()}, the "
                         f"stack can {undo.canUndo()}/{undo.canRedo()}")
        count = win.pipeline.catalog.count()
        if win.status_line.products.text() != f"Catalog: {count:,} products":
            found.append(f"the status bar says {win.status_line.products.text()!r}, the catalog has {count}")
        if QGuiApplication.mouseButtons() != Qt.MouseButton.NoButton:
            found.append("a mouse button is left pressed")
        if unexpected := [m for m in self.messages if "unexpected error" in m]:
            found.append(f"the window said {unexpected}")
        return found


@pytest.mark.parametrize("seed", SEEDS)
def test_a_random_walk_over_the_window_keeps_its_promises(seed, qtbot, main_window, walk_data, scene_path,
                                                          tmp_path: Path, monkeypatch):
    base, feed = walk_data
    data = tmp_path / "data"
    shutil.copytree(base, data)
    folder = tmp_path / "photos"
    folder.mkdir()
    for fragment in IN_FOLDER:
        shutil.copy(scene_path(fragment), folder)
    (folder / "notes.txt").write_text("not a photo")
    scenes = [scene_path(s) for s in SCENES]
    win = main_window(Pipeline(Settings.defaults().with_(data_dir=data)), (1280, 800))
    walk = Walk(qtbot, win, seed, data, feed, scenes, folder, tmp_path, monkeypatch)
    walk.run(STEPS)
