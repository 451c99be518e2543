"""People in photos: where their bodies and faces are, so that tags land on products, not on people.

Lifestyle photos show people sitting on the sofa they sell. A detector may call a seated person part of
the chair, and a pin placed by the category rule may fall on an arm or a face. A YOLOv8-pose ONNX model
(exported by ``decorlens models export yolov8n-pose-ovint8-dq.pt``) finds each person and 17 COCO
keypoints; from those this module draws two masks (``PeopleRegions``): the *body* (limbs as thick
segments between joints, the torso polygon, the head) and the *face* (an ellipse over the nose, eyes and
ears). ``engine.tags`` keeps pins off both, and ``without_people`` drops detections that are people.

Drawing the body from keypoints rather than taking the person's box matters: a person standing before a
sofa hides only a strip of it, and the sofa parts beside the person's arms are still the sofa, where
its pin belongs. Decoding mirrors ``engine.detect`` (same letterbox, NMS in numpy), so no torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from engine.detect import nms
from engine.errors import ModelError
from engine.models import ModelCard, ResolvedModel, a_kind, read_card
from engine.onnx_cards import detector_card
from engine.paths import model_search_path
from engine.preprocess import letterbox
from engine.remedies import EXPORT_POSE
from engine.results import Box, Detection
from engine.runtime import DevicePreference, open_model, session_device

PeopleSetting = Literal["auto", "on", "off"]
POSE_CONF = 0.5  # the shared rooms' false people (a red armchair, a curtain at 0.42) stay below it (docs/results.md)
POSE_CLASS_SET = "coco-pose"
# Official export first, then the one of the rebuilt weights shared with the project (as in defaults.yaml).
POSE_MODELS = ("yolov8n-pose.onnx", "yolov8n-pose-ovint8-dq.onnx")
POSE_WEIGHTS = "yolov8n-pose-ovint8-dq.pt"

KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
FACE = (0, 1, 2, 3, 4)
SHOULDERS, HIPS = (5, 6), (11, 12)
TORSO = (5, 6, 12, 11)  # polygon order: left shoulder, right shoulder, right hip, left hip
PELVIS = (11, 12, 14, 13)  # hips and knees: trousers and skirts fill the gap between the thighs
ARMS = ((5, 7), (7, 9), (6, 8), (8, 10))
LEGS = ((11, 13), (13, 15), (12, 14), (14, 16))

KEYPOINT_CONF = 0.5  # a keypoint below this is not drawn (ultralytics' own plotting threshold)
# Widths as fractions of the person's scale (about the shoulder width): joints are centres, clothes add width.
ARM_WIDTH = 0.55
LEG_WIDTH = 0.7
TORSO_PAD = 0.2
FACE_RADIUS = 0.3  # half the face's width; its height is FACE_TALL times that (chin to hair)
FACE_TALL = 1.35
HEAD_GROW = 1.25  # the head (hair, back of the head) is a little larger than the face
MIN_BODY_POINTS = 3  # with fewer keypoints seen the body cannot be drawn: the person's box stands for it
MOSTLY_PERSON = 0.5  # a detection box this much covered by bodies is a person, not a product

# Class names of people and their parts in the detectors' class sets (COCO, Open Images): never a product.
PERSON_LABELS = frozenset({"person", "man", "woman", "boy", "girl"})
HUMAN_PREFIX = "human "


@dataclass(frozen=True)
class Person:
    """One person: box (x1, y1, x2, y2) and 17 keypoints (x, y, confidence) in image pixels."""

    box: Box
    score: float
    keypoints: np.ndarray  # (17, 3)

    def seen(self, index: int) -> bool:
        return bool(self.keypoints[index, 2] >= KEYPOINT_CONF)

    def point(self, index: int) -> np.ndarray:
        return self.keypoints[index, :2]


@dataclass(frozen=True)
class PeopleRegions:
    """The people of one photo and the pixels they take: ``body`` includes ``face``; both (H, W) bool."""

    people: tuple[Person, ...]
    body: np.ndarray
    face: np.ndarray

    def on_body(self, point: tuple[float, float]) -> bool:
        return _at(self.body, point)

    def on_face(self, point: tuple[float, float]) -> bool:
        return _at(self.face, point)

    def body_share(self, box: Box) -> float:
        """Share of ``box``'s pixels that are some person's body."""
        h, w = self.body.shape
        x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
        x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
        if x2 <= x1 or y2 <= y1:
            return 0.0
        return float(self.body[y1:y2, x1:x2].mean())


class PoseModel:
    """A YOLOv8-pose ONNX model and its card (kind ``pose``)."""

    def __init__(
        self, model: ResolvedModel, device: DevicePreference = "auto", conf: float | None = None, iou: float = 0.7
    ):
        card = model.card
        if card.kind != "pose":
            raise ModelError(f"{model.path} is {a_kind(card.kind)}, not a pose model")
        self.model = model
        self.conf = card.default_conf if conf is None else conf
        self.iou = iou
        self.session = open_model(model, device)
        self.device = session_device(self.session)
        self._check_output(self.session.get_outputs()[0].shape)

    def _check_output(self, shape: Sequence[object]) -> None:
        """Refuse an output other than (batch, 5 + 3 · keypoints, anchors), declared or as run: a model under the pose
        model's name in a models folder handed over, whose output had fewer axes, ended the search in 'unexpected
        IndexError' (a shape's missing axis, then ``decode``'s rows)."""
        channels = 5 + 3 * len(KEYPOINTS)
        if len(shape) != 3 or shape[1] != channels:
            shown = "x".join(str(axis) for axis in shape) or "a single number"
            raise ModelError(f"{self.model.path}: its output is {shown}, not a box, a person score and "
                             f"{len(KEYPOINTS)} keypoints ({channels} rows) per anchor")

    def find(self, image: np.ndarray) -> list[Person]:
        """The people in an RGB uint8 image, best first."""
        card = self.model.card
        tensor, placement = letterbox(image, card.input_size)
        (raw,) = self.session.run([card.output_name], {card.input_name: tensor})
        self._check_output(raw.shape)
        boxes, scores, keypoints = decode(raw[0], self.conf, self.iou)
        h, w = image.shape[:2]
        boxes = placement.unmap(boxes)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        keypoints[:, :, 0] = (keypoints[:, :, 0] - placement.pad_x) / placement.ratio
        keypoints[:, :, 1] = (keypoints[:, :, 1] - placement.pad_y) / placement.ratio
        return [Person(tuple(map(float, b)), float(s), k) for b, s, k in zip(boxes, scores, keypoints)]

    def regions(self, image: np.ndarray) -> PeopleRegions:
        h, w = image.shape[:2]
        return regions(self.find(image), (w, h))


