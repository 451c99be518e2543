"""ONNX object detectors (YOLOv8/YOLO11 exports) with letterbox, decode and NMS in numpy.

The decode reproduces ultralytics' own post-processing (confidence on the best class, per-class NMS
with a coordinate offset, at most ``max_det`` boxes), so our boxes match ``YOLO.predict`` on the
same ONNX file. Classes are then mapped to decor categories; several detectors can run together and
their boxes are merged into one per object (``merge_detections``, then ``fold_wholes`` for the tags).
``join_parts`` makes side-by-side boxes of a class that names a part (a drawer, a shelf) one box, and
``group_repeats`` turns a cluster of small boxes of one category (books on a shelf, a row of jars) into
one tag. A photo much wider or taller than the square input is also detected in overlapping tiles (``tiles``).
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

import numpy as np

from engine.boxes import area, covered, iou, moved, overlap
from engine.categories import CategoryMap
from engine.errors import ModelError
from engine.models import ResolvedModel, a_kind, card_path_for
from engine.preprocess import letterbox
from engine.results import Detection
from engine.runtime import DevicePreference, open_model, session_device

MAX_WH = 7680.0  # ultralytics' per-class offset: boxes of different classes never overlap
DECOR_CLASS_SET = "decor"  # fine-tuned detectors whose class names are decor categories already
CROSS_IOU = 0.75  # two categories on much the same box: one object (an armchair under a throw called a table)
CONTAINED = 0.9  # share of a box inside a better one of its own category that makes it a part
FLOOR_OVERLAP = 0.3  # share of the smaller of two boxes of a floor category (rugs) they share: one object
SMALL_AREA = 0.015  # share of the image below which a box is a small item that may come in rows
REPEAT_GAP = 1.0  # small boxes this many of their own (shorter) sizes apart or closer are one row
REPEAT_MIN = 3  # this many small boxes of one category in one row are one group: one tag
PART_GAP = 0.25  # boxes of a part class this many of their (shorter) sizes apart or closer touch
PART_ALIGN = 0.5  # ... and are side by side when they share this much of the smaller one's height (or width)
WIDE = 2.0  # a photo whose long side is more than this many times its short one is also detected in tiles
TILE_OVERLAP = 0.25  # share of a tile's length its neighbour shares: an object this long lies whole in one tile
MAX_TILES = 12  # most tiles along a photo (each is one more detector run); beyond it the tiles are longer than square


class Detector:
    """One ONNX detector and its card."""

    def __init__(
        self,
        model: ResolvedModel,
        categories: CategoryMap,
        device: DevicePreference = "auto",
        conf: float | None = None,
        iou: float = 0.7,
        max_det: int = 300,
    ):
        card = model.card
        if card.kind != "detector":
            raise ModelError(f"{model.path} is {a_kind(card.kind)}, not a detector")
        if not card.class_names:
            raise ModelError(f"model card of {model.path} lists no class names")
        if card.class_set != DECOR_CLASS_SET and card.class_set not in categories.classes:
            # quietly, such a detector found nothing at all, and every photo was "no decor found"
            raise ModelError(f"category map {categories.source}: no detectors section for class set "
                             f"{reprlib.repr(card.class_set)}, so a detector would tag nothing; add one, or delete the map")
        self.model = model
        self.name = card.name
        self.categories = categories
        self.conf = card.default_conf if conf is None else conf
        # The category map's per-class confidences apply where the card's own one would (not under a set one).
        self.class_conf = categories.class_confidence(card.class_set) if conf is None else {}
        self.parts = categories.part_classes(card.class_set)
        self.iou = iou
        self.max_det = max_det
        self.session = open_model(model, device)
        self.device = session_device(self.session)
        shape = next(o.shape for o in self.session.get_outputs() if o.name == card.output_name)
        self._check_layout(shape)  # a size onnxruntime cannot tell at open is checked on every run
        self._decor = [self._decor_of(label) for label in card.class_names]

    def detect(self, image: np.ndarray, conf: float | None = None) -> list[Detection]:
        """Decor objects in an RGB uint8 image; non-decor classes are dropped."""
        boxes, scores, classes = self.detect_raw(image, conf)
        names = self.model.card.class_names
        found = [
            Detection(tuple(map(float, b)), float(s), names[c], self._decor[c], self.name)
            for b, s, c in zip(boxes, scores, classes)
            if self._decor[c] is not None
        ]
        return join_parts(found, self.parts)

    def detect_raw(self, image: np.ndarray, conf: float | None = None) -> tuple[np.ndarray, ...]:
        """All classes, as ultralytics returns them: boxes (N, 4) xyxy in image pixels, scores, class ids."""
        card = self.model.card
        tensor, placement = letterbox(image, card.input_size)
        (raw,) = self.session.run([card.output_name], {card.input_name: tensor})
        self._check_layout(raw.shape)
        floors = self._class_floors() if conf is None else None
        floor = float(floors.min()) if floors is not None else self.conf if conf is None else conf
        boxes, scores, classes = decode(raw[0], floor, self.iou, self.max_det)
        if floors is not None:  # NMS only lets better boxes of a class suppress: this is decoding at each floor
            keep = scores > floors[classes]
            boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
        boxes = placement.unmap(boxes)
        h, w = image.shape[:2]
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        return boxes, scores, classes

    def _check_layout(self, shape: Sequence[int | str | None]) -> None:
        """Refuse an output that is not (1, 4 + one score per class name of the card, anchors), which ``decode``
        reads: a card listing 3 classes for an 80-class model failed every search on an IndexError."""
        path, names = self.model.path, len(self.model.card.class_names)
        one_image = len(shape) == 3 and (shape[0] == 1 or not isinstance(shape[0], int))  # a name: any batch
        rows = shape[1] if one_image else None
        if not one_image or isinstance(rows, int) and rows < 5:
            raise ModelError(f"{path.name}: its output {reprlib.repr(self.model.card.output_name)} is not a "
                             f"YOLOv8/11 head's (1, 4 + classes, boxes) but {reprlib.repr(list(shape))}: it is no "
                             "detector this app can run")
        if isinstance(rows, int) and rows != 4 + names:
            raise ModelError(f"{path.name} scores {rows - 4} classes a box but its card {card_path_for(path).name} "
                             f"lists {names} class names: the card was written for another model")

    def _class_floors(self) -> np.ndarray | None:
        """Per class id, the confidence a box must beat: the map's per-class value, else the detector's."""
        if not self.class_conf:
            return None
        return np.array([self.class_conf.get(c, self.conf) for c in self.model.card.class_names], np.float32)

    @property
    def finds(self) -> frozenset[str]:
        """The decor categories this detector can report: a shop selling only others gets no tag from it."""
        return frozenset(c for c in self._decor if c is not None)

    def _decor_of(self, label: str) -> str | None:
        if self.model.card.class_set == DECOR_CLASS_SET:
            return label if label in self.categories.search else None
        return self.categories.decor_category(self.model.card.class_set, label)


class DetectorSet:
    """Several detectors run on the same image, their decor boxes merged.

    Boxes of the same decor category that overlap (IoU ≥ ``merge_iou``) are one object whatever
    detector or class produced them: COCO "couch" and OIV7 "Sofa bed" become one sofa.
    """

    def __init__(self, detectors: Sequence[Detector], merge_iou: float = 0.5):
        if not detectors:
            raise ModelError("no detector configured")
        self.detectors = list(detectors)
        self.merge_iou = merge_iou
        self.device = self.detectors[0].device
        self.name = "+".join(d.name for d in self.detectors)

    def detect(
        self, image: np.ndarray, conf: float | None = None, allowed: Collection[str] | None = None
    ) -> list[Detection]:
        """Merged decor objects; with ``allowed``, only those decor categories, dropped *before* the merge.

        Filtering first matters: when one object is called both a category the shop sells and one it
        does not, the merge must keep the one that can become a tag, even if it scored lower.
        """
        return self.detect_split(image, conf, allowed)[0]

    def detect_split(
        self, image: np.ndarray, conf: float | None = None, allowed: Collection[str] | None = None
    ) -> tuple[list[Detection], list[Detection]]:
        """``detect``'s objects, and the others seen, merged apart: of categories not ``allowed``, less those that
        are an allowed object seen under another name. The detectors run once for both: a lamp shop's photo of a
        living room has no tag, and a screen says what was seen there rather than "nothing found"."""
        found = [det for d in self.detectors for det in self._detect_tiled(d, image, conf)]
        if allowed is None:
            return merge_detections(found, self.merge_iou), []
        kept = merge_detections([d for d in found if d.category in allowed], self.merge_iou)
        others = merge_detections([d for d in found if d.category not in allowed], self.merge_iou)
        return kept, [d for d in others if all(iou(d.box, k.box) < CROSS_IOU for k in kept)]

    @staticmethod
    def _detect_tiled(detector: Detector, image: np.ndarray, conf: float | None) -> list[Detection]:
        """``detector``'s objects on the whole image and, for a wide or tall one, on each of its ``tiles``, boxes in
        the image's pixels; the merge makes one of an object seen in several.

        Letterboxed whole, a 20:1 panorama's objects were squeezed into 640×32 pixels and none was found; SAHI and
        ultralytics slice such an image. The whole image is still run, so an object spanning tiles is found too.
        """
        found = detector.detect(image, conf)
        for x1, y1, x2, y2 in tiles(image.shape[1], image.shape[0]):
            found += [replace(d, box=moved(d.box, x1, y1)) for d in detector.detect(image[y1:y2, x1:x2], conf)]
        return found


def seen_size(width: int, height: int) -> tuple[int, int]:
    """The (width, height) at whose scale a photo's objects are detected: its tiles' for a wide or tall one (``tiles``),
    else its own. What a "small" object (``group_repeats``) is measured against: measured against a panorama of six
    rooms, a room's four chairs were small, and grouped into one tag."""
    found = tiles(width, height)
    return (found[0][2] - found[0][0], found[0][3] - found[0][1]) if found else (width, height)


