"""The Train window's before / after: the new models against the old on photos training never used.

Scored by ``training.evaluate``, as ``decorlens eval`` scores them: top-1 / top-5 of the pairs on the
held-back photos (the run's test split, else its validation split when the test split is empty),
tag precision and coverage of the detectors, and, for the embedder, pair-by-pair wins and losses.
A few example crops are written beside it with their old and new best match and the right product,
as small thumbnails the window shows without decoding a catalog photo.

Everything happens in ``<run>/before-after``: the user's catalog is copied there (SQLite's backup
API, so the app may keep reading and writing it meanwhile) and the new embedder's catalog vectors are
computed in the copy. The user's catalog, category map and models stay as they were until *Use this
model*; Cancel removes the folder with the run.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from engine.categories import FILE_NAME as CATEGORY_FILE
from engine.crops import to_decoded
from engine.imageio import load_image
from engine.paths import CATALOG_FILE
from engine.pipeline import Pipeline
from training.data import PairDataset
from training.evaluate import EvalConfig, EvalResult, Outcome, evaluate, paired, summarise

FOLDER = "before-after"
EXAMPLES = 4
THUMB = 128
Progress = Callable[[str, int, int, str], None]


def compare(
    pipeline: Pipeline, dataset_dir: Path, run: Path, seed: int, embedder: Path | None, detector: Path | None,
    detector_classes: Sequence[str], progress: Progress, cancelled: Callable[[], bool],
) -> dict[str, Any]:
    """Before (pretrained embedder, current detectors) and after (the new models) on held-back photos."""
    dataset = PairDataset.load(dataset_dir)
    split = next((s for s in ("test", "val") if dataset.pairs_in(s, seed)), None)
    if split is None:
        return {}
    target = run / FOLDER
    before_pipe = _copy_of(pipeline, target)
    report = lambda d, n: progress("evaluate", d, n, "comparing on photos held back from training")
    matchers = ("pretrained", "finetuned") if embedder else ("pretrained",)
    config = EvalConfig(data=dataset_dir, matchers=matchers, split=split, seed=seed, conf=None,
                        finetuned=str(embedder or ""))
    before = evaluate(config, before_pipe, report, cancelled)
    after_name = "finetuned" if embedder else "pretrained"
    after = before
    if detector is not None:
        after = evaluate(EvalConfig(data=dataset_dir, matchers=(after_name,), split=split, seed=seed, conf=None,
                                    finetuned=str(embedder or "")),
                         _with_detector(before_pipe, target, detector, detector_classes), report, cancelled)
    out = {"split": split, "scenes": before.settings["scenes"], "before": _side(before, "pretrained"),
           "after": _side(after, after_name)}
    if embedder:
        scored = _scored(before)
        out["paired"] = paired(scored, "finetuned", "pretrained")
        out["examples"] = examples(dataset, scored, before_pipe, target / "examples")
    return out


def _copy_of(pipeline: Pipeline, target: Path) -> Pipeline:
    """A pipeline on a snapshot of the user's catalog and map, with the same models by full path."""
    target.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{pipeline.catalog.path}?mode=ro", uri=True)
    copy = sqlite3.connect(target / CATALOG_FILE)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    if (pipeline.data_dir / CATEGORY_FILE).is_file():
        shutil.copy(pipeline.data_dir / CATEGORY_FILE, target / CATEGORY_FILE)
    settings = pipeline.settings.with_(
        data_dir=target, embedder=(str(pipeline.embedder.model.path),),
        detectors=tuple((str(d.model.path),) for d in pipeline.detector.detectors),
    )
    return Pipeline(settings, pipeline.log)


def _with_detector(pipeline: Pipeline, target: Path, detector: Path, classes: Sequence[str]) -> Pipeline:
    """The copy with the new detector added, its classes in the copy's category map (as *Use* adds them)."""
    from training.detector import add_classes_to_map

    add_classes_to_map(target, list(classes))
    settings = pipeline.settings.with_(detectors=(*pipeline.settings.detectors, (str(detector),)))
    return Pipeline(settings, pipeline.log)


