"""What a merchandiser meets at the CLI's edges: a folder option given the whole disk or the home folder, and
names with accents carried from a training set to the detector's card, its category map and what is printed."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml
from PIL import Image

from decorlens.errors import USER_ERROR
from decorlens.main import FIRST_STEPS, build_parser, main
from decorlens.options import wide_folder
from engine.categories import CategoryMap
from engine.models import find_model
from engine.paths import CATALOG_FILE
from training.data import PairDataset

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "decorlens: error: "
DECOR, ARMCHAIRS = "Décor", "Fauteuils_été"  # as typed: one character per accented letter (NFC)


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
    assert code == 0 and out.count("Lamp") == 2


def test_a_training_run_folder_is_refused_as_the_whole_disk_or_the_home_folder(home: Path,
                                                                              capsys: pytest.CaptureFixture[str]):
    """`train --out` fills its folder with checkpoints and cached crops: / and ~ are refused when parsed."""
    for out, words in (("/", " / is the whole disk"), (str(home), "/home is your home folder")):
        code, _out, err = run(["train", "--data", str(home / "none"), "--out", out], capsys)
        assert code == USER_ERROR and err.count("\n") == 1
        assert f"{words}: name a folder of its own for the run" in err
    assert wide_folder("/") == "the whole disk" and wide_folder(home / "shop") is None
    (home / "notes.txt").write_text("a file\n", encoding="utf-8")
    code, _out, err = run(["train", "--data", str(home / "none"), "--out", str(home / "notes.txt")], capsys)
    assert code == USER_ERROR and "notes.txt is a file: give a folder to write into" in err


def decomposed(name: str) -> str:
    """``name`` as a macOS folder listing gives it: "e" then a combining accent (NFD)."""
    return unicodedata.normalize("NFD", name)


def test_a_dataset_category_is_read_as_one_form_of_its_name(tmp_path: Path):
    """A products.csv written from a macOS folder listing ("Fauteuils_e\u0301te\u0301") and a pairs.csv typed
    in a spreadsheet name one category; read as written, they were two, and neither matched the catalog's."""
    (tmp_path / "products.csv").write_text(f"product_id,category,image\n1,{decomposed(ARMCHAIRS)},a.jpg\n"
                                           f"2,{DECOR},b.jpg\n", encoding="utf-8")
    (tmp_path / "pairs.csv").write_text(f"scene_id,product_id,category\ns,1,{ARMCHAIRS}\ns,2,{decomposed(DECOR)}\n",
                                        encoding="utf-8")
    dataset = PairDataset.load(tmp_path)
    assert [p.category for p in dataset.products.values()] == [ARMCHAIRS, DECOR]
    assert [p.category for p in dataset.pairs] == [ARMCHAIRS, DECOR]


