"""What the app shows of the engine's lines names the app's own way to do it (``engine.remedies``), never a
`decorlens …` command: the packaged app for retail staff has none. The CLI keeps its words (its tests read them),
and the packaged app's own command lines name it as staff type it, ``DecorLens``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from scene_copy import copy_data_dir

from decorlens.main import main
from decorlens.options import PROG, use_program
from engine.pipeline import Pipeline

SHOTS = os.environ.get("DECORLENS_SHOTS")


@pytest.fixture
def packaged_name():
    """The packaged app's program name for one test; the CLI's again after it."""
    yield "DecorLens"
    use_program(PROG)


def test_people_on_without_its_model_names_the_apps_setting_not_an_export(qtbot, main_window, pipeline,
                                                                         tmp_path: Path, scene_path):
    """A photo opened with `people: on` and no pose model said "`decorlens models export …` makes it ([train]
    extra), or set people: off": an export the packaged app cannot run."""
    data = copy_data_dir(pipeline, tmp_path / "data")
    with open(data / "config.yaml", "a", encoding="utf-8") as fh:
        fh.write("\npeople: on\n")
    window = main_window(Pipeline(pipeline.settings.with_(data_dir=data, people="on")), (1280, 800))
    window.open_photo(scene_path("living"))
    qtbot.waitUntil(lambda: window.message.isVisible() and "people" in window.message.text.text(), timeout=90_000)
    text = window.message.text.text()
    if SHOTS:
        window.grab().save(str(Path(SHOTS) / "people-on-message.png"))
    assert "decorlens" not in text and "set people: off in the data folder's config.yaml" in text, text


def test_the_packaged_apps_error_lines_name_it_and_its_commands(tmp_path: Path, capsys, packaged_name, scene_path):
    """`DecorLens search` without its models started "decorlens: error:" and named `decorlens models fetch`, a
    program the packaged app's folder does not have."""
    empty = tmp_path / "models"
    empty.mkdir()
    assert main(["--data-dir", str(tmp_path / "d"), "--models-dir", str(empty), "search",
                 str(scene_path("living"))], packaged_name) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("DecorLens: error: model ") and "`DecorLens models fetch`" in line, line
    assert "decorlens" not in line, line


def test_the_cli_keeps_its_own_name_and_command(tmp_path: Path, capsys, scene_path):
    empty = tmp_path / "models"
    empty.mkdir()
    assert main(["--data-dir", str(tmp_path / "d"), "--models-dir", str(empty), "search",
                 str(scene_path("living"))]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("decorlens: error: model ") and "`decorlens models fetch`" in line, line


def test_the_packaged_self_check_names_its_own_fetch(tmp_path: Path, capsys, packaged_name):
    """`DecorLens --self-check` without models said "`decorlens models fetch` gets them"."""
    empty = tmp_path / "models"
    empty.mkdir()
    main(["--data-dir", str(tmp_path / "d"), "--models-dir", str(empty), "self-check"], packaged_name)
    out = capsys.readouterr().out
    assert "`DecorLens models fetch` gets them" in out and "`decorlens" not in out, out



def test_the_packaged_self_checks_step_lines_and_json_name_its_own_fetch(tmp_path: Path, capsys, packaged_name):
    """`DecorLens --self-check` printed its summary with `DecorLens models fetch`, but its step lines on stderr
    ("FAIL models … `decorlens models fetch` gets them", what a person reads first) and `--json`'s details still
    named `decorlens`, which the packaged app's folder does not have."""
    empty = tmp_path / "models"
    empty.mkdir()
    main(["--data-dir", str(tmp_path / "d"), "--models-dir", str(empty), "self-check"], packaged_name)
    err = capsys.readouterr().err
    assert "FAIL models" in err and "`DecorLens models fetch` gets them" in err and "`decorlens" not in err, err
    main(["--data-dir", str(tmp_path / "d"), "--models-dir", str(empty), "self-check", "--json"], packaged_name)
    out = capsys.readouterr().out
    assert "`DecorLens models fetch` gets them" in out and "`decorlens" not in out, out
