"""Catalog vectors embedded elsewhere (``decorlens catalog embed`` on a Ray cluster), stored as Parquet.

This module owns the file format, so the writer (``scale.embed``) and the reader below cannot drift:
one row per feed row with its sku, category, the sha256 of the image file that was embedded, the
embedder's card name and sha256, the vector as a fixed-size list of float32 (null when the image
could not be embedded) and the reason in ``error``.

Importing reads the product data from the feed, as any import does, and the vectors from the
Parquet files, streamed in record batches so a million-row folder never sits in memory at once.
Vectors are only accepted from the active embedder (card name and sha256 both equal): a vector of
another model would be searched against queries it was never comparable with. pyarrow comes with
the ``[scale]`` extra; without it this is a one-line error, and the rest of the engine never needs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.catalog import Catalog, Product
from engine.errors import Cancelled, CatalogError, DecorLensError
from engine.feed_images import download_images
from engine.files import is_sha256
from engine.importer import ImportReport, ImportRow, Progress, catalog_lookalikes
from engine.models import MAX_MODEL_NAME, MAX_OUTPUT_DIM, ModelCard, ResolvedModel

SKU, CATEGORY, IMAGE_SHA256 = "sku", "category", "image_sha256"
EMBEDDER, EMBEDDER_SHA256, VECTOR, ERROR = "embedder", "embedder_sha256", "vector", "error"
ALL_COLUMNS = (SKU, CATEGORY, IMAGE_SHA256, EMBEDDER, EMBEDDER_SHA256, VECTOR, ERROR)
READ_BATCH = 4096  # rows per Parquet record batch: ~20 MB of 1280-d vectors
# Rows per Parquet row group as written: a reader buffers a whole row group (vectors barely compress), so
# this, not the file or the catalog, bounds the memory an import needs.
ROW_GROUP = 8192
NO_SKU = "(no sku)"
# Text a Parquet file may decode to: this many bytes per byte of the file, plus TEXT_SLACK. A dictionary page
# holds a value once and each row names it in a bit or two, so a 4 KB file of one 1 MiB error repeated took
# 1.4 GB to read; real vector files and feeds decode to less than 10 bytes of text per byte.
TEXT_RATIO = 100
TEXT_SLACK = 256 << 20
INSTALL_HINT = 'install the scale extra: pip install "decorlens[scale]" (pyarrow)'


@dataclass(frozen=True)
class EmbedderId:
    """What a vector file says made its vectors: the card's name and the ONNX file's sha256."""

    name: str
    sha256: str

    @classmethod
    def of(cls, card: ModelCard) -> EmbedderId:
        return cls(card.name, card.sha256)

    def __str__(self) -> str:
        return f"{self.name} (sha256 {self.sha256[:12]})"


def pyarrow_modules() -> tuple[Any, Any, Any]:
    """(pyarrow, pyarrow.compute, pyarrow.parquet), or a one-line error naming the extra."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DecorLensError(f"reading or writing vector files needs pyarrow: {INSTALL_HINT}") from exc
    return pa, pc, pq


def schema(dim: int, embedder: EmbedderId) -> Any:
    """The Parquet schema of a vector file; the embedder is also in its metadata, for people reading it."""
    pa, _, _ = pyarrow_modules()
    return pa.schema(
        [(SKU, pa.string()), (CATEGORY, pa.string()), (IMAGE_SHA256, pa.string()), (EMBEDDER, pa.string()),
         (EMBEDDER_SHA256, pa.string()), (VECTOR, pa.list_(pa.float32(), dim)), (ERROR, pa.string())],
        metadata={"decorlens.embedder": embedder.name, "decorlens.embedder_sha256": embedder.sha256,
                  "decorlens.dim": str(dim)},
    )


