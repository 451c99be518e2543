"""One round of review and retrain: corrections the Review queue asks for against as many chosen at random.

The question (issue 20): does confirming the tags the Review queue ranks first (the smallest margin
between a tag's two best matches, ``engine.review_queue``) improve the model more per
correction than confirming as many tags picked at random? Simulated on the IKEA data:

1. the bench catalog (the IKEA products) tags the first ``--scenes`` scenes of the training split
   as batch tagging does (``engine.batch.tag_scenes``), which fills the scene memory the queue reads;
2. a simulated user answers a tag from the dataset's own pairs: of the scene's paired products whose
   category the tag's category searches, the one whose catalog photo is closest (pretrained cosine)
   to the tag's crop, one tag per product and scene, greedily best cosine first, and only at a
   cosine of at least 0.5, the bar training applies to detected anchors (docs/training.md); a tag with
   no such product gets no answer (the person would skip it). The answerable tags of the queue are
   the pool both arms draw from;
3. the *queue* arm confirms the first N answerable tags in queue order, the *random* arm N drawn
   uniformly from the same pool, once per ``--draws`` (seeded ``--seed`` + draw: the spread of
   random choice); each becomes a confirmed product on a kept tag, the
   record the app saves (``training.app_data``), and is written as a pairs folder with
   ``training.app_data.write_pairs_folder``, plus the IKEA validation-split pairs, which choose the
   epoch as in any training run (ranked among the products of the arm's and the validation pairs, the
   ``limit_scenes`` quick look: trunk views of the whole catalog for every arm cost too much on 2 cores);
4. each arm fine-tunes the shipped MobileNetV2 through the app's own entry point
   (``training.run.run_job``, the default recipe, scene crops only: ``composites`` 0, since
   composites would add the same 1,400 synthetic anchors to both arms and drown N corrections);
5. ``training.evaluate`` scores the pretrained model and every arm on the same test-split pairs;
   the arms are compared pair by pair (wins, losses, exact McNemar p).

    nice python -m bench.review_rounds --workdir /tmp/rr --models-dir ../shared/models --n 30 --draws 2 \
        --log /tmp/rr/log.txt

Everything lands in ``--workdir`` (catalog, scene memory, runs, caches; an arm trained there before is
reused, so adding a draw or an N trains only the new arms); the report goes to
``docs/benchmarks/review-rounds.{json,md}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    Options,
    Workspace,
    default_dataset,
    default_out_dir,
    header,
    machine_info,
    md_table,
    write_report,
)
from engine.batch import tag_scenes
from engine.crops import crops as cut_crops
from engine.imageio import load_image, upright_size
from engine.pipeline import Pipeline
from engine.review_queue import ReviewItem, review_queue
from engine.scene_memory import box_in, photo_count, product_vector
from engine.settings import Settings
from training.app_data import AppData, CorrectedPhoto, CorrectedTag, write_pairs_folder
from training.data import DEFAULT_MIN_COSINE, PairDataset
from training.evaluate import EvalConfig, evaluate, paired, summarise
from training.run import RESULT, Job, run_job


@dataclass(frozen=True)
class Answer:
    """A tag of the queue and the product the simulated user confirms for it."""

    item: ReviewItem
    scene_id: str
    sku: str
    cosine: float


# -- the simulated user -------------------------------------------------------------------------------


def answers(pipeline: Pipeline, dataset: PairDataset, queue: Sequence[ReviewItem]) -> list[Answer]:
    """The queue's answerable tags, in queue order (see the module docstring, step 2)."""
    scene_of = {str(Path(path).resolve()): sid for sid, path in dataset.scenes.items()}
    by_photo: dict[str, list[ReviewItem]] = defaultdict(list)
    for item in queue:
        by_photo[str(item.photo)].append(item)
    found: dict[tuple[str, int], Answer] = {}
    for photo, items in by_photo.items():
        scene_id = scene_of.get(photo)
        if scene_id is not None:
            found.update(_answer_scene(pipeline, dataset, scene_id, items))
    return [found[(str(i.photo), i.number)] for i in queue if (str(i.photo), i.number) in found]


