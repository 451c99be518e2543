"""Training on a small real slice of the IKEA data: the loss falls, resume is exact, export matches torch."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_metric_learning")

from ikea_slice import write_slice  # noqa: E402

from decorlens.main import main  # noqa: E402
from engine.embed import Embedder  # noqa: E402
from engine.errors import Cancelled, ModelError  # noqa: E402
from engine.imageio import load_image  # noqa: E402
from engine.models import find_model  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.preprocess import embed_batch  # noqa: E402
from engine.runtime import runs_on_cpu  # noqa: E402
from engine.settings import Settings  # noqa: E402
from training.data import Anchor, DatasetError, PairDataset, load_training_set, split_of  # noqa: E402
from training.export import build_embedding_model  # noqa: E402
from training.loop import TrainConfig, export_trained, frozen_blocks, train, trunk_head  # noqa: E402
from training.recipes import DEFAULT_RECIPE, use_tf_same_padding  # noqa: E402

pytestmark = pytest.mark.train
SLICE = 4  # scenes per split
WEIGHTS = "mobilenet_v2-imagenet-tflite.pth"


@pytest.fixture(scope="module")
def train_pipeline(tmp_path_factory: pytest.TempPathFactory, exported_models: Path) -> Pipeline:
    """Detectors and the stock embedder (to find anchors); no catalog needed for training."""
    data = tmp_path_factory.mktemp("train-data")
    shutil.copytree(exported_models, data / "models")
    return Pipeline(Settings.defaults().with_(data_dir=data))


def slice_config(ikea: Path, out: Path, **changes) -> TrainConfig:
    settings = dict(recipe="robust-contrastive", epochs=4, batch_size=8, views=1, limit_scenes=SLICE, patience=99)
    return TrainConfig(data=ikea, out=out, **{**settings, **changes})


@pytest.fixture(scope="module")
def trained(train_pipeline: Pipeline, ikea: Path, tmp_path_factory: pytest.TempPathFactory):
    """Three epochs: the loss falls by a third by the third (0.74, 0.53, 0.40), and the best epoch is the last."""
    events = []
    out = tmp_path_factory.mktemp("run")
    return train(slice_config(ikea, out, epochs=3), train_pipeline, events.append), events, out


def test_loss_falls(trained):
    result, _, _ = trained
    losses = [h["loss"] for h in result.history[1:]]
    assert len(losses) == 3
    assert losses[-1] < 0.9 * losses[0], losses


def test_result_reports_data_and_validation(trained, ikea: Path):
    result, _, out = trained
    assert result.data["sha256"] == PairDataset.load(ikea).digest()
    assert 0 < result.data["train_anchors"] <= result.data["train_pairs"]
    assert result.data["composite_anchors"] > 0 and result.settings["composites"] == 1  # the default
    assert result.history[0] == {"epoch": 0, **result.baseline}
    assert 0 <= result.best["recall@1"] <= result.best["recall@5"] <= 1
    assert result.best["recall@5"] >= result.baseline["recall@5"]  # best-on-validation never loses to the start
    assert (out / "best.pt").is_file() and (out / "last.pt").is_file()
    assert json.loads((out / "history.json").read_text())[-1]["epoch"] == 3


def test_progress_reports_every_stage(trained):
    _, events, _ = trained
    stages = Counter(e.stage.split(" ")[0] for e in events)
    assert {"anchors", "views", "train", "validate", "done"} <= set(stages)
    assert all(e.loss is not None for e in events if e.stage == "train")
    assert stages["validate"] == 3


def test_the_cpu_trains_channels_last_and_hands_back_the_usual_layout(trained, train_pipeline: Pipeline, ikea: Path):
    result, _, _ = trained
    config = slice_config(ikea, Path("."))
    config = replace(config, frozen_blocks=frozen_blocks(config))
    convs = [p for p in trunk_head(config, train_pipeline, torch.device("cpu")).parameters() if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert all(p.is_contiguous() for p in result.model.parameters())  # what export and callers expect


def test_export_matches_torch(trained, tmp_path: Path, ikea: Path):
    result, _, _ = trained
    path = export_trained(result, tmp_path, "slice")
    card = json.loads(path.with_suffix(".card.json").read_text())
    assert card["recipe"]["training"]["name"] == "robust-contrastive"
    assert card["recipe"]["data"]["sha256"] == result.data["sha256"]
    assert card["metrics"]["validation"]["fine_tuned"] == result.best
    assert result.exact is not None and card["exact_threshold"] == round(result.exact.threshold, 3)
    assert card["metrics"]["exact_support"] == result.exact.support >= 1
    embedder = Embedder(find_model(str(path)), "cpu")
    photos = [load_image(p) for p in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]]
    batch = embed_batch(photos, embedder.card)  # the engine's preprocessing, as in the app
    with torch.no_grad():
        expected = result.model(torch.from_numpy(batch)).numpy()
    assert np.abs(embedder.embed(photos) - expected).max() < 1e-4


def test_crops_are_chosen_by_the_stock_embedder_whatever_is_active(
    train_pipeline: Pipeline, trained, tmp_path: Path, ikea: Path
):
    """A fine-tuned embedder left active must not change which scene crops the next training run uses."""
    result, _, _ = trained
    finetuned = Pipeline(train_pipeline.settings.with_(embedder=(str(export_trained(result, tmp_path, "active")),)))
    stock = finetuned.with_stock_embedder()
    assert stock is not finetuned and stock.embedder.key == train_pipeline.embedder.key
    assert train_pipeline.with_stock_embedder() is train_pipeline
    again = train(slice_config(ikea, tmp_path / "run", epochs=1), finetuned)
    assert again.data["train_anchors"] == result.data["train_anchors"]
    assert again.baseline == result.baseline  # epoch 0 is the pretrained model on the same validation queries


def test_resume_continues_exactly(train_pipeline: Pipeline, ikea: Path, trained, tmp_path: Path):
    result, _, _ = trained
    train(slice_config(ikea, tmp_path, epochs=1), train_pipeline)
    resumed = train(slice_config(ikea, tmp_path, epochs=2, resume=True), train_pipeline)
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2]
    def curve(history):
        return [(h.get("loss", 0.0), h["recall@1"], h["recall@5"]) for h in history]

    assert np.allclose(curve(resumed.history), curve(result.history[:3]), rtol=1e-5)
    with pytest.raises(ModelError, match="average=False"):  # a mean begun mid-run would not be the one asked for
        train(slice_config(ikea, tmp_path, epochs=3, resume=True, average=True), train_pipeline)


def test_cancel_stops_between_steps(train_pipeline: Pipeline, ikea: Path, tmp_path: Path):
    seen = []
    with pytest.raises(Cancelled, match="resume"):
        stop = lambda: any(e.stage == "train" for e in seen)  # noqa: E731
        train(slice_config(ikea, tmp_path), train_pipeline, seen.append, stop)
    assert sum(e.stage == "train" for e in seen) == 1


def test_cli_trains_and_exports(exported_models: Path, ikea: Path, tmp_path: Path, capsys):
    """In a data dir of its own: in the session's, the model it wrote (models/cli-slice.onnx), its run and its
    training cache were there for every later test of the worker (an embedder in Settings' list, a run in Train's)."""
    data = tmp_path / "data"
    shutil.copytree(exported_models, data / "models")
    code = main([
        "--data-dir", str(data), "-q", "train", "--data", str(ikea), "--limit-scenes", "1",
        "--epochs", "1", "--views", "1", "--batch-size", "8", "--name", "cli-slice",
    ])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "validation recall@1" in printed and "`decorlens models activate cli-slice.onnx`" in printed
    assert ("`decorlens models quantize cli-slice.onnx`" in printed) == runs_on_cpu()
    model = find_model("cli-slice.onnx", None, data)
    assert model.card.kind == "embedder" and model.card.recipe["training"]["name"] == DEFAULT_RECIPE


def test_cli_trains_two_backbones_into_one_calibrated_embedder(ikea: Path, tmp_path: Path, capsys):
    """A slice's own products as the catalog: the combined model is calibrated by searching them."""
    dataset, data = write_slice(ikea, tmp_path / "slice", train=1, val=1), tmp_path / "data"  # val calibrates
    Pipeline(Settings.defaults().with_(data_dir=data)).import_catalog(dataset / "products.csv")
    code = main([
        "--data-dir", str(data), "-q", "train", "--data", str(dataset),
        "--epochs", "1", "--views", "1", "--batch-size", "8", "--name", "cli-pair",
        "--backbone", "mobilenet_v2+efficientnet-lite0",
    ])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "validation tags:" in printed and "`decorlens models activate cli-pair.onnx`" in printed
    members = [find_model(f"cli-pair.{b}.onnx", None, data) for b in ("mobilenet_v2", "efficientnet-lite0")]
    pair = find_model("cli-pair.onnx", None, data)
    assert pair.card.output_dim == sum(m.card.output_dim for m in members)
    assert [m["sha256"] for m in pair.card.recipe["combined"]["members"]] == [m.card.sha256 for m in members]
    assert pair.card.metrics["calibration"]["data"].startswith("slice, split(s) val of seed 0")
    assert pair.card.metrics["calibration"]["scored_top1"] > 0


