"""Detector coverage: which detectors, at which confidence, find the kinds of products a room contains.

Coverage is the share of scene→product pairs (``pairs.csv``) whose catalog category is searched by at
least one decor detection in that scene (``CategoryMap.covers``). A product its category's detector
never fires for can't be found whatever the embedder does, so this is the upper bound that detection
puts on retrieval. It is reported for each configured detector alone and for all of them merged
(``DetectorSet``), at several confidences, per category, with detection time per scene.

Every detector runs once per scene at the lowest confidence, keeping all classes; higher thresholds
are filtered from that (greedy NMS keeps the same boxes above any higher threshold), and classes are
mapped to decor categories at table time, so editing ``categories.yaml`` needs no re-run. The raw
detections are cached as JSON in the bench workspace, keyed by the ONNX file's sha256.

Run: ``python -m bench.coverage [--quick] [--workdir DIR] [--out DIR] [--refresh]``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import Options, Workspace, header, machine_info, md_table, median, timed, write_report
from engine.categories import CategoryMap
from engine.detect import DECOR_CLASS_SET, Detector, merge_detections
from engine.imageio import load_image
from engine.results import Detection

CONFIDENCES = (0.1, 0.15, 0.25)
MERGE_IOU = 0.5  # DetectorSet's default
CACHE_NAME = "coverage-detections.json"

COLUMNS = (
    "detectors @ confidence", "coverage", "pairs covered", "objects / scene", "objects of a listed category",
    "unlisted categories / scene", "detect ms / scene", "CPU ms / scene",
)
NOTES = (
    "Objects / scene: decor detections after merging. Objects of a listed category: their share whose "
    "searched categories include one paired with the scene; unlisted categories: detected decor categories "
    "per scene that search none of its paired categories. Both are rough precision proxies (pairs list only "
    "the products IKEA sold for the photo) and count scenes with pairs only. Detect ms: median wall time per "
    "scene (letterbox + ONNX + decode + NMS) summed over the detectors used; CPU ms: the process's CPU time, "
    "steadier when the machine is shared."
)

Raw = list[list[Any]]  # [[x1, y1, x2, y2, score, label], ...] for one scene


@dataclass(frozen=True)
class Setting:
    """One configuration to score: a confidence per detector (detectors not listed are off)."""

    confs: tuple[tuple[str, float], ...]

    @property
    def label(self) -> str:
        return " + ".join(f"{name} @ {conf:g}" for name, conf in self.confs)


def run(pipeline: Any, options: Options, refresh: bool = False) -> dict[str, Any]:
    machine = machine_info()
    workspace = Workspace(pipeline, options)
    detectors = short_names(workspace.pipeline.detector.detectors)
    categories = workspace.pipeline.categories
    pairs = {sid: [cat for _, cat in items] for sid, items in workspace.dataset.pairs_by_scene().items()}
    scenes = scene_ids(workspace, options.quick)
    defaults = Setting(tuple((name, d.model.card.default_conf) for name, d in detectors.items()))
    floor = min(*CONFIDENCES, *dict(defaults.confs).values())
    cache = {} if refresh else workspace.cache_json(CACHE_NAME)
    entries = {name: detect_all(d, scenes, floor, workspace, cache) for name, d in detectors.items()}
    workspace.save_cache_json(CACHE_NAME, cache)
    raw = {name: {sid: entry[sid]["boxes"] for sid in scenes} for name, entry in entries.items()}
    class_sets = {name: d.model.card.class_set for name, d in detectors.items()}
    rows = [score(s, raw, class_sets, categories, pairs, scenes) for s in settings(list(detectors), defaults)]
    data = {
        "benchmark": "coverage",
        "mode": options.mode,
        "machine": machine,
        "detectors": {name: {"file": d.model.path.name, "sha256": d.model.card.sha256,
                             "class_set": d.model.card.class_set, "card_conf": d.model.card.default_conf}
                      for name, d in detectors.items()},
        "card_defaults": defaults.label,
        "scenes": len(scenes),
        "pairs": sum(len(pairs.get(s, [])) for s in scenes),
        "timing_ms": {name: timing(entry, scenes) for name, entry in entries.items()},
        "rows": rows,
        "rule": "a pair is covered if any decor detection in its scene searches the pair's catalog category",
    }
    write_report(options, "coverage", data, report(data, options))
    return data


def scene_ids(workspace: Workspace, quick: bool) -> list[str]:
    ids = sorted(row["scene_id"] for row in workspace.dataset.scenes)
    return ids[::5] if quick else ids


def short_names(detectors: Sequence[Detector]) -> dict[str, Detector]:
    """Detectors by class set ("coco", "oiv7") where that is unambiguous, else by model name."""
    sets = Counter(d.model.card.class_set for d in detectors)
    return {(d.model.card.class_set if sets[d.model.card.class_set] == 1 else d.name): d for d in detectors}


# --- detection, cached ---------------------------------------------------------------------------


def detect_all(
    detector: Detector, scenes: Sequence[str], floor: float, workspace: Workspace, cache: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per scene: raw detections (all classes, score > ``floor``) and their time, cached per model file."""
    entry = cache.setdefault(f"{detector.model.card.sha256}@{floor:g}", {"name": detector.name, "scenes": {}})
    todo = [s for s in scenes if s not in entry["scenes"]]
    if todo:
        workspace.options.log(f"{detector.name}: detecting in {len(todo)} scenes")
        detector.detect_raw(load_image(workspace.dataset.scene_path(todo[0])), floor)  # warm-up, untimed
    for n, sid in enumerate(todo, 1):
        entry["scenes"][sid] = detect_one(detector, workspace.dataset.scene_path(sid), floor)
        if n % 25 == 0:
            workspace.options.log(f"  {n}/{len(todo)}")
    return entry["scenes"]


