"""A merchandiser's weekly script, command by command, on a real IKEA slice: what each line says must be what
happened, in words (no "0 tags in 0 photos", no file-name slugs), and nothing done must exit 2, not 0 or 1.

The slice: the IKEA chairs, clocks, lamps, plants, sofas and "other" products imported through the CLI, and two
real room photos tagged."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from error_lines import assert_names
from ikea_slice import write_slice
from scene_copy import copy_data_dir

from decorlens.errors import USER_ERROR
from decorlens.main import build_parser, main
from decorlens.search import render
from engine.backups import list_backups
from engine.catalog import Catalog
from engine.results import MATCH_WORDS, Match, SceneObject, SceneResult

SCENE = "take-a-comfy-seat-on-the-sofa"
SCENES = (SCENE, "a-bed-that-folds-away-to-be-a-sofa-by-day")  # two rooms with chairs, a clock, lamps and plants
CATEGORIES = ("chair", "clock", "lamp", "other", "plant_pot", "sofa")  # "other": a category no tag searches


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, exported_models: Path) -> Path:
    """A data dir holding six IKEA categories (a folder import) and two tagged room photos."""
    root = tmp_path_factory.mktemp("walk")
    data = root / "data"
    shutil.copytree(exported_models, data / "models")
    for category in CATEGORIES:
        shutil.copytree(ikea / "products" / category, root / "products" / category)
    assert main(["-q", "--data-dir", str(data), "catalog", "import", str(root / "products")]) == 0
    scenes = [str(next((ikea / "scenes").glob(f"*{name}*.jpg"))) for name in SCENES]
    assert main(["-q", "--data-dir", str(data), "tag", *scenes, "--out", str(root / "tagged")]) == 0
    return data


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    """Exit code, stdout and stderr of one in-process run."""
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def copy(shop: Path, tmp_path: Path) -> Path:
    """The shop's data dir copied, for a test that changes the catalog."""
    return Path(shutil.copytree(shop, tmp_path / "data"))


def test_where_says_in_words_that_a_product_is_the_best_match_of_no_tag(shop: Path,
                                                                        capsys: pytest.CaptureFixture[str]):
    """It printed "best match of 0 tags in 0 of 1 tagged photo": a count gone wrong, to a reader."""
    _, listed, _ = run(["--data-dir", str(shop), "catalog", "list", "--category", "clock", "--json"], capsys)
    unmatched = []
    for product in json.loads(listed):
        _, out, _ = run(["--data-dir", str(shop), "where", product["sku"], "--json"], capsys)
        if not json.loads(out)["photos"]:
            unmatched.append(product["sku"])
    assert unmatched, "every clock is some tag's best match: the slice no longer tests this"
    code, out, err = run(["--data-dir", str(shop), "where", unmatched[0]], capsys)
    assert code == 0, err
    assert "the best match of no tag in the 2 tagged photos (they hold 1 tag of its kind, clock);" in out, out
    assert "0 tags" not in out and " 0 of " not in out, out
    assert out.startswith(f"{unmatched[0]} Clock: "), out  # a folder import's product by its category, SKU once


def test_restore_lists_what_each_backup_was_taken_before_in_words_and_in_columns(
        copy: Path, capsys: pytest.CaptureFixture[str]):
    """The backup a restore takes was listed "before before-restore" (its file name's slug), and its longer name
    pushed the time and product columns of that line out of line with the others."""
    _, listed, _ = run(["--data-dir", str(copy), "catalog", "list", "--category", "sofa", "--limit", "1"], capsys)
    assert run(["--data-dir", str(copy), "catalog", "remove", listed.split()[0]], capsys)[0] == 0
    removal = list_backups(copy / "catalog.sqlite")[0]
    assert run(["--data-dir", str(copy), "catalog", "restore", removal.name], capsys)[0] == 0
    code, out, _ = run(["--data-dir", str(copy), "catalog", "restore"], capsys)
    assert code == 0
    lines = out.splitlines()[1:]
    assert [re.search(r"before (.+?)  ", line).group(1).strip() for line in lines] == ["a restore", "a removal"]
    assert "before-restore" not in out.replace(".sqlite", "").split("UTC")[1], out
    assert len({line.index(" UTC ") for line in lines}) == 1, out
    assert len({line.index(" product") for line in lines}) == 1, out