def test_cli_refuses_a_backbone_pair_it_cannot_train(session_data_dir: Path, ikea: Path, capsys):
    for backbone in ("mobilenet_v2+mobilenet_v2", "mobilenet_v2+efficientnet-lite0+resnet50", "mobilenet_v2+"):
        code = main(["--data-dir", str(session_data_dir), "-q", "train", "--data", str(ikea), "--backbone", backbone])
        err = capsys.readouterr().err.strip()
        assert code != 0 and len(err.splitlines()) == 1 and "two different ones joined by '+'" in err, err


def test_tf_padding_reproduces_the_stock_embedder(shared_models: Path, ikea: Path):
    model = build_embedding_model("mobilenet_v2", shared_models / WEIGHTS)
    assert use_tf_same_padding(model, shared_models / WEIGHTS)
    stock = Embedder(find_model("mobilenet_v2_1.0_224_quant.float.onnx", shared_models), "cpu")
    photos = [load_image(p) for p in sorted((ikea / "products" / "chair").glob("*.jpg"))[:3]]
    with torch.no_grad():
        ours = model(torch.from_numpy(embed_batch(photos, stock.card))).numpy()
    assert np.abs(ours - stock.embed(photos)).max() < 1e-4


def test_splits_are_by_scene_stable_and_near_70_10_20(ikea: Path):
    dataset = PairDataset.load(ikea)
    scenes = {s: set(dataset.scenes_in(s)) for s in ("train", "val", "test")}
    assert not (scenes["train"] & scenes["val"] or scenes["train"] & scenes["test"] or scenes["val"] & scenes["test"])
    assert sum(len(dataset.pairs_in(s)) for s in scenes) == len(dataset.pairs)
    total = sum(len(v) for v in scenes.values())
    assert 0.6 < len(scenes["train"]) / total < 0.8 and 0.1 < len(scenes["test"]) / total < 0.3
    assert all(split_of(s) == "train" for s in scenes["train"])  # a function of the id: adding scenes moves none
    assert split_of("x", seed=0) == split_of("x", seed=0)


