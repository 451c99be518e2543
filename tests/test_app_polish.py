"""What an audit of the app at 150 % and 200 %, by keyboard and with a screen reader still found: the Train window
taller than the screen once a run had a result, Escape that did not close it, Page Down taken from every list of
the window, focus nobody could see, unnamed controls, a hover card over its own pin, a photo opened without the
keyboard on it, blurred product pictures and heat maps in the panel, a Train window closed while its data was
prepared that then trained unseen, an F1 list behind the doc's. On the real app (pytest-qt, offscreen); what
depends on a screen's scale runs in a child process (``SCALED``), as in tests/test_app_hidpi.py.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import textwrap
import threading
from html import escape as escape_html
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from conftest import run_on_scaled_screen
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QAccessible, QColor
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QMenu,
    QPushButton,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QStyleOptionComboBox,
    QStyleOptionTab,
    QTabBar,
    QVBoxLayout,
    QWidget,
)
from train_window_script import PREAMBLE

from app import theme, train_jobs, train_process
from app.dialogs.batch import BatchDialog
from app.main_window import CATALOG_TAB, PHOTO_TAB, MainWindow
from app.thumbnails import Thumbnails
from app.widgets.floating import MARGIN
from app.widgets.hover_card import HoverCard
from app.widgets.message_bar import MessageBar
from app.widgets.pins import HALO, RADIUS
from app.widgets.setup_page import SHORTCUTS, shortcuts_html, shortcuts_markdown
from app.workers import Runner
from engine.corrections import Tag
from engine.results import Match, SceneObject

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parent.parent
WAIT_MS = 90_000
ROOM = "bed-that-folds"  # a living room with a bed, chairs, tables, shelf, clock, frames
KITCHEN = "bright-kitchen"
TITLE_BAR = 40  # what a window's title bar and frame take on the screen, about
K = Qt.Key


@pytest.fixture
def window(active_window):
    return active_window


def press(qtbot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> QWidget:
    """A key to whatever has the keyboard, as a keyboard's would go; returns what has it after."""
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard"
    qtbot.keyClick(target, key, modifier)
    return QApplication.focusWidget()


def open_photos(qtbot, win: MainWindow, paths: list[Path], opened: Path) -> None:
    win.open_paths(paths)
    qtbot.waitUntil(lambda: win.controller.scene is not None and win.controller.path == opened, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(win.view.pins), timeout=WAIT_MS)


def _spoken(widget: QWidget) -> str:
    return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)


def _shown(qtbot, widget: QWidget) -> None:
    widget.show()
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow, timeout=WAIT_MS)


# -- the Train window on a short screen, and sharp pictures -----------------------------------------------------

SCALED = PREAMBLE + r"""
from PySide6.QtCore import QRect
from app.thumbnails import Thumbnails
from app.widgets.thumb import Thumb
from app.workers import Runner

def in_view(widget):
    # Wholly shown: not scrolled out or cut by its window, and on the screen
    whole = widget.isVisible() and widget.visibleRegion().boundingRect().size() == widget.size()
    return whole and screen.availableGeometry().contains(QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.size()))

def tiles(view):
    # Each example picture with its caption under it: how tall the tile is, how tall it needs, whether they overlap
    grid, out = view.examples, []
    for i in range(grid.count()):
        labels = grid.itemAt(i).widget().findChildren(QLabel)
        if len(labels) == 2:
            tile = grid.itemAt(i).widget()
            out.append([tile.height(), tile.minimumSizeHint().height(), labels[0].geometry().intersects(labels[1].geometry())])
    return out

def state(window):
    return {"frame": window.frameGeometry().getRect(), "least": window.minimumSize().toTuple(),
            "use": in_view(window.use_button), "undo": in_view(window.undo_button), "tiles": tiles(window.before_after),
            "table over the folder": window.table.geometry().intersects(window.folder.geometry())}

result = a_result(named=False, detector=False)
window = TrainWindow(Pipeline(Settings.defaults().with_(data_dir=work / "data")))
window.show()
wait(lambda: not window.io.busy())  # what it learns from, counted
window._show_result(result)
wait(lambda: not window.io.busy() and window.before_after.examples.count() > 0)
settle()
found["train"] = state(window)
window.resize(window.minimumSize())
settle()
found["train_least"] = state(window)

# A product picture in a match row or on the hover card
thumb = Thumb(Thumbnails(Runner(1, app)), 84)
thumb.show()
thumb.show_path(pictures[0])
wait(lambda: not thumb.pixmap().isNull())
found["thumb"] = {"widget": thumb.devicePixelRatioF(), "inner": thumb.side - 4, "size": thumb.pixmap().size().toTuple(),
                  "dpr": thumb.pixmap().devicePixelRatio()}

# Why this match?'s heat over the product's picture in its match row
import numpy as np
from app.widgets.results_panel import MatchRow
from engine.results import Match
row = MatchRow(1, Match(1, "490.473.41", "SÖDERHAMN", "sofa", 0.7, "similar", pictures[0]), False, Thumbnails(Runner(1, app)))
row.show()
row.show_heat(np.full((240, 320, 3), 128, np.uint8))
heat = row.thumb.pixmap()
found["heat"] = {"widget": row.thumb.devicePixelRatioF(), "inner": row.thumb.side - 4, "size": heat.size().toTuple(),
                 "dpr": heat.devicePixelRatio()}
print(json.dumps(found))
"""

