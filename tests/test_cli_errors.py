"""Every way a CLI run fails ends in one line on stderr (at most 200 characters) and a non-zero exit.

The failures are real: broken settings and category maps, a corrupt or locked catalog, files that
are not images, folders given as files, unparseable CSVs, bad bundles, unknown commands. The line
must name the file and never show a traceback.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path, PureWindowsPath
from types import ModuleType

import numpy as np
import pytest
from error_lines import assert_names

try:
    import resource
except ImportError:  # Windows
    resource = None

from decorlens.errors import (
    BROKEN_PIPE,
    INTERNAL_ERROR,
    LOG_MAX,
    LOG_NAME,
    MAX_LINE,
    USER_ERROR,
    Context,
    explain,
    log_error,
    one_line,
    report,
)
from decorlens.main import main
from engine import modelpack
from engine.backups import take_backup
from engine.errors import DecorLensError
from engine.modelpack import read_pack
from engine.paths import model_search_path, refuse_overwrite
from engine.people import load_pose

ROOT = Path(__file__).resolve().parent.parent
SCENE = "take-a-comfy-seat-on-the-sofa"
PREFIX = "decorlens: error: "

Setup = Callable[[Path, Path], list[str]]  # (data dir, scratch folder) → the command after --data-dir


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory, ikea: Path) -> Path:
    """Three lamp photos in the folder layout `catalog import` takes."""
    folder = tmp_path_factory.mktemp("products") / "lamp"
    folder.mkdir()
    for image in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]:
        shutil.copy(image, folder / image.name)
    return folder.parent


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory, products: Path) -> Path:
    """A data dir with the three lamps imported through the CLI (copied by each test that breaks it)."""
    data = tmp_path_factory.mktemp("catalog-data")
    assert main(["-q", "--data-dir", str(data), "catalog", "import", str(products)]) == 0
    return data


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and stderr of one in-process run (argparse's usage errors exit through SystemExit)."""
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def assert_one_line(code: object, err: str, *expected: str) -> str:
    lines = err.strip().splitlines()
    assert code not in (0, None), err
    assert len(lines) == 1, err
    assert "Traceback" not in err and len(lines[0]) <= MAX_LINE, lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


# --- broken files in the data dir ----------------------------------------------------------------

