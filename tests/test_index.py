"""The HNSW index is a cache of the catalog: stale, missing, corrupt or half-saved, it recovers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.catalog import Catalog, Product
from engine.index import CatalogIndex, HnswIndex

DIM = 8
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
    victim = tmp_path / "index" / KEY / "a.bin"
    victim.write_bytes(victim.read_bytes()[:200])  # truncated, as by a crash or a bad disk
    messages: list[str] = []
    index = _index(tmp_path, messages.append)
    hits = index.search(catalog, _query(catalog, "sku1"), ["a"], 1)[0]
    assert hits[0][0] == catalog.get_by_sku("sku1").id
    assert any("rebuilding" in m and "a.bin" in m for m in messages)


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
        (path.with_name(path.name + ".tmp")).write_bytes(b"half written")
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
