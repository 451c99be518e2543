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
