"""The Train window's follow-ups of session 48's walk: what a screen reader is told, what Undo undoes, the stages a run
finding objects only skips, and quitting the app while a run trains."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("torch") is None:  # the window's training needs the [train] extra
    pytest.skip("needs the [train] extra (torch)", allow_module_level=True)
pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication
from test_a11y48 import POLITE, URGENT, told  # noqa: F401 (a fixture)
from test_train_walk48 import TRAINED, _finished, _opened_again, _undone_to, _used
from test_train_window import shop  # noqa: F401 (a fixture)

from app.dialogs.train import MATCHING_ONLY, SKIPPED, STAGES, STOPPED, UNDO_EARLIER, TrainWindow
from engine.remedies import in_app

pytestmark = [pytest.mark.train, pytest.mark.gui]
WAIT_MS = 120_000


def _window(qtbot, pipeline) -> TrainWindow:
    window = TrainWindow(pipeline)
    qtbot.addWidget(window)
    return window


def test_each_stage_bar_is_named_for_a_screen_reader(qtbot, fresh_pipeline):
    """The five bars were all read as "Progress", the box's title: which stage each was, only the eye could tell."""
    window = _window(qtbot, fresh_pipeline)
    names = [QAccessible.queryAccessibleInterface(bar).text(QAccessible.Text.Name) for _label, bar in window.bars.values()]
    assert names == [title for title, _names in STAGES]


def test_how_a_run_ended_is_told_to_a_screen_reader(qtbot, fresh_pipeline, told):  # noqa: F811
    """Finished, cancelled or failed: the status line changed, but a screen reader, its keyboard on Start or Use,
    said nothing of it; an error is told over what it is saying."""
    window = _window(qtbot, fresh_pipeline)
    run, network = _finished(fresh_pipeline.data_dir, "20261207-161500", "my-photos-20261207-161500.onnx")
    window._running("replaying a run", "embedder")
    window.run = run
    window._finished("done", {"embedder": network})
    assert told[-1] == (window.status.text(), POLITE) and window.status.text().startswith("Training finished")
    crash = "Training stopped unexpectedly: RuntimeError: out of memory"
    window._running("replaying a crash", "embedder")
    window._finished("crashed", crash)
    assert told[-1] == (in_app(crash), URGENT)
    window._failed("no corrected boxes to train the detector on: tag and correct some photos first")
    assert told[-1][1] == URGENT and told[-1][0] == window.status.text()
    window._running("replaying a cancel", "embedder")
    window.cancel()
    window._finished("cancelled", "")
    qtbot.waitUntil(lambda: told[-1] == ("Cancelled: nothing changed.", POLITE), timeout=WAIT_MS)


def test_undo_beside_a_new_result_says_it_undoes_the_earlier_use(qtbot, fresh_pipeline):
    """A run's models in use, then a new run finished in the same session: "Undo" beside its "Use this model" read as
    undoing the new result, when it goes back from the earlier run's models."""
    stock = fresh_pipeline.settings
    used, _network = _finished(stock.data_dir, "20261207-154152", TRAINED)
    _used(used, stock, TRAINED)
    window = _opened_again(qtbot, stock.data_dir)
    assert window.undo_button.text() == "Undo"  # beside the run it undoes
    newer, network = _finished(stock.data_dir, "20261207-155329", "my-photos-20261207-155329.onnx")
    window._running("replaying a run", "embedder")
    window.run = newer
    window._finished("done", {"embedder": network})
    assert window.use_button.isEnabled() and window.undo_button.isEnabled()
    assert window.undo_button.text() == UNDO_EARLIER and "started 7 Dec at 15:41" in window.undo_button.toolTip()
    assert window.status.text().endswith(" In use now: the models of the run started 7 Dec at 15:41; Undo goes back "
                                         "to the models before them.")
    _undone_to(qtbot, window, stock)
    assert window.undo_button.text() == "Undo"  # not "the earlier Use", of models no longer in use


def test_a_run_finding_objects_only_shows_matchings_stages_skipped(qtbot, fresh_pipeline):
    """A detector-only run's "Finding the objects" and "Preparing the pictures" ran to 100 % as its training began,
    for steps it never took."""
    window = _window(qtbot, fresh_pipeline)
    window._running("replaying a detector's steps", "detector")
    window._clock.stop()
    for step in (("detector", 3, 10, "labelling train"), ("detector", 1, 1, "epoch 1/80"), ("evaluate", 1, 4, "")):
        window._progress(*step)
    for title, (label, bar) in window.bars.items():
        skipped = title in MATCHING_ONLY
        assert (bar.value() == 0, bar.isEnabled(), label.isEnabled()) == (skipped, not skipped, not skipped), title
        assert (window.shares[title].text() == SKIPPED) == skipped, title
    window._running("a run of both", "both")  # every stage is part of it
    window._clock.stop()
    assert [window.shares[title].text() for title in window.bars] == ["0 %"] * len(STAGES)


def _answer(button: str, asked: list[str]) -> None:
    """``button`` clicked on the question the app is about to ask, its words kept in ``asked``."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        asked.append(box.text())
        next(b for b in box.buttons() if b.text() == button).click()

    QTimer.singleShot(0, click)


def test_quitting_while_a_run_trains_asks_and_stops_it_first(qtbot, shop, main_window):  # noqa: F811
    """Quitting the app killed a running training outright ("QProcess: Destroyed while process is still running"),
    mid-step, without a word. It asks; Keep Training keeps the app open, Quit and Stop It stops the run between steps,
    as Cancel does, and the app quits once it has ended."""
    pipeline, dataset = shop
    win = main_window(pipeline)
    win.show_training()
    window = win.train_window
    window.folder.setText(str(dataset))
    window.refresh()
    qtbot.waitUntil(window.start_button.isEnabled, timeout=WAIT_MS)
    window.epochs.setValue(1)
    window.views.setValue(1)
    window.start_button.click()
    try:
        qtbot.waitUntil(lambda: window.process.running, timeout=WAIT_MS)
        asked: list[str] = []
        _answer("Keep Training", asked)
        win.close()
        assert win.isVisible() and window.process.running and not window.process.stopping
        _answer("Quit and Stop It", asked)
        win.close()
        assert win.isVisible() and window.status.text().startswith("Quitting once training has stopped: the epochs")
        win.close()  # again, while it stops: not asked again
        qtbot.waitUntil(lambda: not win.isVisible(), timeout=WAIT_MS)
        assert len(asked) == 2 and asked[0].startswith("A training is running. Quit and stop it: the epochs it")
        assert window.status.text() == STOPPED  # it ended by itself: killed, it said "Training stopped unexpectedly"
    finally:
        if window.process.running:  # the test failed: no question left for the fixture's close to ask
            window.process.process.kill()
            window.process.process.waitForFinished()
