"""Hostile ONNX models and cards (an attacker audit): each is refused in one line, before it costs memory.

The models are tiny graphs built here with the ``onnx`` package, as the audit built its own: an embedder that
pools the input to 3 floats and tiles them, a "detector" whose head is a constant. Each takes milliseconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from engine.categories import CategoryMap
from engine.detect import Detector
from engine.embed import BATCH, BATCH_BYTES, Embedder
from engine.errors import ModelError
from engine.models import (
    MAX_CARD_BYTES,
    MAX_CLASS_NAME,
    MAX_CLASSES,
    MAX_EMBEDDER_INPUT,
    MAX_INPUT_SIZE,
    MAX_MEAN,
    MAX_OUTPUT_DIM,
    STD_RANGE,
    ModelCard,
    ResolvedModel,
    read_card,
    write_card,
)
from engine.onnx_cards import detector_card, embedder_card

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper

SIDE = 224
CROP = np.full((40, 30, 3), 128, np.uint8)


def _save(path: Path, nodes: list, inputs: list, output, inits: list, metadata: dict[str, str] | None = None) -> Path:
    model = helper.make_model(helper.make_graph(nodes, "hostile", inputs, [output], initializer=inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, path)
    return path


def _embedder(path: Path, copies: int | None, spatial: tuple = (SIDE, SIDE)) -> Path:
    """An embedder: the input's 3 channel means tiled ``copies`` times (3 x copies floats a crop). With
    ``copies`` None the count is the input's height / 112, computed at run time: onnxruntime cannot tell the
    output's size when the model is opened."""
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, *spatial])
    out = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", "d"])
    nodes = [helper.make_node("GlobalAveragePool", ["images"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["flat"])]
    if copies is None:
        nodes += [helper.make_node("Shape", ["images"], ["shape"]),
                  helper.make_node("Slice", ["shape", "two", "three"], ["height"]),
                  helper.make_node("Div", ["height", "d112"], ["times"]),
                  helper.make_node("Concat", ["one", "times"], ["reps"], axis=0)]
        inits = [numpy_helper.from_array(np.array([v], np.int64), name)
                 for name, v in (("one", 1), ("two", 2), ("three", 3), ("d112", 112))]
    else:
        inits = [numpy_helper.from_array(np.array([1, copies], np.int64), "reps")]
    nodes.append(helper.make_node("Tile", ["flat", "reps"], ["embedding"]))
    return _save(path, nodes, [images], out, inits)


def _open_embedder(path: Path, **card) -> Embedder:
    model = ResolvedModel(path, ModelCard(path.stem, "embedder", card.pop("input_size", SIDE),
                                          input_name="images", output_name="embedding", **card))
    return Embedder(model, "cpu")


def _refused(make) -> str:
    with pytest.raises(ModelError) as info:
        make()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_an_embedder_giving_another_size_than_its_card_says_is_refused_when_opened(tmp_path: Path):
    """The card's output_dim was ignored whenever the model gave a fixed size: a model of 50 M floats a crop
    whose card said 3 was searched (117 s, 11.5 GB, a 1.5 GB catalog of 8 products, every match "exact")."""
    path = _embedder(tmp_path / "six.onnx", copies=2)
    message = _refused(lambda: _open_embedder(path, output_dim=3))
    assert message.startswith("six.onnx gives 6 floats a crop but its card's output_dim is 3")
    assert _open_embedder(path, output_dim=6).dim == _open_embedder(path).dim == 6  # as the card says, or no card


def test_an_embedder_past_the_largest_vector_is_refused_when_opened_and_carded(tmp_path: Path):
    copies = MAX_OUTPUT_DIM // 3 + 1
    path = _embedder(tmp_path / "wide.onnx", copies=copies)
    message = _refused(lambda: _open_embedder(path))
    assert message.startswith(f"wide.onnx gives {3 * copies:,} floats a crop, more than the {MAX_OUTPUT_DIM:,}")
    assert "more than" in _refused(lambda: embedder_card(path, output_name="embedding"))  # `models card`
    assert not path.with_suffix(".card.json").exists()
    fits = _embedder(tmp_path / "fits.onnx", copies=MAX_OUTPUT_DIM // 3)
    assert _open_embedder(fits).dim == MAX_OUTPUT_DIM // 3 * 3


def test_an_embedder_whose_size_shows_only_when_run_is_refused_after_one_crop(tmp_path: Path):
    """onnxruntime cannot tell this model's size at open, so the card's is taken: the first run is of one
    crop, and a size that is not the card's is a one-line refusal, not a batch's output and a ValueError."""
    path = _embedder(tmp_path / "hidden.onnx", copies=None, spatial=("h", "w"))
    embedder = _open_embedder(path, output_dim=3)
    runs = []
    run = embedder.runner.run
    embedder.runner = type("Counted", (), {"run": lambda _s, names, feed: runs.append(len(feed["images"]))
                                           or run(names, feed)})()
    message = _refused(lambda: embedder.embed([CROP] * 10))
    assert message.startswith("hidden.onnx gave 6 floats a crop, not the 3 its card or graph says")
    assert runs == [1]
    fine = _open_embedder(path, output_dim=3, input_size=112)  # 112 px: one copy, 3 floats as the card says
    assert fine.embed([CROP] * 3).shape == (3, 3)


def test_an_embedders_batch_of_large_inputs_is_bounded_in_bytes(tmp_path: Path):
    """The batch was 32 crops whatever the input size: a 4096 px card (allowed then) took 4.2 GB for one search."""
    path = _embedder(tmp_path / "any-size.onnx", copies=1, spatial=("h", "w"))
    assert _open_embedder(path, input_size=SIDE).batch == BATCH
    big = _open_embedder(path, input_size=MAX_EMBEDDER_INPUT)
    assert 1 <= big.batch < BATCH
    sizes = []
    run = big.runner.run
    big.runner = type("Counted", (), {"run": lambda _s, names, feed: sizes.append(feed["images"].nbytes)
                                      or run(names, feed)})()
    assert big.embed([CROP] * 25).shape == (25, 3)
    assert max(sizes) <= BATCH_BYTES and sum(sizes) == 25 * 3 * MAX_EMBEDDER_INPUT**2 * 4


def _detector(path: Path, classes: int, dynamic: bool = False, names: int | None = None,
              labels: list[str] | None = None) -> Path:
    """A detector whose head is constant: (1, 4 + classes, 16) boxes, class 56 scoring 0.9 on the first. With
    ``dynamic`` the head is tiled by the input's batch, so its shape is unknown until run. Its metadata names
    ``labels``, else ``names`` (or ``classes``) classes "class0", "class1", ..."""
    head = np.zeros((1, 4 + classes, 16), np.float32)
    head[0, :4, :] = [[32], [32], [20], [20]]
    head[0, 4 + min(56, classes - 1), 0] = 0.9
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch" if dynamic else 1, 3, 64, 64])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["n", "rows", "anchors"] if dynamic
                                        else [1, 4 + classes, 16])
    nodes = [helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
             helper.make_node("Mul", ["mean", "zero"], ["nothing"]),  # the input is used, and changes nothing
             helper.make_node("Add", ["head", "nothing"], ["scores" if dynamic else "output0"])]
    inits = [numpy_helper.from_array(head, "head"), numpy_helper.from_array(np.zeros(1, np.float32), "zero")]
    if dynamic:
        nodes += [helper.make_node("Shape", ["images"], ["shape"]),
                  helper.make_node("Slice", ["shape", "s0", "s1"], ["batch"]),
                  helper.make_node("Concat", ["batch", "ones"], ["reps"], axis=0),
                  helper.make_node("Tile", ["scores", "reps"], ["output0"])]
        inits += [numpy_helper.from_array(np.array([0], np.int64), "s0"),
                  numpy_helper.from_array(np.array([1], np.int64), "s1"),
                  numpy_helper.from_array(np.array([1, 1], np.int64), "ones")]
    labels = labels or [f"class{i}" for i in range(names or classes)]
    meta = {"names": repr(dict(enumerate(labels))), "imgsz": "[64, 64]",
            "task": "detect"}
    return _save(path, nodes, [images], out, inits, meta)


def _open_detector(path: Path, names: list[str]) -> Detector:
    card = ModelCard(path.stem, "detector", 64, resize="letterbox", class_names=names, class_set="coco")
    return Detector(ResolvedModel(path, card), CategoryMap.load(), device="cpu")


COCO = ["person", *(f"thing{i}" for i in range(55)), "chair", *(f"thing{i}" for i in range(57, 80))]


def test_a_detector_card_with_fewer_class_names_than_the_model_scores_is_refused_when_opened(tmp_path: Path):
    """Search failed on 'unexpected IndexError: index 56 is out of bounds' (a card of 3 names, an 80-class model)."""
    path = _detector(tmp_path / "few.onnx", 80)
    message = _refused(lambda: _open_detector(path, ["chair", "sofa", "lamp"]))
    assert message.startswith("few.onnx scores 80 classes a box but its card few.card.json lists 3 class names")
    found = _open_detector(path, COCO).detect(np.full((64, 64, 3), 100, np.uint8))
    assert [d.label for d in found] == ["chair"]  # the same model with its own card's 80 names works


def test_a_detector_whose_head_shows_only_when_run_is_refused_on_the_run(tmp_path: Path):
    path = _detector(tmp_path / "late.onnx", 80, dynamic=True)
    detector = _open_detector(path, ["chair", "sofa", "lamp"])  # onnxruntime cannot tell its rows at open
    message = _refused(lambda: detector.detect(np.full((64, 64, 3), 100, np.uint8)))
    assert message.startswith("late.onnx scores 80 classes a box but its card late.card.json lists 3")


def test_a_detector_card_is_not_made_from_metadata_naming_other_classes_than_the_head_scores(tmp_path: Path):
    path = _detector(tmp_path / "meta.onnx", 80, names=3)
    assert "names 3 classes but its output scores 80 a box" in _refused(lambda: detector_card(path))
    assert len(detector_card(_detector(tmp_path / "fine.onnx", 80)).class_names) == 80


@pytest.mark.parametrize(("label", "problem"), [
    ("sofa\x1b]0;PWNED\x07\x1b[2J", "entry 2 has control characters (a newline, a terminal escape)"),
    ("sofa\nlamp", "entry 2 has control characters (a newline, a terminal escape)"),
    ("", "entry 2 is empty"),
    ("x" * (MAX_CLASS_NAME + 1), f"entry 2 is {MAX_CLASS_NAME + 1} characters long, more than {MAX_CLASS_NAME}"),
])
def test_a_detector_card_is_not_made_from_metadata_with_hostile_class_names(tmp_path: Path, label: str, problem: str):
    """A class name from an ONNX file's metadata went into the card as it was: `models card` wrote terminal
    escapes into a card whose labels the CLI prints and the window shows on every tag."""
    path = _detector(tmp_path / "evil.onnx", 3, labels=["chair", "couch", label])
    message = _refused(lambda: detector_card(path))
    assert message == f"{path}: its ONNX metadata 'names' {problem}"


E = {"name": "m", "kind": "embedder", "input_size": 224}
D = {"name": "m", "kind": "detector", "input_size": 640}


@pytest.mark.parametrize(("card", "message"), [
    ({**D, "default_conf": 1e308}, "'default_conf' must be a number from 0 to 1"),
    ({**D, "default_conf": -1.0}, "'default_conf' must be a number from 0 to 1"),
    ({**D, "resize": "banana"}, "'resize' must be 'letterbox' or 'stretch'"),
    ({**D, "name": "evil\n\x1b]0;PWNED\x07\x1b[2Jname"}, "'name' must be text without control characters"),
    ({**E, "name": "tab\there"}, "'name' must be text without control characters"),
    ({**D, "input_size": 4096}, f"'input_size' must be a side in pixels up to {MAX_INPUT_SIZE}"),
    ({**E, "input_size": MAX_EMBEDDER_INPUT + 1},
     f"'input_size' must be a side in pixels up to {MAX_EMBEDDER_INPUT} for an embedder"),
    ({**E, "output_dim": MAX_OUTPUT_DIM + 1}, f"'output_dim' must be a whole number from 1 to {MAX_OUTPUT_DIM}, or null"),
    ({**D, "class_names": ["chair", "sofa\x1b]0;PWNED\x07"]},
     "'class_names' entry 1 has control characters (a newline, a terminal escape)"),
    ({**D, "class_names": ["chair\nsofa"]}, "'class_names' entry 0 has control characters (a newline, a terminal escape)"),
    ({**D, "replaces": ["coco\x1b[2J"]}, "'replaces' must be a list of model names (no control characters)"),
    ({**D, "class_names": ["chair", ""]}, "'class_names' entry 1 is empty"),
    ({**D, "class_names": ["chair", "   "]}, "'class_names' entry 1 is empty"),
    ({**D, "class_names": ["x" * (MAX_CLASS_NAME + 1)]},
     f"'class_names' entry 0 is {MAX_CLASS_NAME + 1} characters long, more than {MAX_CLASS_NAME}"),
    ({**D, "class_names": ["chair", 5]}, "'class_names' must be a list of texts"),
    ({**D, "class_names": [f"c{i}" for i in range(MAX_CLASSES + 1)]},
     f"'class_names' lists {MAX_CLASSES + 1:,} names, more than the {MAX_CLASSES:,} a detector may have"),
    ({**E, "mean": [0.5, float("nan"), 0.5]}, f"'mean' must be a list of 3 numbers from -{MAX_MEAN:g} to {MAX_MEAN:g}"),
    ({**E, "mean": [0.5, 0.5, float("inf")]}, f"'mean' must be a list of 3 numbers from -{MAX_MEAN:g} to {MAX_MEAN:g}"),
    ({**E, "mean": [1e308, 0.5, 0.5]}, f"'mean' must be a list of 3 numbers from -{MAX_MEAN:g} to {MAX_MEAN:g}"),
    ({**E, "mean": [0.5, 0.5]}, f"'mean' must be a list of 3 numbers from -{MAX_MEAN:g} to {MAX_MEAN:g}"),
    ({**E, "std": [0.2, -0.2, 0.2]}, STD := f"'std' must be a list of 3 non-zero numbers, each from "
                                             f"{STD_RANGE[0]:g} to {STD_RANGE[1]:g}"),
    ({**E, "std": [0.2, 1e-300, 0.2]}, STD),
    ({**E, "std": [0.2, 0.2, 1e308]}, STD),
    ({**E, "std": [0.2, float("nan"), 0.2]}, STD),
    ({**E, "std": [0.2, 0.0, 0.2]}, STD),
    ({**E, "std": [0.2, 0.2, 0.2, 0.2]}, STD),
])
def test_a_card_out_of_range_is_refused_in_one_line_and_never_written(tmp_path: Path, card: dict, message: str):
    """A default_conf of 1e308 printed a raw numpy RuntimeWarning and found nothing; 'banana' as resize was taken;
    a name with a newline and terminal escapes printed them in `models activate`. Class names with terminal
    escapes or newlines were taken (the CLI prints them, tags show them, exports write them); so were any number of
    class names, a std of 1e-300 (0 as float32: every pixel of the input inf), a negative std and a mean of 1e308."""
    model = tmp_path / "m.onnx"
    (tmp_path / "m.card.json").write_text(json.dumps(card))
    assert _refused(lambda: read_card(model)) == f"model card {tmp_path / 'm.card.json'}: {message}"
    (tmp_path / "m.card.json").unlink()
    assert message in _refused(lambda: write_card(model, ModelCard.from_dict(card)))
    assert not (tmp_path / "m.card.json").exists()


def test_the_cards_in_range_are_read(tmp_path: Path):
    model = tmp_path / "m.onnx"
    names = ["Möbel", "Chest of drawers", "x" * MAX_CLASS_NAME, *(f"class {i}" for i in range(MAX_CLASSES - 3))]
    for card in ({**D, "default_conf": 0, "resize": "letterbox", "input_size": MAX_INPUT_SIZE, "name": "Möbel 2",
                  "class_names": names},
                 {**E, "default_conf": 1, "resize": "stretch", "input_size": 288, "output_dim": 2560,
                  "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
                 {**E, "mean": [-MAX_MEAN, 0, MAX_MEAN], "std": [STD_RANGE[0], 1 / 255, STD_RANGE[1]]}):
        (tmp_path / "m.card.json").write_text(json.dumps(card))
        assert read_card(model).to_dict().items() >= card.items()


def test_a_card_past_its_size_is_refused_unread(tmp_path: Path):
    """A 600 MB card (valid JSON: a long string in 'metrics') was read whole: 1.3 GB before it was refused."""
    model = tmp_path / "m.onnx"
    text = json.dumps({**D, "metrics": {"x": "a" * MAX_CARD_BYTES}})
    (tmp_path / "m.card.json").write_text(text)
    message = _refused(lambda: read_card(model))
    assert re.fullmatch(rf"model card {re.escape(str(tmp_path))}/m.card.json is unreadable: over 1024 KB .*", message)
    (tmp_path / "m.card.json").write_text(text[: MAX_CARD_BYTES - 100] + '"}}')  # just under: read
    assert read_card(model).name == "m"
