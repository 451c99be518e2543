"""Option combinations a command would leave unused are refused in one line naming both options, or honoured.

Each of these ran and exited 0 as if the option had taken effect: `search --category` without `--box`,
`search --scenes` with the region options, `catalog duplicates --keep` with `--variants` (the group was
removed), `catalog duplicates --keep --json` (a sentence on stdout), `catalog embed --ray --cpus`, and
`train --resume` with no run to resume (a new run started in silence). Each test below says what its
command did before.
"""

from __future__ import annotations

import json
import shutil
import sys
import types
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from decorlens.main import main
from engine.catalog import Catalog
from engine.errors import DecorLensError

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


@pytest.fixture
def shop_copy(shop: tuple[Path, list[str]], tmp_path: Path) -> tuple[Path, list[str]]:
    """The shop for a test that changes its catalog."""
    data, group = shop
    shutil.copytree(data, tmp_path / "data")
    return tmp_path / "data", group


def _skus(data: Path) -> set[str]:
    catalog = Catalog(data / "catalog.sqlite")
    try:
        return {p.sku for p in catalog.products(None, "", 100)}
    finally:
        catalog.close()


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


@pytest.mark.parametrize("option", [["--box", "0,0,50,50"], ["--any-category"], ["--matcher", "colour"]])
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


def test_search_scenes_category_must_be_a_catalog_category(shop, ikea: Path, capsys: pytest.CaptureFixture[str]):
    """--scenes --category compares the objects whose tag searches a catalog category: a name the catalog has
    no products under compares none, and would list no photo as if none looked alike."""
    data, _ = shop
    product = min((ikea / "products" / "lamp").glob("*.jpg"))
    assert main(["--data-dir", str(data), "search", "--scenes", str(product), "--category", "lamps"]) == 2
    out, err = capsys.readouterr()
    line = _one_error_line(err)
    assert out == "" and "--category 'lamps' is not a catalog category (did you mean lamp?)" in line


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


# -- catalog --------------------------------------------------------------------------------------


def test_duplicates_keep_and_variants_together_are_refused(shop_copy, capsys: pytest.CaptureFixture[str]):
    """--keep won and --variants was dropped: the group the user meant to keep as variants was removed."""
    data, group = shop_copy
    with pytest.raises(SystemExit) as info:
        main(["--data-dir", str(data), "catalog", "duplicates", "--keep", group[0], "--variants", group[1]])
    line = _one_error_line(capsys.readouterr().err)
    assert info.value.code == 2 and "--keep" in line and "--variants" in line
    assert set(group) <= _skus(data)


