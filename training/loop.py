"""The training loop: anchors → cached trunk views → epochs of mined batches → best-on-validation model.

CPU first: the early blocks stay frozen, so their output for a few augmented views of every image is
computed once (``views``) and each step runs only the trained head; a GPU run skips the cache and
augments every step. Everything that draws random numbers is seeded per epoch, so a run is
repeatable and a resumed run continues exactly where the checkpoint left it. Progress is a plain
callable taking ``TrainEvent``; cancellation a plain callable checked between steps (the CLI
passes a tqdm bar and Ctrl-C, the GUI its own).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from pytorch_metric_learning.samplers import MPerClassSampler
from torch.nn import functional as F

from engine.calibration import Calibration, calibrate_exact
from engine.crops import DEFAULT_PADDING
from engine.errors import Cancelled, ModelError
from engine.files import write_atomic
from engine.models import ModelCard, read_card, write_card
from engine.paths import model_search_path
from engine.preprocess import embed_batch
from engine.remedies import ANOTHER_SEED, CPU_DEVICE, NO_PAIRS_TO_TRAIN, NO_TRAINING_BOX, PASS_WEIGHTS
from training import effnet_lite
from training.composites import with_composites
from training.data import (
    DEFAULT_MIN_COSINE,
    Example,
    Pair,
    PairDataset,
    TrainingSet,
    ValidationSet,
    anchor_view,
    catalog_anchors,
    catalog_validation_set,
    find_anchors,
    load_training_set,
    product_view,
    split_of,
    validation_set,
)
from training.export import EmbeddingModel, build_embedding_model, export_module
from training.fingerprint import VIEW_CODE, code_digest
from training.miners import HardFractionTripletMiner
from training.pseudo_labels import region_anchors
from training.recipes import (
    DEFAULT_BACKBONE,
    DEFAULT_RECIPE,
    Recipe,
    TrunkHead,
    build_loss,
    build_miner,
    build_optimizer,
    get_recipe,
    use_tf_same_padding,
)
from training.samplers import CategoryBatchSampler
from training.weights import load_plain

DEFAULT_WEIGHTS = "mobilenet_v2-imagenet-tflite.pth"
# MobileNetV2: the last 5 blocks and the 1×1 conv train; EfficientNet-Lite0: its last two stages and head
FROZEN_BLOCKS = {DEFAULT_BACKBONE: 14, effnet_lite.NAME: effnet_lite.FROZEN_BLOCKS}
INPUT_SIZE = 224
TRUNK_BATCH = 32
RECALL_KS = (1, 5, 10)


@dataclass
class TrainConfig:
    data: Path  # dataset folder (pairs.csv, products.csv, scenes.csv)
    out: Path  # run folder: checkpoints and history
    recipe: str = DEFAULT_RECIPE
    epochs: int = 20
    batch_size: int = 32
    frozen_blocks: int | None = None  # None: the backbone's (FROZEN_BLOCKS): its 7×7 px stages train, cheap
    views: int | None = None  # cached augmented views per image; None: 3 on CPU, 0 (live) on GPU
    seed: int = 0
    patience: int = 4  # epochs without a better validation recall before stopping
    monitor_k: int = 5  # early stopping watches recall@k on validation
    device: str = "auto"
    backbone: str = DEFAULT_BACKBONE
    weights: Path | None = None  # None: the shared MobileNetV2 state dict, found on the model path
    projection_dim: int | None = None
    lr: float | None = None  # None: the recipe's
    conf: float | None = 0.1  # detector confidence finding anchors and validation queries; None: each card's
    min_cosine: float = DEFAULT_MIN_COSINE
    anchors: str = "detections"  # detections: a detection of the product's category; regions: any proposal
    composites: int = 1  # synthetic anchors per catalog product never paired with a val/test scene (0: none)
    average: bool = False  # keep the mean of the best epoch's weights and the later ones' if it validates as well
    limit_scenes: int | None = None  # train on the first N scenes of each split (tests, quick looks)
    resume: bool = False


@dataclass(frozen=True)
class TrainEvent:
    """One progress report; ``stage``: anchors, validation scenes, views (...), train, validate, done."""

    stage: str
    done: int
    total: int
    epoch: int = 0
    loss: float | None = None
    metrics: dict[str, float] | None = None


@dataclass
class TrainResult:
    model: EmbeddingModel  # the best epoch's weights
    recipe: Recipe
    history: list[dict[str, Any]]
    best_epoch: int
    baseline: dict[str, float]  # validation before any step (the pretrained model)
    best: dict[str, float]
    timings: dict[str, float]  # seconds: anchors, views, train, total; cpu seconds of the process
    data: dict[str, Any]  # data hash, counts
    settings: dict[str, Any]
    exact: Calibration | None = None  # the "exact" threshold measured on validation with the best weights
    mean: dict[str, Any] | None = None  # with ``average``: the mean weights' epochs, validation and if kept

    def card_recipe(self) -> dict[str, Any]:
        return {"training": self.recipe.to_dict(), **self.settings, "data": self.data, "timings_s": self.timings}

    def card_metrics(self) -> dict[str, Any]:
        validation = {"pretrained": self.baseline, "fine_tuned": self.best, "best_epoch": self.best_epoch}
        if self.mean is not None:
            validation["mean_weights"] = self.mean
        return {"validation": validation, **(self.exact.as_metrics() if self.exact else {})}


Progress = Callable[[TrainEvent], None]
IsCancelled = Callable[[], bool]


@dataclass
class _Run:
    """Everything an epoch needs, built once by ``train``."""

    config: TrainConfig
    recipe: Recipe
    model: TrunkHead
    pretrained: TrunkHead | None  # a frozen copy of the start, when the recipe pulls towards it
    loss_fn: torch.nn.Module
    miner: torch.nn.Module | None
    optimizer: torch.optim.Optimizer
    views: Views
    val_views: Views
    train_set: TrainingSet
    val_set: ValidationSet
    bank: torch.Tensor | None = None  # negatives="catalog": every training product's embedding at epoch start


def train(
    config: TrainConfig, pipeline, progress: Progress = lambda _e: None, cancelled: IsCancelled = lambda: False
) -> TrainResult:
    """Train an embedder on ``config.data``; ``pipeline`` (engine Pipeline) finds the anchor crops."""
    start, cpu_start = time.perf_counter(), time.process_time()
    config = replace(config, frozen_blocks=frozen_blocks(config))
    checkpoint = _resumable(config)  # a checkpoint of other settings is refused before any crop is found
    recipe = get_recipe(config.recipe, config.lr)
    device = _device(config.device)
    torch.manual_seed(config.seed)
    dataset = PairDataset.load(config.data)
    cache = pipeline.data_dir / "training-cache" / f"{Path(config.data).name}-{dataset.digest()[:12]}"
    pipeline = pipeline.with_stock_embedder()  # crops are chosen by the pretrained model, whatever is active
    train_set, val_set, counts = _datasets(dataset, config, pipeline, cache, progress, cancelled)
    anchors_s = time.perf_counter() - start
    split = trunk_head(config, pipeline, device)
    model = split.model
    view_count = config.views if config.views is not None else (0 if device.type == "cuda" else 3)
    t0 = time.perf_counter()
    views = Views(split, "train", train_set.examples, train_set.products, train_set.product_ids, view_count,
                  config, cache, device, progress, cancelled)
    val_views = Views(split, "val", val_set.queries, val_set.gallery, val_set.gallery_ids, 1,
                      config, cache, device, progress, cancelled)
    views_s = time.perf_counter() - t0
    loss_fn = build_loss(recipe, _category_indices(train_set.categories), model.output_dim).to(device)
    optimizer = build_optimizer(recipe, [*split.parameters(), *loss_fn.parameters()])
    pretrained = copy.deepcopy(split) if recipe.pull else None
    miner = build_miner(recipe, config.seed)
    run = _Run(config, recipe, split, pretrained, loss_fn, miner, optimizer, views, val_views, train_set, val_set)
    state = _resume(run, checkpoint) if checkpoint else _fresh_state(run)
    t0 = time.perf_counter()
    _epochs(run, state, progress, cancelled)
    split.load_state_dict(torch.load(config.out / "best.pt", map_location=device, weights_only=True))
    if config.average:
        _keep_mean_if_better(run, state)
    timings = {
        "anchors": round(anchors_s, 1), "views": round(views_s, 1), "train": round(time.perf_counter() - t0, 1),
        "total": round(time.perf_counter() - start, 1), "cpu": round(time.process_time() - cpu_start, 1),
    }
    exact = exact_calibration(split, val_views, val_set)
    progress(TrainEvent("done", state["epoch"], config.epochs, metrics=state["best"]))
    return TrainResult(
        model=model.to("cpu", memory_format=torch.contiguous_format).eval(), recipe=recipe,
        history=state["history"], best_epoch=state["best_epoch"], baseline=state["baseline"], best=state["best"],
        timings=timings,
        data={"sha256": dataset.digest(), "name": Path(config.data).name, **counts,
              "train_products": len(train_set.product_ids), "trained_products": train_set.product_ids},
        settings=_settings(config, view_count, device, pipeline.detector.name), exact=exact, mean=state.get("mean"),
    )


def export_trained(result: TrainResult, out_dir: Path, name: str) -> Path:
    """ONNX + card (backbone, dim, recipe, data hash, metrics, "exact" threshold) where the engine finds models.

    The card feeds the model as training fed it (``input_card``); its feature map is the one before pooling."""
    path = export_module(result.model, out_dir, name, INPUT_SIZE, result.card_recipe(), result.card_metrics())
    card = read_card(path)
    fed = input_card(result.model.recipe.get("backbone", DEFAULT_BACKBONE))
    card.input_size, card.mean, card.std, card.resize = fed.input_size, fed.mean, fed.std, fed.resize
    card.spatial_output = card.spatial_output or pooled_map(path)
    if result.exact is not None:
        card.exact_threshold = round(result.exact.threshold, 3)
    write_card(path, card)
    return path


def input_card(backbone: str = DEFAULT_BACKBONE) -> ModelCard:
    """How crops become tensors for the trained module, as its exported card will say: RGB in [0, 1]; for
    EfficientNet-Lite0 whatever its stock card says (one description of how that network is fed)."""
    if backbone == effnet_lite.NAME:
        stock = effnet_lite.stock_card()
        return ModelCard(name="training", kind="embedder", input_size=stock.input_size, mean=stock.mean,
                         std=stock.std, resize=stock.resize)
    return ModelCard(name="training", kind="embedder", input_size=INPUT_SIZE)


def pooled_map(path: Path) -> str:
    """The feature map a GeM pool (clip → pow → mean) reads in an exported graph; "" when there is none."""
    graph = onnx.load(str(path)).graph
    producers = {out: node for node in graph.node for out in node.output}
    for node in graph.node:
        source = producers.get(node.input[0]) if node.op_type == "Pow" else None
        if source is not None and source.op_type == "Clip":
            return source.input[0]
    return ""


# -- data -----------------------------------------------------------------------------------------


def _datasets(
    dataset: PairDataset, config: TrainConfig, pipeline, cache: Path, progress: Progress, cancelled: IsCancelled
) -> tuple[TrainingSet, ValidationSet, dict[str, int]]:
    """Training anchors and the validation set: from pairs when there are any, else from extra catalog photos."""
    if not dataset.pairs:
        every = catalog_anchors(dataset)
        found = {s: [a for a in every if split_of(a.product_id, config.seed) == s] for s in ("train", "val")}
        if not found["train"] or not found["val"]:
            raise ModelError(NO_PAIRS_TO_TRAIN(data=config.data))
        train_set = load_training_set(dataset, found["train"])
        counts = {"train_anchors": len(found["train"]), "val_queries": len(found["val"])}
        return train_set, catalog_validation_set(dataset, found["val"]), counts
    pairs = {s: _limited(dataset, s, config) for s in ("train", "val")}
    report = lambda d, n: progress(TrainEvent("anchors", d, n))  # noqa: E731
    if config.anchors == "regions":
        anchors = region_anchors(dataset, pairs["train"], pipeline, cache / "regions", config.min_cosine, report,
                                 cancelled)
    else:
        anchors = find_anchors(
            dataset, pairs["train"], pipeline, cache, config.conf, config.min_cosine, report, cancelled
        )
    if not anchors:
        raise ModelError(NO_TRAINING_BOX(data=config.data))
    report = lambda d, n: progress(TrainEvent("validation scenes", d, n))  # noqa: E731
    # a quick look (limit_scenes) ranks among its own products only: embedding the catalog would dominate it
    gallery = {p.product_id for p in pairs["train"] + pairs["val"]} if config.limit_scenes else None
    validation = validation_set(dataset, pairs["val"], pipeline, cache, config.conf, report, cancelled, gallery)
    if not validation.pairs:
        raise ModelError(ANOTHER_SEED(data=config.data))
    train_set = load_training_set(dataset, anchors)
    if config.composites:
        train_set = _add_composites(train_set, dataset, pairs["train"], config, progress, cancelled)
    counts = {
        "train_pairs": len(pairs["train"]), "train_anchors": len(anchors),
        "composite_anchors": len(train_set.examples) - len(anchors),
        "val_pairs": len(pairs["val"]), "val_detectable_pairs": len(validation.pairs),
    }
    return train_set, validation, counts


def _add_composites(
    train_set: TrainingSet, dataset: PairDataset, train_pairs: Sequence[Pair], config: TrainConfig,
    progress: Progress, cancelled: IsCancelled,
) -> TrainingSet:
    """Composite anchors pasted into the training scenes, never into a validation or test one."""
    scenes = [dataset.scenes[s] for s in sorted({p.scene_id for p in train_pairs})]
    products = composite_products(dataset, train_pairs, config)
    report = lambda d, n: progress(TrainEvent("composites", d, n))  # noqa: E731
    return with_composites(train_set, dataset, products, scenes, config.composites, config.seed, report, cancelled)


def composite_products(dataset: PairDataset, train_pairs: Sequence[Pair], config: TrainConfig) -> list[str]:
    """The catalog products no validation or test scene shows: composites of them leak nothing.

    A product of a validation or test pair stays unseen, so "unseen" recall still measures a
    product training never saw. A quick look (``limit_scenes``) composites its training products only.
    """
    if config.limit_scenes:
        return sorted({dataset.canonical(p.product_id) for p in train_pairs})
    return sorted({dataset.canonical(pid) for pid in dataset.products} - dataset.held_out_products(config.seed))


def _limited(dataset: PairDataset, split: str, config: TrainConfig) -> list:
    pairs = dataset.pairs_in(split, config.seed)
    if config.limit_scenes:
        keep = set(dataset.scenes_in(split, config.seed)[: config.limit_scenes])
        pairs = [p for p in pairs if p.scene_id in keep]
    return pairs


def frozen_blocks(config: TrainConfig) -> int:
    """The blocks kept frozen: as asked, else the backbone's default (torchvision ones: MobileNetV2's)."""
    if config.frozen_blocks is not None:
        return config.frozen_blocks
    return FROZEN_BLOCKS.get(config.backbone, FROZEN_BLOCKS[DEFAULT_BACKBONE])


def trunk_head(config: TrainConfig, pipeline, device: torch.device) -> TrunkHead:
    """The model ``config`` trains, split at its frozen blocks, on ``device`` in the layout it trains fastest in.

    On the CPU that is channels-last (NHWC): oneDNN's convolutions then run the frozen trunk, which computes
    every view bank, 1.4-1.6× faster, and the head's steps no slower (``bench/train_layout.py``). CUDA keeps
    the layout the model is built in: not measured there.
    """
    layout = torch.channels_last if device.type == "cpu" else torch.preserve_format
    return TrunkHead(_model(config, pipeline), config.frozen_blocks).to(device, memory_format=layout)


def _model(config: TrainConfig, pipeline) -> EmbeddingModel:
    if config.backbone == effnet_lite.NAME:
        return effnet_lite.embedding_model(config.weights, config.projection_dim)
    weights = config.weights or _find_weights(DEFAULT_WEIGHTS, pipeline)
    model = build_embedding_model(config.backbone, weights, config.projection_dim, input_size=INPUT_SIZE)
    use_tf_same_padding(model, weights)
    return model


def _find_weights(name: str, pipeline) -> Path:
    folders = model_search_path(pipeline.settings.models_dir, pipeline.data_dir)
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    raise ModelError(f"starting weights {name} not found in {', '.join(map(str, folders))}{PASS_WEIGHTS()}")


def _device(choice: str) -> torch.device:
    if choice in ("gpu", "cuda") or (choice == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ModelError(CPU_DEVICE())
        return torch.device("cuda")
    return torch.device("cpu")


def _category_indices(categories: Sequence[str]) -> list[int]:
    names = sorted(set(categories))
    return [names.index(c) for c in categories]


def _settings(config: TrainConfig, views: int, device: torch.device, detectors: str) -> dict[str, Any]:
    return {
        "epochs": config.epochs, "batch_size": config.batch_size, "frozen_blocks": config.frozen_blocks,
        "views": views, "seed": config.seed, "monitor": f"recall@{config.monitor_k}", "patience": config.patience,
        "detectors": detectors, "detector_conf": "card" if config.conf is None else config.conf,
        "min_cosine": config.min_cosine, "composites": config.composites, "average": config.average,
        "device": device.type, "limit_scenes": config.limit_scenes,
    }


# -- views: trunk features of augmented crops -----------------------------------------------------


class Views:
    """Trunk features for anchors and products.

    With ``count`` > 0 every image gets ``count`` views computed once and kept as float16 (and saved
    in the data's cache folder, so a resumed run, or another recipe on the same data, skips the
    work); a step then picks one view per image at random. With 0, views are augmented afresh each
    step (GPU). The "val" set has one view per image, not augmented: the crop the app would cut and
    the catalog photo as it is.
    """

    def __init__(
        self, model: TrunkHead, name: str, examples: Sequence[Example], products: Sequence[np.ndarray],
        product_ids: Sequence[str], count: int, config: TrainConfig, cache: Path, device: torch.device,
        progress: Progress, cancelled: IsCancelled,
    ):
        self.model, self.name, self.count, self.device = model, name, count, device
        self.examples, self.product_photos, self.product_ids = examples, products, list(product_ids)
        self.progress, self.cancelled = progress, cancelled
        self.card = input_card(config.backbone)
        self.anchors: np.ndarray | None = None
        self.products: np.ndarray | None = None
        if count:
            self._cache(config, cache)

    def anchor_features(self, indices: Sequence[int], rng: np.random.Generator | None) -> torch.Tensor:
        if self.anchors is not None:
            return self._pick(self.anchors, indices, rng)
        crops = [anchor_view(self.examples[i], rng, DEFAULT_PADDING) for i in indices]
        return self._trunk(crops)

    def product_features(self, labels: Sequence[int], rng: np.random.Generator | None) -> torch.Tensor:
        if self.products is not None:
            return self._pick(self.products, labels, rng)
        return self._trunk([product_view(self.product_photos[i], rng) for i in labels])

    def _pick(self, bank: np.ndarray, indices: Sequence[int], rng: np.random.Generator | None) -> torch.Tensor:
        which = rng.integers(0, self.count, len(indices)) if rng is not None else np.zeros(len(indices), int)
        return torch.from_numpy(bank[np.asarray(indices), which].astype(np.float32)).to(self.device)

    def _trunk(self, crops: Sequence[np.ndarray]) -> torch.Tensor:
        return self.model.trunk(torch.from_numpy(embed_batch(crops, self.card)).to(self.device))

    def _cache(self, config: TrainConfig, cache: Path) -> None:
        """Anchor and product banks are cached apart: the catalog's bank serves every validation subset."""
        augment = self.name == "train"  # each bank its own stream: one may come from the cache, the other not
        anchor_rng = np.random.default_rng([config.seed, 1]) if augment else None
        product_rng = np.random.default_rng([config.seed, 2]) if augment else None
        setting = {"name": self.name, "count": self.count, "seed": config.seed, "frozen_blocks": config.frozen_blocks,
                   "backbone": config.backbone, "weights": str(config.weights), "code": code_digest(VIEW_CODE)}
        examples, photos = self.examples, self.product_photos
        self.anchors = self._cached_bank(
            cache, {**setting, "anchors": [[e.label, *map(float, e.box), e.origin] for e in examples]}, len(examples),
            lambda i: anchor_view(examples[i], anchor_rng, DEFAULT_PADDING), "anchors",
        )
        self.products = self._cached_bank(
            cache, {**setting, "products": self.product_ids}, len(photos),
            lambda i: product_view(photos[i], product_rng), "products",
        )

    def _cached_bank(
        self, cache: Path, key: dict[str, Any], n: int, view: Callable[[int], np.ndarray], what: str
    ) -> np.ndarray:
        stem = f"views-{self.name}-{what}-{hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]}"
        path, meta = cache / f"{stem}.npy", cache / f"{stem}.json"
        cached = _read_bank(path, meta, key)
        if cached is not None:
            return cached
        bank = self._bank(n, view, what)
        cache.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.save(buffer, bank)
        write_atomic(path, buffer.getvalue())  # a run killed while writing leaves no half bank behind
        write_atomic(meta, json.dumps(key))
        return bank

    def _bank(self, n: int, view: Callable[[int], np.ndarray], what: str) -> np.ndarray:
        jobs = [(i, v) for i in range(n) for v in range(self.count)]
        bank: np.ndarray | None = None
        for start in range(0, len(jobs), TRUNK_BATCH):
            if self.cancelled():
                raise Cancelled("training cancelled while caching views")
            chunk = jobs[start : start + TRUNK_BATCH]
            features = self._trunk([view(i) for i, _ in chunk]).cpu().numpy().astype(np.float16)
            if bank is None:
                bank = np.zeros((n, self.count, *features.shape[1:]), np.float16)
            for (i, v), f in zip(chunk, features):
                bank[i, v] = f
            self.progress(TrainEvent(f"views ({self.name} {what})", min(start + TRUNK_BATCH, len(jobs)), len(jobs)))
        assert bank is not None
        return bank


