""""What is it?" measured: is a drawn box's true category among the categories offered for it?

The IKEA scenes have no ground-truth boxes, so the detector's confident tags stand in for them: each tag
(score at least ``--min-score``, of a category the catalog has: not a tap, which is searched among
others) is taken for a thing the detector missed: it is left out of the scene's tags,
and a box is drawn around it, grown by ``margin`` of its width and height on each side (so that it holds some
of what stands beside it, as a box drawn by hand does), clipped to the photo. The box is guessed as the app
guesses it (``engine.drawn_guess.guess_box``, with the other tags) and counts when the tag's category is among
the ``GUESSES`` categories offered, and separately when it is the first (the category the box takes).

The detector finds no rug, and a lamp seldom (it is what a box is drawn for), so these boxes hold none: ``--boxes
FILE`` guesses boxes drawn by hand instead (``bench/drawn_boxes.csv``: rugs and lamps in six scenes, drawn on
the photos by eye), each with all of its scene's tags, as a user draws one around a thing the detector missed.

``--before FILE`` guesses the same boxes with another version of ``engine/drawn_guess.py`` too (for example
``git show HEAD~1:engine/drawn_guess.py > /tmp/old.py``), so a change is measured on the same boxes.

    decorlens --data-dir DIR catalog import …/ikea_interior/products.csv
    python -m bench.drawn_guess --data-dir DIR [--dataset …/ikea_interior] [--scenes 40] [--before FILE]
    python -m bench.drawn_guess --data-dir DIR --boxes bench/drawn_boxes.csv [--before FILE]

docs/results.md ran it with ``--scenes 40``, ``--scenes 40 --offset 2`` (other scenes) and
``--scenes 175 --min-score 0 --category lamp`` (every lamp tag: the detector is rarely sure of one).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

from bench.common import default_dataset, md_table
from engine import drawn_guess
from engine.corrections import Tag
from engine.pipeline import Pipeline
from engine.results import Box
from engine.settings import Settings

MARGINS = (0.25, 0.75)  # of a thing's width and height, added on each side of it
DRAWN = "drawn"  # the margin column of a box drawn by hand (``--boxes``)


def grown(box: Box, margin: float, width: int, height: int) -> Box:
    """``box`` with ``margin`` of its width and height added on each side, clipped to the photo."""
    x1, y1, x2, y2 = box
    dx, dy = margin * (x2 - x1), margin * (y2 - y1)
    return max(0.0, x1 - dx), max(0.0, y1 - dy), min(float(width), x2 + dx), min(float(height), y2 + dy)


def load_version(path: Path) -> ModuleType:
    """Another version of ``engine/drawn_guess.py``, loaded from a file of its own."""
    spec = importlib.util.spec_from_file_location("drawn_guess_before", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def measure(pipeline: Pipeline, scenes: list[Path], versions: dict[str, ModuleType], min_score: float,
            only: str | None = None) -> Counter:
    """Counts keyed (version, margin, category or "all", "offered" | "first" | "boxes"); ``only``: of this
    category's tags alone."""
    counts: Counter = Counter()
    stocked = {only} if only else set(pipeline.catalog.category_counts())
    for number, scene in enumerate(scenes, 1):
        result = pipeline.search_scene(scene)
        tags = [Tag(n, o) for n, o in enumerate(result.objects, 1)]
        for tag in tags:
            if tag.obj.score < min_score or tag.obj.category not in stocked:
                continue
            others = [t for t in tags if t is not tag]
            truth = tag.obj.category
            for margin in MARGINS:
                box = grown(tag.obj.box, margin, result.width, result.height)
                for name, version in versions.items():
                    offered = version.guess_box(pipeline, scene, None, box, others).categories
                    tally(counts, (name, margin), truth, offered)
        print(f"{number}/{len(scenes)} {scene.name}", flush=True)
    return counts


def tally(counts: Counter, where: tuple[str, object], truth: str, offered: tuple[str, ...]) -> None:
    """One guessed box counted for ``where`` (version, margin), overall and for its true category: a box, whether
    ``truth`` was offered, whether first."""
    for key in ("all", truth):
        counts[*where, key, "boxes"] += 1
        counts[*where, key, "offered"] += truth in offered
        counts[*where, key, "first"] += offered[:1] == (truth,)


