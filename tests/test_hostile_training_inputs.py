"""Hostile files among what training reads: the app's saved corrections, and a YOLO dataset's data.yaml and labels.

Each must be one line naming the file (or, for a corrections file, that file left out as unreadable), never a
hang, a traceback or gigabytes read. A FIFO is made with ``os.mkfifo`` and must be refused without a blocking
read; should a regression block on one anyway, ``_bounded`` releases it and fails the test instead of hanging the
suite. /dev/null stands in for /dev/zero: the same kind of file (a device), which a regression reads harmlessly.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from engine import corrections, corrections_file
from engine.errors import DecorLensError, ModelError
from engine.files import NotAFile
from engine.models import MAX_CLASS_NAME
from engine.results import Match, SceneObject, SceneResult
from training.app_data import read_photos
from training.yolo_data import MAX_DATA_YAML_BYTES, MAX_LABEL_BYTES, read_yolo_dataset

BLOCKED_S = 60.0  # a bound for a hang only: refusing a FIFO takes microseconds

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev/null are POSIX")


def _bounded(call: Callable[[], Any], fifo: Path) -> Any:
    """``call()``, which must not block on ``fifo``: if it is still running after ``BLOCKED_S`` it is blocked
    there (a regression), and a writer opened and closed at once releases it with an empty read."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BLOCKED_S)
    blocked = thread.is_alive()
    while thread.is_alive():
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # ENXIO while nobody opened it to read
        except OSError:
            pass
        thread.join(0.1)
    assert not blocked, f"blocked reading the FIFO {fifo.name}"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# -- the app's corrections ------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """A corrections file as the app saves it, for a photo that exists."""
    photo = tmp_path / "room.jpg"
    Image.new("RGB", (200, 100), "white").save(photo)
    match = Match(1, "sku1", "Product sku1", "chair", 0.7, "similar", "", "", "")
    result = SceneResult(str(photo), 200, 100, "CPU", {}, [SceneObject("chair", "chair", 0.9, (10, 10, 60, 90),
                                                                       (35, 50), [match])])
    return corrections.save(corrections.EditableScene(result, corrections.image_digest(photo)).to_json(),
                            tmp_path / "data")


def _hostile(saved: Path, kind: str) -> Path:
    """Another corrections file beside ``saved``: a FIFO, a symlink to a device, one over the size cap, or
    ``saved`` with a field made hostile."""
    path = saved.with_name(f"hostile-{'0' * 16}.json")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/null")
    elif kind == "oversized":
        with open(path, "wb") as fh:
            fh.truncate(corrections_file.MAX_BYTES + 1)  # sparse: nothing written
    elif kind == "deep":
        path.write_text("[" * 200_000 + "]" * 200_000)  # 400 KB, far under the cap
    else:
        field, value = kind.split("=")
        data = json.loads(saved.read_text())
        if field == "image":
            data["image"] = "x" * 5000  # too long a name for any file system
        else:
            data[field] = json.loads(value)
        path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(("kind", "reason"), [
    ("fifo", "a FIFO (named pipe), not a regular file"),
    ("device", "a device, not a regular file"),
    ("oversized", f"more than the {corrections_file.MAX_BYTES >> 20} MB a corrections file can be (8.0 MB)"),
    ("deep", "JSON nested too deeply"),
])
def test_the_one_reader_of_corrections_refuses_a_hostile_file_in_a_line_naming_it(saved, kind, reason):
    path = _hostile(saved, kind)
    with pytest.raises(corrections_file.Unreadable) as refused:
        _bounded(lambda: corrections_file.read(path), path)
    assert str(refused.value) == f"{path.name}: {reason}" and refused.value.reason == reason
    assert corrections_file.read(saved)["corrections"]["format"] == corrections_file.FORMAT


@pytest.mark.parametrize("kind", ["fifo", "device", "oversized", "deep", "width=0", "height=1e400",
                                  "width=true", "objects=[[1]]", "objects=[{\"number\": 1e400, \"box\": [0, 0, 9, 9], \"category\": \"lamp\"}]"])
def test_training_leaves_out_a_hostile_corrections_file_and_names_it(saved, kind):
    """A FIFO hung `train-detector` until killed, `[[[…]]]` ended in 'unexpected RecursionError', a symlink to
    /dev/zero was read until memory ran out (5 GB) and blamed the dataset, a width of 0 would divide by zero when
    the labels are written, 1e400 raised OverflowError: each is now one unreadable file, named."""
    path = _hostile(saved, kind)
    found = _bounded(lambda: read_photos(saved.parent.parent), path)
    assert found.unreadable == [path.name]
    assert [p.scene_id for p in found.photos] == [saved.stem] and not found.missing


