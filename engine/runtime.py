"""onnxruntime sessions: one place that picks the device and sets threads.

The CUDA provider is used when onnxruntime-gpu offers it and the user did not ask for the CPU;
``describe_device`` gives the one-line answer shown in the CLI and the status bar.
"""

from __future__ import annotations

import os
import reprlib
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Literal

import onnxruntime as ort

from engine.advice import blame_model
from engine.errors import DeviceError, ModelError
from engine.models import ResolvedModel, a_kind, check_matches_card

DevicePreference = Literal["auto", "cpu", "gpu"]
# onnxruntime's own log: fatal only. Its warnings and errors went to stderr multi-line and coloured, around the
# CLI's one line, with a model's node names raw (a name holding terminal escapes retitled the terminal); every
# error it logs is also raised, and reaches the user as a DecorLens error (engine.advice words it).
LOG_FATAL_ONLY = 4


def providers_for(preference: DevicePreference = "auto") -> list[str]:
    """Execution providers in priority order for the requested device."""
    available = ort.get_available_providers()
    if preference != "cpu" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if preference == "gpu":
        raise DeviceError(
            "GPU requested but onnxruntime has no CUDA provider here "
            f"(available: {', '.join(available)}); install the [gpu] extra or choose the CPU"
        )
    return ["CPUExecutionProvider"]


def runs_on_cpu(preference: DevicePreference = "auto") -> bool:
    """Whether models opened with this preference run on the CPU (no CUDA provider, or "cpu" chosen)."""
    return providers_for(preference)[0] == "CPUExecutionProvider"


BATCH_DIM = "batch"  # the batch axis name of our exports and the stock MobileNet files


def open_session(
    model: Path, preference: DevicePreference = "auto", fixed_batch: int | None = None,
    outputs: Sequence[str] = (),
) -> ort.InferenceSession:
    """An inference session for ``model`` on the preferred device.

    ``fixed_batch`` pins a symbolic batch axis to that size, so shape arithmetic in the graph (e.g.
    TF-style "SAME" padding computed at run time) is constant-folded once at load. ``outputs`` names
    inner tensors to return as well (an embedder's feature map before pooling, for ``engine.explain``).
    """
    options = ort.SessionOptions()
    options.log_severity_level = LOG_FATAL_ONLY
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    threads = os.environ.get("DECORLENS_THREADS")
    if threads:
        options.intra_op_num_threads = int(threads)
    if os.environ.get("DECORLENS_SPIN") != "1":
        # Idle pool threads sleep instead of spin-waiting between the many small ops of these CNNs:
        # spinning burns the cores that the other session, decoding and the GUI need, and under any
        # other load it halves throughput (docs/benchmarks/README.md). DECORLENS_SPIN=1 restores it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    if os.environ.get("DECORLENS_MEM_PATTERN") != "1" and runs_on_cpu(preference):
        # No memory pattern: it plans and keeps, per session, one buffer for a whole run's tensors, ~110 MB of
        # the engine's ~530 after a few photos, for no measurable speed-up on these CNNs; the arena it would
        # carve from stays, as without it scenes take ~20 % longer (bench/onnx_memory.py).
        # DECORLENS_MEM_PATTERN=1 restores it.
        options.enable_mem_pattern = False
    source: Path | bytes = model
    if fixed_batch:
        options.add_free_dimension_override_by_name(BATCH_DIM, fixed_batch)
        source = without_empty_pad_inputs(model) or model
    if outputs:
        source = with_outputs(source if isinstance(source, bytes) else model.read_bytes(), outputs)
    session = _session(source, options, preference, model)
    if fixed_batch:
        axis = session.get_inputs()[0].shape[0]
        if isinstance(axis, str) and axis:  # a batch axis named otherwise: open it again with its name
            options.add_free_dimension_override_by_name(axis, fixed_batch)
            session = _session(source, options, preference, model)
    if preference == "gpu" and session.get_providers()[0] != "CUDAExecutionProvider":
        # onnxruntime-gpu quietly falls back to the CPU when the CUDA libraries cannot be loaded
        raise DeviceError(f"GPU requested but {model.name} could not start on CUDA (CUDA/cuDNN libraries missing?)")
    have = [o.name for o in session.get_outputs()]
    for name in outputs:  # a name the graph lacks failed the load with it, and the session opened without it
        if name not in have:
            raise ModelError(f"the model card of {model.name}: the output {reprlib.repr(name)} is not a tensor "
                             "of the model")
    return session


