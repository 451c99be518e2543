"""Reading a catalog bundle's zip archive as untrusted input.

A bundle comes from another machine, a shared folder or a stranger, so every byte of it is checked
before it is used: the zip's end record before the zip module parses the central directory (a few
megabytes can claim millions of members), every member's name, type and declared size before
anything is written, then the bytes themselves while they are written (headers can lie), and each
member's checksum against the manifest. Members are written under names this module chooses, never
under the archive's names, so no member can land outside the staging folder whatever it is called.

Caps keep a compression bomb small: a member may not grow past its declared size nor past its kind's
cap, and the whole archive may not unpack to more than ``MAX_RATIO`` times its own size (real
bundles are mostly JPEGs stored as they are, and a database of float vectors, which deflate barely
shrinks).
"""

from __future__ import annotations

import hashlib
import json
import lzma
import re
import shutil
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Self

from engine.catalog import SCHEMA_VERSION
from engine.catalog_map import MAX_MAP_BYTES
from engine.errors import CatalogError
from engine.files import is_sha256
from engine.imageio import IMAGE_SUFFIXES
from engine.paths import CATALOG_FILE

FORMAT = "decorlens-catalog-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CATALOG = CATALOG_FILE
CATEGORIES = "categories.yaml"

MAX_MEMBERS = 250_000  # products per bundle, roughly: one image each
MAX_CENTRAL_DIR_PER_MEMBER = 512  # bytes of zip directory per member (names here are < 100 characters)
MAX_MANIFEST_BYTES = 64 << 20  # lists every member with its checksum
# A manifest is small next to its archive: measured on real exports, about 200 bytes and 3 of the JSON
# bytes ``{[,`` per member, plus under 1 KB of fields. Bounded by the archive's own member count before
# json.loads: 2 bytes of ``{}`` become a 64-byte dict, so 64 MB of them took 1.6 GB to parse.
MANIFEST_BASE_BYTES = 1 << 20  # the fields and the category counts (a category name is rarely 40 bytes)
MANIFEST_BYTES_PER_MEMBER = 512
MANIFEST_BASE_ITEMS = 1 << 16  # containers and commas outside the member listing
MANIFEST_ITEMS_PER_MEMBER = 8
MAX_CATEGORIES_BYTES = 1 << 20
MAX_IMAGE_BYTES = 64 << 20
MAX_CATALOG_BYTES = 16 << 30
MAX_RATIO = 20  # whole archive: unpacked bytes per archive byte
RATIO_SLACK = 16 << 20  # a tiny catalog's database deflates far better than a real one
DISK_MARGIN = 64 << 20
MAP_NAME = re.compile(r"maps/[A-Za-z0-9._-]{1,200}\.npz")  # engine.bundle_map: an embedder's catalog map
# A picture as an export names it: its sha256 and its file's suffix, any DecorLens reads (an iPhone's .heic), or none
# (a feed's photo downloaded from a URL without one, "…/p/12345"): a bundle holding either was refused by its import.
IMAGE_NAME = re.compile(rf"images/([0-9a-f]{{64}})(?:\.(?:{'|'.join(sorted(s[1:] for s in IMAGE_SUFFIXES))}))?")
CHUNK = 1 << 20
# What the zip module and its decompressors raise on damaged or crafted archives (found by fuzzing too).
ZIP_ERRORS = (OSError, EOFError, ValueError, NotImplementedError, KeyError, IndexError, struct.error,
              zipfile.BadZipFile, zlib.error, lzma.LZMAError)


@dataclass
class Staged:
    """What was unpacked, under names chosen here: the database, images by archive name, the category map."""

    catalog: Path
    images: dict[str, Path] = field(default_factory=dict)
    categories: Path | None = None
    maps: dict[str, Path] = field(default_factory=dict)  # archive name: staged map file (engine.bundle_map)