def vector_files(folder: Path) -> list[Path]:
    """The Parquet files of a vector folder (a single file is accepted too), sorted."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise CatalogError(f"{folder}: no such vector folder (make one with `decorlens catalog embed`)")
    return sorted(_parquet_below(folder))


def _parquet_below(folder: Path) -> Iterator[Path]:
    """The ``*.parquet`` files below ``folder``, not hidden, a symlinked folder not entered, a folder that cannot be
    listed passed over (as ``rglob`` did). The folders being read are a stack, not recursion: ``rglob`` died of
    "unexpected RecursionError" in a vector folder 1,000 folders deep."""
    stack = [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as found:
                entries = list(found)
        except OSError:  # unreadable, gone, or its path past the system's limit
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.name.endswith(".parquet") and not entry.name.startswith(".") and Path(entry.path).is_file():
                yield Path(entry.path)


def embedded_skus(folder: Path) -> set[str]:
    """Skus that already have a vector in ``folder`` (a resumed ``embed`` skips them); empty if none."""
    if not Path(folder).exists():
        return set()
    done: set[str] = set()
    for batch in _batches(vector_files(folder), columns=[SKU, VECTOR]):
        ok = batch.column(VECTOR).is_valid()
        done.update(batch.column(SKU).filter(ok).to_pylist())
    return done


def import_vectors(
    catalog: Catalog,
    rows: Sequence[ImportRow],
    folder: Path,
    embedder: ResolvedModel,
    image_cache: Path,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> ImportReport:
    """Add the feed's ``rows`` with the vectors of ``folder`` in one transaction, embedding nothing.

    Products come from the feed (name, url, price, image path), joined to the vector files by sku;
    a feed row without a vector, and a vector row whose sku the feed lacks, are counted as skipped.
    Remote images are downloaded first, outside the transaction, as ``import_rows`` does, so the
    catalog has the photos it shows. The image hash stored is the one of the file that was embedded.
    """
    files = vector_files(folder)
    if not files:
        raise CatalogError(f"{folder}: no .parquet vector files in it")
    wanted = EmbedderId.of(embedder.card)
    for path in files:
        check_embedder(path, wanted)
    feed = {row.sku: row for row in download_images(rows, image_cache, cancelled) if row.sku and not row.skip}
    report = ImportReport()
    report.skipped += [(r.sku or r.image, r.skip or "no sku/id") for r in rows if r.skip or not r.sku]
    total = _row_count(files)
    lacking = {p.sku for p in catalog.missing_vectors(embedder.key)}  # unchanged products still to vector
    dim = embedder.card.output_dim  # else the first file's size, which every other file must then have
    seen: set[str] = set()
    failed: dict[str, str] = {}  # sku -> why the cluster could not embed it (a later re-run may have)
    done = 0
    with catalog.transaction() as revision:
        for batch in _batches(files):
            if cancelled():
                raise Cancelled("import cancelled; the catalog is unchanged")
            dim = _checked_dim(batch, dim, folder, embedder.card.name)
            _store_batch(catalog, batch, feed, embedder.key, revision, lacking, seen, failed, report)
            done += batch.num_rows
            if progress:
                progress(done, total)
        report.lookalikes = catalog_lookalikes(catalog, sorted(seen))  # "АBC-1" stored beside "ABC-1", as a feed's
    report.skipped += [(sku, why) for sku, why in failed.items() if sku not in seen]
    report.skipped += [(sku, "no vector for it in the vector files") for sku in feed
                       if sku not in seen and sku not in failed]
    return report


def check_embedder(path: Path, wanted: EmbedderId) -> None:
    """Refuse a file whose rows come from another embedder than ``wanted``, in one line."""
    _, pc, _ = pyarrow_modules()
    for batch in _batches([path], columns=[EMBEDDER, EMBEDDER_SHA256]):
        names = set(pc.unique(batch.column(EMBEDDER)).to_pylist())
        hashes = set(pc.unique(batch.column(EMBEDDER_SHA256)).to_pylist())
        if names != {wanted.name} or hashes != {wanted.sha256}:
            found = f"{_few(names, MAX_MODEL_NAME)} (sha256 {_few(hashes, 12)})"
            raise CatalogError(f"{path}: vectors made by {found}, but the active embedder is {wanted}; "
                               "embed the feed again with this embedder or activate that one")


# -- internals ----------------------------------------------------------------------------------


def _few(values: set[Any], width: int) -> str:
    """At most three of ``values``, each cut to ``width`` characters, and how many more: a file's embedder column may
    hold thousands of names of any length, and the refusal wrote every one (hundreds of MB from a file of one)."""
    shown = sorted(map(str, values))
    more = f" and {len(shown) - 3:,} more" if len(shown) > 3 else ""
    return " / ".join(value[:width] for value in shown[:3]) + more


def _store_batch(
    catalog: Catalog, batch: Any, feed: dict[str, ImportRow], key: str, revision: int,
    lacking: set[str], seen: set[str], failed: dict[str, str], report: ImportReport,
) -> None:
    """Upsert the products of one record batch and put the vectors of the new, changed or lacking ones."""
    skus = batch.column(SKU).to_pylist()
    hashes = batch.column(IMAGE_SHA256).to_pylist()
    errors = batch.column(ERROR).to_pylist()
    vectors = _vectors(batch)
    present = batch.column(VECTOR).is_valid().to_numpy(zero_copy_only=False)
    valid = present & np.isfinite(vectors).all(axis=1)  # a NaN would rank as a match of every query
    to_put = []
    for i, sku in enumerate(skus):
        row = feed.get(sku)
        if not valid[i]:
            why = "its vector holds NaN or infinity" if present[i] else errors[i] or "no vector"
            failed.setdefault(sku or NO_SKU, " ".join(why.split()))  # a cluster's error may span lines
            continue
        if not sku:
            report.skipped.append((NO_SKU, "no sku in the vector files"))
            continue
        if not is_sha256(hashes[i]):
            # stored as the product's image hash, which the catalog compares with sha256_of of image files
            failed.setdefault(sku, "its image_sha256 is not the sha256 of an image (64 lowercase hex digits)")
            continue
        if row is None:
            report.skipped.append((sku, "in the vector files but not in the feed"))
            continue
        if sku in seen:
            continue  # a resumed embed may hold a sku twice; the first vector wins
        seen.add(sku)
        product = Product(sku, row.name, row.category, row.image, hashes[i], row.url, row.price, row.extra)
        try:
            stored = catalog.upsert(product, revision)
        except CatalogError as exc:
            report.skipped.append((sku, str(exc)))
            continue
        if stored.reembed or sku in lacking:
            to_put.append((stored.id, hashes[i], vectors[i]))
        report.count(stored.change)
    catalog.put_vectors(key, to_put, revision)


def _checked_dim(batch: Any, dim: int | None, folder: Path, embedder: str) -> int:
    """The size of a batch's vectors (fixed-size lists of floats: ``_check_vector_type``), refused unless ``dim``
    (when known). A vector of another size than the embedder's would be stored, and then the index (hnswlib)
    refuses it at every later sync: each search after such an import would fail, not just the import."""
    kind = batch.column(VECTOR).type
    if dim is not None and kind.list_size != dim:
        raise CatalogError(f"{folder}: vectors of {kind.list_size} values, but {embedder} gives {dim}; "
                           "not vectors of the active embedder")
    return kind.list_size


def _vectors(batch: Any) -> np.ndarray:
    """The (rows, dim) float32 matrix of a batch's vector column, zeros where the vector is null."""
    column = batch.column(VECTOR)
    dim = column.type.list_size
    flat = column.fill_null([0.0] * dim).flatten() if column.null_count else column.flatten()
    with np.errstate(over="ignore"):  # a float64 past float32's range is inf, and its row skipped as such
        return flat.to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(len(column), dim)


