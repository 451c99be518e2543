"""Detector training boxes from scene→product pairs, without hand-drawn boxes.

Each scene gets *proposals*: every configured detector's boxes at a low confidence, whatever their
class (class-agnostic NMS), plus a grid of windows like the regions a user drags in the app, for
objects no stock class covers (rugs, cushions). Every proposal is cropped as the engine crops and
embedded, and each product linked to the scene takes the proposal that looks most like its catalog
photo (one proposal per product, best cosine first). A rug lies on the floor, seen from the side: its
top-view product photo looks as much like a patch of plain wall, which won on the grid's squares, so a
rug's product is matched among *floor windows* only (wide, low, in the photo's lower half; the category
map's ``floor`` section names these categories). The assignment becomes a label when its cosine reaches
a threshold calibrated by looking at a sample (docs/detection.md). Labels carry the product's catalog
category, the detector's class.

Three more sources join. Boxes given in ``pairs.csv`` and boxes the user drew or corrected in the
app (``<data dir>/corrections``, read by ``training.app_data``) always win over a pseudo label on the
same object. And the *teacher*: the stock detectors' tags on the scene, as the app would show them
(their cards' confidences, the category map, not people, only categories the catalog sells, merged
across detectors: ``engine.detect.DetectorSet.detect``), so the one trained detector can replace the stock
set (distillation) and is never taught that an unlinked chair is background. Rows of small items are
labelled one by one: the engine groups the trained detector's boxes as it groups the stock ones.

Proposals, assignments and the teacher's boxes are cached per scene, so a new threshold costs a JSON
read; the catalog filter is applied after the cache, so a grown catalog costs nothing either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.boxes import iou
from engine.crops import crops as cut_crops
from engine.crops import to_photo
from engine.detect import merge_detections, nms
from engine.errors import Cancelled
from engine.files import sha256_of, write_atomic
from engine.imageio import load_image, photo_size
from engine.people import without_people
from engine.pipeline import Pipeline
from engine.results import Box, Detection
from engine.settings import Settings
from training.data import Anchor, Pair, PairDataset, cache_key, safe_name
from training.fingerprint import LABEL_CODE

PROPOSAL_CONF = 0.05  # every detector, every class, down to this score
PROPOSAL_NMS = 0.7  # class-agnostic: one proposal per place, whatever class found it
MAX_DETECTOR_PROPOSALS = 150  # per scene, best scores first
GRID_SCALES = (0.25, 0.4, 0.6)  # window side as a share of the image's shorter side
GRID_ASPECTS = (1.0, 2.0, 0.5)  # width / height: square, wide (rugs, sofas), tall (lamps, curtains)
FLOOR_SCALES = (0.3, 0.45, 0.6, 0.8)
FLOOR_ASPECTS = (3.0, 5.0)  # a rug seen from the side: 3 to 5 times wider than high
FLOOR_DISCOUNT = 0.13  # a floor window needs this much less cosine (calibrated: docs/detection.md)
DETECTOR_BONUS = 0.05  # a detector box beats a grid window unless the window looks clearly more alike
DEFAULT_THRESHOLD = 0.55  # cosine at which an assignment becomes a label (calibrated: docs/detection.md)
SAME_OBJECT_IOU = 0.5  # a weaker label overlapping a stronger one this much is the same object
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Label:
    """One box of a training image, in the scene photo's pixels."""

    box: Box
    category: str
    source: str  # "given" (pairs.csv), "user" (app corrections), "pair" (pseudo label), "teacher" (stock tag),
    # "pasted" (a catalog photo pasted into a copy of the scene: training.pasted_products)
    product_id: str = ""
    score: float = 1.0  # cosine for pseudo labels, confidence for the teacher's


@dataclass
class SceneLabels:
    scene_id: str
    image: Path
    width: int
    height: int
    labels: list[Label]


@dataclass(frozen=True)
class Assignment:
    """A linked product's best proposal, kept whatever its cosine (the threshold is applied later)."""

    product_id: str
    box: Box
    cosine: float


def grid_windows(width: int, height: int) -> np.ndarray:
    """Windows at several scales and aspects with half-window strides, clipped to the image."""
    return _windows(width, height, GRID_SCALES, GRID_ASPECTS)


