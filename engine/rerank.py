"""Re-ranking the top of a search by local evidence: the same product shares its details, a similar one does not.

An embedding says two objects look alike; it cannot tell the catalog's product from its near twin. Instance
retrieval settles that with geometry: local features (SIFT) of the scene crop are matched to those of each
candidate's product photo, ambiguous matches dropped by Lowe's ratio test, and a RANSAC homography counts
the matches that agree on one mapping (*inliers*). A pattern, a handle, a printed frame gives many; a
plain look-alike gives few. Candidates with at least ``min_inliers`` move ahead of the rest, most inliers
first; the others keep the embedder's order. The crop's mirror image is matched too (SIFT is not
mirror-invariant, and a room may show the other side). Evaluated in docs/results.md (issue 18, "Re-ranking").

Product photos are described once and kept (LRU) for the next tags; a crop is described per call. No torch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.errors import DecorLensError
from engine.imageio import load_image
from engine.results import Match
from engine.setting_fields import mapping_fields

MIN_SIDE = 16  # a crop smaller than this a side has no usable local features
MIN_MATCHES = 8  # RANSAC needs a few more than the homography's 4 points to mean anything
MIN_AREA_SCALE = 0.02  # a homography shrinking or growing area more than 50× is a degenerate fit
MAX_FEATURES = 500  # strongest keypoints kept per image: matching cost grows with their product


@dataclass(frozen=True)
class RerankOptions:
    """``top``: candidates re-scored (0: off); ``min_inliers``: evidence that re-orders; ``mirror``: the crop's
    mirror image is tried too (a room may show the product's other side); ``side``: longer side the images
    are described at; ``ratio``: Lowe's ratio test; ``reproj``: RANSAC tolerance (px). The defaults were
    chosen on seed 0's training and validation scenes (docs/results.md), never on a test split."""

    top: int = 0
    min_inliers: int = 10
    mirror: bool = True
    side: int = 400
    ratio: float = 0.8
    reproj: float = 8.0

    @classmethod
    def from_raw(cls, raw: Any) -> RerankOptions:
        """From the ``query: rerank:`` setting: a number of candidates, or a mapping of these fields."""
        if raw in (None, False, 0):
            return cls()
        if isinstance(raw, (bool, int, float)):
            raw = {"top": 20 if raw is True else raw}
        options = cls(**mapping_fields(cls, raw, "rerank", "a number of candidates or a mapping"))
        if options.top < 0 or options.min_inliers < 1 or options.side < 64 or not 0 < options.ratio < 1:
            raise ValueError(f"query rerank values out of range: {raw!r}")
        return options

    @property
    def on(self) -> bool:
        return self.top > 0


@dataclass(frozen=True)
class Features:
    """Keypoint positions (N, 2) and their SIFT descriptors (N, 128) of one image. OpenCV's SIFT values are
    whole numbers in 0…255, so they are kept as bytes: a cached product costs 66 kB, not 260."""

    points: np.ndarray
    descriptors: np.ndarray  # uint8

    @classmethod
    def empty(cls) -> Features:
        return cls(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8))

    def __len__(self) -> int:
        return len(self.points)


class LocalFeatures:
    """SIFT of crops and (cached) of product photos; safe to share between worker threads."""

    def __init__(self, side: int = RerankOptions.side, cached: int = 1024):
        self.side = side
        self._cached = cached
        self._products: OrderedDict[str, Features] = OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()  # one SIFT object per thread: OpenCV's are not thread-safe

    def of_pixels(self, pixels: np.ndarray) -> Features:
        """Features of an RGB (H, W, 3) uint8 image resized to ``side`` on its longer side; none if tiny."""
        if pixels.ndim != 3 or min(pixels.shape[:2]) < MIN_SIDE:
            return Features.empty()
        grey = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
        scale = self.side / max(grey.shape)
        if scale != 1:
            grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        keypoints, descriptors = self._sift().detectAndCompute(grey, None)
        if descriptors is None or not keypoints:
            return Features.empty()
        return Features(np.float32([k.pt for k in keypoints]), np.clip(descriptors, 0, 255).astype(np.uint8))

    def of_product(self, image_path: str) -> Features:
        """A product photo's features, described once; an unreadable photo has none (its rank stays)."""
        with self._lock:
            if image_path in self._products:
                self._products.move_to_end(image_path)
                return self._products[image_path]
        try:
            features = self.of_pixels(load_image(image_path, max_side=2 * self.side))
        except DecorLensError:
            features = Features.empty()
        with self._lock:
            self._products[image_path] = features
            while len(self._products) > self._cached:
                self._products.popitem(last=False)
        return features

    def _sift(self) -> cv2.SIFT:
        if not hasattr(self._local, "sift"):
            self._local.sift = cv2.SIFT_create(nfeatures=MAX_FEATURES)
        return self._local.sift