def tiles(
    width: int, height: int, wide: float = WIDE, overlap: float = TILE_OVERLAP, most: int = MAX_TILES
) -> list[tuple[int, int, int, int]]:
    """Overlapping windows (x1, y1, x2, y2) of about square aspect along the long side of an image more than ``wide``
    times as long as high (or high as long), sharing ``overlap`` of their length with each neighbour; at most
    ``most``, the longer where more would be needed. None for an ordinary photo: it takes one run only."""
    long, short = max(width, height), min(width, height)
    if long <= wide * short:
        return []
    count = min(most, math.floor(1 + (long / short - 1) / (1 - overlap)))  # the most tiles at least square
    length = long / (1 + (count - 1) * (1 - overlap))
    step = (long - length) / (count - 1)
    spans = [(round(i * step), min(long, round(i * step + length))) for i in range(count)]
    return [(a, 0, b, height) if width >= height else (0, a, width, b) for a, b in spans]


def merge_detections(
    found: Sequence[Detection], max_iou: float, cross_iou: float = CROSS_IOU, contained: float = CONTAINED
) -> list[Detection]:
    """One detection per object, highest score first.

    Per-category NMS across sources (``max_iou``); then a box that is almost the same as a better one of
    another category (``cross_iou``: one chair called both chair and table) is dropped, and one that lies
    almost wholly inside a better one of its own category (``contained``: a sofa's seat found as a second
    sofa) becomes one of its ``parts``, so the user sees one pin per object.
    """
    if not found:
        return []
    cats = sorted({d.category for d in found})
    boxes = np.array([d.box for d in found], np.float32)
    scores = np.array([d.score for d in found], np.float32)
    offsets = np.array([cats.index(d.category) for d in found], np.float32)[:, None] * MAX_WH
    kept: list[Detection] = []
    for i in nms(boxes + offsets, scores, max_iou):
        candidate = found[i]
        n = next((n for n, better in enumerate(kept) if _duplicates(candidate, better, cross_iou, contained)), None)
        if n is None:
            kept.append(candidate)
        elif kept[n].category == candidate.category:
            kept[n] = _with_part(kept[n], candidate)
    return kept