def floor_windows(width: int, height: int) -> np.ndarray:
    """Wide, low windows centred in the photo's lower half: where a rug lies, seen from the side."""
    windows = _windows(width, height, FLOOR_SCALES, FLOOR_ASPECTS)
    return windows[(windows[:, 1] + windows[:, 3]) / 2 >= height / 2]


def _windows(width: int, height: int, scales: Sequence[float], aspects: Sequence[float]) -> np.ndarray:
    side = min(width, height)
    windows = []
    for scale in scales:
        for aspect in aspects:
            w = min(width, side * scale * np.sqrt(aspect))
            h = min(height, side * scale / np.sqrt(aspect))
            xs = _positions(width - w, w / 2)
            ys = _positions(height - h, h / 2)
            windows += [(x, y, x + w, y + h) for y in ys for x in xs]
    return np.array(windows, np.float32).reshape(-1, 4)


def _positions(span: float, stride: float) -> np.ndarray:
    """Starts from 0 to ``span`` inclusive, evenly spaced, no further apart than ``stride``."""
    return np.linspace(0, max(span, 0.0), int(np.ceil(max(span, 0.0) / stride)) + 1)


def propose(image: np.ndarray, pipeline, floor: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate boxes (N, 4): ``pipeline``'s detector boxes of any class, the grid windows, then (``floor``)
    the floor windows; a bonus per box; which boxes are floor windows.

    Windows are loose (without a bonus three quarters of the labels were windows, docs/detection.md),
    so a detector box gets ``DETECTOR_BONUS`` of cosine in the assignment.
    """
    found = [d.detect_raw(image, PROPOSAL_CONF) for d in pipeline.detector.detectors]
    boxes = np.concatenate([b for b, _, _ in found]) if found else np.zeros((0, 4), np.float32)
    scores = np.concatenate([s for _, s, _ in found]) if found else np.zeros(0, np.float32)
    wide = (boxes[:, 2] - boxes[:, 0] >= 8) & (boxes[:, 3] - boxes[:, 1] >= 8)
    boxes, scores = boxes[wide], scores[wide]
    keep = nms(boxes, scores, PROPOSAL_NMS)[:MAX_DETECTOR_PROPOSALS]
    h, w = image.shape[:2]
    windows = grid_windows(w, h)
    floors = floor_windows(w, h) if floor else np.zeros((0, 4), np.float32)
    bonus = np.r_[np.full(len(keep), DETECTOR_BONUS), np.zeros(len(windows) + len(floors))].astype(np.float32)
    on_floor = np.r_[np.zeros(len(keep) + len(windows), bool), np.ones(len(floors), bool)]
    return np.concatenate([boxes[keep], windows, floors]).astype(np.float32), bonus, on_floor


def assign(product_vectors: np.ndarray, proposal_vectors: np.ndarray, bonus: np.ndarray | None = None,
           allowed: np.ndarray | None = None) -> list[tuple[int, int, float]]:
    """Greedy one-to-one (product, proposal, cosine), best ``cosine + bonus`` first, among the ``allowed``
    (products × proposals) pairs.

    Greedy in descending order means dropping an assignment under a threshold later changes no
    other, so one assignment serves every threshold. The cosine returned is without the bonus.
    """
    cosine = product_vectors @ proposal_vectors.T
    score = cosine + (0.0 if bonus is None else bonus[None, :])
    if allowed is not None:
        score = np.where(allowed, score, -np.inf)
    out = []
    while score.size and np.isfinite(score).any():
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        out.append((int(i), int(j), float(cosine[i, j])))
        score[i, :] = -np.inf
        score[:, j] = -np.inf
    return out


def teacher_pipeline(pipeline: Pipeline) -> Pipeline:
    """``pipeline`` with the stock detectors (``resources/defaults.yaml``), whichever detectors are active.

    The stock set is the teacher: a user who activated a trained detector and trains again distils
    the stock tags again, not the previous student's. Same data dir, category map, catalog, embedder.
    """
    stock = Settings.defaults().detectors
    if pipeline.settings.detectors == stock:
        return pipeline
    return Pipeline(pipeline.settings.with_(detectors=stock), pipeline.log, pipeline.categories)


class PseudoLabeller:
    """Labels for the scenes of a dataset, with the engine's crops and embedder and the stock detectors."""

    def __init__(self, dataset: PairDataset, pipeline, cache_dir: Path, classes: Sequence[str],
                 threshold: float = DEFAULT_THRESHOLD, corrections: Mapping[str, UserScene] | None = None):
        """``corrections``: what the user kept and removed in the app, by the photo's sha256."""
        self.dataset = dataset
        self.pipeline = teacher_pipeline(pipeline)
        self.cache_dir = cache_dir
        self.classes = set(classes)
        self.threshold = threshold
        self.corrections = dict(corrections or {})
        self.floor = self.pipeline.categories.lies_on_floor  # matched among floor windows only
        self.key = cache_key(self.pipeline, LABEL_CODE)  # the map's floor list is part of its detection digest
        self.sold: Collection[str] | None = self.pipeline.sold_categories()

    def label_all(self, scene_ids: Sequence[str], progress: Progress | None = None,
                  cancelled: Callable[[], bool] = lambda: False) -> list[SceneLabels]:
        by_scene: dict[str, list[Pair]] = {}
        for pair in self.dataset.pairs:
            by_scene.setdefault(pair.scene_id, []).append(pair)
        out = []
        for done, scene_id in enumerate(scene_ids, 1):
            if cancelled():
                raise Cancelled("labelling cancelled; the scenes done so far are cached")
            out.append(self.label(scene_id, by_scene.get(scene_id, [])))
            if progress:
                progress(done, len(scene_ids))
        return out

    def label(self, scene_id: str, pairs: Sequence[Pair]) -> SceneLabels:
        path = self.dataset.scenes[scene_id]
        cached = self._cached(scene_id, path, pairs)
        labels = [Label(p.box, p.category, "given", p.product_id) for p in pairs if p.box]
        pseudo = [(a, _category(pairs, a.product_id)) for a in cached["assignments"]]
        labels += [Label(a.box, category, "pair", a.product_id, a.cosine) for a, category in pseudo
                   if a.cosine >= required_cosine(self.floor(category), self.threshold)]
        labels += [Label(d.box, d.category, "teacher", "", d.score) for d in self.teacher(cached["teacher"])]
        user = self.corrections.get(cached["sha256"])
        if user is not None:
            labels = merge_user(user, labels)
        labels = [lab for lab in keep_strongest(labels) if lab.category in self.classes]
        return SceneLabels(scene_id, path, cached["width"], cached["height"], labels)

    def teacher(self, found: Sequence[Detection]) -> list[Detection]:
        """The stock tags of a scene, as ``DetectorSet.detect`` makes them: sold categories, then merged."""
        if self.sold is not None:
            found = [d for d in found if d.category in self.sold]
        return merge_detections(found, self.pipeline.detector.merge_iou)

    def _cached(self, scene_id: str, path: Path, pairs: Sequence[Pair]) -> dict:
        cache_file = self.cache_dir / f"{safe_name(scene_id)}.json"
        try:
            data = json.loads(cache_file.read_text())
        except (OSError, json.JSONDecodeError):
            data = {}
        wanted = sorted(p.product_id for p in pairs if p.box is None)
        if data.get("key") != self.key or data.get("products") != wanted:
            data = self._compute(path, pairs, wanted)
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(cache_file, json.dumps(data))
        data["assignments"] = [Assignment(a[0], tuple(a[1]), a[2]) for a in data["assignments"]]
        data["teacher"] = [Detection(tuple(box), score, label, category, source)
                           for box, score, label, category, source in data["teacher"]]
        return data

    def _compute(self, path: Path, pairs: Sequence[Pair], wanted: list[str]) -> dict:
        """The scene's assignments and teacher boxes, found on the pixels decoded and kept in the photo's own pixels
        (with its size), as pairs.csv's given boxes and the app's corrections are."""
        image = load_image(path)
        w, h = photo_size(image)
        assignments = []
        if wanted:
            flat = np.array([self.floor(_category(pairs, pid)) for pid in wanted])
            boxes, bonus, on_floor = propose(image, self.pipeline, floor=bool(flat.any()))
            embed = self.pipeline.embedder.embed
            proposal_vectors = embed(cut_crops(image, [tuple(b) for b in boxes], self.pipeline.settings.padding))
            products = [load_image(self.dataset.products[pid].images[0], max_side=1024) for pid in wanted]
            allowed = flat[:, None] == on_floor[None, :]
            for i, j, cos in assign(embed(products), proposal_vectors, bonus, allowed):
                box = to_photo(image, tuple(float(v) for v in boxes[j]))
                assignments.append([wanted[i], [round(v, 1) for v in box], round(cos, 4)])
        # every stock detector's mapped boxes at its card's confidence, not people (the engine's pose filter
        # when installed), before the catalog filter and the merge
        people = self.pipeline.people_in(image)
        teacher = [[[round(v, 1) for v in to_photo(image, d.box)], round(d.score, 4), d.label, d.category, d.source]
                   for detector in self.pipeline.detector.detectors
                   for d in without_people(detector.detect(image), people)]
        return {"key": self.key, "products": wanted, "sha256": sha256_of(path), "width": w, "height": h,
                "assignments": assignments, "teacher": teacher}


def region_anchors(dataset: PairDataset, pairs: Sequence[Pair], pipeline, cache_dir: Path, min_cosine: float,
                   progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False) -> list[Anchor]:
    """Embedder training anchors from the pseudo labeller: any proposal, not only a detection of the category.

    More pairs get an anchor than with ``training.data.find_anchors`` (the grid finds rugs and
    cushions no detector class covers), at the price of looser boxes.
    """
    labeller = PseudoLabeller(dataset, pipeline, cache_dir, sorted({p.category for p in pairs}), min_cosine)
    wanted = {(p.scene_id, p.product_id) for p in pairs}
    scenes = labeller.label_all(sorted({p.scene_id for p in pairs}), progress, cancelled)
    return [
        Anchor(lab.product_id, lab.category, scene.image, lab.box, lab.score, scene.scene_id)
        for scene in scenes for lab in scene.labels
        if lab.source in ("pair", "given") and (scene.scene_id, lab.product_id) in wanted
    ]


def required_cosine(on_floor: bool, threshold: float) -> float:
    """The cosine at which an assignment becomes a label: less for a product that lies ``on_floor``."""
    return threshold - FLOOR_DISCOUNT if on_floor else threshold


def _category(pairs: Sequence[Pair], product_id: str) -> str:
    return next(p.category for p in pairs if p.product_id == product_id)


def keep_strongest(labels: Sequence[Label]) -> list[Label]:
    """One label per object: given and user boxes beat pseudo labels, which beat the teacher's."""
    rank = {"user": 0, "given": 1, "pair": 2, "teacher": 3}
    kept: list[Label] = []
    for label in sorted(labels, key=lambda lab: (rank[lab.source], -lab.score)):
        if label.source in ("user", "given") or all(iou(label.box, k.box) < SAME_OBJECT_IOU for k in kept):
            kept.append(label)
    return kept


@dataclass(frozen=True)
class UserScene:
    """What the user left in a corrected scene: the boxes kept or drawn, and those removed."""

    kept: list[Label]
    removed: list[Box]


def merge_user(user: UserScene, labels: Sequence[Label]) -> list[Label]:
    """The user's boxes, plus other labels that touch neither a kept nor a removed box."""
    taken = [lab.box for lab in user.kept] + user.removed
    return user.kept + [lab for lab in labels if all(iou(lab.box, b) < SAME_OBJECT_IOU for b in taken)]


def label_counts(scenes: Sequence[SceneLabels]) -> dict[str, dict[str, int]]:
    """Labels per category and source: what the detector will learn from."""
    counts: dict[str, dict[str, int]] = {}
    for scene in scenes:
        for label in scene.labels:
            by_source = counts.setdefault(label.category, {})
            by_source[label.source] = by_source.get(label.source, 0) + 1
    return dict(sorted(counts.items()))


def to_json(scene: SceneLabels) -> dict:
    return {**asdict(scene), "image": str(scene.image)}