def inliers(query: Features, product: Features, options: RerankOptions = RerankOptions()) -> int:
    """Ratio-test matches of ``query`` in ``product`` that one RANSAC homography explains."""
    if len(query) < 2 or len(product) < 2:
        return 0
    good = one_to_one(query, product, options.ratio)
    if len(good) < MIN_MATCHES:
        return 0
    src = query.points[[m.queryIdx for m in good]]
    dst = product.points[[m.trainIdx for m in good]]
    homography, mask = cv2.findHomography(src, dst, cv2.RANSAC, options.reproj, maxIters=2000, confidence=0.995)
    if homography is None or mask is None or not plausible(homography):
        return 0
    return int(mask.sum())


def one_to_one(query: Features, product: Features, ratio: float) -> list[cv2.DMatch]:
    """Ratio-test matches, each product keypoint used once (its closest): a repeated texture otherwise lets
    a hundred query points land on one product point, which a degenerate homography then "explains"."""
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(
        query.descriptors.astype(np.float32), product.descriptors.astype(np.float32), k=2
    )
    best: dict[int, cv2.DMatch] = {}
    for pair in pairs:
        if len(pair) == 2 and pair[0].distance < ratio * pair[1].distance:
            m = pair[0]
            if m.trainIdx not in best or m.distance < best[m.trainIdx].distance:
                best[m.trainIdx] = m
    return list(best.values())


def plausible(homography: np.ndarray) -> bool:
    """A view of a product, not a collapse: the mapping keeps orientation and scales area by 1/50…50."""
    det = float(np.linalg.det(homography[:2, :2]) / homography[2, 2] ** 2)
    return MIN_AREA_SCALE < det < 1 / MIN_AREA_SCALE


@dataclass(frozen=True)
class Checked:
    """A candidate and the evidence its photo gave: ``inliers`` matched points that one mapping explains;
    ``same`` when they reach ``min_inliers`` (9 in 10 such candidates were the right product, docs/results.md)."""

    match: Match
    inliers: int
    same: bool


def order(matches: Sequence[Match], counts: Sequence[int], min_inliers: int) -> list[Checked]:
    """Verified candidates (≥ ``min_inliers``) first, most inliers first; the rest in their search order."""
    checked = [Checked(m, c, c >= min_inliers) for m, c in zip(matches, counts)]
    return sorted((c for c in checked if c.same), key=lambda c: -c.inliers) + [c for c in checked if not c.same]


def check(
    crops: Sequence[np.ndarray], matches: Sequence[Match], options: RerankOptions, features: LocalFeatures
) -> list[Checked]:
    """Each of ``matches`` with the most inliers any of ``crops`` (the object's looks: its box, its parts),
    or its mirror image, shares with the product photo; ordered by ``order``. Crops without features give
    every candidate 0, so the order stays the search's."""
    queries = []
    for crop in crops:
        queries.append(features.of_pixels(crop))
        if options.mirror and crop.ndim == 3 and crop.shape[1]:
            queries.append(features.of_pixels(np.ascontiguousarray(crop[:, ::-1])))
    queries = [q for q in queries if len(q) >= 2]
    counts = [
        max((inliers(q, features.of_product(m.image_path), options) for q in queries), default=0) for m in matches
    ]
    return order(matches, counts, options.min_inliers)


def rerank_matches(
    crop: np.ndarray, matches: Sequence[Match], options: RerankOptions, features: LocalFeatures
) -> list[Match]:
    """``matches`` of one object with their first ``options.top`` re-ordered by geometric evidence in ``crop``.

    Scores stay the embedder's cosines (the words "exact"/"likely" are calibrated on them); only the order
    changes. A crop without features leaves the order as it is.
    """
    head, tail = list(matches[: options.top]), list(matches[options.top:])
    if len(head) < 2:
        return [*head, *tail]
    return [c.match for c in check([crop], head, options, features)] + tail
