"""A scene as the user corrected it, and its file in the data dir.

What the merchandiser fixes (tags removed, categories changed, matches confirmed, boxes drawn by hand)
is the training data of later detector and embedder fine-tuning, so it is kept, never lost: every
edit is written at once, atomically, as ``<data dir>/corrections/<stem>-<sha256[:16]>.json``.

The file is a superset of ``decorlens search --json``: ``objects`` holds the scene *as corrected*
(anything that reads search JSON reads it), each object gains ``number``, ``origin``,
``original_category``, ``confirmed_sku`` and ``confirmed`` (the product the user confirmed, which
may come from an any-category search), removed objects move to ``removed`` (false positives
are training data too) and ``corrections`` says what the file is. Files are keyed by the image's
content hash, so a photo renamed or opened from another folder finds its edits again.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import numpy as np

from engine.boxes import four_numbers
from engine.catalog import Product
from engine.corrections_file import (
    DETECTOR,
    FOLDER,
    FORMAT,
    MOVED_ASIDE,
    USER,
    Unreadable,
    finite,
    image_size,
    point,
    read,
    text,
    whole,
)
from engine.errors import DecorLensError
from engine.files import is_sha256, sha256_of, write_atomic
from engine.imageio import photo_size
from engine.pipeline import Pipeline
from engine.results import Box, Match, MatchKind, SceneObject, SceneResult

MATCH_KINDS = get_args(MatchKind)
KEY_DIGITS = 16  # of a photo's SHA-256 in hex in its corrections file's name (``<stem>-<sha[:16]>.json``)
HEX = frozenset("0123456789abcdef")
# Bytes of the photo's name in its corrections file's name: with "-<key>.json" (22) and write_atomic's temp name around
# it (".NAME.xxxxxxxx.tmp", 14 more), well under the 255 bytes a file name may have.
STEM_BYTES = 150
# A saved tag's number, at most: a drawn tag is numbered after the last, and Qt keeps numbers as 32-bit ints, so a file's
# 2**31 - 1 (which ``whole`` allows) made the next box drawn number 2**31, an OverflowError inside a signal. No photo
# is drawn on a billion times.
MAX_TAG_NUMBER = 2**30  # the digits of a content key (``hexdigest`` writes them in lower case)


class UnreadableEdits(DecorLensError):
    """A photo's saved edits cannot be read; the file is kept aside (``load``)."""


@dataclass
class Tag:
    """One object of the scene with the user's decisions about it."""

    number: int  # shown on the pin; never reused within a scene so numbers stay put after removals
    obj: SceneObject
    origin: str = DETECTOR  # DETECTOR or USER (a box drawn by hand)
    original_category: str | None = None  # what the detector said, once the user changed it
    confirmed: Match | None = None
    removed: bool = False

    @property
    def confirmed_sku(self) -> str:
        return self.confirmed.sku if self.confirmed else ""

    @property
    def best(self) -> Match | None:
        """The confirmed product if there is one, else the top match."""
        return self.confirmed or (self.obj.matches or [None])[0]

    def on_page(self, gone: Collection[str]) -> Match | None:
        """The product the shoppable page shows for the tag while the catalog lacks ``gone``: the confirmed one
        if it is still there, else the first match that is (``engine.shoppable.in_catalog``); None: no pin."""
        if self.confirmed is not None and self.confirmed.sku not in gone:
            return self.confirmed
        return next((m for m in self.obj.matches if m.sku not in gone), None)


def surest(tags: list[Tag], limit: int, keep: Collection[int] = ()) -> list[Tag]:
    """``tags`` with at most ``limit`` of the detector's untouched ones, the best-scored; 0: all of them.

    A tag the user drew, re-categorised or confirmed is always kept: it is their work, not a guess; so
    are the numbers in ``keep`` (a tag the review queue opens). The order, and so every pin's number,
    stays as it was.
    """
    if not limit:
        return list(tags)
    guesses = [t for t in tags if not _touched(t) and t.number not in keep]
    kept = {t.number for t in sorted(guesses, key=lambda t: -t.obj.score)[:limit]}
    return [t for t in tags if _touched(t) or t.number in keep or t.number in kept]


def _touched(tag: Tag) -> bool:
    return tag.origin == USER or tag.original_category is not None or tag.confirmed is not None


@dataclass
class MatchedAgain:
    """Another embedder's matches for an edited photo's tags: by number, with the box and category searched."""

    embedder: str
    found: dict[int, tuple[Box, str, list[Match]]]