def _scored(result: EvalResult) -> list[Outcome]:
    return [o for o in result.outcomes if o.status == "evaluated"]


def _side(result: EvalResult, matcher: str) -> dict[str, Any]:
    data = result.to_json()
    metrics = summarise(_scored(result), matcher, (1,))
    coverage = data["coverage"]
    return {"top1": metrics["top1"], "top5": metrics["top5"], "pairs": coverage["evaluated"],
            "coverage": coverage["evaluated"] / coverage["pairs"] if coverage["pairs"] else None,
            "tag_precision": data["tags"]["precision"], "pins_per_scene": data["tags"]["pins_per_scene"]}


# -- example crops ------------------------------------------------------------------------------------


def examples(dataset: PairDataset, scored: Sequence[Outcome], pipeline: Pipeline, out: Path) -> list[dict[str, Any]]:
    """Up to ``EXAMPLES`` pairs of different photos: gains first, then a loss and an unchanged one when there are any."""
    first = lambda o, m: _right(dataset, o, m)
    gained = [o for o in scored if first(o, "finetuned") and not first(o, "pretrained")]
    lost = [o for o in scored if first(o, "pretrained") and not first(o, "finetuned")]
    same = [o for o in scored if o not in gained and o not in lost]
    picked = _one_per_photo(gained[:2] + lost[:1] + same[:1] + gained + lost + same)[:EXAMPLES]
    out.mkdir(parents=True, exist_ok=True)
    return [_example(dataset, o, pipeline, out, n) for n, o in enumerate(picked)]


def _one_per_photo(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The first pair of each photo: three cabinets of one shelf make one example, not three of the same crop."""
    firsts: dict[str, Outcome] = {}
    for outcome in outcomes:
        firsts.setdefault(outcome.scene_id, outcome)
    return list(firsts.values())


def _right(dataset: PairDataset, outcome: Outcome, matcher: str) -> bool:
    return any(s is not None and dataset.canonical(s) == dataset.canonical(outcome.product_id)
               for s in outcome.firsts[matcher])


def _example(dataset: PairDataset, outcome: Outcome, pipeline: Pipeline, out: Path, n: int) -> dict[str, Any]:
    """The crop the new model answered best, its old and new first match, the right product."""
    product = dataset.canonical(outcome.product_id)
    index = next((i for m in ("finetuned", "pretrained") for i, s in enumerate(outcome.firsts[m])
                  if s is not None and dataset.canonical(s) == product), 0)
    pixels = load_image(dataset.scenes[outcome.scene_id])  # a photo past MAX_SIDE is decoded smaller than its boxes
    x1, y1, x2, y2 = (int(v) for v in to_decoded(pixels, outcome.boxes[index]))
    crop = Image.fromarray(pixels[y1:y2, x1:x2])
    entry: dict[str, Any] = {"category": outcome.category, "crop": _thumb(crop, out / f"{n}-crop.jpg"),
                             "right": _product(pipeline, outcome.product_id, out / f"{n}-right.jpg")}
    for side, matcher in (("before", "pretrained"), ("after", "finetuned")):
        sku = outcome.firsts[matcher][index]
        entry[side] = {**_product(pipeline, sku, out / f"{n}-{side}.jpg"),
                       "right": sku is not None and dataset.canonical(sku) == product}
    return entry


def _product(pipeline: Pipeline, sku: str | None, path: Path) -> dict[str, Any]:
    found = pipeline.catalog.get_by_sku(sku) if sku else None
    if found is None:
        return {"sku": sku, "name": "", "thumb": ""}
    return {"sku": sku, "name": found.name, "thumb": _thumb(Image.fromarray(load_image(found.image_path)), path)}


def _thumb(image: Image.Image, path: Path) -> str:
    image.thumbnail((THUMB, THUMB))
    image.save(path, quality=90)
    return str(path)