def test_list_refuses_a_category_the_catalog_does_not_have(shop: Path, capsys: pytest.CaptureFixture[str]):
    """`catalog list --category sofas` said "no products match" and exited 0: a script read a typo as an empty
    category."""
    code, out, err = run(["--data-dir", str(shop), "catalog", "list", "--category", "sofas"], capsys)
    assert code == USER_ERROR and not out
    assert err.strip() == ("decorlens: error: --category 'sofas' is not a catalog category (did you mean sofa?); "
                           "`decorlens catalog stats` lists them")


def test_removing_only_unknown_skus_is_nothing_done_and_takes_no_backup(copy: Path,
                                                                       capsys: pytest.CaptureFixture[str]):
    """"removed 0 of 1 product" exited 1 (done in part) and took a backup of the unchanged catalog, which pushes
    an older backup out of the kept ones."""
    _, listed, _ = run(["--data-dir", str(copy), "catalog", "list", "--category", "clock", "--limit", "1"], capsys)
    sku = listed.split()[0]
    code, out, err = run(["--data-dir", str(copy), "catalog", "remove", sku[:-1]], capsys)
    assert code == USER_ERROR and not out
    assert len(err.strip().splitlines()) == 1, err
    assert f": {sku[:-1]}; nothing removed; did you mean {sku}" in err, err
    assert not list_backups(copy / "catalog.sqlite")
    _, out, _ = run(["--data-dir", str(copy), "catalog", "stats", "--json"], capsys)
    assert json.loads(out)["categories"]["clock"] == 11  # all of them still


def test_a_sku_given_twice_is_removed_once_and_the_run_is_done(copy: Path, capsys: pytest.CaptureFixture[str]):
    """The same SKU twice (a script's list with a repeat) printed "removed 1 of 2 products" and exited 1."""
    _, listed, _ = run(["--data-dir", str(copy), "catalog", "list", "--category", "clock", "--limit", "1"], capsys)
    sku = listed.split()[0]
    code, out, _ = run(["--data-dir", str(copy), "catalog", "remove", sku, sku], capsys)
    assert code == 0 and out.startswith("removed 1 of 1 product;"), out


def test_remove_names_the_backup_that_undoes_it(copy: Path, capsys: pytest.CaptureFixture[str]):
    """"removed 1 of 1 product" said nothing of the backup taken first (bundle import names its own), so a
    script's log held no way back."""
    _, listed, _ = run(["--data-dir", str(copy), "catalog", "list", "--category", "clock", "--limit", "1"], capsys)
    code, out, _ = run(["--data-dir", str(copy), "catalog", "remove", listed.split()[0]], capsys)
    backup = list_backups(copy / "catalog.sqlite")[0]
    assert code == 0 and backup.reason == "remove"
    assert out == (f"removed 1 of 1 product; the catalog before is backed up as {backup.name} "
                   "(`decorlens catalog restore` lists it)\n")


def test_self_check_agrees_in_number_and_names_the_embedder_once(shop: Path, capsys: pytest.CaptureFixture[str]):
    """It said "0 object(s) tagged", "0 box(es)", "0 tag(s)" and "ok embedder embedder mobilenet_v2-imagenet"."""
    code, out, err = run(["--data-dir", str(shop), "self-check"], capsys)
    assert code == 0, out + err
    assert "(s)" not in out + err and "(es)" not in out + err, out + err
    assert re.search(r"test scene: \d+ objects? tagged", out), out
    assert re.search(r"^ok detector YOLO11n \(COCO 80 classes\): \d+ box(es)?(, |$)", err, re.MULTILINE), err
    assert re.search(r"^ok embedder MobileNetV2 1\.0/224 \(ImageNet\), 1280-d$", err, re.MULTILINE), err


def test_bundle_and_embedding_counts_are_grouped_by_thousands(pipeline, ikea: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]):
    """On the whole IKEA catalog `bundle export` and `bundle info` said "1955 products … 1856 images inside …
    (1955)" and an embedding "embedded 1955 of 1955 products", where `catalog stats` says "1,955"."""
    bundle = tmp_path / "store.dlcat"
    code, out, err = run(["--data-dir", str(pipeline.data_dir), "bundle", "export", str(bundle)], capsys)
    assert code == 0, err
    code, info, err = run(["bundle", "info", str(bundle)], capsys)
    assert code == 0, err
    for line in (out, info):
        assert ": 1,955 products in 33 categories, 1,856 images inside, vectors " in line, line
        assert re.search(r"vectors \S+ \(1,955\)", line), line
    data = copy_data_dir(pipeline, tmp_path / "data")
    scene = next((ikea / "scenes").glob(f"*{SCENE}*.jpg"))
    code, _, err = run(["--data-dir", str(data), "search", str(scene), "--matcher", "colour", "--top-k", "1"], capsys)
    assert code == 0, err
    assert re.search(r"^embedded 1,955 of 1,955 products for colour-", err, re.MULTILINE), err