# -- epochs ---------------------------------------------------------------------------------------


def _read_bank(path: Path, meta: Path, key: dict[str, Any]) -> np.ndarray | None:
    """A cached view bank made for ``key``; None when there is none, or it cannot be read (made again then)."""
    with contextlib.suppress(OSError, ValueError, EOFError):  # a half-written or damaged cache
        if json.loads(meta.read_text()) == key:
            return np.load(path)
    return None


def _fresh_state(run: _Run) -> dict[str, Any]:
    baseline = validate(run.model, run.val_views, run.val_set, run.train_set)
    run.config.out.mkdir(parents=True, exist_ok=True)
    _save_weights(run.model.state_dict(), run.config.out / "best.pt")
    return {"epoch": 0, "history": [{"epoch": 0, **baseline}], "baseline": baseline, "best": baseline,
            "best_epoch": 0, "stale": 0}


def _epochs(run: _Run, state: dict[str, Any], progress: Progress, cancelled: IsCancelled) -> None:
    config = run.config
    monitor = f"recall@{config.monitor_k}"
    while state["epoch"] < config.epochs and state["stale"] < config.patience:
        epoch = state["epoch"] + 1
        rng = np.random.default_rng([config.seed, epoch])
        if isinstance(run.miner, HardFractionTripletMiner):
            run.miner.generator.manual_seed(config.seed * 100_003 + epoch)
        started = time.perf_counter()
        if run.recipe.negatives == "catalog":
            run.bank = _product_bank(run)
        batches = _batches(run.recipe, run.train_set, config, epoch)
        losses = []
        for step, batch in enumerate(batches, 1):
            if cancelled():
                raise Cancelled(f"training cancelled in epoch {epoch}; `--resume` continues from epoch {epoch - 1}")
            losses.append(_step(run, batch, rng))
            progress(TrainEvent("train", step, len(batches), epoch, loss=float(np.mean(losses))))
        metrics = validate(run.model, run.val_views, run.val_set, run.train_set)
        progress(TrainEvent("validate", epoch, config.epochs, epoch, metrics=metrics))
        record = {"epoch": epoch, "loss": float(np.mean(losses)), "seconds": round(time.perf_counter() - started, 1)}
        state["history"].append(record | metrics)
        state["epoch"] = epoch
        better = metrics[monitor] > state["best"][monitor]
        if better:
            state.update(best=metrics, best_epoch=epoch, stale=0)
            _save_weights(run.model.state_dict(), config.out / "best.pt")
        else:
            state["stale"] += 1
        if config.average and (better or state.get("averaged", 0)):
            _add_to_mean(run, state, restart=better)
        _checkpoint(run, state)