def _write(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda data: (data / name).write_bytes(content)


BROKEN_DATA_DIRS = {
    "config-syntax": (_write("config.yaml", b"detectors: [unclosed\n"), ("config.yaml", "line 2", "delete it")),
    "config-kind": (_write("config.yaml", b"detectors: 5\n"), ("config.yaml", "wrong kind")),
    "config-list": (_write("config.yaml", b"- a\n- b\n"), ("config.yaml", "key: value")),
    "config-not-utf8": (_write("config.yaml", b"top_k: \xff\xfe\n"), ("config.yaml", "unreadable")),
    "config-deep": (_write("config.yaml", b"top_k: " + b"[" * 100_000), ("config.yaml", "nested too deeply")),
    "config-huge": (_write("config.yaml", b"#" * (4 << 20) + b"\ntop_k: 3\n"), ("config.yaml", "over 4 MB")),
    "categories-syntax": (_write("categories.yaml", b"categories:\n  sofa: {search: [sofa]\n  bad"),
                          ("categories.yaml", "line 3")),
    "categories-layout": (_write("categories.yaml", b"categories: 5\n"), ("categories.yaml", "mappings")),
    "catalog-not-a-database": (_write("catalog.sqlite", b"this is not SQLite " * 100), ("catalog.sqlite",)),
}
COMMANDS_ON_DATA = {
    "search": ["search", "{scene}"],
    "tag": ["tag", "{scene}", "--out", "{out}"],
    "catalog stats": ["catalog", "stats"],
    "catalog import": ["catalog", "import", "{products}"],
    "catalog remove": ["catalog", "remove", "000.000.00"],
    "models list": ["models", "list"],
    "bundle export": ["bundle", "export", "{out}/store.dlcat"],
}
# `models list` reads neither the catalog nor the category map; bundle export reads no category map.
NOT_READ = {("models list", "catalog-not-a-database"), ("models list", "categories-syntax"),
            ("models list", "categories-layout"), ("bundle export", "categories-syntax"),
            ("bundle export", "categories-layout"), ("catalog remove", "categories-syntax"),
            ("catalog remove", "categories-layout"), ("catalog stats", "categories-syntax"),
            ("catalog stats", "categories-layout"), ("catalog import", "categories-syntax"),
            ("catalog import", "categories-layout")}


BROKEN_CASES = [pytest.param(c, b, id=f"{c}-{b}") for c in COMMANDS_ON_DATA for b in BROKEN_DATA_DIRS
                if (c, b) not in NOT_READ]


@pytest.mark.parametrize(("command", "breakage"), BROKEN_CASES)
def test_a_broken_data_dir_is_one_line(command: str, breakage: str, catalog_dir: Path, products: Path,
                                       tmp_path: Path, scene_path, capsys: pytest.CaptureFixture[str]):
    data = tmp_path / "data"
    shutil.copytree(catalog_dir, data)
    (data / "catalog.sqlite-wal").unlink(missing_ok=True)
    (data / "catalog.sqlite-shm").unlink(missing_ok=True)
    breaks, expected = BROKEN_DATA_DIRS[breakage]
    breaks(data)
    places = {"{scene}": str(scene_path(SCENE)), "{out}": str(tmp_path / "out"), "{products}": str(products)}
    args = [_fill(a, places) for a in COMMANDS_ON_DATA[command]]
    code, err = run_cli(["-q", "--data-dir", str(data), *args], capsys)
    assert_one_line(code, err, *expected)


def _fill(arg: str, places: dict[str, str]) -> str:
    for key, value in places.items():
        arg = arg.replace(key, value)
    return arg


# --- a catalog another DecorLens is writing -------------------------------------------------------

@pytest.mark.parametrize("command", [["catalog", "remove", "{sku}"], ["catalog", "import", "{products}"]])
def test_a_locked_catalog_says_who_holds_it(command: list[str], catalog_dir: Path, tmp_path: Path, products: Path,
                                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    data = tmp_path / "data"
    shutil.copytree(catalog_dir, data)
    monkeypatch.setenv("DECORLENS_LOCK_TIMEOUT", "0.5")
    other = sqlite3.connect(data / "catalog.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's import, holding the write lock
    try:
        sku = min(products.glob("lamp/*.jpg")).stem
        args = [_fill(a, {"{products}": str(products), "{sku}": sku}) for a in command]
        code, err = run_cli(["-q", "--data-dir", str(data), *args], capsys)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert_one_line(code, err, "catalog.sqlite", "another DecorLens", "try again")


# --- bad inputs ---------------------------------------------------------------------------------

def _text_as_jpeg(_data: Path, tmp: Path) -> list[str]:
    (tmp / "notes.jpg").write_text("not a photo")
    return ["search", str(tmp / "notes.jpg")]


def _below_a_file(_data: Path, tmp: Path) -> list[str]:
    (tmp / "file.jpg").write_text("x")
    return ["search", str(tmp / "file.jpg" / "room.jpg")]


def _bad_quoting(_data: Path, tmp: Path) -> list[str]:
    (tmp / "feed.csv").write_text('product_id,category,name,image\n1,lamp,"' + "x" * 200_000 + '",a.jpg\n')
    return ["catalog", "import", str(tmp / "feed.csv")]


def _latin1_csv(_data: Path, tmp: Path) -> list[str]:
    (tmp / "feed.csv").write_bytes("product_id,category,name,image\n1,lamp,Sofá,a.jpg\n".encode("latin-1"))
    return ["catalog", "import", str(tmp / "feed.csv")]


def _junk_bundle(_data: Path, tmp: Path) -> list[str]:
    (tmp / "store.dlcat").write_bytes(b"PK but not really a zip")
    return ["bundle", "import", str(tmp / "store.dlcat")]


def _out_is_a_file(_data: Path, tmp: Path) -> list[str]:
    (tmp / "taken").write_text("x")
    return ["tag", _tiny_photo(tmp)[1], "--out", str(tmp / "taken" / "sub")]


BAD_INPUTS: dict[str, tuple[Setup, tuple[str, ...]]] = {
    "unknown command": (lambda _d, _t: ["serch", "room.jpg"], ("unknown command 'serch'", "search", "catalog")),
    "unknown verb": (lambda _d, _t: ["catalog", "imprt", "x"], ("unknown verb 'imprt'", "import", "stats")),
    "photo as the command": (lambda _d, tmp: [_tiny_photo(tmp)[1]], ("is not a command", "`decorlens gui PHOTO`", "`decorlens search PHOTO`")),
    "missing argument": (lambda _d, _t: ["search"], ("PHOTO",)),
    "text as a photo": (_text_as_jpeg, ("notes.jpg", "not an image")),
    "folder as a photo": (lambda _d, tmp: ["search", str(tmp)], ("folder",)),
    "missing photo": (lambda _d, tmp: ["search", str(tmp / "gone.jpg")], ("gone.jpg",)),
    "path below a file": (_below_a_file, ("room.jpg",)),
    "csv field too long": (_bad_quoting, ("feed.csv",)),
    "csv not utf-8": (_latin1_csv, ("feed.csv", "UTF-8")),
    "missing csv": (lambda _d, tmp: ["catalog", "import", str(tmp / "gone.csv")], ("gone.csv",)),
    "junk bundle": (_junk_bundle, ("store.dlcat",)),
    "missing bundle": (lambda _d, tmp: ["bundle", "info", str(tmp / "gone.dlcat")], ("gone.dlcat",)),
    "tag output below a file": (_out_is_a_file, ("taken",)),
    "no such model": (lambda _d, _t: ["models", "activate", "nope.onnx"], ("nope.onnx", "not found")),
    "text as an ONNX model": (lambda d, t: ["models", "card", _text_as_jpeg(d, t)[1], "--kind", "detector"],
                              ("notes.jpg", "ONNX")),
    "zero matches asked": (lambda _d, tmp: _tiny_photo(tmp) + ["--top-k", "0"], ("--top-k",)),
    "unknown device": (lambda _d, tmp: ["--device", "tpu", *_tiny_photo(tmp)], ("'tpu'", "gpu")),
    "box outside the photo": (lambda _d, tmp: _tiny_photo(tmp) + ["--box", "500,500,900,900"], ("box",)),
    # numbers argparse took as they came: -1 listed nothing, a huge one overflowed in SQLite, 0 epochs
    # "trained" and wrote a model, nan gave a ValueError, a confidence of 2 made a detector that finds nothing
    "negative limit": (lambda _d, _t: ["where", "SKU", "--limit", "-1"], ("--limit", "-1")),
    "huge limit": (lambda _d, _t: ["where", "SKU", "--limit", "9" * 20], ("--limit", "1,000,000,000")),
    "zero epochs": (lambda _d, tmp: ["train", "--data", str(tmp), "--epochs", "0"], ("--epochs",)),
    "nan learning rate": (lambda _d, tmp: ["train", "--data", str(tmp), "--lr", "nan"], ("--lr", "above 0")),
    "zero scenes": (lambda _d, tmp: ["eval", "--data", str(tmp), "--limit-scenes", "0"], ("--limit-scenes",)),
    "no matchers": (lambda _d, tmp: ["eval", "--data", str(tmp), "--matchers", ""], ("--matchers", "colour")),
    "confidence of 2": (lambda _d, tmp: ["train-detector", "--data", str(tmp), "--conf", "2"], ("--conf",)),
    "bench sizes not numbers": (lambda _d, _t: ["bench", "index", "--sizes", "abc"], ("--sizes", "'abc'")),
}


def _tiny_photo(tmp: Path) -> list[str]:
    from PIL import Image

    Image.new("RGB", (64, 48), (120, 90, 60)).save(tmp / "tiny.png")
    return ["search", str(tmp / "tiny.png")]


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line(case: str, catalog_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    setup, expected = BAD_INPUTS[case]
    scratch = tmp_path / "in"
    scratch.mkdir()
    code, err = run_cli(["-q", "--data-dir", str(catalog_dir), *setup(catalog_dir, scratch)], capsys)
    assert_one_line(code, err, *expected)


def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "data").write_text("x")
    code, err = run_cli(["--data-dir", str(tmp_path / "data"), "catalog", "stats"], capsys)
    assert_one_line(code, err, str(tmp_path / "data"), "not a folder")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_photo_is_one_line(catalog_dir: Path, tmp_path: Path, scene_path,
                                         capsys: pytest.CaptureFixture[str]):
    photo = tmp_path / "room.jpg"
    shutil.copy(scene_path(SCENE), photo)
    photo.chmod(0)
    code, err = run_cli(["--data-dir", str(catalog_dir), "search", str(photo)], capsys)
    assert_one_line(code, err, str(photo))


# --- the same, as a user runs it ------------------------------------------------------------------

@pytest.mark.parametrize("args", [["serch", "room.jpg"], ["catalog", "stats"], ["search", "{folder}"]])
def test_the_process_prints_one_line_and_no_traceback(args: list[str], tmp_path: Path):
    """Through `python -m decorlens`, with a broken config.yaml for the commands that get that far."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "config.yaml").write_text("detectors: [unclosed\n")
    argv = [a.replace("{folder}", str(tmp_path)) for a in args]
    done = subprocess.run([sys.executable, "-m", "decorlens", "--data-dir", str(data), *argv],
                          check=False, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert_one_line(done.returncode, done.stderr, "decorlens")
    assert done.stdout == ""


def _no_room() -> None:
    """The child may write 16 bytes a file, as on a full disk: a longer write fails (EFBIG, not a signal)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))


@pytest.mark.skipif(resource is None, reason="no resource limits on this system")
def test_a_write_that_fails_names_the_file_being_written(tmp_path: Path, shared_models: Path):
    """`models activate` on a full disk blamed "the input" (a photo or feed, had it been given one): an OS
    error raised while writing a temp file names no file; it names config.yaml, what could not be written."""
    data = tmp_path / "data"
    done = subprocess.run([sys.executable, "-m", "decorlens", "--data-dir", str(data), "--models-dir",
                           str(shared_models), "models", "activate", "yolov8n-oiv7-int8.onnx"],
                          check=False, capture_output=True, text=True, cwd=ROOT, timeout=300, preexec_fn=_no_room)
    assert_one_line(done.returncode, done.stderr, str(data / "config.yaml"))
    assert not (data / "config.yaml").exists() and not list(data.glob(".config.yaml.*"))


# --- the mapping itself, for failures a test cannot cause on demand ---------------------------------

def _raised(exc: BaseException) -> BaseException:
    """``exc`` with a traceback, as the CLI catches it."""
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001
        return caught


def test_opencv_assertions_name_the_photo(tmp_path: Path):
    import cv2

    try:
        cv2.resize(np.zeros((0, 0), np.uint8), (8, 8))
    except cv2.error as exc:
        message, code = explain(exc, Context(inputs=("room.jpg",)))
    assert code == USER_ERROR and "room.jpg" in message and "OpenCV" in message and "\n" not in message


@pytest.mark.parametrize(("exc", "expected"), [
    (MemoryError(), "out of memory"),
    (OSError(28, "No space left on device", "/data/catalog.sqlite"), "no space left"),
    (PermissionError(13, "Permission denied", "/data/models"), "permission denied"),
    (sqlite3.OperationalError("database is locked"), "another DecorLens is writing it"),
    (sqlite3.DatabaseError("database disk image is malformed"), "damaged"),
    (ModuleNotFoundError("No module named 'torch'", name="torch"), "scripts/install --train"),
])
def test_library_errors_become_advice(exc: BaseException, expected: str, tmp_path: Path):
    message, code = explain(_raised(exc), Context(data_dir=tmp_path, inputs=("room.jpg",)))
    assert code == USER_ERROR and expected in message and "\n" not in message


def test_a_catalog_that_fills_up_mid_import_says_so_and_keeps_what_it_had(fresh_pipeline, ikea: Path,
                                                                          tmp_path: Path):
    """SQLite rolls a transaction back by itself when the disk fills up; our own ROLLBACK then raised
    "cannot rollback - no transaction is active", and that was all the user read."""
    catalog = fresh_pipeline.catalog
    pages = catalog.db.execute("PRAGMA page_count").fetchone()[0]
    catalog.db.execute(f"PRAGMA max_page_count = {pages + 4}")  # a full disk, as SQLite reports one
    with pytest.raises(sqlite3.OperationalError, match="full") as info:
        fresh_pipeline.import_catalog(ikea / "products.csv")
    message, code = explain(info.value, Context(data_dir=tmp_path))
    assert code == USER_ERROR and "no space left" in message and "undone" in message
    assert catalog.count() == 0


def test_an_unexpected_error_leaves_its_traceback_in_the_data_dir(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]):
    code = report(_raised(RuntimeError("a bug")), Context(data_dir=tmp_path))
    line = assert_one_line(code, capsys.readouterr().err, "RuntimeError", "a bug", str(tmp_path))
    assert code == INTERNAL_ERROR and "decorlens-error.log" in line
    assert "Traceback" in (tmp_path / "decorlens-error.log").read_text()


