"""Per-class confidences for the stock detectors, chosen on scenes no test split holds (issue 17).

A card's one confidence treats every class alike, but the classes are not alike: at the cards' 0.1 / 0.25
OIV7 `Pillow`, `Lamp` and `Drawer` boxes below it are still cushions, lamps and drawers, while COCO
`clock` boxes between 0.25 and 0.6 are round things (a plate, a letter "D", a butterfly frame). So each
class may get its own value in the category map's ``confidence`` section:

- **lower** to the lowest of ``LOWER`` whose added pins (between it and the card's value) and whose pins
  above it are both at least ``target`` right, on at least ``support / 2`` added pins, and which adds at
  most ``MAX_ADDED`` pins per scene where it adds any (more are parts of one thing: every compartment of
  a bookcase called a shelf);
- else **raise** to the lowest of ``RAISE`` whose removed pins are under ``JUNK`` right while the pins
  above it are at least twice as right.

"Right" is ``decorlens eval``'s tag precision (``training.evaluate``): the pin's category searches a
category of one of the scene's paired products. Pairs list only some of what a photo shows, so a real
unlisted chair counts as wrong; that is why the rule never raises a class merely for being below target
(chairs, sofas and plants are mostly real, unlisted objects) and only lowers where the added pins are
right far more often than the average pin. Pins are the app's (``Pipeline.detect``: the category map, the
catalog's categories, the merge, rows grouped), all detectors at ``FLOOR`` so a class can be lowered.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.imageio import load_image
from engine.pipeline import Pipeline
from engine.settings import Settings
from training.data import PairDataset, split_of
from training.evaluate import catalog_pipeline

FLOOR = 0.03
LOWER = (0.03, 0.05, 0.07)
RAISE = (0.3, 0.35, 0.4, 0.5, 0.6, 0.7)
TARGET = 0.8  # the bar for tags a merchandiser would trust
SUPPORT = 8  # a class with fewer pins keeps its card's confidence
MAX_ADDED = 2.0  # mean pins a lowered class may add per scene where it adds any
JUNK = 0.4

Pins = dict[tuple[str, str], list[tuple[float, bool, str]]]  # (class set, class) → (score, right, scene)


def tuning_scenes(dataset: PairDataset, seeds: Sequence[int]) -> list[str]:
    """Scenes in no seed's test split: thresholds chosen there can be measured on every test split."""
    return sorted({p.scene_id for p in dataset.pairs if all(split_of(p.scene_id, s) != "test" for s in seeds)})


def collect(pipeline: Pipeline, dataset: PairDataset, scenes: Sequence[str]) -> Pins:
    """Every pin of the scenes at ``FLOOR``, by detector class, with its score and whether it is right."""
    class_set = {d.name: d.model.card.class_set for d in pipeline.detector.detectors}
    wanted: dict[str, set[str]] = defaultdict(set)
    for pair in dataset.pairs:
        wanted[pair.scene_id].add(pair.category)
    pins: Pins = defaultdict(list)
    for scene in scenes:
        for d in pipeline.detect(load_image(dataset.scenes[scene]), FLOOR):
            right = any(c in wanted[scene] for c in pipeline.categories.searched(d.category))
            pins[(class_set[d.source], d.label)].append((d.score, right, scene))
    return pins


def choose(rows: Sequence[tuple[float, bool, str]], card_conf: float, target: float = TARGET) -> float | None:
    """The class's own confidence by the rule above, or None to keep the card's."""
    if len(rows) < SUPPORT:
        return None
    for conf in (c for c in LOWER if c < card_conf):
        added = [r for r in rows if conf < r[0] <= card_conf]
        above = [right for score, right, _ in rows if score > conf]
        per_scene = len(added) / max(len({r[2] for r in added}), 1)
        if (len(added) >= SUPPORT // 2 and _share(added) >= target and np.mean(above) >= target
                and per_scene <= MAX_ADDED):
            return conf
    for conf in (c for c in RAISE if c > card_conf):
        removed = [r for r in rows if card_conf < r[0] <= conf]
        above = [r for r in rows if r[0] > conf]
        if len(removed) >= SUPPORT // 2 and above and _share(removed) < JUNK and _share(above) >= 2 * _share(removed):
            return conf
    return None


def calibrate(pins: Pins, card_confs: dict[str, float], target: float = TARGET) -> dict[str, Any]:
    """The ``confidence`` section (class set → class → value) and, per changed class, what was measured."""
    section: dict[str, dict[str, float]] = {}
    measured: dict[str, Any] = {}
    for (class_set, label), rows in sorted(pins.items()):
        card = card_confs[class_set]
        conf = choose(rows, card, target)
        if conf is None:
            continue
        section.setdefault(class_set, {})[label] = conf
        band = [r for r in rows if min(conf, card) < r[0] <= max(conf, card)]
        measured[f"{class_set}/{label}"] = {"card": card, "conf": conf, "pins_changed": len(band),
                                            "right_changed": sum(r[1] for r in band)}
    return {"confidence": section, "measured": measured}


def _share(rows: Sequence[tuple[float, bool, str]]) -> float:
    return float(np.mean([r[1] for r in rows])) if rows else 0.0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="dataset folder (pairs.csv, scenes.csv)")
    parser.add_argument("--data-dir", type=Path, required=True, help="a data dir; its eval catalog says what is sold")
    parser.add_argument("--seeds", default="0,1", help="scene seeds whose test splits are left out")
    parser.add_argument("--target", type=float, default=TARGET)
    args = parser.parse_args(argv)
    dataset = PairDataset.load(args.data)
    pipeline = catalog_pipeline(Pipeline(Settings.for_data_dir(args.data_dir)), dataset)
    scenes = tuning_scenes(dataset, [int(s) for s in args.seeds.split(",")])
    cards = {d.model.card.class_set: d.model.card.default_conf for d in pipeline.detector.detectors}
    result = calibrate(collect(pipeline, dataset, scenes), cards, args.target)
    print(f"{len(scenes)} scenes")
    for name, row in result["measured"].items():
        print(f"{name}: {row}")
    print({"confidence": result["confidence"]})


if __name__ == "__main__":
    main()
