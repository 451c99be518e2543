"""Which models a user can choose from: every carded ONNX file on the model search path."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from error_lines import assert_names

from engine.embed import Embedder
from engine.errors import ModelError
from engine.files import sha256_of
from engine.models import MAX_INPUT_SIZE, ModelCard, ResolvedModel, available_models, read_card, write_card

V1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
V2 = "mobilenet_v2_1.0_224_quant.float.onnx"
OIV7 = "yolov8n-oiv7-int8.onnx"


def test_available_models_lists_the_shared_models_by_kind(shared_models: Path, tmp_path: Path):
    models = available_models(shared_models, tmp_path)
    kinds = {m.path.name: m.card.kind for m in models}
    assert kinds[V1] == kinds[V2] == "embedder"
    assert kinds[OIV7] == "detector"
    assert models == sorted(models, key=lambda m: (m.card.kind, m.card.name))
    assert all(m.path.parent == shared_models for m in models)


def test_available_models_skip_uncarded_files_and_list_each_name_once(shared_models: Path, tmp_path: Path):
    own = tmp_path / "models"
    own.mkdir()
    (own / "stray.onnx").write_bytes(b"no card")
    (own / OIV7).write_bytes(b"shadowed by the models folder")
    write_card(own / OIV7, ModelCard("copy", "detector", 640))
    write_card(own / "custom.onnx", ModelCard("custom", "embedder", 224, output_dim=8))
    (own / "custom.onnx").write_bytes(b"an embedder of our own")

    by_name = {m.path.name: m for m in available_models(shared_models, tmp_path)}
    assert "stray.onnx" not in by_name
    assert by_name[OIV7].path == shared_models / OIV7  # the folder `locate` searches first wins
    assert by_name["custom.onnx"].card.kind == "embedder"


E = b'{"name": "m", "kind": "embedder", "input_size": 224'  # a card's start, for the fields after it
D = b'{"name": "m", "kind": "detector", "input_size": 640'


@pytest.mark.parametrize(("content", "message"), [
    (b"[1, 2]", "not a JSON object"),
    (b"null", "not a JSON object"),
    (b'{"name": "\xff"}', "unreadable: 'utf-8' codec"),
    (b"[" * 100_000 + b"]" * 100_000, "unreadable: maximum recursion depth"),
    (b'{"name": "m", "kind": "embedder", "input_size": "224"}', "'input_size' must be a side in pixels"),
    (E + b', "mean": 0.5}', "'mean' must be a list of 3 numbers"),
    (E + b', "std": [1, 0, 1]}', "'std' must be a list of 3 non-zero"),
    (b'{"name": 5, "kind": "detector", "input_size": 640}', "'name' must be text"),
    (D + b', "class_names": "chair"}', "'class_names' must be a list"),
    (D + b', "input_name": ["images"]}', "'input_name' must be text"),
    (D + b', "default_conf": {}}', "'default_conf' must be a number"),
])
def test_a_card_of_the_wrong_shape_is_one_line_and_left_out_of_the_list(
    shared_models: Path, tmp_path: Path, content: bytes, message: str
):
    """Found by fuzzing: a card that is not an object, not UTF-8 or nested too deep raised AttributeError,
    UnicodeDecodeError or RecursionError (out of the listing too); a field of the wrong kind was taken and
    failed later inside a search (TypeError on a text input_size or a list as input_name, IndexError on a
    number as mean)."""
    own = tmp_path / "models"
    own.mkdir()
    (own / "custom.onnx").write_bytes(b"an embedder of our own")
    (own / "custom.card.json").write_bytes(content)
    with pytest.raises(ModelError, match=re.escape(message)) as info:
        read_card(own / "custom.onnx")
    assert "\n" not in str(info.value) and "custom.card.json" in str(info.value)
    assert "custom.onnx" not in {m.path.name for m in available_models(shared_models, tmp_path)}


def _with_metadata(model: bytes, **entries: str) -> bytes:
    """An ONNX file's bytes with ``metadata_props`` entries appended (protobuf merges repeated fields)."""
    def field(number: int, payload: bytes) -> bytes:  # a length-delimited protobuf field
        size, length = len(payload), b""
        while size > 0x7F:
            length, size = length + bytes([size & 0x7F | 0x80]), size >> 7
        return bytes([number << 3 | 2]) + length + bytes([size]) + payload

    props = (field(14, field(1, k.encode()) + field(2, v.encode())) for k, v in entries.items())
    return model + b"".join(props)