def test_debug_shows_the_traceback_then_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert report(_raised(RuntimeError("a bug")), Context(data_dir=tmp_path, debug=True)) == INTERNAL_ERROR
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and err.strip().splitlines()[-1].startswith("decorlens: error: unexpected")
    assert not (tmp_path / "decorlens-error.log").exists()


def test_a_long_message_is_shortened_not_wrapped():
    detail = "expected ',' or ']' " * 20
    line = one_line(f"settings file /data/config.yaml is not valid YAML ({detail}); fix it\nor delete it", 150)
    assert len(line) == 150 and line.startswith("settings file /data/config.yaml") and line.endswith("delete it")


def test_a_detail_too_short_to_absorb_the_excess_goes_whole_not_the_advice_before_it():
    """`decorlens eval` without a fine-tuned model: its reason in parentheses was a few characters too short
    to be cut alone, so the middle cut fell on the advice and the user read '--finetuned PA…lders'."""
    advice = ("no fine-tuned model mobilenet_v2-ntxent-catalog-pull.onnx: train one (`decorlens train --data DIR`), "
              "pass --finetuned PATH or leave it out with --matchers colour,pretrained")
    reason = ("model mobilenet_v2-ntxent-catalog-pull.onnx not found in /tmp/cli/dd/models; put it in one of "
              "those folders, or set DECORLENS_MODELS_DIR to a folder that holds it")
    limit = MAX_LINE - len("decorlens: error: ")
    line = one_line(f"{advice} ({reason})", limit)
    assert len(line) <= limit and line.startswith(advice)


