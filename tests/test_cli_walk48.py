"""Session 48's walk of the command line as a merchandiser: categories by the names the app writes ("Storage
furniture", not "storage_furniture"), paths as typed or from the current folder, and `models list` in columns.
A small real IKEA catalog of three categories, used from its own folder with ``--data-dir data``."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from platformdirs import user_data_dir

from decorlens.errors import USER_ERROR
from decorlens.main import build_parser, main
from decorlens.search import render, seen_words, sold_words
from engine.categories import CategoryMap
from engine.results import Match, SceneObject, SceneResult

CATEGORIES = ("storage_furniture", "box_basket", "sofa")  # two the map names in words, one it does not
SIZE = re.compile(r"(?<= )(\d[\d,]* classes|\d+-d) ")  # a `models list` row's size column
SOFA_BED = "ikea-a-bed-that-folds-away-to-be-a-sofa-by-day__1364309472525-s4"  # a sofa-bed, shelves and boxes


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, ikea_products: list[dict[str, str]],
         exported_models: Path) -> tuple[Path, list[dict[str, str]]]:
    """A folder holding ``data`` (two products of each of ``CATEGORIES``, photos in ``products/``) and
    ``photos/`` (one room photo), and the feed's rows."""
    root = tmp_path_factory.mktemp("walk48")
    shutil.copytree(exported_models, root / "data" / "models")
    (root / "products").mkdir()
    rows = []
    for category in CATEGORIES:
        for row in [r for r in ikea_products if r["category"] == category][:2]:
            photo = root / "products" / f"{row['product_id']}.jpg"
            shutil.copy(ikea / row["image"], photo)
            rows.append({"sku": row["product_id"], "name": row["name"], "category": category, "image": str(photo)})
    with open(root / "feed.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (root / "photos").mkdir()
    shutil.copy(ikea / "scenes" / f"{SOFA_BED}.jpg", root / "photos" / "room.jpg")
    assert main(["-q", "--data-dir", str(root / "data"), "catalog", "import", str(root / "feed.csv")]) == 0
    return root, rows


def _run(root: Path, args: list[str], capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """``decorlens --data-dir data ARGS`` run from ``root``, as a user in their shop's folder types it."""
    monkeypatch.chdir(root)
    capsys.readouterr()
    code = main(["--data-dir", "data", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_catalog_list_and_stats_name_categories_as_the_app_does(shop, capsys, monkeypatch):
    """`catalog list` printed "storage_furniture" and `catalog stats` "box_basket" alone: the feed's keys, where
    the app, its pages and the reports write "Storage furniture" and "Boxes & baskets". Stats lists the keys, which
    `--category` takes, with the map's names beside them, and says where the catalog is as the data dir was given."""
    root, _rows = shop
    code, out, err = _run(root, ["catalog", "list"], capsys, monkeypatch)
    assert code == 0, err
    assert {line[17:41].strip() for line in out.splitlines()} == {"Storage furniture", "Boxes & baskets", "Sofa"}, out
    assert "storage_furniture" not in out and "box_basket" not in out, out
    code, out, err = _run(root, ["catalog", "stats"], capsys, monkeypatch)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "6 products in 3 categories (data/catalog.sqlite)", out
    assert lines[1:4] == ["  box_basket               2        Boxes & baskets", "  sofa                     2",
                          "  storage_furniture        2        Storage furniture"], out


def test_catalog_show_names_the_category_and_the_photo_from_here(shop, capsys, monkeypatch):
    """`catalog show` printed "category  storage_furniture" and the photo's full path under the folder the user
    stands in."""
    root, rows = shop
    row = next(r for r in rows if r["category"] == "storage_furniture")
    code, out, err = _run(root, ["catalog", "show", row["sku"]], capsys, monkeypatch)
    assert code == 0, err
    lines = out.splitlines()
    assert "category  Storage furniture (storage_furniture)" in lines, out
    assert f"photo     products/{row['sku']}.jpg" in lines, out


def test_an_unknown_sku_names_the_catalog_as_the_user_gave_it(shop, capsys, monkeypatch):
    """"no product 'x' in the catalog /home/…/data/catalog.sqlite" for `--data-dir data`: the folder typed."""
    root, _rows = shop
    for command in (["catalog", "show", "NO-SUCH"], ["where", "NO-SUCH"]):
        code, out, err = _run(root, command, capsys, monkeypatch)
        assert (code, out) == (USER_ERROR, ""), err
        assert err == "decorlens: error: no product 'NO-SUCH' in the catalog data/catalog.sqlite\n", err


def test_where_names_the_photo_as_tagged_and_the_tags_category(shop, capsys, monkeypatch):
    """`where` printed a photo tagged as ``photos/room.jpg`` by its absolute path, and its tag's category as the
    key ("[storage_furniture]")."""
    root, _rows = shop
    code, out, err = _run(root, ["tag", "photos", "--out", "tagged"], capsys, monkeypatch)
    assert code == 0, err
    with open(root / "tagged" / "summary.csv", encoding="utf-8-sig") as fh:
        sku = next(row["sku"] for row in csv.DictReader(fh)
                   if row["match_category"] == "storage_furniture" and row["rank"] == "1")
    code, out, err = _run(root, ["where", sku], capsys, monkeypatch)
    assert code == 0, err
    sighting = out.splitlines()[1]
    assert " photos/room.jpg  tag " in sighting and str(root) not in out, out
    tag_category = sighting.split("[")[1].split("]")[0]  # one that searches storage furniture: "Shelf", "Wardrobe", …
    assert tag_category[0].isupper() and "_" not in tag_category, out


def test_search_report_and_its_seen_words_name_categories():
    """`search` headed a tag "[5] tableware_kitchenware" and listed matches "[storage_furniture]"; what it saw
    but the catalog does not sell read "2 cushion_throw", where the app says "2 cushions & throws"."""
    names = CategoryMap.load().names
    matches = [Match(1, "702.1", "BILLY", "storage_furniture", 0.7, "similar")]
    objects = [SceneObject("box_basket", "Box", 0.9, (0, 0, 10, 10), (5, 5), matches)]
    report = render(SceneResult("room.jpg", 10, 10, "CPU", {}, objects), names).splitlines()
    assert report[3].startswith("[1] Boxes & baskets (Box 0.90)"), report
    assert report[4].endswith("BILLY [Storage furniture]"), report
    assert seen_words({"cushion_throw": 2, "chair": 3, "bed": 1}, names) == "3 chairs, 2 cushions & throws, 1 bed"
    assert sold_words(["lamp", "tableware_kitchenware", "tv_bench"], names) == "lamp, tableware & kitchenware, TV bench"


def test_models_list_keeps_its_columns_and_names_the_data_dir_as_typed(shop, capsys, monkeypatch):
    """The Open Images detector's name, "YOLOv8n (Open Images V7 601 classes)", passed its 28-character column
    and pushed its size and path out of line with the other rows; the search path named ``data/models`` in full."""
    root, _rows = shop
    code, out, err = _run(root, ["models", "list"], capsys, monkeypatch)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith(", data/models"), out
    sizes = [SIZE.search(line) for line in lines[1:] if line.split()[0] in ("detector", "embedder")]
    assert len(sizes) >= 3 and all(sizes) and len({size.start() for size in sizes}) == 1, out


def test_a_new_data_folder_is_named_as_typed(tmp_path, capsys, monkeypatch, exported_models):
    """"made the data folder /home/ana/shop/new: it did not exist" for `--data-dir new`."""
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["--data-dir", "new", "catalog", "stats"]) == 0
    out, err = capsys.readouterr()
    assert err == "made the data folder new: it did not exist\n", err
    assert out.startswith("0 products in 0 categories (new/catalog.sqlite)"), out


def test_models_activate_names_the_settings_file_from_here(tmp_path, capsys, monkeypatch):
    """`models activate` said "saved in /home/ana/shop/data/config.yaml" for `--data-dir data`."""
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "--data-dir", "data", "models", "activate", "yolov8n-oiv7-int8.onnx"]) == 0
    out = capsys.readouterr().out
    assert "; saved in data/config.yaml" in out, out


def test_help_says_where_the_data_and_the_models_are_by_default():
    """`--data-dir DIR  catalog, indexes and exported models (env DECORLENS_DATA_DIR)`: where an import without it
    went was left to guess, and so was where models are looked for."""
    said = " ".join(build_parser().format_help().split())
    standard = user_data_dir("DecorLens", appauthor=False)
    assert (f"(default: env DECORLENS_DATA_DIR, else {standard})" in said
            or f"(default: env DECORLENS_DATA_DIR, else ~{standard[len(str(Path.home())):]})" in said), said
    assert "(default: env DECORLENS_MODELS_DIR, else " in said, said



def test_catalog_map_help_says_what_it_does_without_html(capsys):
    """`--html OUT.html  write the map as one standalone HTML page` left `catalog map` alone to guess at."""
    with pytest.raises(SystemExit):
        main(["catalog", "map", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "without it the map is computed and kept for the app's Map tab" in said, said


def test_eval_report_groups_its_counts_by_thousands():
    """eval.md said "400 scenes, 2126 pairs: 2126 evaluated" and "| **all evaluated** | 2126 |", where every
    other report of DecorLens writes 2,126."""
    from training.evaluate import EvalResult, Outcome, SceneTags, markdown  # torch, through training.recipes

    outcomes = [Outcome(f"s{i % 400}", f"p{i}", "chair", "evaluated", False, rank={"pretrained": 1},
                        global_rank={"pretrained": 1}) for i in range(2126)]
    tags = [SceneTags(f"s{i}", ["chair"] * 3, [True] * 3, 100.0) for i in range(400)]
    report = markdown(EvalResult(outcomes, ("pretrained",), {"detectors": "coco", "conf": 0.1}, tags).to_json())
    assert "| **all evaluated** | 2,126 |" in report, report
    assert "400 scenes, 2,126 pairs: 2,126 evaluated (0 seen in training, 2,126 unseen)" in report, report
    assert "| chair | 2,126 | 2,126 | 100.0% |" in report and "Tags: 1,200 pins on 400 scenes" in report, report


def test_category_may_be_given_by_the_name_reports_write(shop, capsys, monkeypatch):
    """Reports now write "Storage furniture"; `catalog list --category "Storage furniture"` was refused as no
    category ("did you mean storage_furniture?"). The key still works, and a name of no category is still refused."""
    root, rows = shop
    wanted = sorted(r["sku"] for r in rows if r["category"] == "storage_furniture")
    for given in ("Storage furniture", "storage furniture", "storage_furniture"):
        code, out, err = _run(root, ["catalog", "list", "--category", given], capsys, monkeypatch)
        assert code == 0 and sorted(line.split()[0] for line in out.splitlines()) == wanted, (given, out, err)
    code, out, err = _run(root, ["catalog", "list", "--category", "Storage"], capsys, monkeypatch)
    assert (code, out) == (USER_ERROR, "") and "is not a catalog category" in err, err
    code, out, err = _run(root, ["search", "photos/room.jpg", "--box", "0,0,400,400", "--category", "Boxes & baskets",
                                 "--top-k", "1"], capsys, monkeypatch)
    assert code == 0 and out.splitlines()[3].startswith("[1] Boxes & baskets ("), (out, err)