def _accented_yolo_set(folder: Path, scenes: list[Path]) -> Path:
    """A YOLO set of four training and two validation photos whose class names are written decomposed."""
    for split, photos in (("train", scenes[:4]), ("val", scenes[4:6])):
        for kind in ("images", "labels"):
            (folder / kind / split).mkdir(parents=True)
        for photo in photos:
            Image.open(photo).convert("RGB").resize((160, 120)).save(folder / "images" / split / f"{photo.stem[:20]}.jpg")
            (folder / "labels" / split / f"{photo.stem[:20]}.txt").write_text("0 0.5 0.5 0.3 0.3\n1 0.3 0.3 0.2 0.2\n")
    spec = {"train": "images/train", "val": "images/val", "names": {0: DECOR, 1: decomposed(ARMCHAIRS)}}
    (folder / "data.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return folder / "data.yaml"


@pytest.mark.train
def test_accented_class_names_reach_the_card_the_map_and_the_terminal_as_written(tmp_path: Path, ikea: Path):
    """One epoch at 64 px on a YOLO set named "Décor" and a decomposed "Fauteuils_été": the run printed
    "D\\u00e9cor", the card kept the decomposed name (the catalog's typed one never matched it), and the run
    named a COCO folder a --yolo-data set does not have."""
    pytest.importorskip("torch")
    if importlib.util.find_spec("ultralytics") is None:
        pytest.skip("ultralytics is not installed (the [train] extra)")
    data_yaml = _accented_yolo_set(tmp_path / "set", sorted((ikea / "scenes").glob("*.jpg"))[:6])
    data = tmp_path / "data"
    done = subprocess.run([sys.executable, "-m", "decorlens", "-q", "--data-dir", str(data), "train-detector",
                           "--yolo-data", str(data_yaml), "--epochs", "1", "--imgsz", "64", "--batch", "2",
                           "--name", "accents"], check=False, capture_output=True, text=True, encoding="utf-8", cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    counts = next(line for line in done.stdout.splitlines() if line.startswith("labels per category"))
    assert counts == f'labels per category (train): {json.dumps({DECOR: {"yolo": 4}, ARMCHAIRS: {"yolo": 4}}, ensure_ascii=False)}'
    assert f"dataset: {data_yaml} (YOLO)\n" in done.stdout  # and no "coco" folder, which it has not
    assert find_model("accents.onnx", data_dir=data).card.class_names == [DECOR, ARMCHAIRS]
    assert {DECOR, ARMCHAIRS} <= set(CategoryMap.load(data).search)


def test_a_file_where_a_folder_goes_is_refused_before_any_work(tmp_path: Path, ikea: Path,
                                                               capsys: pytest.CaptureFixture[str]):
    """`search PHOTO --why feed.csv` searched, printed every match, then failed with exit 2 on "already exists";
    `eval --data feed.csv` said "feed.csv: no products.csv", as if the file were a folder missing one."""
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,name,category,image\n", encoding="utf-8")
    code, out, err = run(["search", str(next((ikea / "scenes").glob("*.jpg"))), "--why", str(feed)], capsys)
    assert code == USER_ERROR and not out and err.count("\n") == 1
    assert "argument --why: " in err and "feed.csv is a file: give a folder to write into" in err
    code, _out, err = run(["eval", "--data", str(tmp_path), "--out", str(feed)], capsys)
    assert code == USER_ERROR and "argument --out: " in err and "feed.csv is a file: give a folder" in err
    for command in ("eval", "train"):
        code, _out, err = run([command, "--data", str(feed)], capsys)
        assert code == USER_ERROR and err.count("\n") == 1, err
        assert err.endswith("feed.csv is a file: give a dataset folder (pairs.csv, products.csv, scenes.csv)\n"), err


def test_an_earlier_evaluation_that_is_no_file_is_one_line_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """`eval --against FOLDER` said "cannot read the earlier evaluation F: [Errno 21] Is a directory: 'F'"."""
    (tmp_path / "products.csv").write_text("product_id,category,image\n", encoding="utf-8")
    (tmp_path / "notes.json").write_text("eval of monday\n", encoding="utf-8")
    for against, words in ((tmp_path, "is a folder, expected a file"), (tmp_path / "notes.json", "not JSON")):
        code, _out, err = run(["eval", "--data", str(tmp_path), "--against", str(against)], capsys)
        assert code == USER_ERROR and err.count("\n") == 1, err
        assert err.endswith(f": {words}; --against takes an earlier run's eval.json\n"), err


def test_the_help_ends_with_first_steps_that_run_and_fit_80_columns(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]):
    """`decorlens --help` listed twelve commands and their options, but no command line to start from."""
    monkeypatch.setenv("COLUMNS", "80")
    code, text, _err = run(["--help"], capsys)
    assert code == 0 and "\nfirst steps:\n" in text
    for command, what in FIRST_STEPS:
        assert any(line.split() == [*command.split(), *what.split()] for line in text.splitlines()), command
        assert callable(build_parser().parse_args(command.split()[1:]).run)
    assert max(len(line) for line in text.splitlines()) <= 80
