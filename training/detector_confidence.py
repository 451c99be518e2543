"""The confidence a trained detector's card gives the app, chosen on the validation scenes.

A detector trained on our labels scores differently from the stock ones (their 0.25 / 0.1 mean
nothing for it), and a pin costs trust when it is wrong. So the card's confidence is the lowest on a
grid whose *tag precision* on the validation scenes reaches ``PRECISION_TARGET`` with at least one
pin per scene (the most coverage at that precision), provided that costs at most ``MAX_BALANCE_LOSS`` of the best
harmonic mean of tag precision and coverage; else the confidence with that best harmonic mean (the most precise
alone would be a confidence with one pin), and the card says the target was missed. Without the proviso a
detector trained for 250 epochs was given 0.5: 84 % precision on 15 validation scenes, but 35 % coverage
against 86 % at 0.02, and 0.4 had measured 78 % (docs/detection.md).

Precision and coverage are those ``decorlens eval`` reports (``training.evaluate``): a pin is right when its
category searches a category of one of the scene's paired products; a pair is covered when some pin's
category searches its category. Pins are the app's: the trained detector alone, the data dir's category
map, only categories the catalog sells, not people, a part and its whole one pin, rows grouped
(``Pipeline.detect``).

The detector runs once per scene at the grid's lowest confidence: the merge keeps a box only
against better-scored ones, so the tags at a higher confidence are those of the lowest one that
score at least that much, folded and grouped again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine.categories import CategoryMap
from engine.detect import as_tags
from engine.imageio import load_image
from engine.models import read_card, write_card
from engine.people import without_people
from engine.pipeline import Pipeline
from engine.results import Detection
from training.data import Pair, PairDataset

CONF_GRID = (0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
PRECISION_TARGET = 0.8  # the bar for tags a merchandiser would trust
MIN_PINS_PER_SCENE = 1.0  # a precision measured on fewer pins than this says little (two right pins: 100 %)
MAX_BALANCE_LOSS = 0.1  # reaching the precision target may cost at most this share of the best balance


def calibrate(model: Path, dataset: PairDataset, scenes: Sequence[str], pipeline: Pipeline,
              progress: Callable[[int, int], None] = lambda _d, _n: None) -> dict[str, Any]:
    """Tag precision, coverage and pins per scene at each grid confidence, and the one chosen."""
    engine = Pipeline(pipeline.settings.with_(detectors=((str(model),),)), pipeline.log,
                      CategoryMap.load(pipeline.data_dir))
    sold = engine.sold_categories()
    pairs: dict[str, list[Pair]] = {}
    for pair in dataset.pairs:
        pairs.setdefault(pair.scene_id, []).append(pair)
    found = []
    for done, scene_id in enumerate(scenes, 1):
        pixels = load_image(dataset.scenes[scene_id])
        size = (pixels.shape[1], pixels.shape[0])
        tags = without_people(engine.detector.detect(pixels, CONF_GRID[0], sold), engine.people_in(pixels))
        found.append((tags, size, pairs.get(scene_id, [])))
        progress(done, len(scenes))
    table = [_score(conf, found, engine.categories) for conf in CONF_GRID]
    chosen, reached = choose(table)
    return {"conf": chosen["conf"], "target_precision": PRECISION_TARGET, "reached": reached,
            "split": "val", "scenes": len(scenes), "table": table}


def choose(table: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """The row of the lowest confidence reaching the precision target at little cost in balance, and True;
    else the best-balanced row, and False."""
    best = max(table, key=_balance)
    affordable = (1 - MAX_BALANCE_LOSS) * _balance(best)
    reaching = [row for row in table if row["pins_per_scene"] >= MIN_PINS_PER_SCENE and row["precision"] is not None
                and row["precision"] >= PRECISION_TARGET and _balance(row) >= affordable]
    return (reaching[0], True) if reaching else (best, False)


def _balance(row: dict[str, Any]) -> float:
    """Harmonic mean of tag precision and coverage: high only when both are."""
    precision, coverage = row["precision"] or 0.0, row["coverage"] or 0.0
    return 2 * precision * coverage / (precision + coverage) if precision + coverage else 0.0


def _score(conf: float, found: Sequence[tuple[list[Detection], tuple[int, int], list[Pair]]],
           categories: CategoryMap) -> dict[str, Any]:
    pins = right = pairs = covered = 0
    for detections, size, scene_pairs in found:
        tags = as_tags([d for d in detections if d.score >= conf], size, categories)
        wanted = {p.category for p in scene_pairs}
        pins += len(tags)
        right += sum(any(c in wanted for c in categories.searched(d.category)) for d in tags)
        shown = {d.category for d in tags}
        pairs += len(scene_pairs)
        covered += sum(categories.covers(shown, p.category) for p in scene_pairs)
    return {"conf": conf, "pins_per_scene": round(pins / max(len(found), 1), 2),
            "precision": round(right / pins, 4) if pins else None,
            "coverage": round(covered / pairs, 4) if pairs else None}


def write_confidence(model: Path, calibration: dict[str, Any]) -> None:
    """The chosen confidence into the model's card, with the table it was chosen from."""
    card = read_card(model)
    card.default_conf = calibration["conf"]
    card.metrics = {**card.metrics, "confidence": calibration}
    write_card(model, card)
