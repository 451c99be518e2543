"""The Train window's Resume and Undo as the run folders tell them (session 48): a run of both models stopped while
it found objects, and Undo after two runs' Use, met when the window opens again."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

if importlib.util.find_spec("torch") is None:  # the window's training needs the [train] extra
    pytest.skip("needs the [train] extra (torch)", allow_module_level=True)
pytest.importorskip("pytestqt")

from app.dialogs.train import UNDO_EARLIER, TrainWindow
from app.train_jobs import FINDS_AGAIN, RESUME_FINDS_AGAIN, RUN_PREFIX, RUNS
from engine.settings import Settings, save_choice
from tests.test_train_walk48 import TRAINED, WAIT_MS, _finished, _opened_again, _used
from training.run import BOTH, INSTALL, INSTALL_JOB, INSTALLED, Job

pytestmark = [pytest.mark.train, pytest.mark.gui]
NEWER = "my-photos-20261207-155329.onnx"  # run B's model


def _stopped_finding_objects(data_dir: Path, exported: bool) -> Path:
    """A run of both models as training leaves it when stopped after matching's 2 epochs: with matching's model
    ``exported`` (``training.run`` writes it just before finding objects begins), or not (stopped in matching)."""
    run = data_dir / RUNS / f"{RUN_PREFIX}20261207-154152"
    job = Job(data_dir=str(data_dir), run=str(run), kind=BOTH, name="my-photos-20261207-154152", epochs=2, views=1)
    job.save()
    (run / "embedder").mkdir()
    (run / "embedder" / "last.pt").write_bytes(b"checkpoint")
    (run / "embedder" / "history.json").write_text(json.dumps([{"epoch": epoch} for epoch in range(3)]))
    if exported:
        (run / "models").mkdir()
        (run / "models" / f"{job.name}.onnx").write_bytes(b"onnx")
    return run


def test_a_run_of_both_stopped_finding_objects_says_resume_trains_that_again(qtbot, fresh_pipeline):
    """Resume exports matching's model again and trains finding objects from the start (the detector keeps no
    checkpoint), while the window opened again said Resume "continues it", and the step line after a stop, or a
    window closed as Resume prepared, that it continued from the last finished epoch."""
    _stopped_finding_objects(fresh_pipeline.data_dir, exported=True)
    window = _opened_again(qtbot, fresh_pipeline.data_dir)
    assert window.step.text() == ("A run started 7 Dec at 15:41 stopped while finding objects, after matching's "
                                  f"training (2 epochs): {RESUME_FINDS_AGAIN}; Start begins a new one with the "
                                  "fields' settings.")
    window._stopped = True  # as a run stopped in this window (Escape, a crash) leaves it
    window.refresh()
    qtbot.waitUntil(lambda: not window._stopped and not window.io.busy(), timeout=WAIT_MS)
    assert window.step.text() == f"Stopped while finding objects: {RESUME_FINDS_AGAIN}; Start begins again."
    window.resume()
    assert window.status.text() == f"Resuming: it {FINDS_AGAIN}…"
    window.close()  # before the process starts: nothing is resumed
    qtbot.waitUntil(lambda: window.status.text().startswith("Not resumed"), timeout=WAIT_MS)
    assert window.status.text().endswith(f"started. {RESUME_FINDS_AGAIN}.")


def test_a_run_of_both_stopped_in_matching_still_continues_from_its_last_epoch(qtbot, fresh_pipeline):
    _stopped_finding_objects(fresh_pipeline.data_dir, exported=False)
    window = _opened_again(qtbot, fresh_pipeline.data_dir)
    assert window.step.text().startswith("A run started 7 Dec at 15:41 stopped after 2 epochs of at most 2: Resume "
                                         "continues it as it was set")


def _undo(qtbot, window: TrainWindow, embedder: str) -> None:
    with qtbot.waitSignal(window.activated, timeout=WAIT_MS) as undone:
        window.undo_button.click()
    assert undone.args[0].settings.embedder == (embedder,)
    assert Settings.for_data_dir(window.pipeline.data_dir).embedder == (embedder,)
    qtbot.waitUntil(lambda: not window.io.busy() and not window._busy, timeout=WAIT_MS)  # counted again


def test_undo_walks_back_every_use_to_the_stock_models(qtbot, fresh_pipeline):
    """Run A used, then run B: Undo went back to A's models and no further (one Use per session), the stock ones
    to be had by a restart or Settings by file name. Each Undo now names whose models come back."""
    stock = fresh_pipeline.settings
    run_a, _network = _finished(stock.data_dir, "20261207-154152", TRAINED)
    _used(run_a, stock, TRAINED)
    run_b, _network = _finished(stock.data_dir, "20261207-155329", NEWER)
    detectors = [list(d) for d in stock.detectors]
    Job(data_dir=str(stock.data_dir), run=str(run_b), kind=INSTALL, embedder=[TRAINED],
        detectors=detectors).save(INSTALL_JOB)  # B's Use, with A's models in use before it
    (run_b / INSTALLED).write_text(json.dumps({"embedder": [NEWER], "detectors": detectors}))
    save_choice(stock.data_dir, "embedder", [NEWER])
    window = _opened_again(qtbot, stock.data_dir)
    assert window.undo_button.text() == "Undo"
    assert window.undo_button.toolTip() == "Back to the models of the run started 7 Dec at 15:41"
    _undo(qtbot, window, TRAINED)
    assert window.status.text().startswith("Back to the models of the run started 7 Dec at 15:41: photos opened")
    assert window.undo_button.isEnabled() and window.use_button.isEnabled()  # B's result shown, not in use
    assert window.undo_button.text() == UNDO_EARLIER
    assert window.undo_button.toolTip() == ("Back from the models of the run started 7 Dec at 15:41 to the stock "
                                            "models")
    _undo(qtbot, window, stock.embedder[0])
    assert window.status.text().startswith("Back to the stock models: photos opened")
    assert not window.undo_button.isEnabled() and window.undo_button.text() == "Undo"