def detect_one(detector: Detector, path: Path, floor: float) -> dict[str, Any]:
    image = load_image(path)
    (boxes, scores, classes), t = timed(lambda: detector.detect_raw(image, floor))
    names = detector.model.card.class_names
    return {
        "wall_ms": round(t.wall_ms, 2),
        "cpu_ms": round(t.cpu_ms, 2),
        "boxes": [[*(round(float(v), 1) for v in box), round(float(s), 4), names[c]]
                  for box, s, c in zip(boxes, scores, classes)],
    }


def timing(entry: dict[str, dict[str, Any]], scenes: Sequence[str]) -> dict[str, float]:
    """Median wall and process-CPU time of one detector per scene, as measured when first cached."""
    return {
        "median_wall_ms": median([entry[s]["wall_ms"] for s in scenes]),
        "median_cpu_ms": median([entry[s]["cpu_ms"] for s in scenes]),
    }


# --- scoring -------------------------------------------------------------------------------------


def settings(names: Sequence[str], defaults: Setting) -> list[Setting]:
    """Each detector alone at each confidence, all together at every combination, and the cards' defaults."""
    alone = [Setting(((name, c),)) for name in names for c in CONFIDENCES]
    together = [Setting(tuple(zip(names, combo))) for combo in _grid(len(names))] if len(names) > 1 else []
    return [*alone, *together] + ([defaults] if defaults not in together else [])


def _grid(n: int) -> Iterable[tuple[float, ...]]:
    if n == 0:
        yield ()
        return
    for head in CONFIDENCES:
        for tail in _grid(n - 1):
            yield (head, *tail)


def decor_detections(
    raw: Raw, name: str, class_set: str, conf: float, categories: CategoryMap
) -> list[Detection]:
    """The cached boxes above ``conf`` mapped to decor categories as engine.detect.Detector.detect does."""
    out = []
    for *box, score, label in raw:
        category = label if class_set == DECOR_CLASS_SET else categories.decor_category(class_set, label)
        if score > conf and category is not None and category in categories.search:
            out.append(Detection(tuple(box), score, label, category, name))
    return out


