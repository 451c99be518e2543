"""The Train window as a merchandiser on a laptop without a graphics card walks it (session 48): a run stopped by
quitting the app, met again when the window next opens."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

if importlib.util.find_spec("torch") is None:  # the window's training needs the [train] extra
    pytest.skip("needs the [train] extra (torch)", allow_module_level=True)
pytest.importorskip("pytestqt")

from app.dialogs.train import TrainWindow
from app.train_jobs import RUN_PREFIX, RUNS, LastRun
from engine.pipeline import Pipeline
from engine.settings import Settings, save_choice
from training.run import INSTALL, INSTALL_JOB, INSTALLED, RESULT, Job

pytestmark = [pytest.mark.train, pytest.mark.gui]
WAIT_MS = 60_000
TRAINED = "effnet_lite0_gem.onnx"  # the model a run made: any embedder but the one in use will do


def _left_by_a_quit_app(data_dir: Path, epochs: int, done: int) -> Path:
    """A run folder as training leaves it when the app quits after ``done`` epochs: its job, the epoch checkpoint
    and the history of the epochs it finished (epoch 0 is the model it started from)."""
    run = data_dir / RUNS / f"{RUN_PREFIX}20261207-153715"
    Job(data_dir=str(data_dir), run=str(run), epochs=epochs, views=1).save()
    (run / "embedder").mkdir()
    (run / "embedder" / "last.pt").write_bytes(b"checkpoint")
    history = [{"epoch": epoch, "recall@1": 0.5} for epoch in range(done + 1)]
    (run / "embedder" / "history.json").write_text(json.dumps(history))
    return run


def test_a_run_left_by_a_quit_app_is_said_when_the_window_opens_again(qtbot, fresh_pipeline):
    """Opened again after the app quit mid-run, the window showed a Resume button and nothing else: not which run it
    was, how far it got, nor that Resume keeps that run's settings (2 epochs, 1 view) while the fields read 20 and 3."""
    _left_by_a_quit_app(fresh_pipeline.data_dir, epochs=2, done=1)
    window = TrainWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: getattr(window, "summary_data", None) is not None, timeout=WAIT_MS)
    assert window.resume_button.isVisible()
    assert window.step.text() == ("A run started 7 Dec at 15:37 stopped after 1 epoch of at most 2: Resume continues it "
                                  "as it was set (2 epochs, 1 view), whatever the fields say; Start begins a new one "
                                  "with them.")


def _finished(data: Path, stamp: str, model: str) -> tuple[Path, dict]:
    """A run folder as a finished run leaves it: its result, a network's numbers."""
    run = data / RUNS / f"{RUN_PREFIX}{stamp}"
    run.mkdir(parents=True)
    network = {"model": str(run / "models" / model), "backbone": "mobilenet_v2", "best_epoch": 1, "epochs": 1,
               "pretrained": {"top1": 0.5, "top5": 0.75}, "fine_tuned": {"top1": 0.75, "top5": 1.0}}
    (run / RESULT).write_text(json.dumps({"embedder": network}))
    return run, network


def _used(run: Path, stock: Settings, model: str) -> None:
    """``run``'s Use as it leaves the run folder and the data dir: the models before it in its job, the ones it made
    active beside it, and the choice saved."""
    detectors = [list(d) for d in stock.detectors]
    Job(data_dir=str(stock.data_dir), run=str(run), kind=INSTALL, embedder=list(stock.embedder),
        detectors=detectors).save(INSTALL_JOB)
    (run / INSTALLED).write_text(json.dumps({"embedder": [model], "detectors": detectors}))
    save_choice(stock.data_dir, "embedder", [model])


def _opened_again(qtbot, data: Path) -> TrainWindow:
    window = TrainWindow(Pipeline(Settings.for_data_dir(data)))  # the app opened again
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: getattr(window, "summary_data", None) is not None, timeout=WAIT_MS)
    return window