SCREENS = {"1920x1080 at 150 %": (1920, 1080, 1.5), "2880x1800 at 200 %": (2880, 1800, 2)}


@pytest.fixture(scope="module", params=SCREENS, ids=list(SCREENS))
def scaled(request, ikea: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What ``SCALED`` found on one screen (1280 × 720 and 1440 × 900 logical pixels)."""
    width, height, scale = SCREENS[request.param]
    products = [str(p) for p in sorted((ikea / "products").glob("sofa/*.jpg"))[:4]]
    return run_on_scaled_screen(SCALED, ["|".join(products)], tmp_path_factory.mktemp("scaled"), width, height, scale)


def _inside(frame: list[int], screen: list[int]) -> bool:
    x, y, w, h = frame
    sx, sy, sw, sh = screen
    return x >= sx and y >= sy and x + w <= sx + sw and y + h <= sy + sh


def test_the_train_window_with_a_result_fits_the_screen_with_use_and_undo_on_it(scaled):
    """Once a run had a result the window could not be less than 1005 × 956: Use this model and Undo lay below a
    1920 × 1080 screen at 150 % and a 2880 × 1800 one at 200 %. The results scroll above the buttons instead."""
    screen = scaled["screen"]
    for shown in (scaled["train"], scaled["train_least"]):  # as it opened, and made as small as it goes
        assert _inside(shown["frame"], screen), (shown, screen)
        assert shown["use"] and shown["undo"], shown
        assert not shown["table over the folder"], shown  # nothing squeezed below what it needs
    width, height = scaled["train"]["least"]
    assert width <= screen[2] and height + TITLE_BAR <= screen[3], (scaled["train"]["least"], screen)


def test_the_train_examples_captions_lie_under_their_pictures(scaled):
    """The example tiles got 62-65 px of the 88 they need (picture and caption), so each caption lay over its
    picture, at 100 % too."""
    for shown in (scaled["train"], scaled["train_least"]):
        assert len(shown["tiles"]) == 16, shown["tiles"]
        assert all(height >= needs and not overlap for height, needs, overlap in shown["tiles"]), shown["tiles"]


def test_a_product_picture_in_a_match_row_or_the_hover_card_is_sharp(scaled):
    """Thumb scaled its picture to its logical size, so 200 % drew 80 px over 160 screen pixels."""
    thumb = scaled["thumb"]
    (w, h), dpr = thumb["size"], thumb["dpr"]
    assert dpr == thumb["widget"] == scaled["dpr"], thumb
    assert max(w, h) == math.ceil(thumb["inner"] * dpr), thumb


def test_the_heat_map_over_a_match_rows_picture_is_sharp(scaled):
    """Why this match? painted its heat with a plain QPixmap.scaled() to the picture's logical size: 80 px over
    160 screen pixels at 200 %, as Thumb's picture was."""
    heat = scaled["heat"]
    (w, h), dpr = heat["size"], heat["dpr"]
    assert dpr == heat["widget"] == scaled["dpr"], heat
    assert max(w, h) == math.ceil(heat["inner"] * dpr), heat


# -- Escape in the Train window ---------------------------------------------------------------------------------

STOPS_WHEN_ASKED = textwrap.dedent("""
    import json, sys
    def say(**event):
        print("@decorlens " + json.dumps(event), flush=True)
    say(type="progress", stage="train", done=1, total=5, message="Epoch 1 of 5")
    for line in sys.stdin:  # the protocol of training.run: "cancel" stops the job between steps
        if line.strip() == "cancel":
            break
    say(type="cancelled", message="training cancelled after epoch 1; its checkpoint is kept")
""")


def test_escape_closes_the_train_window_when_nothing_runs(qtbot, fresh_pipeline):
    from app.dialogs.train import TrainWindow

    train = TrainWindow(fresh_pipeline)
    qtbot.addWidget(train)
    for field in (train.folder, train.table, train.what):  # Escape goes past the field to the window
        _shown(qtbot, train)
        field.setFocus(Qt.FocusReason.TabFocusReason)
        press(qtbot, K.Key_Escape)
        assert not train.isVisible(), field


def test_escape_while_a_run_trains_stops_it_as_closing_does_and_the_window_stays(
    qtbot, fresh_pipeline, tmp_path, monkeypatch
):
    """Closing the window stops a run between steps and keeps its checkpoint (Resume). Escape does the same, but
    the window stays to say so: a key pressed in passing never stops a run unseen, nor hides one left running.
    The run is a child process speaking training.run's protocol, stopping when asked."""
    from app.dialogs.train import TrainWindow

    job = tmp_path / "job.py"
    job.write_text(STOPS_WHEN_ASKED)
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{job}'\n")
    python.chmod(0o755)
    monkeypatch.setattr(train_process, "sys", SimpleNamespace(executable=str(python)))
    train = TrainWindow(fresh_pipeline)
    qtbot.addWidget(train)
    _shown(qtbot, train)
    qtbot.waitUntil(lambda: not train.io.busy(), timeout=WAIT_MS)  # what it learns from, counted
    train._running("Preparing the training data…")  # as Start does, then the run starts once its data is ready
    train._launch(tmp_path / "run" / "job.json")
    qtbot.waitUntil(lambda: train.step.text() == "Epoch 1 of 5", timeout=WAIT_MS)

    train.table.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_Escape)
    assert train.isVisible() and "Resume" in train.status.text()
    qtbot.waitUntil(lambda: not train.process.running and not train._busy, timeout=WAIT_MS)
    # in the window's words, not the command line's ("`--resume` continues"): the line above says what Resume does
    assert train.isVisible() and train.status.text() == "Stopped: nothing changed, the models in use stay."
    press(qtbot, K.Key_Escape)  # nothing runs now: Escape closes
    assert not train.isVisible()