def _duplicates(candidate: Detection, better: Detection, cross_iou: float, contained: float) -> bool:
    if candidate.category == better.category:
        return covered(candidate.box, better.box) >= contained
    return iou(candidate.box, better.box) >= cross_iou


def as_tags(found: Sequence[Detection], image_size: tuple[int, int], categories: CategoryMap) -> list[Detection]:
    """The detections that become tags: a part and its whole one tag (``fold_wholes``), one rug one tag
    (``one_per_floor_object``), a row of small items one tag (``group_repeats``)."""
    tags = one_per_floor_object(fold_wholes(found), categories.floor_categories())
    return group_repeats(tags, image_size)


def fold_wholes(detections: Sequence[Detection], contained: float = CONTAINED) -> list[Detection]:
    """One pin where the better-scored box is a part of a worse one of its category; best first.

    ``merge_detections`` folds a worse box lying inside a better one. Trained detectors also score a
    pendant lamp's shade above the whole lamp, and gave up to six pins on one lamp. The whole joins the
    part's ``parts``, so the pin still searches with its crop too. This is a tags step, not part of
    ``DetectorSet.detect``: training labels keep both boxes, as the shipped detectors were trained.
    """
    kept: list[Detection] = []
    for candidate in sorted(detections, key=lambda d: -d.score):
        n = next((n for n, better in enumerate(kept)
                  if better.category == candidate.category and covered(better.box, candidate.box) >= contained), None)
        if n is None:
            kept.append(candidate)
        else:
            kept[n] = _with_part(kept[n], candidate)
    return kept


