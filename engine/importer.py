"""Catalog import from a folder of category subfolders or a product CSV.

CSV columns are recognised by name, so DecorLens' own format, Google Merchant Center feeds and
Shopify product exports import as they are. Images are identified by content hash: re-importing is
idempotent and only changed images are re-embedded. The whole import is one transaction, so a
cancel or Ctrl-C leaves the catalog exactly as it was before.
"""

from __future__ import annotations

import csv
import hashlib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from engine.catalog import Catalog, Product
from engine.errors import Cancelled, CatalogError, DecorLensError
from engine.imageio import load_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
CHUNK = 64
CATALOG_MAX_SIDE = 1024  # product shots are embedded at 224; no need to decode them bigger

# Our column ← the first present of these (lower-cased) header names.
COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "variant sku", "id", "product_id", "product id", "handle"),
    "name": ("name", "title"),
    "category": ("category", "product_type", "product type", "type", "google_product_category",
                 "product category"),
    "image": ("image", "image_path", "image path", "image_link", "image src", "image_src"),
    "url": ("url", "link", "product_url"),
    "price": ("price", "variant price", "sale_price"),
}

Progress = Callable[[int, int], None]  # (done, total)


class Matcher(Protocol):
    key: str

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray: ...


@dataclass
class ImportRow:
    sku: str
    name: str
    category: str
    image: str
    url: str = ""
    price: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (sku or file, reason)

    def summary(self) -> str:
        text = f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {len(self.skipped)} skipped" if self.skipped else "")


def read_source(source: Path) -> list[ImportRow]:
    """Rows from a folder (one subfolder per category) or a CSV file."""
    source = Path(source)
    if source.is_dir():
        return list(_folder_rows(source))
    if source.suffix.lower() in (".csv", ".tsv", ".txt"):
        return list(_csv_rows(source))
    raise CatalogError(f"{source}: expected a folder of category subfolders or a CSV file")


