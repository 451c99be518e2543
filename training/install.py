"""A Train-window run's models made ready to use: copied where the engine finds them, an int8 copy or a
pair's levels made where asked, the catalog embedded for them.

This runs in the training process (``training.run``'s ``install`` job), not on a thread of the app:
onnxruntime's quantiser, the pair's calibration and even importing them are Python work that holds the
interpreter lock, and with it the app's UI thread, for a second or more. Activating the models (saving
the choice, opening them) stays with the app and is quick once the catalog has their vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.files import write_atomic
from engine.importer import Progress
from engine.models import ResolvedModel, read_card
from engine.pipeline import Pipeline
from engine.runtime import runs_on_cpu

# Install's steps, each named in its progress (``training.run`` sends one as the ``install`` stage's message): Use
# takes a minute or more, and one bar with one line for all of it ("Activating the new model…") said neither which
# step nor how far
INT8 = "making the int8 copy"  # done of total: calibration photos run through the model
CATALOG = "embedding the catalog"  # done of total: products
LEVELS = "measuring the levels"  # done of total: held-back photos searched
Steps = Callable[[str, int, int], None]  # (step, done, total)


def int8_offered(pipeline: Pipeline) -> bool:
    """Whether an int8 copy is worth offering: the models run on the CPU and the catalog is large enough
    to calibrate on (``training.quantize``)."""
    from training.quantize import CHECK_PHOTOS, MIN_CALIBRATION_PHOTOS

    return runs_on_cpu(pipeline.settings.device) and pipeline.catalog.count() >= MIN_CALIBRATION_PHOTOS + CHECK_PHOTOS


def install(pipeline: Pipeline, result: dict[str, Any], progress: Steps | None, cancelled,
            int8: bool = False) -> dict[str, list]:
    """Copy ``result``'s models into the data dir and embed the catalog for them; return the models to
    activate, ``{"embedder": [name], "detectors": [[name, …], …]}``.

    With ``int8`` the embedder's int8 copy (calibrated on the catalog's photos) is made beside it and is
    the one returned: about half the embedding time on a CPU. Two networks combined into one embedder get
    their "likely"/"exact" levels here, on the run's held-back photos.
    """
    target = pipeline.data_dir / "models"
    target.mkdir(parents=True, exist_ok=True)
    names = {}
    for kind in ("embedder", "detector"):
        if kind in result:
            model = Path(result[kind]["model"])
            for source in (model, model.with_suffix(".card.json")):
                write_atomic(target / source.name, source.read_bytes())
            names[kind] = model.name
    if int8 and "embedder" in names:
        names["embedder"] = _int8_copy(pipeline, target / names["embedder"], progress, cancelled)
    if "calibrate" in result.get("embedder", {}):
        _calibrate(pipeline, target / names["embedder"], result["embedder"]["calibrate"], progress, cancelled)
    embedder = [names["embedder"]] if "embedder" in names else list(pipeline.settings.embedder)
    detectors = [list(d) for d in pipeline.settings.detectors]
    if "detector" in names:
        from training.detector import add_classes_to_map

        add_classes_to_map(pipeline.data_dir, result["detector"]["classes"])
        detectors = _with_detector(detectors, target / names["detector"])
    settings = pipeline.settings.with_(embedder=tuple(embedder), detectors=tuple(tuple(d) for d in detectors))
    Pipeline(settings, pipeline.log).prepare_matcher(progress=_step(progress, CATALOG), cancelled=cancelled)
    return {"embedder": embedder, "detectors": detectors}


def _step(progress: Steps | None, step: str) -> Progress | None:
    """``progress`` for one step, which reports (done, total) alone."""
    return (lambda done, total: progress(step, done, total)) if progress else None


def _calibrate(pipeline: Pipeline, model: Path, on: dict[str, Any], progress: Steps | None, cancelled) -> None:
    """The combined embedder's levels on the run's held-back photos; embedding the catalog for it here
    is the work activating it would do."""
    from training.data import PairDataset
    from training.match_levels import calibrate_model

    calibrate_model(pipeline, model, PairDataset.load(Path(on["dataset"])), int(on["seed"]),
                    _step(progress, CATALOG), _step(progress, LEVELS), cancelled=cancelled)


def _int8_copy(pipeline: Pipeline, model: Path, progress: Steps | None, cancelled) -> str:
    from training.quantize import quantize_embedder

    path, _ = quantize_embedder(ResolvedModel(model, read_card(model)), pipeline.catalog, model.parent,
                                _step(progress, INT8), cancelled)
    return path.name


def _with_detector(detectors: list[list[str]], model: Path) -> list[list[str]]:
    """The active detector set with a trained one: in place of the stock detectors its card says it
    replaces (one network instead of three, as ``decorlens models activate`` runs it), else beside them."""
    replaced = set(read_card(model).replaces)
    return [group for group in detectors if not replaced & set(group)] + [[model.name]]
