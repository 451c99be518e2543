"""A training run's files as a user, a sync tool or another copy of the app may leave them (session 49): a FIFO, a
huge file or JSON nested past Python's limit where the Train window reads a job, a result, an install or a history.
The window's worker waited on a FIFO for ever, and deep nesting raised RecursionError out of its opening."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

if importlib.util.find_spec("torch") is None:  # the run files are training's
    pytest.skip("needs the [train] extra (torch)", allow_module_level=True)

from test_train_walk48 import TRAINED, _finished, _left_by_a_quit_app, _used

from app import train_jobs
from engine.errors import DecorLensError
from engine.pipeline import Pipeline
from engine.settings import Settings
from training.run import INSTALL_JOB, INSTALLED, RESULT, RUN_FILE_MAX_BYTES, Job

pytestmark = [pytest.mark.train, pytest.mark.timeout(120)]  # a FIFO read blocks: fail, not hang the suite
DEEP = "[" * 100_000 + "]" * 100_000


def _huge(path: Path) -> None:
    """A sparse file far past what a run file holds: read whole, gigabytes."""
    path.unlink(missing_ok=True)
    with open(path, "wb") as fh:
        fh.truncate(RUN_FILE_MAX_BYTES + 1)


@pytest.mark.parametrize(("damage", "said"), [
    (lambda path: path.write_text(DEEP), "nested too deep"),
    (_huge, "larger than a run's file"),
])
def test_a_result_nested_deep_or_huge_is_passed_over_and_said(fresh_pipeline, damage, said):
    good, _network = _finished(fresh_pipeline.data_dir, "20261207-154152", TRAINED)
    damaged, _network = _finished(fresh_pipeline.data_dir, "20261207-155329", "mine.onnx")
    damage(damaged / RESULT)
    last, notes = train_jobs.last_run(fresh_pipeline)
    assert last is not None and last.run == good
    assert notes == [f"{damaged.name}/{RESULT}: {said}"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_a_history_that_is_a_fifo_counts_no_epochs_and_does_not_block(fresh_pipeline):
    run = _left_by_a_quit_app(fresh_pipeline.data_dir, epochs=2, done=1)
    history = run / "embedder" / "history.json"
    history.unlink()
    os.mkfifo(history)
    assert "stopped after 0 epochs of at most 2" in train_jobs.stopped_words(run)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
@pytest.mark.parametrize("name", [INSTALL_JOB, INSTALLED])
def test_a_run_used_whose_install_files_are_fifos_opens_without_undo(fresh_pipeline, name):
    """install.json (the models before Use) or installed.json (the ones it made active) as a FIFO held the window's
    worker for ever; the run is shown, and Undo has nothing to go back to."""
    run, _network = _finished(fresh_pipeline.data_dir, "20261207-154152", TRAINED)
    _used(run, fresh_pipeline.settings, TRAINED)
    (run / name).unlink()
    os.mkfifo(run / name)
    last, _notes = train_jobs.last_run(Pipeline(Settings.for_data_dir(fresh_pipeline.data_dir)))
    assert last is not None and last.run == run and last.before is None


def test_a_job_nested_deep_is_unreadable_in_one_line(tmp_path):
    (tmp_path / "job.json").write_text(DEEP)
    with pytest.raises(DecorLensError, match=r"training job .*job\.json is unreadable \(.*nested too deep\)"):
        Job.load(tmp_path / "job.json")


def test_a_run_file_within_the_bound_is_read_as_before(tmp_path):
    """The bound leaves room: a job as training writes it loads, its values intact."""
    job = Job(data_dir=str(tmp_path), run=str(tmp_path / "run"), epochs=3, views=2)
    assert Job.load(job.save()) == job
    assert json.loads((tmp_path / "run" / "job.json").read_text())["epochs"] == 3
