"""A whole catalog as one file: export on the machine that built it, import on many others.

A bundle (``.dlcat``) is a zip archive::

    manifest.json        format, versions, embedder keys and vector counts, checksums
    catalog.sqlite       a consistent snapshot (sqlite3 backup API), single-file journal mode,
                         image paths rewritten to ``images/<sha256>.<ext>``
    images/…             the product images, named by content hash (deduplicated, verified on import)
    index/<key>/…        the HNSW index of each embedder, matching the snapshot (built if absent)
    categories.yaml      the store's category map, when its data dir has one

Product images travel inside the bundle by default. A store shipping one catalog to many tills and
laptops cannot rely on the paths of the machine that imported it (a NAS path, ``C:\\Users\\…``, a
download cache), the GUI shows product pictures from those paths, and a machine whose embedder
differs can only re-embed from the pictures. Content-hash names make the copy deduplicated and
verifiable. ``include_images=False`` keeps the original paths instead, for sites where every machine
sees the same shared folder.

Import replaces the catalog of a data dir and never leaves it half-replaced: the bundle is unpacked
and checked in a staging folder inside the data dir, images are added (content-addressed, so adding
is harmless), then the old index is moved aside, the new database replaces the old in one
``os.replace`` (the commit point), and the new index is moved in. A crash at any moment leaves the old
or the new database with a matching index or none (which the engine rebuilds from stored vectors),
never a mismatched one. The previous database is kept as ``catalog.before-import.sqlite``.

A bundle embedded with another model than this machine's is refused with a message naming both,
unless ``re_embed`` is asked for: then the missing vectors are computed here before the swap.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from engine.catalog import SCHEMA_VERSION, Catalog
from engine.errors import CatalogError
from engine.files import replace_atomically, sha256_of
from engine.importer import Matcher, Progress, embed_missing
from engine.index import CatalogIndex

FORMAT = "decorlens-catalog-bundle"
FORMAT_VERSION = 1
SUFFIX = ".dlcat"
CATALOG_FILE = "catalog.sqlite"
PREVIOUS_FILE = "catalog.before-import.sqlite"
IMAGES_DIR = "catalog-images"  # inside the data dir: images that came with a bundle
CATEGORIES_FILE = "categories.yaml"
STAGING_PREFIX = ".bundle-import-"

Log = Callable[[str], None]


@dataclass
class BundleInfo:
    """What a bundle holds (its manifest), as exported or as read back."""

    path: Path
    manifest: dict[str, Any]

    @property
    def products(self) -> int:
        return int(self.manifest["products"])

    @property
    def embedders(self) -> dict[str, int]:
        return dict(self.manifest["embedders"])

    def summary(self) -> str:
        m = self.manifest
        size = self.path.stat().st_size / 1e6 if self.path.exists() else 0.0
        vectors = ", ".join(f"{k} ({n})" for k, n in m["embedders"].items()) or "none"
        images = f"{m['image_files']} images inside" if m["images"] == "embedded" else "images by original path"
        return (
            f"{self.path.name}: {m['products']} products in {len(m['categories'])} categories, {images}, "
            f"vectors {vectors}, {size:.1f} MB, made {m['created']} by DecorLens {m['decorlens']}"
        )


@dataclass
class ImportResult:
    products: int
    embedder: str
    re_embedded: int = 0
    images_added: int = 0
    missing_images: int = 0
    previous: Path | None = None
    categories_replaced: bool = False
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        text = f"imported {self.products} products (vectors {self.embedder})"
        if self.re_embedded:
            text += f", re-embedded {self.re_embedded} here"
        if self.images_added:
            text += f", {self.images_added} images added"
        if self.missing_images:
            text += f", {self.missing_images} images missing"
        if self.previous:
            text += f"; previous catalog kept as {self.previous.name}"
        return text + f" in {self.seconds:.1f} s"


# -- export -----------------------------------------------------------------------------------


def export_bundle(
    data_dir: Path, out: Path, include_images: bool = True, log: Log = lambda _msg: None
) -> BundleInfo:
    """Write the catalog of ``data_dir`` (database, index, images, category map) to ``out``.

    The live database is only read (through the sqlite3 backup API, so a running app may keep
    using it); ``out`` appears complete or not at all.
    """
    data_dir = Path(data_dir)
    source = data_dir / CATALOG_FILE
    if not source.is_file():
        raise CatalogError(f"no catalog in {data_dir} to export (import products first)")
    out = Path(out)
    if out.suffix == "":
        out = out.with_suffix(SUFFIX)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="decorlens-export-") as tmp:
        stage = Path(tmp)
        db_path = stage / CATALOG_FILE
        _snapshot(source, db_path)
        images, stale, missing = _bundle_images(db_path, include_images)
        if missing:
            shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
            raise CatalogError(
                f"{len(missing)} product images cannot be read ({shown}); re-import or remove those products, "
                "then export again"
            )
        if stale:
            log(f"{len(stale)} product images changed on disk since they were imported; their vectors "
                "describe the old pictures (re-import the catalog to refresh them)")
        index_keys = _stage_indexes(db_path, data_dir / "index", stage / "index", log)
        _finalise_db(db_path)
        manifest = _manifest(db_path, include_images, images, index_keys, len(stale))
        if (data_dir / CATEGORIES_FILE).is_file():
            shutil.copyfile(data_dir / CATEGORIES_FILE, stage / CATEGORIES_FILE)
            manifest["categories_file"] = True
        part = out.with_name(out.name + ".part")
        try:
            _write_zip(part, stage, manifest, images)
            replace_atomically(part, out)
        finally:
            part.unlink(missing_ok=True)
    info = BundleInfo(out, manifest)
    log(info.summary())
    return info


def _snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a live database, even mid-write by another process."""
    try:
        src = sqlite3.connect(source, timeout=30)  # only read; a writer elsewhere just makes it wait
        dst = sqlite3.connect(target)
        with dst:
            src.backup(dst)
        src.close()
        version = dst.execute("SELECT version FROM schema_version").fetchone()
        dst.close()
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"catalog {source} cannot be read for export: {exc}") from exc
    if version is None:
        raise CatalogError(f"{source} is not a DecorLens catalog (no schema version)")