def match_again(pipeline: Pipeline, pixels: np.ndarray, tags: list[Tag], top_k: int | None = None,
                cancelled: Callable[[], bool] = lambda: False) -> MatchedAgain:
    """An edited photo's ``tags`` matched by the embedder in use (slow: a worker's, or a batch's): each box in its
    category with its parts, as the photo's search searched it (``cancelled``: as ``Pipeline.match_boxes``)."""
    found = pipeline.match_boxes(pixels, [t.obj.box for t in tags], [t.obj.category or None for t in tags], top_k,
                                 parts=[t.obj.parts for t in tags], cancelled=cancelled)
    return MatchedAgain(pipeline.embedder.key,
                        {t.number: (t.obj.box, t.obj.category, m) for t, m in zip(tags, found, strict=True)})


class EditableScene:
    """A ``SceneResult`` plus corrections; every mutating method returns the tag it changed."""

    def __init__(self, result: SceneResult, image_sha256: str, tags: list[Tag] | None = None, matched_with: str = ""):
        self.result = result
        self.image_sha256 = image_sha256
        self.tags = tags if tags is not None else [Tag(n, o) for n, o in enumerate(result.objects, 1)]
        # The key of the embedder whose matches the tags hold ("" unknown: none, or a file saved before it was
        # kept): edits outlive a switch of embedder, and their matches are searched again with the new one.
        self.matched_with = matched_with

    def scaled_to(self, width: int, height: int) -> EditableScene:
        """This scene in a ``width`` x ``height`` picture of its photo: edits saved before DecorLens kept boxes in
        the photo's own pixels hold a large photo's at the size it was decoded to (their width and height say which),
        and a box drawn on them now would be searched in the wrong place."""
        if (width, height) == (self.result.width, self.result.height):
            return self
        result = replace(self.result, objects=[t.obj for t in self.tags]).scaled_to(width, height)
        tags = [replace(t, obj=o) for t, o in zip(self.tags, result.objects, strict=True)]
        return EditableScene(result, self.image_sha256, tags, self.matched_with)

    @property
    def edited(self) -> bool:
        """Whether the merchandiser changed anything: a tag removed, drawn, given another category or confirmed."""
        return any(t.removed or _touched(t) for t in self.tags)

    @property
    def visible(self) -> list[Tag]:
        return [t for t in self.tags if not t.removed]

    @property
    def shown(self) -> SceneResult:
        """The scene's result as the app shows it: the tags not removed, as corrected."""
        return self._result_for(self.visible)

    def tag(self, number: int) -> Tag:
        for tag in self.tags:
            if tag.number == number:
                return tag
        raise KeyError(f"no tag {number}")

    def remove(self, number: int) -> Tag:
        tag = self.tag(number)
        tag.removed = True
        return tag

    def set_category(self, number: int, category: str, matches: list[Match]) -> Tag:
        """A new category comes with the matches searched in it (the old ones were for another category).

        Changed back to the detector's category, the tag is no longer re-categorised: it said "category
        changed from Chair" on a chair, and stayed a user's decision (``surest``) and a correction in the file.
        """
        tag = self.tag(number)
        if category == tag.original_category:
            tag.original_category = None
        elif tag.original_category is None and category != tag.obj.category:
            tag.original_category = tag.obj.category
        tag.obj = replace(tag.obj, category=category, matches=list(matches))
        if tag.confirmed_sku not in {m.sku for m in matches}:
            tag.confirmed = None
        return tag

    def take_matches(self, again: MatchedAgain) -> list[int]:
        """Another embedder's matches (``match_again``) for the tags that stand as they were searched then; one
        whose box or category was edited meanwhile was searched with those. Boxes, categories and confirmed
        products stay: the user's decisions (a confirmation holds whatever the embedder ranks first). Returns the
        numbers of the tags that took them."""
        standing = {t.number: (t.obj.box, t.obj.category) for t in self.visible}
        taken = [number for number, (box, category, _) in again.found.items() if standing.get(number) == (box, category)]
        for number in taken:
            tag = self.tag(number)
            tag.obj = replace(tag.obj, matches=list(again.found[number][2]))
        self.matched_with = again.embedder
        return taken

    def confirm(self, number: int, match: Match) -> Tag:
        """Mark ``match`` as the right product; confirming it again withdraws the confirmation."""
        tag = self.tag(number)
        tag.confirmed = None if tag.confirmed_sku == match.sku else match
        return tag

    def add_region(self, obj: SceneObject) -> Tag:
        """A user-drawn box; with no category given, it takes the category of its best match."""
        if not obj.category and obj.matches:
            obj = replace(obj, category=obj.matches[0].category)
        tag = Tag(max((t.number for t in self.tags), default=0) + 1, obj, origin=USER)
        self.tags.append(tag)
        return tag

    def snapshot(self, number: int) -> Tag | None:
        """A copy of one tag's state (``None`` if the scene has no such tag): what undo puts back.

        A shallow copy is enough: edits replace a tag's fields (``obj``, ``confirmed``...), never mutate them.
        """
        return replace(self.tag(number)) if any(t.number == number for t in self.tags) else None

    def restore(self, number: int, state: Tag | None) -> None:
        """Put tag ``number`` back to ``state`` (a ``snapshot``); ``None`` takes a drawn tag out again."""
        self.tags = [t for t in self.tags if t.number != number]
        if state is not None:
            self.tags.append(replace(state))
            self.tags.sort(key=lambda t: t.number)

    def skus(self) -> set[str]:
        """Every product the scene shows: its tags' matches and confirmed products."""
        found = {m.sku for t in self.tags for m in t.obj.matches}
        return found | {t.confirmed_sku for t in self.tags if t.confirmed}

    def update_products(self, products: dict[str, Product], alike: Collection[str]) -> set[int]:
        """Take names, prices, links, pictures and categories from ``products`` (the catalog now), and which SKUs
        read as another of the catalog's from ``alike`` (``current_match``).

        Returns the numbers of the tags that changed. Scores and exact/similar stay: they were
        measured on the pictures then, and a changed picture is searched again on the next search.
        """
        changed = set()
        for tag in self.tags:
            matches = [current_match(m, products, alike) for m in tag.obj.matches]
            confirmed = current_match(tag.confirmed, products, alike) if tag.confirmed else None
            if matches != tag.obj.matches or confirmed != tag.confirmed:
                tag.obj = replace(tag.obj, matches=matches)
                tag.confirmed = confirmed
                changed.add(tag.number)
        return changed

    # -- the file format -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        data = self.shown.to_json()
        for entry, tag in zip(data["objects"], self.visible, strict=True):
            entry.update(_tag_fields(tag))
        removed = [t for t in self.tags if t.removed]
        data["removed"] = self._result_for(removed).to_json()["objects"]
        for entry, tag in zip(data["removed"], removed, strict=True):
            entry.update(_tag_fields(tag))
        data["corrections"] = {
            "format": FORMAT,
            "image_sha256": self.image_sha256,
            "matched_with": self.matched_with,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], image: str) -> EditableScene:
        """The saved scene, pointed at ``image`` (where the photo is now).

        A number the file repeats (edited by hand, or merged) goes to a new number after the last: an edit puts
        its tag back by number, so the first edit of either tag dropped the other from the scene and the file.
        """
        tags = [_tag_from(o, removed=False) for o in data["objects"]]
        tags += [_tag_from(o, removed=True) for o in data.get("removed", [])]
        tags.sort(key=lambda t: t.number)
        seen, last = set(), max((t.number for t in tags), default=0)
        for tag in tags:
            if tag.number in seen:
                last += 1
                tag.number = last
            seen.add(tag.number)
        tags.sort(key=lambda t: t.number)
        result = SceneResult(
            image,
            *image_size(data),
            data.get("device", ""),
            dict(data.get("timings_ms", {})),
            [t.obj for t in tags],
            **_seen_from(data),
        )
        header = data["corrections"]
        matched_with = header.get("matched_with")  # not the user's work: anything but text is only unknown
        return cls(result, header["image_sha256"], tags, matched_with if isinstance(matched_with, str) else "")

    def _result_for(self, tags: list[Tag]) -> SceneResult:
        """The search's result with ``tags``' objects: what it looked for and saw but did not tag kept (they said
        null, 'every category', in a corrected photo's JSON)."""
        r = self.result
        return SceneResult(r.image, r.width, r.height, r.device, r.timings_ms, [t.obj for t in tags],
                           looked_for=r.looked_for, unsold=r.unsold, unfound=r.unfound)


