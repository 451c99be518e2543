"""The HNSW index is a cache of the catalog: stale, missing, corrupt or half-saved, it recovers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.catalog import Catalog, Product
from engine.index import CatalogIndex, HnswIndex

DIM = 8
ROOT = Path(__file__).resolve().parent.parent
KEY = "test-embedder"


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """40 products in 2 categories with random unit vectors (the index doesn't care where they came from)."""
    cat = Catalog(tmp_path / "catalog.sqlite")
    rng = np.random.default_rng(0)
    vectors = _unit(rng, 40)
    with cat.transaction() as rev:
        for i, v in enumerate(vectors):
            pid, _ = cat.upsert(Product(f"sku{i}", f"p{i}", "a" if i % 2 else "b", f"/x/{i}.jpg", f"h{i}"), rev)
            cat.put_vectors(KEY, [(pid, f"h{i}", v)], rev)
    return cat


def _index(tmp_path: Path, log=None) -> CatalogIndex:
    return CatalogIndex(tmp_path / "index", KEY, DIM, log or (lambda m: None))


def _query(catalog: Catalog, sku: str) -> np.ndarray:
    p = catalog.get_by_sku(sku)
    blob = catalog.db.execute("SELECT vector FROM vectors WHERE product_id = ?", (p.id,)).fetchone()[0]
    return np.frombuffer(blob, np.float32)[None]


def test_each_vector_finds_itself_within_its_category(tmp_path: Path, catalog: Catalog):
    index = _index(tmp_path)
    for product in catalog.products():
        hits = index.search(catalog, _query(catalog, product.sku), [product.category], 3)[0]
        assert hits[0][0] == product.id and hits[0][1] == pytest.approx(1.0, abs=1e-5)
        assert all(catalog.get(pid).category == product.category for pid, _ in hits)


def test_k_larger_than_category_returns_what_exists(tmp_path: Path, catalog: Catalog):
    hits = _index(tmp_path).search(catalog, _query(catalog, "sku1"), ["a"], 100)[0]
    assert len(hits) == 20


def test_incremental_sync_adds_moves_and_removes(tmp_path: Path, catalog: Catalog):
    index = _index(tmp_path)
    index.search(catalog, _query(catalog, "sku1"), None, 1)
    moved = catalog.get_by_sku("sku1")
    with catalog.transaction() as rev:  # move sku1 from a to b, with a new image
        moved.category, moved.image_hash = "b", "h1-new"
        catalog.upsert(moved, rev)
        catalog.put_vectors(KEY, [(moved.id, "h1-new", _unit(np.random.default_rng(9), 1)[0])], rev)
    catalog.remove(["sku2"])
    q = _query(catalog, "sku1")
    in_a = [pid for pid, _ in index.search(catalog, q, ["a"], 40)[0]]
    in_b = [pid for pid, _ in index.search(catalog, q, ["b"], 40)[0]]
    everywhere = [pid for pid, _ in index.search(catalog, q, None, 40)[0]]
    assert moved.id not in in_a and in_b[0] == moved.id and everywhere[0] == moved.id
    assert catalog.get_by_sku("sku2") is None and len(everywhere) == 39
    assert index.revision == catalog.revision


def test_corrupt_index_file_is_rebuilt_with_a_message(tmp_path: Path, catalog: Catalog):
    _index(tmp_path).sync(catalog)
    victim = tmp_path / "index" / KEY / _manifest(tmp_path)["files"]["a"]["file"]
    victim.write_bytes(victim.read_bytes()[:200])  # truncated, as by a crash or a bad disk
    messages: list[str] = []
    index = _index(tmp_path, messages.append)
    hits = index.search(catalog, _query(catalog, "sku1"), ["a"], 1)[0]
    assert hits[0][0] == catalog.get_by_sku("sku1").id
    assert any("rebuilding" in m and victim.name in m for m in messages)


def test_missing_or_garbled_manifest_rebuilds(tmp_path: Path, catalog: Catalog):
    _index(tmp_path).sync(catalog)
    (tmp_path / "index" / KEY / "manifest.json").write_text("{not json")
    messages: list[str] = []
    index = _index(tmp_path, messages.append)
    assert index.search(catalog, _query(catalog, "sku4"), ["b"], 1)[0][0][0] == catalog.get_by_sku("sku4").id
    assert messages and "unreadable" in messages[0]


def test_kill_during_index_save_loses_nothing(tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch):
    """A crash while saving leaves the old files and manifest; the next open catches up from SQLite."""
    _index(tmp_path).sync(catalog)
    manifest_before = (tmp_path / "index" / KEY / "manifest.json").read_text()
    catalog.remove(["sku5"])

    def crash(self: HnswIndex, path: Path) -> None:
        path.write_bytes(b"half written")  # as if killed after the file, before the manifest
        raise KeyboardInterrupt

    monkeypatch.setattr(HnswIndex, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        _index(tmp_path).sync(catalog)
    monkeypatch.undo()
    assert (tmp_path / "index" / KEY / "manifest.json").read_text() == manifest_before
    index = _index(tmp_path)
    ids = [pid for pid, _ in index.search(catalog, _query(catalog, "sku7"), None, 40)[0]]
    assert len(ids) == 39 and index.revision == catalog.revision
    assert json.loads((tmp_path / "index" / KEY / "manifest.json").read_text())["revision"] == catalog.revision


def _manifest(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "index" / KEY / "manifest.json").read_text())


@pytest.mark.parametrize("garbage", [b"\xff\xfe\x00 not utf-8 \xc3\x28", b"[1, 2]", b'{"layout": 2, "files": 3}'])
def test_undecodable_or_foreign_manifest_rebuilds_with_a_note(tmp_path: Path, catalog: Catalog, garbage: bytes):
    """A manifest is a cache: bytes that are not ours mean "rebuild from SQLite", never a broken search."""
    _index(tmp_path).sync(catalog)
    (tmp_path / "index" / KEY / "manifest.json").write_bytes(garbage)
    messages: list[str] = []
    index = _index(tmp_path, messages.append)
    assert index.search(catalog, _query(catalog, "sku3"), ["a"], 1)[0][0][0] == catalog.get_by_sku("sku3").id
    assert messages and "manifest" in messages[0] and "rebuilt" in messages[0]
    assert _manifest(tmp_path)["revision"] == catalog.revision  # and it is healthy again on disk


def test_manifest_pointing_outside_its_folder_is_not_followed(tmp_path: Path, catalog: Catalog):
    _index(tmp_path).sync(catalog)
    manifest = _manifest(tmp_path)
    manifest["files"]["a"]["file"] = "../../catalog.sqlite"
    (tmp_path / "index" / KEY / "manifest.json").write_text(json.dumps(manifest))
    messages: list[str] = []
    hits = _index(tmp_path, messages.append).search(catalog, _query(catalog, "sku1"), ["a"], 1)[0]
    assert hits[0][0] == catalog.get_by_sku("sku1").id
    assert any("not ours" in m for m in messages)


def test_category_named_all_keeps_its_own_index(tmp_path: Path):
    """``_all`` (and names that only differ in punctuation) once overwrote the all-categories file."""
    cat = Catalog(tmp_path / "catalog.sqlite")
    rng = np.random.default_rng(1)
    names = ["_all", "a b", "a_b", "*", "all"]
    with cat.transaction() as rev:
        for i, (name, v) in enumerate(zip(names * 4, _unit(rng, 20))):
            pid, _ = cat.upsert(Product(f"sku{i}", "p", name, f"/x/{i}.jpg", f"h{i}"), rev)
            cat.put_vectors(KEY, [(pid, f"h{i}", v)], rev)
    _index(tmp_path).sync(cat)
    files = [entry["file"] for entry in _manifest(tmp_path)["files"].values()]
    assert len(set(files)) == len(names) + 1
    index = _index(tmp_path)  # reopened from disk
    for name in names:
        assert sorted(pid for pid, _ in index.search(cat, _query(cat, "sku0"), [name], 20)[0]) == sorted(
            p.id for p in cat.products(name)
        )
    assert len(index.search(cat, _query(cat, "sku0"), None, 50)[0]) == 20


def test_old_layout_is_rebuilt_and_its_files_removed(tmp_path: Path, catalog: Catalog):
    """Data dirs of an older DecorLens (files named after categories) keep working."""
    folder = tmp_path / "index" / KEY
    folder.mkdir(parents=True)
    (folder / "_all.bin").write_bytes(b"old")
    (folder / "a.bin").write_bytes(b"old")
    (folder / "manifest.json").write_text(json.dumps(
        {"revision": catalog.revision, "dim": DIM, "files": {"a": {"file": "a.bin", "size": 3, "sha256": "x"}}}
    ))
    messages: list[str] = []
    index = _index(tmp_path, messages.append)
    assert index.search(catalog, _query(catalog, "sku1"), ["a"], 1)[0][0][0] == catalog.get_by_sku("sku1").id
    assert any("older DecorLens" in m for m in messages)
    assert not (folder / "_all.bin").exists() and not (folder / "a.bin").exists()


def test_saves_leave_only_listed_files_and_stale_temps_are_cleaned(tmp_path: Path, catalog: Catalog):
    index = _index(tmp_path)
    index.sync(catalog)
    catalog.remove(["sku3"])
    index.sync(catalog)  # incremental: new files for a and the global index, old ones deleted
    folder = tmp_path / "index" / KEY
    listed = {entry["file"] for entry in _manifest(tmp_path)["files"].values()}
    assert {p.name for p in folder.glob("*.bin")} == listed
    stale, fresh = folder / ".tmp-index-killed", folder / ".tmp-index-in-progress"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    _index(tmp_path)
    assert not stale.exists() and fresh.exists()  # a young one may belong to a save in progress


def test_concurrent_rebuilds_in_two_processes_both_succeed(tmp_path: Path, catalog: Catalog):
    """Two `catalog rebuild-index` at once once crashed on a shared temp name."""
    script = (
        "import sys; from pathlib import Path; from engine.catalog import Catalog; "
        "from engine.index import CatalogIndex\n"
        "c = Catalog(Path(sys.argv[1]))\n"
        f"for _ in range(15): CatalogIndex(Path(sys.argv[2]), {KEY!r}, {DIM}).rebuild(c)\n"
    )
    args = [sys.executable, "-c", script, str(catalog.path), str(tmp_path / "index")]
    procs = [subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    messages: list[str] = []
    index = _index(tmp_path, messages.append)
    assert index.search(catalog, _query(catalog, "sku1"), ["a"], 1)[0][0][0] == catalog.get_by_sku("sku1").id
    assert not messages  # the last manifest written lists complete files
