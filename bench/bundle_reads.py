"""Bytes a bundle export reads, and its time, before and after each picture is read once (same run, same data).

A data dir of ``--products`` products (the IKEA product pictures, each product its own file, made distinct by a
trailing byte run after the JPEG's end so no two share a hash) is exported by the current ``engine.bundle`` and by
the export of ``--old`` (a commit, loaded from git into a module of its own), alternately, ``--rounds`` times.
Reads are the process's ``rchar`` (bytes through read(2), page cache or not), so they count what a network share
would be asked for; times are wall seconds with the pictures in the page cache (a share would widen the gap).

    python -m bench.bundle_reads [--products 3000] [--rounds 3] [--old adabab1~1]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from bench.common import default_dataset
from engine import bundle
from engine.catalog import Catalog, Product


def make_data_dir(root: Path, products: int, dataset: Path) -> int:
    """A catalog of ``products`` products, each with its own picture file; the pictures' total bytes."""
    pictures = sorted((dataset / "products").rglob("*.jpg"))
    folder = root / "pictures"
    folder.mkdir(parents=True)
    total = 0
    with Catalog(root / "data" / "catalog.sqlite") as catalog, catalog.transaction() as revision:
        for i in range(products):
            data = pictures[i % len(pictures)].read_bytes() + b"\0" * (i // len(pictures))
            path = folder / f"p{i:06d}.jpg"
            path.write_bytes(data)
            total += len(data)
            catalog.upsert(Product(f"sku{i}", f"product {i}", "lamp", str(path),
                                   hashlib.sha256(data).hexdigest()), revision)
    return total


def old_bundle(commit: str) -> ModuleType:
    """``engine/bundle.py`` as it was at ``commit``, as a module of its own."""
    source = subprocess.run(["git", "show", f"{commit}:engine/bundle.py"], capture_output=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "bundle_old.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("bundle_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bundle_old"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def rchar() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("rchar:"))


def measure(module: ModuleType, data_dir: Path, out: Path) -> tuple[int, float]:
    """Bytes read and seconds of one export by ``module``."""
    out.unlink(missing_ok=True)
    before, start = rchar(), time.perf_counter()
    module.export_bundle(data_dir, out)
    return rchar() - before, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--old", default="adabab1~1", help="the commit whose export is compared")
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    args = parser.parse_args()
    old = old_bundle(args.old)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        size = make_data_dir(root, args.products, args.dataset)
        print(f"{args.products} products, pictures {size / 1e6:.1f} MB")
        results: dict[str, list[tuple[int, float]]] = {"old": [], "new": []}
        for _ in range(args.rounds):
            results["old"].append(measure(old, root / "data", root / "old.dlcat"))
            results["new"].append(measure(bundle, root / "data", root / "new.dlcat"))
        for name, runs in results.items():
            read = min(r for r, _ in runs)
            seconds = min(s for _, s in runs)
            print(f"{name}: read {read / 1e6:.1f} MB ({read / size:.2f}x the pictures), best {seconds:.2f} s")
        ratio = min(s for _, s in results["new"]) / min(s for _, s in results["old"])
        print(f"new/old: reads {min(r for r, _ in results['new']) / min(r for r, _ in results['old']):.2f}, "
              f"time {ratio:.2f}")


if __name__ == "__main__":
    sys.exit(main())
