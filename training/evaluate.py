"""How well each matcher finds the product of a scene→product pair, through the app's own pipeline.

For every scene the engine finds the objects that become tags (``pipeline.detect``: detected, of a
category the catalog sells, rows of small items grouped) and matches their boxes
(``pipeline.embed_queries``, then ``search_queries``: crops and query views as the settings say) exactly
as ``decorlens search`` does.
A pair is scored by the best rank of its product over the scene's detections whose category searches
the product's category:

- top-1 / top-5: rank in the app's category-restricted search (the detection's category → the
  catalog categories it searches, ``resources/categories.yaml``);
- recall@k, k = 1…100: rank in a search of the whole catalog.

Tags themselves are scored too: *tag precision* is the share of pins whose category searches one of
the categories of the scene's paired products (pairs list only what IKEA sold for the photo, so it
understates precision), beside pins per scene and the time per scene (detect, embed, search with the
first matcher; whole-catalog searches are evaluation-only and not timed). Everything is scored with
the category map of the user's data dir, the one the app uses.

Byte-identical duplicate ids (``duplicate_images.csv``) count as the same product. Pairs whose
category no detector class can produce are "not detectable"; pairs the detectors could produce but
missed in that scene are "missed"; both are counted, never scored. Products the fine-tuned model
trained on (listed in its card; without one, products of training-split pairs) are "seen", the rest
"unseen", and reported apart.

No torch here: evaluating needs only the engine (matplotlib, if installed, draws the plot).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.batch import spreadsheet_safe
from engine.errors import Cancelled, ModelError
from engine.files import write_atomic
from engine.imageio import load_image
from engine.models import find_model
from engine.paths import model_search_path
from engine.pipeline import COLOUR, EMBEDDER, Pipeline
from engine.query import QueryOptions
from engine.remedies import NOTHING_TO_SCORE
from training.data import DatasetError, PairDataset
from training.recipes import model_name

MATCHERS = ("colour", "pretrained", "finetuned")
MAX_K = 100
TOP_K = 5
CATEGORY_KS = (1, 5, 10, 20, 50, 100)  # recall@k kept per category (the overall curve keeps all 100)
BASELINE = "pretrained"  # what the paired comparison measures the other matchers against
DEFAULT_FINETUNED = f"{model_name()}.onnx"  # what `decorlens train` writes by default
# Query levers (engine.query) scored as "pretrained+LEVER[+LEVER…]" beside the default query, same pairs.
QUERY_LEVERS: dict[str, dict[str, Any]] = {
    "plain": {},  # one 6 %-padded crop, not mirrored: the query before issue 18
    "flip": {"flip": True},
    "multicrop": {"paddings": [0.0, 0.06, 0.15]},
    "rerank": {"rerank": 20},  # the top 20 re-ordered by SIFT + RANSAC inliers (engine.rerank)
    "types": {"types": True},  # the top 20 re-sorted by the crop's likely product type (engine.type_prior)
}
Progress = Callable[[int, int], None]


@dataclass
class EvalConfig:
    data: Path
    matchers: tuple[str, ...] = MATCHERS
    split: str = "test"  # train | val | test | all
    seed: int = 0  # must be the training seed, so "test" means the scenes training never saw
    limit_scenes: int | None = None
    conf: float | None = 0.1  # both stock detectors at 0.1 (the reference numbers); None: each card's own
    finetuned: str = DEFAULT_FINETUNED  # file name on the model path, or a path
    embedders: tuple[str, ...] = ()  # other pretrained embedders scored on the same pairs, named by their cards
    levers: tuple[str, ...] = ()  # query levers scored with the pretrained embedder, e.g. "flip", "flip+multicrop"


@dataclass
class Outcome:
    """One scene→product pair: its status and, when scored, the rank per matcher (None: not found)."""

    scene_id: str
    product_id: str
    category: str
    status: str  # evaluated | missed | not_detectable
    seen: bool
    rank: dict[str, int | None] = field(default_factory=dict)  # category-restricted, within top-5
    global_rank: dict[str, int | None] = field(default_factory=dict)  # whole catalog, within top-100
    scene_objects: int = 0  # detections in the pair's scene: what coverage costs in clutter
    # the detections that could answer the pair: their boxes and, per matcher, each one's first match (the
    # Train window's example crops with their old and new best matches)
    boxes: list[tuple[float, ...]] = field(default_factory=list)
    firsts: dict[str, list[str | None]] = field(default_factory=dict)


@dataclass
class SceneTags:
    """The pins of one scene, judged against the categories of its paired products."""

    scene_id: str
    pins: list[str]  # decor category of each pin
    right: list[bool]  # pin searches a category of one of the scene's paired products
    ms: float  # detect + embed + category search with the first matcher


@dataclass
class EvalResult:
    outcomes: list[Outcome]
    matchers: tuple[str, ...]
    settings: dict[str, Any]
    scenes: list[SceneTags] = field(default_factory=list)
    against: dict[str, Any] | None = None  # this run against an earlier report (training.eval_against)

    def to_json(self) -> dict[str, Any]:
        scored = [o for o in self.outcomes if o.status == "evaluated"]
        by_category: dict[str, list[Outcome]] = defaultdict(list)
        for o in scored:
            by_category[o.category].append(o)
        return {
            "overall": self._metrics(scored, range(1, MAX_K + 1)),
            "all_pairs": self._metrics(self.outcomes, CATEGORY_KS),
            "by_product": {
                "seen": self._metrics([o for o in scored if o.seen], CATEGORY_KS),
                "unseen": self._metrics([o for o in scored if not o.seen], CATEGORY_KS),
            },
            "per_category": {c: self._metrics(rows, CATEGORY_KS) for c, rows in sorted(by_category.items())},
            "coverage": self._coverage(),
            "coverage_per_category": self._coverage_per_category(),
            "tags": tag_metrics(self.scenes),
            "paired": self._paired(scored),
            "settings": self.settings,
            "pairs": [{"scene": o.scene_id, "product": o.product_id, "category": o.category, "status": o.status,
                       "rank": o.rank} for o in self.outcomes],  # what a later run compares itself with
            **({"against": self.against} if self.against else {}),
        }

    def _paired(self, scored: Sequence[Outcome]) -> dict[str, Any]:
        if BASELINE not in self.matchers:
            return {}
        return {m: paired(scored, m, BASELINE) for m in self.matchers if m != BASELINE}

    def _metrics(self, rows: Sequence[Outcome], ks) -> dict[str, Any]:
        return {m: {**summarise(rows, m, ks), "n": len(rows)} for m in self.matchers}

    def _coverage(self) -> dict[str, Any]:
        counts = {s: sum(o.status == s for o in self.outcomes) for s in ("evaluated", "missed", "not_detectable")}
        undetectable = sorted({o.category for o in self.outcomes if o.status == "not_detectable"})
        scenes = len({o.scene_id for o in self.outcomes})
        seen = sum(o.seen for o in self.outcomes if o.status == "evaluated")
        objects = {o.scene_id: o.scene_objects for o in self.outcomes}
        return {"scenes": scenes, "pairs": len(self.outcomes), **counts, "evaluated_seen": seen,
                "objects_per_scene": round(sum(objects.values()) / max(len(objects), 1), 2),
                "evaluated_unseen": counts["evaluated"] - seen, "not_detectable_categories": undetectable}


    def _coverage_per_category(self) -> dict[str, dict[str, Any]]:
        """Per catalog category: pairs, how many some detection of the scene covers, and the share."""
        out: dict[str, dict[str, Any]] = {}
        for o in self.outcomes:
            row = out.setdefault(o.category, {"pairs": 0, "covered": 0})
            row["pairs"] += 1
            row["covered"] += o.status == "evaluated"
        for row in out.values():
            row["coverage"] = row["covered"] / row["pairs"]
        return dict(sorted(out.items()))


def tag_metrics(scenes: Sequence[SceneTags]) -> dict[str, Any]:
    """Tag precision overall and per pin category, pins per scene, median time per scene."""
    per: dict[str, dict[str, Any]] = {}
    for scene in scenes:
        for category, right in zip(scene.pins, scene.right):
            row = per.setdefault(category, {"pins": 0, "right": 0})
            row["pins"] += 1
            row["right"] += right
    for row in per.values():
        row["precision"] = row["right"] / row["pins"]
    pins = sum(row["pins"] for row in per.values())
    right = sum(row["right"] for row in per.values())
    return {
        "scenes": len(scenes), "pins": pins, "right": right,
        "precision": right / pins if pins else None,
        "pins_per_scene": round(pins / len(scenes), 2) if scenes else None,
        "ms_per_scene": round(float(np.median([s.ms for s in scenes])), 1) if scenes else None,
        "per_category": dict(sorted(per.items())),
    }


def paired(rows: Sequence[Outcome], matcher: str, baseline: str) -> dict[str, dict[str, Any]]:
    """``matcher`` against ``baseline`` on the same pairs: wins, losses, exact McNemar p (two-sided).

    With a few hundred pairs a difference of a few points can be luck; the pairs that only one
    matcher gets right say whether it is. A win is a pair ``matcher`` ranks within k and
    ``baseline`` does not.
    """
    ours, theirs = _ranks(rows, matcher), _ranks(rows, baseline)
    return {name: versus(ours <= k, theirs <= k) for name, k in (("top1", 1), ("top5", TOP_K))}


def versus(ours: np.ndarray, theirs: np.ndarray) -> dict[str, Any]:
    """Two hit vectors over the same pairs: wins (only ``ours``), losses (only ``theirs``), exact McNemar p."""
    wins, losses = int((ours & ~theirs).sum()), int((theirs & ~ours).sum())
    return {"wins": wins, "losses": losses, "p": mcnemar_p(wins, losses)}


def mcnemar_p(wins: int, losses: int) -> float:
    """Exact two-sided McNemar test: how likely a split this uneven is if both matchers were equal."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def _ranks(rows: Sequence[Outcome], matcher: str, whole_catalog: bool = False) -> np.ndarray:
    """Each row's rank for ``matcher``; a product not found ranks past every k."""
    return np.array([(o.global_rank if whole_catalog else o.rank)[matcher] or 10**9 for o in rows])


