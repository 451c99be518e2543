"""Look-alike SKUs where a person still read them unmarked: the CLI's lines (`search`, `search --scenes`,
`catalog list`, `show`, `duplicates`, `where`, the "did you mean" of a mistyped SKU), a batch's summary.csv, Where
used's "best match when tagged", the duplicates window and the catalog map. A feed's "ХSOFA-1" (a Cyrillic Х) beside
the catalog's "XSOFA-1", of one photo, printed as the same SKU twice. Each now marks it as the app does
(``engine.lookalike.sku_shown``: "⟨U+0425⟩SOFA-1"); ``--json`` and summary.csv's ``sku`` keep the SKU exact, with
``alike`` beside. Real IKEA photos and products, the real detector and embedder."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from decorlens.main import main
from engine.batch import SUMMARY, tag_scenes
from engine.catalog import Product
from engine.pipeline import Pipeline
from engine.settings import Settings

SCENE = "a-cosy-space-for-coffee-and-conversation"
CATEGORIES = ("sofa", "chair", "lamp", "table")
CYRILLIC_X = "\u0425"  # reads as "X"


def _twins(category: str) -> tuple[str, str]:
    """A category's SKU and its look-alike: "XSOFA-1" and "ХSOFA-1" (a Cyrillic Х), one photo for both."""
    return f"X{category.upper()}-1", f"{CYRILLIC_X}{category.upper()}-1"


def _marked(category: str) -> str:
    return f"⟨U+0425⟩{category.upper()}-1"


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory, exported_models: Path, scene_path, ikea: Path,
           ikea_products: list[dict[str, str]]) -> tuple[Pipeline, Path, Path]:
    """A catalog of a product of each of four categories, each stored under a look-alike SKU too; a room photo
    tagged by a batch (its output folder), so Where used remembers its tags."""
    data = tmp_path_factory.mktemp("lookalike-rest")
    shutil.copytree(exported_models, data / "models")
    pipeline = Pipeline(Settings.defaults().with_(data_dir=data))
    with pipeline.catalog.transaction() as revision:
        for category in CATEGORIES:
            row = next(r for r in ikea_products if r["category"] == category)
            for sku in reversed(_twins(category)):  # the look-alike first: it wins their ties, best match
                pipeline.catalog.upsert(Product(sku, row["name"], category, str(ikea / row["image"])), revision)
    photo = data / "photos" / "living.jpg"
    photo.parent.mkdir()
    shutil.copy(scene_path(SCENE), photo)
    report = tag_scenes(pipeline, [photo], data / "tagged")
    assert report.done == [photo], report.failed
    return pipeline, photo, data / "tagged"


def _cli(pipeline: Pipeline, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["-q", "--data-dir", str(pipeline.data_dir), *args]) == 0
    return capsys.readouterr().out


def _matched(out: Path) -> list[dict[str, str]]:
    with open(out / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        return [row for row in csv.DictReader(fh) if row["sku"]]


def test_summary_csv_keeps_the_sku_exact_and_marks_a_look_alike_in_its_last_column(tagged) -> None:
    """A spreadsheet showed "XSOFA-1" on two rows of two products; ``alike`` (after ``failed``, so the columns an
    older summary.csv had keep their places) marks the one that reads as the other, empty for the rest."""
    _pipeline, _photo, out = tagged
    with open(out / SUMMARY, newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh))
    assert header[-2:] == ["failed", "alike"] and header[12] == "sku"
    rows = _matched(out)
    expected = {sku: (_marked(c) if sku.startswith(CYRILLIC_X) else "") for c in CATEGORIES for sku in _twins(c)}
    assert rows and all(row["alike"] == expected[row["sku"]] for row in rows), rows
    assert {row["sku"][0] for row in rows} == {"X", CYRILLIC_X}


