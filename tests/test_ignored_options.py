"""Option combinations a command would leave unused are refused in one line naming both options, or honoured.

Each of these ran and exited 0 as if the option had taken effect: `search --category` without `--box`,
and `search --scenes` with the region options.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from decorlens.main import main

LAMPS = 3


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path) -> tuple[Path, list[str]]:
    """A data dir of a few IKEA lamps and a byte-identical copy of the first (one duplicate group); its SKUs."""
    root = tmp_path_factory.mktemp("shop")
    folder = root / "products" / "lamp"
    folder.mkdir(parents=True)
    lamps = sorted((ikea / "products" / "lamp").glob("*.jpg"))[:LAMPS]
    for image in lamps:
        shutil.copy(image, folder / image.name)
    shutil.copy(lamps[0], folder / f"{lamps[0].stem}-copy.jpg")
    data = root / "data"
    assert main(["-q", "--data-dir", str(data), "catalog", "import", str(root / "products")]) == 0
    return data, [lamps[0].stem, f"{lamps[0].stem}-copy"]


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# -- search ---------------------------------------------------------------------------------------


def test_search_category_without_box_is_refused(shop, scene_path, capsys: pytest.CaptureFixture[str]):
    """Without --box each object's detected category was searched and --category was dropped in silence."""
    data, _ = shop
    assert main(["--data-dir", str(data), "search", str(scene_path("sofa")), "--category", "lamp"]) == 2
    out, err = capsys.readouterr()
    line = _one_error_line(err)
    assert out == "" and line.startswith("decorlens: error: ") and "--category" in line and "--box" in line


@pytest.mark.parametrize("option", [["--box", "0,0,50,50"], ["--category", "lamp"], ["--any-category"],
                                    ["--matcher", "colour"]])
def test_search_scenes_refuses_the_options_it_would_not_use(option: list[str], shop, ikea: Path,
                                                           capsys: pytest.CaptureFixture[str]):
    """--scenes ranks by the whole product photo's embedder vector, whatever these said."""
    data, _ = shop
    product = min((ikea / "products" / "lamp").glob("*.jpg"))
    assert main(["--data-dir", str(data), "search", "--scenes", str(product), *option]) == 2
    out, err = capsys.readouterr()
    line = _one_error_line(err)
    named = " ".join(option) if option[0] == "--matcher" else option[0]
    assert out == "" and "--scenes" in line and f"{named} does not apply" in line


def test_search_box_category_must_be_known(shop, scene_path, capsys: pytest.CaptureFixture[str]):
    """A misspelt category searched no category at all: 'no match in the searched categories', exit 0."""
    data, _ = shop
    search = ["--data-dir", str(data), "search", str(scene_path("sofa")), "--box", "300,400,900,700"]
    assert main([*search, "--category", "lamps"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--category 'lamps'" in line and "did you mean lamp?" in line
    for known in ("lamp", "sofa"):  # a catalog category; a decor category of the map
        assert main([*search, "--category", known, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["objects"][0]["category"] == known