def read_boxes(path: Path) -> dict[str, list[tuple[str, Box]]]:
    """Boxes drawn by hand, by scene id: a CSV of ``scene_id,category,x1,y1,x2,y2`` (photo pixels)."""
    boxes: dict[str, list[tuple[str, Box]]] = {}
    with open(path, newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), 2):
            try:
                box = tuple(float(row[k]) for k in ("x1", "y1", "x2", "y2"))
                boxes.setdefault(row["scene_id"], []).append((row["category"], box))
            except (KeyError, TypeError, ValueError):
                raise SystemExit(f"{path}:{line}: not scene_id,category,x1,y1,x2,y2") from None
    return boxes


def measure_drawn(pipeline: Pipeline, dataset: Path, boxes: dict[str, list[tuple[str, Box]]],
                  versions: dict[str, ModuleType]) -> Counter:
    """``measure``'s counts for boxes drawn by hand, each guessed with all of its scene's tags (margin ``DRAWN``)."""
    counts: Counter = Counter()
    for scene_id, drawn in boxes.items():
        scene = dataset / "scenes" / f"{scene_id}.jpg"
        result = pipeline.search_scene(scene)
        tags = [Tag(n, o) for n, o in enumerate(result.objects, 1)]
        for truth, box in drawn:
            for name, version in versions.items():
                offered = version.guess_box(pipeline, scene, None, box, tags).categories
                tally(counts, (name, DRAWN), truth, offered)
        print(scene_id, flush=True)
    return counts


def table(counts: Counter, versions: list[str]) -> str:
    """One row per margin and category with 5+ boxes (and all): each version's true category offered / first."""
    keys = {(m, k) for _v, m, k, _w in counts}
    rows = []
    for margin, key in keys:
        boxes = counts[versions[0], margin, key, "boxes"]
        if key != "all" and boxes < 5:
            continue
        cells = [f"{counts[v, margin, key, 'offered']} / {counts[v, margin, key, 'first']}" for v in versions]
        rows.append([margin if margin == DRAWN else f"{margin:.2f}", key, boxes, *cells])
    rows.sort(key=lambda r: (r[0], r[1] != "all", r[1]))
    return md_table(["margin", "category", "boxes", *(f"{v}: offered / first" for v in versions)], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a data dir with the IKEA catalog imported")
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--scenes", type=int, default=40, help="every n-th scene so that this many are used")
    parser.add_argument("--min-score", type=float, default=0.3, help="detector tags taken for ground truth")
    parser.add_argument("--offset", type=int, default=0, help="start at this scene: another set of scenes")
    parser.add_argument("--category", help="only tags of this category (with a low --min-score: lamps)")
    parser.add_argument("--before", type=Path, help="another engine/drawn_guess.py to compare with")
    parser.add_argument("--boxes", type=Path, help="boxes drawn by hand (scene_id,category,x1,y1,x2,y2) instead")
    args = parser.parse_args(argv)
    versions = {"before": load_version(args.before)} if args.before else {}
    versions["now"] = drawn_guess
    pipeline = Pipeline(Settings.defaults().with_(data_dir=args.data_dir))
    if args.boxes:
        drawn = read_boxes(args.boxes)
        print(f"\n{sum(map(len, drawn.values()))} boxes drawn by hand in {len(drawn)} scenes\n")
        print(table(measure_drawn(pipeline, args.dataset, drawn, versions), list(versions)))
        return
    everything = sorted((args.dataset / "scenes").glob("*.jpg"))
    scenes = everything[args.offset :: max(1, len(everything) // args.scenes)][: args.scenes]
    counts = measure(pipeline, scenes, versions, args.min_score, args.category)
    print(f"\n{len(scenes)} scenes from {args.offset}, {args.category or ''} tags of score {args.min_score}+ left out"
          " and drawn around\n")
    print(table(counts, list(versions)))


if __name__ == "__main__":
    main()
