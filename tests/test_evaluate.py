"""Evaluation on two real IKEA test scenes against a small real catalog, through the CLI and the API."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from decorlens.main import main
from training.data import PairDataset, split_of
from training.evaluate import Outcome, _best_rank, mcnemar_p, paired, summarise

SCENES = (
    "ikea-with-space-for-just-a-few__1364308410846-s4",  # chair, table, stool_bench
    "ikea-use-the-space-you-have__1364308499054-s4",  # hardware_fixture, rug (no detector class), storage, wardrobe
)
DISTRACTORS_PER_CATEGORY = 8
STAND_IN = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"  # a second embedder as "fine-tuned"


@pytest.fixture(scope="module")
def mini_dataset(tmp_path_factory: pytest.TempPathFactory, ikea: Path, ikea_pairs, ikea_products) -> Path:
    """The two scenes, their products and a few same-category distractors, images by absolute path."""
    root = tmp_path_factory.mktemp("mini-ikea")
    pairs = [p for p in ikea_pairs if p["scene_id"] in SCENES]
    wanted = {p["product_id"] for p in pairs}
    categories = {p["category"] for p in pairs}
    for category in sorted(categories):
        same = sorted(r["product_id"] for r in ikea_products if r["category"] == category)
        wanted |= set(same[:DISTRACTORS_PER_CATEGORY])
    rows = [{**r, "image": str(ikea / r["image"])} for r in ikea_products if r["product_id"] in wanted]
    _write(root / "products.csv", rows)
    _write(root / "pairs.csv", pairs)
    _write(root / "scenes.csv", [{"scene_id": s, "image": str(ikea / "scenes" / f"{s}.jpg")} for s in SCENES])
    shutil.copyfile(ikea / "duplicate_images.csv", root / "duplicate_images.csv")
    return root


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory, mini_dataset: Path, exported_models: Path):
    """`decorlens eval --json` on the mini dataset: (printed JSON, reports folder)."""
    data_dir = tmp_path_factory.mktemp("eval-data")
    shutil.copytree(exported_models, data_dir / "models")
    out = data_dir / "reports"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main([
            "--data-dir", str(data_dir), "-q", "eval", "--data", str(mini_dataset), "--split", "test",
            "--finetuned", STAND_IN, "--out", str(out), "--json",
        ])
    assert code == 0
    return json.loads(printed.getvalue()), out


def test_the_scenes_are_test_scenes():
    assert all(split_of(s) == "test" for s in SCENES)


def test_json_has_the_documented_structure(evaluated):
    data, _ = evaluated
    assert set(data) >= {"overall", "per_category", "coverage"}
    assert set(data["overall"]) == {"colour", "pretrained", "finetuned"}
    for metrics in [data["overall"], *data["per_category"].values(), *data["by_product"].values()]:
        for m in metrics.values():
            assert {"top1", "top5", "recall_at", "n"} <= set(m)


def test_paired_comparison_agrees_with_the_accuracies(evaluated):
    data, _ = evaluated
    assert set(data["paired"]) == {"colour", "finetuned"}
    n = data["overall"]["pretrained"]["n"]
    for matcher, by_k in data["paired"].items():
        for key, counts in by_k.items():
            gain = data["overall"][matcher][key] - data["overall"]["pretrained"][key]
            assert counts["wins"] - counts["losses"] == round(gain * n)
            assert 0 < counts["p"] <= 1


def test_coverage_accounts_for_every_pair(evaluated, mini_dataset: Path):
    data, _ = evaluated
    cov = data["coverage"]
    pairs = PairDataset.load(mini_dataset).pairs
    assert cov["pairs"] == len(pairs) and cov["scenes"] == 2
    assert cov["evaluated"] + cov["missed"] + cov["not_detectable"] == cov["pairs"]
    assert "rug" in cov["not_detectable_categories"]  # no detector class maps to rugs
    assert cov["evaluated"] >= 3  # chair, table and storage are found in these photos
    assert cov["evaluated_seen"] + cov["evaluated_unseen"] == cov["evaluated"]


def test_all_pairs_and_per_category_coverage_agree(evaluated):
    """End to end counts every pair (missed ones as failures); per-category coverage adds up to the total."""
    data, _ = evaluated
    cov, per = data["coverage"], data["coverage_per_category"]
    assert sum(row["pairs"] for row in per.values()) == cov["pairs"]
    assert sum(row["covered"] for row in per.values()) == cov["evaluated"]
    assert per["rug"]["coverage"] == 0.0 and cov["objects_per_scene"] > 0
    for matcher, m in data["all_pairs"].items():
        assert m["n"] == cov["pairs"]
        evaluated_share = cov["evaluated"] / cov["pairs"]
        assert m["top5"] == pytest.approx(data["overall"][matcher]["top5"] * evaluated_share), matcher


def test_card_confidence_runs_each_detector_at_its_own(mini_dataset: Path, exported_models: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]):
    shutil.copytree(exported_models, tmp_path / "models")
    args = ["--data-dir", str(tmp_path), "-q", "eval", "--data", str(mini_dataset), "--matchers", "pretrained",
            "--json", "--out", str(tmp_path / "r")]
    assert main([*args, "--conf", "card"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert main([*args, "--conf", "0.01"]) == 0
    low = json.loads(capsys.readouterr().out)
    assert card["settings"]["conf"] == "card defaults"
    assert card["settings"]["class_conf"]["yolov8n-oiv7"]["Pillow"] < 0.1 and low["settings"]["class_conf"] == {}
    assert card["coverage"]["objects_per_scene"] < low["coverage"]["objects_per_scene"]


def test_tags_are_scored_and_only_for_what_the_catalog_sells(evaluated, mini_dataset: Path):
    """Pins per scene and tag precision add up, and no pin is of a category the mini catalog lacks."""
    data, _ = evaluated
    tags = data["tags"]
    with open(mini_dataset / "products.csv", newline="") as fh:
        stocked = {r["category"] for r in csv.DictReader(fh)}
    from engine.categories import CategoryMap

    searched = CategoryMap.load().searched
    assert tags["scenes"] == 2 and tags["pins"] == sum(r["pins"] for r in tags["per_category"].values())
    assert tags["pins_per_scene"] == pytest.approx(tags["pins"] / 2, abs=0.01)
    assert tags["pins"] == round(data["coverage"]["objects_per_scene"] * 2)
    assert 0 < tags["precision"] <= 1 and tags["ms_per_scene"] > 0
    for category, row in tags["per_category"].items():
        assert set(searched(category)) & stocked, category
        assert row["right"] <= row["pins"] and row["precision"] == row["right"] / row["pins"]


def test_eval_scores_with_the_users_category_map(evaluated, mini_dataset: Path, exported_models: Path,
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """The user's categories.yaml (which train-detector extends) is the map the app tags with, so eval too."""
    assert evaluated[0]["tags"]["per_category"]["chair"]["pins"] > 0  # the shipped map tags chairs here
    shutil.copytree(exported_models, tmp_path / "models")
    shipped = (Path(__file__).parents[1] / "resources" / "categories.yaml").read_text()
    user = shipped.replace("    chair: chair\n", "").replace("    Chair: chair\n", "")  # chairs not tagged
    assert user != shipped
    (tmp_path / "categories.yaml").write_text(user)
    args = ["--data-dir", str(tmp_path), "-q", "eval", "--data", str(mini_dataset), "--matchers", "pretrained",
            "--json", "--out", str(tmp_path / "r")]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["category_map"] == str(tmp_path / "categories.yaml")
    assert "chair" not in data["tags"]["per_category"]
    assert data["coverage_per_category"]["chair"]["covered"] < evaluated[0]["coverage_per_category"]["chair"]["covered"]