def _batches(files: Sequence[Path], columns: list[str] | None = None) -> Iterator[Any]:
    pa, _, pq = pyarrow_modules()
    for path in files:
        try:
            schema = pq.ParquetFile(path).schema_arrow
            missing = [c for c in (columns or ALL_COLUMNS) if c not in schema.names]
            if missing:
                raise CatalogError(f"{path}: not a DecorLens vector file (no column {', '.join(missing)})")
            if VECTOR in (columns or ALL_COLUMNS):
                _check_vector_type(path, schema.field(VECTOR).type, pa)
            yield from bounded_batches(path, path, READ_BATCH, list(columns or ALL_COLUMNS))
        except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError, ArrowIOError an OSError
            raise CatalogError(f"{path}: unreadable Parquet file ({str(exc).splitlines()[0]})") from exc


def _check_vector_type(path: Path, kind: Any, pa: Any) -> None:
    """A fixed-size list of floats of at most MAX_OUTPUT_DIM, known from the footer before a row is read: a list
    of another kind or size decodes to whatever its file says, from a few bytes of a dictionary page."""
    if not (pa.types.is_fixed_size_list(kind) and pa.types.is_floating(kind.value_type)):
        raise CatalogError(f"{path}: its vector column is {kind}, not a fixed-size list of floats; "
                           "not vector files DecorLens wrote")
    if kind.list_size > MAX_OUTPUT_DIM:
        raise CatalogError(f"{path}: vectors of {kind.list_size:,} values, more than an embedder gives "
                           f"({MAX_OUTPUT_DIM:,}); not vector files DecorLens wrote")


