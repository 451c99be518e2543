"""Holes an independent review of hostile input found, each through the CLI as a user meets it, on real IKEA data.

test_hostile_inputs, test_bundle and test_mutated_inputs hold the attacks thought of before; these are the ones
that got through them: a bundle poisoning the pictures a later, genuine bundle shows; Parquet files (feeds and
vector files) whose dictionary pages repeat one long value into gigabytes of memory from a few kilobytes, a column
given twice, float64 vectors past float32; a user before a URL's host (a deceptive link, a printed password); a
model pack URL urllib cannot parse; and one bundle imported again and again pushing out the user's own backup.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from lamp_shop import export_lamp_shop, run_cli


def _run(data: Path, models: Path, *args: str) -> tuple[int, str]:
    """``decorlens ARGS`` in this process: (exit code, stderr)."""
    code, _out, err = run_cli(data, models, *args)
    return code, err


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, shared_models: Path) -> dict[str, Path]:
    """A store's bundle of two IKEA lamps, and a rug photo that is in no bundle."""
    bundle = export_lamp_shop(tmp_path_factory.mktemp("review"), shared_models, ikea)
    return {"bundle": bundle, "rug": min((ikea / "products" / "rug").glob("*.jpg"))}


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


# -- Parquet: a dictionary page holds a value once, and every row may name it --------------------------------------

BIG = "E" * (1 << 20)  # one 1 MiB value, named by 320 rows: 320 MiB of text from a file of a few kilobytes
ROWS = 320


def _parquet(path: Path, table) -> Path:
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="zstd")  # dictionary-encoded, as pyarrow writes by default
    assert path.stat().st_size < 64 << 10
    return path


def _embedder_card(data: Path):
    """The card of the embedder a data dir's searches use (the shared models')."""
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    return Pipeline(Settings.defaults().with_(data_dir=data)).embedder.model.card


def test_a_vector_file_repeating_one_long_error_is_refused_before_it_is_decoded(ikea: Path, shared_models: Path,
                                                                               tmp_path: Path):
    """A 4 KB vector file whose error column names one 1 MiB string in every row took 1.4 GB to import (and each
    row's error was kept): 4,096 rows of it, one batch, would take 12 GB. Text is now counted before it is decoded."""
    pa = pytest.importorskip("pyarrow")
    from engine.vectors_import import EmbedderId, schema

    data = tmp_path / "data"
    card = _embedder_card(data)
    photo = min((ikea / "products" / "lamp").glob("*.jpg"))
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,name,category,image\nV1,Lamp,lamp,{photo}\n", encoding="utf-8")
    who = EmbedderId.of(card)
    (tmp_path / "vectors").mkdir()
    table = pa.table({"sku": [f"V{i}" for i in range(ROWS)], "category": ["lamp"] * ROWS,
                      "image_sha256": [_sha(photo.read_bytes())] * ROWS, "embedder": [who.name] * ROWS,
                      "embedder_sha256": [who.sha256] * ROWS,
                      "vector": pa.array([None] * ROWS, pa.list_(pa.float32(), card.output_dim)),
                      "error": [BIG] * ROWS}, schema=schema(card.output_dim, who))
    _parquet(tmp_path / "vectors" / "part-0.parquet", table)
    code, err = _run(data, shared_models, "catalog", "import", str(feed), "--vectors", str(tmp_path / "vectors"))
    assert code != 0 and "a compression bomb?" in err and len(err.strip().splitlines()) == 1, err[:500]