NOT_NAMES = "its ONNX metadata 'names' is not a mapping of class ids to class names"
NO_SIDE = f"its ONNX metadata 'imgsz' gives no input side in pixels up to {MAX_INPUT_SIZE}"


@pytest.mark.parametrize(("names", "imgsz", "message"), [
    ("{0: 'chair', 1: ", "[224, 224]", "its ONNX metadata 'names' is not a Python literal (SyntaxError)"),
    ("['chair', 'lamp']", "[224, 224]", NOT_NAMES),
    ("{0: 1, 1: 2}", "[224, 224]", NOT_NAMES),
    ("{0: 'chair'}", "[]", NO_SIDE),
    ("{0: 'chair'}", "[100000, 1]", NO_SIDE),
])
def test_a_card_from_hostile_onnx_metadata_is_one_line_and_keeps_the_card(
    shared_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], names: str, imgsz: str,
    message: str,
):
    """Found by fuzzing: `models card` read an ONNX file's class names and input size with literal_eval and
    took what came (a SyntaxError, TypeError or IndexError, 'unexpected' in the CLI), or wrote a card that
    read_card then refused, over the good card beside the model."""
    from decorlens.main import main

    model = tmp_path / "d.onnx"
    model.write_bytes(_with_metadata((shared_models / V2).read_bytes(), names=names, imgsz=imgsz))
    good = write_card(model, ModelCard("d", "detector", 224, class_names=["chair"])).read_bytes()
    capsys.readouterr()
    args = ["models", "card", str(model), "--kind", "detector", "--force"]  # past the refusal to replace it
    code = main(["-q", "--data-dir", str(tmp_path / "data"), *args])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and lines == [f"decorlens: error: {model}: {message}"]
    assert (tmp_path / "d.card.json").read_bytes() == good


def test_models_card_keeps_a_card_already_there_unless_forced(shared_models: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]):
    """`models card` wrote over the card beside a model without a word: a fine-tuned model's card holds its
    training record and its calibrated 'exact' thresholds, which a card made from the ONNX cannot."""
    from decorlens.main import main

    model = tmp_path / "d.onnx"
    model.write_bytes(_with_metadata((shared_models / V2).read_bytes(), names="{0: 'chair'}", imgsz="[224, 224]"))
    trained = write_card(model, ModelCard("d", "detector", 224, class_names=["chair"], metrics={"map50": 0.5}))
    kept = trained.read_bytes()
    args = ["-q", "--data-dir", str(tmp_path / "data"), "models", "card", str(model), "--kind", "detector"]
    assert main(args) != 0
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "/d.card.json already exists" in line and "--force" in line and trained.read_bytes() == kept
    assert main([*args, "--force"]) == 0
    assert trained.read_bytes() != kept and "map50" not in read_card(model).metrics


@pytest.mark.parametrize("kind", ["a FIFO (named pipe)", "is a folder", "a device"])
def test_models_card_says_what_a_path_that_is_no_file_is(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          kind: str):
    """A FIFO, a device or a folder given to `models card` was "no such file", and the user looked for a file that
    was there (a FIFO is not opened to wait for a writer: the open does not block)."""
    from decorlens.main import main

    path = {"is a folder": tmp_path, "a device": Path(os.devnull)}.get(kind, tmp_path / "pipe.onnx")
    if kind.startswith("a FIFO"):
        os.mkfifo(path)
    assert main(["-q", "--data-dir", str(tmp_path / "data"), "models", "card", str(path), "--kind", "detector"]) != 0
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert_names(line, "decorlens: error: ", path, f": {kind}, not a regular file; give the model's .onnx file")


def _refusal_of(model: Path) -> str:
    """The one line opening ``model`` as the engine opens an embedder."""
    with pytest.raises(ModelError) as info:
        Embedder(ResolvedModel(model, read_card(model)), "cpu")
    return str(info.value)