def pose_card(path: Path, name: str | None = None, conf: float = POSE_CONF) -> ModelCard:
    """A card for an ultralytics pose ONNX (the project's export, or one made elsewhere), from its metadata."""
    card = detector_card(path, name, class_set=POSE_CLASS_SET, conf=conf)
    card.kind = "pose"
    return card


def decode(raw: np.ndarray, conf: float, iou: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pose head output (5 + 17·3, anchors) → xyxy boxes, scores, keypoints (N, 17, 3) after NMS.

    The exported graph already applies the sigmoid to the keypoint confidences, as ultralytics' own
    predictor receives them.
    """
    scores = raw[4]
    mask = scores > conf
    xywh, scores, kpts = raw[:4, mask].T, scores[mask], raw[5:, mask].T
    boxes = np.empty_like(xywh)
    boxes[:, :2] = xywh[:, :2] - xywh[:, 2:] / 2
    boxes[:, 2:] = xywh[:, :2] + xywh[:, 2:] / 2
    keep = nms(boxes, scores, iou)
    return boxes[keep], scores[keep], kpts[keep].reshape(len(keep), len(KEYPOINTS), 3).copy()


def regions(people: Sequence[Person], image_size: tuple[int, int]) -> PeopleRegions:
    """Body and face masks of ``people`` in an image of (width, height)."""
    width, height = image_size
    body = np.zeros((height, width), np.uint8)
    face = np.zeros((height, width), np.uint8)
    for person in people:
        _draw_person(person, body, face)
    return PeopleRegions(tuple(people), body.astype(bool), face.astype(bool))


def _draw_person(person: Person, body: np.ndarray, face: np.ndarray) -> None:
    scale = _scale(person)
    body_points = [i for i in range(len(KEYPOINTS)) if i not in FACE and person.seen(i)]
    if len(body_points) < MIN_BODY_POINTS:
        x1, y1, x2, y2 = (round(v) for v in person.box)
        cv2.rectangle(body, (x1, y1), (x2, y2), 1, thickness=-1)
    else:
        for limbs, width in ((ARMS, ARM_WIDTH), (LEGS, LEG_WIDTH)):
            for a, b in limbs:
                if person.seen(a) and person.seen(b):
                    cv2.line(body, _px(person.point(a)), _px(person.point(b)), 1, _thickness(width * scale))
        for polygon in (TORSO, PELVIS):
            corners = np.array([_px(person.point(i)) for i in polygon if person.seen(i)], np.int32)
            if len(corners) >= 3:
                cv2.fillPoly(body, [cv2.convexHull(corners)], 1)
            if len(corners):
                cv2.polylines(body, [corners], True, 1, _thickness(2 * TORSO_PAD * scale))
    head = _face_ellipse(person, scale)
    if head is not None:
        centre, (rx, ry) = head
        cv2.ellipse(face, centre, (rx, ry), 0, 0, 360, 1, thickness=-1)
        cv2.ellipse(body, centre, (round(rx * HEAD_GROW), round(ry * HEAD_GROW)), 0, 0, 360, 1, thickness=-1)


def _face_ellipse(person: Person, scale: float) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Centre and half-axes of the face over the seen nose, eyes and ears; None when none is seen.

    The face is at least as wide as the spread of its keypoints (ear to ear in a frontal view) and at
    least ``FACE_RADIUS`` of the person's scale (a profile shows one eye and one ear close together).
    """
    points = np.array([person.point(i) for i in FACE if person.seen(i)])
    if not len(points):
        return None
    spread = float(np.ptp(points, axis=0).max()) if len(points) > 1 else 0.0
    rx = max(0.6 * spread, FACE_RADIUS * scale, 2.0)
    cx, cy = points.mean(axis=0)
    return _px((cx, cy)), (round(rx), round(rx * FACE_TALL))


def _scale(person: Person) -> float:
    """About the shoulder width in pixels, from whatever the keypoints show, else from the box.

    Shoulders shrink when a person turns sideways; hips and the torso's length do not shrink with them,
    so the largest estimate is taken.
    """
    estimates = []
    for (a, b), factor in ((SHOULDERS, 1.0), (HIPS, 1.2)):
        if person.seen(a) and person.seen(b):
            estimates.append(factor * float(np.linalg.norm(person.point(a) - person.point(b))))
    if all(person.seen(i) for i in (*SHOULDERS, *HIPS)):
        mid_shoulder = (person.point(5) + person.point(6)) / 2
        mid_hip = (person.point(11) + person.point(12)) / 2
        estimates.append(0.8 * float(np.linalg.norm(mid_shoulder - mid_hip)))
    x1, y1, x2, y2 = person.box
    return max(estimates) if estimates else 0.3 * min(x2 - x1, y2 - y1)


def _thickness(width: float) -> int:
    return max(1, round(width))


def _px(point) -> tuple[int, int]:
    return round(float(point[0])), round(float(point[1]))


def _at(mask: np.ndarray, point: tuple[float, float]) -> bool:
    h, w = mask.shape
    col, row = round(float(point[0])), round(float(point[1]))
    return 0 <= row < h and 0 <= col < w and bool(mask[row, col])


def is_person_label(label: str) -> bool:
    """Whether a detector class names a person or a body part (COCO ``person``, OIV7 ``Woman``, ``Human hand``)."""
    label = label.lower()
    return label in PERSON_LABELS or label.startswith(HUMAN_PREFIX)


def without_people(detections: Sequence[Detection], people: PeopleRegions | None) -> list[Detection]:
    """Detections that are products: never a person's class, whatever the category map says, and, when
    people were found, never a box mostly covered by their bodies (a seated person called a chair)."""
    kept = [d for d in detections if not is_person_label(d.label)]
    if people is None or not people.people:
        return kept
    return [d for d in kept if people.body_share(d.box) < MOSTLY_PERSON]


def load_pose(
    setting: PeopleSetting, models_dir: str | os.PathLike[str] | None, data_dir: Path,
    device: DevicePreference = "auto",
) -> PoseModel | None:
    """The pose model the ``people`` setting asks for: ``off`` none; ``auto`` the installed one, if any;
    ``on`` the installed one, or a one-line error that says how to get it."""
    if setting == "off":
        return None
    folders = model_search_path(models_dir, data_dir)
    path = next((f / name for name in POSE_MODELS for f in folders if (f / name).is_file()), None)
    if path is not None:
        return PoseModel(ResolvedModel(path, read_card(path)), device)
    if setting == "auto":
        return None
    raise ModelError(
        f"people: on needs {POSE_MODELS[-1]}, not in {', '.join(str(f) for f in folders)}: "
        f"{EXPORT_POSE(weights=POSE_WEIGHTS)}"
    )
