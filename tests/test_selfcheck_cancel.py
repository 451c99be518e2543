"""A self-check stopped (Help ▸ Check Installation… closed, or the app quit) ends inside the step it is in.

``cancelled`` was asked only between steps, so the app, quit while the check loaded its models or searched (up to a
second a step), waited for that step's end at exit, its pool being waited for there (``app.workers``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from app.dialogs.install_check import check
from app.workers import Job, Task, _Bridge
from engine.errors import Cancelled
from engine.pipeline import Pipeline
from engine.selfcheck import Step, run_self_check
from engine.settings import Settings


def _settings(tmp_path: Path, shared_models: Path) -> Settings:
    return Settings.defaults().with_(data_dir=tmp_path / "data", models_dir=shared_models)


def test_a_check_cancelled_inside_a_step_stops_there(tmp_path: Path, shared_models: Path) -> None:
    """Cancelled once the detectors are loaded: the embedder is never loaded and no step after "models" is listed.
    Asked: before resources, models and runtime, then inside runtime."""
    asked: list[int] = []
    steps: list[Step] = []
    with pytest.raises(Cancelled):
        run_self_check(_settings(tmp_path, shared_models), on_step=steps.append,
                       cancelled=lambda: asked.append(1) or len(asked) > 3)
    assert [s.name for s in steps] == ["resources", "models"] and len(asked) == 4


def test_the_apps_check_asks_its_job(qapp, tmp_path: Path, shared_models: Path) -> None:
    """Closed before its first step ended, the window's check lists none: it stopped before loading anything."""
    task = Task(0, lambda _job: None, _Bridge())
    delivered: list[object] = []
    task.bridge.delivered.connect(lambda _key, part: delivered.append(part))
    task.cancel()
    with pytest.raises(Cancelled):
        check(Pipeline(_settings(tmp_path, shared_models)), Job(task))
    assert delivered == []
