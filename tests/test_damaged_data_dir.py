"""The data dir DecorLens wrote itself, damaged: by a full disk, a crash of another tool, a sync client that cut or
half-copied it, or a user editing its files. Each command must end in its result or in one line saying what is
wrong and what to do, never in a traceback or a hang; the index (a cache) is rebuilt with a note; nothing is read or
deleted outside the data dir, and no damaged catalog is deleted: ``catalog restore`` sets it aside.

A seeded run of 560 CLI commands over 170 damaged copies of a 60-product catalog (docs/reliability.md, "The data
dir, damaged") found what these tests hold; the seeded byte damage below is a net for what comes next.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ikea_feed import write_feed

from decorlens.errors import MAX_LINE
from decorlens.main import main
from engine.catalog import Catalog
from engine.index import CatalogIndex

PAGE = 4096
BYTE_DAMAGE = 16  # seeded damaged copies of the catalog file, through `catalog stats` (about 2 s)
OURS = ("decorlens: error: ", "decorlens: ", "warning: ")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, shared_models: Path) -> dict:
    """A real data dir: 12 IKEA products (two of them in a scene, tagged, so the scene memory holds it), one
    backup (a removal, then the product imported again), and a second data dir of 10 other products."""
    work = tmp_path_factory.mktemp("damaged")
    with open(ikea / "pairs.csv", newline="") as fh:
        pairs = list(csv.DictReader(fh))
    with open(ikea / "products.csv", newline="") as fh:
        products = list(csv.DictReader(fh))
    scene = pairs[0]["scene_id"]
    shown = {p["product_id"] for p in pairs if p["scene_id"] == scene}
    ours = [r for r in products if r["product_id"] in shown][:4]
    ours += [r for r in products if r not in ours][::97][:12 - len(ours)]
    feed = write_feed(ikea, ours, work / "feed.csv")
    data = work / "data"
    assert _run(data, shared_models, "catalog", "import", str(feed))[0] == 0
    assert _run(data, shared_models, "tag", "--out", str(work / "out"), str(ikea / "scenes" / f"{scene}.jpg"))[0] == 0
    assert _run(data, shared_models, "catalog", "remove", ours[-1]["product_id"])[0] == 0
    assert _run(data, shared_models, "catalog", "import", str(feed))[0] == 0
    others = [r for r in products if r not in ours and r["product_id"] not in shown][5::89][:10]
    other = work / "other"
    assert _run(other, shared_models, "catalog", "import", str(write_feed(ikea, others, work / "other.csv")))[0] == 0
    for folder in (data, other):  # the whole catalog in its file: damage to the file must not hide behind a WAL
        with contextlib.closing(sqlite3.connect(folder / "catalog.sqlite")) as db:
            assert db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
        (folder / "catalog.sqlite-wal").unlink(missing_ok=True)
    return {"data": data, "other": other, "skus": sorted(r["product_id"] for r in ours),
            "sighted": sorted(shown & {r["product_id"] for r in ours}), "scene": ikea / "scenes" / f"{scene}.jpg"}


def _run(data: Path, models: Path, *args: str) -> tuple[int, str, str]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["--data-dir", str(data), "--models-dir", str(models), *args])
    return code, err.getvalue(), out.getvalue()


def _copy(shop: dict, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(shop["data"], data)
    return data


def _one_line(code: int, err: str, *words: str) -> str:
    """The error line of a refused command, checked: one of ours, short, no bug's, holding ``words``."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert all(line.startswith(OURS) and len(line) <= MAX_LINE for line in lines), err
    assert "unexpected" not in err and "Traceback" not in err, err
    assert all(word in lines[-1] for word in words), lines[-1]
    return lines[-1]


def _skus(data: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(data / "catalog.sqlite")) as db:
        return sorted(r[0] for r in db.execute("SELECT sku FROM products"))