def bounded_batches(source: Path | Any, shown: Path, batch_size: int, columns: list[str] | None = None) -> Iterator[Any]:
    """Record batches of the Parquet file ``source`` (a path or an open file), refused in one line naming ``shown``
    once their text passes TEXT_RATIO times the file's size plus TEXT_SLACK.

    Text columns are read as dictionaries, so what a batch decodes to is counted before anything is decoded; a
    column of nested values (lists, structs) other than a fixed-size list of numbers is refused from the footer,
    as its elements decode the same way. Feeds (``engine.importer``) and vector files are both read here."""
    pa, pc, pq = pyarrow_modules()
    schema = pq.ParquetFile(source).schema_arrow
    fields = list(schema) if columns is None else [_only_field(schema, name, shown) for name in columns]
    for field in fields:
        if pa.types.is_nested(field.type) and not (pa.types.is_fixed_size_list(field.type)
                                                   and _is_number(pa, field.type.value_type)):
            raise CatalogError(f"{shown}: column {field.name!r} holds {field.type}, not plain values; refusing it")
    text = [field.name for field in fields if _is_text(pa, field.type)]
    allowed = TEXT_RATIO * _size_of(source) + TEXT_SLACK
    decoded = 0
    for batch in pq.ParquetFile(source, read_dictionary=text).iter_batches(batch_size=batch_size, columns=columns):
        decoded += sum(_text_bytes(column, pa, pc) for column in batch.columns)
        if decoded > allowed:
            raise CatalogError(f"{shown}: its text decodes to more than {allowed / 2**20:,.0f} MiB from a "
                               f"{_size_of(source) / 2**20:,.1f} MiB file (a compression bomb?); refusing it")
        yield batch


def _only_field(schema: Any, name: str, shown: Path) -> Any:
    """The one column ``name`` of ``schema``; one of two alike would be read for either."""
    found = schema.get_all_field_indices(name)
    if len(found) != 1:
        raise CatalogError(f"{shown}: column {name!r} appears {len(found)} times; refusing it")
    return schema.field(found[0])


def _is_text(pa: Any, kind: Any) -> bool:
    return any(test(kind) for test in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
                                       pa.types.is_large_binary))


def _is_number(pa: Any, kind: Any) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


def _text_bytes(column: Any, pa: Any, pc: Any) -> int:
    """Bytes of text ``column`` holds once decoded: a dictionary's values counted once per row that names them."""
    if pa.types.is_dictionary(column.type):
        if not _is_text(pa, column.type.value_type):
            return 0
        lengths = pc.binary_length(column.dictionary)
        return pc.sum(pc.take(lengths, column.indices)).as_py() or 0
    return pc.sum(pc.binary_length(column)).as_py() or 0 if _is_text(pa, column.type) else 0


def _size_of(source: Path | Any) -> int:
    return os.fstat(source.fileno()).st_size if hasattr(source, "fileno") else Path(source).stat().st_size


def _row_count(files: Sequence[Path]) -> int:
    _, _, pq = pyarrow_modules()
    try:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in files)
    except (OSError, ValueError) as exc:
        why = str(exc).splitlines()[0]
        raise CatalogError(f"a Parquet file in {files[0].parent} is unreadable ({why})") from exc

