"""Train ONE YOLO detector for the user's catalog, to replace the stock detectors, and export it.

Steps: split the dataset's scenes (the same scene hash split as embedder training, so test scenes
stay unseen), label the train and val scenes (``training.pseudo_labels``: the stock detectors' tags
distilled through the category map and the catalog filter, the linked products' regions the
embedder finds, the boxes given in ``pairs.csv``), add the photos corrected in the app
(``training.app_data``), optionally paste catalog products of the rarely seen categories into copies of
train scenes (``training.pasted_products``), write a YOLO dataset with COCO JSON beside it (``training.yolo_data``),
fine-tune with ultralytics, and export the best weights to ONNX with a card whose classes are
catalog categories (``class_set: decor``) and which names the stock detectors it replaces
(``replaces``): ``decorlens models activate`` it alone, and detection runs one network instead of
two or three. The category map in the data dir gains any class it did not know, so the engine
searches them.

CPU defaults are small (yolo11n, 416 px, backbone frozen, 80 epochs: 15–25 minutes on 2 cores, by
the number of labels). On a GPU the same network trains for 250 epochs by default: about 1.2 s an epoch
on an H200 instead of 18 s on 2 cores, and the longer schedule found more of the test pairs on both
seeds; 640 px with nothing frozen learned more slowly (docs/detection.md). Label with the fine-tuned
embedder active: its labels are better.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from engine.categories import FILE_NAME as CATEGORY_FILE
from engine.errors import Cancelled, ModelError
from engine.files import sha256_of, write_atomic
from engine.imageio import upright_size
from engine.models import locate, read_card, write_card
from engine.paths import model_search_path, resources_dir
from engine.remedies import CPU_DEVICE, FEW_LABELS
from engine.scene_memory import box_in
from training.app_data import AppData, CorrectedPhoto, read_photos
from training.data import PairDataset, split_of
from training.detector_confidence import calibrate, write_confidence
from training.export import export_detector
from training.pasted_products import pasted_scenes
from training.pseudo_labels import (
    DEFAULT_THRESHOLD,
    PseudoLabeller,
    SceneLabels,
    UserScene,
    label_counts,
    teacher_pipeline,
)
from training.review import contact_sheet, sample_pseudo
from training.weights import pickle_consent
from training.yolo import import_yolo
from training.yolo_data import read_yolo_dataset, write_dataset

BACKBONE_LAYERS = 10  # yolo11n / yolov8n: layers 0–9 are the backbone
CPU_EPOCHS = 80
GPU_EPOCHS = 250  # on an H200 it covered 94 test pairs that 100 CPU epochs missed, and missed 35 (docs/detection.md)
Report = Callable[[str, int, int, dict[str, Any] | None], None]  # stage, done, total, metrics


@dataclass
class DetectorConfig:
    data: Path
    out: Path  # run folder: labels cache, YOLO dataset, ultralytics run
    name: str = "yolo11n-decor"
    base: str = "yolo11n-ovint8-dq.pt"  # an ultralytics .pt on the model path
    epochs: int | None = None  # None: default_epochs(device)
    imgsz: int = 416
    batch: int = 16
    freeze: int = BACKBONE_LAYERS
    patience: int = 20
    threshold: float = DEFAULT_THRESHOLD
    min_labels: int = 3  # a category with fewer train labels is not made a class
    seed: int = 0
    device: str = "auto"
    workers: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))
    limit_scenes: int | None = None
    pasted: int = 0  # copies of train scenes with rare-category products pasted in (training.pasted_products)
    export_only: bool = False  # write the YOLO / COCO dataset and stop
    trust_pt: bool = False  # load a base .pt from outside the models folders (ultralytics unpickles it in full)

    def __post_init__(self) -> None:
        if self.epochs is None:
            self.epochs = default_epochs(self.device)


@dataclass
class DetectorResult:
    data_yaml: Path
    classes: list[str]
    labels: dict[str, dict[str, int]]
    replaces: list[str] = field(default_factory=list)  # the stock detectors (file names) it was distilled from
    weights: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _base_with_consent(config: DetectorConfig, pipeline) -> Path:
    """The base .pt, after the warning that ultralytics will unpickle it (training.weights)."""
    base = locate(config.base, pipeline.settings.models_dir, pipeline.data_dir)
    pipeline.log(pickle_consent(base, config.trust_pt, model_search_path(pipeline.settings.models_dir,
                                                                          pipeline.data_dir)))
    return base


def build_dataset(config: DetectorConfig, pipeline, report: Report, cancelled: Callable[[], bool]) -> DetectorResult:
    """Label the train and val scenes, add the app's corrected photos, and write the YOLO + COCO dataset."""
    dataset = PairDataset.load(config.data)
    splits = {s: dataset.scenes_in(s, config.seed)[: config.limit_scenes] for s in ("train", "val")}
    corrected = corrected_photos(pipeline.data_dir, pipeline.log)
    classes_wanted = sorted({p.category for p in dataset.pairs} | set(pipeline.categories.categories)
                            | {t.category for p in corrected.values() for t in p.kept})
    labeller = PseudoLabeller(dataset, pipeline, config.out / "labels-cache", classes_wanted, config.threshold,
                              {sha: user_scene(p) for sha, p in corrected.items()})
    labelled: dict[str, list[SceneLabels]] = {}
    for split, scenes in splits.items():
        labelled[split] = labeller.label_all(scenes, lambda d, n, s=split: report(f"labelling {s}", d, n, None),
                                             cancelled)
    in_dataset = {sha256_of(path) for path in dataset.scenes.values()} if corrected else set()
    # photos of the user's own (not dataset scenes): their kept boxes as they are; never test scenes, so train or val
    for scene in AppData([p for sha, p in corrected.items() if sha not in in_dataset], []).scene_labels():
        labelled["val" if split_of(scene.scene_id, config.seed) == "val" else "train"].append(scene)
    labelled["train"] += pasted_scenes(labelled["train"], dataset, classes_wanted, config.pasted, config.out / "pasted",
                                       config.seed, lambda d, n: report("pasting products", d, n, None), cancelled)
    counts = label_counts(labelled["train"])
    classes = [c for c, by_source in counts.items() if sum(by_source.values()) >= config.min_labels]
    if not classes:
        raise ModelError(FEW_LABELS(count=config.min_labels, data=config.data))
    data_yaml = write_dataset(labelled, classes, config.out / "dataset")
    teacher = teacher_pipeline(pipeline).detector.detectors
    return DetectorResult(data_yaml, classes, counts, [d.model.path.name for d in teacher])


