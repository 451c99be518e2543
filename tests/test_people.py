"""People in photos (issue 21): the pose model exported by the project, run by the engine without torch,
keeps tags off people: no tag on a person, no pin on a face, pins of half-hidden objects on what is seen.

The photos: ultralytics' street photos (real people) and shared IKEA rooms with those people stood in
them (bench.people_photos; the shared scenes themselves have none). Needs the [train] extra for the
export, done once per module into a temp folder, never into ../shared.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import needs_ultralytics

from decorlens.main import main
from engine import modelpack
from engine.errors import DecorLensError, ModelError
from engine.files import sha256_of
from engine.imageio import load_image
from engine.models import ResolvedModel, find_model, read_card
from engine.paths import resources_dir
from engine.people import FACE, MOSTLY_PERSON, PeopleRegions, PoseModel, is_person_label
from engine.pipeline import Pipeline
from engine.results import Detection, SceneResult
from engine.settings import Settings
from engine.tags import place_tags
from training.yolo import import_yolo

pytestmark = pytest.mark.train
pytest.importorskip("torch")
needs_ultralytics()
export = pytest.importorskip("training.export")
people_photos = pytest.importorskip("bench.people_photos")

POSE_PT = "yolov8n-pose-ovint8-dq.pt"
POSE_ONNX = "yolov8n-pose-ovint8-dq.onnx"
COCO_ONNX = "yolo11n-ovint8-dq.onnx"
ASSETS = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"
STREET = [ASSETS / "bus.jpg", ASSETS / "zidane.jpg"]


@pytest.fixture(scope="module")
def pose_onnx(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> Path:
    return export.export_pose(shared_models / POSE_PT, tmp_path_factory.mktemp("pose"))


@pytest.fixture(scope="module")
def pose(pose_onnx: Path) -> PoseModel:
    return PoseModel(find_model(pose_onnx.name, pose_onnx.parent), "cpu")


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, ikea: Path, pose: PoseModel) -> list[Path]:
    return people_photos.write_photos(ikea / "scenes", pose, tmp_path_factory.mktemp("people-photos"))


def data_dir_with(folder: Path, pose_onnx: Path | None, exported_models: Path) -> Path:
    """A data dir whose models/ holds the COCO detector and, if given, the pose model (with their cards)."""
    shutil.copytree(exported_models, folder / "models")
    if pose_onnx is not None:
        for path in (pose_onnx, pose_onnx.with_suffix(".card.json")):
            shutil.copy(path, folder / "models" / path.name)
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, pose_onnx: Path, exported_models: Path) -> Path:
    return data_dir_with(tmp_path_factory.mktemp("data"), pose_onnx, exported_models)


def pipeline(data: Path, people: str) -> Pipeline:
    return Pipeline(Settings.defaults().with_(data_dir=data, people=people))


@pytest.fixture(scope="module")
def tagged(data: Path, photos: list[Path], pose: PoseModel) -> list[tuple[Path, PeopleRegions, SceneResult, SceneResult]]:
    """Each photo with people: its people, and its tags with ``people: off`` (before) and ``on`` (after)."""
    before, after = pipeline(data, "off"), pipeline(data, "on")
    return [
        (photo, pose.regions(load_image(photo)), before.search_scene(photo, require_catalog=False),
         after.search_scene(photo, require_catalog=False))
        for photo in [*photos, *STREET]
    ]


# --- the model ------------------------------------------------------------------------------------


def test_pose_export_is_a_pose_card_and_reproducible(pose_onnx: Path, shared_models: Path, tmp_path: Path) -> None:
    card = read_card(pose_onnx)
    assert card.kind == "pose" and card.class_names == ["person"] and card.sha256 == sha256_of(pose_onnx)
    again = export.export_pose(shared_models / POSE_PT, tmp_path)
    assert sha256_of(again) == sha256_of(pose_onnx)  # no export date in the file: a pack's sha256 can be remade
    entry = next(f for f in modelpack.read_pack().files if f.file == POSE_ONNX)
    if card.recipe["exporter"] == read_card(resources_dir() / "cards" / POSE_ONNX).recipe["exporter"]:
        assert (pose_onnx.stat().st_size, card.sha256) == (entry.size, entry.sha256)


def test_the_engine_decodes_people_and_keypoints_as_ultralytics_does(pose: PoseModel, pose_onnx: Path) -> None:
    image = load_image(STREET[0])
    ours = pose.find(image)
    theirs = import_yolo()(str(pose_onnx), task="pose").predict(
        str(STREET[0]), conf=pose.conf, verbose=False, device="cpu")[0]
    assert len(ours) == len(theirs.boxes) >= 3
    np.testing.assert_allclose([p.box for p in ours], theirs.boxes.xyxy.numpy(), atol=1.0)
    np.testing.assert_allclose([p.keypoints for p in ours], theirs.keypoints.data.numpy(), atol=1.0)


def test_people_on_without_the_pose_model_is_one_line_that_says_how_to_get_it(
    tmp_path: Path, exported_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = data_dir_with(tmp_path, None, exported_models)
    with pytest.raises(ModelError) as error:
        pipeline(data, "on").search_scene(STREET[0], require_catalog=False)
    assert "\n" not in str(error.value) and f"decorlens models export {POSE_PT}" in str(error.value)
    assert pipeline(data, "auto").pose is None  # auto: on when the pose model is installed
    (data / "config.yaml").write_text("people: on\n")
    assert main(["--data-dir", str(data), "search", str(STREET[0])]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"`decorlens models export {POSE_PT}`" in err  # kept whole in the CLI's 200


def test_the_people_setting_is_read_from_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("people: off\n")  # YAML reads a bare off as False
    assert Settings.for_data_dir(tmp_path).people == "off"
    (tmp_path / "config.yaml").write_text("people: sometimes\n")
    with pytest.raises(DecorLensError, match=r"config.yaml holds a value of the wrong kind \(people: 'sometimes'"):
        Settings.for_data_dir(tmp_path)


def test_the_pose_model_is_an_optional_part_of_the_pack(tmp_path: Path, shared_models: Path, pose_onnx: Path) -> None:
    without = modelpack.install(shared_models, tmp_path / "a")
    assert without.skipped == [POSE_ONNX, POSE_ONNX.replace(".onnx", ".card.json")]
    source = tmp_path / "source"
    source.mkdir()
    for entry in modelpack.read_pack().files:
        if entry.role != "card":
            (source / entry.file).symlink_to(shared_models / entry.file if entry.file != POSE_ONNX else pose_onnx)
    if sha256_of(pose_onnx) == next(f.sha256 for f in modelpack.read_pack().files if f.file == POSE_ONNX):
        report = modelpack.install(source, tmp_path / "b")
        assert not report.skipped and POSE_ONNX in report.installed
        assert read_card(tmp_path / "b" / POSE_ONNX).kind == "pose"


# --- tags -----------------------------------------------------------------------------------------


def test_no_tag_on_a_person_whatever_the_category_map(tmp_path: Path, data: Path, pose: PoseModel) -> None:
    """A map that calls people chairs: the detectors find them, yet none becomes a tag, with or without pose."""
    categories = yaml.safe_load((resources_dir() / "categories.yaml").read_text())
    categories["detectors"]["coco"]["person"] = "chair"
    for label in ("Person", "Man", "Woman", "Boy", "Girl", "Human face", "Human body"):
        categories["detectors"]["oiv7"][label] = "chair"
    local = tmp_path / "data"
    shutil.copytree(data, local)
    (local / "categories.yaml").write_text(yaml.safe_dump(categories))
    for people in ("on", "off"):
        pipe = pipeline(local, people)
        found = [d for d in pipe.detector.detect(load_image(STREET[0])) if is_person_label(d.label)]
        assert len(found) >= 3  # the map does turn people into chairs in the raw detections
        for photo in STREET:
            regions = pose.regions(load_image(photo))
            for obj in pipe.search_scene(photo, require_catalog=False).objects:
                assert not is_person_label(obj.label), (photo.name, obj.label)
                assert regions.body_share(obj.box) < MOSTLY_PERSON, (photo.name, obj.label, obj.box)


def test_no_pin_on_a_face_or_a_body(tagged) -> None:
    on_bodies_before = 0
    for photo, regions, before, after in tagged:
        assert regions.people, photo.name
        for obj in after.objects:
            assert not regions.on_face(obj.tag), (photo.name, obj.label, obj.tag)
            assert not regions.on_body(obj.tag), (photo.name, obj.label, obj.tag)
        on_bodies_before += sum(regions.on_body(o.tag) for o in before.objects)
    assert on_bodies_before >= 2  # without the pose model pins do land on these people


def test_a_pin_on_a_real_face_moves_off_it(pose: PoseModel) -> None:
    """A frame behind a head, its box centred on the face: its rule pin is on the face, placed off it."""
    image = load_image(STREET[1])
    h, w = image.shape[:2]
    regions = pose.regions(image)
    person = max(regions.people, key=lambda p: sum(p.seen(i) for i in FACE))
    cx, cy = np.mean([person.point(i) for i in FACE if person.seen(i)], axis=0)
    frame = Detection((cx - 150, cy - 120, cx + 150, cy + 120), 0.9, "Picture frame", "frame_art", "test")
    assert regions.on_face(place_tags([frame], (w, h))[0])
    tag = place_tags([frame], (w, h), people=regions)[0]
    assert not regions.on_face(tag) and not regions.on_body(tag)
    assert frame.box[0] <= tag[0] <= frame.box[2] and frame.box[1] <= tag[1] <= frame.box[3]


def test_a_partly_covered_object_is_tagged_on_its_visible_part(tagged, photos: list[Path]) -> None:
    moved = 0
    for photo, regions, before, after in tagged:
        old = {(o.category, o.box): o.tag for o in before.objects}
        covered = [o for o in after.objects if 0 < regions.body_share(o.box) < MOSTLY_PERSON]
        assert covered or photo not in photos, photo.name
        for obj in covered:
            x1, y1, x2, y2 = obj.box
            assert x1 <= obj.tag[0] <= x2 and y1 <= obj.tag[1] <= y2, (photo.name, obj.label)
            assert not regions.on_body(obj.tag), (photo.name, obj.label)
            moved += regions.on_body(old[(obj.category, obj.box)])
    assert moved  # some sofa or bed a person stands before had its pin on them


def test_a_detector_is_refused_as_a_pose_model(shared_models: Path) -> None:
    detector = ResolvedModel(shared_models / COCO_ONNX, read_card(shared_models / COCO_ONNX))
    with pytest.raises(ModelError, match="not a pose model"):
        PoseModel(detector, "cpu")


def test_a_pose_onnx_made_elsewhere_gets_its_card_from_models_card(
    tmp_path: Path, pose_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = tmp_path / "yolov8n-pose.onnx"  # the official export's name, first of the engine's choices
    shutil.copy(pose_onnx, bare)
    assert main(["--data-dir", str(tmp_path), "models", "card", str(bare), "--kind", "pose"]) == 0
    model = PoseModel(find_model(bare.name, tmp_path), "cpu")
    assert model.model.card.kind == "pose" and len(model.find(load_image(STREET[0]))) >= 3
