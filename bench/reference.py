"""The reference: the straightforward scene pipeline a user would write with the usual tools.

ultralytics ``YOLO.predict`` on the detectors (the COCO ``.pt`` in torch; the Open Images detector
has no ``.pt``, so ``YOLO(onnx).predict``, which runs it through ultralytics' own onnxruntime
backend), then the torchvision MobileNetV2 backbone run crop by crop, then numpy brute-force cosine
search over the catalog restricted to the searched categories. It maps classes to decor categories,
merges boxes, pads crops and scores hits with the same small engine helpers as ours, so the two
pipelines answer the same question and differ only in how the heavy work is done.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.common import TFLITE_SCALE, Workspace, file_key
from engine.categories import CategoryMap
from engine.crops import pad_box
from engine.detect import DetectorSet, merge_detections
from engine.results import Detection

EMBED_SIZE = 224
TOP_K = 5


@dataclass
class RefObject:
    category: str
    label: str
    score: float
    box: tuple[float, float, float, float]
    skus: list[str] = field(default_factory=list)


@dataclass
class RefResult:
    objects: list[RefObject]
    timings_ms: dict[str, float]


class ReferencePipeline:
    """ultralytics + torchvision + numpy, as a user would write it."""

    def __init__(self, workspace: Workspace, device: str = "auto"):
        import torch
        import torchvision

        from training.yolo import import_yolo

        YOLO = import_yolo()

        self.torch = torch
        self.device = "cuda" if device != "cpu" and torch.cuda.is_available() else "cpu"
        ours = workspace.pipeline
        self.categories: CategoryMap = ours.categories
        # (model, confidence, class set): the confidences ours reads from its cards (no ONNX session opened)
        confs = {}
        for choices in ours.settings.detectors:
            card = ours._find_first(choices).card
            confs[card.class_set] = ours.settings.confidence if ours.settings.confidence is not None else card.default_conf
        self.detectors = [(YOLO(str(workspace.coco_pt)), confs.get("coco", 0.25), "coco")]
        if workspace.oiv7_onnx is not None and "oiv7" in confs:
            self.detectors.append((YOLO(str(workspace.oiv7_onnx), task="detect"), confs["oiv7"], "oiv7"))
        self.merge_iou = inspect.signature(DetectorSet).parameters["merge_iou"].default
        self.padding = ours.settings.padding

        net = torchvision.models.mobilenet_v2(num_classes=1001)
        net.load_state_dict(torch.load(workspace.torch_backbone, map_location="cpu", weights_only=True))
        self.net = net.eval().to(self.device)
        self.transform = torchvision.transforms.Compose([
            torchvision.transforms.Resize((EMBED_SIZE, EMBED_SIZE)),
            torchvision.transforms.ToTensor(),
            torchvision.transforms.Normalize([TFLITE_SCALE] * 3, [TFLITE_SCALE] * 3),
        ])
        self.skus, self.product_categories, self.vectors = self._catalog_vectors(workspace)

    # -- the catalog, embedded once by the reference's own backbone (setup, not timed) --------

    def _catalog_vectors(self, workspace: Workspace) -> tuple[list[str], np.ndarray, np.ndarray]:
        rows = workspace.dataset.products
        key = f"{file_key(workspace.torch_backbone)}-{len(rows)}-{file_key(workspace.dataset.root / 'products.csv')}"
        cache = workspace.cache / f"reference-vectors-{key}.npy"
        skus = [r["product_id"] for r in rows]
        cats = np.array([r["category"] for r in rows])
        if cache.is_file():
            return skus, cats, np.load(cache)
        from PIL import Image

        workspace.options.log(f"embedding {len(rows)} catalog images with the torch backbone (once, cached)")
        out = np.zeros((len(rows), 1280), np.float32)
        batch = 32
        for start in range(0, len(rows), batch):
            tensors = []
            for row in rows[start : start + batch]:
                with Image.open(workspace.dataset.product_path(row)) as img:
                    tensors.append(self.transform(img.convert("RGB")))
            out[start : start + len(tensors)] = self._embed_tensor(self.torch.stack(tensors))
        np.save(cache, out)
        return skus, cats, out

    def _embed_tensor(self, tensor) -> np.ndarray:
        with self.torch.inference_mode():
            features = self.net.features(tensor.to(self.device))
            pooled = self.torch.nn.functional.adaptive_avg_pool2d(features, 1).flatten(1)
            vectors = self.torch.nn.functional.normalize(pooled, dim=1)
        return vectors.cpu().numpy()

    # -- one scene -----------------------------------------------------------------------------

    def detect(self, image: Path) -> list[Detection]:
        found: list[Detection] = []
        for model, conf, class_set in self.detectors:
            result = model.predict(str(image), conf=conf, iou=0.7, verbose=False, device=self.device)[0]
            boxes = result.boxes.xyxy.cpu().numpy()
            scores = result.boxes.conf.cpu().numpy()
            classes = result.boxes.cls.cpu().numpy().astype(int)
            for box, score, cls in zip(boxes, scores, classes):
                label = result.names[int(cls)]
                category = self.categories.decor_category(class_set, label)
                if category is not None:
                    found.append(Detection(tuple(map(float, box)), float(score), label, category, class_set))
        return merge_detections(found, self.merge_iou)

    def embed_crop(self, image, box) -> np.ndarray:
        left, top, right, bottom = pad_box(box, image.width, image.height, self.padding)
        tensor = self.transform(image.crop((left, top, right, bottom)))[None]
        return self._embed_tensor(tensor)[0]

    def search(self, vector: np.ndarray, category: str) -> list[str]:
        scores = self.vectors @ vector
        allowed = np.isin(self.product_categories, self.categories.searched(category))
        scores = np.where(allowed, scores, -np.inf)
        best = np.argsort(-scores)[:TOP_K]
        return [self.skus[i] for i in best if np.isfinite(scores[i])]

    def search_scene(self, image: Path) -> RefResult:
        from PIL import Image, ImageOps

        timings: dict[str, float] = {}
        start = time.perf_counter()
        detections = self.detect(image)  # ultralytics reads the file itself
        timings["detect"] = _since(start)
        start = time.perf_counter()
        with Image.open(image) as img:  # the user's own copy, to cut crops from
            pixels = ImageOps.exif_transpose(img).convert("RGB")
        timings["decode"] = _since(start)
        start = time.perf_counter()
        vectors = [self.embed_crop(pixels, d.box) for d in detections]
        timings["embed"] = _since(start)
        start = time.perf_counter()
        objects = [
            RefObject(d.category, d.label, d.score, d.box, self.search(v, d.category))
            for d, v in zip(detections, vectors)
        ]
        timings["search"] = _since(start)
        return RefResult(objects, timings)


def _since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def scene_hits(
    objects: Sequence[tuple[str, Sequence[str]]], pairs: Sequence[tuple[str, str]], categories: CategoryMap,
    equivalent: dict[str, set[str]],
) -> list[bool]:
    """For each (product, category) pair of a scene: is the product (or a byte-identical duplicate) in
    the top-5 of a detection whose category searches the product's category?"""
    hits = []
    for product, product_category in pairs:
        wanted = equivalent.get(product, {product})
        hits.append(any(
            product_category in categories.searched(category) and wanted.intersection(skus)
            for category, skus in objects
        ))
    return hits