def test_catalog_alone_is_a_fallback(train_pipeline: Pipeline, ikea: Path, ikea_products, tmp_path: Path):
    """Without pairs, a product's extra photos are its anchors (here: a mirrored copy of the photo)."""
    import csv

    import cv2

    rows = [dict(r) for r in ikea_products if r["category"] in ("chair", "lamp", "vase_candle")][::4][:30]
    for r in rows:  # copies: the session's product rows are shared with other tests
        extra = tmp_path / f"{r['product_id']}-side.png"
        cv2.imwrite(str(extra), cv2.flip(cv2.imread(str(ikea / r["image"])), 1))
        r["image"] = f"{ikea / r['image']}|{extra}"
    data = tmp_path / "catalog-only"
    data.mkdir()
    with open(data / "products.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = train(slice_config(data, tmp_path / "run", epochs=1, limit_scenes=None), train_pipeline)
    assert result.data["train_anchors"] > 5 and result.data["val_queries"] > 0
    assert 0 <= result.best["recall@1"] <= 1


def test_the_bank_adds_every_other_product_as_a_negative():
    from training.loop import _with_bank

    bank = torch.eye(4)  # products 0..3 as they were at the start of the epoch
    refs = torch.tensor([[0.0, 0.6, 0.0, 0.8], [0.0, 0.0, 0.0, 1.0]])  # the batch's fresh products 1 and 3
    out, labels = _with_bank(bank, refs, torch.tensor([1, 3]))
    assert labels.tolist() == [1, 3, 0, 2]
    assert torch.equal(out, torch.stack([refs[0], refs[1], bank[0], bank[2]]))


def test_lite0_reproduces_the_stock_gem_embedder(shared_models: Path, ikea: Path):
    """Fine-tuning EfficientNet-Lite0 starts from exactly the pretrained effnet_lite0_gem.onnx, fed as its card says."""
    pytest.importorskip("efficientnet_lite_pytorch")
    from training import effnet_lite

    model = effnet_lite.embedding_model()
    stock = Embedder(find_model(effnet_lite.STOCK_ONNX, shared_models), "cpu")
    photos = [load_image(p) for p in sorted((ikea / "products" / "rug").glob("*.jpg"))[:3]]
    with torch.no_grad():
        ours = model(torch.from_numpy(embed_batch(photos, effnet_lite.stock_card()))).numpy()
    assert np.abs(ours - stock.embed(photos)).max() < 1e-4


def test_lite0_fine_tunes_and_exports_with_the_stock_cards_input(train_pipeline: Pipeline, ikea: Path, tmp_path: Path):
    pytest.importorskip("efficientnet_lite_pytorch")
    from training import effnet_lite

    config = slice_config(ikea, tmp_path / "run", epochs=2, backbone=effnet_lite.NAME, limit_scenes=2)
    result = train(config, train_pipeline)
    assert result.settings["frozen_blocks"] == effnet_lite.FROZEN_BLOCKS
    assert result.history[-1]["loss"] < result.history[1]["loss"]
    path = export_trained(result, tmp_path, "lite-slice")
    embedder = Embedder(find_model(str(path)), "cpu")
    stock = effnet_lite.stock_card()
    card = embedder.card
    assert (card.input_size, card.mean, card.std, card.resize) == (stock.input_size, stock.mean, stock.std, stock.resize)
    assert card.recipe["backbone"] == effnet_lite.NAME and card.recipe["pooling"] == "GeM p=3"
    assert card.spatial_output.endswith("Clip_output_0")  # the map before GeM, for heat maps
    photos = [load_image(p) for p in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:3]]
    with torch.no_grad():
        expected = result.model(torch.from_numpy(embed_batch(photos, stock))).numpy()
    assert np.abs(embedder.embed(photos) - expected).max() < 1e-4