def _undone_to(qtbot, window: TrainWindow, stock: Settings) -> None:
    with qtbot.waitSignal(window.activated, timeout=WAIT_MS) as undone:
        window.undo_button.click()
    assert undone.args[0].settings.embedder == stock.embedder
    assert Settings.for_data_dir(stock.data_dir).embedder == stock.embedder


def test_undo_is_offered_again_once_the_app_is_opened_after_use(qtbot, fresh_pipeline):
    """Use this model, then quit: opened again, the window had no Undo and no way back, to the stock models or
    the previous run's (Undo lived as long as the window that chose Use). It shows the run in use, and Undo works."""
    stock = fresh_pipeline.settings
    run, network = _finished(stock.data_dir, "20261207-154152", TRAINED)
    _used(run, stock, TRAINED)
    window = _opened_again(qtbot, stock.data_dir)
    before = (list(stock.embedder), [list(d) for d in stock.detectors])
    assert window.summary_data.last == LastRun(run, "started 7 Dec at 15:41", {"embedder": network}, run,
                                               "started 7 Dec at 15:41", before)
    assert window.status.text() == ("In use: the models of the run started 7 Dec at 15:41, chosen with Use this model. "
                                    "Undo goes back to the models in use before them.")
    assert window.undo_button.isEnabled() and not window.use_button.isEnabled() and window.results_box.isVisible()
    _undone_to(qtbot, window, stock)


def test_a_finished_run_not_used_before_the_app_quit_is_shown_again_with_use(qtbot, fresh_pipeline):
    """A run finished, the app quit without Use: opened again, the window showed neither its before / after nor
    Use, and its model was to be had only by training again."""
    run, _network = _finished(fresh_pipeline.data_dir, "20261207-155329", "my-photos-20261207-155329.onnx")
    window = _opened_again(qtbot, fresh_pipeline.data_dir)
    assert window.results_box.isVisible() and window.use_button.isEnabled() and not window.undo_button.isEnabled()
    assert window.result_run == run  # what Use puts in use
    assert window.status.text() == ("The run started 7 Dec at 15:53 finished; its models are not in use: Use this "
                                    "model puts them in use.")


def test_a_newer_run_not_used_leaves_undo_to_the_one_in_use(qtbot, fresh_pipeline):
    """One run used, a later one not: opened again, the later one is offered for Use, and Undo still goes back from
    the models in use to the stock ones."""
    stock = fresh_pipeline.settings
    used, _network = _finished(stock.data_dir, "20261207-154152", TRAINED)
    _used(used, stock, TRAINED)
    newer, _network = _finished(stock.data_dir, "20261207-155329", "my-photos-20261207-155329.onnx")
    window = _opened_again(qtbot, stock.data_dir)
    assert window.result_run == newer and window.use_button.isEnabled() and window.undo_button.isEnabled()
    assert window.status.text() == ("The run started 7 Dec at 15:53 finished; its models are not in use: Use this "
                                    "model puts them in use. In use now: the models of the run started 7 Dec at "
                                    "15:41; Undo goes back to the models before them.")
    _undone_to(qtbot, window, stock)


def test_the_time_left_counts_the_epochs_still_to_come(qtbot, fresh_pipeline):
    """Finding objects on a CPU runs up to 80 epochs, 15-25 minutes, and the window said only the time left in the
    current epoch (nothing at all where an epoch is a step or two): no word of the minutes still to come."""
    window = TrainWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window._running("replaying a detector's steps")
    window._clock.stop()
    for epoch in (1, 2, 3):
        window._progress("detector", 1, 1, f"epoch {epoch}/80")
        window._progress("validate", epoch, 80, f"epoch {epoch}/80: val mAP50 0.100")
    window._epochs = [(epoch, of, end - 18 * (3 - epoch)) for epoch, of, end in window._epochs]  # 18 s an epoch
    window._tick()
    assert window.elapsed.text().endswith(" · up to 77 more epochs: about 23:06"), window.elapsed.text()
    window._progress("validate", 1, 20, "epoch 1: val recall@1 0.500 @5 0.800")  # matching's, in a run of both
    window._tick()
    assert "more epoch" not in window.elapsed.text()  # one epoch of it tells nothing yet
