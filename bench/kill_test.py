"""Kill test: ``kill -9`` at random moments of real writes, then reopen and check nothing was lost.

Each attempt is a fresh child process doing one of the catalog's long writes on real IKEA product
photos in a data dir of its own:

- ``import``: a folder import of new products (the whole import is one transaction, then an index sync);
- ``re-embed``: an embedder switch (MobileNetV1 after the default embedder: every product embedded
  again, after a backup of the catalog);
- ``index``: index rebuilds and saves of every embedder's index, over and over.

The parent lets the first attempt of each kind finish to learn how long its writing takes (from the
moment the child prints that its models are loaded), then kills each later one (SIGKILL, no chance to
clean up) a random fraction of that time into its writing. After every attempt,
killed or not, it reopens the catalog and checks: ``PRAGMA integrity_check`` is ok; every product
committed before the attempt is still there; an import added all its products or none, each with its
vector; a re-embed stored all of its vectors or none; each embedder's index opens (rebuilding with a
note if it must) and finds a stored product as its own nearest neighbour.

Run: ``decorlens bench kill [--quick]`` or ``python -m bench.kill_test [--kills 54]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT, Options, default_dataset, header, machine_info, md_table, write_report

OPS = ("import", "re-embed", "index")
CATEGORIES = ("lamp", "chair", "rug", "armchair")
SECOND_EMBEDDER = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
SECOND_KEY = "mobilenet_v1"  # its vectors' embedder key starts with the model card's name
INDEX_REBUILDS = 8  # per "index" attempt, so a kill lands in building or saving, not only at start-up
CHILD_TIMEOUT = 600


@dataclass
class Figures:
    """What the kill test found; every failure count should be 0."""

    attempts: Counter = field(default_factory=Counter)
    kills: Counter = field(default_factory=Counter)
    kills_while_writing: Counter = field(default_factory=Counter)  # after the child said it started writing
    completed: Counter = field(default_factory=Counter)
    integrity_failures: int = 0
    products_lost: int = 0
    partial_imports: int = 0
    products_without_vector: int = 0
    partial_reembeds: int = 0
    search_failures: int = 0
    child_errors: list[str] = field(default_factory=list)
    index_notes: int = 0  # the index noticed a half-saved or stale file and rebuilt it (expected, not a failure)
    products_end: int = 0
    leftover_temp_files: int = 0
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        return (self.integrity_failures + self.products_lost + self.partial_imports + self.products_without_vector
                + self.partial_reembeds + self.search_failures + len(self.child_errors))


# -- the parent -------------------------------------------------------------------------------------


def kill_test(workdir: Path, dataset: Path, kills: int = 54, per_round: int = 40, seed: int = 0,
              log=lambda _msg: None) -> Figures:
    """Run attempts until ``kills`` of them were killed; returns the figures."""
    start = time.perf_counter()
    rng = random.Random(seed)
    if workdir.exists():
        shutil.rmtree(workdir)
    data, sources = workdir / "data", workdir / "sources"
    photos = _photos(dataset, per_round)
    figures = Figures()
    timing: dict[str, tuple[float, float]] = {}  # op → (seconds to the first write, seconds in all)
    round_no = 0
    while sum(figures.kills.values()) < kills and sum(figures.attempts.values()) < 4 * kills:
        op = "import" if round_no == 0 else rng.choice(OPS)
        if op == "import":
            round_no += 1
            batch = _round_folder(sources / f"r{round_no}", photos, round_no)
        elif op == "re-embed":
            _forget_second_embedder(data)  # a fresh switch each time, so there is a whole catalog to embed
        before = _skus(data)
        delay = rng.uniform(0.0, timing[op][1] - timing[op][0]) if op in timing else None
        killed, writing, seconds, error = _attempt(op, data, sources / f"r{round_no}", delay)
        figures.attempts[op] += 1
        (figures.kills if killed else figures.completed)[op] += 1
        figures.kills_while_writing[op] += killed and writing is not None
        if not killed:
            timing[op] = (writing or 0.0, seconds)
            if error:
                figures.child_errors.append(f"{op}: {error}")
        _check(figures, op, data, before, batch if op == "import" else set(), killed)
        log(f"{op:<8} {'killed after ' + format(delay, '.2f') + ' s' if killed else 'completed':<22} "
            f"products {len(_skus(data)):>4}  failures so far {figures.failures}")
    figures.products_end = len(_skus(data))
    figures.leftover_temp_files = sum(1 for p in data.rglob(".tmp-*") if p.is_file())
    figures.seconds = time.perf_counter() - start
    return figures


def _attempt(op: str, data: Path, source: Path, delay: float | None) -> tuple[bool, float | None, float, str]:
    """Run one child; SIGKILL it ``delay`` seconds after it says it starts writing (models loaded).

    Returns (killed, seconds until it said it starts writing or None, seconds in all, error text).
    """
    args = [sys.executable, "-m", "bench.kill_test", "--child", op, "--data", str(data), "--source", str(source)]
    begun = time.perf_counter()
    child = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    marks: list[float] = []
    errors: list[str] = []
    writing = threading.Event()

    def read_marks() -> None:
        for _ in child.stdout:
            marks.append(time.perf_counter() - begun)
            writing.set()
        writing.set()  # the child ended without writing: do not wait for it

    readers = [threading.Thread(target=read_marks), threading.Thread(target=lambda: errors.extend(child.stderr))]
    for reader in readers:
        reader.start()
    try:
        if delay is None:
            child.wait(timeout=CHILD_TIMEOUT)
        else:
            writing.wait(timeout=CHILD_TIMEOUT)
            child.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        killed = True
    seconds = time.perf_counter() - begun
    for reader in readers:
        reader.join()
    error = (errors[-1].strip() if errors else "?") if child.returncode and not killed else ""
    return killed, (marks[0] if marks else None), seconds, error


def _check(figures: Figures, op: str, data: Path, before: set[str], batch: set[str], killed: bool) -> None:
    from engine.catalog import Catalog
    from engine.index import CatalogIndex

    db = sqlite3.connect(data / "catalog.sqlite")  # opening runs WAL recovery, as the next DecorLens would
    ok = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    figures.integrity_failures += not ok
    after = _skus(data)
    figures.products_lost += len(before - after)
    if op == "import" and after - before not in (set(), batch):
        figures.partial_imports += 1
    with Catalog(data / "catalog.sqlite") as catalog:
        keys = catalog.embedders()
        first = min(keys, key=lambda k: SECOND_KEY in k, default=None)
        figures.products_without_vector += len(catalog.missing_vectors(first)) if first else catalog.count()
        second = next((k for k in keys if SECOND_KEY in k), None)
        if op == "re-embed" and second and keys[second] != catalog.count():
            figures.partial_reembeds += 1
        notes: list[str] = []
        for key in keys:
            figures.search_failures += not _finds_itself(catalog, CatalogIndex(data / "index", key, _dim(catalog, key),
                                                                                 notes.append), key)
        figures.index_notes += len(notes)


def _finds_itself(catalog, index, key: str) -> bool:
    """A random stored vector finds its product among its equals (each round imports the same photos)."""
    row = catalog.db.execute(
        "SELECT v.product_id, v.vector, p.image_hash FROM vectors v JOIN products p ON p.id = v.product_id "
        "WHERE v.embedder = ? ORDER BY random() LIMIT 1", (key,),
    ).fetchone()
    twins = catalog.db.execute("SELECT COUNT(*) FROM products WHERE image_hash = ?", (row[2],)).fetchone()[0]
    hits = index.search(catalog, np.frombuffer(row[1], np.float32)[None], None, twins + 2)[0]
    return any(pid == row[0] and score > 0.999 for pid, score in hits)


def _dim(catalog, key: str) -> int:
    row = catalog.db.execute("SELECT vector FROM vectors WHERE embedder = ? LIMIT 1", (key,)).fetchone()
    return len(row[0]) // 4


def _skus(data: Path) -> set[str]:
    path = data / "catalog.sqlite"
    if not path.exists():
        return set()
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT sku FROM products")}
    except sqlite3.OperationalError:  # killed before the schema existed
        return set()
    finally:
        db.close()


def _forget_second_embedder(data: Path) -> None:
    if not (data / "catalog.sqlite").exists():
        return
    db = sqlite3.connect(data / "catalog.sqlite")
    with db:
        db.execute("DELETE FROM vectors WHERE embedder LIKE ?", (f"%{SECOND_KEY}%",))
    db.close()


def _photos(dataset: Path, per_round: int) -> list[Path]:
    """``per_round`` real product photos spread over a few categories."""
    per_category = max(1, per_round // len(CATEGORIES))
    photos = []
    for category in CATEGORIES:
        found = sorted((dataset / "products" / category).glob("*.jpg"))[:per_category]
        if not found:
            raise SystemExit(f"no product photos in {dataset / 'products' / category}")
        photos += found
    return photos


def _round_folder(folder: Path, photos: list[Path], round_no: int) -> set[str]:
    """New products (new skus, the same photos) in category subfolders; returns their skus."""
    skus = set()
    for photo in photos:
        target = folder / photo.parent.name / f"r{round_no}-{photo.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(photo, target)
        skus.add(target.stem)
    return skus


# -- the child --------------------------------------------------------------------------------------


def child(op: str, data: Path, source: Path) -> None:
    from engine.catalog import Catalog
    from engine.index import CatalogIndex
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    settings = Settings.defaults().with_(data_dir=data)
    if op == "import":
        pipeline = Pipeline(settings)
        _writing(pipeline.embedder)
        pipeline.import_catalog(source)
    elif op == "re-embed":
        pipeline = Pipeline(settings.with_(embedder=(SECOND_EMBEDDER,)))
        _writing(pipeline.embedder)
        pipeline.prepare_matcher()
    else:
        with Catalog(data / "catalog.sqlite") as catalog:
            _writing(catalog)
            for _ in range(INDEX_REBUILDS):
                for key in catalog.embedders():
                    CatalogIndex(data / "index", key, _dim(catalog, key)).rebuild(catalog)


def _writing(_loaded: object) -> None:
    """Tell the parent that start-up is over (models loaded) and the writing begins."""
    print("writing", flush=True)


# -- reporting ----------------------------------------------------------------------------------------


def markdown(figures: Figures, machine: dict[str, Any], options: Options) -> str:
    rows = [[op, figures.attempts[op], figures.kills[op], figures.kills_while_writing[op], figures.completed[op]]
            for op in OPS]
    rows.append(["all", sum(figures.attempts.values()), sum(figures.kills.values()),
                 sum(figures.kills_while_writing.values()), sum(figures.completed.values())])
    checks = [
        ["PRAGMA integrity_check failures", figures.integrity_failures],
        ["products lost (committed before an attempt, gone after)", figures.products_lost],
        ["imports that kept part of their products", figures.partial_imports],
        ["products without a vector for the import embedder", figures.products_without_vector],
        ["re-embeds that kept part of their vectors", figures.partial_reembeds],
        ["searches that did not find a stored product first", figures.search_failures],
        ["uncut attempts that failed", len(figures.child_errors)],
        ["index rebuilt with a note (recovered, not a failure)", figures.index_notes],
        ["products at the end", figures.products_end],
        ["our temp files left by kills (cleaned once 30 min old)", figures.leftover_temp_files],
    ]
    return (header("Kill test", machine, options, f"{figures.seconds:.0f} s in all.") + "\n"
            + md_table(["operation", "attempts", "killed (SIGKILL)", "of them while writing", "ran to the end"], rows)
            + "\n\n"
            + md_table(["check", "count"], checks) + "\n")


def run(pipeline: Any, options: Options) -> dict[str, Any]:
    """``decorlens bench kill``: in ``<workdir>/kill`` (never the user's catalog)."""
    workdir = (options.workdir or pipeline.data_dir / "bench") / "kill"
    kills = 12 if options.quick else 54
    figures = kill_test(workdir, options.dataset, kills=kills, seed=options.seed, log=options.log)
    machine = machine_info()
    data = {"machine": machine, "kills": kills, **asdict(figures), "failures": figures.failures}
    write_report(options, "kill", data, markdown(figures, machine, options))
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kill_test", description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=OPS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--kills", type=int, default=54)
    parser.add_argument("--per-round", type=int, default=40, help="products per import")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/decorlens-kill-test"))
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.data, args.source)
        return 0
    options = Options(write=False)
    figures = kill_test(args.workdir, args.dataset, args.kills, args.per_round, args.seed, options.log)
    print(markdown(figures, machine_info(), options))
    for error in figures.child_errors:
        print(f"child error: {error}", file=sys.stderr)
    return 1 if figures.failures else 0


if __name__ == "__main__":
    sys.exit(main())
