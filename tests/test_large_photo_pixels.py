"""A photo larger than ``engine.imageio.MAX_SIDE`` is decoded downscaled, yet every box DecorLens reports or accepts
is in the photo's own pixels, as a merchandiser reads them in an image editor: `decorlens tag`'s JSON and summary,
`search --box`, `where`, and what was stored before boxes were in the photo's pixels (a corrections file, the scene
memory, written at the decoded size) read in the photo's pixels too, by training as well. A real IKEA scene upscaled 6x (6144 px wide,
decoded at 4096), a copy of the session catalog, the real CLI."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scene_copy import copy_data_dir

from decorlens.main import main
from engine import corrections
from engine.batch import RESUME, SUMMARY
from engine.files import sha256_of
from engine.imageio import MAX_SIDE, load_image, photo_size
from engine.pipeline import Pipeline
from engine.results import SceneResult
from engine.scene_memory import BATCH, objects_of, remember

FACTOR = 6  # 1024 px wide -> 6144, decoded at 4096: a scale of 2/3


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory, scene_path, pipeline) -> tuple[Path, Path, SceneResult]:
    """(the upscaled photo, a data dir of its own holding the session catalog, the search of the original photo)."""
    work = tmp_path_factory.mktemp("large-photo")
    small = scene_path("take-a-comfy-seat-on-the-sofa")
    with Image.open(small) as img:
        img.resize((img.width * FACTOR, img.height * FACTOR), Image.Resampling.BICUBIC).save(work / "room.jpg",
                                                                                               quality=90)
    return work / "room.jpg", copy_data_dir(pipeline, work / "data"), pipeline.search_scene(small)


def _flat(boxes: Iterable[Sequence[float]]) -> list[float]:
    return [v for box in boxes for v in box]


def _as_written_before(out: Path, stem: str, pixels: np.ndarray) -> None:
    """The photo's JSON in ``out`` as a DecorLens before wrote it, at the decoded size, and the batch's resume file
    naming it as that run's output."""
    written = SceneResult.from_json(json.loads((out / f"{stem}.json").read_text()))
    (out / f"{stem}.json").write_text(json.dumps(written.scaled_to(pixels.shape[1], pixels.shape[0]).to_json()))
    resume = json.loads((out / RESUME).read_text())
    next(iter(resume["photos"].values()))["files"][".json"] = sha256_of(out / f"{stem}.json")
    (out / RESUME).write_text(json.dumps(resume))


def _cli(data: Path, *args: str) -> int:
    return main(["-q", "--data-dir", str(data), *args])


def test_tag_search_and_where_speak_in_the_photos_own_pixels(large, pipeline, capsys):
    photo, data, original = large
    with Image.open(photo) as img:
        size = img.size
    pixels = load_image(photo)
    assert photo_size(pixels) == size and max(pixels.shape[:2]) == MAX_SIDE  # decoded downscaled

    assert _cli(data, "tag", str(photo), "--out", str(data / "out")) == 0
    tagged = json.loads((data / "out" / "room.json").read_text())
    assert (tagged["width"], tagged["height"]) == size
    boxes = [o["box"] for o in tagged["objects"]]
    assert sorted(o["category"] for o in tagged["objects"]) == sorted(o.category for o in original.objects)
    for obj in tagged["objects"]:  # where the 1024 px photo's boxes are, 6x (the order may differ by a hair's score)
        near = min((o for o in original.objects if o.category == obj["category"]),
                   key=lambda o: sum(abs(v * FACTOR - w) for v, w in zip(o.box, obj["box"], strict=True)))
        assert obj["box"] == pytest.approx([v * FACTOR for v in near.box], abs=0.02 * size[0])
    found = pipeline.detect(pixels)  # evaluation's way in: boxes in the photo's pixels too
    assert max(d.box[2] for d in found) == pytest.approx(max(o["box"][2] for o in tagged["objects"]), abs=1)
    with open(data / "out" / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        rows = {int(r["object"]): [float(r[k]) for k in ("x1", "y1", "x2", "y2")] for r in csv.DictReader(fh)}
    assert [rows[n] for n in sorted(rows)] == boxes

    _as_written_before(data / "out", "room", pixels)  # a run again does not keep a JSON at the decoded size
    assert _cli(data, "tag", str(photo), "--out", str(data / "out")) == 0
    assert json.loads((data / "out" / "room.json").read_text())["width"] == size[0]

    chosen = max(tagged["objects"], key=lambda o: o["box"][2])  # reaches furthest right: past 4096 if any does
    capsys.readouterr()
    assert _cli(data, "where", chosen["matches"][0]["sku"], "--json") == 0
    assert chosen["box"] in [s["box"] for s in json.loads(capsys.readouterr().out)["photos"]]

    box = ",".join(f"{v:.0f}" for v in chosen["box"])
    assert _cli(data, "search", str(photo), "--box", box, "--json") == 0
    searched = json.loads(capsys.readouterr().out)
    assert (searched["width"], searched["height"]) == size
    assert searched["objects"][0]["box"] == [float(v) for v in box.split(",")]


def test_boxes_stored_at_the_decoded_size_before_are_read_in_the_photos_pixels(large, pipeline, capsys):
    """A corrections file and a scene memory written before boxes were in the photo's pixels hold a large photo's
    boxes at the size it was decoded to, with that width and height beside them: the app opening the photo, a batch
    writing it as corrected and `where` all read them in the photo's pixels."""
    from app.scene_controller import open_photo

    photo, data, original = large
    pixels = load_image(photo)
    decoded = original.scaled_to(pixels.shape[1], pixels.shape[0])  # what the earlier DecorLens reported
    sha = corrections.image_digest(photo)
    old = corrections.EditableScene(decoded, sha, matched_with=pipeline.embedder.key)
    corrections.save(old.to_json() | {"image": str(photo)}, data)
    full = original.scaled_to(*photo_size(pixels))

    opened = open_photo(photo, data)
    assert (opened.saved.result.width, opened.saved.result.height) == photo_size(pixels)
    assert _flat(t.obj.box for t in opened.saved.tags) == pytest.approx(_flat(o.box for o in full.objects), abs=0.2)

    assert _cli(data, "tag", str(photo), "--out", str(data / "again")) == 0
    written = json.loads((data / "again" / "room.json").read_text())
    assert (written["width"], written["height"]) == photo_size(pixels)
    assert _flat(o["box"] for o in written["objects"]) == pytest.approx(_flat(o.box for o in full.objects), abs=0.2)

    # detector training's labels from the app's edits
    from training.detector import corrected_photos, user_scene

    (corrected,) = corrected_photos(data).values()
    kept = _flat(sorted(label.box for label in user_scene(corrected).kept))
    assert kept == pytest.approx(_flat(sorted(o.box for o in full.objects)), abs=0.2)

    # The memory as the earlier DecorLens left it: the decoded size and boxes beside each other.
    own = Pipeline(pipeline.settings.with_(data_dir=data))
    remember(own, photo, (decoded.width, decoded.height), objects_of(decoded), BATCH, sha, pixels)
    own.close()
    capsys.readouterr()
    assert _cli(data, "where", original.objects[0].matches[0].sku, "--json") == 0
    found = {s["object"]: s["box"] for s in json.loads(capsys.readouterr().out)["photos"]}
    assert found[1] == pytest.approx(list(full.objects[0].box), abs=0.5)
