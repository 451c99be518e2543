"""Feeds and bundles with random bytes flipped, cut or inserted, through the CLI as a user runs it.

The hostile corpus (test_hostile_inputs, test_bundle) holds the attacks someone thought of; this holds
what no one did. Each mutation is seeded, so a failure names an input that can be made again. Every run
must end in its result or in one line per note and error, never in a traceback or an "unexpected" error;
and a refused bundle must leave the catalog it was to replace as it was. A longer run of the same mutations
(500 of each) found a feed's quoted image path holding a newline, which printed a note worded by the feed on a
line of its own (test_terminal now tests that); these seeds are a net for what comes next.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import random
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from decorlens.errors import MAX_LINE
from decorlens.main import main

MUTATIONS = 40  # per seed and input: about 8 s in all
SEEDS = (1,)  # one in CI (its 2 cores give the suite 20 min); more seeds explore further
OURS = ("decorlens: error: ", "decorlens: ", "made the data folder ", "skipped ", "… and ", "warning: ", "imported ",
        "embedded ")
REPACKED = 12  # bundles rebuilt with one hostile field: about 2 s each, imported and then used
HOSTILE = [None, -1, 2**62, float("inf"), "", "x" * 3000, "../../../etc/passwd", "file:///etc/passwd",
           "javascript:alert(1)", "\x1b[2J\r\u202e", "a\nb", "<script>alert(1)</script>", "[]"]
MANIFEST = ["format_version", "schema_version", "revision", "products", "categories", "embedders", "images", "files"]
CELLS = {"products": ["sku", "name", "category", "image_path", "image_hash", "url", "price", "extra"],
         "vectors": ["embedder", "image_hash", "vector"]}


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory, ikea: Path, shared_models: Path) -> dict[str, Path]:
    """A catalog of six IKEA products, its bundle and a feed of the same products, each a file to mutate."""
    work = tmp_path_factory.mktemp("mutated")
    products = work / "products"
    for category in ("lamp", "rug"):
        (products / category).mkdir(parents=True)
        for photo in sorted((ikea / "products" / category).glob("*.jpg"))[:3]:
            shutil.copy(photo, products / category)
    data = work / "data"
    assert _run(data, shared_models, "catalog", "import", str(products))[0] == 0
    assert _run(data, shared_models, "bundle", "export", str(work / "shop.dlcat"))[0] == 0
    with open(work / "feed.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "category", "image", "name", "price", "url"])
        for n, photo in enumerate(sorted(products.rglob("*.jpg"))):
            writer.writerow([f"S{n}", photo.parent.name, str(photo), f"Name {n}", "9.99", f"https://example.com/{n}"])
    return {"data": data, "bundle": work / "shop.dlcat", "feed": work / "feed.csv"}


def _run(data: Path, models: Path, *args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["--data-dir", str(data), "--models-dir", str(models), *args])
    return code, err.getvalue()


def _mutated(data: bytes, rng: random.Random) -> bytes:
    """``data`` with one to 16 random edits: a byte changed, a run cut or inserted, or the end cut off."""
    edited = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 4, 16])):
        if not edited:
            break
        at, edit = rng.randrange(len(edited)), rng.random()
        if edit < 0.5:
            edited[at] = rng.randrange(256)
        elif edit < 0.7:
            del edited[at:at + rng.randrange(1, 64)]
        elif edit < 0.9:
            edited[at:at] = rng.randbytes(rng.randrange(1, 16))
        else:
            del edited[at:]
    return bytes(edited)


def _skus(data: Path) -> list[str]:
    with sqlite3.connect(data / "catalog.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return sorted(r[0] for r in db.execute("SELECT sku FROM products"))


def _problems(code: int, err: str) -> list[str]:
    """What a user should never see: a traceback, a bug's exit, a line that is not one of ours or too long."""
    lines = [line for line in err.splitlines() if line.strip()]
    found = [f"exit {code}"] if code not in (0, 1, 2) else []
    found += [f"not ours: {line!r}" for line in lines if not line.startswith(OURS)]
    found += [f"{len(line)} characters: {line!r}" for line in lines if len(line) > MAX_LINE]
    return found + ["a bug's error"] * ("error: unexpected " in err or "Traceback" in err)  # errors.explain