@pytest.mark.parametrize("typed", [["--data-dir", "{tmp}"], ["--data-dir={tmp}"], ["-q"]])
def test_a_global_option_after_the_command_says_where_it_goes(typed: list[str], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]):
    """`decorlens tag scenes --out x --data-dir D` said only 'unrecognized arguments', and `tag --help`
    does not list --data-dir: the line now says it belongs before the command."""
    args = ["tag", str(tmp_path), "--out", str(tmp_path / "out"), *(a.format(tmp=tmp_path) for a in typed)]
    code, err = run_cli(args, capsys)
    option = typed[0].split("=")[0]
    assert_one_line(code, err, "type it before the command", f"`decorlens {option} … COMMAND …`")


def test_a_reader_that_goes_away_is_no_error(catalog_dir: Path):
    """`decorlens catalog list | head -1`: when the reader closes the pipe, the CLI stops quietly."""
    proc = subprocess.Popen([sys.executable, "-m", "decorlens", "--data-dir", str(catalog_dir), "catalog", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    proc.stdout.close()  # before the CLI has imported its engine, let alone printed
    err = proc.stderr.read()
    assert proc.wait(timeout=300) in (0, BROKEN_PIPE) and err == ""


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_after_the_command_shows_the_traceback(how: str, catalog_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """`decorlens search x.jpg --debug` (typed after the run that failed) or DECORLENS_DEBUG=1."""
    args = ["--data-dir", str(catalog_dir), *_text_as_jpeg(catalog_dir, tmp_path)]
    if how == "flag":
        args.append("--debug")
    else:
        monkeypatch.setenv("DECORLENS_DEBUG", "1")
    code, err = run_cli(args, capsys)
    assert code == USER_ERROR and err.startswith("Traceback")
    assert err.strip().splitlines()[-1].startswith("decorlens: error:") and "notes.jpg" in err.strip().splitlines()[-1]


# --- our reasons survive a deep folder ------------------------------------------------------------------

def _export_without_catalog(folder: Path) -> tuple[list[str], str]:
    return ["--data-dir", str(folder / "data"), "bundle", "export", str(folder.parent / "out.dlcat")], \
        "(import products first)"


def _info_of_a_junk_bundle(folder: Path) -> tuple[list[str], str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "store.dlcat").write_bytes(b"PK but not really a zip")
    return ["bundle", "info", str(folder / "store.dlcat")], "(not a zip file)"


def _deeper(folder: Path, extra: int, subfolder: str) -> Path:
    """``folder`` with ``extra`` more characters: its last name longer, then subfolders of 20 characters."""
    subfolders, rest = divmod(extra, len(subfolder) + 1)
    deep = folder.with_name(folder.name + "x" * rest)
    for _ in range(subfolders):
        deep = deep / subfolder
    return deep


@pytest.mark.parametrize("subfolder", ["client_projects_2026", "Client projects 2026"])
@pytest.mark.parametrize("over", [5, 150])
@pytest.mark.parametrize("command", [_export_without_catalog, _info_of_a_junk_bundle])
def test_a_deep_folder_shortens_the_path_not_our_reason(command, over: int, subfolder: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]):
    """The line's length limit cut the longest parenthesised detail first, taking it for a library's wording,
    and kept a long path whole: with a folder that made the line a few characters too long, `bundle export`
    read '(import prod…)' and `bundle info` '(not a zi…)'. The path's leading folders go first now, also where
    folder names hold spaces (such a path was never taken for one: the reason was cut at any length)."""
    args, reason = command(tmp_path / "a")
    code, err = run_cli(["-q", *args], capsys)
    head, tail = assert_one_line(code, err, reason).split(str(tmp_path / "a"))
    extra = MAX_LINE - len(head + tail) - len(str(tmp_path / "a")) + over
    args, _ = command(_deeper(tmp_path / "a", extra, subfolder))
    code, err = run_cli(["-q", *args], capsys)
    line = assert_one_line(code, err, reason)
    assert line.startswith(head + "…/") and line.endswith(tail), line  # only the path's leading folders went


def test_a_bundle_of_another_embedder_keeps_its_advice_in_the_line(catalog_dir: Path, tmp_path: Path,
                                                                    shared_models: Path,
                                                                    capsys: pytest.CaptureFixture[str]):
    """The refusal was 230 characters with no path to shorten, and the middle cut took its advice: '…mobilenet_v1-
    imagenet-f…e-embedding (--re-embed) to compute 3 vectors'. Worded shorter, only the machine's key may go."""
    bundle = tmp_path / "store.dlcat"
    assert main(["-q", "--data-dir", str(catalog_dir), "bundle", "export", str(bundle)]) == 0
    other = ["-q", "--data-dir", str(tmp_path / "other"), "--models-dir", str(shared_models)]
    assert main([*other, "models", "activate", "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"]) == 0
    code, err = run_cli([*other, "bundle", "import", str(bundle)], capsys)
    assert_one_line(code, err, "store.dlcat was embedded with mobilenet_v2-imagenet-",
                    ": install that model here, or import with --re-embed to compute 3 vectors here")


def test_a_map_without_opentsne_keeps_its_advice_in_the_line(catalog_dir: Path, shared_models: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]):
    """259 characters with no path: the middle cut read 'run `decorlen…th the [map] extra (…)'. Mapped with
    an embedder the catalog has no vectors of, so no map of it can be current."""
    monkeypatch.setitem(sys.modules, "openTSNE", None)  # as in an install without the [map] or [gui] extra
    code, err = run_cli(["-q", "--data-dir", str(catalog_dir), "--models-dir", str(shared_models), "catalog", "map",
                         "--embedder", "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"], capsys)
    assert_one_line(code, err, "(openTSNE is missing)", "`pip install -e '.[map]'`, or import a catalog bundle")


# --- Windows paths ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("root", ["C:\\Users\\Ana\\Pictures", "\\\\shop-nas\\Shared Photos",
                                  "C:\\Program Files (x86)\\DecorLens"])