def _sql(path: Path, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for statement in statements:
            db.execute(statement)


def _zero_first_page(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.write(bytes(PAGE))


DAMAGED_CATALOGS = {  # found by the fuzz: each ended in a bare SQLite line, a bug's error, or could not be restored
    "header changed": lambda p: p.write_bytes(b"SQLite format 2\0" + p.read_bytes()[16:]),
    "first page zeroed": _zero_first_page,
    "cut in half": lambda p: p.write_bytes(p.read_bytes()[:p.stat().st_size // 2]),
    "a folder in its place": lambda p: (p.unlink(), p.mkdir()),
    "vectors table dropped": lambda p: _sql(p, "DROP TABLE vectors"),
    "schema version not a number": lambda p: _sql(p, "UPDATE schema_version SET version = 'abc'"),
    "revision gone": lambda p: _sql(p, "DELETE FROM meta WHERE key = 'revision'"),
    "a category not UTF-8": lambda p: _sql(p, "UPDATE products SET category = CAST(X'6CFF6D70' AS TEXT) "
                                              "WHERE id = (SELECT MIN(id) FROM products)"),
    "extra fields not JSON": lambda p: _sql(p, "UPDATE products SET extra = '{not json'"),
}


@pytest.mark.parametrize("damage", list(DAMAGED_CATALOGS))
def test_a_damaged_catalog_is_named_in_one_line_and_restore_sets_it_aside(shop, shared_models: Path, tmp_path: Path,
                                                                         damage: str):
    """Before: "not a readable DecorLens catalog: database disk image is malformed" with no advice, or an
    "unexpected TypeError"; and `catalog restore`, which the line called for, opened the catalog first and ended
    in the same line. Now the line says the catalog is damaged and how to restore, and the restore sets the
    damaged file aside and puts the backup in its place."""
    data = _copy(shop, tmp_path)
    DAMAGED_CATALOGS[damage](data / "catalog.sqlite")
    failed = [_run(data, shared_models, *command)
              for command in (["catalog", "stats"], ["catalog", "list"], ["search", str(shop["scene"])])]
    assert any(code == 2 for code, _, _ in failed), failed
    for code, err, _ in failed:
        if code:
            _one_line(code, err, "is damaged", "restore a backup: `decorlens catalog restore` lists its 1")
    code, err, listing = _run(data, shared_models, "catalog", "restore")
    assert code == 0 and _backup(data) in listing, err
    code, err, out = _run(data, shared_models, "catalog", "restore", _backup(data))
    assert code == 0, err
    assert "restored 12 products" in out or "restored 11 products" in out, out
    kept = list(data.glob("catalog-damaged-*.sqlite"))
    assert len(kept) <= 1 and (kept or "the catalog had" in out), out  # set aside, or restored into
    assert _run(data, shared_models, "catalog", "stats")[0] == 0


def test_a_restored_catalog_is_searched_through_a_rebuilt_index(shop, shared_models: Path, tmp_path: Path):
    """The file put in place of a damaged catalog gets a name of its own, so its index, made for the damaged file,
    is rebuilt with a note before the first search."""
    data = _copy(shop, tmp_path)
    _zero_first_page(data / "catalog.sqlite")
    assert _run(data, shared_models, "catalog", "restore", _backup(data))[0] == 0
    code, err, out = _run(data, shared_models, "search", str(shop["scene"]))
    assert code == 0, err
    assert "the index is of another catalog file" in err
    assert set(_matched(out)) <= set(shop["skus"]) and set(_matched(out)) & set(shop["sighted"])


def _backup(data: Path) -> str:
    """The name of the data dir's one backup."""
    (backup,) = (data / "backups").glob("catalog-*.sqlite")
    return backup.name


def _matched(out: str) -> list[str]:
    """The SKUs of a `decorlens search`'s match lines ("     0.514 similar 003.015.26     NAME [category]")."""
    return [line.split()[2] for line in out.splitlines() if line.startswith("     ") and len(line.split()) > 2]


def test_another_catalog_copied_in_at_the_index_revision_is_not_searched_through_the_old_index(shop, tmp_path: Path):
    """A catalog.sqlite of another data dir (another shop's, or this shop's from another machine, copied by hand
    or by a sync client) at the revision the index had reached was searched through the old index: each hit
    was another product's id, and a chair matched a rug. Each stored vector must now find its own product."""
    data = _copy(shop, tmp_path)
    key_dir = next((data / "index").iterdir())
    manifest = json.loads((key_dir / "manifest.json").read_text())
    shutil.copy(shop["other"] / "catalog.sqlite", data / "catalog.sqlite")
    _sql(data / "catalog.sqlite", f"UPDATE meta SET value = '{manifest['revision']}' WHERE key = 'revision'")
    notes: list[str] = []
    with Catalog(data / "catalog.sqlite") as catalog:
        index = CatalogIndex(data / "index", key_dir.name, manifest["dim"], notes.append)
        stored = list(catalog.vectors(key_dir.name))
        hits = index.search(catalog, np.stack([v for _, _, v in stored]), None, 1)
        assert [h[0][0] for h in hits] == [pid for pid, _, _ in stored]
    assert any("another catalog file" in note for note in notes), notes


def _outside(tmp_path: Path) -> dict[Path, bytes]:
    """Files a hostile manifest names outside the index folder, and what they hold."""
    outside = tmp_path / "outside"
    outside.mkdir()
    files = {outside / name: f"not DecorLens's {name}\n".encode() for name in ("victim.bin", "victim.npz", "victim.f32")}
    for path, content in files.items():
        path.write_bytes(content)
    return files


MANIFESTS = {  # each field of the global index's entry: a path out of the folder, a wrong type
    "file out of the folder": lambda e, out: e.update(file="../../../outside/victim.bin"),
    "file absolute": lambda e, out: e.update(file=str(out / "victim.bin")),
    "parts out of the folder": lambda e, out: e.update(kind="compact", version=2, parts={
        ".npz": {"file": "../../../outside/victim.npz", "size": 1, "sha256": "x"},
        ".f32": {"file": str(out / "victim.f32"), "size": 1, "sha256": "x"}}),
    "parts a list": lambda e, out: e.update(parts=[1, 2]),  # "unexpected AttributeError" before
    "deleted not numbers": lambda e, out: e.update(deleted=["1", "x"]),
    "sha256 wrong": lambda e, out: e.update(sha256="0" * 64),
}


@pytest.mark.parametrize("field", list(MANIFESTS))
def test_a_mutated_index_manifest_is_rebuilt_and_never_reaches_outside_its_folder(shop, tmp_path: Path, field: str):
    data = _copy(shop, tmp_path)
    files = _outside(tmp_path)
    key_dir = next((data / "index").iterdir())
    manifest = json.loads((key_dir / "manifest.json").read_text())
    MANIFESTS[field](manifest["files"][""], tmp_path / "outside")
    (key_dir / "manifest.json").write_text(json.dumps(manifest))
    notes: list[str] = []
    with Catalog(data / "catalog.sqlite") as catalog:
        index = CatalogIndex(data / "index", key_dir.name, manifest["dim"], notes.append)
        pid, _, vector = next(catalog.vectors(key_dir.name))
        assert index.search(catalog, vector[None], None, 1)[0][0][0] == pid
    assert notes and all("rebuild" in note or "will be rebuilt" in note for note in notes), notes
    assert {path: path.read_bytes() for path in files} == files
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == sorted(p.name for p in files)


def test_a_fifo_in_place_of_the_index_manifest_is_named_not_waited_on(shop, shared_models: Path, tmp_path: Path):
    """A FIFO named manifest.json (a user's mkfifo, a sync tool's special file) blocked every search for ever;
    now one line says what it is and what to do. Run as a child: on the old code it never ends."""
    data = _copy(shop, tmp_path)
    manifest = next((data / "index").iterdir()) / "manifest.json"
    manifest.unlink()
    os.mkfifo(manifest)
    env = {**os.environ, "DECORLENS_DATA_DIR": str(data), "DECORLENS_MODELS_DIR": str(shared_models)}
    try:
        done = subprocess.run([sys.executable, "-m", "decorlens", "-q", "search", str(shop["scene"])], env=env,
                              capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the search waited on the FIFO")
    _one_line(done.returncode, done.stderr, "manifest.json: a FIFO", "delete it, and the index is rebuilt")


def test_damaged_backups_are_refused_or_left_out_and_removals_still_back_up(shop, shared_models: Path,
                                                                            tmp_path: Path):
    """A file named like a backup whose time is no time ("unexpected ValueError" in the listing, and in every
    removal, which backs up first); a backup whose vectors differ in size (restored, it broke every later index
    build in hnswlib's "Wrong dimensionality of the vectors")."""
    data = _copy(shop, tmp_path)
    folder = data / "backups"
    backup = next(folder.glob("catalog-*.sqlite"))
    (folder / "catalog-20261399T999999999999Z-remove.sqlite").write_bytes(b"named by hand")
    _sql(backup, "UPDATE vectors SET vector = substr(vector, 1, 100) WHERE rowid = (SELECT MIN(rowid) FROM vectors)")
    code, err, out = _run(data, shared_models, "catalog", "restore")
    assert code == 0 and backup.name in out and "20261399" not in out, err
    _one_line(*_run(data, shared_models, "catalog", "restore", backup.name)[:2], "is damaged", "differ in size")
    assert _skus(data) == shop["skus"]
    code, err, out = _run(data, shared_models, "catalog", "remove", shop["skus"][0])
    assert code == 0 and "removed 1 of 1" in out, err


SCENE_MEMORY = {  # rows of the memory of tagged photos as another tool leaves them, and the line each gives
    "a photo's row deleted without its objects": ("DELETE FROM scenes", None),  # "unexpected KeyError" before
    "the version not a number": ("UPDATE meta SET value = 'abc' WHERE key = 'scene_memory'", "its version 'abc'"),
    "a table dropped": ("DROP TABLE scene_matches", "its table scene_matches is missing"),  # "no such table" before
    "a vector as text": (
        "UPDATE scene_vectors SET vector = 'abc' WHERE object_id = (SELECT MAX(object_id) FROM scene_vectors)",
        "vectors of"),
    "a box as text": ("UPDATE scene_objects SET x1 = 'abc'", "an object of"),
    "a photo's path as a blob": ("UPDATE scenes SET path = X'FF2F746D70'", None),  # its bytes name a file: gone
}


@pytest.mark.parametrize("damage", list(SCENE_MEMORY))
def test_a_damaged_scene_memory_is_one_line_or_left_out(shop, shared_models: Path, tmp_path: Path, damage: str):
    data = _copy(shop, tmp_path)
    with contextlib.closing(sqlite3.connect(data / "catalog.sqlite")) as db:  # a product some object was matched to
        sku, photo = db.execute("SELECT o.best_sku, p.image_path FROM scene_objects o JOIN products p ON p.sku = "
                                "o.best_sku GROUP BY o.best_sku ORDER BY COUNT(*) DESC, o.best_sku").fetchone()
    statement, words = SCENE_MEMORY[damage]
    _sql(data / "catalog.sqlite", statement)
    for command in (["search", "--scenes", photo], ["where", sku]):
        code, err, _ = _run(data, shared_models, *command)
        if words is None:
            assert code == 0, err
        elif code:
            _one_line(code, err, "the memory of tagged photos is damaged", words, "tag the photos again")
    # the line's advice mends it: a version not a number or a table dropped failed each new tag the same way
    code, err, _ = _run(data, shared_models, "tag", "--out", str(tmp_path / "tagged"), str(shop["scene"]))
    assert code == 0 and "not remembered" not in err, err
    code, err, out = _run(data, shared_models, "where", sku)
    assert code == 0 and "of 1 tagged photo" in out, err


def test_a_missing_catalog_with_backups_says_so(shop, shared_models: Path, tmp_path: Path):
    """A sync client that left catalog.sqlite out: a new, empty catalog is made in its place, and the search
    said only "import products first" with 1 backup of the 12 products beside it."""
    data = _copy(shop, tmp_path)
    (data / "catalog.sqlite").unlink()
    _one_line(*_run(data, shared_models, "search", str(shop["scene"]))[:2], "is empty, and its backups are not",
              "`decorlens catalog restore` lists the 1")


def _byte_damage(data: bytes, rng: random.Random) -> bytes:
    """``data`` with bytes flipped, a page zeroed, or the end cut off: what a disk or a sync client leaves."""
    edited = bytearray(data)
    edit = rng.random()
    if edit < 0.5:
        for _ in range(rng.choice([1, 8, 64, 512])):
            edited[rng.randrange(len(edited))] ^= rng.randrange(1, 256)
    elif edit < 0.8:
        page = rng.randrange(len(edited) // PAGE)
        edited[page * PAGE:(page + 1) * PAGE] = bytes(PAGE)
    else:
        del edited[rng.randrange(len(edited)):]
    return bytes(edited)


@pytest.mark.parametrize("seed", (1, 2))
def test_seeded_byte_damage_of_the_catalog_ends_in_its_result_or_one_line(shop, shared_models: Path, tmp_path: Path,
                                                                         seed: int):
    rng, problems = random.Random(seed), []
    original = (shop["data"] / "catalog.sqlite").read_bytes()
    for n in range(BYTE_DAMAGE):
        data = tmp_path / f"data{n}"
        shutil.copytree(shop["data"], data)
        (data / "catalog.sqlite").write_bytes(_byte_damage(original, rng))
        for command in (["catalog", "stats"], ["catalog", "list", "--limit", "3"]):
            code, err, _ = _run(data, shared_models, *command)
            lines = [line for line in err.splitlines() if line.strip()]
            if code not in (0, 2) or "unexpected" in err or "Traceback" in err or len(lines) > 1:
                problems.append(f"seed {seed} #{n} {' '.join(command)}: exit {code}: {err.strip()}")
        shutil.rmtree(data)
    assert not problems, "\n".join(problems)
