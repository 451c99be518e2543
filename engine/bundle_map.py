"""The catalog map travels in a catalog bundle, so a shop's app shows the map HQ computed.

A map of a large catalog takes minutes to compute, and an install without the ``[map]`` extra cannot
compute one at all, but any install reads one (``engine.catalog_map``). So export puts each embedder's map in the
bundle when the cached map is current for the snapshot exported (``maps/<embedder>.npz``, listed in the
manifest with its size and checksum like every member), and import adopts the map of the embedder it
imports vectors for.

A bundle is hostile input. The map file is read by ``engine.catalog_map.read_map`` (size cap, exactly
its three arrays, int64 ids without repeats, float32 positions in the unit square, no pickles), every id
must be a product of the bundle, and it must be this embedder's map: anything else refuses the bundle,
as a damaged image does. A map that is well formed but does not place exactly the products that have
vectors after the import (a product re-embedded here) is left behind: this machine computes its own.
The adopted map is keyed for the catalog as imported here (ids and revisions are this machine's).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from engine.bundle_archive import MAP_NAME
from engine.catalog import Catalog
from engine.catalog_map import (
    MAPS,
    CatalogMap,
    MapFileError,
    cache_path,
    load_cached,
    map_key,
    mapped_ids,
    read_map,
)
from engine.catalog_map import save as save_map
from engine.errors import CatalogError

Log = Callable[[str], None]


def export_maps(data_dir: Path, db_path: Path, stage: Path) -> dict[str, Path]:
    """{embedder key: staged map file} for each embedder of the snapshot ``db_path`` whose cached map is
    current for it (a map of another revision would place products the bundle does not hold)."""
    db = sqlite3.connect(db_path)
    try:
        keys = [key for (key,) in db.execute("SELECT DISTINCT embedder FROM vectors ORDER BY embedder")]
        current = {key: load_cached(cache_path(data_dir, key), map_key(db, key)) for key in keys}
    finally:
        db.close()
    staged = {}
    for key, result in current.items():
        if result is not None and MAP_NAME.fullmatch(member_name(cache_path(stage, key))):  # importers read it
            staged[key] = cache_path(stage, key)
            save_map(staged[key], result)
    return staged


def member_name(path: Path) -> str:
    return f"{MAPS}/{path.name}"


def adopt_map(
    staged: Mapping[str, Path], listed: Mapping[str, str], catalog: Catalog, key: str, ids: Mapping[int, int],
    out_dir: Path, log: Log = lambda _msg: None,
) -> Path | None:
    """The bundle's map of ``key``, checked and keyed for ``catalog``, written into ``out_dir``'s maps folder
    (moved into the data dir after the swap: ``install_map``); None when the bundle has none to adopt."""
    member = listed.get(key)
    if member is None:
        return None
    source = staged.get(member)
    if source is None:
        raise CatalogError(f"the bundle's manifest names the map {member!r}, which it does not hold; refusing it")
    try:
        shipped = read_map(source)
    except MapFileError as exc:
        raise CatalogError(f"{member} in the bundle is not a usable catalog map ({exc}); refusing the bundle") from exc
    if shipped.embedder != key:
        raise CatalogError(f"{member} in the bundle is a map of {shipped.embedder!r}, not of {key}; refusing it")
    unknown = [int(i) for i in shipped.ids if int(i) not in ids]
    if unknown:
        raise CatalogError(f"{member} in the bundle places product {unknown[0]}, which the bundle does not hold; "
                           "refusing it")
    local = np.array([ids[int(i)] for i in shipped.ids], np.int64)
    if not np.array_equal(np.sort(local), mapped_ids(catalog.db, key)):
        log(f"the bundle's {key} map does not place exactly the products with vectors here; it is computed anew")
        return None
    target = cache_path(out_dir, key)
    # laid_out kept: the Map tab says a map of a catalog over the cap was a sample laid out, the rest placed
    save_map(target, CatalogMap(key, map_key(catalog.db, key), catalog.revision, local, shipped.xy,
                                laid_out=shipped.laid_out))
    return target


def install_map(adopted: Path, data_dir: Path) -> None:
    """After the catalog swap: the adopted map replaces this embedder's cache (a crash before leaves the old
    one, which no longer matches the new catalog's revisions, so it is simply computed again)."""
    target = data_dir / MAPS / adopted.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(adopted, target)