@pytest.mark.parametrize("column", ["plain", "list"])
def test_a_parquet_feed_repeating_one_long_value_is_refused_before_it_is_decoded(ikea: Path, shared_models: Path,
                                                                               tmp_path: Path, column: str):
    """The footer check (engine.importer) counts a column's bytes as stored, and a dictionary stores a value once:
    a 10 KB feed of 4,000 rows naming one 100,000-character name twice took 2.4 GB, a thousand such columns would
    take 400 GB. A list column decodes its elements the same way; it was refused only after decoding them."""
    pa = pytest.importorskip("pyarrow")
    photo = min((ikea / "products" / "lamp").glob("*.jpg"))
    values = [BIG[:100_000]] * ROWS * 10 if column == "plain" else [[BIG] * 2] * ROWS
    n = len(values)
    feed = _parquet(tmp_path / "feed.parquet", pa.table({"sku": [f"S{i}" for i in range(n)], "category": ["lamp"] * n,
                                                         "image": [str(photo)] * n, "name": values}))
    code, err = _run(tmp_path / "data", shared_models, "catalog", "import", str(feed))
    expected = "a compression bomb?" if column == "plain" else "column 'name' holds list<"
    assert code != 0 and expected in err and len(err.strip().splitlines()) == 1, err[:500]


# -- a user name or password before a URL's host ----------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://www.ikea.com@evil.example/p/lamp", "https://buyer:hunter2@shop.example/p"])
def test_a_link_naming_a_user_before_its_host_is_not_a_link(url: str):
    """``https://www.ikea.com@evil.example/`` reads as IKEA's page and opens evil.example; it passed as a "View
    product" link of the exported page and the app (and published the password of the second)."""
    from engine.links import safe_link

    assert safe_link(url) is None
    assert safe_link("https://shop.example/p?ref=a@b") == "https://shop.example/p?ref=a@b"  # an @ after the host


def test_a_password_in_a_feeds_image_url_is_never_printed(ikea: Path, shared_models: Path, tmp_path: Path):
    """urllib sends no credentials from a URL: it looked "buyer:hunter2@127.0.0.1" up as a host name, and the
    skipped line said "cannot download http://buyer:hunter2@…; offline?", the password on the terminal and in logs."""
    photo = min((ikea / "products" / "lamp").glob("*.jpg"))
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,name,category,image\nOK,Lamp,lamp,{photo}\n"
                    "PW,Lamp,lamp,http://buyer:hunter2@127.0.0.1:9/lamp.jpg\n", encoding="utf-8")
    code, err = _run(tmp_path / "data", shared_models, "catalog", "import", str(feed))
    assert code == 0 and "hunter2" not in err and "buyer" not in err, err
    assert "skipped PW: http://…@127.0.0.1:9/lamp.jpg: a user name or password in an image URL is never sent" in err


@pytest.mark.parametrize(("url", "refusal"), [
    ("https://buyer:hunter2@127.0.0.1:9/", "https://…@127.0.0.1:9/: a user name or password in the URL is never sent"),
    ("https://[::1/pack/", "https://[::1/pack/: not a valid URL (Invalid IPv6 URL)"),
])
def test_a_model_pack_url_urllib_cannot_use_is_one_line_without_its_password(shared_models: Path, tmp_path: Path,
                                                                            url: str, refusal: str):
    """``models fetch --from https://user:pw@host/`` said "could not reach user:pw@host", password and all; an
    unbalanced IPv6 bracket ended in "unexpected ValueError: Invalid IPv6 URL" (the app's Download took it too)."""
    code, err = _run(tmp_path / "data", shared_models, "models", "fetch", "--from", url)
    assert f"model pack source {refusal}" in err, err
    assert code == 2 and "hunter2" not in err and "unexpected" not in err and len(err.splitlines()) == 1, err