# -- weight averaging -----------------------------------------------------------------------------


def _add_to_mean(run: _Run, state: dict[str, Any], restart: bool) -> None:
    """Fold this epoch's weights into ``mean.pt``, the running mean since the best epoch (a new best restarts it).

    The best epoch and the ones after it lie in one basin; their mean sits nearer its flat middle, which
    tends to generalise better than any single epoch (stochastic weight averaging). Averaging the weights of two
    whole trainings gained at top-5 on every split measured (docs/results.md, session 23).
    """
    now = run.model.state_dict()
    count = 1 if restart else state["averaged"] + 1
    if restart:
        mean = now
    else:
        old = torch.load(run.config.out / "mean.pt", map_location="cpu", weights_only=True)
        mean = {k: old[k] + (v.cpu() - old[k]) / count if v.is_floating_point() else v for k, v in now.items()}
    _save_weights(mean, run.config.out / "mean.pt")
    state["averaged"] = count


def _keep_mean_if_better(run: _Run, state: dict[str, Any]) -> None:
    """Validate the mean of the best epoch and the later ones; keep it (as ``best.pt`` and in ``state``)
    when it scores at least as well as the best epoch, else keep the best epoch's weights loaded."""
    if state.get("averaged", 0) < 2:
        return
    best = copy.deepcopy(run.model.state_dict())
    run.model.load_state_dict(torch.load(run.config.out / "mean.pt", map_location=run.views.device, weights_only=True))
    metrics = validate(run.model, run.val_views, run.val_set, run.train_set)
    monitor = f"recall@{run.config.monitor_k}"
    kept = metrics[monitor] >= state["best"][monitor]
    state["mean"] = {"epochs": [state["best_epoch"], state["epoch"]], "kept": kept, **metrics}
    if kept:
        state["best"] = metrics
        _save_weights(run.model.state_dict(), run.config.out / "best.pt")
    else:
        run.model.load_state_dict(best)


