"""The CNN embedder: object crops → L2-normalised vectors, through onnxruntime."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

import numpy as np

from engine.errors import ModelError
from engine.models import MAX_OUTPUT_DIM, ModelCard, ResolvedModel, a_kind
from engine.preprocess import embed_input
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
# A batch's input tensor at most: BATCH crops at 288 px (float32), the largest input the app's embedders use. A
# card may ask for more (up to engine.models.MAX_EMBEDDER_INPUT): its batches are smaller, so a batch of inputs and
# the activations they make stay near a 288 px batch's size (a 4096 px card took 4.2 GB for one search).
BATCH_BYTES = BATCH * 3 * 288 * 288 * 4


def batch_for(input_size: int) -> int:
    """How many crops of ``input_size`` px one run takes: ``BATCH``, fewer for large inputs, at least one."""
    return max(1, min(BATCH, BATCH_BYTES // (3 * input_size * input_size * 4)))


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
        self.batch = 1 if one_at_a_time else batch_for(self.card.input_size)
        self.runner = open_model(model, device, fixed_batch=1 if one_at_a_time else None)
        self._session = None if one_at_a_time else self.runner
        self.device = session_device(self.runner)
        self._output = self.card.output_name
        self.dim = self._output_dim()
        # Until a run has given vectors of ``dim`` floats, one crop runs alone: a model whose size onnxruntime
        # could not tell at open is refused after one crop's output, not a batch's.
        self._size_seen = False
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
        """(N, dim) float32 unit vectors for RGB uint8 crops (each preprocessed as its batch runs)."""
        return self.embed_tensors(_Preprocessed(crops, self.card))

    def preprocess(self, crop: np.ndarray) -> np.ndarray:
        """One crop's input tensor; ``embed_tensors`` of a stack of them equals ``embed`` of the crops."""
        return embed_input(crop, self.card)

    def embed_tensors(
        self, batch: np.ndarray | Sequence[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Vectors for an already preprocessed (N, 3, S, S) batch, or a sequence of (3, S, S) tensors
        (not stacked into one big array first), run in chunks of ``self.batch``."""
        out = np.zeros((len(batch), self.dim), np.float32)
        start = 0
        while start < len(batch):
            chunk = batch[start : start + (self.batch if self._size_seen else 1)]
            if not isinstance(chunk, np.ndarray):
                chunk = np.stack(chunk)
            (raw,) = self.runner.run([self._output], {self.card.input_name: chunk})
            if raw.size != len(chunk) * self.dim:
                raise ModelError(f"{self.model.path.name} gave {_floats(raw.size // len(chunk))} a crop, not "
                                 f"the {self.dim:,} its card or graph says: {_NOT_AN_EMBEDDER}")
            self._size_seen = True
            out[start : start + len(chunk)] = unit(raw.reshape(len(chunk), -1))
            start += len(chunk)
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
        """The size of the vectors: the model's, which must be its card's ``output_dim`` where the card gives one,
        else the card's. Refused in one line past ``MAX_OUTPUT_DIM`` (a model of 50 M floats a crop made a
        1.5 GB catalog of 8 products and a 3 GB index, every match "exact"), or when it is not the card's."""
        shape = next((o.shape for o in self.runner.get_outputs() if o.name == self._output), None)
        if shape is None:  # open_model has refused a card naming no output of the model
            raise ModelError(f"{self.model.path.name}: no output named {self._output!r}")
        sizes = shape[1:]  # after the batch axis: (N, C) or (N, C, 1, 1)
        dim = math.prod(sizes) if all(isinstance(s, int) for s in sizes) else None
        name, card_dim = self.model.path.name, self.card.output_dim
        if dim is not None and card_dim and dim != card_dim:
            raise ModelError(f"{name} gives {_floats(dim)} a crop but its card's output_dim is {card_dim}: "
                             f"{_NOT_AN_EMBEDDER}")
        size = dim or card_dim
        if not size:
            raise ModelError(f"{name}: its output {self._output!r} has no fixed size and its card no output_dim")
        if size > MAX_OUTPUT_DIM:
            raise ModelError(f"{name} gives {_floats(size)} a crop, more than the {MAX_OUTPUT_DIM:,} an "
                             "embedder may give")
        return size


_NOT_AN_EMBEDDER = "the card is another model's, or the file is no embedder this app can use"


def _floats(count: int) -> str:
    return f"{count:,} float{'s' * (count != 1)}"


class _Preprocessed(Sequence[np.ndarray]):
    """Crops as the (3, S, S) input tensors of a card, each made when its slice is taken, so a scene's crops are
    never all held as float32 tensors at once."""

    def __init__(self, crops: Sequence[np.ndarray], card: ModelCard) -> None:
        self.crops, self.card = crops, card

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [embed_input(crop, self.card) for crop in self.crops[index]]
        return embed_input(self.crops[index], self.card)