# -- the Train window closed while a run's data is prepared ---------------------------------------------------------

STARTED = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    Path(sys.argv[1]).write_text("started")  # the training process ran
    print("@decorlens " + json.dumps({"type": "error", "message": "the run started"}), flush=True)
""")


def _training_process(tmp_path: Path, monkeypatch) -> Path:
    """train_process's ``python -m training.run JOB`` is a child that notes it ran (the file returned) and ends."""
    job, marker, python = tmp_path / "started.py", tmp_path / "started", tmp_path / "python"
    job.write_text(STARTED)
    python.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{job}' '{marker}'\n")
    python.chmod(0o755)
    monkeypatch.setattr(train_process, "sys", SimpleNamespace(executable=str(python)))
    return marker


class _Held:
    """A step writing a job (train_jobs.prepare, resume or install_job) that waits on the worker until released:
    the window is closed meanwhile, whatever the time the step takes."""

    def __init__(self, job: Path):
        self.job, self.release = job, threading.Event()

    def __call__(self, *_args, **_kwargs) -> Path:
        assert self.release.wait(WAIT_MS / 1000)
        (self.job.parent / "data").mkdir(parents=True, exist_ok=True)  # the run's training data, half of it
        (self.job.parent / "data" / "pairs.csv").write_text("scene,product\n")
        self.job.write_text("{}")
        return self.job


