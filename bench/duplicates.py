"""Near-duplicate products on a catalog with known byte-identical groups: calibration and recall.

Calibration: a sample of product photos is re-saved the way a photo uploaded twice differs
(rescaled to 75 %, JPEG quality 50, 3 % trimmed off each side); the cosine between each original and
its copy says how low a true near-duplicate can score. Against it stands each product's nearest
neighbour whose image is *not* the same file: how many distinct products a threshold would link.

Recall: a group of ``duplicate_images.csv`` is found when one reported group holds all its products.

Photo counts (``--photo-counts``): the window says of each product of its groups how many tagged photos it is
matched in. Paired timing of the same counts, in alternating order: one ``where_used`` per product (as the window
asked before) against one grouped query (``scene_memory.photos_of``), for the groups' products and for every
product of the catalog. The data dir then needs a scene memory (photos tagged with it).

    python -m bench.duplicates --data-dir DIR [--dataset …/ikea_interior] [--sample 200] [--threshold T]
    python -m bench.duplicates --data-dir DIR --photo-counts [--repeats 15]
    python -m bench.duplicates --data-dir DIR --stall [--repeats 3]

Stall (``--stall``): the longest wait of another thread (the window's, in the app) while ``find_duplicates`` runs on
a fresh pipeline (its index not loaded yet, as on the window's first Find), and the worker's CPU in that wait: near
1, the worker held the GIL (hnswlib's ``load_index`` does, 0.8 s on 200,000 products); near 0, the machine's load.
Each run is paired with a worker that only sleeps as long, to size the machine's noise.

The data dir must hold the imported catalog (``decorlens catalog import …/products.csv``).
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import default_dataset
from engine.duplicates import THRESHOLD, find_duplicates
from engine.imageio import load_image
from engine.importer import CATALOG_MAX_SIDE
from engine.pipeline import Pipeline
from engine.scene_memory import photos_of, where_used
from engine.settings import Settings

TRIM = 0.03
SCALE = 0.75
QUALITY = 50


def copy_scores(pipeline: Pipeline, sample: int, seed: int) -> np.ndarray:
    """Cosine between a product photo's stored vector and that of a degraded copy, for ``sample`` products."""
    products = pipeline.catalog.products()
    chosen = random.Random(seed).sample(products, min(sample, len(products)))
    stored = {pid: v for pid, _, v in pipeline.catalog.vectors(pipeline.embedder.key)}
    scores = []
    with tempfile.TemporaryDirectory() as tmp:
        for product in chosen:
            copy = Path(tmp) / "copy.jpg"
            degrade(Path(product.image_path), copy)
            vector = pipeline.embedder.embed([load_image(copy, max_side=CATALOG_MAX_SIDE)])[0]
            scores.append(float(vector @ stored[product.id]))
    return np.array(scores)


def degrade(source: Path, target: Path) -> None:
    with Image.open(source) as img:
        img = img.convert("RGB")
        w, h = img.size
        img = img.crop((round(w * TRIM), round(h * TRIM), round(w * (1 - TRIM)), round(h * (1 - TRIM))))
        img = img.resize((round(img.width * SCALE), round(img.height * SCALE)), Image.Resampling.BILINEAR)
        img.save(target, quality=QUALITY)


def nearest_distinct(pipeline: Pipeline) -> np.ndarray:
    """For each product, the cosine of its nearest neighbour whose image file differs (exact, numpy)."""
    catalog = pipeline.catalog
    rows = list(catalog.vectors(pipeline.embedder.key))
    hashes = {p.id: p.image_hash for p in catalog.products()}
    matrix = np.stack([v for _, _, v in rows])
    same = np.array([[hashes[a] == hashes[b] for b, _, _ in rows] for a, _, _ in rows])
    sims = matrix @ matrix.T
    sims[same] = -1.0
    return sims.max(axis=1)