def corrected_photos(data_dir: Path, log: Callable[[str], None] = lambda _line: None) -> dict[str, CorrectedPhoto]:
    """The photos corrected in the app (``training.app_data`` reads them), by their content's sha256.

    Corrections files that cannot be read, or whose photo is gone, are left out and named through ``log``:
    the Train window lists them, and the command line said nothing."""
    found = read_photos(data_dir)
    for names, why in ((found.unreadable, "unreadable"), (found.missing, "their photo is gone")):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            log(f"note: {len(names)} of the app's saved corrections left out ({why}): {shown}")
    return {sha256_of(p.image): p for p in found.photos}


def user_scene(photo: CorrectedPhoto) -> UserScene:
    """What the user kept (a label each, in its corrected category) and removed in one photo of the app, in the
    photo's own pixels as the pseudo labels are: a corrections file saved before boxes were in the photo's pixels
    holds a large photo's at the size it was decoded to (its width and height say which)."""
    (labels,) = AppData([photo], []).scene_labels()
    stored, size = (photo.width, photo.height), upright_size(photo.image)
    return UserScene([replace(lab, box=box_in(lab.box, stored, *size)) for lab in labels.labels],
                     [box_in(t.box, stored, *size) for t in photo.removed])


def write_review(config: DetectorConfig, pipeline, n: int) -> Path:
    """``review.png`` in the run folder: ``n`` assignments of the train scenes, whatever their cosine."""
    dataset = PairDataset.load(config.data)
    scenes = dataset.scenes_in("train", config.seed)[: config.limit_scenes]
    every = sorted({p.category for p in dataset.pairs})
    labeller = PseudoLabeller(dataset, pipeline, config.out / "labels-cache", every, threshold=0.0)
    picked = sample_pseudo(labeller.label_all(scenes), n, config.seed)
    return contact_sheet(dataset, picked, config.out / "review.png")


def train_detector(config: DetectorConfig, pipeline, report: Report,
                   cancelled: Callable[[], bool] = lambda: False) -> DetectorResult:
    """Label, write, fine-tune and export; returns where everything went and how it scored."""
    start = time.perf_counter()
    result = build_dataset(config, pipeline, report, cancelled)
    result.timings["labels"] = time.perf_counter() - start
    if config.export_only:
        return result
    base = _base_with_consent(config, pipeline)
    weights, metrics = _fit(config, base, result.data_yaml, report, cancelled)
    result.weights, result.metrics = weights, metrics
    result.timings["train"] = time.perf_counter() - start - result.timings["labels"]
    return result


def train_from_yolo(config: DetectorConfig, data_yaml: Path, pipeline, report: Report,
                    cancelled: Callable[[], bool] = lambda: False) -> DetectorResult:
    """Fine-tune on a YOLO dataset as it is: one ``--export-only`` wrote and a user corrected, say."""
    classes, labels = read_yolo_dataset(data_yaml)
    result = DetectorResult(data_yaml, classes, labels, timings={"labels": 0.0})
    base = _base_with_consent(config, pipeline)
    start = time.perf_counter()
    result.weights, result.metrics = _fit(config, base, data_yaml, report, cancelled)
    result.timings["train"] = time.perf_counter() - start
    return result


