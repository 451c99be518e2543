"""Room photos with people in them, for the tests and the measurement of tags on people (issue 21).

The shared IKEA scenes have no people: every "person" the detectors find in them is a doll, a coat on
a hook or a portrait (checked by eye, docs/results.md). So people are put into them: the two walkers
of ultralytics' ``bus.jpg`` (a real street photo installed with the [train] extra) are cut out and
stood in front of the sofa or bed of four shared rooms, where the category rule would place that
object's pin and where a face comes close to another object's pin. The cut-out is GrabCut seeded
with the pose model's body mask, restricted to near the body, so it is made here, reproducibly
(OpenCV's RNG seeded), rather than shipped as a file.

    python -m bench.people_photos --out DIR --pose MODEL.onnx     # writes the photos as JPEG
    python -m bench.people_photos --out DIR --pose MODEL.onnx --auto 30 --data-dir D   # 30 rooms, placed
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.files import write_atomic
from engine.imageio import load_image, photo_size
from engine.models import ResolvedModel, read_card
from engine.people import PeopleRegions, PoseModel, regions
from engine.pipeline import Pipeline
from engine.settings import Settings
from engine.tags import rule_point

NEAR_BODY = 15  # pixels: the cut-out keeps GrabCut's foreground only this close to the drawn body


@dataclass(frozen=True)
class Placement:
    """A person of ``bus.jpg`` stood in a shared scene: centre x, feet y and height as image fractions."""

    scene: str
    person: int  # index among bus.jpg's people, best score first
    centre_x: float
    feet_y: float
    height: float

    @property
    def name(self) -> str:
        return f"{self.scene.split('__')[0]}-person{self.person}"


# Each person stands before the object whose rule pin lies where they stand; the heads come close to
# a plant, a shelf or a vase whose pins lie near them.
PHOTOS: tuple[tuple[Placement, ...], ...] = (
    (Placement("ikea-a-leather-look-made-for-lounging__1364309444239-s4", 0, 0.69, 0.99, 0.85),),
    (Placement("ikea-a-small-living-room-ready-for-whiling-the-afternoon-away__1364309460486-s4", 1, 0.54, 0.98, 0.74),),
    (Placement("ikea-bring-some-sunshine-to-your-bedroom__1364308448898-s4", 0, 0.53, 0.97, 0.8),),
    (
        Placement("ikea-lean-in-to-leather-for-a-natural-way-to-unwind__1364309326057-s4", 1, 0.42, 0.97, 0.78),
        Placement("ikea-lean-in-to-leather-for-a-natural-way-to-unwind__1364309326057-s4", 0, 0.66, 0.99, 0.82),
    ),
)


# For --auto: a person stands before the widest of these in a room, centred on its rule pin.
STAND_BEFORE = ("sofa", "bed", "armchair", "table", "desk", "chair")
MIN_WIDTH = 0.25  # of the image: a smaller object would be hidden whole


def auto_placements(pipeline: Pipeline, scenes: Sequence[Path], count: int) -> list[tuple[Placement, ...]]:
    """One person per room, before its widest seat, bed or table, where that object's pin would go.

    Rooms are taken in name order until ``count`` have such an object; the two people alternate. The
    person's feet are at the object's box bottom and they stand 0.8 of the image tall, so the pin the
    category rule places lies on them unless the engine moves it. The fractions are of the photo's own size, the
    scale ``Pipeline.detect`` reports boxes in (a photo past ``MAX_SIDE`` is decoded smaller).
    """
    chosen: list[tuple[Placement, ...]] = []
    for path in scenes:
        image = load_image(path)
        w, h = photo_size(image)
        big = [d for d in pipeline.detect(image) if d.category in STAND_BEFORE and d.box[2] - d.box[0] >= MIN_WIDTH * w]
        if not big:
            continue
        target = max(big, key=lambda d: d.box[2] - d.box[0])
        x, _ = rule_point(target, (w, h))
        feet = min(0.99, target.box[3] / h + 0.02)
        chosen.append((Placement(path.stem, len(chosen) % 2, x / w, feet, min(0.8, feet - 0.05)),))
        if len(chosen) == count:
            break
    return chosen


def bus_photo() -> Path:
    """ultralytics' sample street photo, found without importing ultralytics (which loads torch)."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("ultralytics is not installed (the [train] extra): its bus.jpg has the people")
    return Path(spec.origin).parent / "assets" / "bus.jpg"


