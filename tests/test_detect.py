"""engine.detect on real room photos: our numpy decode vs ultralytics, class mapping, merging detectors.

The COCO detector is the shared YOLO11n ONNX with its card (conftest ``exported_models``, as
`decorlens models export` wrote it); the OIV7 detector is the shared INT8 ONNX with its stock card.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import needs_ultralytics

from engine.boxes import area, covered, iou, overlap
from engine.categories import CategoryMap
from engine.detect import (
    CONTAINED,
    CROSS_IOU,
    FLOOR_OVERLAP,
    SMALL_AREA,
    Detector,
    DetectorSet,
    fold_wholes,
    group_repeats,
    join_parts,
    merge_detections,
    one_per_floor_object,
)
from engine.embed import Embedder
from engine.errors import DecorLensError, ModelError
from engine.imageio import load_image
from engine.models import ResolvedModel, read_card
from engine.paths import resources_dir
from engine.results import Detection
from training.yolo import import_yolo

COCO_ONNX = "yolo11n-ovint8-dq.onnx"
OIV7_ONNX = "yolov8n-oiv7-int8.onnx"
SCENES = [  # a bedroom, a living room, a kitchen whose OIV7 "House" box runs past the edges, a balcony
    "a-bed-that-folds-away",
    "a-cosy-space-for-coffee",
    "apple-pie-cooling",
    "balcony-organisers",
]
SOFA_SCENE = "classic-comfort-in-every-detail"  # COCO couch, OIV7 Studio couch and Sofa bed on one sofa
LIVING_ROOM = "a-living-space-to-snuggle"  # the README's screenshot: a TV, a bookcase, a throw on an armchair
PLANT_ROW = "balcony-organisers"  # a row of potted herbs along a balcony rail
# Detector classes that are things in the room but not products a decor shop sells.
NOT_PRODUCTS = {"coco": ["tv", "book", "person", "toilet", "laptop"],
                "oiv7": ["Television", "Book", "Window", "Door", "Person", "Toilet", "Home appliance"]}
CONF = 0.25
MAX_BOX_DIFF_PX = 2.0


@pytest.fixture(scope="module")
def categories() -> CategoryMap:
    return CategoryMap.load()


def detector_for(path: Path, categories: CategoryMap) -> Detector:
    return Detector(ResolvedModel(path, read_card(path)), categories, device="cpu")


@pytest.fixture(scope="module")
def oiv7(shared_models: Path, categories: CategoryMap) -> Detector:
    return detector_for(shared_models / OIV7_ONNX, categories)


@pytest.fixture(scope="module")
def coco(exported_models: Path, categories: CategoryMap) -> Detector:
    return detector_for(exported_models / COCO_ONNX, categories)


@pytest.fixture(scope="module")
def onnx_paths(exported_models: Path, shared_models: Path) -> dict[str, Path]:
    return {"coco": exported_models / COCO_ONNX, "oiv7": shared_models / OIV7_ONNX}


def clipped(boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Boxes clipped to the image, as ultralytics returns them (engine.detect's own clip is a no-op)."""
    h, w = image.shape[:2]
    return np.clip(boxes, 0, [w, h, w, h])


def matched_box_error(
    ours: np.ndarray, our_cls: np.ndarray, theirs: np.ndarray, their_cls: np.ndarray
) -> float:
    """Largest coordinate difference after pairing each of our boxes with the nearest same-class box."""
    worst = 0.0
    for box, cls in zip(ours, our_cls):
        candidates = theirs[their_cls == cls]
        assert len(candidates), f"class {cls} missing from ultralytics' result"
        worst = max(worst, float(np.abs(candidates - box).max(1).min()))
    return worst


@pytest.mark.train
@pytest.mark.parametrize("scene", SCENES)
@pytest.mark.parametrize("model", ["coco", "oiv7"])
def test_same_boxes_as_ultralytics(
    model: str, scene: str, onnx_paths: dict[str, Path], categories: CategoryMap, scene_path
) -> None:
    """Our letterbox + decode + NMS reproduce ``YOLO(onnx).predict`` on the same ONNX file and pixels."""
    needs_ultralytics()
    yolo = import_yolo()(str(onnx_paths[model]), task="detect")
    image = load_image(scene_path(scene))
    boxes, scores, classes = detector_for(onnx_paths[model], categories).detect_raw(image, CONF)
    result = yolo.predict(np.ascontiguousarray(image[..., ::-1]), conf=CONF, imgsz=640, verbose=False)[0]
    their_boxes = result.boxes.xyxy.numpy()
    their_classes = result.boxes.cls.numpy().astype(int)
    assert len(boxes) == len(their_boxes) > 0
    assert sorted(classes.tolist()) == sorted(their_classes.tolist())
    assert np.allclose(np.sort(scores), np.sort(result.boxes.conf.numpy()), atol=1e-5)
    assert matched_box_error(clipped(boxes, image), classes, their_boxes, their_classes) <= MAX_BOX_DIFF_PX


