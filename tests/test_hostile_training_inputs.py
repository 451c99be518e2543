"""Hostile files among what training reads: the app's saved corrections.

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
from PIL import Image

from app import corrections
from engine import corrections_file
from engine.errors import DecorLensError
from engine.files import NotAFile
from engine.results import Match, SceneObject, SceneResult
from training.app_data import read_photos

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


def test_the_app_does_not_hash_a_fifo_as_a_photo(tmp_path: Path):
    fifo = tmp_path / "room.jpg"
    os.mkfifo(fifo)
    with pytest.raises(NotAFile, match="FIFO"):
        _bounded(lambda: corrections.image_digest(fifo), fifo)
