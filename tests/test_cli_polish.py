"""What a merchandiser meets at the CLI's edges: a folder option given the whole disk or the home folder, and
names with accents carried from a training set to the detector's card, its category map and what is printed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from decorlens.errors import USER_ERROR
from decorlens.main import main
from decorlens.options import wide_folder
from engine.paths import CATALOG_FILE

PREFIX = "decorlens: error: "


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one in-process run."""
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's refusals
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of the test's own (Path.home() reads HOME), empty."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


def test_the_home_folder_as_data_dir_is_refused_before_anything_is_written(home: Path,
                                                                           capsys: pytest.CaptureFixture[str]):
    """`--data-dir ~` wrote catalog.sqlite (then indexes, models, backups) among the user's own files."""
    code, out, err = run(["--data-dir", str(home), "catalog", "list"], capsys)
    assert code == USER_ERROR and not out
    assert err.startswith(f"{PREFIX}--data-dir ") and err.count("\n") == 1  # the path shortened to fit the line
    assert " is your home folder; DecorLens keeps its catalog, indexes and models in a folder of its own: " in err
    assert err.endswith("/home/DecorLens\n")
    assert list(home.iterdir()) == []


def test_the_home_folder_from_the_environment_is_refused_by_its_name(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("DECORLENS_DATA_DIR", str(home))
    code, _out, err = run(["catalog", "list"], capsys)
    assert code == USER_ERROR and err.startswith(f"{PREFIX}DECORLENS_DATA_DIR ") and "/home is your home folder;" in err
    assert list(home.iterdir()) == []


def test_a_home_folder_already_holding_a_catalog_still_opens(home: Path, tmp_path: Path, ikea: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]):
    """Refusing it would cut its owner off from a catalog made before the refusal existed."""
    lamps = tmp_path / "products" / "lamp"
    lamps.mkdir(parents=True)
    for photo in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:2]:
        shutil.copy(photo, lamps)
    monkeypatch.setenv("HOME", str(tmp_path))  # the import is not into the home folder of the moment
    assert run(["-q", "--data-dir", str(home), "catalog", "import", str(lamps.parent)], capsys)[0] == 0
    monkeypatch.setenv("HOME", str(home))
    assert (home / CATALOG_FILE).is_file()
    code, out, _err = run(["--data-dir", str(home), "catalog", "list"], capsys)
    assert code == 0 and out.count("lamp") == 2


def test_a_training_run_folder_is_refused_as_the_whole_disk_or_the_home_folder(home: Path,
                                                                              capsys: pytest.CaptureFixture[str]):
    """`train --out` fills its folder with checkpoints and cached crops: / and ~ are refused when parsed."""
    for out, words in (("/", " / is the whole disk"), (str(home), "/home is your home folder")):
        code, _out, err = run(["train", "--data", str(home / "none"), "--out", out], capsys)
        assert code == USER_ERROR and err.count("\n") == 1
        assert f"{words}: name a folder of its own for the run" in err
    assert wide_folder("/") == "the whole disk" and wide_folder(home / "shop") is None