@pytest.mark.parametrize("scene", SCENES)
def test_arrays_match_what_ultralytics_decodes_from_the_file(scene: str, scene_path) -> None:
    """So passing ultralytics our RGB array as BGR is the same as passing it the path."""
    path = scene_path(scene)
    assert np.array_equal(load_image(path), cv2.imread(str(path))[..., ::-1])


def test_boxes_lie_inside_the_image(oiv7: Detector, scene_path) -> None:
    image = load_image(scene_path("apple-pie-cooling"))
    boxes, _, _ = oiv7.detect_raw(image, CONF)
    h, w = image.shape[:2]
    assert (boxes >= 0).all() and (boxes[:, [0, 2]] <= w).all() and (boxes[:, [1, 3]] <= h).all()


def test_non_objects_are_dropped(oiv7: Detector, categories: CategoryMap, scene_path) -> None:
    """OIV7's "House" box covers the whole kitchen photo; it must not become a tag."""
    image = load_image(scene_path("apple-pie-cooling"))
    _, _, classes = oiv7.detect_raw(image, CONF)
    assert "House" in {oiv7.model.card.class_names[c] for c in classes}
    found = oiv7.detect(image, CONF)
    assert found and all(d.category in categories.search for d in found)
    assert "House" not in {d.label for d in found}


@pytest.mark.train
def test_detector_set_merges_couch_and_sofa_bed(coco: Detector, oiv7: Detector, scene_path) -> None:
    image = load_image(scene_path(SOFA_SCENE))
    couches = [d for d in coco.detect(image, CONF) if d.label == "couch"]
    sofa_beds = [d for d in oiv7.detect(image, CONF) if d.label == "Sofa bed"]
    assert len(couches) == 1 and len(sofa_beds) == 1
    assert iou(couches[0].box, sofa_beds[0].box) > 0.8
    sofas = [d for d in DetectorSet([coco, oiv7]).detect(image, CONF) if d.category == "sofa"]
    assert sofas == couches  # one sofa, the most confident box


def test_merge_keeps_other_categories_and_separate_objects() -> None:
    couch = Detection((100.0, 300.0, 600.0, 600.0), 0.9, "couch", "sofa", "coco")
    sofa_bed = Detection((105.0, 295.0, 610.0, 605.0), 0.3, "Sofa bed", "sofa", "oiv7")
    cushion = Detection((150.0, 320.0, 400.0, 500.0), 0.4, "Pillow", "cushion_throw", "oiv7")
    far_sofa = Detection((700.0, 300.0, 990.0, 600.0), 0.2, "Studio couch", "sofa", "oiv7")
    merged = merge_detections([sofa_bed, cushion, couch, far_sofa], max_iou=0.5)
    assert merged == [couch, cushion, far_sofa]


def test_merge_drops_one_object_under_two_categories() -> None:
    chair = Detection((100, 100, 200, 260), 0.6, "chair", "chair", "coco")
    table_on_chair = Detection((102, 101, 200, 258), 0.3, "Table", "table", "oiv7")
    table_nearby = Detection((150, 150, 400, 300), 0.5, "Table", "table", "oiv7")
    assert merge_detections([table_on_chair, chair, table_nearby], 0.5) == [chair, table_nearby]


def test_merge_makes_a_box_inside_a_better_one_of_its_category_its_part() -> None:
    sofa = Detection((100, 300, 700, 600), 0.7, "couch", "sofa", "coco")
    seat = Detection((150, 400, 400, 590), 0.4, "Sofa bed", "sofa", "oiv7")  # IoU 0.26: NMS keeps it
    cushion = Detection((150, 350, 260, 450), 0.5, "Pillow", "cushion_throw", "oiv7")
    assert merge_detections([seat, sofa, cushion], 0.5) == [replace(sofa, parts=(seat.box,)), cushion]


