"""A digest of the code that fills a cache, so that a cache written by other code is never read.

Training caches detections, the anchors chosen among them, trunk views and pseudo labels under keys
that name every input. A hand-bumped version number in those keys is forgotten the day the code
that computes them changes, and a run in a data dir that older code filled then trains on stale
crops without a word (docs/results.md, "A second split"). Hashing the source of the
modules that compute a cached value makes its key change with the code. Training runs from a
source install only (the bundle leaves ``training`` out), so the source files are always there.
"""

from __future__ import annotations

import hashlib
import importlib
from functools import cache
from pathlib import Path

# what decides a scene's detections and the anchor chosen among them
DETECTION_CODE = (
    "engine.imageio", "engine.detect", "engine.crops", "engine.preprocess", "engine.embed", "training.data",
)
# what decides a cached trunk view: the crop, its augmentation, composites, the split backbone, the bank
VIEW_CODE = (*DETECTION_CODE, "training.composites", "training.export", "training.recipes", "training.loop")
# what decides a scene's pseudo labels
LABEL_CODE = (*DETECTION_CODE, "training.pseudo_labels")


@cache
def code_digest(modules: tuple[str, ...]) -> str:
    """sha256 (12 hex digits) over the named modules' source files, in the order given."""
    digest = hashlib.sha256()
    for name in modules:
        source = importlib.import_module(name).__file__
        if source is None:
            raise RuntimeError(f"{name} has no source file to fingerprint")
        digest.update(name.encode() + b"\0" + Path(source).read_bytes())
    return digest.hexdigest()[:12]