def _closed_while_preparing(qtbot, train, held: _Held, begin, results: tuple[str, str]) -> None:
    """``begin`` (Start, Resume or Use) with its job being written, then the window closed, then the job ready:
    waits until the window says one of ``results`` (the launch given up, or the process's end)."""
    _shown(qtbot, train)
    qtbot.waitUntil(lambda: not train.io.busy(), timeout=WAIT_MS)  # what it learns from, counted
    try:
        begin()
        train.close()  # the title bar's close, as Escape or Close leave it alone while the data is prepared
        assert not train.isVisible()
    finally:
        held.release.set()
    qtbot.waitUntil(lambda: train.status.text() in results and not train.io.busy(), timeout=WAIT_MS)


def test_a_train_window_closed_while_a_new_runs_data_is_prepared_starts_nothing_and_leaves_nothing(
    qtbot, fresh_pipeline, tmp_path, monkeypatch
):
    """Closed while Start prepared the data, the window started the run once the data was ready: a heavy run went
    on unseen. It is cancelled as Cancel cancels one, its folder removed."""
    from app.dialogs.train import TrainWindow

    started = _training_process(tmp_path, monkeypatch)
    run = train_jobs.runs_dir(fresh_pipeline) / f"{train_jobs.RUN_PREFIX}20260101-000000"
    held = _Held(run / "job.json")
    monkeypatch.setattr(train_jobs, "prepare", held)
    train = TrainWindow(fresh_pipeline)
    qtbot.addWidget(train)
    _closed_while_preparing(qtbot, train, held, train.start, ("Cancelled: nothing changed.", "the run started"))
    assert not started.exists() and not train.process.running
    assert train.status.text() == "Cancelled: nothing changed." and not run.exists()
    assert not train._busy and not train.isVisible()


def test_a_train_window_closed_while_a_resumed_run_is_prepared_keeps_it_for_resume(
    qtbot, fresh_pipeline, tmp_path, monkeypatch
):
    """Closing keeps a running run's checkpoint for Resume; closed while a Resume was prepared, the run started
    unseen. Now nothing starts and the checkpoint stays, offered for Resume again."""
    from app.dialogs.train import TrainWindow

    started = _training_process(tmp_path, monkeypatch)
    run = train_jobs.runs_dir(fresh_pipeline) / f"{train_jobs.RUN_PREFIX}20260101-000000"
    checkpoint = run / "embedder" / "last.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"checkpoint")
    (run / "job.json").write_text("{}")
    held = _Held(run / "job.json")
    monkeypatch.setattr(train_jobs, "resume", held)
    train = TrainWindow(fresh_pipeline)
    qtbot.addWidget(train)
    _shown(qtbot, train)
    qtbot.waitUntil(lambda: not train.io.busy(), timeout=WAIT_MS)
    assert train.summary_data.resumable == run
    kept = "Not resumed: the window was closed before the run started. Resume continues from its last finished epoch."
    results = (kept, "the run started")
    _closed_while_preparing(qtbot, train, held, train.resume, results)
    assert not started.exists() and not train.process.running and train.status.text() == results[0]
    assert checkpoint.is_file() and train.summary_data.resumable == run and not train._busy
    assert not train.resume_button.isHidden()  # offered again when the window is opened


def test_a_train_window_closed_while_use_is_prepared_leaves_the_models_as_they_are(
    qtbot, fresh_pipeline, tmp_path, monkeypatch
):
    """Closing stops Use's process; closed while its job was written, the process started unseen (embedding
    the catalog for the new model). Now nothing starts, and Use can be chosen again when the window opens."""
    from app.dialogs.train import TrainWindow

    started = _training_process(tmp_path, monkeypatch)
    run = train_jobs.runs_dir(fresh_pipeline) / f"{train_jobs.RUN_PREFIX}20260101-000000"
    run.mkdir(parents=True)
    held = _Held(run / "install.json")
    monkeypatch.setattr(train_jobs, "install_job", held)
    train = TrainWindow(fresh_pipeline)
    qtbot.addWidget(train)
    train.result_run = run
    train._show_result({})  # a finished run's result: Use this model
    results = ("Stopped: the previous models stay in use.", "the run started")
    _closed_while_preparing(qtbot, train, held, train.use_button.click, results)
    assert not started.exists() and not train.installer.running and train.status.text() == results[0]
    assert not (run / "install.json").exists()
    assert train.use_button.isEnabled() and train.embed_bar.isHidden()