def open_model(
    model: ResolvedModel, preference: DevicePreference = "auto", fixed_batch: int | None = None
) -> ort.InferenceSession:
    """``open_session`` for a model with its card, refused in one line when the card's ``input_name`` or
    ``output_name`` is not a tensor of the model: onnxruntime would otherwise refuse the first ``run`` with
    an untyped error (an unexpected ValueError, or a one-line error that blames the photo being searched).
    A file that is not the one its card describes is refused too (``check_matches_card``).
    """
    check_matches_card(model)
    session = open_session(model.path, preference, fixed_batch)
    card = model.card
    for field, wanted, what, tensors in (
        ("input_name", card.input_name, "input", session.get_inputs()),
        ("output_name", card.output_name, "output", session.get_outputs()),
    ):
        names = [t.name for t in tensors]
        if wanted not in names:
            has = ", ".join(map(reprlib.repr, names[:5])) + (", ..." if len(names) > 5 else "")
            raise ModelError(f"the model card of {model.path.name}: {field} {reprlib.repr(wanted)} is not "
                             f"an {what} of the model (it has {has})")
    _check_input(model, next(t for t in session.get_inputs() if t.name == card.input_name), fixed_batch)
    return session


def _check_input(model: ResolvedModel, tensor: ort.NodeArg, fixed_batch: int | None) -> None:
    """Refuse a card whose input the model cannot take: what DecorLens feeds (``engine.preprocess``) is float32
    (batch, 3, input_size, input_size), a batch of one photo for a detector or pose model, of crops for an
    embedder. onnxruntime refused it only at the first ``run``, and the error named the photo being searched
    (a card's input_size of 1 for a model fixed at 640, a detector's card made an embedder's)."""
    card, shape = model.card, list(tensor.shape or [])
    where, name = f"the model card of {model.path.name}", reprlib.repr(tensor.name)
    if tensor.type != "tensor(float)" or len(shape) not in (0, 4) or isinstance(shape[1], int) and shape[1] != 3:
        raise ModelError(f"{where}: the model's input {name} is {tensor.type} {shape}, but DecorLens feeds float32 "
                         "(batch, 3, side, side); is it an image model?")
    if not shape:
        return  # no shape in the graph: nothing to compare
    batch, _, height, width = shape
    if any(isinstance(side, int) and side != card.input_size for side in (height, width)):
        fits = f"; set input_size to {height}" if height == width else ""
        raise ModelError(f"{where}: input_size {card.input_size} does not fit the model, whose input {name} is "
                         f"{shape}{fits}")
    fed = fixed_batch or (None if card.kind == "embedder" else 1)
    if isinstance(batch, int) and batch != fed:
        many = "batches of crops" if fed is None else f"{fed} image{'s' * (fed != 1)} at a time"
        raise ModelError(f"{where}: {a_kind(card.kind)} is fed {many}, but the model's input {name} {shape} takes "
                         f"exactly {batch}; is the card another kind of model's?")


class Session(ort.InferenceSession):
    """An onnxruntime session whose failed ``run`` names its model: the error is the model's or its card's (the
    input is what the card's preprocessing made), and ``engine.advice`` then says so instead of blaming the
    photo being searched."""

    model_path: Path

    def run(self, output_names, input_feed, run_options=None):
        try:
            return super().run(output_names, input_feed, run_options)
        except Exception as exc:
            blame_model(exc, self.model_path)
            raise


def _session(
    source: Path | bytes, options: ort.SessionOptions, preference: DevicePreference, model: Path
) -> ort.InferenceSession:
    try:
        session = Session(source if isinstance(source, bytes) else str(source), options,
                          providers=providers_for(preference))
        session.model_path = model
        return session
    except ModelError:
        raise
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        if isinstance(source, bytes):  # e.g. weights in external files, which need the path: load as is
            return _session(model, options, preference, model)
        raise ModelError(f"cannot load ONNX model {model}: {exc}") from exc


# -- one graph fix, done on the serialized model so no `onnx` package is needed ------------------
# The TF-derived MobileNets pad before every conv with Pad(x, pads, "") where "" names an absent
# optional input. onnxruntime's Pad→Conv fusion only accepts a Pad whose inputs all exist, so each
# Pad stays a separate op and breaks the blocked-layout chain (a reorder before and after every
# conv). Dropping the empty trailing input (the same graph by the ONNX spec) lets it fuse all 53:
# 8.3 → 4.8 ms per crop, identical outputs (docs/benchmarks/README.md).