def _options(parser: argparse.ArgumentParser, command: str = "decorlens") -> Iterator[tuple[str, argparse.Action]]:
    """Every option of every command and verb, with the command's words."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, f"{command} {name}")
        elif action.option_strings and action.help not in (None, argparse.SUPPRESS):
            yield command, action


def test_every_option_with_a_default_says_which_in_its_help():
    """`eval --help` said "--split scenes to score" (test, unless told), `search --matcher` "CNN embedder or colour
    histogram" (the embedder), `train --epochs` "at most this many epochs" (20): a script's author read the
    source to know what a run without the option does."""
    unsaid = []
    for command, action in _options(build_parser()):
        default = action.default
        if default in (None, argparse.SUPPRESS, "", [], ()) or isinstance(default, bool):
            continue
        said = f"default {default}" in action.help or f"default: {default}" in action.help
        if not said and not (isinstance(default, tuple) and "default all" in action.help):
            unsaid.append(f"{command} {action.option_strings[0]} ({default!r}): {action.help}")
    assert not unsaid, "\n".join(unsaid)


def test_eval_quiet_prints_only_its_result(shop: Path, ikea: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]):
    """`decorlens -q eval … --json` ended with "wrote …/eval.md, …" on stderr, though -q promises no notes.

    One validation scene and only its products (a slice): the whole IKEA set's 2,000 products took 16 s to embed."""
    data = write_slice(ikea, tmp_path / "slice", train=0, val=1)
    code, out, err = run(["-q", "--data-dir", str(shop), "eval", "--data", str(data), "--split", "val",
                          "--matchers", "pretrained", "--out", str(tmp_path / "reports"), "--json"], capsys)
    assert code == 0, err
    assert err == "" and "overall" in json.loads(out)
    assert (tmp_path / "reports" / "eval.json").is_file()


def test_where_says_when_limit_left_rows_out(shop: Path, capsys: pytest.CaptureFixture[str]):
    """`where SKU --limit N` cut the photos and the go-with products at N with no word, where `catalog list` says
    "only the first N products shown": the rows shown passed for all of them."""
    best = _most_going_with(shop, capsys)
    code, out, err = run(["--data-dir", str(shop), "where", best["sku"], "--limit", "1"], capsys)
    assert code == 0
    assert out.count("\n    1 photo ") == 1, out
    went = best["goes_with"][0]
    assert went["name"] == went["sku"]  # --json keeps the name stored; the line names the category instead
    assert re.search(rf"\n    1 photo  {re.escape(went['sku'])} +[A-Z][a-z &]+\n", out), out
    assert err == "--limit 1 left out some go-with products; a larger --limit shows them\n", err
    code, _, err = run(["--data-dir", str(shop), "where", best["sku"], "--limit", "1000"], capsys)
    assert (code, err) == (0, "")
    assert run(["-q", "--data-dir", str(shop), "where", best["sku"], "--limit", "1"], capsys)[2] == ""