def _bundle_images(db_path: Path, include: bool) -> tuple[dict[str, Path], list[str], list[str]]:
    """{archive name: source file}; rewrites image paths in the staged copy to archive names."""
    db = sqlite3.connect(db_path)
    rows = db.execute("SELECT id, sku, image_path, image_hash FROM products ORDER BY id").fetchall()
    images: dict[str, Path] = {}
    stale: list[str] = []
    missing: list[str] = []
    updates = []
    for pid, sku, image_path, image_hash in rows:
        path = Path(image_path)
        if not path.is_file():
            missing.append(f"{sku}: {image_path}")
            continue
        if not include:
            continue
        digest = sha256_of(path)
        if digest != image_hash:
            stale.append(sku)
        name = f"images/{digest}{path.suffix.lower()}"
        images[name] = path
        updates.append((name, pid))
    with db:
        db.executemany("UPDATE products SET image_path = ? WHERE id = ?", updates)
    db.close()
    return images, stale, missing


def _stage_indexes(db_path: Path, live_root: Path, stage_root: Path, log: Log) -> list[str]:
    """For each embedder with vectors: the live index if it matches the snapshot, else a fresh build."""
    keys: list[str] = []
    with Catalog(db_path) as catalog:
        for key in catalog.embedders():
            dim = _vector_dim(catalog, key)
            live = CatalogIndex(stage_root, key, dim).dir  # just for the folder name
            source = live_root / live.name
            shutil.rmtree(live)
            if _index_matches(source, catalog.revision, dim):
                shutil.copytree(source, live)
            else:
                log(f"building the {key} index for the bundle")
                CatalogIndex(stage_root, key, dim).rebuild(catalog)
            keys.append(key)
    return keys


def _vector_dim(catalog: Catalog, key: str) -> int:
    row = catalog.db.execute("SELECT vector FROM vectors WHERE embedder = ? LIMIT 1", (key,)).fetchone()
    return len(row[0]) // 4