@pytest.mark.parametrize("seed", SEEDS)
def test_a_mutated_bundle_is_imported_or_refused_in_one_line_and_the_catalog_kept(originals, shared_models: Path,
                                                                                 tmp_path: Path, seed: int):
    rng, problems = random.Random(seed), []
    before = _skus(originals["data"])
    for n in range(MUTATIONS):
        bundle = tmp_path / f"m{n}.dlcat"
        bundle.write_bytes(_mutated(originals["bundle"].read_bytes(), rng))
        data = tmp_path / f"data{n}"
        shutil.copytree(originals["data"], data)
        for command in (["bundle", "info"], ["bundle", "import"]):
            code, err = _run(data, shared_models, "-q", *command, str(bundle))
            problems += [f"seed {seed} #{n} {' '.join(command)}: {p}" for p in _problems(code, err)]
        if code != 0 and _skus(data) != before:
            problems.append(f"seed {seed} #{n}: a refused import changed the catalog")
        shutil.rmtree(data)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_mutated_feed_imports_its_good_rows_and_notes_the_rest_in_a_line_each(originals, shared_models: Path,
                                                                                tmp_path: Path, seed: int):
    rng, problems = random.Random(seed), []
    for n in range(MUTATIONS):
        feed = tmp_path / f"m{n}.csv"
        feed.write_bytes(_mutated(originals["feed"].read_bytes(), rng))
        code, err = _run(tmp_path / f"data{n}", shared_models, "catalog", "import", str(feed))
        problems += [f"seed {seed} #{n}: {p}" for p in _problems(code, err)]
        shutil.rmtree(tmp_path / f"data{n}", ignore_errors=True)
    assert not problems, "\n".join(problems)


def _repacked(bundle: Path, out: Path, rng: random.Random) -> Path:
    """``bundle`` with one manifest field or one cell of its catalog made hostile, and its sizes and hashes made
    right again, as an attacker would: no checksum stops it, only what the import checks."""
    with zipfile.ZipFile(bundle) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    if rng.random() < 0.4:
        manifest[rng.choice(MANIFEST)] = rng.choice(HOSTILE)
    else:
        database = out.with_suffix(".sqlite")
        database.write_bytes(files["catalog.sqlite"])
        table = rng.choice(list(CELLS))
        with contextlib.closing(sqlite3.connect(database)) as db, db:
            row = rng.choice([r[0] for r in db.execute(f"SELECT rowid FROM {table}")])
            with contextlib.suppress(sqlite3.IntegrityError):  # a NOT NULL column: the bundle stays as it was
                db.execute(f"UPDATE {table} SET {rng.choice(CELLS[table])} = ? WHERE rowid = ?", (rng.choice(HOSTILE), row))
        files["catalog.sqlite"] = database.read_bytes()
        digest = hashlib.sha256(files["catalog.sqlite"]).hexdigest()
        manifest["catalog_sha256"] = digest
        manifest["files"]["catalog.sqlite"] = {"size": len(files["catalog.sqlite"]), "sha256": digest}
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out


def test_a_repacked_hostile_bundle_is_refused_in_one_line_or_imported_and_used_safely(originals, shared_models: Path,
                                                                                      scene_path, tmp_path: Path):
    """A bundle rebuilt with one hostile manifest field or catalog cell (a path out of the data dir, a
    `javascript:` link, escapes, NaN, a list, NULL) must be refused in one line, or imported and then listed,
    searched, exported and used to tag a photo with its page, with no bug's error, no line on stderr not of ours
    and no link or path of the bundle's on the page. 350 such bundles (two seeds, raw escapes on stdout checked
    too) found nothing before this test: it is a net."""
    rng, problems, scene, imported = random.Random(3), [], str(scene_path("bed-that-folds")), 0
    for n in range(REPACKED):
        bundle, data = _repacked(originals["bundle"], tmp_path / f"b{n}.dlcat", rng), tmp_path / f"data{n}"
        runs = [("bundle import", *_run(data, shared_models, "-q", "bundle", "import", str(bundle)))]
        imported += runs[0][1] == 0
        if runs[0][1] == 0:
            for command in (["catalog", "list"], ["search", scene], ["bundle", "export", str(tmp_path / f"e{n}.dlcat")],
                            ["tag", scene, "--out", str(tmp_path / f"out{n}"), "--html"]):
                runs.append((command[0], *_run(data, shared_models, "-q", *command)))
        for command, code, err in runs:
            problems += [f"#{n} {command}: {p}" for p in _problems(code, err)]
        pages = " ".join(page.read_text() for page in (tmp_path / f"out{n}").glob("*.html"))
        problems += [f"#{n} page holds {word}" for word in ("/etc/passwd", "javascript:", "<script>alert") if word in pages]
    assert not problems, "\n".join(problems)
    assert 0 < imported < REPACKED  # both ways were taken