@pytest.mark.parametrize("subfolder", ["client_projects_2026", "Client projects 2026"])
@pytest.mark.parametrize("command", [_export_without_catalog, _info_of_a_junk_bundle])
def test_a_deep_windows_folder_shortens_the_path_not_our_reason(command, subfolder: str, root: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]):
    """The app ships to Windows shops, where a path reads C:\\Users\\Ana\\… or \\\\server\\share\\…: only
    '/' was taken for a folder boundary, so such a path was never shortened and a deep folder cut the reason
    ('(not a zi…)'). It keeps its drive or share, and its file name. The line is the CLI's, with the path
    as Windows spells it. A path under "C:\\Program Files (x86)" was taken to end at "(" and kept its folders."""
    args, reason = command(tmp_path / "a")
    code, err = run_cli(["-q", *args], capsys)
    head, tail = assert_one_line(code, err, reason).removeprefix(PREFIX).split(str(tmp_path / "a"))
    end, space, words = tail.partition(" ")  # "/store.dlcat:", "not a readable catalog bundle (…)"
    tail = end.replace("/", "\\") + space + words
    line = one_line(head + str(PureWindowsPath(root, *[subfolder] * 7)) + tail, MAX_LINE - len(PREFIX))
    anchor = PureWindowsPath(root).anchor.rstrip("\\")
    assert line.startswith(f"{head}{anchor}\\…\\") and line.endswith(tail) and reason in line, line