# -- Page Up / Down, and the keyboard when a photo opens --------------------------------------------------------


def test_page_down_steps_through_the_photos_only_from_the_photo_page_or_the_strip(
    qtbot, window, scene_path, tmp_path
):
    """Page Down / Up were the window's: in the Catalog grid, a list or a box they opened the next photo and
    switched to its tab. They step through the folder where the keyboard is on the photo or in the Photos strip,
    and page the grid on the Catalog tab."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for fragment in (ROOM, KITCHEN):
        shutil.copy(scene_path(fragment), folder)
    first, second = sorted(folder.iterdir())
    open_photos(qtbot, window, [folder], first)

    window.tabs.setCurrentIndex(CATALOG_TAB)
    grid = window.catalog.grid
    qtbot.waitUntil(lambda: grid.model().rowCount() > 100, timeout=WAIT_MS)
    grid.setCurrentIndex(grid.model().index(0, 0))
    grid.setFocus(Qt.FocusReason.TabFocusReason)
    assert press(qtbot, K.Key_PageDown) is grid
    assert grid.currentIndex().row() > 0  # paged down the products
    assert window.tabs.currentIndex() == CATALOG_TAB and window.controller.path == first

    window.tabs.setCurrentIndex(PHOTO_TAB)
    window.view.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_PageDown)
    qtbot.waitUntil(lambda: window.controller.path == second, timeout=WAIT_MS)
    window.photo_list.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_PageUp)
    qtbot.waitUntil(lambda: window.controller.path == first, timeout=WAIT_MS)
    assert QApplication.focusWidget() is window.photo_list  # stepping through the strip, the keyboard stays


def test_page_keys_and_letters_in_the_category_box_are_the_boxs(qtbot, window, scene_path, tmp_path):
    """In the matches panel (on the photo page) Page Down in the Category box went to the next photo, closed or
    open, and B showed every object's box instead of finding a category: the window's shortcuts won. Closed,
    they open the list at the tag's category (nothing chosen); open, Page Down / Up page it."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for fragment in (ROOM, KITCHEN):
        shutil.copy(scene_path(fragment), folder)
    first = min(folder.iterdir())
    open_photos(qtbot, window, [folder], first)
    view, panel = window.view, window.panel
    view.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_Tab)
    number = view.current
    press(qtbot, K.Key_Return)
    qtbot.waitUntil(lambda: panel.number == number and bool(panel.rows), timeout=WAIT_MS)
    box, category = panel.category, view.tags[number].obj.category
    assert box.count() > 5, "too few categories to page"
    stepped: list[str] = []
    for action in window.photo_actions:
        action.triggered.connect(lambda *_a, action=action: stepped.append(action.text()))
    boxes = next(a for a in window.menuBar().findChildren(type(window.open_action)) if a.text() == "Show All &Boxes")
    all_boxes = boxes.isChecked()

    for key in (K.Key_PageDown, K.Key_PageUp):
        box.setFocus(Qt.FocusReason.TabFocusReason)
        listed = press(qtbot, key)
        assert box.view().isVisible() and listed is box.view(), key  # the list opened, at the tag's category
        assert box.view().currentIndex().row() == box.findData(category)
        start = box.findData(category)
        press(qtbot, K.Key_Home)
        press(qtbot, K.Key_PageDown)
        assert box.view().currentIndex().row() > 0  # paged down the list
        press(qtbot, K.Key_PageUp)
        assert box.view().currentIndex().row() == 0
        press(qtbot, K.Key_Escape)  # closes the list: nothing chosen
        assert not box.view().isVisible() and box.currentIndex() == start
    box.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_B)
    assert box.view().isVisible() and boxes.isChecked() == all_boxes
    press(qtbot, K.Key_Escape)
    assert not stepped and window.controller.path == first and view.tags[number].obj.category == category


def test_a_photo_opens_with_the_keyboard_on_it_and_the_first_tab_on_its_first_tag(qtbot, window, scene_path):
    """The keyboard stayed on the tab bar; the first Tab went to the photo with no tag, the second to a tag."""
    window.tabs.tabBar().setFocus(Qt.FocusReason.TabFocusReason)
    room = scene_path(ROOM)
    open_photos(qtbot, window, [room], room)
    view = window.view
    assert QApplication.focusWidget() is view and view.current is None  # no tag chosen for the user
    assert press(qtbot, K.Key_Tab) is view and view.current == min(view.pins)