def _answer_scene(
    pipeline: Pipeline, dataset: PairDataset, scene_id: str, items: list[ReviewItem]
) -> dict[tuple[str, int], Answer]:
    """Greedy one-to-one: each paired product takes the tag whose crop is most like its photo."""
    products = sorted({p.product_id for p in dataset.pairs if p.scene_id == scene_id})
    vectors = [product_vector(pipeline, sku) for sku in products]
    products = [sku for sku, v in zip(products, vectors) if v is not None]
    if not products:
        return {}
    pixels = load_image(dataset.scenes[scene_id])  # a photo past MAX_SIDE decoded smaller than its boxes' size
    on_pixels = [box_in(i.box, i.size, pixels.shape[1], pixels.shape[0]) for i in items]
    crops = cut_crops(pixels, on_pixels, pipeline.settings.padding)
    cosine = np.stack([v for v in vectors if v is not None]) @ pipeline.embedder.embed(crops).T
    covers = pipeline.categories.covers
    allowed = np.array([[covers({i.category}, dataset.products[sku].category) for i in items] for sku in products])
    cosine = np.where(allowed, cosine, -np.inf)
    out = {}
    while np.isfinite(cosine).any() and cosine.max() >= DEFAULT_MIN_COSINE:
        p, t = np.unravel_index(int(np.argmax(cosine)), cosine.shape)
        item = items[t]
        out[(str(item.photo), item.number)] = Answer(item, scene_id, products[p], float(cosine[p, t]))
        cosine[p, :] = -np.inf
        cosine[:, t] = -np.inf
    return out


def choose(pool: Sequence[Answer], n: int, arm: str, draw: int) -> list[Answer]:
    """The queue's first ``n`` answerable tags, or ``n`` of them at random (``draw`` seeds the choice)."""
    if arm == "queue":
        return list(pool[:n])
    return random.Random(draw).sample(list(pool), n)


def arm_names(n: int, draws: int) -> list[tuple[str, str, int]]:
    """(name, arm, draw): the queue once, the random arm once per draw (``random-30``, ``random-30-d1`` …)."""
    return [(f"queue-{n}", "queue", 0)] + [(f"random-{n}" + (f"-d{d}" if d else ""), "random", d) for d in range(draws)]


# -- training data ------------------------------------------------------------------------------------


def corrections(chosen: Sequence[Answer], dataset: PairDataset) -> AppData:
    """The chosen answers as the app records them: confirmed products on kept tags, per photo, boxes and size in
    the photo's own pixels (the memory's box is in the picture size stored beside it: the decoded one, before).
    Each photo's header is read once, however many of its answers were chosen."""
    sizes = {scene_id: upright_size(dataset.scenes[scene_id]) for scene_id in {a.scene_id for a in chosen}}
    tags: dict[str, list[CorrectedTag]] = defaultdict(list)
    for a in chosen:
        box = box_in(a.item.box, a.item.size, *sizes[a.scene_id])
        tags[a.scene_id].append(CorrectedTag(a.item.number, a.item.category, box, "detector", a.sku, False))
    photos = [CorrectedPhoto(scene_id, dataset.scenes[scene_id], *sizes[scene_id], kept)
              for scene_id, kept in sorted(tags.items())]
    pairs = [(p.scene_id, t.confirmed_sku, t.category, t.box) for p in photos for t in p.tags]
    return AppData(photos, pairs)


def validation_folder(dataset: PairDataset, seed: int, out: Path) -> Path:
    """The dataset's validation-split pairs (no boxes), the extra folder every arm trains with."""
    pairs = dataset.pairs_in("val", seed)
    scenes = sorted({p.scene_id for p in pairs})
    out.mkdir(parents=True, exist_ok=True)
    _csv(out / "products.csv", ("product_id", "category", "image"),
         [(p.id, p.category, str(p.images[0].resolve())) for p in dataset.products.values()])
    _csv(out / "pairs.csv", ("scene_id", "product_id", "category"), [(p.scene_id, p.product_id, p.category) for p in pairs])
    _csv(out / "scenes.csv", ("scene_id", "image"), [(s, str(dataset.scenes[s].resolve())) for s in scenes])
    return out