def _index_matches(folder: Path, revision: int, dim: int) -> bool:
    """Whether an index folder reflects exactly this catalog revision, every file as its manifest says."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    if manifest.get("revision") != revision or manifest.get("dim") != dim:
        return False
    for entry in manifest.get("files", {}).values():
        path = folder / entry["file"]
        if not path.is_file() or path.stat().st_size != entry.get("size") or sha256_of(path) != entry.get("sha256"):
            return False
    return True


def _finalise_db(db_path: Path) -> None:
    """One self-contained file: no WAL beside it, free pages dropped."""
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("VACUUM")
    db.close()


def _manifest(
    db_path: Path, include_images: bool, images: dict[str, Path], index_keys: list[str], stale: int
) -> dict[str, Any]:
    import hnswlib  # noqa: F401 - its presence is what matters; it has no __version__
    import numpy
    import onnxruntime

    from engine import __version__

    db = sqlite3.connect(db_path)
    try:
        categories = dict(db.execute("SELECT category, COUNT(*) FROM products GROUP BY category ORDER BY category"))
        embedders = dict(db.execute("SELECT embedder, COUNT(*) FROM vectors GROUP BY embedder ORDER BY embedder"))
        products = db.execute("SELECT COUNT(*) FROM products").fetchone()[0]
        revision = int(db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])
        schema = db.execute("SELECT version FROM schema_version").fetchone()[0]
    finally:
        db.close()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "decorlens": __version__,
        "schema_version": schema,
        "revision": revision,
        "products": products,
        "categories": categories,
        "embedders": embedders,
        "index": index_keys,
        "images": "embedded" if include_images else "external",
        "image_files": len(images),
        "stale_images": stale,
        "catalog_sha256": sha256_of(db_path),
        "categories_file": False,
        "versions": {"numpy": numpy.__version__, "onnxruntime": onnxruntime.__version__},
    }


def _write_zip(part: Path, stage: Path, manifest: dict[str, Any], images: dict[str, Path]) -> None:
    with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        zf.write(stage / CATALOG_FILE, CATALOG_FILE)
        if (stage / CATEGORIES_FILE).is_file():
            zf.write(stage / CATEGORIES_FILE, CATEGORIES_FILE)
        index_root = stage / "index"
        if index_root.is_dir():
            for path in sorted(index_root.rglob("*")):
                if path.is_file():
                    zf.write(path, "index/" + path.relative_to(index_root).as_posix())
        for name, path in sorted(images.items()):  # JPEG/PNG/WebP are compressed already
            zf.write(path, name, compress_type=zipfile.ZIP_STORED)


# -- reading ----------------------------------------------------------------------------------


def read_bundle(path: Path) -> BundleInfo:
    """The manifest of a bundle, checked for format and version."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            return BundleInfo(path, _read_manifest(zf, path))
    except (OSError, zipfile.BadZipFile) as exc:
        raise CatalogError(f"{path}: not a readable catalog bundle ({exc})") from exc


def _read_manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except (KeyError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{path}: not a DecorLens catalog bundle (no readable manifest.json)") from exc
    if manifest.get("format") != FORMAT:
        raise CatalogError(f"{path}: not a DecorLens catalog bundle (format {manifest.get('format')!r})")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise CatalogError(
            f"{path}: bundle format {manifest['format_version']} is newer than this DecorLens reads "
            f"({FORMAT_VERSION}); update DecorLens"
        )
    if int(manifest.get("schema_version", 0)) > SCHEMA_VERSION:
        raise CatalogError(
            f"{path}: catalog schema {manifest['schema_version']} is newer than this DecorLens "
            f"({SCHEMA_VERSION}); update DecorLens"
        )
    return manifest


# -- import -----------------------------------------------------------------------------------


def import_bundle(
    bundle: Path,
    data_dir: Path,
    embedder: Matcher | None = None,
    re_embed: bool = False,
    progress: Progress | None = None,
    log: Log = lambda _msg: None,
) -> ImportResult:
    """Replace the catalog of ``data_dir`` by the bundle's, atomically.

    ``embedder`` is this machine's (its ``key`` names the exact weights): a bundle without vectors
    for it is refused, or re-embedded here when ``re_embed``. Run it while no pipeline in this
    process holds ``data_dir`` open, and with the app closed on this data dir.
    """
    start = time.perf_counter()
    bundle, data_dir = Path(bundle), Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(data_dir)
    with zipfile.ZipFile(bundle) as zf:
        manifest = _read_manifest(zf, bundle)
        key = _check_embedder(manifest, embedder, re_embed, bundle)
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=data_dir))
        try:
            names = _safe_members(zf, bundle)
            _extract(zf, names, stage, manifest)
            result = _install(stage, data_dir, manifest, embedder, key, re_embed, progress, log)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    result.seconds = time.perf_counter() - start
    log(result.summary())
    return result