def test_enter_on_a_pin_puts_away_its_hover_card(qtbot, window, scene_path):
    """Enter moves the keyboard to the tag's matches; the card the arrows opened stayed over the photo."""
    room = scene_path(ROOM)
    open_photos(qtbot, window, [room], room)
    view = window.view
    view.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, K.Key_Tab)
    while not view.tags[view.current].obj.matches:
        press(qtbot, K.Key_Right)
    assert view.card.isVisible() and view.card.number == view.current
    number = view.current
    press(qtbot, K.Key_Return)
    assert not view.card.isVisible()
    qtbot.waitUntil(lambda: window.panel.number == number and bool(window.panel.rows), timeout=WAIT_MS)
    assert not view.card.isVisible()


# -- the hover card's place -------------------------------------------------------------------------------------


def _card(qtbot, size: QSize) -> tuple[HoverCard, Tag, QWidget]:
    host = QWidget()  # the view's viewport
    qtbot.addWidget(host)
    host.resize(size)
    host.show()
    card = HoverCard(Thumbnails(Runner(1, host)), host)
    name = "HEMNES TV bench with 2 drawers and open shelf compartments, black-brown stained ash veneer"
    match = Match(1, "702.970.41", name, "tv_bench", 0.71, "similar")
    return card, Tag(3, SceneObject("tv_bench", "tv bench", 0.9, (0, 0, 10, 10), (5, 5), [match])), host


def test_the_hover_card_never_covers_its_pin_and_stays_in_the_view(qtbot):
    """It went right, else left, and was then pinned to the left edge, over its own pin, wherever the view was
    narrower than about two cards (a folder's Photos strip open at 150 %). It tries right, left, below, above."""
    bounds = QRect(0, 0, 640, 480)
    card, tag, _host = _card(qtbot, bounds.size())
    reach = math.ceil(RADIUS + HALO)
    inner = bounds.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
    for x in range(inner.left(), inner.right(), 20):
        for y in range(inner.top(), inner.bottom(), 20):
            pin = QPoint(x, y)
            card.show_tag(tag, "#2e9d49", pin, bounds)
            shown = card.geometry()
            assert inner.contains(shown), (pin, shown)
            assert not shown.intersects(QRect(x - reach, y - reach, 2 * reach + 1, 2 * reach + 1)), (pin, shown)
    card.show_tag(tag, "#2e9d49", QPoint(100, 240), bounds)
    assert card.x() > 100  # right of the pin, where it fits


def test_the_hover_card_leaves_the_neighbouring_pins_uncovered_where_it_can(qtbot):
    bounds = QRect(0, 0, 640, 480)
    card, tag, _host = _card(qtbot, bounds.size())
    pin, neighbour = QPoint(150, 240), QPoint(300, 240)
    card.show_tag(tag, "#2e9d49", pin, bounds, None, [neighbour])
    assert not card.geometry().adjusted(-20, -20, 20, 20).contains(neighbour) and card.y() > pin.y()  # below


# -- keyboard focus shows -----------------------------------------------------------------------------------------


def _size(widget: QWidget, focused: bool) -> QSize:
    """What the style makes of the widget's size with and without the keyboard on it (the stylesheet may size a
    focused control by other rules)."""
    style, S = widget.style(), QStyle
    if isinstance(widget, QComboBox):
        option, kind = QStyleOptionComboBox(), S.ContentsType.CT_ComboBox
        widget.initStyleOption(option)
    elif isinstance(widget, QTabBar):
        option, kind = QStyleOptionTab(), S.ContentsType.CT_TabBarTab
        widget.initStyleOption(option, widget.currentIndex())
    else:
        option = QStyleOptionButton()
        widget.initStyleOption(option)
        kind = {QPushButton: S.ContentsType.CT_PushButton, QRadioButton: S.ContentsType.CT_RadioButton,
                QCheckBox: S.ContentsType.CT_CheckBox}[type(widget)]
    if focused:
        option.state |= S.StateFlag.State_HasFocus
    else:
        option.state &= ~S.StateFlag.State_HasFocus
    return style.sizeFromContents(kind, option, QSize(80, 16), widget)


