"""What the packaged app's staff read where they look for help: the setup page's "What was looked for", and
Help ▸ About (the app guide and this computer's data folder). Found walking the built app under Xvfb."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl

from app.dialogs.about import about_html
from app.widgets.setup_page import SetupPage
from app.workers import Runner
from decorlens import options
from decorlens.frozen import frozen_entry
from engine.errors import ModelError
from engine.models import find_model


def test_setup_page_names_what_was_looked_for_not_a_command_line(qtbot, tmp_path: Path, qapp):
    """The engine's line ends in "run `decorlens models fetch`…": no such program in the packaged app, and the
    page's own buttons are the fix."""
    empty = tmp_path / "models"
    empty.mkdir()
    with pytest.raises(ModelError) as raised:
        find_model("mobilenet_v2_1.0_224_quant.float.onnx", empty, tmp_path / "data")
    assert "`decorlens models fetch" in str(raised.value)
    runner = Runner(1, qapp)
    page = SetupPage(runner, lambda: tmp_path / "data" / "models")
    qtbot.addWidget(page)
    page.show_error(str(raised.value))
    shown = page.error.text()
    assert shown.startswith("model mobilenet_v2_1.0_224_quant.float.onnx not found in ")
    assert str(empty) in shown
    assert "decorlens" not in shown and "fetch" not in shown


def test_about_names_the_data_folder_with_a_link(tmp_path: Path):
    folder = tmp_path / "Ana's DecorLens"
    text = about_html([], folder)
    assert f'href="{QUrl.fromLocalFile(str(folder)).toString()}"' in text
    assert "Ana&#x27;s DecorLens" in text  # escaped: a folder name is the user's text
    assert "catalog, settings and backups" in text


def _packaged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run as the packaged app: frozen, its executable DecorLens.exe (the program name it sets is put back after)."""
    monkeypatch.setattr(options, "_program", options.PROG)
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # as PyInstaller's bootloader sets it
    monkeypatch.setattr(sys, "executable", str(tmp_path / "DecorLens" / "DecorLens.exe"))


@pytest.mark.parametrize("argv", [["--help"], ["catalog", "--help"], ["bundle", "--help"], ["models", "--help"]])
def test_the_packaged_apps_help_names_its_own_program(monkeypatch, capsys, tmp_path: Path, argv: list[str]):
    """`DecorLens --help` named a `decorlens` command, in its usage line and first steps, that is not in the app's
    folder, and `DecorLens catalog --help` said "`decorlens catalog VERB --help` says more": the packaged app's
    commands are typed as its executable's name."""
    _packaged(monkeypatch, tmp_path)
    assert frozen_entry(argv) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: DecorLens {' '.join(argv[:-1])}".rstrip())
    assert "decorlens" not in shown.replace("DecorLens", "")
    if argv == ["--help"]:
        assert "\n  DecorLens catalog import feed.csv " in shown
    else:
        assert f"`DecorLens {argv[0]} VERB --help` says more" in shown


@pytest.mark.parametrize("argv, hint", [
    (["search", "{folder}"], "`DecorLens search` takes one photo; `DecorLens tag FOLDER --out DIR` tags"),
    (["catalog", "stats", "--quiet"], ("--quiet is an option of DecorLens itself: type it before the command, "
                                       "`DecorLens --quiet … COMMAND …`")),
])
def test_the_packaged_apps_error_hints_name_its_own_program(monkeypatch, capsys, tmp_path: Path, argv: list[str],
                                                            hint: str):
    """The command lines an error suggests are typed as the executable's name too (they said `decorlens …`)."""
    _packaged(monkeypatch, tmp_path)
    folder = tmp_path / "photos"
    folder.mkdir()
    args = ["--data-dir", str(tmp_path / "data"), *(a.format(folder=folder) for a in argv)]
    assert frozen_entry(args) != 0
    assert hint in capsys.readouterr().err


def test_the_python_installs_help_names_decorlens(capsys):
    assert frozen_entry(["--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: decorlens ")


@pytest.mark.parametrize("argv, more", [
    (["models", "export", "{weights}"], "; the default models need no export: `DecorLens models fetch`"),
    (["--data-dir", "{data}", "models", "quantize"], ""),
    (["models", "combine", "--help"], ""),
])
def test_the_packaged_apps_training_verbs_say_they_are_not_in_it(monkeypatch, capsys, tmp_path: Path,
                                                                 shared_models: Path, argv: list[str], more: str):
    """`DecorLens models export yolo11n.pt` said "export needs the [train] extra (training is missing):
    `scripts/install --train`", a script its folder does not have, quoted as a command to type there. The verbs of the
    training package (build.spec leaves it out: here its import is blocked as it fails there) say what
    `DecorLens train` says."""
    _packaged(monkeypatch, tmp_path)
    monkeypatch.setitem(sys.modules, "training", None)  # `import training` fails, as in the packaged app
    args = [a.format(weights=shared_models / "yolo11n-ovint8-dq.pt", data=tmp_path / "data") for a in argv]
    assert frozen_entry(args) == 2
    verb = " ".join(a for a in argv if a in ("models", "export", "quantize", "combine"))
    assert capsys.readouterr().err == (f"DecorLens: error: `{verb}` is not in the packaged app (it ships without "
                                       "PyTorch): run it in a Python install with the training extra "
                                       f"(scripts/install --train){more}\n")


def test_the_python_installs_training_verbs_run(capsys):
    """Where the training package is installed the verbs are the CLI's own (their help here)."""
    assert frozen_entry(["models", "export", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: decorlens models export ")


def test_the_packaged_apps_model_list_names_no_export_it_cannot_run(monkeypatch, capsys, tmp_path: Path,
                                                                     shared_models: Path):
    """`DecorLens models list` said the pose model was "not installed; `DecorLens models export …pt`", a command
    the packaged app refuses (it ships without the training package)."""
    _packaged(monkeypatch, tmp_path)
    assert frozen_entry(["--data-dir", str(tmp_path / "data"), "--models-dir", str(shared_models), "models",
                         "list"]) == 0
    pose = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("pose"))
    assert pose.endswith("not installed") and "export" not in pose