class BundleArchive:
    """An opened bundle whose directory and manifest have passed every check that needs no unpacking."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.name = self.path.name
        self.unpacked_bytes = 0
        _check_end_record(self.path)
        try:
            self.zip = zipfile.ZipFile(self.path)
        except ZIP_ERRORS as exc:
            raise CatalogError(f"{self.path}: not a readable catalog bundle ({_reason(exc)})") from exc
        try:
            self.members = self._members()
            self.manifest = self._read_manifest()
        except BaseException:
            self.zip.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    # -- checks before unpacking ----------------------------------------------------------------

    def _members(self) -> dict[str, zipfile.ZipInfo]:
        """File members by name; refuses unsafe names, links, devices, encryption and duplicates."""
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise CatalogError(f"{self.name}: {len(infos)} files in the archive, more than a bundle holds "
                               f"({MAX_MEMBERS}); refusing it")
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            parts = PurePosixPath(name).parts
            if (name.startswith("/") or "\\" in name or ":" in name or "\0" in name or not parts
                    or any(p in ("..", ".") for p in parts) or "//" in name):
                raise CatalogError(f"{self.name}: unsafe path {name!r} in the archive; refusing it")
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind == stat.S_IFLNK:
                raise CatalogError(f"{self.name}: {name!r} is a link in the archive; refusing it")
            if info.is_dir():
                continue
            if kind not in (0, stat.S_IFREG):
                raise CatalogError(f"{self.name}: {name!r} is not a regular file in the archive; refusing it")
            if info.flag_bits & 0x1:
                raise CatalogError(f"{self.name}: {name!r} is encrypted; refusing it")
            if name in members:
                raise CatalogError(f"{self.name}: {name!r} appears twice in the archive; refusing it")
            members[name] = info
        return members

    def _read_manifest(self) -> dict[str, Any]:
        info = self.members.get(MANIFEST)
        if info is None:
            raise CatalogError(f"{self.path}: not a DecorLens catalog bundle (no readable manifest.json)")
        members = len(self.members)
        cap = min(MAX_MANIFEST_BYTES, MANIFEST_BASE_BYTES + MANIFEST_BYTES_PER_MEMBER * members)
        data = _read_capped(self.zip, info, cap, self.name)
        items = data.count(b"{") + data.count(b"[") + data.count(b",")
        if items > MANIFEST_BASE_ITEMS + MANIFEST_ITEMS_PER_MEMBER * members:
            raise CatalogError(f"{self.name}: manifest.json holds {items} JSON values for {members} files, far "
                               "more than a bundle's manifest; refusing it")
        try:
            manifest = json.loads(data)
        except (ValueError, RecursionError) as exc:  # ValueError: bad JSON or UTF-8, an integer of 4,300+ digits
            raise CatalogError(f"{self.path}: not a DecorLens catalog bundle (no readable manifest.json)") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
            raise CatalogError(f"{self.path}: not a DecorLens catalog bundle (format {got!r})")
        _check_manifest_types(manifest, self.name)
        if manifest["format_version"] > FORMAT_VERSION:
            raise CatalogError(
                f"{self.path}: bundle format {manifest['format_version']} is newer than this DecorLens reads "
                f"({FORMAT_VERSION}); update DecorLens"
            )
        if manifest.get("schema_version", 0) > SCHEMA_VERSION:
            raise CatalogError(
                f"{self.path}: catalog schema {manifest['schema_version']} is newer than this DecorLens "
                f"({SCHEMA_VERSION}); update DecorLens"
            )
        return manifest

    def planned(self) -> list[str]:
        """Members to unpack; refuses unlisted or unexpected ones and a total that looks like a bomb."""
        listed = self.manifest.get("files")
        embedded = self.manifest["images"] == "embedded"
        wanted = []
        for name in self.members:
            if name == MANIFEST:
                continue
            if listed is not None and name not in listed:
                raise CatalogError(f"{self.name}: {name!r} is in the archive but not in its manifest; refusing it")
            if name.startswith("index/") and listed is None:
                continue  # bundles written before 2026-12 carried their index; it is rebuilt here instead
            if (name not in (CATALOG, CATEGORIES) and not MAP_NAME.fullmatch(name)
                    and not (embedded and IMAGE_NAME.fullmatch(name))):
                raise CatalogError(f"{self.name}: unexpected file {name!r} in the archive; refusing it")
            wanted.append(name)
        if listed is not None:
            absent = sorted(set(listed) - set(self.members))
            if absent:
                raise CatalogError(f"{self.name}: {absent[0]!r} is in the manifest but not in the archive "
                                   "(incomplete copy?)")
        if CATALOG not in wanted:
            raise CatalogError(f"{self.name}: no {CATALOG} in the archive")
        self._check_total(wanted)
        return wanted

    def _check_total(self, names: list[str]) -> None:
        total = 0
        for name in names:
            info = self.members[name]
            cap = _cap(name)
            if info.file_size > cap:
                raise CatalogError(f"{self.name}: {name!r} would unpack to {info.file_size} bytes, more than "
                                   f"{cap} allowed for it; refusing it")
            total += info.file_size
        allowed = MAX_RATIO * self.path.stat().st_size + RATIO_SLACK
        if total > allowed:
            raise CatalogError(f"{self.name}: would unpack to {total / 1e6:.0f} MB from a "
                               f"{self.path.stat().st_size / 1e6:.1f} MB file (a compression bomb?); refusing it")
        self.unpacked_bytes = total

    # -- unpacking --------------------------------------------------------------------------------

    def unpack(self, stage: Path, progress: Callable[[int, int], None] = lambda _done, _total: None) -> Staged:
        """Write the planned members into ``stage`` under names chosen here, each verified. ``progress`` is told the
        bytes written of all (``unpacked_bytes``) after each chunk: a large bundle unpacks for minutes, and the
        importer stops between two chunks (its ``Cancelled`` ends the unpacking; the caller removes ``stage``)."""
        names = self.planned()
        free = shutil.disk_usage(stage).free
        if self.unpacked_bytes + DISK_MARGIN > free:
            raise CatalogError(f"{self.name} needs {self.unpacked_bytes / 1e6:.0f} MB free in {stage.parent}, "
                               f"which has {free / 1e6:.0f} MB")
        staged = Staged(catalog=stage / "bundle.sqlite")
        (stage / "images").mkdir()
        (stage / "maps").mkdir()
        written = [0]

        def wrote(size: int) -> None:
            written[0] += size
            progress(written[0], self.unpacked_bytes)

        for name in names:
            if name == CATALOG:
                target = staged.catalog
            elif name == CATEGORIES:
                target = staged.categories = stage / "categories.yaml"
            elif MAP_NAME.fullmatch(name):
                target = staged.maps[name] = stage / "maps" / PurePosixPath(name).name  # no separators
            else:
                target = stage / "images" / PurePosixPath(name).name  # matched IMAGE_NAME: no separators
                staged.images[name] = target
            self._unpack_one(name, target, wrote)
        return staged

    def _unpack_one(self, name: str, target: Path, wrote: Callable[[int], None]) -> None:
        info = self.members[name]
        limit = min(info.file_size, _cap(name))
        digest = hashlib.sha256()
        size = 0
        try:
            with self.zip.open(info) as src, open(target, "xb") as dst:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    size += len(chunk)
                    if size > limit:
                        raise CatalogError(f"{self.name}: {name!r} unpacks to more than its declared "
                                           f"{info.file_size} bytes; refusing it")
                    digest.update(chunk)
                    dst.write(chunk)
                    wrote(len(chunk))
        except ZIP_ERRORS as exc:
            raise CatalogError(f"{name} in the bundle is damaged ({_reason(exc)}); copy the bundle again") from exc
        expected = self._expected(name)
        if expected is not None and (digest.hexdigest() != expected.get("sha256") or
                                     expected.get("size", size) != size):
            raise CatalogError(f"{name} in the bundle is damaged (checksum mismatch); copy the bundle again")
        _check_content_name(name, digest.hexdigest(), self.name)

    def _expected(self, name: str) -> dict[str, Any] | None:
        """Size and checksum the manifest gives; None only for the category map of an older bundle (parsed later)."""
        listed = self.manifest.get("files")
        if listed is not None:
            return listed[name]
        if name == CATALOG:
            return {"sha256": self.manifest.get("catalog_sha256")}
        match = IMAGE_NAME.fullmatch(name)
        return {"sha256": match.group(1)} if match else None


def _check_content_name(name: str, digest: str, bundle: str) -> None:
    """An image member is named by the sha256 of its bytes, as an export names it; refused otherwise.

    Pictures are adopted into ``catalog-images`` under that name and never replaced (the name says the bytes
    are the same), so a bundle shipping a rug under a lamp's hash left the rug there: a later, genuine bundle
    with that lamp then showed the rug for it. The manifest's checksum is the sender's word, not the name's."""
    match = IMAGE_NAME.fullmatch(name)
    if match and match.group(1) != digest:
        raise CatalogError(f"{bundle}: {name!r} holds a picture whose sha256 is {digest[:12]}…, not the one its "
                           "name gives; refusing it")