def _csv(path: Path, head: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(head)
        writer.writerows(rows)


# -- the round ----------------------------------------------------------------------------------------


def run(args: argparse.Namespace, log) -> dict[str, Any]:
    options = Options(workdir=args.workdir, dataset=args.dataset, seed=args.seed, log=log)
    settings = Settings.for_data_dir(args.workdir / "user").with_(models_dir=args.models_dir)
    space = Workspace(Pipeline(settings), options)
    space.ensure_catalog()
    pipeline, dataset = space.pipeline, PairDataset.load(args.dataset)
    scenes = dataset.scenes_in("train", args.seed)[: args.scenes]
    if photo_count(pipeline.catalog) < len(scenes):  # a re-run finds them remembered
        log(f"tagging {len(scenes)} training scenes into the scene memory")
        tag_scenes(pipeline, [dataset.scenes[s] for s in scenes], args.workdir / "tagged",
                   progress=lambda d, n: log(f"  tagged {d}/{n}") if d % 10 == 0 or d == n else None)
    queue = review_queue(pipeline.catalog, limit=10**6)
    pool = answers(pipeline, dataset, queue)
    log(f"review queue: {len(queue)} tags, {len(pool)} answerable from the pairs")
    extra = validation_folder(dataset, args.seed, args.workdir / "validation")
    products = [(p.id, p.category, str(p.images[0])) for p in dataset.products.values()]
    arms, chosen_by_arm = {}, {}
    for n in args.n:
        for name, arm, draw in arm_names(n, args.draws):
            chosen = choose(pool, n, arm, args.seed + draw)
            chosen_by_arm[name] = chosen
            arms[name] = _train_arm(name, chosen, dataset, products, extra, pipeline, args, log)
    log("evaluating pretrained and every arm on the test split")
    config = EvalConfig(data=args.dataset, matchers=("pretrained",), split="test", seed=args.seed,
                        embedders=tuple(a["model"] for a in arms.values()))
    result = evaluate(config, pipeline, progress=lambda d, n: log(f"  eval {d}/{n}") if d % 5 == 0 else None)
    return _report(result, arms, chosen_by_arm, queue, pool, args)


def _train_arm(
    name: str, chosen: Sequence[Answer], dataset: PairDataset, products, extra: Path, pipeline: Pipeline,
    args: argparse.Namespace, log,
) -> dict[str, Any]:
    folder = args.workdir / "rounds" / name
    if (folder / RESULT).is_file():  # trained by an earlier run of the same round: delete rounds/ to retrain
        log(f"{name}: reusing {folder / RESULT}")
        return json.loads((folder / RESULT).read_text())["embedder"]
    data = write_pairs_folder(corrections(chosen, dataset), products, folder / "data", extra)
    shutil.copy(dataset.root / "duplicate_images.csv", data / "duplicate_images.csv")
    job = Job(data_dir=str(pipeline.data_dir), run=str(folder), dataset=str(data), name=name,
              models_dir=str(args.models_dir or ""), epochs=args.epochs, composites=0, seed=args.seed, compare=False,
              limit_scenes=args.scenes)  # validation ranks among the pairs' products: 1,955 would cost an hour here
    log(f"training {name}: {len(chosen)} corrections on {len({a.scene_id for a in chosen})} photos")
    start = time.perf_counter()
    last = [0.0]

    def progress(stage: str, done: int, total: int, message: str) -> None:
        if time.perf_counter() - last[0] > 20 or stage == "validate":
            last[0] = time.perf_counter()
            log(f"  {name} {stage} {done}/{total} {message}")

    out = run_job(job, progress)["embedder"]
    log(f"  {name}: best epoch {out['best_epoch']}, {time.perf_counter() - start:.0f} s")
    return out


def _report(result, arms: dict[str, Any], chosen_by_arm, queue, pool, args) -> dict[str, Any]:
    scored = [o for o in result.outcomes if o.status == "evaluated"]
    base = summarise(scored, "pretrained", (1,))
    rows = {}
    for name, arm in arms.items():
        chosen = chosen_by_arm[name]
        metrics = summarise(scored, name, (1,))
        rows[name] = {
            "corrections": len(chosen), "photos": len({a.scene_id for a in chosen}),
            "mean_margin": float(np.mean([a.item.margin for a in chosen])),
            "already_right": sum(a.item.best_sku == a.sku for a in chosen),
            "top1": metrics["top1"], "top5": metrics["top5"],
            "top5_gain_per_correction": (metrics["top5"] - base["top5"]) / len(chosen),
            "vs_pretrained": paired(scored, name, "pretrained"), "best_epoch": arm["best_epoch"],
            "validation": {"pretrained": arm["pretrained"], "fine_tuned": arm["fine_tuned"]},
            "seconds": arm["seconds"],
        }
    versus = {name: paired(scored, f"queue-{n}", name) for n in args.n
              for name, arm, _d in arm_names(n, args.draws) if arm == "random"}
    return {"pairs": len(scored), "pretrained": base, "arms": rows, "queue_vs_random": versus,
            "queue_tags": len(queue), "answerable": len(pool), "settings": {
                "scenes": args.scenes, "n": args.n, "epochs": args.epochs, "seed": args.seed, "draws": args.draws,
                "dataset": str(args.dataset), "eval": result.settings}}


def markdown(data: dict[str, Any], machine: dict[str, Any], options: Options) -> str:
    pct = lambda v: f"{100 * v:.1f} %"
    rows = [["pretrained", "–", "–", "–", pct(data["pretrained"]["top1"]), pct(data["pretrained"]["top5"]), "–", "–"]]
    for name, r in data["arms"].items():
        v = r["vs_pretrained"]["top5"]
        rows.append([name, r["corrections"], f"{r['mean_margin']:.3f}", r["already_right"], pct(r["top1"]),
                     pct(r["top5"]), f"{100 * r['top5_gain_per_correction']:+.2f} pt",
                     f"{v['wins']}–{v['losses']} (p {v['p']:.2g})"])
    lines = [header("Review queue vs random corrections (issue 20)", machine, options), "",
             (f"{data['settings']['scenes']} training scenes tagged; the queue held {data['queue_tags']} tags, "
              f"{data['answerable']} answerable from the pairs. Test split, {data['pairs']} evaluated pairs."), "",
             md_table(["arm", "corrections", "mean margin", "already right", "top-1", "top-5",
                       "top-5 gain / correction", "top-5 vs pretrained"], rows), ""]
    for name, v in data["queue_vs_random"].items():
        lines.append(f"Queue vs {name}: top-1 {v['top1']['wins']}–{v['top1']['losses']} "
                     f"(p {v['top1']['p']:.2g}), top-5 {v['top5']['wins']}–{v['top5']['losses']} (p {v['top5']['p']:.2g}).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.review_rounds", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="data dir for the catalog, memory, runs")
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--models-dir", type=Path, default=None, help="default: the usual model search path")
    parser.add_argument("--scenes", type=int, default=60, help="training-split scenes tagged (the queue's photos)")
    parser.add_argument("--n", type=int, action="append", help="corrections per arm (repeat for several)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0, help="split seed and the random arm's first draw")
    parser.add_argument("--draws", type=int, default=1, help="random arms per N, each its own draw (the spread)")
    parser.add_argument("--out", type=Path, default=default_out_dir())
    parser.add_argument("--log", type=Path, default=None, help="progress lines also go here")
    args = parser.parse_args(argv)
    args.n = args.n or [30]
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def log(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        print(line, file=sys.stderr, flush=True)
        if args.log:
            with open(args.log, "a") as fh:
                fh.write(line + "\n")

    machine = machine_info()
    data = run(args, log)
    data["machine"] = machine
    data["seconds"] = round(time.perf_counter() - started)
    options = Options(out_dir=args.out)
    write_report(options, "review-rounds", data, markdown(data, machine, options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