def _fit(config: DetectorConfig, base: Path, data_yaml: Path, report: Report,
         cancelled: Callable[[], bool]) -> tuple[Path, dict[str, float]]:
    os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for fonts or weights on the network
    os.environ.setdefault("YOLO_VERBOSE", "False")  # our progress bars report instead
    model = import_yolo()(str(base))
    state = {"epoch": 0, "cancelled": False}

    def on_batch_end(trainer) -> None:
        report(f"epoch {trainer.epoch + 1}/{trainer.epochs}", getattr(trainer, "_batch", 0) + 1,
               len(trainer.train_loader), None)
        trainer._batch = getattr(trainer, "_batch", 0) + 1
        if cancelled():
            state["cancelled"] = trainer.stop = True  # ultralytics validates and saves, then stops

    def on_epoch_end(trainer) -> None:
        trainer._batch = 0
        if trainer.epoch + 1 > state["epoch"]:  # ultralytics calls again after its final validation of best.pt
            state["epoch"] = trainer.epoch + 1
            report("validate", state["epoch"], trainer.epochs, {k: float(v) for k, v in trainer.metrics.items()})

    model.add_callback("on_train_batch_end", on_batch_end)
    model.add_callback("on_fit_epoch_end", on_epoch_end)
    run = config.out / "yolo"
    model.train(
        data=str(data_yaml), epochs=config.epochs, imgsz=config.imgsz, batch=config.batch, freeze=config.freeze,
        patience=config.patience, seed=config.seed, deterministic=True, device=_device(config.device),
        workers=config.workers, project=str(run.parent), name=run.name, exist_ok=True, plots=False,
        amp=False, verbose=False, val=True,
    )
    best = run / "weights" / "best.pt"
    if state["cancelled"]:
        raise Cancelled(f"detector training cancelled; the best weights so far are in {best}")
    if not best.is_file():
        raise ModelError(f"ultralytics finished without writing {best}")
    metrics = {k: float(v) for k, v in model.trainer.metrics.items()}
    return best, metrics


def default_epochs(preference: str) -> int:
    """Epochs where none are asked for: the longer schedule that measured better, where a GPU makes it minutes."""
    return CPU_EPOCHS if _device(preference) == "cpu" else GPU_EPOCHS


def _device(preference: str) -> str:
    """ultralytics' device string: CPU unless a GPU is asked for or (auto) present."""
    if preference == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "0"
    if preference == "gpu":
        raise ModelError(CPU_DEVICE())  # the embedder's words: the app's Train window runs this one too
    return "cpu"


def export_trained(result: DetectorResult, config: DetectorConfig, out_dir: Path, conf: float) -> Path:
    """The best weights → ``out_dir/<name>.onnx`` + card (classes, recipe, label counts, metrics)."""
    if result.weights is None:
        raise ModelError("nothing to export: the detector was not trained")
    path = export_detector(result.weights, out_dir, imgsz=config.imgsz, name=config.name, conf=conf)
    card = read_card(path)
    card.class_names = result.classes  # a --yolo-data set's names in one Unicode form; ultralytics kept the file's
    card.class_set = "decor"
    card.replaces = result.replaces
    card.recipe.update({
        "base": config.base, "epochs": config.epochs, "imgsz": config.imgsz, "freeze": config.freeze,
        "threshold": config.threshold, "seed": config.seed, "data": str(config.data), "labels": result.labels,
        "train_seconds": round(result.timings.get("train", 0.0)),
    })
    card.metrics = {k: round(v, 4) for k, v in result.metrics.items()}
    write_card(path, card)
    return path


def calibrate_card(path: Path, config: DetectorConfig, pipeline, report: Report) -> dict[str, Any]:
    """Choose the card's confidence on the validation scenes (``training.detector_confidence``) and write it."""
    dataset = PairDataset.load(config.data)
    scenes = dataset.scenes_in("val", config.seed)[: config.limit_scenes]
    calibration = calibrate(path, dataset, scenes, pipeline, lambda d, n: report("choosing the confidence", d, n, None))
    write_confidence(path, calibration)
    return calibration


def add_classes_to_map(data_dir: Path, classes: list[str]) -> list[str]:
    """Add the detector's classes the category map lacks (each searching itself); return those added.

    The user's map in the data dir is edited (made from the shipped one when absent), so a
    customised map keeps its customisations.
    """
    path = data_dir / CATEGORY_FILE
    source = path if path.is_file() else resources_dir() / CATEGORY_FILE
    text = source.read_text()
    raw = yaml.safe_load(text) or {}
    known = raw.setdefault("categories", {})
    added = [c for c in classes if c not in known]
    if not added:
        return []
    for name in added:
        known[name] = {"search": [name]}
    header = "".join(f"{line}\n" for line in _leading_comments(text))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return added


def _leading_comments(text: str) -> list[str]:
    lines = text.splitlines()
    end = next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), len(lines))
    return lines[:end]