def summarise(rows: Sequence[Outcome], matcher: str, ks) -> dict[str, Any]:
    """top-1, top-5 (category search) and recall@k (whole catalog) as fractions of ``rows``."""
    if not rows:
        return {"top1": None, "top5": None, "recall_at": {k: None for k in ks}}
    rank, glob = _ranks(rows, matcher), _ranks(rows, matcher, whole_catalog=True)
    return {
        "top1": float((rank <= 1).mean()),
        "top5": float((rank <= TOP_K).mean()),
        "recall_at": {k: float((glob <= k).mean()) for k in ks},
    }


# -- running --------------------------------------------------------------------------------------


def evaluate(
    config: EvalConfig, pipeline: Pipeline, progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> EvalResult:
    """Score every pair of the chosen scenes with each matcher."""
    dataset = PairDataset.load(config.data)
    scenes = _scenes(dataset, config)
    if not scenes:  # an all-"–" report, exit 0, said nothing was scored
        split = "any split" if config.split == "all" else f"the {config.split} split (seed {config.seed})"
        raise DatasetError(NOTHING_TO_SCORE(data=config.data, split=split))
    finetuned = _finetuned_model(config.finetuned, pipeline) if "finetuned" in config.matchers else None
    # Found on the user's model path, as the fine-tuned one: `decorlens train` writes to <data dir>/models,
    # which the evaluation catalog's own data dir does not hold.
    others = [find_model(name, pipeline.settings.models_dir, pipeline.data_dir).path for name in config.embedders]
    base = catalog_pipeline(pipeline, dataset, progress)
    runners = _runners(config, base, finetuned, others)
    seen_ids = _seen(dataset, config, runners)
    try:
        outcomes, tags = _score(dataset, scenes, base, runners, seen_ids, config, progress, cancelled)
    finally:  # release the catalogs of the pipelines made here; the caller's stays open
        for made in {id(p): p for p in [base, *(p for p, _ in runners.values())]}.values():
            if made is not pipeline:
                made.close()
    settings = {
        "data": str(config.data), "split": config.split, "seed": config.seed, "scenes": len(scenes),
        "detectors": base.detector.name, "conf": "card defaults" if config.conf is None else config.conf, "padding": base.settings.padding,
        "embedders": {m: p.embedder.key for m, (p, _) in runners.items() if m != "colour"},
        "seen_products": len(seen_ids), "category_map": str(base.categories.source),
        # the map's per-class confidences the detectors used (none when --conf sets one for all)
        "class_conf": {d.name: d.class_conf for d in base.detector.detectors} if config.conf is None else {},
    }
    return EvalResult(outcomes, tuple(runners), settings, tags)


def _score(
    dataset: PairDataset, scenes: Sequence[str], base: Pipeline, runners: dict[str, tuple[Pipeline, str]],
    seen_ids: set[str], config: EvalConfig, progress: Progress | None, cancelled: Callable[[], bool],
) -> tuple[list[Outcome], list[SceneTags]]:
    producible = _producible(base)
    by_scene: dict[str, list] = defaultdict(list)
    for pair in dataset.pairs:
        by_scene[pair.scene_id].append(pair)
    outcomes: list[Outcome] = []
    tags: list[SceneTags] = []
    for done, scene_id in enumerate(scenes, 1):
        if cancelled():
            raise Cancelled("evaluation cancelled")
        scored, scene_tags = _score_scene(
            dataset, scene_id, by_scene[scene_id], base, runners, producible, seen_ids, config
        )
        outcomes += scored
        tags.append(scene_tags)
        if progress:
            progress(done, len(scenes))
    return outcomes, tags


def catalog_pipeline(pipeline: Pipeline, dataset: PairDataset, progress: Progress | None = None) -> Pipeline:
    """A pipeline whose catalog holds the dataset's products (as skus).

    The user's own data dir is used when its catalog has them all; otherwise a catalog of the
    dataset is imported once under ``<data dir>/eval/`` (re-runs find it up to date), with the
    same models, so a user's shop catalog is never touched by an evaluation.
    """
    missing = [pid for pid in dataset.products if pipeline.catalog.get_by_sku(pid) is None]
    if not missing:
        return pipeline
    target = pipeline.data_dir / "eval" / f"{dataset.root.name}-{dataset.digest()[:12]}"
    settings = pipeline.settings.with_(
        data_dir=target,
        detectors=tuple((str(d.model.path),) for d in pipeline.detector.detectors),
        embedder=(str(pipeline.embedder.model.path),),
    )
    other = Pipeline(settings, pipeline.log, pipeline.categories)  # the user's map, not the eval dir's
    other.import_catalog(dataset.root / "products.csv", progress)
    return other


def _runners(
    config: EvalConfig, base: Pipeline, finetuned: Path | None, others: Sequence[Path]
) -> dict[str, tuple[Pipeline, str]]:
    """Matcher name → (pipeline, pipeline matcher); other embedders get a second pipeline on the same catalog."""
    unknown = [m for m in config.matchers if m not in MATCHERS]
    if unknown:
        raise ValueError(f"unknown matcher(s) {', '.join(unknown)} (use {', '.join(MATCHERS)})")
    runners: dict[str, tuple[Pipeline, str]] = {}
    for name in config.matchers:
        if name == "colour":
            runners[name] = (base, COLOUR)
        elif name == "pretrained":
            runners[name] = (base.with_stock_embedder(), EMBEDDER)
        else:
            runners[name] = (base.with_embedder(finetuned), EMBEDDER)
    for path in others:
        other = base.with_embedder(path)
        runners[other.embedder.card.name] = (other, EMBEDDER)
    stock = base.with_stock_embedder()
    for lever in config.levers:
        runners[f"pretrained+{lever}"] = (stock.with_query(query_lever(lever)), EMBEDDER)
    for pipe, matcher in runners.values():
        pipe.prepare_matcher(matcher)
    return runners


def query_lever(lever: str) -> QueryOptions:
    """The query of ``QUERY_LEVERS`` names joined by "+", each over the plain query."""
    raw: dict[str, Any] = {}
    for name in lever.split("+"):
        if name not in QUERY_LEVERS:
            raise ValueError(f"unknown query lever {name!r} (use {', '.join(QUERY_LEVERS)}, joined by +)")
        raw.update(QUERY_LEVERS[name])
    return QueryOptions.from_raw(raw)


def _finetuned_model(name: str, pipeline: Pipeline) -> Path:
    """The fine-tuned ONNX on the user's model path (``decorlens train`` writes to ``<data dir>/models``)."""
    try:
        return find_model(name, pipeline.settings.models_dir, pipeline.data_dir).path
    except ModelError:  # the folders named outside any parentheses: the CLI shortens paths, not words
        folders = ", ".join(str(f) for f in model_search_path(pipeline.settings.models_dir, pipeline.data_dir))
        where = f" in {folders}" if Path(name).name == name else ""
        raise ModelError(  # not from the lookup's error, which said the same again and pushed the advice past 200
            f"no fine-tuned model {name}{where}: train one with `decorlens train`, pass --finetuned PATH "
            "or --matchers colour,pretrained"
        ) from None


def _seen(dataset: PairDataset, config: EvalConfig, runners: dict[str, tuple[Pipeline, str]]) -> set[str]:
    """Products the fine-tuned model trained on (its card lists them), else those of training-split pairs."""
    if "finetuned" in runners:
        trained = runners["finetuned"][0].embedder.card.recipe.get("data", {}).get("trained_products")
        if trained is not None:
            return {dataset.canonical(pid) for pid in trained}
    return {dataset.canonical(p.product_id) for p in dataset.pairs_in("train", config.seed)}


def _scenes(dataset: PairDataset, config: EvalConfig) -> list[str]:
    if config.split == "all":
        scenes = sorted({p.scene_id for p in dataset.pairs})
    elif config.split in ("train", "val", "test"):
        scenes = dataset.scenes_in(config.split, config.seed)
    else:
        raise ValueError(f"unknown split {config.split!r} (use train, val, test or all)")
    return scenes[: config.limit_scenes] if config.limit_scenes else scenes


def _producible(pipeline: Pipeline) -> set[str]:
    """Decor categories some loaded detector class maps to."""
    out: set[str] = set()
    for detector in pipeline.detector.detectors:
        card = detector.model.card
        mapped = pipeline.categories.classes.get(card.class_set, {})
        out |= set(mapped.values()) if mapped else {c for c in card.class_names if c in pipeline.categories.search}
    return out


def _score_scene(
    dataset: PairDataset, scene_id: str, pairs: list, base: Pipeline, runners: dict[str, tuple[Pipeline, str]],
    producible: set[str], seen_ids: set[str], config: EvalConfig,
) -> tuple[list[Outcome], SceneTags]:
    image = load_image(dataset.scenes[scene_id])
    start = time.perf_counter()
    detections = base.detect(image, config.conf)
    boxes = [d.box for d in detections]
    parts = [d.parts for d in detections]

    categories = [d.category for d in detections]
    (first, (pipe, matcher)), *others = runners.items()
    queries = pipe.embed_queries(image, boxes, matcher, parts)
    own = pipe.search_queries(queries, categories, TOP_K)
    ms = (time.perf_counter() - start) * 1000.0  # what the app spends on a photo with one matcher
    lists = {first: (own, pipe.search_queries(queries, [None] * len(boxes), MAX_K))}
    for name, (pipe, matcher) in others:  # each matcher embeds the boxes once, for both of its searches
        queries = pipe.embed_queries(image, boxes, matcher, parts)
        lists[name] = (
            pipe.search_queries(queries, categories, TOP_K), pipe.search_queries(queries, [None] * len(boxes), MAX_K)
        )
    wanted = {pair.category for pair in pairs}
    right = [any(c in wanted for c in base.categories.searched(d.category)) for d in detections]
    scene_tags = SceneTags(scene_id, categories, right, ms)
    outcomes = []
    for pair in pairs:
        product = dataset.canonical(pair.product_id)
        outcome = Outcome(scene_id, pair.product_id, pair.category, "evaluated", product in seen_ids,
                          scene_objects=len(detections))
        covering = [i for i, d in enumerate(detections) if base.categories.covers({d.category}, pair.category)]
        if not covering:
            outcome.status = "missed" if base.categories.covers(producible, pair.category) else "not_detectable"
        outcome.boxes = [tuple(detections[i].box) for i in covering]
        for name, (restricted, whole) in lists.items():
            outcome.rank[name] = _best_rank(dataset, product, [restricted[i] for i in covering])
            outcome.global_rank[name] = _best_rank(dataset, product, [whole[i] for i in covering])
            outcome.firsts[name] = [restricted[i][0].sku if restricted[i] else None for i in covering]
        outcomes.append(outcome)
    return outcomes, scene_tags


def _best_rank(dataset: PairDataset, product: str, match_lists: Sequence[Sequence]) -> int | None:
    ranks = [
        rank for matches in match_lists for rank, m in enumerate(matches, 1) if dataset.canonical(m.sku) == product
    ]
    return min(ranks) if ranks else None


# -- reports --------------------------------------------------------------------------------------


def write_reports(result: EvalResult, out_dir: Path, stem: str = "eval") -> dict[str, Path]:
    """``stem.md`` (table), ``stem.csv`` (one row per category × matcher), ``stem.json``, ``stem.png`` (plot)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = result.to_json()
    paths = {"md": out_dir / f"{stem}.md", "csv": out_dir / f"{stem}.csv", "json": out_dir / f"{stem}.json"}
    write_atomic(paths["md"], markdown(data))  # a later ``eval --against`` reads the JSON: never half of one
    write_atomic(paths["csv"], _csv_text(data))
    write_atomic(paths["json"], json.dumps(data, indent=1))
    plot = _plot(data, out_dir / f"{stem}.png")
    if plot:
        paths["png"] = plot
    return paths


def markdown(data: dict[str, Any]) -> str:
    """Overall and seen/unseen rows, then one row per category; percentages of evaluated pairs."""
    matchers = list(data["overall"])
    head = "| | pairs | " + " | ".join(f"{m} top-1 | {m} top-5" for m in matchers) + " |"
    rule = "|---|---:|" + "---:|---:|" * len(matchers)
    rows = [head, rule, _row("**all evaluated**", data["overall"], matchers),
            _row("all pairs, end to end", data["all_pairs"], matchers)]
    rows += [_row(f"{g} products", data["by_product"][g], matchers) for g in ("seen", "unseen")]
    rows += [_row(c, v, matchers) for c, v in data["per_category"].items()]
    recall = ["", "| recall@k (whole catalog) | " + " | ".join(matchers) + " |", "|---|" + "---:|" * len(matchers)]
    for k in CATEGORY_KS:
        recall.append(f"| {k} | " + " | ".join(_pct(data["overall"][m]["recall_at"][k]) for m in matchers) + " |")
    cov = data["coverage"]
    note = (
        f"\n{cov['scenes']:,} scenes, {cov['pairs']:,} pairs: {cov['evaluated']:,} evaluated "
        f"({cov['evaluated_seen']:,} seen in training, {cov['evaluated_unseen']:,} unseen), {cov['missed']:,} missed by "
        f"the detectors, {cov['not_detectable']:,} not detectable "
        f"({', '.join(cov['not_detectable_categories']) or 'none'}).\n"
    )
    return ("\n".join(rows + recall) + "\n" + note + _paired_lines(data) + _against_lines(data) + _coverage_table(data)
            + _tag_table(data))


def _paired_lines(data: dict[str, Any]) -> str:
    lines = [
        f"Against {BASELINE} on the same pairs: {m} top-1 wins {v['top1']['wins']:,}, loses {v['top1']['losses']:,} "
        f"(McNemar p = {v['top1']['p']:.2g}); top-5 wins {v['top5']['wins']:,}, loses {v['top5']['losses']:,} "
        f"(p = {v['top5']['p']:.2g})."
        for m, v in data.get("paired", {}).items()
    ]
    return "\n".join(["", *lines, ""]) if lines else ""


def _against_lines(data: dict[str, Any]) -> str:
    """The run against an earlier report, pair by pair (``training.eval_against``)."""
    c = data.get("against")
    if not c:
        return ""
    lines = [f"Against {c['source']} on the {c['pairs']:,} pairs both scored: covered {_counted(c['covered'])}."]
    lines += [f"{matcher}, end to end: top-1 {_counted(by_k['top1'])}; top-5 {_counted(by_k['top5'])}."
              for matcher, by_k in c["end_to_end"].items()]
    return "\n".join(["", *lines, ""])


def _counted(counts: dict[str, Any]) -> str:
    return (f"{counts['now']:,} against {counts['before']:,} (gains {counts['wins']:,}, loses {counts['losses']:,}, "
            f"McNemar p = {counts['p']:.2g})")


def _coverage_table(data: dict[str, Any]) -> str:
    """Per category: the share of pairs whose scene has a detection that searches the category."""
    settings, cov = data["settings"], data["coverage"]
    summary = (f"Detectors: {settings.get('detectors', '?')} at confidence {settings.get('conf')}, "
               f"{cov.get('objects_per_scene', '?')} objects per scene.")
    lines = ["", summary, "", "| category | pairs | covered | coverage |", "|---|---:|---:|---:|"]
    total = covered = 0
    for category, row in data["coverage_per_category"].items():
        lines.append(f"| {category} | {row['pairs']:,} | {row['covered']:,} | {_pct(row['coverage'])} |")
        total, covered = total + row["pairs"], covered + row["covered"]
    lines.append(f"| **all** | {total:,} | {covered:,} | {_pct(covered / total if total else None)} |")
    return "\n".join(lines) + "\n"


def _tag_table(data: dict[str, Any]) -> str:
    """Per pin category: pins, how many search a category of the scene's paired products, the share."""
    tags = data.get("tags") or {}
    if not tags.get("pins"):
        return ""
    summary = (f"Tags: {tags['pins']:,} pins on {tags['scenes']:,} scenes ({tags['pins_per_scene']} per scene), "
               f"tag precision {_pct(tags['precision'])}, median {tags['ms_per_scene']} ms per scene "
               "(detect, embed, category search).")
    lines = ["", summary, "", "| pin category | pins | of a paired category | tag precision |", "|---|---:|---:|---:|"]
    for category, row in tags["per_category"].items():
        lines.append(f"| {category} | {row['pins']:,} | {row['right']:,} | {_pct(row['precision'])} |")
    lines.append(f"| **all** | {tags['pins']:,} | {tags['right']:,} | {_pct(tags['precision'])} |")
    return "\n".join(lines) + "\n"


def _row(label: str, metrics: dict[str, Any], matchers: list[str]) -> str:
    n = next(iter(metrics.values()))["n"]
    cells = " | ".join(f"{_pct(metrics[m]['top1'])} | {_pct(metrics[m]['top5'])}" for m in matchers)
    return f"| {label} | {n:,} | {cells} |"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _csv_text(data: dict[str, Any]) -> str:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["group", "matcher", "pairs", "top1", "top5", *(f"recall@{k}" for k in CATEGORY_KS)])
    groups = {"all": data["overall"], "all pairs end to end": data["all_pairs"],
              **{f"{g} products": v for g, v in data["by_product"].items()},
              **data["per_category"]}
    for group, metrics in groups.items():
        for matcher, m in metrics.items():
            recall = [m["recall_at"][k] for k in CATEGORY_KS]
            writer.writerow([spreadsheet_safe(group), matcher, m["n"], m["top1"], m["top5"], *recall])
    return text.getvalue()


def _plot(data: dict[str, Any], path: Path) -> Path | None:
    """Recall@k over the whole catalog, one curve per matcher; skipped without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for matcher, metrics in data["overall"].items():
        curve = metrics["recall_at"]
        if curve[1] is not None:
            ks = sorted(curve)
            ax.plot(ks, [100 * curve[k] for k in ks], label=matcher)
    ax.set_xscale("log")
    ax.set_xlabel("k (whole catalog)")
    ax.set_ylabel("recall@k of evaluated pairs (%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path

