"""A seventh hostile-input review: files a user is handed that the earlier reviews did not aim at (a photo folder's
names reaching the command line, a photo's saved edits exported as a page).

Each test fails without the fix it names; real files in tmp_path, no mocks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from decorlens.main import main
from decorlens.search import render
from decorlens.terminal import json_text
from engine.catalog import Catalog, Product
from engine.errors import ModelError
from engine.models import ResolvedModel, read_card
from engine.onnx_cards import MAX_LITERAL
from engine.people import POSE_MODELS, PoseModel
from engine.results import SceneResult
from engine.shoppable import IMAGES, PRODUCTS, in_catalog, write_page

SCENE = "a-cosy-space-for-coffee-and-conversation"
# A downloaded photo's name: retitles the terminal, clears it, and reads backwards from the override on
HOSTILE_NAME = "\x1b]0;PWNED\x07\x1b[2J\u202egpj.exe"


def test_a_file_name_argparse_quotes_cannot_drive_the_terminal(tmp_path: Path, capsys) -> None:
    """``decorlens search photos/*`` over a folder holding a file named with terminal escapes: argparse's
    "unrecognized arguments" line quoted the name raw (fixed in ``OneLineParser.error``)."""
    with pytest.raises(SystemExit) as ended:
        main(["--data-dir", str(tmp_path / "data"), "search", "room.jpg", HOSTILE_NAME,
              "a\ndecorlens: error: licence expired"])
    err = capsys.readouterr().err
    assert ended.value.code == 2
    assert not any(c in err for c in "\x1b\x07\u202e"), repr(err)
    assert "\\u001b]0;PWNED\\u0007\\u001b[2J\\u202egpj.exe" in err
    assert err.count("\n") == 1, err  # the name's own line break forges no line


def _red_pictures(folder: Path) -> list[str]:
    """The pictures in ``folder`` that are the red square of the test (as JPEG gives it back: near red)."""
    red = np.array([255, 0, 0])
    return [p.name for p in sorted(folder.iterdir())
            if np.abs(np.asarray(Image.open(p).convert("RGB")).reshape(-1, 3).mean(0) - red).max() < 16]


def test_a_pages_products_are_shown_as_the_catalog_sells_them(tmp_path: Path, ikea: Path, scene_path,
                                                              ikea_products: list[dict[str, str]]) -> None:
    """A scene from a file (a photo's saved edits, a batch's JSON) naming a catalog SKU with a picture, name, price
    and link of its own: the picture, any local file, was re-encoded into the page's ``images/`` for publishing,
    and the rest shown as the file had them (fixed in ``engine.shoppable.in_catalog``)."""
    row = next(r for r in ikea_products if r["category"] == "lamp")
    catalog = Catalog(tmp_path / "catalog.sqlite")
    with catalog.transaction() as revision:
        catalog.upsert(Product(row["product_id"], row["name"], "lamp", str(ikea / row["image"]),
                               url="https://www.ikea.com/lamp", price="25"), revision)
    private = tmp_path / "private.png"  # a picture of the user's own, never meant for the web
    Image.fromarray(np.full((64, 64, 3), (255, 0, 0), np.uint8)).save(private)
    forged = {"sku": row["product_id"], "name": "Forged name", "category": "lamp", "price": "0.01",
              "url": "https://evil.example/pay", "image_path": str(private), "score": 0.9, "match": "exact"}
    scene = {"width": 100, "height": 100,
             "objects": [{"number": 1, "tag": [50, 50], "matches": [forged], "confirmed": dict(forged)}]}
    shown, gone = in_catalog(catalog, scene)
    catalog.close()
    page = write_page(shown, scene_path(SCENE), tmp_path / "out", "room")
    text = page.read_text(encoding="utf-8")
    assert gone == 0
    assert _red_pictures(tmp_path / "out" / IMAGES / PRODUCTS) == []
    assert "Forged" not in text and "evil.example" not in text and "0.01" not in text
    assert row["name"] in text and 'href="https://www.ikea.com/lamp"' in text


def _onnx_with_metadata(path: Path, metadata: dict[str, str], single_number: bool = False) -> Path:
    """A one-node ONNX model on a 1x3x64x64 input with ``metadata`` as its ultralytics-style entries: Identity, or
    with ``single_number`` the input's largest value (an output of no axes)."""
    import onnx
    from onnx import TensorProto, helper

    tensor = [1, 3, 64, 64]
    node = (helper.make_node("ReduceMax", ["images"], ["output0"], keepdims=0) if single_number
            else helper.make_node("Identity", ["images"], ["output0"]))
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, tensor)],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT,
                                                             [] if single_number else tensor)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    helper.set_model_props(model, metadata)
    onnx.save(model, path)
    return path


def test_an_onnx_metadata_entry_past_its_size_is_refused_before_it_is_parsed(tmp_path: Path, capsys) -> None:
    """``models card`` of a model handed over: its 'imgsz' a list of zeros parsed as a Python literal at some 470
    bytes a character (a 10 MB model took 4.7 GB); refused from its length (fixed in ``engine.onnx_cards._literal``),
    and no card written."""
    zeros = "[" + "0," * (MAX_LITERAL // 2 + 1) + "]"
    model = _onnx_with_metadata(tmp_path / "handed.onnx", {"names": "{0: 'lamp'}", "imgsz": zeros})
    assert main(["--data-dir", str(tmp_path / "data"), "models", "card", str(model), "--kind", "detector"]) == 2
    err = capsys.readouterr().err
    assert "metadata 'imgsz' is 262,148 characters long, more than 262,144" in err, err
    assert not (tmp_path / "handed.card.json").exists()


def test_a_price_past_what_a_float_holds_leaves_the_sort_by_price_working(tmp_path: Path, ikea: Path,
                                                                          ikea_products: list[dict[str, str]]) -> None:
    """A feed's price of 400 nines read as infinity, which the price sort passes to SQLite in JSON as "Infinity":
    "malformed JSON", and every sort of the catalog by price failed (fixed in ``engine.prices.price_value``: no
    price, listed last)."""
    catalog = Catalog(tmp_path / "catalog.sqlite")
    with catalog.transaction() as revision:
        for row, price in zip(ikea_products, ("9" * 400, "12", "3"), strict=False):
            catalog.upsert(Product(row["product_id"], row["name"], row["category"], str(ikea / row["image"]),
                                   price=price), revision)
    try:
        assert [p.price for p in catalog.products(order="price")] == ["3", "12", "9" * 400]
        assert [p.price for p in catalog.products(order="price_desc")] == ["12", "3", "9" * 400]
    finally:
        catalog.close()


def test_a_searched_photo_whose_name_is_not_utf8_is_reported_on_a_strict_utf8_terminal() -> None:
    """``decorlens search`` of a photo from a zip of an older Windows' photos (``caf\\xe9.jpg``): its report printed the
    name's lone surrogate, and on a UTF-8 desktop's terminal (strict) the search, done, ended in "not UTF-8 text …
    save it again as UTF-8" (fixed in ``decorlens.search.render``; ``--json`` writes it ``\\udce9``, read back as
    the exact path)."""
    result = SceneResult(image="photos/caf\udce9.jpg", width=1024, height=765, device="CPU", timings_ms={})
    assert render(result).encode("utf-8").startswith("photos/caf\ufffd.jpg  1024x765".encode())
    assert '"image": "photos/caf\\udce9.jpg"' in json_text(result.to_json())


def test_a_path_whose_name_is_not_utf8_is_printed_on_a_strict_utf8_stdout(tmp_path: Path, capsys) -> None:
    """A report line naming a folder whose name is not UTF-8 (an unpacked archive's; here the data folder, as ``tag
    --out`` or ``bundle export`` name theirs): on a strict UTF-8 stdout, as pytest's is, the command, its work
    done, ended in "not UTF-8 text … save it again as UTF-8" (fixed in ``decorlens.terminal.EscapingWriter``)."""
    folder = tmp_path / os.fsdecode(b"caf\xe9")
    assert main(["-q", "--data-dir", str(folder), "catalog", "stats"]) == 0
    out = capsys.readouterr().out
    assert "caf\ufffd" in out and f"{os.sep}catalog.sqlite)" in out, out


def test_a_pose_model_whose_output_has_too_few_axes_is_refused_when_opened(tmp_path: Path) -> None:
    """A model under the pose model's name in a models folder handed over, its card a pose model's, its output a
    single number: every search with people on ended in 'unexpected IndexError' (fixed in
    ``engine.people.PoseModel``)."""
    path = _onnx_with_metadata(tmp_path / POSE_MODELS[0], {}, single_number=True)
    path.with_suffix(".card.json").write_text(json.dumps(
        {"name": "pose", "kind": "pose", "input_size": 64, "resize": "letterbox", "input_name": "images",
         "output_name": "output0"}))
    with pytest.raises(ModelError, match="its output is a single number, not a box, a person score and 17 keypoints"):
        PoseModel(ResolvedModel(path, read_card(path)), "cpu")