def score(
    setting: Setting, raw: dict[str, dict[str, Raw]], class_sets: dict[str, str], categories: CategoryMap,
    pairs: dict[str, list[str]], scenes: Sequence[str],
) -> dict[str, Any]:
    """Coverage over all pairs; object counts and precision proxies over the scenes that have pairs."""
    covered: Counter[str] = Counter()
    total: Counter[str] = Counter()
    objects = listed_objects = detected_categories = unlisted_categories = 0
    scored = [sid for sid in scenes if pairs.get(sid)]
    for sid in scored:
        found = [d for name, conf in setting.confs
                 for d in decor_detections(raw[name][sid], name, class_sets[name], conf, categories)]
        merged = merge_detections(found, MERGE_IOU)
        detected = {d.category for d in merged}
        listed = set(pairs[sid])
        objects += len(merged)
        listed_objects += sum(1 for d in merged if listed & set(categories.searched(d.category)))
        detected_categories += len(detected)
        unlisted_categories += sum(1 for c in detected if not listed & set(categories.searched(c)))
        for cat in pairs[sid]:
            total[cat] += 1
            covered[cat] += categories.covers(detected, cat)
    return {
        "setting": setting.label,
        "confs": dict(setting.confs),
        "coverage": sum(covered.values()) / max(1, sum(total.values())),
        "covered": sum(covered.values()),
        "objects_per_scene": objects / max(1, len(scored)),
        "listed_object_share": listed_objects / max(1, objects),
        "unlisted_categories_per_scene": unlisted_categories / max(1, len(scored)),
        "categories_per_scene": detected_categories / max(1, len(scored)),
        "per_category": {cat: {"pairs": total[cat], "covered": covered[cat]} for cat in sorted(total)},
    }


# --- report --------------------------------------------------------------------------------------


def report(data: dict[str, Any], options: Options) -> str:
    timing_ms = data["timing_ms"]
    rows = []
    for row in data["rows"]:
        wall = sum(timing_ms[n]["median_wall_ms"] for n in row["confs"])
        cpu = sum(timing_ms[n]["median_cpu_ms"] for n in row["confs"])
        marker = " (card defaults)" if row["setting"] == data["card_defaults"] else ""
        rows.append([
            row["setting"] + marker, f"{row['coverage']:.1%}", row["covered"],
            round(row["objects_per_scene"], 1), f"{row['listed_object_share']:.0%}",
            f"{row['unlisted_categories_per_scene']:.2f}", round(wall), round(cpu),
        ])
    overall = md_table(COLUMNS, rows)
    return "\n".join([
        header("Detector coverage", data["machine"], options,
               f"{data['pairs']} scene→product pairs in {data['scenes']} scenes. "
               f"Rule: {data['rule']}."),
        overall,
        "",
        NOTES,
        "",
        per_category_table(data["rows"], data["card_defaults"]),
    ])


def per_category_table(rows: Sequence[dict[str, Any]], card_defaults: str) -> str:
    """Coverage per catalog category: one detector or all at one confidence, and the cards' defaults."""
    width = max(len(r["confs"]) for r in rows)
    chosen = [r for r in rows if len(set(r["confs"].values())) == 1 and len(r["confs"]) in (1, width)]
    chosen += [r for r in rows if r["setting"] == card_defaults and r not in chosen]
    pairs = chosen[0]["per_category"]
    table = [
        [cat, pairs[cat]["pairs"], *(f"{r['per_category'][cat]['covered'] / pairs[cat]['pairs']:.0%}"
                                     for r in chosen)]
        for cat in sorted(pairs, key=lambda c: (-pairs[c]["pairs"], c))
    ]
    return md_table(["catalog category", "pairs", *(column(r) for r in chosen)], table)


def column(row: dict[str, Any]) -> str:
    """"coco 0.1", "coco+oiv7 0.1", or the full setting when confidences differ."""
    confs = row["confs"]
    if len(set(confs.values())) > 1:
        return row["setting"]
    return f"{'+'.join(confs)} {next(iter(confs.values())):g}"


def main(argv: list[str] | None = None) -> int:
    from bench.runner import add_arguments, options_from
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m bench.coverage", description=__doc__.split("\n")[0])
    add_arguments(parser)
    parser.add_argument("--refresh", action="store_true", help="detect again, ignoring cached detections")
    args = parser.parse_args(argv)
    run(Pipeline(Settings.defaults()), options_from(args), refresh=args.refresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
