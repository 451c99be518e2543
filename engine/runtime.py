"""onnxruntime sessions: one place that picks the device and sets threads.

The CUDA provider is used when onnxruntime-gpu offers it and the user did not ask for the CPU;
``describe_device`` gives the one-line answer shown in the CLI and the status bar.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Literal

import onnxruntime as ort

from engine.errors import ModelError

DevicePreference = Literal["auto", "cpu", "gpu"]


def providers_for(preference: DevicePreference = "auto") -> list[str]:
    """Execution providers in priority order for the requested device."""
    available = ort.get_available_providers()
    if preference != "cpu" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if preference == "gpu":
        raise ModelError(
            "GPU requested but onnxruntime has no CUDA provider here "
            f"(available: {', '.join(available)}); install the [gpu] extra or choose the CPU"
        )
    return ["CPUExecutionProvider"]


BATCH_DIM = "batch"  # the batch axis name of our exports and the stock MobileNet files


def open_session(
    model: Path, preference: DevicePreference = "auto", fixed_batch: int | None = None
) -> ort.InferenceSession:
    """An inference session for ``model`` on the preferred device.

    ``fixed_batch`` pins a symbolic batch axis to that size, so shape arithmetic in the graph (e.g.
    TF-style "SAME" padding computed at run time) is constant-folded once at load.
    """
    options = ort.SessionOptions()
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
    if fixed_batch:
        options.add_free_dimension_override_by_name(BATCH_DIM, fixed_batch)
    session = _session(model, options, preference)
    if fixed_batch:
        axis = session.get_inputs()[0].shape[0]
        if isinstance(axis, str) and axis:  # a batch axis named otherwise: open it again with its name
            options.add_free_dimension_override_by_name(axis, fixed_batch)
            session = _session(model, options, preference)
    if preference == "gpu" and session.get_providers()[0] != "CUDAExecutionProvider":
        # onnxruntime-gpu quietly falls back to the CPU when the CUDA libraries cannot be loaded
        raise ModelError(f"GPU requested but {model.name} could not start on CUDA (CUDA/cuDNN libraries missing?)")
    return session


def _session(model: Path, options: ort.SessionOptions, preference: DevicePreference) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(str(model), options, providers=providers_for(preference))
    except ModelError:
        raise
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(f"cannot load ONNX model {model}: {exc}") from exc


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