def test_the_cli_lines_mark_a_look_alike_and_json_keeps_it_exact(tagged, capsys: pytest.CaptureFixture[str]) -> None:
    """`catalog list`, `catalog show`, `where` and `search` printed "ХSOFA-1" as the "XSOFA-1" beside it; the
    lines mark it, ``--json`` gives it as stored with ``alike``."""
    pipeline, photo, out = tagged
    row = next(r for r in _matched(out) if r["sku"].startswith(CYRILLIC_X))
    category = row["match_category"]
    plain, look_alike = _twins(category)
    listed = [line.split()[0] for line in _cli(pipeline, capsys, "catalog", "list").splitlines()]
    assert sorted(listed) == sorted(s for c in CATEGORIES for s in (_twins(c)[0], _marked(c)))
    products = json.loads(_cli(pipeline, capsys, "catalog", "list", "--json"))
    assert {p["sku"]: p["alike"] for p in products}[look_alike] is True
    assert {p["sku"]: p["alike"] for p in products}[plain] is False
    assert _cli(pipeline, capsys, "catalog", "show", look_alike).splitlines()[0].split() == ["sku", _marked(category)]
    assert _cli(pipeline, capsys, "catalog", "show", plain).splitlines()[0].split() == ["sku", plain]
    shown = json.loads(_cli(pipeline, capsys, "catalog", "show", look_alike, "--json"))
    assert (shown["sku"], shown["alike"]) == (look_alike, True)
    assert _cli(pipeline, capsys, "where", look_alike).startswith(f"{_marked(category)} ")
    where = json.loads(_cli(pipeline, capsys, "where", look_alike, "--json"))
    assert (where["sku"], where["alike"]) == (look_alike, True)
    assert {g["sku"]: g["alike"] for g in where["goes_with"]} == {s: s.startswith(CYRILLIC_X) for s in
                                                                   (g["sku"] for g in where["goes_with"])}
    lines = _cli(pipeline, capsys, "search", str(photo)).splitlines()
    matches = [line.split()[2] for line in lines if line.startswith("     0.")]
    assert _marked(category) in matches and plain in matches and look_alike not in matches
    scenes = _cli(pipeline, capsys, "search", "--scenes", str(photo), "--top-k", "50")
    matched = {line.rsplit(" matched ", 1)[1] for line in scenes.splitlines()[1:]}
    assert matched & {_marked(c) for c in CATEGORIES} and not any(CYRILLIC_X in sku for sku in matched), matched
    hits = json.loads(_cli(pipeline, capsys, "search", "--scenes", str(photo), "--top-k", "50", "--json"))["scenes"]
    assert all(hit["alike"] is hit["sku"].startswith(CYRILLIC_X) for hit in hits)


def test_duplicates_mark_the_look_alike(tagged, capsys: pytest.CaptureFixture[str]) -> None:
    """The group of one photo under two SKUs, the look-alike duplicate a feed makes, listed "XSOFA-1" twice."""
    pipeline, _photo, _out = tagged
    lines = _cli(pipeline, capsys, "catalog", "duplicates").splitlines()
    listed = {line.split()[0] for line in lines if line.startswith("     ")}
    assert listed == {s for c in CATEGORIES for s in (_twins(c)[0], _marked(c))}
    groups = json.loads(_cli(pipeline, capsys, "catalog", "duplicates", "--json"))
    assert {p["sku"]: p["alike"] for g in groups for p in g["products"]} == {
        s: s.startswith(CYRILLIC_X) for c in CATEGORIES for s in _twins(c)}


def test_did_you_mean_marks_a_sku_that_reads_as_the_one_typed_or_another(
    tagged, tmp_path: Path, ikea: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`catalog show XSOFA-1` of a catalog holding only "ХSOFA-1" said "no product 'XSOFA-1' …; did you mean
    ХSOFA-1?", the same SKU to the eye; a mistyped look-alike was offered unmarked beside its twin."""
    pipeline, _photo, _out = tagged
    assert main(["-q", "--data-dir", str(pipeline.data_dir), "catalog", "show", f"{CYRILLIC_X}SOFA-2"]) != 0
    said = capsys.readouterr().err
    assert f"did you mean {_marked('sofa')}?" in said, said
    alone = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "data"))
    with alone.catalog.transaction() as revision:
        alone.catalog.upsert(Product(f"{CYRILLIC_X}SOFA-1", "Sofa", "sofa", str(min(ikea.glob("products/sofa/*")))),
                             revision)
    assert main(["-q", "--data-dir", str(alone.data_dir), "catalog", "show", "XSOFA-1"]) != 0
    said = capsys.readouterr().err
    assert f"did you mean {_marked('sofa')}?" in said, said
