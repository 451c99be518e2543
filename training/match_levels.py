"""The "exact" and "likely" thresholds of an embedder, measured on labelled scenes through the engine.

Every tag of every scene with pairs is searched as the app searches it (top-1, within its category);
the top-1 is right when it is one of the products paired with the scene (byte-identical duplicates,
as the dataset lists them, count as the same product). ``engine.calibration.calibrate_levels`` turns
those labels into the lowest score at which "exact" is right 80 % of the time and "likely the same
product" 50 %; a level no score reaches is written as never shown. Calibrate on scenes the embedder never trained on: the validation
split for a fine-tuned model. The catalog of the pipeline's data dir must hold the dataset's products.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from engine import user_calibration
from engine.calibration import EXACT_TARGET, LIKELY_TARGET, Levels, calibrate_levels
from engine.errors import DecorLensError
from engine.files import sha256_of
from engine.importer import Progress
from engine.models import is_shipped, read_card, write_card
from engine.pipeline import Pipeline
from training.data import PairDataset


def labelled_top1(pipeline: Pipeline, data: PairDataset, splits: set[str], seed: int,
                  progress: Progress | None = None, limit_scenes: int | None = None) -> list[tuple[float, bool]]:
    """(top-1 score, top-1 is a paired product) for every tag of every paired scene in ``splits`` (the
    first ``limit_scenes`` of them, for a quick look)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for split in splits:
        for pair in data.pairs_in(split, seed):
            wanted[pair.scene_id].add(data.canonical(pair.product_id))
    scenes = sorted(wanted.items())[:limit_scenes]
    rows = []
    for done, (scene, paired) in enumerate(scenes, 1):
        for obj in pipeline.search_scene(data.scenes[scene], top_k=1).objects:
            if obj.matches:
                rows.append((obj.matches[0].score, data.canonical(obj.matches[0].sku) in paired))
        if progress:
            progress(done, len(scenes))
    return rows


def measure_levels(pipeline: Pipeline, data: PairDataset, splits: set[str], seed: int, progress: Progress | None = None,
                   exact: float = EXACT_TARGET, likely: float = LIKELY_TARGET,
                   limit_scenes: int | None = None) -> tuple[Levels, dict[str, object]]:
    """The two levels of the pipeline's embedder on ``splits``, and the record a card keeps of them."""
    rows = labelled_top1(pipeline, data, splits, seed, progress, limit_scenes)
    if not rows:
        raise DecorLensError(f"no tagged scene with pairs in split(s) {sorted(splits)} of {data.root}")
    levels = calibrate_levels([s for s, _ in rows], [c for _, c in rows], exact, likely)
    record = {
        "data": f"{data.root.name}, split(s) {'+'.join(sorted(splits))} of seed {seed}, tags of {pipeline.detector.name}",
        **levels.as_metrics(exact, likely),
    }
    return levels, record


def write_levels(model: Path, exact: float, likely: float, calibration: dict[str, object]) -> None:
    """Thresholds into the model's card, the evidence under ``metrics.calibration`` (the card beside it is
    written atomically, a stock model's from its shipped card): how a shipped card gets its thresholds
    (``bench.exact_threshold``); a user's calibration goes through ``keep_levels``."""
    card = read_card(model)
    card.exact_threshold, card.likely_threshold = exact, likely
    card.metrics.pop("exact_threshold_calibration", None)  # the single-level record this replaces
    card.metrics["calibration"] = calibration
    write_card(model, card)



def calibrate_model(pipeline: Pipeline, model: Path, data: PairDataset, seed: int,
                    embedding: Progress | None = None, searching: Progress | None = None,
                    limit_scenes: int | None = None, cancelled: Callable[[], bool] = lambda: False) -> Levels:
    """Measure ``model``'s levels on the validation scenes of ``seed`` and write them into its card.

    The catalog is embedded with ``model`` first (as activating it would, so activating it afterwards
    is immediate); the vectors are stored under the model's own key, beside the active embedder's."""
    measured = pipeline.with_embedder(model)
    measured.prepare_matcher(progress=embedding, cancelled=cancelled)
    levels, record = measure_levels(measured, data, {"val"}, seed, searching, limit_scenes=limit_scenes)
    keep_levels(model, levels.exact_threshold, levels.likely_threshold, record)
    return levels


def keep_levels(model: Path, exact: float, likely: float, calibration: dict[str, object]) -> None:
    """The user's thresholds for ``model``: into its card when the card is theirs (a trained or combined
    model, whose card travels with it), else beside it, keyed by the file's sha256 (a shipped card is
    replaced by ``models fetch``; ``engine.user_calibration``)."""
    if not is_shipped(model):
        write_levels(model, exact, likely, calibration)
        return
    card = read_card(model)
    user_calibration.save(model, card.sha256 or sha256_of(model), exact, likely, calibration)