def _check_embedder(manifest: dict[str, Any], embedder: Matcher | None, re_embed: bool, bundle: Path) -> str:
    shipped = manifest.get("embedders", {})
    if embedder is None:
        return next(iter(shipped), "")
    if embedder.key in shipped:
        return embedder.key
    have = ", ".join(shipped) or "none"
    if not re_embed:
        raise CatalogError(
            f"{bundle.name} was embedded with {have}, but this machine's embedder is {embedder.key} "
            "(a different model file). Install the same model here, or import with re-embedding "
            f"(--re-embed) to compute {manifest['products']} vectors on this machine"
        )
    if manifest.get("images") != "embedded":
        raise CatalogError(
            f"{bundle.name} has no vectors for {embedder.key} and carries no images to re-embed from; "
            "export it again with images"
        )
    return embedder.key


def _safe_members(zf: zipfile.ZipFile, bundle: Path) -> list[str]:
    """Archive names, refusing anything that could land outside the staging folder."""
    names = []
    for info in zf.infolist():
        name = info.filename
        parts = PurePosixPath(name).parts
        if info.is_dir():
            continue
        if name.startswith("/") or "\\" in name or ".." in parts or ":" in name or not parts:
            raise CatalogError(f"{bundle.name}: unsafe path {name!r} in the archive; refusing it")
        if parts[0] not in ("images", "index") and name not in ("manifest.json", CATALOG_FILE, CATEGORIES_FILE):
            raise CatalogError(f"{bundle.name}: unexpected file {name!r} in the archive; refusing it")
        names.append(name)
    if CATALOG_FILE not in names:
        raise CatalogError(f"{bundle.name}: no {CATALOG_FILE} in the archive")
    return names