def test_a_replaced_pack_model_is_refused_with_the_fetch_that_puts_it_back(shared_models: Path, tmp_path: Path):
    """The advice was to write its card again with `models card`: a card without the pack card's
    calibration, under another name (the whole catalog embedded again). The pack's own file is one
    fetch away, into the folder the replaced one is in."""
    from decorlens.main import main

    models = tmp_path / "models"
    assert main(["-q", "--data-dir", str(tmp_path / "data"), "models", "fetch", "--from", str(shared_models),
                 "--out", str(models)]) == 0
    (models / V2).write_bytes((models / "effnet_lite0_gem.onnx").read_bytes())  # another model in its place
    refused = _refusal_of(models / V2)
    assert refused.startswith(f"{V2} does not match its model card") and "models card" not in refused
    fetch = re.search(r"`decorlens (models fetch --out \S+)`", refused)
    assert fetch, refused
    assert main(["-q", "--data-dir", str(tmp_path / "data"), *fetch.group(1).split(),
                 "--from", str(shared_models)]) == 0
    assert sha256_of(models / V2) == read_card(models / V2).sha256
    assert Embedder(ResolvedModel(models / V2, read_card(models / V2)), "cpu").dim == 1280


def test_a_replaced_model_of_ones_own_is_not_sent_to_write_a_new_card(shared_models: Path, tmp_path: Path):
    """A trained model's card holds its calibrated thresholds (a detector's confidence and class set too):
    `models card` would replace it with one that has none."""
    mine = tmp_path / "my-embedder.onnx"
    mine.write_bytes((shared_models / "effnet_lite0_gem.onnx").read_bytes())
    write_card(mine, read_card(shared_models / V2))  # the card of another file
    refused = _refusal_of(mine)
    assert refused.startswith("my-embedder.onnx does not match its model card") and "models card" not in refused
    assert "export or train it again" in refused


def test_only_an_onnx_file_that_matches_its_card_is_activated(shared_models: Path, tmp_path: Path, capsys):
    """A ``.pt`` found beside its export's card (the same stem) was saved as the only detector, and every
    search then failed on "does not match its model card"; a replaced ONNX file likewise. Refused at once."""
    from decorlens.main import main

    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "models", "activate", "yolo11n-ovint8-dq.pt"]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "yolo11n-ovint8-dq.pt" in err and "ONNX" in err
    mine = tmp_path / "replaced.onnx"
    mine.write_bytes((shared_models / "effnet_lite0_gem.onnx").read_bytes())
    write_card(mine, read_card(shared_models / V2))  # the card of another file
    assert main(["--data-dir", str(data), "models", "activate", str(mine)]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "replaced.onnx does not match its model card" in err
    assert not (data / "config.yaml").exists()


def test_a_model_activated_by_its_path_is_the_one_searches_use(shared_models: Path, tmp_path: Path, capsys):
    """Only the file name was saved: an outside detector was then "not found", an outside embedder failed
    before saving, and one named like a model in the models folder said it was active while the other ran."""
    from decorlens.main import main
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("yolo11n-ovint8-dq.onnx", "yolo11n-ovint8-dq.card.json"):
        (outside / name.replace("yolo11n-ovint8-dq", "mydet")).write_bytes((shared_models / name).read_bytes())
    own = outside / "effnet_lite0_gem.onnx"  # the same name as the shared model: a copy with a card of its own
    own.write_bytes((shared_models / "effnet_lite0_gem.onnx").read_bytes())
    write_card(own, ModelCard.from_dict({**read_card(shared_models / own.name).to_dict(), "name": "my-effnet"}))
    data = tmp_path / "data"
    assert main(["-q", "--data-dir", str(data), "models", "activate", str(outside / "mydet.onnx"), str(own)]) == 0
    out = capsys.readouterr().out
    assert str(outside / "mydet.onnx") in out and str(own) in out
    pipeline = Pipeline(Settings.for_data_dir(data))
    assert [pipeline._find_first(choices).path for choices in pipeline.settings.detectors] == [outside / "mydet.onnx"]
    assert pipeline._find_first(pipeline.settings.embedder).path == own


@pytest.mark.parametrize("args", [["models", "activate", ""], ["models", "activate", "."],
                                  ["catalog", "map", "--embedder", ""], ["models", "activate", "/"]])
def test_a_model_name_that_names_no_file_is_refused_in_one_line(tmp_path: Path, capsys, args: list[str]):
    """An empty name (a script's unset variable: `decorlens models activate "$MODEL"`) ended in 'unexpected
    ValueError: PosixPath('.') has an empty name', with a traceback saved as for a bug. Found by a fuzz of
    the commands' options."""
    from decorlens.main import main

    assert main(["-q", "--data-dir", str(tmp_path / "data"), *args]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("names no model file: give an ONNX file's name, e.g. yolo11n-ovint8-dq.onnx")