def cutouts(pose: PoseModel) -> list[np.ndarray]:
    """The people of ``bus.jpg`` as RGBA crops, best-scored first."""
    image = load_image(bus_photo())
    h, w = image.shape[:2]
    found = pose.find(image)
    everyone = regions(found, (w, h)).body
    return [_cut(image, regions([p], (w, h)), everyone, p.box) for p in found if p.score >= 0.8]


def _cut(image: np.ndarray, person: PeopleRegions, everyone: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
    """One person: GrabCut near their drawn body, not on anyone else's, its largest connected piece.

    The drawn head is a generous ellipse around the face, so it only suggests foreground; the limbs and
    torso, eroded, are sure of it."""
    body = person.body
    cv2.setRNGSeed(0)
    x1, y1, x2, y2 = (int(v) for v in box)
    mask = np.full(body.shape, cv2.GC_BGD, np.uint8)
    mask[y1:y2, x1:x2] = cv2.GC_PR_BGD
    mask[body] = cv2.GC_PR_FGD
    sure = (cv2.erode(body.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0) & ~_grown(person.face, 1.6)
    mask[sure] = cv2.GC_FGD
    models = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), mask, None, *models, 5, cv2.GC_INIT_WITH_MASK)
    near = cv2.dilate(body.astype(np.uint8), np.ones((NEAR_BODY, NEAR_BODY), np.uint8)) > 0
    keep = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)) & near & ~(everyone & ~body)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(keep.astype(np.uint8))
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if count > 1 else 0
    alpha = (labels == largest).astype(np.uint8) * 255
    return np.dstack([image, alpha])[y1:y2, x1:x2]


def _grown(mask: np.ndarray, factor: float) -> np.ndarray:
    """``mask`` dilated by ``factor - 1`` of its own height (the head around a face)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return mask
    size = max(3, round((factor - 1) * (rows[-1] - rows[0] + 1)))
    return cv2.dilate(mask.astype(np.uint8), np.ones((size, size), np.uint8)) > 0


def compose(room: np.ndarray, people: list[np.ndarray], placements: tuple[Placement, ...]) -> np.ndarray:
    """``room`` with the placed people pasted on it (alpha-blended, edges softened by a pixel)."""
    out = room.astype(np.float32)
    h, w = room.shape[:2]
    for place in placements:
        person = people[place.person]
        scale = place.height * h / person.shape[0]
        size = (max(1, round(person.shape[1] * scale)), max(1, round(person.shape[0] * scale)))
        person = cv2.resize(person, size, interpolation=cv2.INTER_AREA)
        left, top = round(place.centre_x * w - size[0] / 2), round(place.feet_y * h - size[1])
        sx, sy = max(0, -left), max(0, -top)
        ex, ey = min(size[0], w - left), min(size[1], h - top)
        patch = person[sy:ey, sx:ex].astype(np.float32)
        alpha = cv2.GaussianBlur(patch[:, :, 3], (3, 3), 0)[:, :, None] / 255.0
        region = out[top + sy:top + ey, left + sx:left + ex]
        region[:] = alpha * patch[:, :, :3] + (1 - alpha) * region
    return out.round().astype(np.uint8)


def write_photos(
    scenes: Path, pose: PoseModel, out: Path, photos: Sequence[tuple[Placement, ...]] = PHOTOS
) -> list[Path]:
    """The people photos as JPEG files in ``out`` (named after their scene and person)."""
    people = cutouts(pose)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for placements in photos:
        room = load_image(scenes / f"{placements[0].scene}.jpg")
        photo = compose(room, people, placements)
        path = out / f"{placements[0].name}.jpg"
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise OSError(f"could not encode {path.name}")
        write_atomic(path, data.tobytes())
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pose", type=Path, required=True, help="the pose ONNX (with its card beside it)")
    parser.add_argument("--scenes", type=Path, default=Path("../shared/datasets/ikea_interior/scenes"))
    parser.add_argument("--auto", type=int, metavar="N", help="N rooms, each person placed by auto_placements "
                        "(the detectors of the default settings; DECORLENS_MODELS_DIR as for the app)")
    parser.add_argument("--data-dir", type=Path, help="with --auto: the data dir whose models detect")
    args = parser.parse_args()
    pose = PoseModel(ResolvedModel(args.pose, read_card(args.pose)), "cpu")
    photos = PHOTOS
    if args.auto:
        pipeline = Pipeline(Settings.defaults().with_(data_dir=args.data_dir, people="off"))
        photos = auto_placements(pipeline, sorted(args.scenes.glob("*.jpg")), args.auto)
    for path in write_photos(args.scenes, pose, args.out, photos):
        print(path)


if __name__ == "__main__":
    main()