def test_a_better_scored_part_takes_in_its_whole() -> None:
    """A pendant lamp: the shade scored above the whole lamp around it, and both were pins."""
    shade = Detection((400, 200, 500, 260), 0.8, "lamp", "lamp", "decor")
    lamp = Detection((390, 0, 510, 265), 0.5, "lamp", "lamp", "decor", parts=((420, 100, 480, 200),))
    other_lamp = Detection((700, 0, 800, 250), 0.6, "lamp", "lamp", "decor")
    table = Detection((380, 150, 520, 300), 0.4, "table", "table", "decor")  # holds the shade, another category
    folded = fold_wholes([lamp, other_lamp, table, shade])
    assert folded == [replace(shade, parts=(lamp.box, *lamp.parts)), other_lamp, table]
    assert fold_wholes(folded) == folded


# The rug boxes a detector trained for 250 epochs (session 25) found in the test scene
# ikea-make-room-for-sleep-and-play (1024 x 765): windows of two play mats on the floor, as its labels were made.
MATS = [((359, 663, 949, 765), 0.65), ((97, 673, 630, 765), 0.48), ((718, 673, 1023, 765), 0.45),
        ((250, 637, 789, 751), 0.11), ((365, 580, 850, 669), 0.07), ((51, 683, 411, 765), 0.04),
        ((661, 585, 1024, 679), 0.03), ((423, 517, 860, 639), 0.03), ((267, 593, 611, 679), 0.02)]


def test_overlapping_windows_of_a_rug_are_one_pin(categories: CategoryMap) -> None:
    assert categories.floor_categories() == {"rug"}  # the shipped map's `floor: [rug]`
    found = [Detection(box, score, "rug", "rug", "decor") for box, score in MATS]
    pins = one_per_floor_object(fold_wholes(found), categories.floor_categories())
    assert [d.score for d in pins] == [0.65, 0.07, 0.04]  # the mat in front, the one under the bed, a corner
    assert all(not d.parts for d in pins)  # the other windows are not searched with (docs/results.md)
    assert all(overlap(a.box, b.box) < FLOOR_OVERLAP for a in pins for b in pins if a is not b)
    assert all(any(overlap(p.box, d.box) >= FLOOR_OVERLAP for p in pins if p.score > d.score)
               for d in found if d not in pins)
    assert len(one_per_floor_object(found, floor=())) == len(found)  # not a floor category: overlap is not enough
    cushions = [replace(d, label="cushion_throw", category="cushion_throw") for d in found]
    assert one_per_floor_object(cushions, categories.floor_categories()) == cushions


def test_the_readme_living_room_folds_each_whole_into_its_best_part(coco: Detector, oiv7: Detector, scene_path):
    image = load_image(scene_path(LIVING_ROOM))
    found = DetectorSet([coco, oiv7]).detect(image)
    folded = fold_wholes(found)
    gone = [d for d in found if d.box not in {k.box for k in folded}]
    assert gone and len(folded) == len(found) - len(gone)
    for whole in gone:
        (kept,) = [d for d in folded if d.category == whole.category and whole.box in d.parts]
        assert kept.score > whole.score and covered(kept.box, whole.box) >= CONTAINED
    assert not [(a, b) for a in folded for b in folded
                if a is not b and a.category == b.category and covered(a.box, b.box) >= CONTAINED]


@pytest.mark.parametrize("class_set", sorted(NOT_PRODUCTS))
def test_things_that_are_not_products_are_not_mapped(categories: CategoryMap, class_set: str) -> None:
    assert [c for c in NOT_PRODUCTS[class_set] if categories.decor_category(class_set, c)] == []


@pytest.mark.train
def test_living_room_tags_no_tv_no_books_and_one_object_once(coco: Detector, oiv7: Detector, scene_path) -> None:
    """The README's living room: COCO sees the TV (it used to become a "tv bench" tag), the bookcase's
    books and the throw on the armchair are not tagged, and no object keeps two categories' pins."""
    image = load_image(scene_path(LIVING_ROOM))
    assert coco.model.card.class_names.index("tv") in coco.detect_raw(image)[2]  # the TV is seen...
    found = DetectorSet([coco, oiv7]).detect(image)
    assert {"sofa", "chair"} <= {d.category for d in found}
    assert not {"tv_bench", "shelf"} & {d.category for d in found}  # ...but not tagged
    assert "table" not in {d.category for d in found}  # OIV7's "Table" on the armchair under its throw
    for i, a in enumerate(found):
        for b in found[i + 1:]:
            assert a.category == b.category or iou(a.box, b.box) < CROSS_IOU, (a, b)


