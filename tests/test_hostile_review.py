"""Holes an independent review of hostile input found, each through the CLI as a user meets it, on real IKEA data.

test_hostile_inputs, test_bundle and test_mutated_inputs hold the attacks thought of before; these are the ones
that got through them: a bundle poisoning the pictures a later, genuine bundle shows, and Parquet files (feeds and
vector files) whose dictionary pages repeat one long value into gigabytes of memory from a few kilobytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from decorlens.main import main


def _run(data: Path, models: Path, *args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["--data-dir", str(data), "--models-dir", str(models), "-q", *args])
    return code, err.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, shared_models: Path) -> dict[str, Path]:
    """A store's bundle of two IKEA lamps, and a rug photo that is in no bundle."""
    work = tmp_path_factory.mktemp("review")
    (work / "products" / "lamp").mkdir(parents=True)
    for photo in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:2]:
        shutil.copy(photo, work / "products" / "lamp")
    assert _run(work / "store", shared_models, "catalog", "import", str(work / "products"))[0] == 0
    assert _run(work / "store", shared_models, "bundle", "export", str(work / "shop.dlcat"))[0] == 0
    return {"bundle": work / "shop.dlcat", "rug": min((ikea / "products" / "rug").glob("*.jpg"))}


def _swapped_picture(bundle: Path, out: Path, picture: Path) -> str:
    """``bundle`` with its first image member holding ``picture``'s bytes under the first image's name, the
    manifest listing the new bytes' real size and sha256 (consistent with itself, as an attacker makes it)."""
    with zipfile.ZipFile(bundle) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    meta = json.loads(members.pop("manifest.json"))
    name = min(n for n in members if n.startswith("images/"))
    members[name] = picture.read_bytes()
    meta["files"] = {n: {"size": len(d), "sha256": _sha(d)} for n, d in members.items()}
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", json.dumps(meta))
        for member, data in members.items():
            zf.writestr(member, data)
    return name


def test_a_bundle_cannot_plant_a_picture_under_another_pictures_hash(shop, shared_models: Path, tmp_path: Path):
    """A picture is kept under the sha256 of its bytes and never replaced, so a bundle that shipped a rug under a
    lamp's hash (its manifest listing the rug's real checksum) was imported, and the genuine bundle imported after it
    then showed the rug for the lamp. Now the planted bundle is refused in one line and the genuine one is whole."""
    evil = tmp_path / "evil.dlcat"
    name = _swapped_picture(shop["bundle"], evil, shop["rug"])
    data = tmp_path / "data"
    code, err = _run(data, shared_models, "bundle", "import", str(evil))
    assert code != 0 and "not the one its name gives" in err and len(err.strip().splitlines()) == 1, err
    assert _run(data, shared_models, "bundle", "import", str(shop["bundle"]))[0] == 0
    with sqlite3.connect(data / "catalog.sqlite") as db:
        paths = [Path(p) for (p,) in db.execute("SELECT image_path FROM products")]
    assert Path(name).name in {p.name for p in paths}
    assert all(_sha(p.read_bytes()) == p.stem for p in paths)  # each picture is the one its name says
