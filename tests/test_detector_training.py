"""Detector training data without hand-drawn boxes, the YOLO / COCO export, and a one-epoch fine-tune."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from ikea_slice import write_slice
from PIL import Image

from engine.boxes import iou
from engine.categories import CategoryMap
from engine.crops import to_decoded, to_photo
from engine.detect import Detector, as_tags
from engine.errors import ModelError
from engine.files import sha256_of
from engine.imageio import MAX_SIDE, load_image, photo_size
from engine.models import find_model
from engine.pipeline import Pipeline
from engine.settings import Settings
from training.data import PairDataset, split_of
from training.detector import (
    CPU_EPOCHS,
    GPU_EPOCHS,
    DetectorConfig,
    corrected_photos,
    default_epochs,
    user_scene,
)
from training.detector_confidence import CONF_GRID, choose
from training.pseudo_labels import (
    PseudoLabeller,
    floor_windows,
    grid_windows,
    propose,
    region_anchors,
    required_cosine,
)
from training.review import BAND, sample_pseudo
from training.yolo_data import read_yolo_dataset, write_dataset

ROOT = Path(__file__).resolve().parents[1]
LIVING_ROOM = "a-living-space-to-snuggle"  # the README's screenshot: COCO sees a TV there


@pytest.fixture(scope="module")
def dataset(ikea: Path) -> PairDataset:
    return PairDataset.load(ikea)


@pytest.fixture(scope="module")
def labelled(dataset: PairDataset, pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory):
    """Three real train scenes labelled with the stock detectors and embedder, every assignment kept."""
    classes = pipeline.categories.categories
    labeller = PseudoLabeller(dataset, pipeline, tmp_path_factory.mktemp("labels"), classes, threshold=0.0)
    scenes = dataset.scenes_in("train")[:3]
    return labeller, scenes, labeller.label_all(scenes)


def test_grid_windows_stay_inside_and_reach_every_corner():
    windows = grid_windows(1024, 683)
    assert (windows[:, :2] >= 0).all() and (windows[:, 2] <= 1024).all() and (windows[:, 3] <= 683).all()
    assert (windows[:, 2] > windows[:, 0]).all() and (windows[:, 3] > windows[:, 1]).all()
    assert windows[:, 2].max() == pytest.approx(1024, abs=1) and windows[:, 3].max() == pytest.approx(683, abs=1)
    wide = (windows[:, 2] - windows[:, 0]) / (windows[:, 3] - windows[:, 1])
    assert wide.max() == pytest.approx(2.0, rel=0.01) and wide.min() == pytest.approx(0.5, rel=0.01)


def test_floor_windows_are_wide_low_and_inside():
    windows = floor_windows(1024, 683)
    assert len(windows)
    assert (windows[:, :2] >= 0).all() and (windows[:, 2] <= 1024).all() and (windows[:, 3] <= 683).all()
    assert ((windows[:, 1] + windows[:, 3]) / 2 >= 683 / 2).all()
    wide = (windows[:, 2] - windows[:, 0]) / (windows[:, 3] - windows[:, 1])
    assert wide.min() == pytest.approx(3.0, rel=0.01) and wide.max() == pytest.approx(5.0, rel=0.01)


def test_rugs_are_labelled_on_floor_windows(labelled, dataset: PairDataset):
    """A rug's product photo matches a plain wall as well as the rug seen from the side: only floor windows may win."""
    labeller, _, out = labelled
    rugs = [(scene, lab) for scene in out for lab in scene.labels if lab.source == "pair" and labeller.floor(lab.category)]
    linked = [p for p in dataset.pairs if p.scene_id in {s.scene_id for s in out} and labeller.floor(p.category)]
    assert linked, "the three scenes have no rug pair to label"
    assert len(rugs) == len(linked)
    for scene, lab in rugs:
        x1, y1, x2, y2 = lab.box
        assert (y1 + y2) / 2 >= scene.height / 2 and x2 - x1 >= 2.9 * (y2 - y1), lab


def test_labels_are_inside_the_image_and_from_the_category_map(labelled, dataset: PairDataset,
                                                                  pipeline: Pipeline):
    _, scenes, out = labelled
    assert [s.scene_id for s in out] == scenes
    for scene in out:
        h, w = load_image(scene.image).shape[:2]
        assert (scene.width, scene.height) == (w, h)
        linked = {p.product_id for p in dataset.pairs if p.scene_id == scene.scene_id}
        for label in scene.labels:
            x1, y1, x2, y2 = label.box
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h, label
            assert label.category in pipeline.categories.search
            if label.source == "pair":
                assert label.product_id in linked
                assert label.category == dataset.products[label.product_id].category
    sources = {label.source for scene in out for label in scene.labels}
    assert "pair" in sources, "three scenes gave no pseudo label at all"