def _pixels(widget: QWidget, colour: str) -> int:
    image, wanted = widget.grab().toImage(), QColor(colour).rgb()
    return sum(image.pixel(x, y) == wanted for x in range(image.width()) for y in range(image.height()))


@pytest.mark.parametrize("look", ["light", "dark"])
def test_the_control_the_keyboard_is_on_is_ringed_and_nothing_moves(qtbot, look):
    """The stylesheet styles buttons, radio buttons and tabs, which switches off Fusion's focus frame, and Fusion's
    on a combo box was a 1 px line shown only after a Tab: nobody could see where the keyboard was. Each shows a
    2 px ring (on the accent of a default button, in the text colour), and is the same size with it as without."""
    app = QApplication.instance()
    theme.apply(app, look)
    try:
        c = theme.colours()
        host = QWidget()  # (in a dialog, the focused button is its default one)
        qtbot.addWidget(host)
        layout = QVBoxLayout(host)
        default = QPushButton("Start")
        default.setDefault(True)
        flat = QPushButton("✕")
        flat.setFlat(True)
        confirm = QPushButton("Confirm match")
        confirm.setObjectName("confirm")  # the match rows' flat button with its own padding
        confirm.setFlat(True)
        confirmed = QPushButton("✓ Confirmed")
        confirmed.setObjectName("confirm")
        combo = QComboBox()
        combo.addItems(["Plants & pots", "Sofa"])
        tabs = QTabBar()
        for text in ("Room photo", "Catalog"):
            tabs.addTab(text)
        tabs.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        elsewhere = QPushButton("elsewhere")
        controls = [QPushButton("Remove tag"), default, flat, confirm, confirmed, combo, QRadioButton("Same category"),
                    QCheckBox("Two networks"), tabs]
        for widget in [*controls, elsewhere]:
            layout.addWidget(widget)
        _shown(qtbot, host)
        for widget in controls:
            ring = c.text if widget is default else c.accent
            elsewhere.setFocus(Qt.FocusReason.TabFocusReason)
            before, size = _pixels(widget, ring), _size(widget, False)
            widget.setFocus(Qt.FocusReason.TabFocusReason)
            assert widget.hasFocus()
            assert _pixels(widget, ring) - before >= 2 * widget.height(), widget  # at least its two sides
            assert _size(widget, True) == size, widget
    finally:
        theme.apply(app, "light")


# -- the F1 list and the doc -------------------------------------------------------------------------------------


def test_the_f1_list_and_the_docs_keyboard_table_are_one_list():
    """docs/app.md's table listed the matches panel's keys (Enter to the matches, ↑ / ↓, Tab, Escape, the
    Category list), where Page Up / Down work and Escape in the Train window; F1 showed none of them. Both are
    made from setup_page.SHORTCUTS."""
    doc = (ROOT / "docs" / "app.md").read_text(encoding="utf-8")
    section = doc[doc.index("\n## Keyboard\n"):]
    table = section[section.index("| Action | Keys |"):].split("\n\n")[0]
    assert table == shortcuts_markdown(), "docs/app.md's Keyboard table is not shortcuts_markdown():\n" + shortcuts_markdown()
    html = shortcuts_html()
    for what, keys in SHORTCUTS:
        assert escape_html(what) in html and escape_html(keys) in html
    for row in ("Back from the matches to the photo", "Close the Train window", "Change a tag's category",
                "Reach a match's product page and Confirm button"):
        assert any(what == row for what, _keys in SHORTCUTS), row


# -- names and buttons one can see ----------------------------------------------------------------------------------


def test_the_message_bars_close_button_is_named_dismiss(qtbot):
    bar = MessageBar()
    qtbot.addWidget(bar)
    bar.show_message("Saved.", "done")
    close = next(b for b in bar.findChildren(QPushButton) if b.text() == "✕")
    assert _spoken(close) == "Dismiss"