def _seen_from(data: dict[str, Any]) -> dict[str, Any]:
    """``looked_for``, ``unsold`` and ``unfound`` as a saved file holds them; a file written before they were kept,
    or edited by hand into other shapes, gives the defaults (unknown)."""
    looked_for, unsold, unfound = data.get("looked_for"), data.get("unsold"), data.get("unfound")
    counts = unsold.items() if isinstance(unsold, dict) else ()
    return {
        "looked_for": tuple(looked_for) if _names(looked_for) else None,
        "unsold": {c: n for c, n in counts if isinstance(c, str) and type(n) is int and n > 0},
        "unfound": tuple(unfound) if _names(unfound) else (),
    }


def _names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(c, str) for c in value)


def current_match(match: Match, products: dict[str, Product], alike: Collection[str]) -> Match:
    """``match`` with the catalog's current product data (as it was when the product is gone), marked as a SKU
    that reads as another where ``alike`` holds it (``Pipeline.alike_among``): one whose look-alike came into
    the catalog after the search is marked too, and one whose look-alike went is no longer."""
    product = products.get(match.sku)
    if product is None:
        return match
    return replace(
        match,
        name=product.name,
        category=product.category,
        image_path=product.image_path,
        url=product.url,
        price=product.price,
        alike=match.sku in alike,
    )


