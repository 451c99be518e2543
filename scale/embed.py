"""``decorlens catalog embed``: a product feed's images → vectors, as a Ray Data pipeline.

read the feed (the importer's own parsers) → decode + preprocess in Ray tasks (the importer's own
``prepare_row``: same decoder, size cap, file hash and the embedder's ``preprocess``) → embed in an
actor pool, one onnxruntime session per actor (``engine.embed.Embedder``: same model, card, batching
and normalisation as the desktop; a GPU per actor when the cluster has GPUs) → Parquet in the format
``engine.vectors_import`` reads. One source of truth: a vector made here equals the desktop's.

Without an address Ray starts a local cluster, so the command is the same on a laptop. The model
file travels to the actors through Ray's object store, so worker nodes need the software (this
package's ``[scale]`` install) but no models folder. Rows whose image cannot be embedded are written
with a null vector and the reason in ``error``; a re-run skips every sku that already has a vector
in the output folder (and retries the failed ones), writing new files beside the old ones.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.categories import CategoryMap
from engine.embed import Embedder
from engine.errors import DecorLensError
from engine.feed_images import download_images
from engine.files import sha256_of, write_atomic
from engine.importer import ImportRow, prepare_row, read_feed
from engine.models import ModelCard, ResolvedModel, check_matches_card
from engine.preprocess import embed_input
from engine.runtime import DevicePreference
from engine.vectors_import import ROW_GROUP, EmbedderId, embedded_skus, pyarrow_modules, schema

BATCH = 16  # rows per task/actor call: 16 preprocessed 224² images are ~10 MB in the object store
BLOCK_ROWS = 256  # feed rows per Ray block: enough blocks for every worker from the first second
FEED_COLUMNS = ("sku", "category", "image")
# A decode task books half a CPU: decoding a product photo costs about a third of embedding it
# (docs/benchmarks/README.md), and a share unlike the actors' keeps Ray from fusing the two stages
# into the actors, where decoding would wait for inference instead of running beside it.
DECODE_CPUS = 0.5


@dataclass
class EmbedReport:
    """What one ``embed_feed`` run did."""

    embedded: int = 0
    failed: int = 0
    already: int = 0  # skus with a vector from an earlier run, skipped
    seconds: float = 0.0
    workers: int = 0
    device: str = "cpu"

    def summary(self) -> str:
        rate = self.embedded / self.seconds if self.seconds else 0.0
        text = f"{self.embedded} embedded, {self.failed} failed"
        text += f", {self.already} already done" if self.already else ""
        return text + f" in {self.seconds:.1f} s ({rate:.1f} images/s, {self.workers} {self.device} workers)"


def embed_feed(
    feed: Path,
    out: Path,
    model: ResolvedModel,
    *,
    address: str | None = None,
    workers: int = 1,
    num_cpus: int | None = None,
    batch_size: int = BATCH,
    device: DevicePreference = "auto",
    quiet: bool = False,
    categories: CategoryMap | None = None,
) -> EmbedReport:
    """Embed the images of ``feed`` (CSV, Parquet or folder, as ``catalog import`` reads it) into ``out``.

    ``address`` connects to a running cluster (``ray start --head``); None starts Ray locally with
    ``num_cpus`` (default: this machine's). ``workers`` is the number of embedding actors. The vector files
    record each row's category as the desktop import stores it (``read_feed``: a feed's "Sofas" is ``sofa``),
    mapped with ``categories`` (default: the shipped map).
    """
    if workers < 1:
        raise DecorLensError(f"--workers must be at least 1 (got {workers})")
    ray = _ray()
    model_bytes, model_sha256 = _model_file(model)
    rows, _ = read_feed(Path(feed), categories or CategoryMap.load())
    done = embedded_skus(out)
    todo = [r for r in rows if r.sku not in done or not r.sku]
    report = EmbedReport(already=len(rows) - len(todo), workers=workers)
    if not todo:
        return report
    started = _start_ray(ray, address, num_cpus or max(os.cpu_count() or 1, workers + 1), quiet)
    try:
        gpus = device != "cpu" and ray.cluster_resources().get("GPU", 0) >= 1
        cpus = ray.cluster_resources().get("CPU", 0)
        if not gpus and workers + DECODE_CPUS > cpus:  # the actors would hold every CPU: decoding never runs
            raise DecorLensError(f"--workers {workers} leaves no CPU for decoding on a Ray of {cpus:g} CPUs; "
                                 f"use at most {max(1, int(cpus - DECODE_CPUS))}")
        report.device = "gpu" if gpus else "cpu"
        start = time.perf_counter()
        counts = _run(ray, todo, Path(out), model, (ray.put(model_bytes), model_sha256), workers, batch_size, gpus)
        report.seconds = time.perf_counter() - start
        report.embedded, report.failed = counts
    finally:
        if started:
            ray.shutdown()
    return report


# -- the pipeline -------------------------------------------------------------------------------


def _run(ray: Any, rows: list[ImportRow], out: Path, model: ResolvedModel, model_file: tuple[Any, str],
         workers: int, batch_size: int, gpus: bool) -> tuple[int, int]:
    """Build and run the Ray Data pipeline; returns (embedded, failed).

    ``model_file`` is the model's bytes in the object store and their sha256.
    """
    model_ref, model_sha256 = model_file
    pa, _, _ = pyarrow_modules()
    table = pa.table({c: [getattr(r, c) or "" for r in rows] for c in FEED_COLUMNS})
    card = model.card.to_dict()
    blocks = [table.slice(i, BLOCK_ROWS) for i in range(0, len(table), BLOCK_ROWS)]
    ds = ray.data.from_arrow(blocks).map_batches(
        decode_batch, batch_size=batch_size, batch_format="numpy", num_cpus=DECODE_CPUS,
        fn_kwargs={"card": card, "cache": str(Path(tempfile.gettempdir()) / "decorlens-scale-images")},
    ).map_batches(
        EmbedActor, batch_size=batch_size, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=0 if gpus else 1, num_gpus=1 if gpus else 0,
        fn_constructor_kwargs={"model_bytes": model_ref, "file_name": model.path.name,
                               "file_sha256": model_sha256, "card": card, "device": "gpu" if gpus else "cpu"},
    )
    out.mkdir(parents=True, exist_ok=True)
    ds.write_parquet(str(out), ray_remote_args={"num_cpus": DECODE_CPUS}, row_group_size=ROW_GROUP)
    return _counts(out, {r.sku for r in rows})


def decode_batch(batch: dict[str, np.ndarray], card: dict[str, Any], cache: str) -> dict[str, np.ndarray]:
    """Feed rows → the embedder's input tensors, in a Ray task, exactly as the desktop import makes them.

    A row that cannot be used (no sku, no category, a missing, hostile or undecodable image, a failed
    download) gets zero pixels and its reason in ``error``; the actor leaves its vector null.
    """
    model_card = ModelCard.from_dict(card)
    size = model_card.input_size
    rows = [ImportRow(sku=str(s), name=str(s), category=str(c), image=str(i))
            for s, c, i in zip(batch["sku"], batch["category"], batch["image"])]
    rows = download_images(rows, Path(cache))
    pixels = np.zeros((len(rows), 3, size, size), np.float32)
    hashes, errors = [], []
    for n, row in enumerate(rows):
        product, tensor, error = prepare_row(row, Path(cache), lambda image: embed_input(image, model_card))
        if tensor is not None:
            pixels[n] = tensor
        hashes.append(product.image_hash if product else "")
        errors.append(error)
    return {"sku": batch["sku"], "category": batch["category"], "image_sha256": np.array(hashes, object),
            "error": np.array(errors, object), "pixels": pixels}


class EmbedActor:
    """One onnxruntime session per actor, made by the engine's ``Embedder`` from the shipped model bytes."""

    def __init__(self, model_bytes: Any, file_name: str, file_sha256: str, card: dict[str, Any],
                 device: DevicePreference):
        """``model_bytes``: an object-store reference to the ONNX file (fetched once per node)."""
        if device == "cpu":  # one intra-op thread per actor: Ray gives each actor one CPU
            os.environ.setdefault("DECORLENS_THREADS", "1")
        self.card = ModelCard.from_dict(card)
        path = _node_model_copy(file_sha256, file_name, lambda: _ray().get(model_bytes))
        self.embedder = Embedder(ResolvedModel(path, self.card), device)
        self.schema = schema(self.embedder.dim, EmbedderId.of(self.card))

    def __call__(self, batch: dict[str, np.ndarray]) -> Any:
        pa, _, _ = pyarrow_modules()
        ok = np.asarray([not e for e in batch["error"]], bool)
        vectors = np.zeros((len(ok), self.embedder.dim), np.float32)
        if ok.any():
            vectors[ok] = self.embedder.embed_tensors(batch["pixels"][ok])
        column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), self.embedder.dim,
                                                   mask=pa.array(~ok))
        n = len(ok)
        strings = [batch["sku"].tolist(), batch["category"].tolist(), batch["image_sha256"].tolist(),
                   [self.card.name] * n, [self.card.sha256] * n]
        return pa.Table.from_arrays([*(pa.array(s, pa.string()) for s in strings), column,
                                     pa.array(batch["error"].tolist(), pa.string())], schema=self.schema)