def test_averaging_keeps_the_running_mean_of_the_epochs_since_the_best(train_pipeline: Pipeline, ikea: Path,
                                                                      tmp_path: Path):
    """``average``: ``mean.pt`` is the mean of the best epoch's weights and every later epoch's (recomputed here
    from each epoch's checkpoint), validated at the end and kept only when it scores as well as the best."""
    from training import loop

    weights = []
    save = loop._checkpoint

    def record(run, state):
        weights.append((state["epoch"], state["best_epoch"], copy_state(run.model.state_dict())))
        save(run, state)

    def copy_state(state):
        return {k: v.detach().cpu().clone() for k, v in state.items()}

    loop._checkpoint = record
    try:
        result = train(slice_config(ikea, tmp_path, epochs=4, average=True), train_pipeline)  # best 3: mean of 3, 4
    finally:
        loop._checkpoint = save
    best_epoch = weights[-1][1]
    since = [w for epoch, _, w in weights if epoch >= best_epoch]
    mean = torch.load(tmp_path / "mean.pt", weights_only=True)
    for key, value in mean.items():
        if value.is_floating_point():
            assert torch.allclose(value, torch.stack([w[key] for w in since]).mean(0), atol=1e-6), key
    if len(since) < 2:
        assert result.mean is None
        return
    assert result.mean["epochs"] == [best_epoch, 4]
    kept = torch.load(tmp_path / "best.pt", weights_only=True)
    chosen = mean if result.mean["kept"] else since[0]
    assert all(torch.equal(kept[k], chosen[k].to(kept[k].dtype)) for k in kept)
    assert result.best["recall@5"] >= (result.mean["recall@5"] if not result.mean["kept"] else 0)
    assert export_trained(result, tmp_path, "averaged").with_suffix(".card.json").is_file()
    card = json.loads((tmp_path / "averaged.card.json").read_text())
    assert card["metrics"]["validation"]["mean_weights"] == result.mean