def one_per_floor_object(detections: Sequence[Detection], floor: Collection[str]) -> list[Detection]:
    """Without the boxes of a ``floor`` category (rugs) that share ``FLOOR_OVERLAP`` of the smaller box with a
    better-scored one of it; order kept.

    A detector trained on windows of the floor finds one rug as up to nine offset windows, each a pin.
    Searching with the dropped windows' crops as well found no more products on the test scenes
    (docs/results.md), and their matches (bare floor as a white rug) crowded the best window's out.
    """
    kept: list[Detection] = []
    for d in detections:
        if d.category in floor and any(
            k.category == d.category and k.score >= d.score and overlap(k.box, d.box) >= FLOOR_OVERLAP for k in kept
        ):
            continue
        kept.append(d)
    return kept


def _with_part(kept: Detection, part: Detection) -> Detection:
    """``kept`` holding ``part``'s box and the parts ``part`` held, for the search to look at too."""
    return replace(kept, parts=(*kept.parts, part.box, *part.parts))


def join_parts(
    detections: Sequence[Detection], parts: Collection[str], gap: float = PART_GAP, align: float = PART_ALIGN
) -> list[Detection]:
    """Side-by-side boxes of one part class (the drawers of a chest, a bookcase's shelves) as one box.

    The detector finds each drawer of a TV bench: two pins on one piece of furniture, each searching
    with the crop of a drawer. Their union is the piece (or most of it), one pin and a better crop. It
    keeps the best member's score. Boxes of other classes pass unchanged, in order.
    """
    candidates = [i for i, d in enumerate(detections) if d.label in parts]

    def side_by_side(a: Detection, b: Detection) -> bool:
        return a.label == b.label and _gap(a.box, b.box) <= gap * min(_side(a.box), _side(b.box)) and (
            _overlap(a.box, b.box, 1) >= align * min(a.box[3] - a.box[1], b.box[3] - b.box[1])
            or _overlap(a.box, b.box, 0) >= align * min(a.box[2] - a.box[0], b.box[2] - b.box[0]))

    joined = {}
    for members in _clusters(candidates, detections, side_by_side):
        best = detections[members[0]]
        boxes = np.array([detections[i].box for i in members])
        box = (*boxes[:, :2].min(0).tolist(), *boxes[:, 2:].max(0).tolist())
        joined[members[0]] = Detection(tuple(box), best.score, best.label, best.category, best.source)
        joined.update({i: None for i in members[1:]})
    kept = [joined.get(i, d) for i, d in enumerate(detections)]
    return [d for d in kept if d is not None]