def test_duplicates_actions_print_json_with_json(shop_copy, capsys: pytest.CaptureFixture[str]):
    """--json with --keep or --variants printed the sentence: a script reading JSON failed after the removal."""
    data, group = shop_copy
    assert main(["-q", "--data-dir", str(data), "catalog", "duplicates", "--variants", group[0], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"variants_of": group[0], "marked": [group[1]]}
    assert set(group) <= _skus(data)
    assert main(["-q", "--data-dir", str(data), "catalog", "duplicates", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # the group is marked: listed no more


def test_duplicates_keep_prints_json_with_json(shop_copy, capsys: pytest.CaptureFixture[str]):
    data, group = shop_copy
    assert main(["-q", "--data-dir", str(data), "catalog", "duplicates", "--keep", group[1], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"kept": group[1], "removed": [group[0]]}
    skus = _skus(data)
    assert group[1] in skus and group[0] not in skus


def test_embed_cpus_with_ray_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """--cpus sizes a Ray started here; with --ray the cluster's own CPUs were used and --cpus was dropped."""
    with pytest.raises(SystemExit) as info:
        main(["--data-dir", str(tmp_path / "data"), "catalog", "embed", str(tmp_path / "feed.csv"),
              "--out", str(tmp_path / "vectors"), "--ray", "127.0.0.1:6379", "--cpus", "2"])
    line = _one_error_line(capsys.readouterr().err)
    assert info.value.code == 2 and "--cpus" in line and "--ray" in line


@pytest.mark.parametrize(("option", "value"), [("--workers", "0"), ("--workers", "-2"), ("--cpus", "0"),
                                               ("--cpus", "-1")])
def test_embed_counts_below_one_are_refused(option: str, value: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]):
    """argparse's own check, as for every count: --workers 0 was refused only after the embedder was looked up
    (by scale.embed), and --cpus 0 or -1 went to Ray (-1 ended in Ray's words about resource quantities)."""
    with pytest.raises(SystemExit) as info:
        main(["--data-dir", str(tmp_path / "data"), "catalog", "embed", str(tmp_path / "feed.csv"),
              "--out", str(tmp_path / "vectors"), option, value])
    line = _one_error_line(capsys.readouterr().err)
    assert info.value.code == 2 and option in line and f"{value} is not between 1" in line


# -- train ----------------------------------------------------------------------------------------


def test_train_resume_with_nothing_to_resume_is_refused(tmp_path: Path, ikea: Path,
                                                       capsys: pytest.CaptureFixture[str]):
    """--resume with no run in the folder started a new run in silence (a mistyped --name, or a --recipe
    left out, names another folder). A quick run's options, so that a regression ends soon."""
    pytest.importorskip("torch")
    pytest.importorskip("pytorch_metric_learning")
    data = tmp_path / "data"
    code = main(["--data-dir", str(data), "train", "--data", str(ikea), "--resume", "--name", "typo",
                 "--limit-scenes", "2", "--epochs", "1", "--views", "1", "--no-export"])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 2 and "--resume" in line and "typo" in line and "last.pt" in line
    assert not (data / "training-runs").exists()


def test_train_resume_before_the_first_epoch_ended_says_it_starts_over(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]):
    """A run stopped in epoch 1 holds best.pt but no last.pt, and its Ctrl-C line says `--resume` continues
    from epoch 0: that resumes, saying it starts at epoch 1; so does a pair's network not yet started."""
    from decorlens.train import _check_resumable

    first, second = tmp_path / "run" / "mobilenet_v2", tmp_path / "run" / "efficientnet-lite0"
    with pytest.raises(DecorLensError, match="--resume: no training run in .*run to continue"):
        _check_resumable([first, second], quiet=False)
    first.mkdir(parents=True)
    (first / "best.pt").write_bytes(b"")
    _check_resumable([first], quiet=False)
    assert "--resume: no finished epoch in" in capsys.readouterr().err
    (first / "last.pt").write_bytes(b"")
    _check_resumable([first, second], quiet=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "efficientnet-lite0" in err[0] and "trains from epoch 1" in err[0]
    _check_resumable([first, second], quiet=True)
    assert capsys.readouterr().err == ""


def test_train_resume_with_other_weights_is_refused_before_any_work(tmp_path: Path):
    """The checkpoint's weights replaced --weights in silence, after the frozen layers' views had been cached
    from --weights. Refused before the dataset is read (no pipeline is needed to get there), either way round."""
    torch = pytest.importorskip("torch")
    from training.data import DatasetError
    from training.loop import TrainConfig, _plain, train

    run = tmp_path / "run"
    run.mkdir()
    started = TrainConfig(data=tmp_path / "no-dataset", out=run, resume=True, frozen_blocks=14)

    def checkpoint(config: TrainConfig) -> None:
        torch.save({"config": _plain(asdict(config)), "state": {}}, run / "last.pt")

    checkpoint(started)
    with pytest.raises(DecorLensError) as info:
        train(replace(started, weights=tmp_path / "other.pth"), None)
    line = str(info.value)
    assert "--resume" in line and "--weights" in line and "other.pth" in line and "leave --weights out" in line
    checkpoint(replace(started, weights=tmp_path / "mine.pth"))
    with pytest.raises(DecorLensError, match=r"started from --weights .*mine\.pth, not no --weights: pass --weights"):
        train(started, None)
    with pytest.raises(DecorLensError, match="other.pth"):
        train(replace(started, weights=tmp_path / "other.pth"), None)
    with pytest.raises(DatasetError, match="no-dataset"):  # the same weights resume: on to read the dataset
        train(replace(started, weights=tmp_path / "mine.pth"), None)


# -- models ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", [["--weights", "r50.pth"], ["--projection", "64"], ["--num-classes", "1001"]])
def test_models_export_refuses_embedder_options_for_a_yolo_pt(option: list[str], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]):
    """A YOLO .pt was exported as it is, the embedder's options dropped, and 'wrote …' said nothing of it."""
    assert main(["--data-dir", str(tmp_path / "data"), "models", "export", "yolo11n-ovint8-dq.pt", *option]) == 2
    out, err = capsys.readouterr()
    line = _one_error_line(err)
    assert out == "" and option[0] in line and "yolo11n-ovint8-dq.pt" in line and "YOLO .pt" in line
    assert not (tmp_path / "data" / "models").exists()


def test_models_export_refuses_trust_pt_for_a_torchvision_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["--data-dir", str(tmp_path / "data"), "models", "export", "resnet50", "--trust-pt"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--trust-pt" in line and "resnet50" in line and "YOLO .pt" in line


@pytest.mark.parametrize("kind", ["detector", "pose"])
def test_models_card_output_is_refused_unless_embedder(kind: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]):
    """--output names an embedder's output; a detector's or pose card was written without a word about it."""
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"")
    assert main(["--data-dir", str(tmp_path / "data"), "models", "card", str(onnx), "--kind", kind,
                 "--output", "features"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--output" in line and f"--kind {kind}" in line
    assert not list(tmp_path.glob("*.card.json"))


def test_models_combine_seed_without_calibrate_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """--seed chooses the validation scenes --calibrate measures on; without it the seed was dropped."""
    assert main(["--data-dir", str(tmp_path / "data"), "models", "combine", "a.onnx", "b.onnx", "--name", "pair",
                 "--seed", "1"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--seed" in line and "--calibrate" in line


# -- train-detector -------------------------------------------------------------------------------


@pytest.mark.parametrize("option", [["--threshold", "0.6"], ["--min-labels", "1"], ["--paste", "2"],
                                    ["--limit-scenes", "4"]])
def test_train_detector_yolo_data_refuses_the_labelling_options(option: list[str], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]):
    """A --yolo-data set is trained on as it is labelled: these shape pseudo labels and were dropped
    (--threshold was even written into the card's recipe)."""
    assert main(["--data-dir", str(tmp_path / "data"), "train-detector", "--yolo-data", str(tmp_path / "data.yaml"),
                 *option]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert option[0] in line and "--yolo-data" in line
    assert not (tmp_path / "data" / "training-runs").exists()


def test_train_detector_export_only_refuses_conf(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """--conf is written into the trained model's card; --export-only trains nothing."""
    assert main(["--data-dir", str(tmp_path / "data"), "train-detector", "--data", str(tmp_path / "pairs"),
                 "--export-only", "--conf", "0.2"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--conf" in line and "--export-only" in line


@pytest.mark.parametrize("option", [["--base", "yolov8n.pt"], ["--trust-pt"], ["--epochs", "5"], ["--imgsz", "320"],
                                    ["--batch", "8"], ["--freeze", "0"], ["--patience", "5"]])
def test_train_detector_export_only_refuses_the_training_options(option: list[str], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]):
    """--export-only writes the dataset and stops: these are read only by the fine-tuning after it, and were
    dropped in silence (the dataset written, exit 0). Refused before the dataset is even looked for."""
    assert main(["--data-dir", str(tmp_path / "data"), "train-detector", "--data", str(tmp_path / "pairs"),
                 "--export-only", *option]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert option[0] in line and "--export-only" in line and "pairs" not in line
    assert not (tmp_path / "data" / "training-runs").exists()


def test_train_detector_export_only_keeps_the_options_its_labelling_uses(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]):
    """The split, the pseudo labels, the run folder and the device the labelling runs on: not refused, on to
    read the dataset (missing here)."""
    pytest.importorskip("torch")
    code = main(["--device", "cpu", "--data-dir", str(tmp_path / "data"), "train-detector", "--data",
                 str(tmp_path / "pairs"), "--export-only", "--seed", "3", "--limit-scenes", "2", "--threshold", "0.5",
                 "--min-labels", "1", "--paste", "1", "--out", str(tmp_path / "run"), "--name", "mine",
                 "--review", "2"])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 2 and "pairs: no products.csv" in line


# -- eval -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("matchers", "option", "needed"), [
    ("colour,pretrained", ["--finetuned", "ft.onnx"], "finetuned"),
    ("colour,finetuned", ["--also-embedder", "effnet_lite0_gem.onnx"], "pretrained"),
    ("finetuned", ["--levers", "flip"], "pretrained"),
])
def test_eval_refuses_options_of_a_matcher_left_out(matchers: str, option: list[str], needed: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]):
    """--finetuned was never loaded without the finetuned matcher (a missing file passed); --also-embedder and
    --levers were scored, but their comparison with pretrained was left out of the report without a word."""
    assert main(["--data-dir", str(tmp_path / "data"), "eval", "--data", str(tmp_path / "pairs"),
                 "--matchers", matchers, *option]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert option[0] in line and f"--matchers {matchers}" in line and f"add {needed} to --matchers" in line


# -- bundle ---------------------------------------------------------------------------------------


def test_bundle_import_images_from_is_refused_for_a_bundle_with_its_images(shop, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]):
    """The bundle's own images were used and the named folder never read: refused before anything is replaced."""
    data, _ = shop
    bundle = tmp_path / "shop.dlcat"
    assert main(["-q", "--data-dir", str(data), "bundle", "export", str(bundle)]) == 0
    capsys.readouterr()
    target = tmp_path / "till"
    assert main(["-q", "--data-dir", str(target), "bundle", "import", str(bundle), "--images-from",
                 str(tmp_path)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--images-from" in line and "--no-images" in line and "shop.dlcat" in line
    assert not (target / "catalog.sqlite").exists()


# -- the app --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "option"), [
    (["--device", "cpu"], "--device"),
    (["--embedder", "effnet_lite0_gem.onnx", "gui"], "--embedder"),
    (["--detector", "yolo11n-ovint8-dq.onnx", "gui", "room.jpg"], "--detector"),
])
def test_the_app_refuses_the_model_options_it_would_drop(argv: list[str], option: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]):
    """The window builds its engine from config.yaml and Settings (and rebuilds it from them), so these were
    dropped and the app ran the saved choice. No window opens here: a stand-in app.main records a launch."""
    launched = []
    fake = types.ModuleType("app.main")
    fake.launch = lambda *a, **k: launched.append((a, k)) or 0
    monkeypatch.setitem(sys.modules, "app.main", fake)
    monkeypatch.setattr("decorlens.gui.has_display", lambda: True)
    assert main(["--data-dir", str(tmp_path / "data"), *argv]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert option in line and "Settings" in line and not launched
    assert main(["--data-dir", str(tmp_path / "data"), "gui"]) == 0 and len(launched) == 1