def test_a_run_compares_itself_with_an_earlier_report_pair_by_pair(evaluated, exported_models: Path, tmp_path: Path,
                                                                    mini_dataset: Path, capsys):
    """`--against eval.json`: coverage and end-to-end ranks of the pairs both runs scored, gains and losses."""
    earlier, out = evaluated
    assert len(earlier["pairs"]) == earlier["coverage"]["pairs"]
    shutil.copytree(exported_models, tmp_path / "models")
    code = main(["--data-dir", str(tmp_path), "-q", "eval", "--data", str(mini_dataset), "--matchers", "pretrained",
                 "--conf", "0.02", "--against", str(out / "eval.json"), "--out", str(tmp_path / "r"), "--json"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    data = json.loads(printed.out)
    c = data["against"]
    assert c["pairs"] == len(data["pairs"]) == len(earlier["pairs"])
    assert (c["covered"]["now"], c["covered"]["before"]) == (data["coverage"]["evaluated"],
                                                            earlier["coverage"]["evaluated"])
    assert c["covered"]["now"] - c["covered"]["before"] == c["covered"]["wins"] - c["covered"]["losses"]
    assert list(c["end_to_end"]) == ["pretrained"]  # the matchers both runs scored
    for name in ("top1", "top5"):
        counts = c["end_to_end"]["pretrained"][name]
        assert counts["now"] == round(data["all_pairs"]["pretrained"][name] * c["pairs"])
        assert counts["before"] == round(earlier["all_pairs"]["pretrained"][name] * c["pairs"])
        assert 0 < counts["p"] <= 1
    assert "Against " in (tmp_path / "r" / "eval.md").read_text()


def test_an_earlier_report_without_pairs_is_one_line(evaluated, mini_dataset: Path, session_data_dir: Path,
                                                     tmp_path: Path, capsys):
    old = {k: v for k, v in evaluated[0].items() if k != "pairs"}
    (tmp_path / "old.json").write_text(json.dumps(old))
    code = main(["--data-dir", str(session_data_dir), "eval", "--data", str(mini_dataset),
                 "--against", str(tmp_path / "old.json")])
    err = capsys.readouterr().err
    assert code == 2 and "lists no pairs" in err and len(err.strip().splitlines()) == 1


def test_values_are_sane_fractions(evaluated):
    data, _ = evaluated
    for matcher, m in data["overall"].items():
        assert 0 <= m["top1"] <= m["top5"] <= 1, matcher
        curve = [m["recall_at"][str(k)] for k in range(1, 101)]
        assert curve == sorted(curve), f"{matcher}: recall@k must not fall as k grows"
        # the catalog has fewer than 100 products, so every evaluated product is in every top-100
        assert curve[-1] == 1.0, matcher


def test_reports_are_written(evaluated):
    _, out = evaluated
    table = (out / "eval.md").read_text()
    assert "pretrained top-1" in table and "unseen products" in table and "not detectable" in table
    with open(out / "eval.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["matcher"] for r in rows} == {"colour", "pretrained", "finetuned"}
    assert (out / "eval.png").stat().st_size > 1000
    assert json.loads((out / "eval.json").read_text())["coverage"]["scenes"] == 2


def test_a_missing_finetuned_model_says_what_to_do_and_where_it_looked(mini_dataset: Path, tmp_path: Path, capsys):
    """The folders looked in were in a parenthesised "not found" nested in the advice, and a line too long for the
    terminal (a deep data dir) lost all of it: the user read what to do but not where the model should be."""
    data_dir = tmp_path.joinpath(*["a-folder-of-the-shop-s-photos"] * 4, "data")
    code = main(["--data-dir", str(data_dir), "eval", "--data", str(mini_dataset), "--finetuned", "nope.onnx"])
    err = capsys.readouterr().err
    assert code == 2 and "decorlens train" in err and "\n" not in err.strip()
    assert re.search(r"no fine-tuned model nope\.onnx in \S*models, \S*models: train one", err), err  # both folders


def test_the_advice_for_the_default_finetuned_model_is_read_whole(mini_dataset: Path, tmp_path: Path, capsys,
                                                                  shared_models: Path, monkeypatch):
    """The default model's long name, the folders and the lookup's own error (the same again, in parentheses) made
    the line too long: it was cut in the middle of the advice, "train one (`decorlens train --data D…)". The
    models folder is one of a known length here (its path is cut to its end, as a long one is anywhere)."""
    models = tmp_path / "the-shop-s-models"
    models.symlink_to(shared_models, target_is_directory=True)
    monkeypatch.setenv("DECORLENS_MODELS_DIR", str(models))
    code = main(["--data-dir", str(tmp_path / "data"), "eval", "--data", str(mini_dataset)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "…" not in err.split(": train one", 1)[-1], err
    assert err.endswith("train one with `decorlens train`, pass --finetuned PATH or --matchers colour,pretrained")


def test_pairs_of_a_scene_scenes_csv_lacks_and_no_pairs_at_all_are_one_line(mini_dataset: Path, session_data_dir: Path,
                                                                              tmp_path: Path, capsys):
    """A pair naming a scene missing from scenes.csv ended in "unexpected KeyError"; a pairs.csv with no rows
    gave an all-"–" report, exit 0, and matplotlib's warning."""
    broken, empty = tmp_path / "broken", tmp_path / "empty"
    for folder in (broken, empty):
        shutil.copytree(mini_dataset, folder)
    first = (broken / "products.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    with open(broken / "pairs.csv", "a", encoding="utf-8") as fh:
        fh.write(f"no-such-scene,{first},lamp\n")
    (empty / "pairs.csv").write_text((mini_dataset / "pairs.csv").read_text().splitlines()[0] + "\n")
    for folder, expected in ((broken, "'no-such-scene' not in scenes.csv"), (empty, "nothing to score")):
        code = main(["-q", "--data-dir", str(session_data_dir), "eval", "--data", str(folder), "--split", "all",
                     "--matchers", "colour", "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and expected in err, err


def test_another_embedder_is_found_where_train_writes_models(mini_dataset: Path, exported_models: Path,
                                                            shared_models: Path, tmp_path: Path, capsys):
    """`--also-embedder NAME` for a model in <data dir>/models, where `decorlens train` writes it."""
    data_dir = tmp_path / "data"
    shutil.copytree(exported_models, data_dir / "models")
    shutil.copyfile(shared_models / STAND_IN, data_dir / "models" / "mine.onnx")
    shutil.copyfile(Path(__file__).parents[1] / "resources" / "cards" / STAND_IN.replace(".onnx", ".card.json"),
                    data_dir / "models" / "mine.card.json")
    code = main(["--data-dir", str(data_dir), "-q", "eval", "--data", str(mini_dataset), "--split", "test",
                 "--matchers", "pretrained", "--also-embedder", "mine.onnx", "--out", str(tmp_path / "r"), "--json"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert len(json.loads(printed.out)["overall"]) == 2  # pretrained and the other embedder, on the same pairs


def test_duplicates_count_as_the_same_product(ikea: Path):
    dataset = PairDataset.load(ikea)
    group = [pid for pid, rep in dataset.same.items() if rep == "000.379.80"]
    assert len(group) >= 2
    other = next(pid for pid in group if pid != "000.379.80")

    class Hit:
        def __init__(self, sku: str):
            self.sku = sku

    lists = [[Hit("x"), Hit(other)], [Hit("y"), Hit("z"), Hit("000.379.80")]]
    assert _best_rank(dataset, dataset.canonical("000.379.80"), lists) == 2
    assert _best_rank(dataset, dataset.canonical("000.379.80"), [[Hit("x")]]) is None


def test_summarise_by_hand():
    rows = [
        Outcome("s", "a", "lamp", "evaluated", True, {"m": 1}, {"m": 3}),
        Outcome("s", "b", "lamp", "evaluated", False, {"m": 4}, {"m": 40}),
        Outcome("s", "c", "lamp", "evaluated", False, {"m": None}, {"m": None}),
        Outcome("s", "d", "lamp", "evaluated", False, {"m": 2}, {"m": 1}),
    ]
    out = summarise(rows, "m", (1, 5, 50))
    assert out["top1"] == 0.25 and out["top5"] == 0.75
    assert out["recall_at"] == {1: 0.25, 5: 0.5, 50: 0.75}


def test_paired_comparison_by_hand():
    rows = [
        Outcome("s", "a", "lamp", "evaluated", False, {"new": 1, "pretrained": 3}, {}),  # top-1 win, top-5 tie
        Outcome("s", "b", "lamp", "evaluated", False, {"new": 2, "pretrained": None}, {}),  # top-5 win
        Outcome("s", "c", "lamp", "evaluated", False, {"new": None, "pretrained": 1}, {}),  # loss at both
        Outcome("s", "d", "lamp", "evaluated", False, {"new": 1, "pretrained": 1}, {}),  # tie
    ]
    out = paired(rows, "new", "pretrained")
    assert (out["top1"]["wins"], out["top1"]["losses"]) == (1, 1)
    assert (out["top5"]["wins"], out["top5"]["losses"]) == (1, 1)
    assert out["top1"]["p"] == 1.0
    # 9 wins, 1 loss: 2 * (C(10,0) + C(10,1)) / 2**10 = 22 / 1024
    assert mcnemar_p(9, 1) == pytest.approx(22 / 1024)
    assert mcnemar_p(0, 0) == 1.0 and mcnemar_p(5, 5) == 1.0


def test_a_category_a_spreadsheet_would_run_is_written_as_text(tmp_path: Path):
    """The report's categories come from the dataset's own files: eval.csv is opened in a spreadsheet."""
    from training.evaluate import EvalResult, Outcome, write_reports

    hostile = '=HYPERLINK("http://evil.example","click")'
    outcome = Outcome("scene", "product", hostile, "evaluated", False, rank={"pretrained": 1},
                      global_rank={"pretrained": 1})
    paths = write_reports(EvalResult([outcome], ("pretrained",), {}), tmp_path)
    with open(paths["csv"], newline="") as fh:
        groups = {row["group"] for row in csv.DictReader(fh)}
    assert "'" + hostile in groups and hostile not in groups