def tf_converted(model: Path) -> bool:
    """Whether the graph is a TF-converted one with run-time "SAME" padding (the pack's MobileNets).

    Recognised by its ``Pad(x, pads, "")`` nodes, which tf2onnx writes and torch's exporter does not.
    Such a graph runs fastest on the CPU one image at a time through a session pinned to batch 1, and
    slower in int8 than in float (``training.quantize``).
    """
    return without_empty_pad_inputs(model) is not None


def without_empty_pad_inputs(model: Path) -> bytes | None:
    """The model's bytes with empty trailing inputs of top-level Pad nodes removed; None if it has none
    or is not what we expect (the caller then loads the file as it is)."""
    try:
        data = model.read_bytes()
        return _rewritten(data, 0, len(data), 7, _fix_graph)  # ModelProto.graph
    except (OSError, ValueError, IndexError):
        return None


def with_outputs(data: bytes, names: Sequence[str]) -> bytes:
    """The model's bytes with tensors ``names`` added as graph outputs (type left for onnxruntime to infer).

    Appended as a second ``ModelProto.graph`` holding only ``GraphProto.output`` entries: protobuf merges
    repeated occurrences of a message field, so the graph keeps everything and gains the outputs.
    """
    entries = (_key(1, 2) + _varint(len(n.encode())) + n.encode() for n in names)  # ValueInfoProto.name
    graph = b"".join(_key(12, 2) + _varint(len(e)) + e for e in entries)  # GraphProto.output
    return data + _key(7, 2) + _varint(len(graph)) + graph


def _rewritten(
    data: bytes, start: int, end: int, field: int, fix: Callable[[bytes, int, int], bytes | None]
) -> bytes | None:
    """The message data[start:end] with each length-delimited ``field`` replaced by what ``fix`` makes of its
    payload (kept as it is where ``fix`` gives None); None if none changed. The model and its graph are both
    rewritten this way, one level down each."""
    out = bytearray()
    changed = False
    for number, wire, begin, body, stop in _fields(data, start, end):
        if number == field and wire == 2:
            fixed = fix(data, body, stop)
            if fixed is not None:
                out += _key(field, 2) + _varint(len(fixed)) + fixed
                changed = True
                continue
        out += data[begin:stop]
    return bytes(out) if changed else None


def _fix_graph(data: bytes, start: int, end: int) -> bytes | None:
    return _rewritten(data, start, end, 1, _fix_pad_node)  # GraphProto.node


def _fix_pad_node(data: bytes, start: int, end: int) -> bytes | None:
    fields = list(_fields(data, start, end))
    if not any(f == 4 and w == 2 and data[b:e] == b"Pad" for f, w, _, b, e in fields):  # NodeProto.op_type
        return None
    if any(f == 7 and w == 2 and data[b:e] not in (b"", b"ai.onnx") for f, w, _, b, e in fields):  # .domain
        return None  # a custom-domain op that happens to be called Pad
    inputs = [i for i, (f, w, _, _, _) in enumerate(fields) if f == 1 and w == 2]  # NodeProto.input
    drop = set()
    for i in reversed(inputs):  # only trailing optional inputs may be left out
        if fields[i][3] != fields[i][4]:
            break
        drop.add(i)
    if not drop or len(inputs) - len(drop) < 1:
        return None
    return b"".join(data[f[2] : f[4]] for i, f in enumerate(fields) if i not in drop)


def _fields(data: bytes, pos: int, end: int):
    """(field number, wire type, field start, payload start, field end) of each field in data[pos:end]."""
    while pos < end:
        start = pos
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _read_varint(data, pos)
            body = pos
        elif wire == 1:
            body, pos = pos, pos + 8
        elif wire == 2:
            length, body = _read_varint(data, pos)
            pos = body + length
        elif wire == 5:
            body, pos = pos, pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > end:
            raise ValueError("truncated protobuf field")
        yield field, wire, start, body, pos


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("bad varint")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def session_device(session: ort.InferenceSession) -> str:
    """'GPU (<name>)' when the session runs on CUDA, else 'CPU'."""
    if session.get_providers()[0] == "CUDAExecutionProvider":
        return f"GPU ({gpu_name()})"
    return "CPU"


@cache
def gpu_name() -> str:
    """The CUDA device name from nvidia-smi, or a generic label when it cannot be read."""
    import subprocess

    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=5, check=True,
        )
        return out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "CUDA"
