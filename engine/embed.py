"""The CNN embedder: object crops → L2-normalised vectors, through onnxruntime."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from engine.errors import ModelError
from engine.models import ResolvedModel, a_kind
from engine.preprocess import embed_batch, embed_input
from engine.runtime import (
    DevicePreference,
    open_model,
    open_session,
    runs_on_cpu,
    session_device,
    tf_converted,
)
from engine.unit_vectors import unit

BATCH = 32  # large enough to keep a GPU busy, small enough to bound memory for big imports


class Embedder:
    """Runs an embedder ONNX model described by its card."""

    def __init__(self, model: ResolvedModel, device: DevicePreference = "auto"):
        if model.card.kind != "embedder":
            raise ModelError(f"{model.path} is {a_kind(model.card.kind)}, not an embedder")
        self.model = model
        self.card = model.card
        self.key = model.key
        self._preference = device
        # On the CPU a TF-converted MobileNet runs one crop at a time: a session pinned to batch 1 folds
        # its run-time "SAME" padding arithmetic (hundreds of tiny ops a run; 15 -> 10 ms a crop on
        # 2 cores). A graph exported by torch has none, and a scene's crops run faster as one batch
        # (22 crops: 57 -> 45 ms in int8, 110 -> 97 ms in float; docs/benchmarks/README.md).
        one_at_a_time = runs_on_cpu(device) and tf_converted(model.path)
        self.batch = 1 if one_at_a_time else BATCH
        self.runner = open_model(model, device, fixed_batch=1 if one_at_a_time else None)
        self._session = None if one_at_a_time else self.runner
        self.device = session_device(self.runner)
        self._output = self.card.output_name
        self.dim = self._output_dim()
        self._spatial = None
        self._spatial_lock = threading.Lock()

    @property
    def session(self):
        """A session that takes any batch size (for a TF-converted graph on the CPU, opened on first use beside
        ``runner``)."""
        if self._session is None:
            self._session = open_session(self.model.path, self._preference)
        return self._session

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, dim) float32 unit vectors for RGB uint8 crops."""
        return self.embed_tensors(embed_batch(crops, self.card))

    def preprocess(self, crop: np.ndarray) -> np.ndarray:
        """One crop's input tensor; ``embed_tensors`` of a stack of them equals ``embed`` of the crops."""
        return embed_input(crop, self.card)

    def embed_tensors(
        self, batch: np.ndarray | Sequence[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Vectors for an already preprocessed (N, 3, S, S) batch, or a sequence of (3, S, S) tensors
        (not stacked into one big array first), run in chunks of ``self.batch``."""
        out = np.zeros((len(batch), self.dim), np.float32)
        for start in range(0, len(batch), self.batch):
            chunk = batch[start : start + self.batch]
            if not isinstance(chunk, np.ndarray):
                chunk = np.stack(chunk)
            (raw,) = self.runner.run([self._output], {self.card.input_name: chunk})
            out[start : start + len(chunk)] = unit(raw.reshape(len(chunk), -1))
            if progress:
                progress(len(chunk))
        return out

    def spatial(self, image: np.ndarray) -> np.ndarray:
        """The (C, h, w) feature map the embedding of an RGB image is pooled from (``engine.explain``).

        The card names the tensor (``spatial_output``); it is added as an output of a session of its own,
        opened on first use, so embedding never computes or copies it.
        """
        session = self._spatial_session()
        (maps,) = session.run(
            [self.card.spatial_output], {self.card.input_name: self.preprocess(image)[None]}
        )
        return maps[0]

    def _spatial_session(self):
        tensor = self.card.spatial_output
        if not tensor:
            raise ModelError(f"the card of {self.model.path.name} names no feature map before pooling "
                             "(spatial_output): re-export the model or update the model pack")
        with self._spatial_lock:
            if self._spatial is None:
                session = open_session(self.model.path, self._preference, fixed_batch=1, outputs=(tensor,))
                shape = next((o.shape for o in session.get_outputs() if o.name == tensor), None)
                if shape is None or len(shape) != 4:
                    raise ModelError(f"{self.model.path.name}: its card's spatial_output {tensor!r} is not a "
                                     "(N, C, h, w) tensor of the model")
                self._spatial = session
            return self._spatial

    def _output_dim(self) -> int:
        for output in self.runner.get_outputs():
            if output.name == self._output:
                dim = output.shape[-1]
                if isinstance(dim, int):
                    return dim
                if self.card.output_dim:
                    return self.card.output_dim
        raise ModelError(f"{self.model.path}: no output named {self._output!r} with a known size")