def recall(pipeline: Pipeline, dataset: Path, threshold: float) -> tuple[int, int, int, int]:
    """(groups found, known groups, identical groups reported, near groups reported)."""
    known: dict[str, set[str]] = defaultdict(set)
    with open(dataset / "duplicate_images.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            known[row["group"]].add(row["product_id"])
    groups = find_duplicates(pipeline, threshold)
    reported = [{p.sku for p in g.products} for g in groups]
    found = sum(any(skus <= r for r in reported) for skus in known.values())
    identical = sum(g.identical for g in groups)
    return found, len(known), identical, len(groups) - identical


def photos_per_product(pipeline: Pipeline, skus: list[str]) -> dict[str, int]:
    """The counts as the duplicates window read them before: one ``where_used`` per product."""
    return {sku: len({s.photo for s in where_used(pipeline.catalog, sku)}) for sku in skus}


def paired_photo_counts(pipeline: Pipeline, skus: list[str], repeats: int) -> tuple[float, float, float]:
    """(median ms per product, median ms grouped, median of the paired ratios), the two run alternately first; the
    two must give the same counts."""
    ways = {"per product": photos_per_product, "grouped": lambda p, s: photos_of(p.catalog, s)}
    times: dict[str, list[float]] = {name: [] for name in ways}
    counts = []
    for repeat in range(repeats):
        for name in sorted(ways, reverse=bool(repeat % 2)):
            start = time.perf_counter()
            counts.append(ways[name](pipeline, skus))
            times[name].append(time.perf_counter() - start)
    if any(c != counts[0] for c in counts):
        raise SystemExit("the grouped query counts other photos than where_used")
    ratios = [a / b for a, b in zip(times["per product"], times["grouped"])]
    return (1000 * statistics.median(times["per product"]), 1000 * statistics.median(times["grouped"]),
            statistics.median(ratios))


def photo_counts(pipeline: Pipeline, repeats: int) -> None:
    groups = find_duplicates(pipeline)
    for what, skus in (("the duplicate groups' products", [p.sku for g in groups for p in g.products]),
                       ("every catalog product", [p.sku for p in pipeline.catalog.products()])):
        per, grouped, ratio = paired_photo_counts(pipeline, skus, repeats)
        matched = sum(n > 0 for n in photos_of(pipeline.catalog, skus).values())
        print(f"{what} ({len(skus)}, {matched} in a tagged photo), {repeats} pairs: per product {per:.1f} ms, "
              f"grouped {grouped:.1f} ms, paired ratio {ratio:.1f}x")


def longest_wait(work: Callable[[], object]) -> tuple[float, float, float]:
    """(seconds ``work`` took on a thread, this thread's longest wait between 5 ms sleeps meanwhile, the worker
    thread's CPU time over that wait as a share of it)."""
    clock: list[int] = []
    done, measured = threading.Event(), threading.Event()

    def run() -> None:
        clock.append(time.pthread_getcpuclockid(threading.get_ident()))
        try:
            work()
        finally:
            done.set()
            measured.wait()  # its CPU clock lives as long as the thread

    start = time.perf_counter()
    thread = threading.Thread(target=run)
    thread.start()
    while not clock:
        time.sleep(0.001)
    last, last_cpu, worst, worst_cpu = time.perf_counter(), time.clock_gettime(clock[0]), 0.0, 0.0
    while not done.is_set():
        time.sleep(0.005)
        now, cpu = time.perf_counter(), time.clock_gettime(clock[0])
        if now - last > worst:
            worst, worst_cpu = now - last, (cpu - last_cpu) / (now - last)
        last, last_cpu = now, cpu
    took = time.perf_counter() - start
    measured.set()
    thread.join()
    return took, worst, worst_cpu


def stall(data_dir: Path) -> None:
    """One run on a fresh pipeline, then a sleeping worker as long."""
    pipeline = Pipeline(Settings.for_data_dir(data_dir))
    took, worst, cpu = longest_wait(lambda: find_duplicates(pipeline))
    pipeline.catalog.close()
    _, noise, _ = longest_wait(lambda: time.sleep(took))
    print(f"find_duplicates {took:.1f} s: longest wait {1000 * worst:.0f} ms, the worker's CPU in it {cpu:.2f}; "
          f"beside a sleeping worker {1000 * noise:.0f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--photo-counts", action="store_true", help="time the window's photo counts only")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--stall", action="store_true", help="another thread's longest wait beside the search")
    args = parser.parse_args()
    if args.stall:
        for _ in range(args.repeats):
            stall(args.data_dir)
        return
    pipeline = Pipeline(Settings.for_data_dir(args.data_dir))
    if args.photo_counts:
        print(f"{pipeline.catalog.db.execute('SELECT COUNT(*) FROM scenes').fetchone()[0]} tagged photos")
        photo_counts(pipeline, args.repeats)
        return
    copies = copy_scores(pipeline, args.sample, args.seed)
    nearest = nearest_distinct(pipeline)
    print(f"embedder {pipeline.embedder.key}, {len(nearest)} products")
    print("degraded copies: min {:.3f}  p1 {:.3f}  p5 {:.3f}  median {:.3f}".format(
        copies.min(), *np.percentile(copies, [1, 5, 50])))
    for t in (0.85, 0.88, 0.90, 0.92, 0.93, 0.95, 0.97):
        print(f"threshold {t:.2f}: copies kept {np.mean(copies >= t):.3f}, "
              f"products with a distinct neighbour above {np.sum(nearest >= t)}")
    found, known, identical, near = recall(pipeline, args.dataset, args.threshold)
    print(f"threshold {args.threshold}: {found}/{known} byte-identical groups found; "
          f"{identical} identical and {near} near-duplicate groups reported")


if __name__ == "__main__":
    main()