def test_one_proposal_per_product_and_threshold_filters(labelled, dataset: PairDataset, pipeline: Pipeline,
                                                         tmp_path: Path):
    labeller, scenes, out = labelled
    for scene in out:
        pseudo = [lab for lab in scene.labels if lab.source == "pair"]
        assert len({lab.product_id for lab in pseudo}) == len(pseudo)
    cosines = sorted(lab.score for s in out for lab in s.labels if lab.source == "pair")
    middle = cosines[len(cosines) // 2]
    strict = PseudoLabeller(dataset, pipeline, labeller.cache_dir, labeller.classes, threshold=middle)
    kept = [lab for s in strict.label_all(scenes) for lab in s.labels if lab.source == "pair"]
    assert kept and len(kept) < len(cosines)
    assert all(lab.score >= required_cosine(labeller.floor(lab.category), middle) for lab in kept)


def test_the_review_sheet_samples_every_cosine_band(labelled):
    """Labels are judged per band, so a small sample takes some of each band, not mostly the crowded middle."""
    _, _, out = labelled
    cosines = [lab.score for s in out for lab in s.labels if lab.source == "pair"]
    bands = {int(c // BAND) for c in cosines}
    assert len(bands) >= 3, "three scenes spread their labels over too few cosine bands to test this"
    picked = sample_pseudo(out, len(bands), seed=3)
    scores = [scene.labels[i].score for scene, i in picked]
    assert {int(c // BAND) for c in scores} == bands
    assert scores == sorted(scores, reverse=True)
    assert len(sample_pseudo(out, 10_000)) == len(cosines)


def test_a_map_without_floor_categories_labels_rugs_afresh(labelled, dataset: PairDataset, tmp_path: Path):
    """The floor categories decide which windows a product may take, so cached assignments depend on them."""
    labeller, _, _ = labelled
    (tmp_path / "categories.yaml").write_text(
        (ROOT / "resources" / "categories.yaml").read_text().replace("floor: [rug]", "floor: []"))
    flat = PseudoLabeller(dataset, Pipeline(Settings.defaults().with_(data_dir=tmp_path)), labeller.cache_dir,
                          labeller.classes)
    assert labeller.floor("rug") and not flat.floor("rug")
    assert flat.key != labeller.key


def _corrections_file(folder: Path, image: Path, kept: list[dict], removed: list[dict]) -> None:
    """A corrections file as the app saves it (``engine/corrections.py``; read by ``training.app_data``)."""
    h, w = load_image(image).shape[:2]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{image.stem}.json").write_text(json.dumps({
        "image": str(image), "width": w, "height": h,
        "objects": [{"number": i, **o} for i, o in enumerate(kept, 1)],
        "removed": [{"number": len(kept) + i, **o} for i, o in enumerate(removed, 1)],
        "corrections": {"format": "decorlens-corrections/1", "image_sha256": sha256_of(image)},
    }))


def test_user_corrections_win(labelled, dataset: PairDataset, pipeline: Pipeline, tmp_path: Path):
    """A box the user removed takes its pseudo label away; a box the user drew becomes a label."""
    labeller, _, out = labelled
    scene = next(s for s in out if any(lab.source == "pair" for lab in s.labels))
    victim = next(lab for lab in scene.labels if lab.source == "pair")
    drawn = [10.0, 10.0, 60.0, 40.0]
    _corrections_file(tmp_path / "corrections", scene.image, [{"box": drawn, "category": "clock", "origin": "user"}],
                      [{"box": list(victim.box), "category": victim.category}])
    users = {sha: user_scene(photo) for sha, photo in corrected_photos(tmp_path).items()}
    corrected = PseudoLabeller(dataset, pipeline, labeller.cache_dir, labeller.classes, 0.0, users)
    (again,) = corrected.label_all([scene.scene_id])
    assert any(lab.source == "user" and list(lab.box) == drawn for lab in again.labels)
    assert all(iou(lab.box, victim.box) < 0.5 for lab in again.labels)


def test_distilled_labels_are_the_stock_tags_without_non_products(dataset: PairDataset, pipeline: Pipeline,
                                                                  scene_path, tmp_path: Path):
    """The README's living room: the teacher labels are the tags the stock detectors give in the app
    (category map, catalog filter, merge), so the TV COCO sees is not a label."""
    image_path = scene_path(LIVING_ROOM)
    labeller = PseudoLabeller(dataset, pipeline, tmp_path, pipeline.categories.categories, threshold=2.0)
    (scene,) = labeller.label_all([image_path.stem])
    teacher = [lab for lab in scene.labels if lab.source == "teacher"]
    assert teacher and all(lab.source == "teacher" for lab in scene.labels)  # no cosine reaches 2
    image = load_image(image_path)
    tags = pipeline.detector.detect(image, allowed=pipeline.sold_categories())
    rounded = [(d.category, tuple(round(v, 1) for v in d.box)) for d in tags]
    assert all((lab.category, lab.box) in rounded for lab in teacher)
    assert all(any(iou(box, lab.box) >= 0.5 for lab in teacher) for _, box in rounded)  # one label per object
    coco = pipeline.detector.detectors[0]
    boxes, _, classes = coco.detect_raw(image)
    names = [coco.model.card.class_names[c] for c in classes]
    tvs = [box for box, name in zip(boxes, names) if name == "tv"]
    assert tvs  # seen by the stock model ...
    assert all(iou(box, lab.box) < 0.5 for box in tvs for lab in teacher)  # ... and not labelled
    assert {lab.category for lab in teacher} <= pipeline.sold_categories()


def test_a_large_photos_labels_are_in_its_own_pixels(dataset: PairDataset, pipeline: Pipeline, scene_path,
                                                       tmp_path: Path):
    """A photo past ``MAX_SIDE`` is labelled on the pixels decoded (smaller), yet its size and every label are in the
    photo's own pixels, as pairs.csv's given boxes and the app's corrections are: mixed, a detector trained on it
    learnt its boxes at 2/3 of where the objects are. The README's living room upscaled 6x (6144 px, decoded 4096)."""
    small = scene_path(LIVING_ROOM)
    with Image.open(small) as img:
        img.resize((img.width * 6, img.height * 6), Image.Resampling.BICUBIC).save(tmp_path / "large.jpg", quality=90)
    pixels = load_image(tmp_path / "large.jpg")
    assert max(pixels.shape[:2]) == MAX_SIDE < max(photo_size(pixels))
    pairs = [replace(p, scene_id="large") for p in dataset.pairs if p.scene_id == small.stem]
    assert pairs and not any(p.box for p in pairs)  # its products are placed by the labeller
    own = replace(dataset, scenes={"large": tmp_path / "large.jpg"}, pairs=pairs)
    labeller = PseudoLabeller(own, pipeline, tmp_path / "labels", pipeline.categories.categories, threshold=0.0)
    (scene,) = labeller.label_all(["large"])
    assert (scene.width, scene.height) == photo_size(pixels)

    teacher = [lab for lab in scene.labels if lab.source == "teacher"]  # the app's tags, in the photo's pixels
    tags = pipeline.detector.detect(pixels, allowed=pipeline.sold_categories())
    assert teacher and all(any(d.category == lab.category and lab.box == pytest.approx(to_photo(pixels, d.box), abs=0.2)
                               for d in tags) for lab in teacher)
    paired = [lab for lab in scene.labels if lab.source == "pair"]  # proposals on the decoded pixels, brought up
    proposals, _, _ = propose(pixels, labeller.pipeline, floor=True)
    assert paired and all(np.abs(proposals - to_decoded(pixels, lab.box)).max(axis=1).min() < 0.2 for lab in paired)


@pytest.mark.parametrize("conf", [0.1, 0.25])
def test_tags_at_a_confidence_are_the_lowest_ones_filtered(pipeline: Pipeline, scene_path, conf: float):
    """What lets the card's confidence be chosen from one detection pass per scene (training.detector_confidence)."""
    image = load_image(scene_path(LIVING_ROOM))
    low = pipeline.detector.detect(image, CONF_GRID[0], pipeline.sold_categories())
    size = (image.shape[1], image.shape[0])
    at_conf = as_tags([d for d in low if d.score >= conf], size, pipeline.categories)
    pins = [replace(d, parts=()) for d in pipeline.detect(image, conf)]  # low's carry its weaker parts too
    assert pins == [replace(d, parts=()) for d in at_conf]
    assert len(low) > len(pipeline.detect(image, conf))


def test_yolo_and_coco_files_agree(labelled, tmp_path: Path):
    _, _, out = labelled
    classes = sorted({lab.category for s in out for lab in s.labels})
    data_yaml = write_dataset({"train": out[:2], "val": out[2:]}, classes, tmp_path / "ds", max_side=320)
    spec = yaml.safe_load(data_yaml.read_text())
    assert spec["names"] == dict(enumerate(classes)) and spec["train"] == "images/train"
    coco = json.loads((tmp_path / "ds" / "coco" / "train.json").read_text())
    assert [c["name"] for c in coco["categories"]] == classes
    for image in coco["images"]:
        picture = tmp_path / "ds" / image["file_name"]
        assert max(load_image(picture).shape[:2]) == 320
        label_file = tmp_path / "ds" / "labels" / "train" / (picture.stem + ".txt")
        rows = np.loadtxt(label_file, ndmin=2)
        annotations = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        assert len(rows) == len(annotations) > 0
        assert ((rows[:, 1:] > 0) & (rows[:, 1:] <= 1)).all() and (rows[:, 0] < len(classes)).all()
        for row, ann in zip(rows, annotations):
            x, _, w, h = ann["bbox"]
            assert row[1] * image["width"] == pytest.approx(x + w / 2, abs=0.05)
            assert row[4] * image["height"] == pytest.approx(h, abs=0.05)
    names, counts = read_yolo_dataset(data_yaml)
    assert names == classes
    assert sum(n["yolo"] for n in counts.values()) == sum(1 for a in coco["annotations"])


def test_a_detector_trains_longer_by_default_where_a_gpu_makes_it_cheap():
    """80 epochs on the CPU, 250 where CUDA runs them (better on both seeds, docs/detection.md); a GPU asked
    for and absent is an error, not a quiet run on the CPU."""
    import torch

    assert default_epochs("cpu") == CPU_EPOCHS < GPU_EPOCHS
    assert DetectorConfig(Path("data"), Path("out"), device="cpu").epochs == CPU_EPOCHS  # the CLI and the app's jobs
    assert DetectorConfig(Path("data"), Path("out"), epochs=7).epochs == 7
    if torch.cuda.is_available():
        assert default_epochs("auto") == default_epochs("gpu") == GPU_EPOCHS
    else:
        assert default_epochs("auto") == CPU_EPOCHS
        with pytest.raises(ModelError, match="GPU"):
            default_epochs("gpu")


# conf, pins per scene, tag precision, coverage: the 15 validation scenes of seed 0 as the detector trained for 250
# epochs on the CPU scored them (session 24, docs/detection.md)
MEASURED = [(0.02, 25.6, 0.7057, 0.8588), (0.03, 20.53, 0.7078, 0.8136), (0.05, 16.73, 0.7171, 0.7966),
            (0.08, 12.93, 0.732, 0.7288), (0.1, 11.87, 0.7247, 0.7119), (0.15, 9.53, 0.7692, 0.6215),
            (0.2, 8.27, 0.7742, 0.565), (0.25, 7.13, 0.785, 0.5254), (0.3, 6.27, 0.7979, 0.435),
            (0.4, 5.33, 0.775, 0.3785), (0.5, 4.47, 0.8358, 0.3503)]


def _table(rows) -> list[dict]:
    return [{"conf": c, "pins_per_scene": n, "precision": p, "coverage": v} for c, n, p, v in rows]


def test_the_card_confidence_reaches_the_precision_target_only_where_coverage_survives():
    """84 % precision at 0.5 with 35 % coverage is not worth 86 % coverage at 0.02: the best balance wins and the card
    says the target was missed. Where the target costs little coverage it is taken, unless too few pins measured it."""
    assert choose(_table(MEASURED)) == (_table(MEASURED)[0], False)
    cheap = [(c, n, 0.81, v) if c == 0.08 else (c, n, p, v) for c, n, p, v in MEASURED]
    assert choose(_table(cheap)) == (_table(cheap)[3], True)  # not the best balance (0.02), but close
    sparse = [(c, 0.5, p, v) if c == 0.08 else (c, n, p, v) for c, n, p, v in cheap]
    assert choose(_table(sparse))[1] is False


def test_a_yolo_dataset_without_names_or_labels_is_refused(tmp_path: Path):
    (tmp_path / "data.yaml").write_text("train: images/train\n")
    with pytest.raises(ModelError, match="needs 'names'"):
        read_yolo_dataset(tmp_path / "data.yaml")
    (tmp_path / "data.yaml").write_text("train: images/train\nnames: {0: lamp}\n")
    with pytest.raises(ModelError, match="no labels"):
        read_yolo_dataset(tmp_path / "data.yaml")


@pytest.mark.parametrize(("edit", "refusal"), [
    ({"download": "open('ran', 'w')"}, "remove its 'download'"),  # ultralytics would exec it: val is missing
    ({"labels": "2 0.5 0.5 0.2 0.2\n"}, r"a\.txt, line 2: expected 'class cx cy w h' with a class 0–1"),
    ({"labels": "-1 0.5 0.5 0.2 0.2\n"}, "line 2: expected"),  # not counted as the last class
    ({"labels": "lamp 0.5 0.5 0.2 0.2\n"}, "line 2: expected"),
    ({"labels": "0 1.5 -0.5 3 0.2\n"}, "line 2: coordinates must lie in 0–1"),
    ({"labels": b"0 0.5 0.5 0.2 0.2 \xe9\n"}, r"a\.txt: not a readable label file"),
    ({"names": "lamp"}, "a list of class names"),  # not the classes l, a, m, p
    ({"names": {0: "lamp", 5: "rug"}}, "a list of class names"),
    ({"path": None, "val": "images/nowhere"}, "'val' names no folder"),
])
def test_a_hand_edited_yolo_dataset_is_refused_naming_the_file_and_line(tmp_path: Path, edit: dict, refusal: str):
    """What ultralytics would run as code, skip quietly (a bad class id, coordinates outside 0–1), misread or
    stop on with a SyntaxError is one line before training, naming the file (and the label's line)."""
    labels = edit.pop("labels", "")
    spec = {"train": "images/train", "val": "images/val", "names": {0: "lamp", 1: "rug"}}
    for folder in ("images/train", "images/val", "labels/train"):
        (tmp_path / folder).mkdir(parents=True)
    first = b"1.0 0.5 0.5 0.2 0.2\n"  # a float class id, as some tools write it: fine
    (tmp_path / "labels/train/a.txt").write_bytes(first)
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(spec))
    assert read_yolo_dataset(tmp_path / "data.yaml") == (["lamp", "rug"], {"rug": {"yolo": 1}})
    (tmp_path / "labels/train/a.txt").write_bytes(first + (labels if isinstance(labels, bytes) else labels.encode()))
    (tmp_path / "data.yaml").write_text(yaml.safe_dump({**spec, **edit}))
    with pytest.raises(ModelError, match=refusal):
        read_yolo_dataset(tmp_path / "data.yaml")
    assert not (tmp_path / "ran").exists()


@pytest.mark.slow
def test_one_epoch_finetune_exports_a_detector_the_engine_runs(session_data_dir: Path, ikea: Path,
                                                                tmp_path: Path, scene_path):
    """`--export-only` on a tiny slice, the folder moved (as a user would, to correct it elsewhere), then
    `--yolo-data` on it: ultralytics loads our YOLO files, trains one epoch, and the ONNX runs.

    One scene of each split: labelling embeds some 450 windows a scene, and four of each took 30 of the 65 s."""
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    for f in (session_data_dir / "models").iterdir():
        (data / "models" / f.name).symlink_to(f)
    engine = [sys.executable, "-m", "decorlens", "-q", "--data-dir", str(data), "train-detector"]
    done = subprocess.run([*engine, "--data", str(ikea), "--limit-scenes", "1", "--min-labels", "1",
                           "--name", "tiny-decor", "--export-only", "--paste", "2"],
                          check=False, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    written = data / "training-runs" / "tiny-decor" / "dataset"
    copies = sorted((written / "labels" / "train").glob("pasted*.txt"))
    assert len(copies) == 2 and all(f.read_text().strip() for f in copies)  # two pasted copies, labelled
    assert '"pasted"' in done.stdout  # the label counts name the pasted ones
    assert not list((written / "images" / "val").glob("pasted*"))
    moved = shutil.move(data / "training-runs" / "tiny-decor" / "dataset", tmp_path / "corrected")
    done = subprocess.run([*engine, "--yolo-data", str(Path(moved) / "data.yaml"), "--epochs", "1",
                           "--imgsz", "160", "--batch", "4", "--name", "tiny-decor"],
                          check=False, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    model = find_model("tiny-decor.onnx", data_dir=data)
    spec = yaml.safe_load((Path(moved) / "data.yaml").read_text())
    assert model.card.class_set == "decor" and model.card.class_names == list(spec["names"].values())
    assert model.card.input_size == 160 and model.card.recipe["epochs"] == 1
    categories = CategoryMap.load(data)
    assert set(model.card.class_names) <= set(categories.search)
    detector = Detector(model, categories, conf=0.001)
    image = load_image(scene_path("bright-kitchen"))
    found = detector.detect(image)
    h, w = image.shape[:2]
    assert all(0 <= d.box[0] <= d.box[2] <= w and 0 <= d.box[1] <= d.box[3] <= h for d in found)
    assert all(d.category in model.card.class_names for d in found)


@pytest.mark.train
def test_one_trained_detector_replaces_the_stock_set(session_data_dir: Path, ikea: Path, tmp_path: Path, scene_path):
    """One epoch on a tiny slice plus a photo corrected in the app; activated alone, the engine runs only it.

    The card names the stock detectors it was distilled from, the app's drawn box is a label, and
    `models activate` makes the trained network the one detector that tags a photo.
    """
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    for f in (session_data_dir / "models").iterdir():
        (data / "models" / f.name).symlink_to(f)
    slice_dir = write_slice(ikea, tmp_path / "slice", train=1, val=1)  # each scene labelled costs ~4 s
    train_scenes = sorted(p for p in (ikea / "scenes").glob("*.jpg") if split_of(p.stem) == "train")
    own_photo = train_scenes[-1]  # a train-split photo the slice does not hold: the user's own, corrected
    assert own_photo.stem not in PairDataset.load(slice_dir).scenes
    _corrections_file(data / "corrections", own_photo, [{"box": [40.0, 30.0, 200.0, 150.0], "category": "clock",
                                                         "origin": "user"}], [])
    cli = [sys.executable, "-m", "decorlens", "-q", "--data-dir", str(data)]
    done = subprocess.run([*cli, "train-detector", "--data", str(slice_dir), "--epochs", "1", "--imgsz", "128",
                           "--batch", "4", "--min-labels", "1", "--name", "tiny-decor"],
                          check=False, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    model = find_model("tiny-decor.onnx", data_dir=data)
    stock = Pipeline(Settings.defaults().with_(data_dir=data))
    assert model.card.replaces == [d.model.path.name for d in stock.detector.detectors]
    assert "clock" in model.card.class_names
    labels = model.card.recipe["labels"]
    assert labels["clock"]["user"] == 1 and any("teacher" in by_source for by_source in labels.values())
    assert f"decorlens models activate {model.path.name}`" in done.stdout
    chosen = model.card.metrics["confidence"]  # chosen on the slice's val scene
    assert chosen["split"] == "val" and chosen["scenes"] == 1 and model.card.default_conf == chosen["conf"]
    assert [row["conf"] for row in chosen["table"]] == list(CONF_GRID)

    done = subprocess.run([*cli, "models", "activate", model.path.name], check=False, capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    settings = Settings.for_data_dir(data)
    assert settings.detectors == (("tiny-decor.onnx",),)
    engine = Pipeline(settings.with_(confidence=0.01))
    assert [d.name for d in engine.detector.detectors] == ["tiny-decor"]
    result = engine.search_scene(scene_path("bright-kitchen"), require_catalog=False)
    assert result.objects, "one epoch found nothing at confidence 0.01"
    assert {o.source for o in result.objects} == {"tiny-decor"}
    assert {o.category for o in result.objects} <= set(model.card.class_names)


def test_region_anchors_are_pseudo_labels_of_the_given_pairs(labelled, dataset: PairDataset, pipeline: Pipeline):
    """`decorlens train --anchors regions`: one anchor per convincing pair, only for the pairs asked for."""
    labeller, scenes, out = labelled
    pairs = [p for p in dataset.pairs if p.scene_id in scenes[:2]]
    anchors = region_anchors(dataset, pairs, pipeline, labeller.cache_dir, min_cosine=0.5)
    asked = {(p.scene_id, p.product_id) for p in pairs}
    assert anchors and all((a.scene_id, a.product_id) in asked for a in anchors)
    assert all(a.cosine >= required_cosine(labeller.floor(a.category), 0.5) for a in anchors)
    expected = {(s.scene_id, lab.product_id) for s in out[:2] for lab in s.labels
                if lab.source == "pair" and lab.score >= required_cosine(labeller.floor(lab.category), 0.5)}
    mapped = {(a.scene_id, a.product_id) for a in anchors if a.category in pipeline.categories.search}
    assert mapped == expected  # the fixture's labeller keeps only the map's categories