def _most_going_with(shop: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    """The `where --json` of the product with the most products going with it (at least two)."""
    _, listed, _ = run(["--data-dir", str(shop), "catalog", "list", "--limit", "1000", "--json"], capsys)
    found = []
    for product in json.loads(listed):
        _, out, _ = run(["--data-dir", str(shop), "where", product["sku"], "--json"], capsys)
        found.append(json.loads(out))
    best = max(found, key=lambda w: len(w["goes_with"]))
    assert len(best["photos"]) == 1 and len(best["goes_with"]) >= 2, best
    return best


def test_where_says_how_sure_each_match_is_in_the_apps_words(shop: Path, capsys: pytest.CaptureFixture[str]):
    """`where` printed the raw kind ("similar"), where the app and the shoppable page say "Similar" (or "Likely
    the same", "Exact"); its --json keeps the kind, a contract."""
    best = _most_going_with(shop, capsys)
    assert best["photos"][0]["match"] in MATCH_WORDS, best
    _, out, _ = run(["--data-dir", str(shop), "where", best["sku"]], capsys)
    row = out.splitlines()[1]
    word = MATCH_WORDS[best["photos"][0]["match"]]
    assert re.fullmatch(rf"  \d\.\d{{3}} {word} +{re.escape(best['photos'][0]['photo'])}  tag .*", row), row
    assert row.index(best["photos"][0]["photo"]) == len("  0.000 Likely the same "), row  # the widest word fits


def test_where_of_a_mistyped_sku_names_the_close_skus_as_catalog_show_does(shop: Path,
                                                                          capsys: pytest.CaptureFixture[str]):
    """`where 001.185.24` said only "no product" where `catalog show` names the SKU one slip away."""
    best = _most_going_with(shop, capsys)
    typo = best["sku"][:-1] + ("0" if best["sku"][-1] != "0" else "1")
    code, out, err = run(["--data-dir", str(shop), "where", typo], capsys)
    assert (code, out) == (USER_ERROR, ""), err
    assert f"; did you mean {best['sku']}" in err and len(err.splitlines()) == 1, err  # the closest first


def test_search_report_says_how_sure_in_the_apps_words_in_one_column():
    """`search` printed "0.650 similar 901.963.14": the raw kind, in a column seven letters wide that "Likely the
    same" would have pushed the SKU out of."""
    matches = [Match(n, f"10{n}.000.0{n}", "NAME", "sofa", 0.9 - n / 10, kind) for n, kind in
               enumerate(MATCH_WORDS)]
    objects = [SceneObject("sofa", "couch", 0.9, (0, 0, 10, 10), (5, 5), matches)]
    report = render(SceneResult("room.jpg", 10, 10, "CPU", {}, objects)).splitlines()
    rows = [line for line in report if "NAME" in line]
    assert [row.split()[1] for row in rows] == [word.split()[0] for word in MATCH_WORDS.values()], rows
    assert {row.index(m.sku) for row, m in zip(rows, matches, strict=True)} == {len("     0.000 Likely the same ")}


def test_search_report_prints_a_folder_imported_products_sku_once():
    """A folder import names each product by its SKU (the file name): `search` printed "802.538.09 802.538.09
    [sofa]". A product the feed named keeps its name between the SKU and the category."""
    matches = [Match(1, "802.538.09", "802.538.09", "sofa", 0.8, "similar"),
               Match(2, "402.136.79", "KLIPPAN", "sofa", 0.7, "similar")]
    objects = [SceneObject("sofa", "couch", 0.9, (0, 0, 10, 10), (5, 5), matches)]
    rows = render(SceneResult("room.jpg", 10, 10, "CPU", {}, objects)).splitlines()[-2:]
    assert rows[0].split()[2:] == ["802.538.09", "[Sofa]"], rows
    assert rows[1].split()[2:] == ["402.136.79", "KLIPPAN", "[Sofa]"], rows


def test_search_of_a_folder_points_to_tag(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """`search rooms/` said "is a folder, not a regular file": true, but the merchandiser meant to search the
    photos in it, which `tag` does."""
    folder = tmp_path / "rooms"
    folder.mkdir()
    code, out, err = run(["--data-dir", str(shop), "search", str(folder)], capsys)
    assert code == USER_ERROR and not out
    assert len(err.strip().splitlines()) == 1, err
    assert_names(err.strip(), "decorlens: error: ", folder, " is a folder: `decorlens search` takes one photo; "
                 "`decorlens tag FOLDER --out DIR` tags every photo in a folder")


def test_search_help_says_what_top_k_counts_with_scenes(shop: Path, capsys: pytest.CaptureFixture[str]):
    """`search --help` said "--top-k N  matches per tag (default 5)"; with --scenes it counts the photos listed,
    10 unless told, as a run shows."""
    _, text, _ = run(["search", "--help"], capsys)
    assert "with --scenes, photos listed (default 10)" in " ".join(text.split())
    photo = str(next(Path(shop.parent / "products" / "sofa").glob("*.jpg")))
    code, out, err = run(["--data-dir", str(shop), "search", "--scenes", photo, "--json"], capsys)
    assert code == 0, err
    assert len(json.loads(out)["scenes"]) == 2  # both tagged photos: fewer than 10


_HELD_IMPORT = """
import sys
import engine.pipeline
from decorlens.main import main

work = engine.pipeline.import_rows

def held(catalog, rows, matcher, images, progress, cancelled):
    def first_chunk_stored(done, total):
        if not held.told:
            held.told = True
            print("stored", done, "of", total, flush=True)
            sys.stdin.readline()
    return work(catalog, rows, matcher, images, first_chunk_stored, cancelled)

held.told = False
engine.pipeline.import_rows = held
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_stops_a_catalog_import_as_ctrl_c_does(ikea: Path, exported_models: Path, tmp_path: Path):
    """SIGTERM (a scheduler's timeout, `kill`) to `catalog import` ended it at once, exit 143 and not a word,
    where `tag` and `bundle import` stop, say so and exit 130. Now the import is rolled back and says so, as
    for Ctrl-C. The real CLI in a process of its own, held after its first chunk of lamps is stored."""
    data = tmp_path / "data"
    shutil.copytree(exported_models, data / "models")
    shutil.copytree(ikea / "products" / "lamp", tmp_path / "products" / "lamp")
    cli = subprocess.Popen([sys.executable, "-c", _HELD_IMPORT, "--data-dir", str(data), "catalog", "import",
                            str(tmp_path / "products")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        stored = cli.stdout.readline().split()
        assert stored[0] == "stored" and int(stored[1]) < int(stored[3]), cli.communicate()  # mid-import
        cli.send_signal(signal.SIGTERM)
        out, err = cli.communicate("go on\n", timeout=120)
    finally:
        cli.kill()
    assert (cli.returncode, out, err) == (130, "", "decorlens: interrupted; nothing half-written was kept\n")
    with Catalog(data / "catalog.sqlite") as catalog:
        assert catalog.count() == 0


def test_bundle_export_into_a_folder_says_where_the_bundle_went(shop: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]):
    """`bundle export shared/` writes shared/<data dir>.dlcat, and said "wrote data.dlcat: …": the file's name
    alone, so a script's log did not say where the bundle was."""
    folder = tmp_path / "shared"
    folder.mkdir()
    code, out, err = run(["--data-dir", str(shop), "bundle", "export", str(folder)], capsys)
    assert code == 0, err
    assert out.startswith(f"wrote {folder / 'data.dlcat'}: ") and (folder / "data.dlcat").is_file(), out


def test_catalog_show_says_no_tag_searches_the_products_category(shop: Path, capsys: pytest.CaptureFixture[str]):
    """`catalog import` warns "no photo will match them: other (6)"; `catalog show` of one of them said "photos
    can be matched to it" (and --json "searchable": true), and nothing of its category."""
    _, listed, _ = run(["--data-dir", str(shop), "catalog", "list", "--category", "other", "--limit", "1"], capsys)
    sku = listed.split()[0]
    code, out, _ = run(["--data-dir", str(shop), "catalog", "show", sku], capsys)
    assert code == 0
    lines = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert "photos can be matched" not in lines["vector"], out
    assert lines["tags"].startswith("none searches its category other: only `search --any-category` or a --box"), out
    _, out, _ = run(["--data-dir", str(shop), "catalog", "show", sku, "--json"], capsys)
    assert json.loads(out)["category_searched"] is False
    _, listed, _ = run(["--data-dir", str(shop), "catalog", "list", "--category", "sofa", "--limit", "1"], capsys)
    _, out, _ = run(["--data-dir", str(shop), "catalog", "show", listed.split()[0], "--json"], capsys)
    assert json.loads(out)["category_searched"] is True


def test_a_data_folder_that_was_not_there_is_said_to_be_new(shop: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]):
    """A typo in --data-dir answered "0 products" from a new, empty folder, as if the catalog were gone."""
    typo = tmp_path / "shopp"
    code, out, err = run(["--data-dir", str(typo), "catalog", "stats"], capsys)
    assert code == 0 and f"made the data folder {typo}: it did not exist" in err, out + err
    for args in (["--data-dir", str(typo)], ["--data-dir", str(shop)], ["-q", "--data-dir", str(tmp_path / "new")]):
        code, out, err = run([*args, "catalog", "stats"], capsys)
        assert code == 0 and "made the data folder" not in err, out + err  # there now, or asked for quiet