# -- helpers ------------------------------------------------------------------------------------


def _counts(out: Path, skus: set[str]) -> tuple[int, int]:
    """(with a vector, without) among ``skus`` in the output folder, after the run."""
    now = embedded_skus(out)
    return len(skus & now), len(skus - now)


def _node_model_copy(sha256: str, file_name: str, fetch: Callable[[], bytes]) -> Path:
    """The model file on this node, written once per model and node and shared by its actors and runs.

    The runtime opens extra sessions from the file later (e.g. for heat maps), so it must outlive
    ``__init__``; a folder per actor was never removed (one model's size per actor, per run, in /tmp).
    Keyed by the file's sha256; a copy that does not hash to it is replaced (atomically: actors on one
    node start together).
    """
    path = Path(tempfile.gettempdir()) / f"decorlens-embedder-{sha256[:16]}" / file_name
    if path.is_file() and sha256_of(path) == sha256:
        return path
    path.parent.mkdir(mode=0o700, exist_ok=True)
    write_atomic(path, fetch())
    return path


def _model_file(model: ResolvedModel) -> tuple[bytes, str]:
    """The ONNX file's bytes and sha256, read once and checked against its card: the sha256 the vectors
    carry is that of the very bytes the actors run, even if the file is replaced during the run."""
    data = model.path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    check_matches_card(model, digest)
    return data, digest


def _ray() -> Any:
    try:
        import ray
        import ray.data  # the Data library is a separate extra of ray
    except ImportError as exc:
        raise DecorLensError('embedding on Ray needs the scale extra: pip install "decorlens[scale]" '
                             f"(ray[data], pyarrow): {exc}") from exc
    return ray


def _start_ray(ray: Any, address: str | None, num_cpus: int, quiet: bool) -> bool:
    """Connect to ``address`` or start a quiet local Ray; True when this call started it (so stops it)."""
    if ray.is_initialized():
        return False
    if quiet:
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # the C++ core's own log lines
    ray.data.DataContext.get_current().enable_progress_bars = not quiet
    common = {"logging_level": logging.ERROR, "log_to_driver": False}
    try:
        if address:
            ray.init(address=address, **common)
        else:
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **common)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local Ray"
        raise DecorLensError(f"cannot start or reach {where}: {str(exc).splitlines()[0]}") from exc
    # Ray Data logs every execution plan at INFO (and says when its bars are off); set up by init
    logging.getLogger("ray.data").setLevel(logging.ERROR if quiet else logging.WARNING)
    return True
