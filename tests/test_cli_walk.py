"""A merchandiser's weekly script, command by command, on a real IKEA slice: what each line says must be what
happened, in words (no "0 tags in 0 photos", no file-name slugs), and nothing done must exit 2, not 0 or 1.

The slice: the IKEA clocks and sofas imported through the CLI, and one real room photo tagged."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from decorlens.errors import USER_ERROR
from decorlens.main import main
from engine.backups import list_backups

SCENE = "take-a-comfy-seat-on-the-sofa"
CATEGORIES = ("clock", "sofa")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, exported_models: Path) -> Path:
    """A data dir holding the IKEA clocks and sofas (a folder import) and one tagged room photo."""
    root = tmp_path_factory.mktemp("walk")
    data = root / "data"
    shutil.copytree(exported_models, data / "models")
    for category in CATEGORIES:
        shutil.copytree(ikea / "products" / category, root / "products" / category)
    assert main(["-q", "--data-dir", str(data), "catalog", "import", str(root / "products")]) == 0
    scene = next((ikea / "scenes").glob(f"*{SCENE}*.jpg"))
    assert main(["-q", "--data-dir", str(data), "tag", str(scene), "--out", str(root / "tagged")]) == 0
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
    assert "the best match of no tag in the 1 tagged photo;" in out, out
    assert "0 tags" not in out and " 0 of " not in out, out


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
    assert json.loads(out)["categories"]["clock"] == 11


def test_a_sku_given_twice_is_removed_once_and_the_run_is_done(copy: Path, capsys: pytest.CaptureFixture[str]):
    """The same SKU twice (a script's list with a repeat) printed "removed 1 of 2 products" and exited 1."""
    _, listed, _ = run(["--data-dir", str(copy), "catalog", "list", "--category", "clock", "--limit", "1"], capsys)
    sku = listed.split()[0]
    code, out, _ = run(["--data-dir", str(copy), "catalog", "remove", sku, sku], capsys)
    assert (code, out) == (0, "removed 1 of 1 product\n")
