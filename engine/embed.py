"""The CNN embedder: object crops → L2-normalised vectors, through onnxruntime."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from engine.errors import ModelError
from engine.models import ResolvedModel
from engine.preprocess import embed_batch
from engine.runtime import DevicePreference, open_session, session_device

BATCH = 32  # large enough to keep the CPU busy, small enough to bound memory for big imports


class Embedder:
    """Runs an embedder ONNX model described by its card."""

    def __init__(self, model: ResolvedModel, device: DevicePreference = "auto"):
        if model.card.kind != "embedder":
            raise ModelError(f"{model.path} is a {model.card.kind}, not an embedder")
        self.model = model
        self.card = model.card
        self.key = model.key
        self.session = open_session(model.path, device)
        self.device = session_device(self.session)
        self._output = self.card.output_name
        self.dim = self._output_dim()

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, dim) float32 unit vectors for RGB uint8 crops."""
        return self.embed_tensors(embed_batch(crops, self.card))

    def embed_tensors(self, batch: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors for an already preprocessed (N, 3, S, S) batch, run in chunks of BATCH."""
        out = np.zeros((len(batch), self.dim), np.float32)
        for start in range(0, len(batch), BATCH):
            chunk = batch[start : start + BATCH]
            (raw,) = self.session.run([self._output], {self.card.input_name: chunk})
            out[start : start + len(chunk)] = _l2_normalise(raw.reshape(len(chunk), -1))
            if progress:
                progress(len(chunk))
        return out

    def _output_dim(self) -> int:
        for output in self.session.get_outputs():
            if output.name == self._output:
                dim = output.shape[-1]
                if isinstance(dim, int):
                    return dim
                if self.card.output_dim:
                    return self.card.output_dim
        raise ModelError(f"{self.model.path}: no output named {self._output!r} with a known size")


def _l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