def _check_end_record(path: Path) -> None:
    """Member count and directory size as the zip's end record states them, before the zip module reads on."""
    if not path.exists():
        raise CatalogError(f"{path}: no such file")
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the open, a device never end
            raise CatalogError(f"{path}: not a regular file; a catalog bundle is a .dlcat file")
        with open(path, "rb") as fh:
            end = zipfile._EndRecData(fh)  # the zip module's own reader of that record (zip64 too)
    except ZIP_ERRORS as exc:
        raise CatalogError(f"{path}: not a readable catalog bundle ({_reason(exc)})") from exc
    if not end:
        raise CatalogError(f"{path}: not a readable catalog bundle (not a zip file)")
    count, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
    if count > MAX_MEMBERS or size > MAX_MEMBERS * MAX_CENTRAL_DIR_PER_MEMBER:
        raise CatalogError(f"{path.name}: the archive claims {count} files ({size} bytes of directory), more "
                           f"than a bundle holds ({MAX_MEMBERS}); refusing it")


def _check_manifest_types(manifest: dict[str, Any], name: str) -> None:
    """The fields import and ``bundle info`` use, with the types they need (a manifest is hostile too)."""

    def bad(field: str) -> CatalogError:
        return CatalogError(f"{name}: manifest.json has an invalid {field!r}; not a bundle DecorLens wrote")

    for key in ("format_version", "products"):
        if not _count(manifest.get(key)):
            raise bad(key)
    if not isinstance(manifest.get("schema_version", 0), int):
        raise bad("schema_version")
    if "image_files" in manifest and not _count(manifest["image_files"]):  # `bundle info` counts it: [] was a traceback
        raise bad("image_files")
    for key in ("created", "decorlens"):  # shown by `bundle info` and the app's question before an import
        if not isinstance(manifest.get(key, ""), str):
            raise bad(key)
    for key in ("embedders", "categories"):  # an export lists only what its database holds, each at least once:
        value = manifest.get(key)  # 1,000 categories of 0 products said "2 products in 1,001 categories"
        if not isinstance(value, dict) or not all(isinstance(k, str) and _count(n) and n for k, n in value.items()):
            raise bad(key)
    if manifest.get("images") not in ("embedded", "external"):
        raise bad("images")
    files = manifest.get("files")
    if files is not None and not (isinstance(files, dict) and all(
            isinstance(e, dict) and isinstance(e.get("size"), int) and is_sha256(e.get("sha256"))
            for e in files.values())):
        raise bad("files")
    maps = manifest.get("maps", {})
    if not (isinstance(maps, dict) and all(isinstance(k, str) and isinstance(v, str) and MAP_NAME.fullmatch(v)
                                           for k, v in maps.items())):
        raise bad("maps")


def _count(value: object) -> bool:
    """Whether ``value`` is a count: a JSON integer of 0 or more (``true`` is an int to Python, and counted as 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _cap(name: str) -> int:
    if name == CATALOG:
        return MAX_CATALOG_BYTES
    if name == CATEGORIES:
        return MAX_CATEGORIES_BYTES
    if MAP_NAME.fullmatch(name):
        return MAX_MAP_BYTES
    return MAX_IMAGE_BYTES


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, bundle: str) -> bytes:
    if info.file_size > cap:
        raise CatalogError(f"{bundle}: {info.filename} is {info.file_size} bytes, more than {cap}; refusing it")
    try:
        with zf.open(info) as src:
            data = src.read(cap + 1)
    except ZIP_ERRORS as exc:
        raise CatalogError(f"{bundle}: {info.filename} is damaged ({_reason(exc)})") from exc
    if len(data) > cap:
        raise CatalogError(f"{bundle}: {info.filename} is larger than {cap} bytes; refusing it")
    return data


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