def import_rows(
    catalog: Catalog,
    rows: Sequence[ImportRow],
    matcher: Matcher,
    image_cache: Path,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> ImportReport:
    """Store rows and their vectors in one transaction; only new or changed images are embedded.

    Reading, hashing, decoding and (for matchers with ``preprocess``) resizing of the next chunk run
    in worker threads while the current chunk is embedded, so inference rarely waits for JPEGs.
    """
    report = ImportReport()
    done = 0
    prepare_pixels = getattr(matcher, "preprocess", None) if hasattr(matcher, "embed_tensors") else None
    chunks = list(_chunks(rows, CHUNK))
    with catalog.transaction() as revision, ThreadPoolExecutor(max_workers=2) as pool:
        def submit(chunk: Sequence[ImportRow]) -> list[Future]:
            return [pool.submit(_prepare, r, image_cache, prepare_pixels) for r in chunk]

        ahead = submit(chunks[0]) if chunks else []
        try:
            for n, chunk in enumerate(chunks):
                if cancelled():
                    raise Cancelled("import cancelled; the catalog is unchanged")
                prepared = [f.result() for f in ahead]
                ahead = submit(chunks[n + 1]) if n + 1 < len(chunks) else []
                to_embed = []
                for row, (product, image, error) in zip(chunk, prepared):
                    if error:
                        report.skipped.append((row.sku or row.image, error))
                        continue
                    existed = catalog.get_by_sku(product.sku) is not None
                    pid, changed = catalog.upsert(product, revision)
                    if changed:
                        to_embed.append((pid, product.image_hash, image))
                    if not existed:
                        report.added += 1
                    elif changed:
                        report.updated += 1
                    else:
                        report.unchanged += 1
                if to_embed:
                    images = [img for _, _, img in to_embed]
                    vectors = matcher.embed_tensors(images) if prepare_pixels else matcher.embed(images)
                    catalog.put_vectors(
                        matcher.key, ((p, h, v) for (p, h, _), v in zip(to_embed, vectors)), revision
                    )
                done += len(chunk)
                if progress:
                    progress(done, len(rows))
        finally:
            for future in ahead:  # cancelled or failed: do not decode a chunk nobody will use
                future.cancel()
    return report


def embed_missing(
    catalog: Catalog, matcher: Matcher, progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False
) -> int:
    """Embed products lacking a vector for ``matcher`` (a new embedder, or after a failed run)."""
    missing = catalog.missing_vectors(matcher.key)
    if not missing:
        return 0
    with catalog.transaction() as revision, ThreadPoolExecutor(max_workers=2) as pool:
        for start in range(0, len(missing), CHUNK):
            if cancelled():
                raise Cancelled("re-embedding cancelled; the catalog is unchanged")
            chunk = missing[start : start + CHUNK]
            images = list(pool.map(lambda p: _load_or_none(p.image_path), chunk))
            ok = [(p, img) for p, img in zip(chunk, images) if img is not None]
            if ok:
                vectors = matcher.embed([img for _, img in ok])
                catalog.put_vectors(matcher.key, ((p.id, p.image_hash, v) for (p, _), v in zip(ok, vectors)), revision)
            if progress:
                progress(min(start + CHUNK, len(missing)), len(missing))
    return len(missing)


# -- reading sources ----------------------------------------------------------------------------


def _folder_rows(root: Path) -> Iterator[ImportRow]:
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for image in sorted(folder.iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES:
                yield ImportRow(sku=image.stem, name=image.stem, category=folder.name, image=str(image))


def _csv_rows(path: Path) -> Iterator[ImportRow]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read CSV ({exc})") from exc
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;") if text.strip() else csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    headers = {h.strip().lower(): h for h in reader.fieldnames or []}
    mapping = {ours: next((headers[c] for c in names if c in headers), None) for ours, names in COLUMNS.items()}
    missing = [k for k in ("sku", "category", "image") if mapping[k] is None]
    if missing:
        raise CatalogError(f"{path}: no column for {', '.join(missing)} (have: {', '.join(headers.values())})")
    used = {h for h in mapping.values() if h}
    for record in reader:
        value = {ours: (record.get(col) or "").strip() if col else "" for ours, col in mapping.items()}
        if not value["image"] and not value["sku"]:
            continue  # Shopify exports put extra variant rows without image or sku
        yield ImportRow(
            sku=value["sku"], name=value["name"] or value["sku"], category=_leaf(value["category"]),
            image=_resolve(value["image"], path.parent), url=value["url"], price=value["price"],
            extra={k: v for k, v in record.items() if k not in used and k and v},
        )


def _leaf(category: str) -> str:
    """Google taxonomy paths ("Home & Garden > Decor > Vases") → their last level."""
    return category.split(">")[-1].strip()


def _resolve(image: str, base: Path) -> str:
    if not image or image.startswith(("http://", "https://")):
        return image
    path = Path(image).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


# -- per-row work (runs in threads: file I/O and decoding release the GIL) ----------------------


def _prepare(
    row: ImportRow, cache: Path, preprocess: Callable[[np.ndarray], np.ndarray] | None = None
) -> tuple[Product | None, np.ndarray | None, str]:
    """(product, decoded image, error): an error is the reason to skip the row.

    With ``preprocess`` the image comes back as the matcher's input tensor, made here in the worker.
    """
    if not row.sku:
        return None, None, "no sku/id"
    if not row.category:
        return None, None, "no category"
    try:
        path = _local_image(row.image, cache)
        digest = _file_hash(path)
        image = load_image(path, max_side=CATALOG_MAX_SIDE)
    except DecorLensError as exc:
        return None, None, str(exc)
    if preprocess is not None:
        image = preprocess(image)
    product = Product(row.sku, row.name, row.category, str(path), digest, row.url, row.price, row.extra)
    return product, image, ""


def _local_image(image: str, cache: Path) -> Path:
    if not image:
        raise CatalogError("no image")
    if not image.startswith(("http://", "https://")):
        return Path(image)
    target = cache / (hashlib.sha256(image.encode()).hexdigest()[:24] + Path(image.split("?")[0]).suffix)
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(image, timeout=15) as response:
                data = response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise CatalogError(f"cannot download {image} ({exc}); offline? use local image paths") from exc
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _load_or_none(path: str) -> np.ndarray | None:
    try:
        return load_image(path, max_side=CATALOG_MAX_SIDE)
    except DecorLensError:
        return None


def _chunks(rows: Sequence[ImportRow], size: int) -> Iterator[Sequence[ImportRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