def group_repeats(
    detections: Sequence[Detection], image_size: tuple[int, int], small: float = SMALL_AREA,
    gap: float = REPEAT_GAP, min_count: int = REPEAT_MIN,
) -> list[Detection]:
    """One detection per row of ≥ ``min_count`` small same-category boxes close together; order kept.

    A shelf of books or a row of jars gave a pin each: a dozen pins on one spot, all searching the
    same products. The group keeps its best-scored member, whose crop is the clearest to search with.
    Large objects are never grouped (six chairs round a table are six chairs).
    """
    width, height = image_size
    limit = small * width * height
    rows = _rows([i for i, d in enumerate(detections) if area(d.box) <= limit], detections, gap)
    dropped = {i for row in rows if len(row) >= min_count for i in row[1:]}
    return [d for i, d in enumerate(detections) if i not in dropped]


def _rows(candidates: list[int], detections: Sequence[Detection], gap: float) -> list[list[int]]:
    """Clusters of same-category boxes within ``gap`` sizes; members best score first."""
    return _clusters(candidates, detections, lambda a, b: a.category == b.category
                     and _gap(a.box, b.box) <= gap * min(_side(a.box), _side(b.box)))


def _clusters(
    candidates: list[int], detections: Sequence[Detection], linked: Callable[[Detection, Detection], bool]
) -> list[list[int]]:
    """Single-linkage clusters of ``candidates`` under ``linked``; members best score first."""
    parent = {i: i for i in candidates}

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for n, i in enumerate(candidates):
        for j in candidates[n + 1:]:
            if linked(detections[i], detections[j]):
                parent[root(j)] = root(i)
    rows: dict[int, list[int]] = {}
    for i in candidates:
        rows.setdefault(root(i), []).append(i)
    return [sorted(row, key=lambda i: -detections[i].score) for row in rows.values()]


def _side(box: Sequence[float]) -> float:
    return min(box[2] - box[0], box[3] - box[1])


def _gap(a: Sequence[float], b: Sequence[float]) -> float:
    """Distance between two boxes' nearest edges; 0 when they overlap."""
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    return float(np.hypot(dx, dy))


def _overlap(a: Sequence[float], b: Sequence[float], axis: int) -> float:
    """Length the two boxes share along ``axis`` (0: x, 1: y)."""
    return max(0.0, min(a[axis + 2], b[axis + 2]) - max(a[axis], b[axis]))


def decode(raw: np.ndarray, conf: float, max_iou: float, max_det: int) -> tuple[np.ndarray, ...]:
    """YOLOv8/11 head output (4 + nc, anchors) → xyxy boxes, scores, class ids after NMS."""
    class_scores = raw[4:]  # (nc, anchors): reduce along contiguous rows, argmax only where it passes
    scores = class_scores.max(0)
    mask = scores > conf
    classes = class_scores[:, mask].argmax(0)
    xywh, scores = raw[:4, mask].T, scores[mask]
    boxes = np.empty_like(xywh)
    boxes[:, :2] = xywh[:, :2] - xywh[:, 2:] / 2
    boxes[:, 2:] = xywh[:, :2] + xywh[:, 2:] / 2
    keep = nms(boxes + classes[:, None].astype(np.float32) * MAX_WH, scores, max_iou)[:max_det]
    return boxes[keep], scores[keep], classes[keep]


def nms(boxes: np.ndarray, scores: np.ndarray, max_iou: float) -> np.ndarray:
    """Greedy non-maximum suppression (a box overlapping a kept one by more than ``max_iou`` goes); indices of kept
    boxes in descending score order."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        overlap = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[overlap <= max_iou]
    return np.array(keep, dtype=np.int64)
