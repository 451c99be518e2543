"""The Catalog Map's first opening: the shipped t-SNE schedule against the one before, in the same run.

What a first opening of the Map costs on the IKEA catalog (1,955 products, vectors stored), step by step as
``engine.catalog_map.layout`` takes them: reading the vectors, the imports, PCA to 50 dimensions, the neighbour
search and the t-SNE iterations, which were most of it. The layout is then run again and again, alternating the
shipped schedule (``layout``: 120 + 380 iterations) with the one before it (the same PCA and neighbours, then
openTSNE's default 250 + 500, as ``layout`` ran it), so that each pair sees about the same machine load; each
run's wall and CPU seconds are kept, and the ratio is the median over the pairs of old over new (the two-thread
gradient's wall time swings several-fold with other processes' load, so medians of each alone can mislead). The maps are compared too: the share of each product's 5 nearest
on the map in its own category (against the same share by cosine in the embedder's space), and of its 10
nearest by cosine among its 10 nearest on the map. A faster map that kept less of the neighbourhoods would show
here.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.common import (
    Options,
    Workspace,
    header,
    load_average,
    machine_info,
    md_table,
    median,
    write_report,
)

OLD_EARLY, OLD_ITERATIONS = 250, 500  # openTSNE's defaults, the schedule before this one
NEAREST_CATEGORY, NEAREST_RECALL = 5, 10


def run(pipeline: Any, options: Options) -> dict[str, Any]:
    from engine import catalog_map as cm

    workspace = Workspace(pipeline, options)
    workspace.ensure_catalog()
    ours = workspace.pipeline
    started = time.perf_counter()
    rows = list(ours.catalog.vectors(ours.embedder.key))
    read_s = time.perf_counter() - started
    vectors = np.stack([v for _, _, v in rows]).astype(np.float32)
    products = ours.catalog.get_many(int(pid) for pid, _, _ in rows)
    categories = np.array([products[int(pid)].category for pid, _, _ in rows])
    steps = _steps(vectors)
    steps["reading the vectors"] = read_s
    repeats = options.repeats or (1 if options.quick else 5)
    runs: dict[str, list[tuple[float, float]]] = {"new": [], "old": []}
    maps: dict[str, np.ndarray] = {}
    loads = []
    for _ in range(repeats):  # alternating, so that both schedules see the same load
        maps["new"] = _timed(runs["new"], lambda: cm.layout(vectors))
        maps["old"] = _timed(runs["old"], lambda: _old_layout(vectors))
        loads.append(load_average())
    cosine = _cosine_order(vectors)
    quality = {name: _kept(xy, cosine, categories) for name, xy in maps.items()}
    quality["cosine (1,280-d)"] = {"category_share": _category_share(cosine, categories), "recall": 1.0}
    wall = {name: median([w for w, _ in times]) for name, times in runs.items()}
    cpu = {name: median([c for _, c in times]) for name, times in runs.items()}
    pairs = list(zip(runs["old"], runs["new"]))
    data = {"benchmark": "map_layout", "mode": options.mode, "machine": machine_info(),
            "products": len(vectors), "repeats": repeats, "steps_s": steps, "runs": runs,
            "wall_s": wall, "cpu_s": cpu, "loads": loads,
            "ratio_wall": median([old[0] / new[0] for old, new in pairs]),
            "ratio_cpu": median([old[1] / new[1] for old, new in pairs]),
            "schedules": {"new": [cm.EARLY_ITERATIONS, cm.ITERATIONS], "old": [OLD_EARLY, OLD_ITERATIONS]},
            "quality": quality}
    options.log(f"map layout of {len(vectors)}: old/new wall {data['ratio_wall']:.2f}, cpu {data['ratio_cpu']:.2f}")
    write_report(options, "map-layout", data, render(data, options))
    return data


def _steps(vectors: np.ndarray) -> dict[str, float]:
    """Each step of a first map alone, in ``layout``'s order (the imports first, so they are not counted twice)."""
    from engine import catalog_map as cm

    clock = time.perf_counter()
    steps = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name], clock = now - clock, now

    TSNEEmbedding, affinity, initialization, PCA = cm._tsne()
    lap("imports (openTSNE, scikit-learn)")
    reduced = PCA(cm.PCA_DIMENSIONS, random_state=0).fit_transform(vectors)
    lap("PCA to 50 dimensions")
    affinities = affinity.PerplexityBasedNN(reduced, perplexity=cm.PERPLEXITY, method="annoy", n_jobs=-1,
                                           random_state=0)
    lap("nearest neighbours (Annoy)")
    embedding = TSNEEmbedding(initialization.pca(reduced, random_state=0), affinities, negative_gradient_method="bh",
                              n_jobs=-1, random_state=0)
    embedding.optimize(cm.EARLY_ITERATIONS, exaggeration=12, momentum=0.5).optimize(cm.ITERATIONS, momentum=0.8)
    lap(f"t-SNE iterations ({cm.EARLY_ITERATIONS} + {cm.ITERATIONS})")
    return steps