@pytest.mark.train
def test_a_users_map_can_tag_what_the_shipped_one_leaves_out(
    coco: Detector, oiv7: Detector, scene_path, tmp_path: Path
) -> None:
    shipped = (Path(__file__).parents[1] / "resources" / "categories.yaml").read_text()
    (tmp_path / "categories.yaml").write_text(shipped.replace("  coco:\n", "  coco:\n    tv: tv_bench\n", 1))
    user = CategoryMap.load(tmp_path)
    assert user.source == tmp_path / "categories.yaml"
    found = DetectorSet([detector_for(coco.model.path, user), oiv7]).detect(load_image(scene_path(LIVING_ROOM)))
    assert [d.label for d in found if d.category == "tv_bench"] == ["tv"]


def test_allowed_categories_are_filtered_before_the_merge(oiv7: Detector, scene_path) -> None:
    """An object called both a sold and an unsold category keeps the sold one, even if it scored lower."""
    image = load_image(scene_path(LIVING_ROOM))
    everything = DetectorSet([oiv7]).detect(image)
    allowed = {"sofa", "armchair", "chair", "stool_bench"}
    only = DetectorSet([oiv7]).detect(image, allowed=allowed)
    assert only and {d.category for d in only} <= allowed
    assert [d for d in everything if d.category in allowed] == [d for d in only if d in everything]


def test_a_row_of_small_items_becomes_one_tag(oiv7: Detector, categories: CategoryMap, scene_path) -> None:
    """Potted herbs along a balcony rail: one pin per cluster of small plants, the best-scored one."""
    image = load_image(scene_path(PLANT_ROW))
    h, w = image.shape[:2]
    found = DetectorSet([oiv7]).detect(image)
    grouped = group_repeats(found, (w, h))
    small = [d for d in found if area(d.box) <= SMALL_AREA * w * h and d.category == "plant_pot"]
    dropped = [d for d in found if d not in grouped]
    assert len(small) >= 6 and len(dropped) >= 4
    assert {d.category for d in dropped} == {"plant_pot"} and all(d in small for d in dropped)
    assert grouped == [d for d in found if d in grouped]  # order (best first) kept
    assert group_repeats(grouped, (w, h)) == grouped  # what is left holds no more rows


def test_drawers_side_by_side_are_one_piece(oiv7: Detector, categories: CategoryMap, scene_path) -> None:
    """The README living room's TV bench: OIV7 finds its drawers one by one, which gave two pins on one bench."""
    assert "Drawer" in categories.part_classes("oiv7")
    image = load_image(scene_path(LIVING_ROOM))
    each = detector_for(oiv7.model.path, replace(categories, parts={})).detect(image)
    joined = oiv7.detect(image)
    drawers, pieces = ([d for d in found if d.label == "Drawer"] for found in (each, joined))
    assert len(drawers) >= 2 and len(pieces) < len(drawers)
    assert all(any(contains(p.box, d.box) for p in pieces) for d in drawers)
    assert [d for d in each if d.label != "Drawer"] == [d for d in joined if d.label != "Drawer"]


def test_only_touching_aligned_parts_join() -> None:
    def drawer(x: float, y: float) -> Detection:
        return Detection((x, y, x + 100, y + 40), 0.5 - x / 1e4, "Drawer", "storage_furniture")

    row, column, apart = [drawer(0, 0), drawer(105, 0)], [drawer(0, 0), drawer(0, 44)], [drawer(0, 0), drawer(300, 0)]
    assert [d.box for d in join_parts(row, {"Drawer"})] == [(0, 0, 205, 40)]
    assert [d.box for d in join_parts(column, {"Drawer"})] == [(0, 0, 100, 84)]
    assert join_parts(apart, {"Drawer"}) == apart
    diagonal = [drawer(0, 0), drawer(102, 42)]  # corners nearly touch, sides do not line up
    assert join_parts(diagonal, {"Drawer"}) == diagonal
    assert join_parts(row, {"Shelf"}) == row  # a class that is not a part