def test_the_message_bars_lines_are_not_cut_at_the_bottom(qtbot):
    """The bar's height left out its stylesheet's top border, so its text was a pixel short of its lines: the last
    line's descenders and a file name's "__" were cut off ("sofa-by-day  1364309472525-s4.jpg")."""
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(735, 300)
    host.show()
    bar = MessageBar()
    bar.float_over(host)
    bar.show_message("Left out ideas.txt: not a photo DecorLens reads.", kept=True)
    bar.show_message("Restored your edits to ikea-a-bed-that-folds-away-to-be-a-sofa-by-day__1364309472525-s4.jpg.")
    qtbot.waitUntil(lambda: bar.text.height() > 0, timeout=WAIT_MS)
    assert bar.text.height() >= bar.text.heightForWidth(bar.text.width())
    assert bar.geometry().bottom() == host.rect().bottom()


def test_the_photos_strip_has_a_close_button_one_can_see(qtbot, main_window, fresh_pipeline):
    """The stylesheet took the dock's close icon away: an 18 × 4 px button of nothing. It shows the style's icon,
    closes the strip, and View ▸ Photos brings it back."""
    win = main_window(fresh_pipeline)
    win.photo_dock.show()
    qtbot.waitUntil(win.photo_dock.isVisible, timeout=WAIT_MS)
    close = win.photo_dock.findChild(QAbstractButton, "qt_dockwidget_closebutton")
    assert close.isVisible() and not close.icon().isNull()
    assert close.width() >= 12 and close.height() >= 12, close.size()
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert not win.photo_dock.isVisible()
    view = next(m for m in win.menuBar().findChildren(QMenu) if m.title() == "&View")
    # each with its Alt key: Photos alone had none, so Alt+V then a letter could not bring the strip back
    assert not [a.text() for a in view.actions() if a.text() and "&" not in a.text()]
    keys = [a.text().split("&")[1][0].lower() for a in view.actions() if a.text()]
    assert len(keys) == len(set(keys)), keys
    # View ▸ Photo went to the tab named "Room photo": each tab is a View item of its name
    items = {a.text().replace("&", "").casefold() for a in view.actions()}
    tabs = [win.tabs.tabText(i) for i in range(win.tabs.count())]
    assert not [tab for tab in tabs if tab.casefold() not in items], tabs
    next(a for a in view.actions() if a.text() == "Photo&s").trigger()
    assert win.photo_dock.isVisible()


def test_the_batch_dialogs_folders_have_names_for_screen_readers(qtbot, fresh_pipeline, qapp):
    """The form's labels named the rows holding each field and its Browse button: both fields had no name."""
    dialog = BatchDialog(fresh_pipeline, Runner(1, qapp), 5)
    qtbot.addWidget(dialog)
    assert _spoken(dialog.source).startswith("Photos") and _spoken(dialog.target).startswith("Save to")
    browse = [_spoken(b) for b in dialog.findChildren(QPushButton) if b.text() == "Browse…"]
    assert len(set(browse)) == 2, browse


def test_batch_and_settings_name_the_matches_per_tag_alike_in_a_box_of_its_size(qtbot, pipeline,
                                                                                tmp_path: Path, qapp):
    """Batch said "Matches per tag: 5" and Settings "Show for each tag: 5 products" for the same number, and the
    form stretched both boxes across the dialog: a 2-digit number at the left end of a 400 px box."""
    from PySide6.QtCore import QSettings

    from app.dialogs.settings import SettingsDialog
    from app.settings import AppSettings

    batch = BatchDialog(pipeline, Runner(1, qapp), 5)
    settings = SettingsDialog(AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)), [], tmp_path)
    seen = set()
    for dialog in (batch, settings):
        qtbot.addWidget(dialog)
        dialog.show()
        box = dialog.top_k
        label = next(label.text() for label in dialog.findChildren(QLabel) if label.buddy() is box)
        seen.add((label, _spoken(box), box.text()))
        assert box.width() == box.sizeHint().width() < dialog.width() / 3, (box.width(), dialog.width())
    assert seen == {("Matches per tag", "Matches per tag", "5 products")}, seen


def test_the_status_line_counts_one_product_as_one(qtbot):
    """A shop's first product read "Catalog: 1 products"."""
    from app.widgets.status_line import StatusLine

    line = StatusLine()
    qtbot.addWidget(line)
    line.show_products(1)
    assert line.products.text() == "Catalog: 1 product"
    line.show_products(1955)
    assert line.products.text() == "Catalog: 1,955 products"
