"""Scene latency, end to end (photo on disk → tags with top-5 matches), ours against the reference.

Pass 1 runs both pipelines once on every candidate scene: it warms them up, counts the objects (to
pick scenes with ~1, ~5 and 10+ of them) and scores top-5 accuracy on the scene→product pairs.
Pass 2 times the picked scenes, ours and the reference alternately (so a change in machine load hits
both), and reports medians of wall time, of process CPU time, and ours split into stages.

With ``--trained-detector`` two more configurations run in both passes: that one network alone
("trained", what ``models activate`` of a ``train-detector`` model gives) and beside the stock
detectors ("three"), both with the user's category map (which holds the trained classes). The
candidates are then the test scenes of the split seed its card records, which it never trained on.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from bench.common import (
    Options,
    Workspace,
    header,
    machine_info,
    md_table,
    median,
    timed,
    write_report,
)
from bench.reference import ReferencePipeline, scene_hits

STAGES = ("decode", "detect", "embed", "search")
# bucket name → (low, high, target) object counts; "10+" has no upper bound
BUCKETS = {"~1": (1, 2, 1), "~5": (4, 6, 5), "10+": (10, 10_000, 12)}


def candidate_scenes(workspace: Workspace, quick: bool, test_seed: int | None = None) -> list[str]:
    """Every scene (quick: 16 spread over them); with ``test_seed``, only that split seed's test scenes."""
    ids = sorted(row["scene_id"] for row in workspace.dataset.scenes)
    if test_seed is not None:
        from training.data import split_of

        ids = [sid for sid in ids if split_of(sid, test_seed) == "test"]
    if not quick:
        return ids
    step = max(1, len(ids) // 16)
    return ids[::step][:16]


def pick(counts: dict[str, int], per_bucket: int) -> list[tuple[str, str]]:
    """(bucket, scene id): the scenes closest to each bucket's target count, ties by id."""
    chosen = []
    for bucket, (low, high, target) in BUCKETS.items():
        inside = sorted((abs(n - target), sid) for sid, n in counts.items() if low <= n <= high)
        if not inside:  # nothing in range: the nearest scenes anyway, so every bucket is measured
            inside = sorted((abs(n - target), sid) for sid, n in counts.items() if n > 0)
        chosen += [(bucket, sid) for _, sid in inside[:per_bucket]]
    return chosen


def untuned_pipeline(workspace: Workspace) -> Any:
    """Ours as it ran before the benchmark-driven engine changes (docs/benchmarks/README.md):
    onnxruntime pool threads spinning, and the embedder fed batches of 32 through a dynamic-batch
    session. (The faster box decode is not undone: it saves ~5 ms a scene.)"""
    from engine.embed import BATCH
    from engine.pipeline import Pipeline

    before = os.environ.get("DECORLENS_SPIN")
    os.environ["DECORLENS_SPIN"] = "1"
    try:
        untuned = Pipeline(workspace.settings)
        _ = untuned.detector  # sessions open now, while spinning is on
        embedder = untuned.embedder
        embedder.runner, embedder.batch = embedder.session, BATCH
    finally:
        if before is None:
            os.environ.pop("DECORLENS_SPIN", None)
        else:
            os.environ["DECORLENS_SPIN"] = before
    return untuned


def before_pipeline(workspace: Workspace, embedder: str) -> Any:
    """Ours with another embedder and the plain one-crop query: a previous default, timed in the same run."""
    from engine.pipeline import Pipeline
    from engine.query import QueryOptions

    return Pipeline(workspace.settings.with_(embedder=(embedder,), query=QueryOptions()))


def detector_pipelines(workspace: Workspace, name: str) -> tuple[dict[str, Any], int]:
    """"three" (the stock detectors plus the trained one) and "trained" (it alone), and its split seed.

    Both use the user's category map: ``train-detector`` added the trained classes there, and the
    bench data dir's own map (the shipped one) would drop the classes it lacks.
    """
    from engine.models import find_model
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    user = workspace.user_pipeline
    model = find_model(name, user.settings.models_dir, user.data_dir)
    path = (str(model.path),)
    configs = {"three": (*Settings.defaults().detectors, path), "trained": (path,)}
    pipelines = {who: Pipeline(workspace.settings.with_(detectors=d), categories=user.categories)
                 for who, d in configs.items()}
    return pipelines, int(model.card.recipe.get("seed", 0))


def run(pipeline: Any, options: Options) -> dict[str, Any]:
    machine = machine_info()
    workspace = Workspace(pipeline, options)
    workspace.ensure_catalog()
    ours = workspace.pipeline
    options.log("loading the reference pipeline (ultralytics + torchvision)")
    reference = ReferencePipeline(workspace, ours.settings.device)
    dataset = workspace.dataset
    categories = ours.categories
    pairs = dataset.pairs_by_scene()

    extra, seed = detector_pipelines(workspace, options.trained_detector) if options.trained_detector else ({}, None)

    # pass 1: warm-up, object counts, accuracy
    candidates = candidate_scenes(workspace, options.quick, seed)[: options.max_scenes or None]
    if not candidates:
        from engine.errors import DecorLensError

        raise DecorLensError(f"no scene to time in {options.dataset}" + (f" (test split of seed {seed})" if extra else ""))
    ours.search_scene(dataset.scene_path(candidates[0]))  # first-call costs (sessions, index) stay out of pass 1
    reference.search_scene(dataset.scene_path(candidates[0]))
    for other in extra.values():
        other.search_scene(dataset.scene_path(candidates[0]))
    counts: dict[str, int] = {}
    ref_counts: dict[str, int] = {}
    acc = {"ours": [], "reference": [], **{who: [] for who in extra}}
    pass1 = {"ours": [], "reference": []}
    options.log(f"pass 1: {len(candidates)} scenes, each pipeline once")
    for n, sid in enumerate(candidates, 1):
        path = dataset.scene_path(sid)
        result, t_ours = timed(ours.search_scene, path)
        ref, t_ref = timed(reference.search_scene, path)
        pass1["ours"].append(t_ours.wall_ms)
        pass1["reference"].append(t_ref.wall_ms)
        counts[sid] = len(result.objects)
        ref_counts[sid] = len(ref.objects)
        if sid in pairs:
            acc["ours"] += scene_hits(
                [(o.category, [m.sku for m in o.matches]) for o in result.objects], pairs[sid], categories,
                dataset.equivalent,
            )
            acc["reference"] += scene_hits(
                [(o.category, o.skus) for o in ref.objects], pairs[sid], categories, dataset.equivalent
            )
            for who, other in extra.items():
                found = other.search_scene(path).objects
                acc[who] += scene_hits([(o.category, [m.sku for m in o.matches]) for o in found], pairs[sid],
                                       other.categories, dataset.equivalent)
        if n % 10 == 0:
            options.log(f"  {n}/{len(candidates)}")

    # pass 2: timing on the picked scenes
    repeats = options.repeats or (3 if options.quick else 7)
    chosen = pick(counts, 1 if options.quick else 3)
    runners = {"ours": ours.search_scene, "reference": lambda p: reference.search_scene(p)}
    if options.untuned:
        untuned = untuned_pipeline(workspace)
        untuned.search_scene(dataset.scene_path(chosen[0][1]))
        runners["untuned"] = untuned.search_scene
    if options.before_embedder:
        before = before_pipeline(workspace, options.before_embedder)
        before.search_scene(dataset.scene_path(chosen[0][1]))  # embeds the catalog for it once, warms up
        runners["before"] = before.search_scene
    runners.update({who: other.search_scene for who, other in extra.items()})
    options.log(f"pass 2: {len(chosen)} scenes × {repeats} repeats, alternating {', '.join(runners)}")
    scenes_out = []
    for bucket, sid in chosen:
        path = dataset.scene_path(sid)
        runs: dict[str, list] = {who: [] for who in runners}
        for r in range(repeats):
            order = list(runners) if r % 2 == 0 else list(reversed(runners))
            for who in order:
                result, t = timed(runners[who], path)
                runs[who].append((t, result.timings_ms))
        entry = {"scene": sid, "bucket": bucket, "objects": counts[sid], "objects_reference": ref_counts[sid]}
        for who, items in runs.items():
            entry[who] = {
                "total_ms": median([t.wall_ms for t, _ in items]),
                "cpu_ms": median([t.cpu_ms for t, _ in items]),
                "stages_ms": {s: median([st.get(s, 0.0) for _, st in items]) for s in STAGES},
                "runs_ms": [round(t.wall_ms, 1) for t, _ in items],
            }
            stages = sum(entry[who]["stages_ms"].values())
            entry[who]["stages_ms"]["other"] = max(0.0, entry[who]["total_ms"] - stages)
        entry["speedup_vs_reference"] = entry["reference"]["total_ms"] / entry["ours"]["total_ms"]
        entry["speedup_cpu_vs_reference"] = entry["reference"]["cpu_ms"] / entry["ours"]["cpu_ms"]
        if "untuned" in entry:
            entry["speedup_vs_untuned"] = entry["untuned"]["total_ms"] / entry["ours"]["total_ms"]
        if "before" in entry:
            entry["speedup_vs_before"] = entry["before"]["total_ms"] / entry["ours"]["total_ms"]
        if "trained" in entry:
            entry["trained_speedup_vs_three"] = entry["three"]["total_ms"] / entry["trained"]["total_ms"]
            entry["trained_speedup_vs_reference"] = entry["reference"]["total_ms"] / entry["trained"]["total_ms"]
        scenes_out.append(entry)
        options.log(f"  {bucket:>4} {counts[sid]:>2} objects: " + ", ".join(
            f"{who} {entry[who]['total_ms']:.0f} ms" for who in runners))

    buckets = {}
    for bucket in BUCKETS:
        rows = [e for e in scenes_out if e["bucket"] == bucket]
        if rows:
            buckets[bucket] = _summary(rows)
    overall = _summary(scenes_out)
    accuracy = {
        "scenes": sum(1 for sid in candidates if sid in pairs),
        "pairs": len(acc["ours"]),
        "ours_top5": sum(acc["ours"]) / max(1, len(acc["ours"])),
        "reference_top5": sum(acc["reference"]) / max(1, len(acc["reference"])),
        "ours_hits": sum(acc["ours"]),
        "reference_hits": sum(acc["reference"]),
        "ours_equal_or_better": sum(acc["ours"]) >= sum(acc["reference"]),
        **{f"{who}_top5": sum(acc[who]) / max(1, len(acc[who])) for who in extra},
        **{f"{who}_hits": sum(acc[who]) for who in extra},
        "split": f"test scenes of seed {seed}" if seed is not None else "all scenes",
        "rule": "a pair is a hit if the product (or a byte-identical duplicate) is in the top-5 of any detection "
                "of the scene whose category searches the product's category",
    }
    data = {
        "benchmark": "latency",
        "mode": options.mode,
        "machine": machine,
        "setup": {
            "ours": {
                "detectors": [d.model.path.name for d in ours.detector.detectors],
                "embedder": ours.embedder.model.path.name,
                "query": {"paddings": list(ours.query.paddings), "flip": ours.query.flip},
                "device": ours.device,
                "index": "hnswlib per category (M=16, ef=128)",
            },
            "reference": {
                "detectors": [f"ultralytics YOLO.predict({m.ckpt_path if hasattr(m, 'ckpt_path') else m})"
                              for m, _, _ in reference.detectors],
                "embedder": f"torchvision mobilenet_v2 features on {reference.device}, one crop at a time",
                "search": "numpy brute force, masked to the searched categories",
            },
            "repeats": repeats,
            "before_embedder": options.before_embedder,
            "trained_detector": options.trained_detector,
            "catalog_products": ours.catalog.count(),
        },
        "speedup_vs_reference": overall["speedup_vs_reference"],
        "speedup_cpu_vs_reference": overall["speedup_cpu_vs_reference"],
        "speedup_vs_untuned": overall.get("speedup_vs_untuned"),
        "overall": overall,
        "buckets": buckets,
        "scenes": scenes_out,
        "accuracy": accuracy,
        "pass1": {
            "scenes": len(candidates),
            "ours_mean_ms": sum(pass1["ours"]) / len(candidates),
            "reference_mean_ms": sum(pass1["reference"]) / len(candidates),
            "object_counts": counts,
        },
    }
    write_report(options, "latency", data, render(data, options))
    return data


def _stage_means(rows: list[dict[str, Any]], who: str) -> dict[str, float]:
    """``who``'s time in each stage, the mean per scene (ms)."""
    return {s: sum(e[who]["stages_ms"][s] for e in rows) / len(rows) for s in (*STAGES, "other")}


def _means(rows: list[dict[str, Any]], who: str) -> dict[str, Any]:
    """``who``'s wall, CPU and stage times, the mean per scene, under keys named for it ("untuned_ms", …)."""
    return {
        f"{who}_ms": sum(e[who]["total_ms"] for e in rows) / len(rows),
        f"{who}_cpu_ms": sum(e[who]["cpu_ms"] for e in rows) / len(rows),
        f"{who}_stages_ms": _stage_means(rows, who),
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ours = sum(e["ours"]["total_ms"] for e in rows)
    ref = sum(e["reference"]["total_ms"] for e in rows)
    ours_cpu = sum(e["ours"]["cpu_ms"] for e in rows)
    ref_cpu = sum(e["reference"]["cpu_ms"] for e in rows)
    stages = _stage_means(rows, "ours")
    ref_stages = _stage_means(rows, "reference")
    others = {}  # the configurations timed beside ours, where every scene has them
    for who in ("untuned", "before"):
        if all(who in e for e in rows):
            others.update(_means(rows, who))
            others[f"speedup_vs_{who}"] = sum(e[who]["total_ms"] for e in rows) / ours
    for who in ("three", "trained"):
        if all(who in e for e in rows):
            others.update(_means(rows, who))
    if "trained_ms" in others:
        others["trained_speedup_vs_three"] = others["three_ms"] / others["trained_ms"]
        others["trained_speedup_vs_reference"] = ref / len(rows) / others["trained_ms"]
    return {
        **others,
        "scenes": len(rows),
        "objects_mean": sum(e["objects"] for e in rows) / len(rows),
        "ours_ms": ours / len(rows),
        "reference_ms": ref / len(rows),
        "ours_cpu_ms": ours_cpu / len(rows),
        "reference_cpu_ms": ref_cpu / len(rows),
        "ours_stages_ms": stages,
        "reference_stages_ms": ref_stages,
        "speedup_vs_reference": ref / ours,
        "speedup_cpu_vs_reference": ref_cpu / ours_cpu,
    }


def _stage_change(overall: dict, before: str, after: str, stages: tuple[str, ...]) -> str:
    """ "detect 812 → 301, embed …": two configurations' median stage times from one run's overall."""
    return ", ".join(
        f"{k} {overall[f'{before}_stages_ms'][k]:.0f} → {overall[f'{after}_stages_ms'][k]:.0f}" for k in stages
    )


def render(data: dict[str, Any], options: Options) -> str:
    rows = []
    for bucket, s in [*data["buckets"].items(), ("all", data["overall"])]:
        o, r = s["ours_stages_ms"], s["reference_stages_ms"]
        rows.append([
            bucket, s["scenes"], s["objects_mean"],
            s["ours_ms"], *(o[k] for k in STAGES),
            s["reference_ms"], *(r[k] for k in STAGES),
            f"{s['speedup_vs_reference']:.2f}×", f"{s['speedup_cpu_vs_reference']:.2f}×",
        ])
    table = md_table(
        ["objects", "scenes", "objects (mean)", "ours ms", "decode", "detect", "embed", "search",
         "reference ms", "decode", "detect", "embed", "search", "speedup (wall)", "speedup (CPU)"],
        rows,
    )
    acc = data["accuracy"]
    tuning = ""
    if "untuned_ms" in data["overall"]:
        o = data["overall"]
        stage_text = _stage_change(o, "untuned", "ours", ("detect", "embed"))
        tuning = (f"Ours before the engine tuning (spinning onnxruntime threads, embedder in batches of 32), "
                  f"same run: {o['untuned_ms']:.0f} ms → {o['ours_ms']:.0f} ms per scene "
                  f"(**{o['speedup_vs_untuned']:.2f}×**; {stage_text} ms); CPU {o['untuned_cpu_ms']:.0f} → "
                  f"{o['ours_cpu_ms']:.0f} ms.")
    if "before_ms" in data["overall"]:
        o = data["overall"]
        stage_text = _stage_change(o, "before", "ours", ("detect", "embed", "search"))
        tuning += (f"\n\nOurs with {data['setup']['before_embedder']} and a one-crop query, same run: "
                   f"{o['before_ms']:.0f} ms → {o['ours_ms']:.0f} ms per scene (**{o['speedup_vs_before']:.2f}×**; "
                   f"{stage_text} ms); CPU {o['before_cpu_ms']:.0f} → {o['ours_cpu_ms']:.0f} ms.")
    if "trained_ms" in data["overall"]:
        o = data["overall"]
        stage_text = _stage_change(o, "three", "trained", ("detect", "embed", "search"))
        tuning += (f"\n\nOne trained detector ({data['setup']['trained_detector']}) alone against the three-detector "
                   f"set (the stock detectors + it) and the reference, same run: {o['three_ms']:.0f} ms (three) and "
                   f"{o['reference_ms']:.0f} ms (reference) → {o['trained_ms']:.0f} ms per scene: "
                   f"**{o['trained_speedup_vs_three']:.2f}×** faster than the three, "
                   f"**{o['trained_speedup_vs_reference']:.2f}×** faster than the reference ({stage_text} ms); "
                   f"CPU {o['three_cpu_ms']:.0f} → {o['trained_cpu_ms']:.0f} ms. Top-5 on the same pairs: "
                   f"trained {acc['trained_top5']:.3f} ({acc['trained_hits']} hits), three {acc['three_top5']:.3f} "
                   f"({acc['three_hits']}), reference {acc['reference_top5']:.3f} ({acc['reference_hits']}).")
    per_scene = md_table(
        ["scene", "bucket", "objects ours/ref", "ours ms", "ours CPU ms", "ref ms", "ref CPU ms", "speedup"],
        [[e["scene"][:48], e["bucket"], f"{e['objects']}/{e['objects_reference']}", e["ours"]["total_ms"],
          e["ours"]["cpu_ms"], e["reference"]["total_ms"], e["reference"]["cpu_ms"],
          f"{e['speedup_vs_reference']:.2f}×"] for e in data["scenes"]],
    )
    setup = data["setup"]
    return "\n".join([
        header("Scene latency: photo on disk → tags with top-5 matches", data["machine"], options),
        (f"Ours: {', '.join(setup['ours']['detectors'])} + {setup['ours']['embedder']} (onnxruntime, "
        f"{setup['ours']['device']}), {setup['ours']['index']}. Reference: ultralytics `YOLO.predict` on the same "
        f"detectors, {setup['reference']['embedder']}, {setup['reference']['search']}. "
        f"Catalog: {setup['catalog_products']} products. Medians of {setup['repeats']} alternating runs per scene; "
        "stage columns are mean per scene (ms)."),
        "",
        table,
        "",
        (f"**speedup_vs_reference = {data['speedup_vs_reference']:.2f}×** (wall), "
        f"{data['speedup_cpu_vs_reference']:.2f}× in process CPU time."),
        "",
        tuning,
        "",
        (f"Top-5 accuracy on {acc['pairs']} scene→product pairs of {acc['scenes']} scenes ({acc['split']}): "
        f"ours {acc['ours_top5']:.3f} ({acc['ours_hits']} hits), reference {acc['reference_top5']:.3f} "
        f"({acc['reference_hits']} hits). Rule: {acc['rule']}."),
        "",
        per_scene,
        "",
        (f"Pass 1 (each scene once, {data['pass1']['scenes']} scenes): ours {data['pass1']['ours_mean_ms']:.0f} ms, "
        f"reference {data['pass1']['reference_mean_ms']:.0f} ms per scene."),
    ])


def main(argv: list[str] | None = None) -> int:
    from bench.runner import standalone

    return standalone("latency", argv)


if __name__ == "__main__":
    sys.exit(main())