def _tag_fields(tag: Tag) -> dict[str, Any]:
    return {
        "number": tag.number,
        "origin": tag.origin,
        "original_category": tag.original_category,
        "confirmed_sku": tag.confirmed_sku,
        "confirmed": _match_json(tag.confirmed) if tag.confirmed else None,
    }


def _match_json(match: Match) -> dict[str, Any]:
    return {**asdict(match), "score": round(match.score, 4)}


def _match_from(entry: dict[str, Any]) -> Match:
    kind = text(entry, "match")
    if kind not in MATCH_KINDS:
        raise ValueError(f"match must be one of {', '.join(MATCH_KINDS)}, not {kind!r}"[:120])
    return Match(whole(entry, "product_id"), text(entry, "sku"), text(entry, "name"), text(entry, "category"),
                 finite(entry, "score"), kind, *(text(entry, key, "") for key in ("image_path", "url", "price")),
                 alike=entry.get("alike") is True)


def _tag_from(entry: dict[str, Any], removed: bool) -> Tag:
    """A saved tag, each field checked (``engine.corrections_file``): a ValueError names the first that is not
    what the app saves."""
    matches, parts = entry.get("matches", []), entry.get("parts", [])
    if not isinstance(matches, list) or not isinstance(parts, list):
        raise TypeError("matches and parts must be lists")
    obj = SceneObject(
        text(entry, "category"),
        text(entry, "label", ""),
        finite(entry, "score", 0.0),
        four_numbers(entry["box"]),
        point(entry, "tag"),
        [_match_from(m) for m in matches],
        text(entry, "source", ""),
        parts=tuple(four_numbers(part) for part in parts),
    )
    origin, original = text(entry, "origin", DETECTOR), entry.get("original_category")
    if origin not in (DETECTOR, USER) or not isinstance(original, str | None):
        raise ValueError(f"origin {origin!r} or original_category {original!r} is not one the app saves"[:120])
    number = whole(entry, "number")
    if number > MAX_TAG_NUMBER:
        raise ValueError(f"number must be at most 2**30, not {number}")
    return Tag(
        number,
        obj,
        origin,
        # a file saved before set_category cleared it may say a tag's category changed from itself
        None if original == obj.category else original,
        _match_from(entry["confirmed"]) if entry.get("confirmed") else None,
        removed,
    )


# -- on disk ------------------------------------------------------------------------------------


def edits_for(pipeline: Pipeline, photo: Path, pixels: np.ndarray, sha256: str,
              top_k: int | None = None) -> EditableScene | None:
    """The edits saved in the app for ``photo`` (found by its content's ``sha256``), as the app would open them:
    their tags matched by the embedder in use where another matched them, on ``pixels`` (read only: the app saves
    that when it opens the photo). None: the photo has none. ``UnreadableEdits`` when they cannot be read."""
    saved = find_saved(pipeline.data_dir, sha256)
    if saved is None:
        return None
    scene = load(saved, photo).scaled_to(*photo_size(pixels))  # saved before boxes were in the photo's pixels
    if scene.visible and pipeline.catalog.count() and scene.matched_with != pipeline.embedder.key:
        scene.take_matches(match_again(pipeline, pixels, scene.visible, top_k))
    return scene


def image_digest(path: str | Path) -> str:
    """SHA-256 of the photo's bytes: the key of its corrections file (a FIFO or device is refused, not read)."""
    return sha256_of(path)