def test_a_corrections_file_naming_a_photo_too_long_to_exist_is_a_missing_photo(saved):
    """``Path.is_file`` raises for a name too long for the file system; one such file stopped training."""
    path = _hostile(saved, "image=")
    found = read_photos(saved.parent.parent)
    assert found.missing == [path.name] and not found.unreadable and len(found.photos) == 1


def test_train_detector_names_the_corrections_it_leaves_out(saved):
    """The Train window listed unreadable corrections; `decorlens train-detector` left them out in silence."""
    from training.detector import corrected_photos

    gone = _hostile(saved, "image=")  # both are written to one name: move this one away first
    gone = gone.rename(gone.with_name(f"gone-{'1' * 16}.json"))
    bad = _hostile(saved, "deep")
    notes: list[str] = []
    kept = corrected_photos(saved.parent.parent, notes.append)
    assert [p.scene_id for p in kept.values()] == [saved.stem]
    assert notes == [f"note: 1 of the app's saved corrections left out (unreadable): {bad.name}",
                     f"note: 1 of the app's saved corrections left out (their photo is gone): {gone.name}"]


@pytest.mark.parametrize(("kind", "reason"), [
    ("fifo", "a FIFO (named pipe), not a regular file"),
    ("device", "a device, not a regular file"),
    ("deep", "JSON nested too deeply"),
    ("width=0", "width and height must be whole numbers of pixels above 0"),
])
def test_the_app_sets_a_hostile_corrections_file_aside_in_one_line(saved, kind, reason):
    """Opening the photo blocked on a FIFO for good, and `[[[…]]]` raised RecursionError out of the worker."""
    path = _hostile(saved, kind)
    with pytest.raises(DecorLensError) as refused:
        _bounded(lambda: corrections.load(path, "room.jpg"), path)
    aside = path.with_name(path.stem + corrections_file.MOVED_ASIDE)
    assert str(refused.value) == f"saved edits {path.name} are unreadable ({reason}); kept as {aside.name}"
    assert not path.exists() and os.path.lexists(aside)
    assert corrections.load(saved, "room.jpg").tags[0].obj.category == "chair"


@pytest.mark.parametrize(("field", "value"), [
    (("matches", 0, "sku"), ["802.538.09"]), (("matches", 0, "score"), "0.61"), (("matches", 0, "match"), "perfect"),
    (("matches", 0, "product_id"), 2**63), (("tag",), [35, 50, 1]), (("tag",), ["35", "50"]), (("category",), 7),
    (("number",), True), (("score",), 1e400), (("origin",), "robot"), (("confirmed",), {"sku": 1}),
    (("original_category",), ["lamp"]), (("matches",), {"sku": "x"}),
])
def test_the_app_sets_aside_a_corrections_file_whose_tag_holds_another_type(saved, field: tuple, value):
    """A file that parses, with one field of its tag not what the app saves: the photo opened, then the first
    hover or click raised TypeError inside Qt ('unhashable type: list', QPointF called with wrong argument
    types), found by a fuzz that replaced one field at a time and opened the photo in the window."""
    data = json.loads(saved.read_text())
    node = data["objects"][0]
    for key in field[:-1]:
        node = node[key]
    node[field[-1]] = value
    path = saved.with_name(f"hostile-{'0' * 16}.json")
    path.write_text(json.dumps(data))
    with pytest.raises(DecorLensError, match=rf"^saved edits {path.name} are unreadable \(.+\); kept as "):
        corrections.load(path, "room.jpg")
    assert not path.exists()
    assert corrections.load(saved, "room.jpg").tags[0].obj.category == "chair"


def test_the_app_does_not_hash_a_fifo_as_a_photo(tmp_path: Path):
    fifo = tmp_path / "room.jpg"
    os.mkfifo(fifo)
    with pytest.raises(NotAFile, match="FIFO"):
        _bounded(lambda: corrections.image_digest(fifo), fifo)


# -- a YOLO dataset (train-detector --yolo-data) ----------------------------------------------------


@pytest.fixture
def yolo(tmp_path: Path) -> Path:
    """A YOLO dataset that passes the check: one label in train, the val folder."""
    for folder in ("images/train", "images/val", "labels/train"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "labels/train/a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "data.yaml").write_text(yaml.safe_dump({"train": "images/train", "val": "images/val",
                                                        "names": ["chair", "lamp"]}))
    assert read_yolo_dataset(tmp_path / "data.yaml") == (["chair", "lamp"], {"chair": {"yolo": 1}})
    return tmp_path / "data.yaml"


def _make(path: Path, kind: str, cap: int) -> None:
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/null")
    else:
        with open(path, "wb") as fh:
            fh.truncate(cap + 1)  # sparse: nothing written