def _batches(recipe: Recipe, data: TrainingSet, config: TrainConfig, epoch: int) -> list[list[int]]:
    if recipe.sampler == "m-per-class":
        np.random.seed(config.seed * 100_003 + epoch)  # PML's sampler shuffles with numpy's global state
        labels = [e.label for e in data.examples]
        size = config.batch_size - config.batch_size % 2
        length = len(labels) - len(labels) % size
        order = list(MPerClassSampler(labels, m=2, batch_size=size, length_before_new_iter=length))
        return [order[i : i + size] for i in range(0, len(order), size)]
    sampler = CategoryBatchSampler(data.example_categories, config.batch_size, seed=config.seed * 100_003 + epoch)
    return [b for b in sampler if len(b) > 1]


def _step(run: _Run, batch: Sequence[int], rng: np.random.Generator) -> float:
    model, recipe = run.model, run.recipe
    labels = torch.tensor([run.train_set.examples[i].label for i in batch])
    ref_labels = torch.unique(labels)
    ref_features = run.views.product_features(ref_labels.tolist(), rng)
    anchors = model.head(run.views.anchor_features(batch, rng))
    refs = model.head(ref_features)
    if recipe.normalize:
        anchors, refs = F.normalize(anchors, dim=1), F.normalize(refs, dim=1)
    device = anchors.device
    labels, ref_labels = labels.to(device), ref_labels.to(device)
    pulled = refs
    if run.bank is not None:
        refs, ref_labels = _with_bank(run.bank, refs, ref_labels)
    indices = run.miner(anchors, labels, refs, ref_labels) if run.miner is not None else None
    loss = run.loss_fn(anchors, labels, indices, refs, ref_labels)
    if run.pretrained is not None:
        loss = loss + recipe.pull * _drift(run.pretrained, ref_features, pulled)
    run.optimizer.zero_grad()
    loss.backward()
    run.optimizer.step()
    return float(loss.detach())