def test_windows_paths_in_an_os_error_are_shortened_too():
    """A library's OSError quotes its paths with the backslashes doubled ('C:\\\\Users\\\\…'); in `bundle
    import`'s refusal they, not the question after them, go first."""
    folder = PureWindowsPath("C:\\Users\\Ana\\AppData\\Local", *["Client projects 2026"] * 6, "DecorLens")
    live, staged = folder / "catalog.sqlite", folder / ".bundle-import-1f3a" / "catalog.sqlite"
    failed = PermissionError(13, "Access is denied", str(staged), None, str(live))
    line = one_line(f"cannot replace {live} ({failed}); is DecorLens open on this data dir?", MAX_LINE - len(PREFIX))
    assert line.startswith("cannot replace C:\\…\\") and "[Errno 13] Access is denied: 'C:\\\\…\\\\" in line, line
    assert line.endswith("catalog.sqlite'); is DecorLens open on this data dir?"), line


# --- the audit: every refusal of ours, at 150-character paths -----------------------------------------------

AUDITED = ("engine", "decorlens", "training")
# What our code calls a path (a folder's, or a file's), and a file's name (a placeholder is an expression)
FOLDER_VALUED = re.compile(r"(\w+\.)*(\w*folder|root|\w*_dir|stage|label_dir)|.+\.parent( .+)?|Path\.cwd\(\)"
                           r"|backups_dir\(\w+\)")
FILE_VALUED = re.compile(r"(\w+\.)*(path|out|backup|bundle|candidate|data_yaml|live\w*|lock|model|source|target|user|item"
                         r"|image_path|config\.data)( / .+|\.with_suffix\(.+\))?|Path\(source\) / .+|str\(path\).*"
                         r"|(card_path_for|_shown)\(\w+\)|runs\[0\].*")
NAME_VALUED = re.compile(r"(\w+\.)*(path|bundle|source|self|db_path)\.name|card_path_for\(\w+\)\.name|entry\.file")
DEEP = {"posix": "/home/ana/" + "/".join(["Client projects 2026"] * 7),
        "windows": "C:\\Users\\Ana\\" + "\\".join(["Client projects 2026"] * 7),
        "share": "\\\\shop-nas\\Shared Photos\\" + "\\".join(["Client projects 2026"] * 6)}
FILE_NAME = "mobilenet_v2-imagenet-int8.onnx"  # 30 characters: the model pack's longest name has 37
LONG_NAME = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"  # 57: the longest in ../shared/models
IN_WORDS = "Spring collection for the Oslo and Bergen stores 2027.dlcat"  # a bundle named by a person
FOLDER_NAME = "DecorLens"  # the data dir's, on Windows


def _refusals() -> Iterator[tuple[str, ModuleType, ast.JoinedStr]]:
    """Each f-string that a ``DecorLensError`` or ``ValueError`` of ours is made with, and its module."""
    for package in AUDITED:
        for source in sorted((ROOT / package).rglob("*.py")):
            if source.name == "__main__.py":  # runs the CLI when imported
                continue
            try:
                module = importlib.import_module(".".join(source.relative_to(ROOT).with_suffix("").parts))
            except ModuleNotFoundError:  # needs an extra this install lacks (torch for training/)
                continue
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.JoinedStr)
                        and _is_refusal(node.func, module)):
                    yield f"{source.relative_to(ROOT)}:{node.lineno}", module, node.args[0]


def _is_refusal(called: ast.expr, module: ModuleType) -> bool:
    if not isinstance(called, ast.Name | ast.Attribute) or any(isinstance(n, ast.Call) for n in ast.walk(called)):
        return False
    try:
        made = eval(ast.unparse(called), vars(module))  # a name or an attribute: nothing runs
    except (NameError, AttributeError):  # a local function
        return False
    return isinstance(made, type) and issubclass(made, DecorLensError | ValueError)


def _rendered(message: ast.JoinedStr, module: ModuleType, deep: str, name: str = FILE_NAME) -> tuple[str, list[str]]:
    """``message`` with a deep path (two for a list of folders) for each path, ``name`` for each file's name,
    a constant's own value, and "3" for the rest; with what must survive: our words, each path's last name."""
    sep = "/" if deep.startswith("/") else "\\"
    text, kept = "", []
    for part in message.values:
        expression = ast.unparse(part.value) if isinstance(part, ast.FormattedValue) else ""
        if not expression:
            value = part.value
        elif NAME_VALUED.fullmatch(expression):
            value = name
        elif re.fullmatch(r"', '\.join\(.*\b(folders|roots)\)\)?", expression):
            value = f"{deep}{sep}models, {deep}{sep}data{sep}models"
            kept += [f"{sep}models", f"{sep}models"]
        elif FOLDER_VALUED.fullmatch(expression) or FILE_VALUED.fullmatch(expression):
            if isinstance(part.value, ast.BinOp):  # item / 'tagged'
                end = _constant(part.value.right, module)
            else:
                end = name if FILE_VALUED.fullmatch(expression) else FOLDER_NAME
            value = f"{deep}{sep}{end}"
            kept.append(f"{sep}{end}")
        elif re.fullmatch(r".*(sha256|got)\[:\d+\]", expression):  # the first digits of a hash
            value = "5" * int(expression.split(":")[-1][:-1])
        else:
            value = _constant(part, module)
        if value.strip() and not value.startswith(deep):
            kept.append(value.strip())
        text += value
    return text, kept