def _old_layout(vectors: np.ndarray) -> np.ndarray:
    """``layout`` as it ran before: the same steps, then openTSNE's default 250 + 500 iterations."""
    from engine import catalog_map as cm

    TSNEEmbedding, affinity, initialization, PCA = cm._tsne()
    reduced = PCA(cm.PCA_DIMENSIONS, random_state=0).fit_transform(vectors)
    affinities = affinity.PerplexityBasedNN(reduced, perplexity=cm.PERPLEXITY, method="annoy", n_jobs=-1,
                                           random_state=0)
    embedding = TSNEEmbedding(initialization.pca(reduced, random_state=0), affinities, negative_gradient_method="bh",
                              n_jobs=-1, random_state=0)
    embedding = embedding.optimize(OLD_EARLY, exaggeration=12, momentum=0.5).optimize(OLD_ITERATIONS, momentum=0.8)
    return cm._normalise(np.asarray(embedding))


def _timed(times: list[tuple[float, float]], work: Any) -> np.ndarray:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return result


def _cosine_order(vectors: np.ndarray) -> np.ndarray:
    """Each product's ``NEAREST_RECALL`` nearest others by cosine in the embedder's space, nearest first."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    return np.argsort(-similarity, axis=1)[:, :NEAREST_RECALL]


def _kept(xy: np.ndarray, cosine: np.ndarray, categories: np.ndarray) -> dict[str, float]:
    """How much of the embedder's neighbourhoods the map keeps (see the module docstring)."""
    distance = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1)[:, :NEAREST_RECALL]
    recall = np.mean([len(set(a) & set(b)) for a, b in zip(nearest.tolist(), cosine.tolist())]) / NEAREST_RECALL
    return {"category_share": _category_share(nearest, categories), "recall": float(recall)}


def _category_share(nearest: np.ndarray, categories: np.ndarray) -> float:
    return float((categories[nearest[:, :NEAREST_CATEGORY]] == categories[:, None]).mean())


def render(data: dict[str, Any], options: Options) -> str:
    pairs = ", ".join(f"{old[0]:.1f}/{new[0]:.1f}" for old, new in zip(data["runs"]["old"], data["runs"]["new"]))
    steps = md_table(["step (shipped schedule)", "s"], [[k, v] for k, v in data["steps_s"].items()])
    rows = []
    for name in ("old", "new"):
        early, main = data["schedules"][name]
        kept = data["quality"][name]
        rows.append([f"{name}: {early} + {main} iterations", data["wall_s"][name], data["cpu_s"][name],
                     f"{kept['category_share']:.3f}", f"{kept['recall']:.3f}"])
    cosine = data["quality"]["cosine (1,280-d)"]
    rows.append(["cosine in the embedder's space", "", "", f"{cosine['category_share']:.3f}", "1"])
    table = md_table(["layout", "wall s (median)", "CPU s (median)", f"{NEAREST_CATEGORY}-nearest in own category",
                      f"{NEAREST_RECALL}-nearest by cosine kept"], rows)
    return header("The Catalog Map's layout: shipped schedule against the one before", data["machine"], options,
                  f"{data['products']:,} products; {data['repeats']} runs of each, alternating. Old over new, "
                  f"the median of the pairs: **{data['ratio_wall']:.2f}×** wall, {data['ratio_cpu']:.2f}× CPU. "
                  f"Pairs (old/new wall s): {pairs}.") \
        + "\n" + steps + "\n" + table + "\n"


if __name__ == "__main__":
    from bench.runner import standalone

    raise SystemExit(standalone("map-layout"))