def _product_bank(run: _Run) -> torch.Tensor:
    """Unit embeddings of every training product under the current weights, one per label."""
    with torch.no_grad():
        bank = _embed_all(run.model, run.views.product_features, range(len(run.train_set.product_ids)))
    return torch.from_numpy(bank).to(run.views.device)


def _with_bank(bank: torch.Tensor, refs: torch.Tensor, ref_labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's products (with gradients) plus every other product from the bank, as negatives.

    Search ranks a crop against the whole category, not against the 32 products of a batch; the
    bank makes every training product a negative at the cost of a matrix product per step.
    """
    others = torch.ones(len(bank), dtype=torch.bool, device=bank.device)
    others[ref_labels] = False
    labels = torch.arange(len(bank), device=bank.device)
    return torch.cat([refs, bank[others]]), torch.cat([ref_labels, labels[others]])


def _drift(pretrained: TrunkHead, features: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """Mean squared distance between catalog photos' unit embeddings now and before training.

    The catalog side of search is where unseen products live: pulling it towards where the
    pretrained model put it lets training move scene crops onto their products without reshuffling
    the catalog for products it never saw.
    """
    with torch.no_grad():
        before = F.normalize(pretrained.head(features), dim=1)
    return (F.normalize(current, dim=1) - before).pow(2).sum(dim=1).mean()


# -- validation -----------------------------------------------------------------------------------


def validate(model: TrunkHead, views: Views, val: ValidationSet, train: TrainingSet) -> dict[str, float]:
    """Recall@k of validation pairs, scored as ``decorlens eval`` scores them (cosine, app search).

    Products never trained on are reported apart ("unseen"), since that is what a new catalog item
    looks like.
    """
    with torch.no_grad():
        queries = _embed_all(model, views.anchor_features, range(len(val.queries)))
        gallery = _embed_all(model, views.product_features, range(len(val.gallery_ids)))
    sims = queries @ gallery.T
    categories = np.array(val.gallery_categories)
    allowed = np.stack([np.isin(categories, searched) for searched in val.searched])
    ranks = np.array([_best_rank(sims, allowed, product, rows) for product, rows in val.pairs])
    seen = np.isin([val.gallery_ids[product] for product, _ in val.pairs], train.product_ids)
    out = {f"recall@{k}": float((ranks <= k).mean()) for k in RECALL_KS}
    for name, mask in (("seen", seen), ("unseen", ~seen)):
        for k in (1, 5):
            out[f"{name}_recall@{k}"] = float((ranks[mask] <= k).mean()) if mask.any() else float("nan")
        out[f"{name}_n"] = int(mask.sum())
    return out


def exact_calibration(model: TrunkHead, views: Views, val: ValidationSet) -> Calibration | None:
    """The "exact" threshold of these weights, from the top-1 match of every validation query.

    A query's top-1 (among the products its category searches) is right when the product is paired
    with the query's scene; ``engine.calibration`` picks the lowest cosine at which "exact" is right
    half the time. Without validation queries there is nothing to measure and the card keeps none.
    """
    if not val.queries:
        return None
    with torch.no_grad():
        queries = _embed_all(model, views.anchor_features, range(len(val.queries)))
        gallery = _embed_all(model, views.product_features, range(len(val.gallery_ids)))
    sims = queries @ gallery.T
    categories = np.array(val.gallery_categories)
    right: dict[int, set[int]] = {}
    for product, rows in val.pairs:
        for r in rows:
            right.setdefault(r, set()).add(product)
    scores, correct = [], []
    for r, searched in enumerate(val.searched):
        allowed = np.flatnonzero(np.isin(categories, searched))
        if allowed.size:
            top = int(allowed[np.argmax(sims[r, allowed])])
            scores.append(float(sims[r, top]))
            correct.append(top in right.get(r, set()))
    return calibrate_exact(scores, correct) if scores else None


def _best_rank(sims: np.ndarray, allowed: np.ndarray, product: int, rows: Sequence[int]) -> float:
    """1-based rank of ``product`` for its best query, among the products that query may return."""
    ranks = [
        1 + int(((sims[r] > sims[r, product]) & allowed[r]).sum()) for r in rows if allowed[r, product]
    ]
    return min(ranks, default=np.inf)


def _embed_all(model: TrunkHead, features: Callable, indices: range) -> np.ndarray:
    out = []
    for start in range(0, len(indices), 64):
        chunk = list(indices[start : start + 64])
        out.append(F.normalize(model.head(features(chunk, None)), dim=1).cpu().numpy())
    return np.concatenate(out)


# -- checkpoints ----------------------------------------------------------------------------------


def _save_weights(weights: dict[str, torch.Tensor], path: Path) -> None:
    """Weights on the CPU, written atomically: a run killed while saving keeps the previous ``best.pt``, which
    ``--resume`` and the export load."""
    buffer = io.BytesIO()
    torch.save({k: v.cpu() for k, v in weights.items()}, buffer)
    write_atomic(path, buffer.getvalue())


def _checkpoint(run: _Run, state: dict[str, Any]) -> None:
    """Epoch-end state, written atomically: the model, the loss's own parameters, the optimiser, the history."""
    out = run.config.out
    payload = {
        "model": run.model.state_dict(), "loss": run.loss_fn.state_dict(), "optimizer": run.optimizer.state_dict(),
        "state": state, "config": _plain(asdict(run.config)),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_atomic(out / "last.pt", buffer.getvalue())  # a unique temp name: two runs never share one
    write_atomic(out / "history.json", json.dumps(state["history"], indent=1))


def _resumable(config: TrainConfig) -> dict[str, Any] | None:
    """With ``resume``, the run folder's checkpoint, refused unless it was made with these settings."""
    path = config.out / "last.pt"
    if not config.resume or not path.is_file():
        return None
    payload = load_plain(path, "training checkpoint")
    now = _plain(asdict(config))
    before = {f.name: f.default for f in fields(TrainConfig)} | payload["config"]  # older checkpoints lack newer keys
    for key in ("recipe", "backbone", "frozen_blocks", "seed", "batch_size", "lr", "views", "average"):
        if before.get(key) != now[key]:
            raise ModelError(f"cannot resume {path}: it was trained with {key}={before.get(key)!r}")
    _check_weights(path, before.get("weights"), now["weights"])
    return payload


def _check_weights(path: Path, before: str | None, now: str | None) -> None:
    """The starting weights must be the run's: its checkpoint overwrote other ``--weights`` in silence, while
    the frozen layers' cached views and the pull towards the pretrained model came from them."""
    if before == now or (before and now and Path(before).resolve() == Path(now).resolve()):
        return
    started = f"--weights {before}" if before else "the default weights"
    fix = f"pass --weights {before}" if before else "leave --weights out"
    given = f"--weights {now}" if now else "no --weights"
    raise ModelError(f"--resume continues {path}, started from {started}, not {given}: {fix}")


def _resume(run: _Run, payload: dict[str, Any]) -> dict[str, Any]:
    run.model.load_state_dict(payload["model"])
    run.loss_fn.load_state_dict(payload["loss"])
    run.optimizer.load_state_dict(payload["optimizer"])
    return payload["state"]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return str(value) if isinstance(value, Path) else value