def _constant(part: ast.FormattedValue | ast.expr, module: ModuleType) -> str:
    """The value of a module constant (POSE_MODELS[-1], MIN_RATE // 1024) as formatted; "3" for the rest."""
    expression = part.value if isinstance(part, ast.FormattedValue) else part
    if any(isinstance(node, ast.Call) for node in ast.walk(expression)):
        return "3"
    try:
        value = eval(ast.unparse(expression), vars(module))
    except NameError:  # a local: a count, a key, a library's wording (cut first, by design)
        return "3"
    if not isinstance(value, str | int | float):
        return "3"
    if not isinstance(part, ast.FormattedValue):
        return str(value)
    spec = "".join(p.value for p in part.format_spec.values) if part.format_spec else ""
    return format(repr(value) if part.conversion == ord("r") else value, spec)


@pytest.mark.parametrize("spelling", list(DEEP))
def test_no_refusal_of_ours_loses_a_word_to_a_deep_folder(spelling: str):
    """The audit: each refusal of ours that names a path, with 150-character paths in each spelling. The line
    may shorten a path's leading folders (a Windows drive or share too), never our words. Four lost what was in
    their parentheses, their reason outside it: `people: on` '(looked in …/models, ……)', a .pt refused
    '(pass the flag …; files in …/mobilen…)', a data dir's own file '(in the data dir …/mobilenet_v2-ima…)' and a
    pack file of the wrong sha256 '(sha256 555555555555…, expe…)'; on Windows every path stayed whole, and
    many more lost theirs. A message that nests another (`({exc})`) is not seen here."""
    lost = {}
    for where, module, message in _refusals():
        text, kept = _rendered(message, module, DEEP[spelling])
        if DEEP[spelling] not in text:
            continue  # no path: not the audit's
        line = one_line(text, MAX_LINE - len(PREFIX))
        if any(line.count(part) < kept.count(part) for part in kept):
            lost[where] = line
    assert not lost, "\n".join(f"{where}: {line}" for where, line in lost.items())


@pytest.mark.parametrize("spelling", list(DEEP))
def test_no_refusal_of_ours_loses_its_advice_to_a_long_file_name(spelling: str):
    """The audit again, with the longest model name of the shared folder (57 characters) for each file: the line
    may shorten that name in its middle, and drop a parenthesised detail, never our words outside parentheses.
    With such a name seven refusals were cut in the middle of the line, among them the advice of `models
    quantize` ('quantize an em…der that') and of a .pt refused ('can run …ss the flag'); `models info` of a
    file without a card kept its path twice and cut its advice, which was in parentheses."""
    lost = {}
    for where, module, message in _refusals():
        text, _ = _rendered(message, module, DEEP[spelling], LONG_NAME)
        required = _outside_parentheses(text, DEEP[spelling])
        line = one_line(text, MAX_LINE - len(PREFIX))
        if any(line.count(part) < required.count(part) for part in required):
            lost[where] = line
    assert not lost, "\n".join(f"{where}: {line}" for where, line in lost.items())


@pytest.mark.parametrize("spelling", list(DEEP))
def test_no_refusal_of_ours_loses_its_advice_to_a_file_named_in_words(spelling: str):
    """The audit with a file named as a shop names one, in words (58 characters): taken for our words, it made
    the line's middle go, `bundle import`'s advice among it ("…exporte… the shared folder"). The CLI passes the
    names of the files a command was given, and those are cut in their middle like a long name."""
    lost = {}
    for where, module, message in _refusals():
        text, _ = _rendered(message, module, DEEP[spelling], IN_WORDS)
        required = _outside_parentheses(text, DEEP[spelling], IN_WORDS)
        line = one_line(text, MAX_LINE - len(PREFIX), [Path(IN_WORDS).stem])
        if any(line.count(part) < required.count(part) for part in required):
            lost[where] = line
    assert not lost, "\n".join(f"{where}: {line}" for where, line in lost.items())


