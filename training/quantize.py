"""An embedder in int8 for the CPU: about half the time per crop, within a point of its top-5.

Embedding the pins is most of a scene's time once one trained detector replaces the stock set
(docs/results.md). onnxruntime's static quantisation stores int8 weights per channel and runs uint8
activations whose ranges (min to max) are measured on the catalog's own product photos. Before the file
is written, its vectors of other photos must agree with the float model's.

Only graphs exported by torch (``decorlens train``, ``models export``) gain: a TF-converted MobileNet
computes its padding at run time and runs slower in int8. On a GPU the float model stays the one to
run: onnxruntime's CUDA provider has no fast path for these quantised operators. ``onnx`` is needed
(the [train] extra), as onnxruntime's quantiser reads graphs with it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from engine.catalog import Catalog, Product
from engine.embed import Embedder
from engine.errors import Cancelled, DecorLensError, ModelError
from engine.files import replace_atomically, sha256_of
from engine.imageio import load_image
from engine.importer import Progress
from engine.models import ModelCard, ResolvedModel, check_matches_card, write_card
from engine.preprocess import embed_input
from engine.remedies import FLOAT_ONLY
from engine.runtime import tf_converted

CALIBRATION_PHOTOS = 256
CHECK_PHOTOS = 64
MIN_CALIBRATION_PHOTOS = 32
MIN_CHECK_PHOTOS = 16
MIN_AGREEMENT = 0.97  # mean cosine between the int8 and float vectors of the check photos
CHUNK = 16  # photos whose activations the quantiser holds at once (see _Calibration)

@dataclass(frozen=True)
class Agreement:
    """How close the int8 model's vectors are to the float model's, on photos it was not calibrated on."""

    photos: int
    mean_cosine: float
    min_cosine: float


def int8_path(model: Path, out_dir: Path) -> Path:
    return out_dir / f"{model.stem}-int8.onnx"


def quantize_embedder(
    model: ResolvedModel,
    catalog: Catalog,
    out_dir: Path,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    calibration_photos: int = CALIBRATION_PHOTOS,
) -> tuple[Path, Agreement]:
    """Write ``<model>-int8.onnx`` and its card to ``out_dir``; the float model is left as it is.

    Raises ``ModelError`` when the model is not a float embedder, the catalog has too few readable
    photos, or the int8 vectors drift from the float ones; nothing is written then.
    """
    _check_quantisable(model)
    if calibration_photos < MIN_CALIBRATION_PHOTOS:
        raise ModelError(f"calibrating needs at least {MIN_CALIBRATION_PHOTOS} photos, not {calibration_photos}")
    if catalog.count() < MIN_CALIBRATION_PHOTOS + CHECK_PHOTOS:
        raise ModelError(f"quantising calibrates on the catalog's photos: it needs at least "
                         f"{MIN_CALIBRATION_PHOTOS + CHECK_PHOTOS} products, the catalog has {catalog.count()}")
    products = catalog.sample(calibration_photos + CHECK_PHOTOS)
    calibration = _readable(products[:-CHECK_PHOTOS], model.card, "calibrate on", MIN_CALIBRATION_PHOTOS, cancelled)
    calibration = calibration[: len(calibration) - len(calibration) % CHUNK]  # the quantiser takes whole chunks
    held_out = _readable(products[-CHECK_PHOTOS:], model.card, "check the result on", MIN_CHECK_PHOTOS, cancelled)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = int8_path(model.path, out_dir)
    with tempfile.TemporaryDirectory(prefix=".quantize-", dir=out_dir) as work:
        quantised = Path(work) / final.name
        reader = _Calibration(calibration, model.card.input_name, progress, cancelled)
        _quantise(model.path, Path(work) / "prepared.onnx", quantised, reader)
        agreement = measure_agreement(model.path, quantised, model.card, held_out)
        if agreement.mean_cosine < MIN_AGREEMENT:
            raise ModelError(FLOAT_ONLY(model=model.path.name, cosine=f"{agreement.mean_cosine:.3f}",
                                        least=MIN_AGREEMENT))
        card = int8_card(model, sha256_of(quantised), agreement, len(calibration))
        replace_atomically(quantised, final)
    write_card(final, card)
    return final, agreement


def measure_agreement(float_model: Path, int8_model: Path, card: ModelCard, tensors: Sequence[np.ndarray]) -> Agreement:
    """Cosine between the two models' vectors of each preprocessed (3, S, S) tensor, embedded as the
    engine embeds (the int8 file shares the float model's card, less its file hash, until its own is
    written)."""
    shared = replace(card, sha256="")
    vectors = [Embedder(ResolvedModel(path, shared), "cpu").embed_tensors(tensors)
               for path in (float_model, int8_model)]
    cosines = np.sum(vectors[0] * vectors[1], axis=1)
    return Agreement(len(tensors), round(float(cosines.mean()), 4), round(float(cosines.min()), 4))


def int8_card(model: ResolvedModel, sha256: str, agreement: Agreement, photos: int) -> ModelCard:
    """The float card under a new name and hash; its "exact"/"likely" thresholds carry over, which
    the agreement (cosines within about 0.01) justifies, and the recipe says so."""
    card = model.card
    return replace(
        card,
        name=f"{card.name}-int8",
        sha256=sha256,
        recipe={**card.recipe, "int8": {
            "from": model.key,
            "method": "onnxruntime static QDQ, int8 weights per channel, uint8 activations, min-max ranges",
            "calibration_photos": photos,
            "agreement": {"photos": agreement.photos, "mean_cosine": agreement.mean_cosine,
                          "min_cosine": agreement.min_cosine},
            "thresholds": f"exact and likely thresholds carried from {model.key}",
        }},
    )


def _check_quantisable(model: ResolvedModel) -> None:
    """Refuse what cannot be quantised, and a float file its card was not written for: the int8 card
    would carry that card's thresholds and name it as the source (``measure_agreement`` opens the float
    file without its hash, so nothing else checks it)."""
    check_matches_card(model)
    if model.card.kind != "embedder":
        raise ModelError(f"{model.path.name} is a {model.card.kind}; only embedders are quantised here")
    if "int8" in model.card.recipe:
        raise ModelError(f"{model.path.name} is already int8 (from {model.card.recipe['int8'].get('from', '?')})")
    if tf_converted(model.path):
        # Measured: the pack's MobileNetV2 took 9.9 ms a crop in int8 against 6.4 in float. Its pads are
        # computed at run time, so no Pad fuses into its quantised Conv (docs/results.md).
        raise ModelError(f"{model.path.name} is converted from TensorFlow and would run slower in int8; quantize "
                         "an embedder that `decorlens train` or `decorlens models export` wrote")


def _quantise(source: Path, prepared: Path, out: Path, reader: CalibrationDataReader) -> None:
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared), str(out), reader,
        quant_format=QuantFormat.QDQ, per_channel=True,
        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
        calibrate_method=CalibrationMethod.MinMax,  # exact in chunks; closer than percentile ranges here
        # onnxruntime's option for calibrating in chunks and merging their ranges
        extra_options={"CalibStridedMinMax": CHUNK},
    )


class _Calibration(CalibrationDataReader):
    """Preprocessed catalog photos, handed to the quantiser ``CHUNK`` at a time: onnxruntime holds
    every activation of the photos it is given at once (about 100 MB a photo for MobileNetV2)."""

    def __init__(self, tensors: Sequence[np.ndarray], input_name: str, progress: Progress | None,
                 cancelled: Callable[[], bool]):
        self._tensors = tensors
        self._input = input_name
        self._progress = progress
        self._cancelled = cancelled
        self._next = self._end = 0

    def __len__(self) -> int:
        return len(self._tensors)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._next, self._end = start_index, end_index

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._cancelled():
            raise Cancelled("quantising cancelled; nothing was written")
        if self._next >= self._end:
            return None
        tensor = self._tensors[self._next]
        self._next += 1
        if self._progress:
            self._progress(self._next, len(self._tensors))
        return {self._input: tensor[None]}


def _readable(products: Sequence[Product], card: ModelCard, purpose: str, needed: int,
              cancelled: Callable[[], bool]) -> list[np.ndarray]:
    """The products' photos preprocessed as the embedder's input; unreadable ones are skipped."""
    tensors = []
    for product in products:
        if cancelled():
            raise Cancelled("quantising cancelled; nothing was written")
        try:
            tensors.append(embed_input(load_image(product.image_path), card))
        except DecorLensError:
            continue
    if len(tensors) < needed:
        raise ModelError(f"only {len(tensors)} of {len(products)} sampled catalog photos could be read; "
                         f"quantising needs {needed} to {purpose}")
    return tensors