def corrections_path(data_dir: Path, image: str | Path, image_sha256: str) -> Path:
    return data_dir / FOLDER / f"{_short_stem(Path(image).stem)}-{image_sha256[:KEY_DIGITS]}.json"


def _short_stem(stem: str) -> str:
    """The photo's name as its corrections file's name starts, cut to ``STEM_BYTES`` (the file is found by its key,
    ``find_saved``): a photo named in 250 bytes, which its folder holds, gave a corrections file name past the 255
    a name may have, and none of its edits could be saved ("File name too long")."""
    while len(stem.encode("utf-8", "surrogateescape")) > STEM_BYTES:
        stem = stem[:-1]
    return stem


def find_saved(data_dir: Path, image_sha256: str) -> Path | None:
    """The corrections file of this photo under any name it was saved with."""
    return next(iter(sorted((data_dir / FOLDER).glob(f"*-{image_sha256[:KEY_DIGITS]}.json"))), None)


def edited_keys(data_dir: Path) -> set[str]:
    """The content keys (``KEY_DIGITS`` of their SHA-256) of the photos with saved edits, from the names in the
    corrections folder alone, no file read: what the app's Photos strip marks. A file kept aside as unreadable
    (``….unreadable.json``) holds no edits the app can open and is left out. Slow on a network share: a worker's."""
    try:
        entries = list(os.scandir(data_dir / FOLDER))
    except FileNotFoundError:  # nothing saved yet
        return set()
    return {key for entry in entries if entry.is_file() and (key := _key(entry.name))}


def _key(name: str) -> str:
    """The content key a corrections file's name holds; "" for another file (``….unreadable.json`` among them: its
    name ends in ``<key>.unreadable``)."""
    if not name.endswith(".json"):
        return ""
    key = name.removesuffix(".json").rpartition("-")[2]
    return key if len(key) == KEY_DIGITS and set(key) <= HEX else ""


def _check_key(image_sha256: Any, path: Path) -> None:
    """Refuse a file whose ``image_sha256`` is not the photo's its name is keyed by (``find_saved`` found it by the
    name). The app and ``decorlens tag`` go on with the header's: a file holding another photo's hash (copied in
    from a shared folder) had the next save overwrite that photo's own edits, and the scene memory drop its tags."""
    if not is_sha256(image_sha256):
        raise ValueError(f"image_sha256 must be a photo's SHA-256 in 64 hex digits, not {image_sha256!r}"[:120])
    if image_sha256[:KEY_DIGITS] != _key(path.name):
        raise ValueError(f"image_sha256 {image_sha256[:8]}… is another photo's")


def save(data: dict[str, Any], data_dir: Path) -> Path:
    """Write ``EditableScene.to_json()`` atomically: a crash leaves the previous version, never half a file.

    Takes the JSON rather than the scene so the UI can snapshot it and a worker can write it.
    """
    sha = data["corrections"]["image_sha256"]
    path = find_saved(data_dir, sha) or corrections_path(data_dir, data["image"], sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False))
    return path


def load(path: Path, image: str | Path) -> EditableScene:
    """The saved scene; an unreadable file is moved aside (kept, not overwritten) and reported in one line.

    ``engine.corrections_file.read`` reads it, as training does: a FIFO, a device, a file over its size cap or
    JSON nested too deeply is refused there (a FIFO blocked opening the photo; ``[[[…]]]`` raised RecursionError).
    """
    try:
        scene = EditableScene.from_json(read(path), str(image))
        _check_key(scene.image_sha256, path)
        return scene
    except (Unreadable, ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        reason = exc.reason if isinstance(exc, Unreadable) else exc
        aside = _aside_path(path)
        try:
            path.replace(aside)
        except OSError:  # gone meanwhile, or a read-only folder: nothing to keep aside
            raise UnreadableEdits(f"saved edits {path.name} are unreadable ({reason})") from exc
        raise UnreadableEdits(f"saved edits {path.name} are unreadable ({reason}); kept as {aside.name}") from exc


def _aside_path(path: Path) -> Path:
    """Where an unreadable corrections file is kept: ``<stem>.unreadable.json``, else ``<stem>.<n>.unreadable.json``,
    a name no file kept earlier holds. A photo's edits set aside a second time replaced the first file kept aside,
    and the edits it held were lost."""
    names = (path.with_name(f"{path.stem}{f'.{n}' if n > 1 else ''}{MOVED_ASIDE}") for n in itertools.count(1))
    return next(aside for aside in names if not (aside.exists() or aside.is_symlink()))