def _extract(zf: zipfile.ZipFile, names: list[str], stage: Path, manifest: dict[str, Any]) -> None:
    for name in names:
        if name == "manifest.json":
            continue
        target = stage.joinpath(*PurePosixPath(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with zf.open(name) as src, open(target, "wb") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                dst.write(chunk)
        expected = None
        if name == CATALOG_FILE:
            expected = manifest.get("catalog_sha256")
        elif name.startswith("images/"):
            expected = PurePosixPath(name).stem
        if expected and digest.hexdigest() != expected:
            raise CatalogError(f"{name} in the bundle is damaged (checksum mismatch); copy the bundle again")


def _install(
    stage: Path, data_dir: Path, manifest: dict[str, Any], embedder: Matcher | None, key: str,
    re_embed: bool, progress: Progress | None, log: Log,
) -> ImportResult:
    db_path = stage / CATALOG_FILE
    images_dir = data_dir / IMAGES_DIR
    result = ImportResult(products=0, embedder=key)
    # 1. rewrite image paths for this machine and check the database before anything is replaced
    db = sqlite3.connect(db_path)
    try:
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise CatalogError("the catalog database in the bundle is corrupt")
        rows = db.execute("SELECT id, image_path FROM products").fetchall()
        if manifest.get("images") == "embedded":
            with db:
                db.executemany(
                    "UPDATE products SET image_path = ? WHERE id = ?",
                    [(str(images_dir / PurePosixPath(p).name), pid) for pid, p in rows],
                )
        else:
            result.missing_images = sum(1 for _, p in rows if not Path(p).is_file())
            if result.missing_images:
                result.warnings.append(
                    f"{result.missing_images} product images are not at their original paths on this machine"
                )
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"the catalog database in the bundle is unreadable: {exc}") from exc
    finally:
        db.close()
    # 2. images: content-addressed, so adding them before the swap changes nothing for the old catalog
    if (stage / "images").is_dir():
        images_dir.mkdir(parents=True, exist_ok=True)
        for image in (stage / "images").iterdir():
            target = images_dir / image.name
            if not target.exists():
                os.replace(image, target)
                result.images_added += 1
    # 3. vectors and index for this machine's embedder, in the staging folder
    with Catalog(db_path) as catalog:
        result.products = catalog.count()
        if result.products != manifest["products"]:
            raise CatalogError(f"the bundle's manifest lists {manifest['products']} products, its database "
                               f"{result.products}; the bundle is inconsistent")
        if re_embed and embedder is not None:
            log(f"computing {embedder.key} vectors for the imported products")
            result.re_embedded = embed_missing(catalog, embedder, progress)
        if key:
            dim = _vector_dim(catalog, key) if catalog.embedders().get(key) else getattr(embedder, "dim", 0)
            index = CatalogIndex(stage / "index", key, dim, log)
            if not _index_matches(index.dir, catalog.revision, dim):
                index.rebuild(catalog, reason="the bundle's index does not match its catalog" if not re_embed else "")
    for leftover in (db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
        if leftover.exists() and leftover.stat().st_size:
            raise CatalogError(f"could not finish writing {db_path.name} in the staging folder")
        leftover.unlink(missing_ok=True)
    # 4. swap: index aside, database (the commit point), index in
    live_db = data_dir / CATALOG_FILE
    if live_db.exists():
        _quiesce(live_db)
        result.previous = data_dir / PREVIOUS_FILE
        _copy_db(live_db, result.previous)
    aside = None
    if (data_dir / "index").exists():
        aside = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX + "old-index-", dir=data_dir))
        os.replace(data_dir / "index", aside / "index")
    try:
        os.replace(db_path, live_db)
    except OSError as exc:
        if aside is not None:  # roll back: the old database is still in place, give it its index again
            os.replace(aside / "index", data_dir / "index")
        raise CatalogError(f"cannot replace {live_db} ({exc}); is DecorLens open on this data dir?") from exc
    if (stage / "index").is_dir():
        os.replace(stage / "index", data_dir / "index")
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    # 5. the store's category map, and images no longer referenced
    if (stage / CATEGORIES_FILE).is_file():
        os.replace(stage / CATEGORIES_FILE, data_dir / CATEGORIES_FILE)
        result.categories_replaced = True
    if manifest.get("images") == "embedded":
        _remove_unreferenced(live_db, images_dir)
    return result


def _quiesce(live_db: Path) -> None:
    """Fold the WAL into the database file so replacing the file loses nothing and leaves no stale WAL."""
    try:
        db = sqlite3.connect(live_db, timeout=5)
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        db.close()
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"cannot read the current catalog {live_db}: {exc}") from exc
    wal = live_db.with_name(live_db.name + "-wal")
    if busy or (wal.exists() and wal.stat().st_size):
        raise CatalogError(f"{live_db} is in use; close DecorLens on this data dir and import again")
    for suffix in ("-wal", "-shm"):
        live_db.with_name(live_db.name + suffix).unlink(missing_ok=True)


def _copy_db(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    src = sqlite3.connect(source)
    dst = sqlite3.connect(tmp)
    with dst:
        src.backup(dst)
    dst.execute("PRAGMA journal_mode = DELETE")
    src.close()
    dst.close()
    os.replace(tmp, target)


def _remove_unreferenced(db_path: Path, images_dir: Path) -> None:
    db = sqlite3.connect(db_path)
    try:
        used = {Path(p).name for (p,) in db.execute("SELECT image_path FROM products")}
    finally:
        db.close()
    for image in images_dir.iterdir():
        if image.is_file() and image.name not in used:
            image.unlink(missing_ok=True)


def _remove_leftovers(data_dir: Path) -> None:
    """Staging folders of an import that was killed: never in use, safe to delete."""
    for leftover in data_dir.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


# -- files ------------------------------------------------------------------------------------