def test_a_parquet_column_given_twice_is_read_in_a_feed_and_refused_in_a_vector_file(ikea: Path, shared_models: Path,
                                                                                    tmp_path: Path):
    """A feed's duplicate column is read as a CSV's is (the first one); a vector file's ended in "unexpected
    KeyError: 'Field "sku" exists 2 times in schema'", as it would have for every column read by name."""
    pa = pytest.importorskip("pyarrow")
    photo = str(min((ikea / "products" / "lamp").glob("*.jpg")))
    feed = _parquet(tmp_path / "feed.parquet", pa.Table.from_arrays(
        [pa.array(["A"]), pa.array(["B"]), pa.array(["lamp"]), pa.array([photo])], ["sku", "sku", "category", "image"]))
    assert _run(tmp_path / "data", shared_models, "catalog", "import", str(feed))[0] == 0
    from engine.vectors_import import EmbedderId

    card = _embedder_card(tmp_path / "data2")
    who = EmbedderId.of(card)
    (tmp_path / "vectors").mkdir()
    columns = {"sku": "A", "category": "lamp", "image_sha256": _sha(Path(photo).read_bytes()), "embedder": who.name,
               "embedder_sha256": who.sha256}
    arrays = [pa.array([value]) for value in columns.values()]
    vector = pa.array([[0.5] * card.output_dim], pa.list_(pa.float32(), card.output_dim))
    _parquet(tmp_path / "vectors" / "part-0.parquet", pa.Table.from_arrays(
        [arrays[0], *arrays, vector, pa.array([None], pa.string())], ["sku", *columns, "vector", "error"]))
    feed_csv = tmp_path / "feed.csv"
    feed_csv.write_text(f"sku,category,image\nA,lamp,{photo}\n", encoding="utf-8")
    code, err = _run(tmp_path / "data2", shared_models, "catalog", "import", str(feed_csv), "--vectors",
                     str(tmp_path / "vectors"))
    assert code != 0 and "column 'sku' appears 2 times" in err and "unexpected" not in err, err


def test_a_float64_vector_past_float32s_range_is_skipped_without_a_numpy_warning(ikea: Path, shared_models: Path,
                                                                                tmp_path: Path):
    """Vectors of float64 are read as float32; a value of 1e300 became inf and its row was skipped, but numpy's
    "RuntimeWarning: overflow encountered in cast" and the line of code under it went to the terminal first."""
    pa = pytest.importorskip("pyarrow")
    import warnings

    from engine.vectors_import import EmbedderId, schema

    card = _embedder_card(tmp_path / "data")
    who, dim = EmbedderId.of(card), card.output_dim
    photo = min((ikea / "products" / "lamp").glob("*.jpg"))
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,category,image\nBIG,lamp,{photo}\nOK,lamp,{photo}\n", encoding="utf-8")
    fields = schema(dim, who)
    fields = fields.set(fields.get_field_index("vector"), pa.field("vector", pa.list_(pa.float64(), dim)))
    (tmp_path / "vectors").mkdir()
    _parquet(tmp_path / "vectors" / "part-0.parquet", pa.table(
        {"sku": ["BIG", "OK"], "category": ["lamp"] * 2, "image_sha256": [_sha(photo.read_bytes())] * 2,
         "embedder": [who.name] * 2, "embedder_sha256": [who.sha256] * 2, "vector": [[1e300] * dim, [0.5] * dim],
         "error": [None, None]}, schema=fields))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, err = _run(tmp_path / "data", shared_models, "catalog", "import", str(feed), "--vectors",
                         str(tmp_path / "vectors"))
    assert code == 0 and "skipped BIG: its vector holds NaN or infinity" in err, err
    assert [str(w.message) for w in caught] == []


def test_importing_one_bundle_again_and_again_keeps_the_backup_of_the_users_own_catalog(
        shop, ikea: Path, shared_models: Path, tmp_path: Path):
    """Each import backed up the catalog it replaced and five backups are kept: the same bundle imported six times
    (a script run daily, a user trying again) filled them with copies of itself, and the backup of the catalog it had
    first replaced, the user's own products, was deleted without a word. A catalog the newest backup already holds
    row for row is no longer copied again."""
    data = tmp_path / "data"
    photo = max((ikea / "products" / "rug").glob("*.jpg"))
    feed = tmp_path / "own.csv"
    feed.write_text(f"sku,name,category,image\nMY-RUG,My own rug,rug,{photo}\n", encoding="utf-8")
    assert _run(data, shared_models, "catalog", "import", str(feed))[0] == 0
    for _ in range(7):
        code, err = _run(data, shared_models, "bundle", "import", str(shop["bundle"]))
        assert code == 0, err
    own = []
    for backup in sorted((data / "backups").glob("catalog-*.sqlite")):
        with contextlib.closing(sqlite3.connect(backup)) as db:
            own += [sku for (sku,) in db.execute("SELECT sku FROM products WHERE sku = 'MY-RUG'")]
    assert own == ["MY-RUG"]