def contains(outer: tuple[float, ...], inner: tuple[float, ...]) -> bool:
    return all(o <= i + 1e-3 for o, i in zip(outer[:2], inner[:2])) and all(
        o >= i - 1e-3 for o, i in zip(outer[2:], inner[2:]))


def test_large_objects_are_never_grouped() -> None:
    chairs = [Detection((x, 300.0, x + 150.0, 600.0), 0.8, "chair", "chair", "coco") for x in (0.0, 160.0, 320.0)]
    assert group_repeats(chairs, (1000, 800)) == chairs


def test_higher_threshold_is_a_filter_of_a_lower_one(oiv7: Detector, scene_path) -> None:
    """bench.coverage detects once at 0.1 and filters: greedy NMS keeps the same boxes above any threshold."""
    image = load_image(scene_path("a-cosy-space-for-coffee"))
    low_boxes, low_scores, low_classes = oiv7.detect_raw(image, 0.1)
    boxes, _, classes = oiv7.detect_raw(image, CONF)
    keep = low_scores > CONF
    assert np.array_equal(low_boxes[keep], boxes) and np.array_equal(low_classes[keep], classes)


def test_bench_mapping_matches_detector(oiv7: Detector, categories: CategoryMap, scene_path) -> None:
    """The coverage bench maps cached raw boxes to decor categories exactly as Detector.detect does."""
    from bench.coverage import decor_detections

    image = load_image(scene_path("a-bed-that-folds-away"))
    boxes, scores, classes = oiv7.detect_raw(image, 0.1)
    names = oiv7.model.card.class_names
    raw = [[*map(float, b), float(s), names[c]] for b, s, c in zip(boxes, scores, classes)]
    ours = decor_detections(raw, oiv7.name, oiv7.model.card.class_set, 0.1, categories)
    assert ours == oiv7.detect(image, 0.1)


def test_embedder_card_is_refused_as_detector(shared_models: Path, categories: CategoryMap) -> None:
    path = shared_models / "mobilenet_v2_1.0_224_quant.float.onnx"
    with pytest.raises(ModelError, match="is an embedder, not a detector"):
        Detector(ResolvedModel(path, read_card(path)), categories, device="cpu")


@pytest.mark.parametrize(("model", "field", "message"), [
    (OIV7_ONNX, "input_name", "input_name 'x' is not an input of the model (it has 'images')"),
    (OIV7_ONNX, "output_name", "output_name 'x' is not an output of the model (it has 'output0')"),
    ("mobilenet_v2_1.0_224_quant.float.onnx", "input_name", "input_name 'x' is not an input of the model"),
])
def test_a_card_naming_a_tensor_the_model_lacks_is_refused_when_opened(
    shared_models: Path, categories: CategoryMap, model: str, field: str, message: str
) -> None:
    """Found by fuzzing: such a card opened fine, then every search failed in onnxruntime's run, with an
    unexpected ValueError (input) or a one-line error that blamed the photo (a detector's output)."""
    refused = _refusal(shared_models / model, {field: "x"}, categories)
    assert f"the model card of {model}: {message}" in refused and "\n" not in refused


@pytest.mark.parametrize("model", [OIV7_ONNX, "mobilenet_v2_1.0_224_quant.float.onnx"])
def test_a_model_file_its_card_was_not_made_for_is_refused_when_opened(
    shared_models: Path, categories: CategoryMap, model: str
) -> None:
    """An ONNX file replaced beside its old card opened under the old card's key, so a catalog's vectors
    from the old model were searched with the new one and every match was quietly wrong."""
    refused = _refusal(shared_models / model, {"sha256": "0" * 64}, categories)
    assert f"{model} does not match its model card" in refused and "\n" not in refused


def _refusal(path: Path, card_changes: dict, categories: CategoryMap) -> str:
    """The error opening ``path`` under its card with ``card_changes`` made, as a detector or an embedder."""
    resolved = ResolvedModel(path, replace(read_card(path), **card_changes))
    with pytest.raises(ModelError) as info:
        if resolved.card.kind == "detector":
            Detector(resolved, categories, device="cpu")
        else:
            Embedder(resolved, device="cpu")
    return str(info.value)