@pytest.mark.parametrize(("kind", "reason"), [
    ("fifo", "not a readable label file (a FIFO (named pipe), not a regular file)"),
    ("device", "not a readable label file (a device, not a regular file)"),
    ("oversized", f"more than the {MAX_LABEL_BYTES >> 20} MB a YOLO label file can be (8.0 MB)"),
])
def test_a_hostile_label_file_is_refused_in_one_line_naming_it(yolo, kind, reason):
    """A FIFO label hung the check for 11 minutes (SIGTERM only said 'stopping after this step'); one symlinked to
    /dev/zero was read until memory ran out (5 GB), a 540 MB one took 1 GB; /dev/null was taken as no labels."""
    label = yolo.parent / "labels/train/b.txt"
    _make(label, kind, MAX_LABEL_BYTES)
    with pytest.raises(ModelError) as refused:
        _bounded(lambda: read_yolo_dataset(yolo), label)
    assert str(refused.value) == f"{label}: {reason}"


def test_label_lines_are_read_as_ultralytics_splits_them(yolo):
    """Read line by line, a label file still takes a BOM, \\r\\n and a lone \\r as ultralytics does."""
    (yolo.parent / "labels/train/a.txt").write_bytes(b"\xef\xbb\xbf0 0.5 0.5 0.2 0.2\r\n1 0.5 0.5 0.2 0.2\r"
                                                     b"1 0.1 0.1 0.1 0.1\n\n")
    assert read_yolo_dataset(yolo)[1] == {"chair": {"yolo": 1}, "lamp": {"yolo": 2}}
    (yolo.parent / "labels/train/a.txt").write_bytes(b"0 0.5 0.5 0.2 0.2\r0 0.5 0.5 0.2 \xe9\n")
    with pytest.raises(ModelError, match=r"a\.txt: not a readable label file \(line 2 is not UTF-8 text\)"):
        read_yolo_dataset(yolo)


@pytest.mark.parametrize(("kind", "reason"), [
    ("fifo", "not a readable YOLO data.yaml (a FIFO (named pipe), not a regular file)"),
    ("device", "not a readable YOLO data.yaml (a device, not a regular file)"),
    ("oversized", f"more than the {MAX_DATA_YAML_BYTES >> 20} MB a YOLO data.yaml can be (1.0 MB)"),
])
def test_a_hostile_data_yaml_is_refused_in_one_line_naming_it(yolo, kind, reason):
    _make(yolo, kind, MAX_DATA_YAML_BYTES)
    with pytest.raises(ModelError) as refused:
        _bounded(lambda: read_yolo_dataset(yolo), yolo)
    assert str(refused.value) == f"{yolo}: {reason}"


@pytest.mark.parametrize(("names", "problem"), [
    (["chair", "lamp\x1b]0;owned\x07"], "entry 1 has control characters (a newline, a terminal escape)"),
    (["chair", " "], "entry 1 is empty"),
    (["chair", "x" * (MAX_CLASS_NAME + 1)], f"entry 1 is {MAX_CLASS_NAME + 1} characters long"),
])
def test_class_names_the_model_card_would_refuse_are_refused_before_training(yolo, names, problem):
    """They were taken, and the card written after the whole run refused them: hours of training for nothing."""
    yolo.write_text(yaml.safe_dump({"train": "images/train", "val": "images/val", "names": names}))
    with pytest.raises(ModelError) as refused:
        read_yolo_dataset(yolo)
    assert str(refused.value).startswith(f"{yolo}: its 'names' {problem}")


def test_a_data_yaml_nested_too_deeply_is_one_line(yolo):
    """400 KB of ``[[[…]]]`` ended in 'unexpected RecursionError'."""
    yolo.write_text("names: " + "[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(ModelError, match=r"data\.yaml: not a readable YOLO data\.yaml \(nested too deeply\)$"):
        read_yolo_dataset(yolo)


@pytest.mark.parametrize(("entry", "refusal"), [
    ("nc", "its 'nc' and the 2 'names' must agree"),
    ("val", "its 'val' names no folder of validation images (a list)"),
])
def test_a_yaml_alias_bomb_in_data_yaml_is_not_expanded_into_the_message(yolo, entry, refusal):
    """``str`` of an alias bomb costs what it expands to: 9**6 leaves here (MBs of text, which a regression puts in
    the message); 9**10 in a file of 300 bytes took the machine's memory."""
    anchors = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{new}: &{new} [{', '.join([f'*{old}'] * 9)}]\n" for old, new in zip("abcde", "bcdef", strict=True))
    spec = {"train": "images/train", "val": "images/val", "names": ["chair", "lamp"]}
    spec.pop(entry, None)
    yolo.write_text(anchors + yaml.safe_dump(spec) + f"{entry}: *f\n")
    with pytest.raises(ModelError) as refused:
        read_yolo_dataset(yolo)
    assert str(refused.value) == f"{yolo}: {refusal}"
