"""What a box the user drew may be: the categories offered under "What is it?".

The box takes its best match's category for now, often the wrong one (a lamp whose best match was a table
became a "Table" tag), so a few categories are offered, from three kinds of evidence:

1. the categories of the box's ``GUESS_POOL`` best matches across the catalog: its best match's first, then the
   others by their matches' votes, weighted by rank (``voted``: 23 lamps of 40 outweigh one chair above them);
2. what the detector called the things in it: a tag closely over the box (IoU at least ``SEEN_IOU``) saw the
   same thing; a tag lying largely inside it and a sizeable part of it is one of the things it holds;
3. the rest of the box beside the largest detected thing in it, searched on its own, its matches voted the
   same way: a box drawn around a lamp and the chest of drawers under it matched like the chest, which filled
   most of it, and was offered chests and beds; one around a lamp and the flowers beside it (a third of the
   box, detected as a plant) matched like bedding and was offered Bedding, Plant, Storage, Frames. The lamp
   is what the rest of the box holds; the detector rarely sees a lamp, and it is what a box is drawn for.

bench/drawn_guess.py measures it (docs/results.md, "What is it? for a drawn box").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.boxes import area, covered, intersection, iou
from engine.corrections import USER, Tag
from engine.pipeline import Pipeline
from engine.results import Box, Match, SceneResult

GUESS_POOL = 40  # the box's matches whose categories are offered: its first few (top_k) can miss a lamp's
GUESSES = 4  # categories offered for a drawn box: a row of choices, not the category list again
SEEN_IOU = 0.3  # a detector's box this close to a drawn one saw the same thing
INSIDE = 0.6  # a detector's box with this share of itself in the drawn box is in it...
SIZEABLE = 0.1  # ...and, this share of the drawn box or more, one of the things it was drawn around (not a cup)
REST = 0.2  # the rest beside the largest thing, searched if at least this share of the box (a margin is not)
VOTE_RANKS = 10  # a match's vote for its category is 1 / (its rank + this): see ``voted``


@dataclass(frozen=True)
class DrawnGuess:
    """A drawn box searched: its result (the whole box's ``GUESS_POOL`` matches), the categories it may be, and
    the catalog revision they were found in (a later import or removal makes them stale)."""

    result: SceneResult
    categories: tuple[str, ...]
    revision: int


def category_guesses(matches: Sequence[Match], seen: Collection[str] = (), rest: Sequence[Match] = (),
                     limit: int = GUESSES) -> tuple[str, ...]:
    """The categories a drawn box may be, each once: its best match's first (the category it took), then what
    the detector saw in it (``seen_in``: its word on the thing itself outweighs the categories of the 5th to 40th
    product like it), then the rest of the box's (``rest``: its matches) most voted category (``voted``) not
    offered already, then the whole box's by their votes. The rest's is offered even when the whole box's
    matches hold it too: a lamp 2 of their 40 stood 7th among them and was not offered."""
    ranked = [m.category for m in matches if m.category]
    beside = [c for c in voted(rest) if c not in {*ranked[:1], *seen}]
    return tuple(dict.fromkeys([*ranked[:1], *seen, *beside[:1], *voted(matches)]))[:limit]


def voted(matches: Sequence[Match]) -> list[str]:
    """The matches' categories, the most voted first: a box's best match alone can be a chair that resembles
    it while 23 of its 40 are lamps. A match's vote is ``1 / (rank + VOTE_RANKS)``, so the first counts five
    times the 40th: by plain counts a category of many products (storage, 182) outvoted a plant (32)
    whose few matches came 2nd and 3rd (docs/results.md)."""
    votes: Counter[str] = Counter()
    for rank, match in enumerate(matches):
        if match.category:
            votes[match.category] += 1 / (rank + VOTE_RANKS)
    return [category for category, _vote in votes.most_common()]


def _detected(tags: Sequence[Tag]) -> list[Tag]:
    """The detector's tags; hidden and removed ones too (a designer removes a misplaced tag, then draws its box
    again). Not the boxes drawn before: the category chosen for one is about another box."""
    return [t for t in tags if t.origin != USER]


def _inside(tag: Tag, box: Box) -> bool:
    """The tag is one of the things in ``box``: largely inside it, and a sizeable part of it."""
    own = tag.obj.box
    return covered(own, box) >= INSIDE and intersection(own, box) >= SIZEABLE * area(box)


def seen_in(tags: Sequence[Tag], box: Box) -> list[str]:
    """The categories of the detector's tags over ``box`` (IoU at least ``SEEN_IOU``, the closest first), then
    of those inside it (``_inside``, the largest first): a box around a lamp and its table holds both."""
    near = sorted(((iou(t.obj.box, box), t.obj.category) for t in _detected(tags)), reverse=True)
    over = [category for overlap, category in near if overlap >= SEEN_IOU]
    held = sorted(((area(t.obj.box), t.obj.category) for t in _detected(tags) if _inside(t, box)), reverse=True)
    return [c for c in dict.fromkeys([*over, *(category for _size, category in held)]) if c]


def rest_of_box(tags: Sequence[Tag], box: Box) -> Box | None:
    """The part of ``box`` beside the largest detected thing in it: the widest strip above, below, left or right
    of that thing, if it is ``REST`` of the box or more; None when no thing is a sizeable part of the box
    (``SIZEABLE``: the whole box is the rest) or nothing sizeable is left beside it. The thing need not fill
    most of the box: flowers a third of a box around a lamp pulled its matches to bedding."""
    x1, y1, x2, y2 = box
    shares = [(intersection(t.obj.box, box), t.obj.box) for t in _detected(tags)]
    share, thing = max(shares, default=(0.0, box))
    if share < SIZEABLE * area(box):
        return None
    tx1, ty1, tx2, ty2 = max(thing[0], x1), max(thing[1], y1), min(thing[2], x2), min(thing[3], y2)
    strips = [(x1, y1, x2, ty1), (x1, ty2, x2, y2), (x1, y1, tx1, y2), (tx2, y1, x2, y2)]
    widest = max(strips, key=area)
    return widest if area(widest) >= REST * area(box) else None


def guess_box(pipeline: Pipeline, path: Path, pixels: np.ndarray | None, box: Box, tags: Sequence[Tag],
              pool: int = GUESS_POOL, cancelled: Callable[[], bool] = lambda: False) -> DrawnGuess:
    """Worker side of a drawn box: its ``pool`` best matches across the catalog as it is now, and what it may
    be (``category_guesses``), with the rest of the box beside the largest detected thing in it searched too.
    ``cancelled``: asked while the catalog is embedded for a new embedder first (``Pipeline.search_region``)."""
    revision = pipeline.catalog.revision
    result = pipeline.search_region(path, box, None, pool, decoded=pixels, cancelled=cancelled)
    rest_box = rest_of_box(tags, box)
    rest = (pipeline.search_region(path, rest_box, None, pool, decoded=pixels, cancelled=cancelled).objects[0].matches
            if rest_box else [])
    return DrawnGuess(result, category_guesses(result.objects[0].matches, seen_in(tags, box), rest), revision)