CUSHIONS = "lean-in-to-leather"  # cushions on a leather sofa that OIV7 scores between 0.03 and its card's 0.1
ROUND_THINGS = "stay-up-to-date-in-a-calm"  # COCO calls round things clocks there at 0.25-0.6


def class_scores(detector: Detector, image: np.ndarray, conf: float | None, label: str) -> list[float]:
    _, scores, classes = detector.detect_raw(image, conf)
    names = detector.model.card.class_names
    return sorted(float(s) for s, c in zip(scores, classes) if names[c] == label)


def test_the_maps_class_confidences_replace_the_cards(oiv7: Detector, coco: Detector, categories: CategoryMap,
                                                      scene_path) -> None:
    """OIV7 Pillow at the map's 0.03 finds the cushions its card's 0.1 misses; COCO clocks need 0.6; every
    other class keeps the card's confidence; the boxes are those a decode at the lower value keeps."""
    assert categories.class_confidence("oiv7")["Pillow"] < oiv7.conf
    assert categories.class_confidence("coco")["clock"] > coco.conf
    cushions = load_image(scene_path(CUSHIONS))
    low = class_scores(oiv7, cushions, 0.03, "Pillow")
    assert any(s <= oiv7.conf for s in low)  # the scene has cushions the card's confidence leaves out
    assert class_scores(oiv7, cushions, None, "Pillow") == low
    boxes, scores, classes = oiv7.detect_raw(cushions, None)
    names = oiv7.model.card.class_names
    assert all(s > oiv7.conf for s, c in zip(scores, classes) if names[c] not in oiv7.class_conf)
    floors = np.array([oiv7.class_conf.get(n, oiv7.conf) for n in names], np.float32)
    all_boxes, all_scores, all_classes = oiv7.detect_raw(cushions, 0.03)
    keep = all_scores > floors[all_classes]
    assert np.array_equal(all_boxes[keep], boxes) and np.array_equal(all_classes[keep], classes)

    room = load_image(scene_path(ROUND_THINGS))
    clocks = class_scores(coco, room, coco.conf, "clock")
    assert any(s <= 0.6 for s in clocks)
    assert class_scores(coco, room, None, "clock") == [s for s in clocks if s > 0.6]


def test_a_confidence_set_for_every_detector_ignores_the_maps(shared_models: Path, categories: CategoryMap,
                                                             scene_path) -> None:
    """`--conf 0.1` (or the `confidence:` setting) means 0.1 for every class, as the reference numbers were taken."""
    fixed = Detector(ResolvedModel(shared_models / OIV7_ONNX, read_card(shared_models / OIV7_ONNX)), categories,
                     device="cpu", conf=0.1)
    assert fixed.class_conf == {}
    image = load_image(scene_path(CUSHIONS))
    low = class_scores(fixed, image, 0.03, "Pillow")
    assert any(s <= 0.1 for s in low)
    assert class_scores(fixed, image, None, "Pillow") == [s for s in low if s > 0.1]


@pytest.mark.parametrize("section", ["{coco: {clock: 1.5}}", "{coco: {clock: yes}}", "{coco: {clock: .nan}}",
                                     "{coco: 0.3}", "[0.3]"])
def test_a_bad_class_confidence_is_one_line(tmp_path: Path, section: str) -> None:
    text = f"categories: {{clock: {{search: [clock]}}}}\ndetectors: {{coco: {{clock: clock}}}}\nconfidence: {section}\n"
    assert_one_line_map_error(tmp_path, text, r"`?confidence")


@pytest.mark.parametrize(("section", "pattern"), [
    ("{oiv7: Drawer}", r"parts\.oiv7"), ("{oiv7: [1, 2]}", r"parts\.oiv7"), ("{oiv7: {Drawer: yes}}", r"parts\.oiv7"),
    ("[Drawer]", r"`parts`"),
])
def test_a_bad_parts_section_is_one_line(tmp_path: Path, section: str, pattern: str) -> None:
    text = f"categories: {{chest: {{search: [chest]}}}}\ndetectors: {{oiv7: {{Drawer: chest}}}}\nparts: {section}\n"
    assert_one_line_map_error(tmp_path, text, pattern)


def assert_one_line_map_error(tmp_path: Path, text: str, pattern: str) -> None:
    """A category map (it comes in bundles: hostile input) with a bad section is refused in one line."""
    path = tmp_path / "categories.yaml"
    path.write_text(text)
    with pytest.raises(DecorLensError, match=pattern) as info:
        CategoryMap.from_file(path)
    assert "\n" not in str(info.value)


