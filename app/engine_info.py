"""What runs where: load the models once (slowly, in a worker) and describe them for the status bar.

Missing models and an unreadable catalog are answers here, not exceptions, so the window can show
the setup page or a message and carry on.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.labels import model_label
from engine.backups import list_backups
from engine.errors import CatalogError, DeviceError, ModelError
from engine.models import model_names
from engine.pipeline import Pipeline


@dataclass
class EngineInfo:
    """What the status bar says about the engine, or why it could not start."""

    device: str = ""
    detectors: str = ""  # the detectors' labels (``app.labels.model_label``), " + " between them
    embedder: str = ""  # the embedder's label
    names: str = ""  # each model's card name and file (``model_names``), a line each, for the tooltip
    products: int = 0
    missing: str = ""  # the ModelError message when models are missing
    device_error: str = ""  # the DeviceError message: the models are there, the device asked for cannot run them
    catalog_error: str = ""  # why the catalog could not be read (corrupt, newer schema…)
    backups: int = 0  # of an empty catalog: a sync or a move that left its file behind made a new, empty one
    unembedded: bool = False  # products, and no vector of the embedder in use: the window embeds the catalog


def describe_engine(pipeline: Pipeline) -> EngineInfo:
    """Load the models (the first, slow use) in a worker and say what runs where."""
    try:
        detectors = pipeline.detector
        embedder = pipeline.embedder
    except DeviceError as exc:  # Settings fix it, not the model pack
        return EngineInfo(device_error=str(exc))
    except ModelError as exc:
        return EngineInfo(missing=str(exc))
    models = [d.model for d in detectors.detectors] + [embedder.model]
    info = EngineInfo(pipeline.device, " + ".join(model_label(d.model) for d in detectors.detectors),
                      model_label(embedder.model), "\n".join(model_names(m) for m in models))
    try:
        info.products = pipeline.catalog.count()
        if info.products == 0:
            info.backups = len(list_backups(pipeline.catalog.path))
        info.unembedded = info.products > 0 and not pipeline.catalog.has_vectors(embedder.key)
    except CatalogError as exc:
        info.catalog_error = str(exc)
    return info
