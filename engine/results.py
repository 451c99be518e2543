"""Plain result types shared by the pipeline, the CLI, the GUI and evaluation.

``SceneResult.to_json()`` is the stable contract of ``decorlens search --json``: keys listed in the
engine issue stay; new keys may be added.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from engine.boxes import four_numbers, scaled

if TYPE_CHECKING:
    import numpy as np

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in image pixels
MatchKind = Literal["exact", "likely", "similar"]  # engine.calibration: how sure, in words
MATCH_WORDS: dict[str, str] = {"exact": "Exact", "likely": "Likely the same", "similar": "Similar"}  # on every screen


@dataclass(frozen=True)
class Detection:
    """One detected object, already mapped from detector class to decor category."""

    box: Box
    score: float
    label: str  # the detector's own class name, e.g. "couch" or "Table lamp"
    category: str  # decor category from the category map, e.g. "sofa"
    source: str = ""  # name of the detector that produced it
    # Boxes of the same object merged into this one (a lamp's shade inside the whole lamp): one pin, but
    # each is a look at the product, so the search queries with them too (Pipeline.match_boxes).
    parts: tuple[Box, ...] = ()


@dataclass(frozen=True)
class Match:
    """A catalog product returned for one object."""

    product_id: int
    sku: str
    name: str
    category: str
    score: float  # cosine similarity, higher is closer
    match: MatchKind
    image_path: str = ""
    url: str = ""
    price: str = ""
    # The SKU reads as another of the catalog's ("АBC-1", a Cyrillic А, beside "ABC-1": ``Pipeline.alike_among``), as
    # the search found it (the app's catalog refresh brings it up to date): every screen and page marks it
    # (``engine.lookalike.sku_shown``), or a merchandiser who copied it into a shop system by eye took the other product.
    alike: bool = False


@dataclass
class SceneObject:
    """A detection with its tag point and its matches."""

    category: str
    label: str
    score: float
    box: Box
    tag: tuple[float, float]
    matches: list[Match] = field(default_factory=list)
    source: str = ""
    # The unit vector of the object's crop at the settings' padding, unflipped, by the embedder named in
    # ``SceneResult.embedder``: what the scene memory stores, handed on so remembering embeds nothing again.
    # None when the search embedded no such view (colour matching, a query without that padding).
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)
    parts: tuple[Box, ...] = ()  # the detection's (Detection.parts): searching the tag again searches them too


@dataclass
class SceneResult:
    """Everything found in one image."""

    image: str
    width: int
    height: int
    device: str
    timings_ms: dict[str, float]
    objects: list[SceneObject] = field(default_factory=list)
    embedder: str = ""  # key of the embedder whose vectors the objects carry ("" when they carry none)
    # The decor categories tags were looked for: those the catalog sells that the detectors find; None: every one
    # (an empty catalog, or a result not of a whole-photo search).
    looked_for: tuple[str, ...] | None = None
    # Catalog categories that no detector in use finds, so never tagged (the stock detectors find no rug).
    unfound: tuple[str, ...] = ()
    # Objects seen but not tagged, as the catalog sells nothing of their category: count per decor category.
    # A screen says so, or a lamp shop's photo of a sofa read "no decor found".
    unsold: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The dict printed by ``decorlens search --json`` (rounded for readability)."""
        return {
            "image": self.image,
            "width": self.width,
            "height": self.height,
            "device": self.device,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "objects": [_object_json(o) for o in self.objects],
            "looked_for": None if self.looked_for is None else list(self.looked_for),
            "unsold": dict(self.unsold),
            "unfound": list(self.unfound),
        }

    def scaled_to(self, width: int, height: int) -> SceneResult:
        """This result with its boxes, parts and tags in a picture of ``width`` x ``height`` of the same photo: the
        pipeline finds objects on the pixels it decoded (downscaled past ``engine.imageio.MAX_SIDE``) and reports
        them in the photo's own pixels; a saved result of another size is brought to the photo's."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        objects = [replace(o, box=scaled(o.box, sx, sy), parts=tuple(scaled(p, sx, sy) for p in o.parts),
                           tag=(o.tag[0] * sx, o.tag[1] * sy)) for o in self.objects]
        return replace(self, width=width, height=height, objects=objects)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SceneResult:
        """The result whose ``to_json`` is ``data`` (rounded as written, without vectors): a batch run again reads
        back the photos it keeps rather than tagging them again. KeyError, TypeError or ValueError: not such a dict
        (its texts text and its numbers finite: a JSON planted with its hash in the resume file, a match's score of
        "=1+1", ended the batch in 'unexpected TypeError' writing summary.csv)."""
        return cls(
            image=_text(data["image"]), width=int(data["width"]), height=int(data["height"]), device=str(data["device"]),
            timings_ms=dict(data["timings_ms"]), objects=[_object_from_json(o) for o in data["objects"]],
            looked_for=None if data["looked_for"] is None else tuple(data["looked_for"]),
            unsold=dict(data["unsold"]), unfound=tuple(data["unfound"]),
        )


def _object_from_json(data: dict[str, Any]) -> SceneObject:
    x, y = (_number(v) for v in data["tag"])
    return SceneObject(
        category=_text(data["category"]), label=_text(data["label"]), score=_number(data["score"]),
        box=four_numbers(data["box"]), tag=(x, y), source=_text(data["source"]),
        matches=[_match_from_json(m) for m in data["matches"]], parts=tuple(four_numbers(p) for p in data["parts"]),
    )


def _match_from_json(data: dict[str, Any]) -> Match:
    texts = {name: _text(data[name]) for name in ("sku", "name", "category")}
    texts |= {name: _text(data.get(name, "")) for name in ("image_path", "url", "price")}  # Match's defaults
    if data["match"] not in MATCH_WORDS or type(data["product_id"]) is not int:
        raise ValueError(f"not a match: {data['match']!r}, product {data['product_id']!r}"[:120])
    return Match(product_id=data["product_id"], score=_number(data["score"]), match=data["match"],
                 alike=data.get("alike") is True, **texts)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"text expected, not {type(value).__name__}")
    return value


def _number(value: object) -> float:
    """A finite number (a bool or text is not one)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"a finite number expected, not {value!r}"[:80])
    return float(value)


def _object_json(obj: SceneObject) -> dict[str, Any]:
    return {
        "category": obj.category,
        "label": obj.label,
        "score": round(obj.score, 4),
        "box": [round(v, 1) for v in obj.box],
        "parts": [[round(v, 1) for v in part] for part in obj.parts],
        "tag": [round(v, 1) for v in obj.tag],
        "source": obj.source,
        "matches": [{**asdict(m), "score": round(m.score, 4)} for m in obj.matches],
    }