# Nested aliases: 9 ** 6 values (~0.5 M), made from a few hundred bytes; str() or repr() of it is megabytes,
# and each further level multiplies that by nine (a map comes in bundles).
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcde", "bcdef"))


@pytest.mark.parametrize(("section", "pattern"), [
    ("categories: {lamp: {search: lamp}}", r"categories\.lamp\.search must be a list"),
    ("categories: {lamp: {search: *f}}", r"categories\.lamp\.search must be a list"),
    ("categories: {lamp: {}}\ndetectors: {oiv7: Lamp}", r"detectors\.oiv7 must map"),
    ("categories: {lamp: {}}\ndetectors: {oiv7: [Lamp, lamp]}", r"detectors\.oiv7 must map"),
    ("categories: {lamp: {}}\nnames: {lamp: *f}", r"names\.lamp must be the text"),
    ("categories: {lamp: {}}\nnames: {lamp: {a: b}}", r"names\.lamp must be the text"),
    ("categories: {lamp: {}}\nconfidence: {oiv7: {Lamp: *f}}", r"confidence\.oiv7\.Lamp is a list, not a"),
])
def test_a_section_of_the_wrong_kind_is_one_short_line(tmp_path: Path, section: str, pattern: str) -> None:
    """Found by fuzzing: `search: lamp` searched the categories l, a, m and p; a detector section written as a
    string or a list raised ValueError; a name or search list that is an alias bomb was expanded by str(), and
    a confidence by repr() into the message (hundreds of MB and seconds a level)."""
    path = tmp_path / "categories.yaml"
    path.write_text(ALIAS_BOMB + section + "\n")
    with pytest.raises(DecorLensError, match=pattern) as info:
        CategoryMap.from_file(path)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


@pytest.mark.parametrize("section", ["rug", "{rug: true}", "[rug, 3]"])
def test_a_bad_floor_section_is_one_line(tmp_path: Path, section: str) -> None:
    text = f"categories: {{rug: {{search: [rug]}}}}\ndetectors: {{}}\nfloor: {section}\n"
    assert_one_line_map_error(tmp_path, text, r"`floor`")


@pytest.mark.parametrize("text", ["detectors: {coco: {}}\n", "categories: {}\n", "categories:\nnames: {lamp: Lamp}\n"])
def test_a_map_of_no_categories_is_refused_in_one_line(tmp_path: Path, text: str) -> None:
    """Loaded quietly, it tagged nothing, and search said "nothing the catalog sells ()"."""
    assert_one_line_map_error(tmp_path, text, r"names no categories")


def test_floor_categories_come_from_the_map_and_an_older_copy_keeps_the_shipped_ones(tmp_path: Path) -> None:
    """Rugs lie on the floor in the shipped map; a user's map may name its own carpets, or none."""
    shipped = CategoryMap.load()
    assert shipped.lies_on_floor("rug") and not shipped.lies_on_floor("table")
    base = "categories: {carpet: {search: [Carpets]}}\ndetectors: {}\n"
    for section, floor in (("", shipped.floor), ("floor: [Carpets]\n", {"Carpets"}), ("floor: []\n", set())):
        (tmp_path / "categories.yaml").write_text(base + section)
        assert CategoryMap.load(tmp_path).floor == floor, section


def test_the_detection_digest_follows_what_turns_boxes_into_tags(tmp_path: Path) -> None:
    """Cached detections and labels key on it: a new category or name keeps them, a changed class mapping not."""
    shipped_text = (resources_dir() / "categories.yaml").read_text()
    shipped = CategoryMap.from_file(resources_dir() / "categories.yaml").detection_digest()

    def digest(text: str) -> str:
        (tmp_path / "categories.yaml").write_text(text)
        return CategoryMap.load(tmp_path).detection_digest()

    grown = shipped_text.replace("categories:\n", "categories:\n  hammock: {search: [hammock]}\n", 1)
    assert grown != shipped_text and digest(grown) == shipped
    remapped = shipped_text.replace("    Picture frame: frame_art\n", "    Picture frame: mirror\n")
    assert remapped != shipped_text and digest(remapped) != shipped
    assert digest(shipped_text.replace("floor: [rug]", "floor: []")) != shipped