def _tiny_dataset(folder: Path, pairs: str) -> Path:
    """One 200×100 scene and one product, with the pairs.csv rows given (header included)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (200, 100), "white").save(folder / "room.jpg")
    Image.new("RGB", (50, 50), "red").save(folder / "lamp.jpg")
    (folder / "products.csv").write_text("product_id,category,image\nlamp-1,lamp,lamp.jpg\n")
    (folder / "scenes.csv").write_text("scene_id,image\nroom,room.jpg\n")
    (folder / "pairs.csv").write_text(pairs)
    return folder


@pytest.mark.parametrize("box", ["a,b,c,d", "nan,10,100,90", "10,10,inf,90", "150,80,20,10", "10,10,10,90",
                                 "10,10,,90", '"10,5",10,100,90'])
def test_a_box_that_is_no_box_is_refused_naming_the_row(tmp_path: Path, box: str):
    """Text, NaN, inverted corners (x, y, w, h written as corners), an empty box or a missing cell: one line
    naming the row, not a ValueError without a file or a box that crops another region."""
    rows = f"scene_id,product_id,category,x1,y1,x2,y2\nroom,lamp-1,lamp,10,10,100,90\nroom,lamp-1,lamp,{box}\n"
    with pytest.raises(DatasetError, match=r"pairs\.csv, row 3: the box .* is not a box"):
        PairDataset.load(_tiny_dataset(tmp_path, rows))


def test_a_given_box_outside_its_photo_is_clipped_or_refused_naming_the_photo(tmp_path: Path):
    """A box partly outside the 200×100 photo is clipped to it; one wholly outside crops nothing and is
    refused naming the photo (it stopped training with a ZeroDivisionError)."""
    rows = "scene_id,product_id,category,x1,y1,x2,y2\nroom,lamp-1,lamp,150,50,260,140\n"
    dataset = PairDataset.load(_tiny_dataset(tmp_path, rows))
    anchor = Anchor("lamp-1", "lamp", dataset.scenes["room"], dataset.pairs[0].box, 1.0, "room")
    (example,) = load_training_set(dataset, [anchor]).examples
    x1, y1, x2, y2 = example.box
    assert (x2 - x1, y2 - y1) == (50, 50)  # (150, 50, 200, 100)
    assert example.pixels.shape[:2] == (66, 66)  # and 15.6 px of context (MAX_PAD) left and above it
    outside = Anchor("lamp-1", "lamp", dataset.scenes["room"], (300.0, 10.0, 400.0, 90.0), 1.0, "room")
    with pytest.raises(DatasetError, match=r"room\.jpg: the box 300,10,400,90 of product lamp-1 lies outside"):
        load_training_set(dataset, [outside])


def test_a_given_box_in_a_photo_decoded_smaller_is_in_the_photos_own_pixels(tmp_path: Path):
    """pairs.csv's boxes (and the app's corrections) are in the photo's own pixels; a photo past MAX_SIDE is
    decoded smaller, and its box was read on the decoded pixels: one past 4096 px was refused as outside."""
    from PIL import Image

    rows = "scene_id,product_id,category,x1,y1,x2,y2\nroom,lamp-1,lamp,6000,20,6100,80\n"
    folder = _tiny_dataset(tmp_path, rows)
    photo = Image.new("RGB", (8200, 100), "white")
    photo.paste((255, 0, 0), (6000, 20, 6100, 80))
    photo.save(folder / "room.png")
    (folder / "scenes.csv").write_text("scene_id,image\nroom,room.png\n")
    dataset = PairDataset.load(folder)
    anchor = Anchor("lamp-1", "lamp", dataset.scenes["room"], dataset.pairs[0].box, 1.0, "room")
    (example,) = load_training_set(dataset, [anchor]).examples
    x1, y1, x2, y2 = (round(v) for v in example.box)
    inside = example.pixels[y1 + 1:y2 - 1, x1 + 1:x2 - 1].reshape(-1, 3)
    assert inside.size and (inside == (255, 0, 0)).all(axis=1).mean() > 0.95  # the red lamp, not the wall


def test_a_csv_a_spreadsheet_saved_as_latin_1_is_refused_naming_it(tmp_path: Path):
    folder = _tiny_dataset(tmp_path, "scene_id,product_id\nroom,lamp-1\n")
    (folder / "products.csv").write_bytes(b"product_id,category,image\nlamp-1,lampe \xe0 poser,lamp.jpg\n")
    with pytest.raises(DatasetError, match=r"products\.csv: not UTF-8 text .*save it again as CSV UTF-8"):
        PairDataset.load(folder)
    (folder / "products.csv").write_text('product_id,category,image\nlamp-1,lamp,"lamp.jpg\n' + "x" * 140_000)
    with pytest.raises(DatasetError, match=r"products\.csv, line \d+: not readable as CSV"):
        PairDataset.load(folder)


def test_cli_refuses_to_train_over_the_active_embedder(tmp_path: Path, capsys):
    """The default name is the same on every run, so a second training (a quick look even) replaced the
    model searches ran on, unasked; it is refused before any work, the active file untouched."""
    data_dir = tmp_path / "data"
    (data_dir / "models").mkdir(parents=True)
    active = data_dir / "models" / f"mobilenet_v2-{DEFAULT_RECIPE}.onnx"
    active.write_bytes(b"the model the user chose")
    (data_dir / "config.yaml").write_text(f"embedder: [{active.name}]\n")
    dataset = _tiny_dataset(tmp_path / "pairs", "scene_id,product_id\nroom,lamp-1\n")
    code = main(["--data-dir", str(data_dir), "-q", "train", "--data", str(dataset), "--epochs", "1"])
    assert code == 2 and "is the active embedder" in capsys.readouterr().err
    assert active.read_bytes() == b"the model the user chose" and not (data_dir / "training-runs").exists()


def test_a_damaged_view_cache_is_made_again_not_an_error_on_every_run(tmp_path: Path):
    """A view bank whose write was cut short (its .npy half written, or its key file) is computed again and
    replaced; the key file used to fail ``json.loads`` on every later run until someone deleted the cache."""
    from types import SimpleNamespace

    from training.loop import Views

    made = []

    def bank(n, _view, _what):
        made.append(n)
        return np.arange(n * 6, dtype=np.float16).reshape(n, 2, 3)

    views, key = SimpleNamespace(name="train", _bank=bank), {"name": "train", "anchors": [1, 2, 3]}
    first = Views._cached_bank(views, tmp_path, key, 3, None, "anchors")
    assert np.array_equal(Views._cached_bank(views, tmp_path, key, 3, None, "anchors"), first) and made == [3]
    (npy,), (meta,) = tmp_path.glob("*.npy"), tmp_path.glob("*.json")
    for damaged, content in ((meta, b'{"name": "tr'), (npy, npy.read_bytes()[:90]), (npy, b"")):
        damaged.write_bytes(content)
        assert np.array_equal(Views._cached_bank(views, tmp_path, key, 3, None, "anchors"), first)
        assert np.array_equal(Views._cached_bank(views, tmp_path, key, 3, None, "anchors"), first)
    assert made == [3, 3, 3, 3]
