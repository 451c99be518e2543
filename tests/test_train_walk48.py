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
from app.train_jobs import RUN_PREFIX, RUNS
from training.run import Job

pytestmark = [pytest.mark.train, pytest.mark.gui]
WAIT_MS = 60_000


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


def test_undo_is_offered_again_once_the_app_is_opened_after_use(qtbot, fresh_pipeline):
    """Use this model, then quit: opened again, the window had no Undo and no way back, to the stock models or
    the previous run's (Undo lived as long as the window that chose Use). It shows the run in use, and Undo works."""
    from app import train_jobs
    from engine.pipeline import Pipeline
    from engine.settings import Settings, save_choice
    from training.run import INSTALL, INSTALL_JOB, INSTALLED, RESULT

    data, stock = fresh_pipeline.data_dir, fresh_pipeline.settings
    detectors = [list(d) for d in stock.detectors]
    trained = "effnet_lite0_gem.onnx"  # the model a run made (any embedder that is not the one in use will do)
    run = data / RUNS / f"{RUN_PREFIX}20261207-154152"
    Job(data_dir=str(data), run=str(run), kind=INSTALL, embedder=list(stock.embedder), detectors=detectors).save(
        INSTALL_JOB)
    network = {"model": str(run / "models" / trained), "backbone": "mobilenet_v2", "best_epoch": 1, "epochs": 1,
               "pretrained": {"top1": 0.5, "top5": 0.75}, "fine_tuned": {"top1": 0.75, "top5": 1.0}}
    (run / RESULT).write_text(json.dumps({"embedder": network}))
    (run / INSTALLED).write_text(json.dumps({"embedder": [trained], "detectors": detectors}))
    save_choice(data, "embedder", [trained])  # as Use left it
    window = TrainWindow(Pipeline(Settings.for_data_dir(data)))  # the app opened again
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: getattr(window, "summary_data", None) is not None, timeout=WAIT_MS)
    assert window.summary_data.last == train_jobs.LastRun(run, "started 7 Dec at 15:41", {"embedder": network},
                                                          (list(stock.embedder), detectors))
    assert window.status.text() == ("In use: the models of the run started 7 Dec at 15:41, chosen with Use this model. "
                                    "Undo goes back to the models in use before them.")
    assert window.undo_button.isEnabled() and not window.use_button.isEnabled() and window.results_box.isVisible()
    with qtbot.waitSignal(window.activated, timeout=WAIT_MS) as undone:
        window.undo_button.click()
    assert undone.args[0].settings.embedder == stock.embedder
    assert Settings.for_data_dir(data).embedder == stock.embedder


def test_a_finished_run_not_used_before_the_app_quit_is_shown_again_with_use(qtbot, fresh_pipeline):
    """A run finished, the app quit without Use: opened again, the window showed neither its before / after nor
    Use, and its model was to be had only by training again."""
    from training.run import RESULT

    data = fresh_pipeline.data_dir
    run = data / RUNS / f"{RUN_PREFIX}20261207-155329"
    run.mkdir(parents=True)
    network = {"model": str(run / "models" / "my-photos-20261207-155329.onnx"), "backbone": "mobilenet_v2",
               "best_epoch": 1, "epochs": 1, "pretrained": {"top1": 0.5, "top5": 0.75},
               "fine_tuned": {"top1": 0.75, "top5": 1.0}}
    (run / RESULT).write_text(json.dumps({"embedder": network}))
    window = TrainWindow(fresh_pipeline)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: getattr(window, "summary_data", None) is not None, timeout=WAIT_MS)
    assert window.results_box.isVisible() and window.use_button.isEnabled() and not window.undo_button.isEnabled()
    assert window.result_run == run  # what Use puts in use
    assert window.status.text() == ("The run started 7 Dec at 15:53 finished; its models are not in use. Use this "
                                    "model puts them in use.")
