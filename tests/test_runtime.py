"""engine.runtime's sessions: onnxruntime's own log stays off the terminal, a failed run is blamed on the
model (not on the photo being searched), and a card the model cannot take is refused when it is opened."""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.advice import Context, describe
from engine.errors import ModelError
from engine.models import ResolvedModel, read_card
from engine.runtime import open_model, open_session

DETECTOR = "yolo11n-ovint8-dq.onnx"  # input 'images' fixed at [1, 3, 640, 640]
EMBEDDER = "mobilenet_v2_1.0_224_quant.float.onnx"  # input 'pixel_values' ['batch', 3, 224, 224]
ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED"  # retitles and clears a terminal, then turns it red


# -- a tiny ONNX model, written as protobuf by hand (the onnx package is a training extra) ------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _value_info(name: str, elem_type: int) -> bytes:
    shape = _field(2, _field(1, _field(1, 1)))  # TensorShapeProto.dim: dim_value 1
    return _field(1, name) + _field(2, _field(1, _field(1, elem_type) + shape))  # ValueInfoProto: name, TypeProto


def _node(op: str, inputs: list[str], outputs: list[str], name: str = "") -> bytes:
    return b"".join([*(_field(1, i) for i in inputs), *(_field(2, o) for o in outputs), _field(3, name),
                     _field(4, op)])


def huge_allocation_model(path: Path, node_name: str) -> Path:
    """y = x + sum(ConstantOfShape(2**40)): onnxruntime warns at load that it cannot fold the 4 TB constant, and
    the run fails to allocate it; both name the node."""
    shape = _field(1, 1) + _field(2, 7) + _field(8, "shape") + _field(9, struct.pack("<q", 1 << 40))  # int64 [1]
    graph = b"".join([
        _field(1, _node("ConstantOfShape", ["shape"], ["big"], node_name)),
        _field(1, _node("ReduceSum", ["big"], ["total"])),
        _field(1, _node("Add", ["x", "total"], ["y"])),
        _field(2, "huge"), _field(5, shape), _field(11, _value_info("x", 1)), _field(12, _value_info("y", 1)),
    ])
    path.write_bytes(_field(1, 8) + _field(7, graph) + _field(8, _field(1, "") + _field(2, 17)))
    return path


# -- the tests --------------------------------------------------------------------------------------------


def test_onnxruntime_prints_nothing_itself_and_its_error_names_the_model(tmp_path: Path, capfd):
    """Its warnings and errors went to stderr, multi-line, coloured and with a node's name raw: a name holding
    terminal escapes retitled and cleared the terminal around the CLI's one line."""
    model = huge_allocation_model(tmp_path / "hostile.onnx", ESCAPES)
    session = open_session(model, "cpu")
    with pytest.raises(Exception) as failed:  # onnxruntime's own untyped error
        session.run(["y"], {"x": np.zeros(1, np.float32)})
    assert capfd.readouterr().err == ""
    line = describe(failed.value, Context(inputs=("scene.jpg",)))
    assert line is not None and "Failed to allocate memory" in line and "\n" not in line
    assert f"the model {model}" in line and "scene.jpg" not in line and "onnxruntime_src" not in line
    assert f"(FAIL : ConstantOfShape node '{ESCAPES}': Failed to allocate" in line  # the CLI escapes it


def test_a_failed_run_names_the_model_not_the_photo(shared_models: Path):
    """A run fails for the model or its card (the input is what the card's preprocessing made), but the line
    said "could not load or run …/scene.jpg", and the CLI's shortening then cut the detail away."""
    session = open_session(shared_models / EMBEDDER, "cpu")
    try:
        session.run(["embedding"], {"pixel_values": np.zeros((1, 3, 64, 64), np.float32)})
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own untyped error is what is tested
        line = describe(exc, Context(inputs=("/photos/scene.jpg",)))
    else:
        raise AssertionError("the run did not fail")
    assert line.startswith(f"ONNX Runtime failed running the model {shared_models / EMBEDDER} (")
    assert "Got: 64 Expected: 224" in line and "scene.jpg" not in line and "Please fix" not in line


@pytest.mark.parametrize(("model", "changes", "message"), [
    (DETECTOR, {"input_size": 320},
     "input_size 320 does not fit the model, whose input 'images' is [1, 3, 640, 640]; set input_size to 640"),
    (DETECTOR, {"kind": "embedder", "resize": "stretch"},
     "an embedder is fed batches of crops, but the model's input 'images' [1, 3, 640, 640] takes exactly 1"),
    (EMBEDDER, {"input_size": 160}, "input_size 160 does not fit the model, whose input 'pixel_values' is"),
])
def test_a_card_the_model_cannot_take_is_refused_when_opened(shared_models: Path, model: str, changes: dict,
                                                             message: str):
    """Such a card opened, and every search then failed in onnxruntime's run with a line that blamed the photo."""
    card = replace(read_card(shared_models / model), **changes)
    with pytest.raises(ModelError) as refused:
        open_model(ResolvedModel(shared_models / model, card), "cpu")
    assert str(refused.value).startswith(f"the model card of {model}: ") and message in str(refused.value)


@pytest.mark.parametrize(("model", "fixed_batch"), [(DETECTOR, None), (EMBEDDER, None), (EMBEDDER, 1)])
def test_the_stock_cards_fit_their_models(shared_models: Path, model: str, fixed_batch: int | None):
    assert open_model(ResolvedModel(shared_models / model, read_card(shared_models / model)), "cpu", fixed_batch)


def test_an_output_the_model_lacks_is_refused_not_dropped(shared_models: Path):
    """A named output the graph lacks failed the load with it; the session was opened again without it, and the
    run asking for it failed later."""
    with pytest.raises(ModelError, match=f"the model card of {EMBEDDER}: the output 'nope' is not a tensor of the "
                                         "model"):
        open_session(shared_models / EMBEDDER, "cpu", fixed_batch=1, outputs=("nope",))


def test_a_cpu_session_plans_no_memory_pattern_unless_asked(shared_models: Path, monkeypatch: pytest.MonkeyPatch):
    """onnxruntime's memory pattern keeps, per session, one buffer for a whole run's tensors, never given back:
    ~110 MB of the engine's memory after a few photos, for no speed-up here (bench/onnx_memory.py). It is off
    on the CPU, its arena kept (scenes are slower without); DECORLENS_MEM_PATTERN=1 turns it back on."""
    def held(model: str) -> tuple[bool, bool]:
        options = open_session(shared_models / model, "cpu").get_session_options()
        return options.enable_mem_pattern, options.enable_cpu_mem_arena

    monkeypatch.delenv("DECORLENS_MEM_PATTERN", raising=False)
    assert held(DETECTOR) == held(EMBEDDER) == (False, True)
    monkeypatch.setenv("DECORLENS_MEM_PATTERN", "1")
    assert held(DETECTOR) == (True, True)
