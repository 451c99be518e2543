"""The review queue (active learning): the tags where the model hesitates most, least sure first.

It lists the tags of every photo tagged so far (the scene memory: the app and batch tagging) whose two
best matches are closest. (Whether confirming those pays more than confirming tags at random was measured
with ``bench.review_rounds``: in one round of 30 on the IKEA data it did not, docs/training.md.) Confirmed
tags are left out; a tag with a single match has no runner-up to be confused with. It is a query over the
catalog, so it lives here rather than in ``training``: the packaged app, which carries no training, shows it.

The runner-up is the best match after the first whose product photo is another file (``image_hash``):
variants of one product sold with the same photo (a colour, a size) score alike to the last digit, so the
queue's top was all such pairs at margin 0.000 (72 of the first 400 on the IKEA photos), which no one can
tell apart by looking and no embedder can learn to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.catalog import Catalog
from engine.scene_memory import PATH, damaged_memory, photo_count, read_path, read_sha256, read_text, text_of

QUEUE_SQL = f"""
SELECT {PATH}, o.number, {text_of('o.category')}, {text_of('a.sku')}, a.score, {text_of('b.sku')}, b.score,
       o.x1, o.y1, o.x2, o.y2, COUNT(*) OVER (), s.width, s.height, {text_of('s.sha256')}
FROM scene_objects o
JOIN scenes s ON s.id = o.scene_id
JOIN scene_matches a ON a.object_id = o.id AND a.rank = 1
LEFT JOIN products pa ON pa.sku = a.sku
JOIN scene_matches b ON b.object_id = o.id AND b.rank = (
    SELECT MIN(m.rank) FROM scene_matches m LEFT JOIN products pm ON pm.sku = m.sku
    WHERE m.object_id = o.id AND m.rank > 1 AND pm.image_hash IS NOT pa.image_hash
)
WHERE o.confirmed = 0
ORDER BY a.score - b.score, a.score, s.path, o.number
LIMIT ?
"""


@dataclass(frozen=True)
class ReviewItem:
    """One tag to look at: its photo and number, and the two products it hesitates between."""

    photo: Path
    number: int
    category: str
    best_sku: str
    best_score: float
    runner_up_sku: str
    runner_up_score: float
    box: tuple[float, float, float, float]  # where the tag's object is, in a ``size`` picture of the photo
    size: tuple[int, int] = (0, 0)  # (width, height) the box refers to: the photo's own (``scene_memory.box_in``)
    sha256: str = ""  # the photo's content as tagged ("" unknown): a file changed since holds other things at ``box``

    @property
    def margin(self) -> float:
        return self.best_score - self.runner_up_score


def review_queue(catalog: Catalog, limit: int = 100) -> list[ReviewItem]:
    """The ``limit`` unconfirmed tags with the smallest margin between their top two matches."""
    return queue_head(catalog, limit)[0]


def queue_head(catalog: Catalog, limit: int) -> tuple[list[ReviewItem], int]:
    """``review_queue``'s first ``limit`` tags, and how many tags the whole queue holds, from one query: the
    window the app lists says "The 200 least sure of 426 tags" without reading the other 226 into Python."""
    if photo_count(catalog) == 0:
        return [], 0
    rows = catalog.db.execute(QUEUE_SQL, (limit,)).fetchall()
    return [_item(catalog, r) for r in rows], int(rows[0][11]) if rows else 0


def _item(catalog: Catalog, row: Sequence[Any]) -> ReviewItem:
    """A queue row as DecorLens stored it; a cell of another type (an edit in a database browser, a damaged page)
    is the memory's one line, as ``scene_memory`` says it: a score of text ended the Review window's listing in
    "could not convert string to float", a category of bytes in a TypeError. A path of bytes (a file name that is not
    UTF-8) is the file's name (``read_path``)."""
    path, number, category, best, best_score, runner_up, runner_up_score, *box = row[:11]
    path, category, best, runner_up = read_path(path), *map(read_text, (category, best, runner_up))
    texts, numbers, size = (path, category, best, runner_up), (best_score, runner_up_score, *box), row[12:14]
    if not (all(isinstance(v, str) for v in texts) and isinstance(number, int)
            and all(isinstance(v, int | float) for v in numbers) and all(isinstance(v, int) and v > 0 for v in size)):
        raise damaged_memory(catalog, f"a tag of {path!r} is not as it was stored")
    return ReviewItem(Path(path), number, category, best, float(best_score), runner_up, float(runner_up_score),
                      tuple(map(float, box)), tuple(size), read_sha256(row[14]))