def test_the_cli_cuts_a_given_file_named_in_words_not_its_advice(tmp_path: Path, shared_models: Path, capsys):
    """End to end: `models activate` of a model named in words, without a card, in a deep folder. The card's
    name is the model's with another suffix: it is cut too, and the advice after it kept."""
    model = Path(DEEP["posix"].replace("/home/ana", str(tmp_path))) / "Embedder for the Oslo and Bergen stores 2027.onnx"
    model.parent.mkdir(parents=True)
    shutil.copy(shared_models / "effnet_lite0_gem.onnx", model)
    code, err = run_cli(["--data-dir", str(tmp_path / "data"), "models", "activate", str(model)], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and len(err.strip()) <= MAX_LINE, err
    assert err.strip().endswith("2027.card.json beside it with `decorlens models export` or `decorlens models card`")


def _outside_parentheses(text: str, deep: str, name: str = LONG_NAME) -> list[str]:
    """The runs of words of ``text`` outside parentheses, between its paths and long names."""
    between = re.compile(re.escape(deep) + r"[/\\](?:" + re.escape(name) + r"|[\w.-]*)|" + re.escape(name))
    runs = (run for group in re.split(r"\([^()]*\)", text) for run in between.split(group))
    return [run.strip() for run in runs if run.strip()]


# --- the four it found, refused by our code in a deep folder --------------------------------------------

LONG_PT = "yolo11s-showroom-sofas-2026.pt"  # a fine-tuned detector, named as a shop names one


def _own_data(deep: Path, catalog_dir: Path, _models: Path) -> None:
    """`bundle export` over a backup of the catalog (tab completion in the data dir's backups folder)."""
    data = deep / "data"
    shutil.copytree(catalog_dir, data)
    backup = take_backup(data / "catalog.sqlite", data / "catalog.sqlite", "bundle-import")
    refuse_overwrite(backup, data, ".dlcat", "bundle")


def _untrusted_pt(deep: Path, _catalog_dir: Path, models: Path) -> None:
    pytest.importorskip("torch")
    from training.weights import pickle_consent

    pt = deep / "downloads" / LONG_PT
    pt.parent.mkdir(parents=True)
    shutil.copy(models / "yolo11n-ovint8-dq.pt", pt)
    pickle_consent(pt, False, model_search_path(deep / "models", deep / "data"))


def _people_without_the_pose_model(deep: Path, _catalog_dir: Path, _models: Path) -> None:
    load_pose("on", deep / "models", deep / "data")


def _a_damaged_pack_file(deep: Path, _catalog_dir: Path, models: Path) -> None:
    """`models fetch --from` a deep pack folder whose embedder (the pack's longest name) has one byte changed."""
    name = "mobilenet_v2_1.0_224_quant.float.onnx"
    pack = read_pack()
    source = deep / "pack"
    source.mkdir(parents=True)
    damaged = bytearray((models / name).read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (source / name).write_bytes(bytes(damaged))
    modelpack.install(source, deep / "data" / "models", pack=replace(pack, files=tuple(
        entry for entry in pack.files if entry.file == name)))


REFUSED_IN_A_DEEP_FOLDER = {"own data": _own_data, "untrusted .pt": _untrusted_pt,
                            "people without the pose model": _people_without_the_pose_model,
                            "damaged pack file": _a_damaged_pack_file}


@pytest.mark.parametrize("refusal", list(REFUSED_IN_A_DEEP_FOLDER))
def test_a_refusal_in_a_deep_folder_loses_only_folders(refusal: str, catalog_dir: Path, shared_models: Path,
                                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """The audit's four as our code words them, in a folder of 150 characters: each lost the end of its
    parentheses (its reason was outside them); reworded, the line loses only the paths' leading folders."""
    deep = _deeper(tmp_path / "a", 150 - len(str(tmp_path / "a")), "Client projects 2026")
    with pytest.raises(DecorLensError) as refused:
        REFUSED_IN_A_DEEP_FOLDER[refusal](deep, catalog_dir, shared_models)
    line = assert_one_line(report(refused.value, Context()), capsys.readouterr().err).removeprefix(PREFIX)
    first, *after_paths = str(refused.value).split(str(deep))
    assert first in line, line
    for text in after_paths:  # each path's last name, and the words up to the next path
        end = re.match(r"[^\s,;:()]*", text).group()
        assert f"/{end.rsplit('/', 1)[-1]}" in line and text[len(end):] in line, line


@pytest.mark.parametrize("command", [["bundle", "export"], ["catalog", "map", "--html"]])
def test_an_export_never_replaces_a_file_of_another_kind(catalog_dir: Path, tmp_path: Path, command: list[str],
                                                          capsys: pytest.CaptureFixture[str]):
    """`bundle export room.jpg` wrote the bundle over the photo without a word: a fuzz of the commands' options
    did that to a scene of the shared data. An existing file is replaced only if it ends in the output's suffix;
    a new name of any kind is written."""
    photo = tmp_path / "room.jpg"
    photo.write_bytes(b"\xff\xd8 a photo")
    suffix = ".dlcat" if command[0] == "bundle" else ".html"
    assert main(["-q", "--data-dir", str(catalog_dir), *command, str(photo)]) == 2
    assert_names(capsys.readouterr().err.strip(), PREFIX, photo,
                 f" exists and does not end in {suffix}: the {'bundle' if suffix == '.dlcat' else 'map page'} would "
                 f"overwrite it; name a new file, or one ending in {suffix}")
    assert photo.read_bytes() == b"\xff\xd8 a photo"


def test_a_full_error_log_is_set_aside_before_the_next_entry(tmp_path: Path):
    """The log grew by a traceback at every bug met, for good (a bug met at each photo of a folder, a start failing at
    each login): once it holds LOG_MAX bytes it becomes decorlens-error.log.1, the one before that is dropped."""
    log, older = tmp_path / LOG_NAME, tmp_path / f"{LOG_NAME}.1"
    older.write_text("the oldest entries\n")
    log.write_text("x" * (LOG_MAX - 2) + "\n")  # any entry fills it, however long its lines
    assert log_error("decorlens: error: first", KeyError("a"), tmp_path) == log
    assert log.read_text().startswith("x" * 10) and "first" in log.read_text()  # not full yet: appended
    assert log_error("decorlens: error: second", KeyError("b"), tmp_path) == log
    assert older.read_text().startswith("x" * 10) and "first" in older.read_text()
    assert "second" in log.read_text() and "first" not in log.read_text()
