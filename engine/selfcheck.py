"""A headless health check of an installation: models, runtime, detector, embedder, catalog, index.

``decorlens self-check`` (and ``DecorLens --self-check`` in the packaged app) runs it. It needs no
data set and no network: it draws its own room scene and product shots, imports the products into a
throw-away catalog in a temp dir, and checks that searching a region of the scene finds the product
pasted there. The user's own catalog is never opened or written.

Every step is named, so a failure reads as "what is broken" rather than a traceback::

    self-check OK in 3.7 s: detectors YOLO11n (COCO 80 classes), YOLOv8n (Open Images V7); embedder ...
    self-check FAILED at models: missing model file yolo11n.onnx or yolo11n-ovint8-dq.onnx (searched ...); ...

``frozen_entry`` is the entry point of the packaged app (see ``build.spec``): it answers
``--self-check`` and CLI commands before anything imports Qt, and opens the GUI otherwise.
"""

from __future__ import annotations

import json
import math
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import Cancelled, DecorLensError, ModelError
from engine.remedies import CLI_PROGRAM, for_program
from engine.settings import Settings
from engine.words import counted

Log = Callable[[str], None]

SCENE_SIZE = (960, 640)  # width, height of the generated room photo
PRODUCT_SIDE = 256


@dataclass
class Step:
    """One named check: what it looked at, whether it passed, and how long it took."""

    name: str
    ok: bool
    detail: str
    ms: float = 0.0


@dataclass
class SelfCheckReport:
    """The steps run, in order; the check stops at the first failed one."""

    steps: list[Step] = field(default_factory=list)
    device: str = ""
    models: dict[str, str] = field(default_factory=dict)  # role → model file path
    seconds: float = 0.0
    facts: dict[str, str] = field(default_factory=dict)  # what the summary line names

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    @property
    def failed(self) -> Step | None:
        return next((s for s in self.steps if not s.ok), None)

    def summary(self) -> str:
        """The one line printed by the command."""
        failed = self.failed
        if failed is not None:
            return f"self-check FAILED at {failed.name}: {failed.detail}"
        f = self.facts
        return (
            f"self-check OK in {self.seconds:.1f} s: {f.get('detectors', '?')}; {f.get('embedder', '?')} "
            f"on {self.device} (onnxruntime {f.get('onnxruntime', '?')}); test scene: "
            f"{_objects(f.get('objects'))} tagged, {f.get('found', '?')} products found in a temporary index"
        )

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "device": self.device,
            "models": self.models,
            "seconds": round(self.seconds, 3),
            "steps": [asdict(s) for s in self.steps],
            "versions": versions(),
        }


class _StepFailed(Exception):
    pass


def versions() -> dict[str, str]:
    """Versions that matter when a check fails on another machine."""
    import onnxruntime

    from engine import __version__

    return {
        "decorlens": __version__,
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "providers": ",".join(onnxruntime.get_available_providers()),
        "platform": platform.platform(),
        "frozen": str(bool(getattr(sys, "frozen", False))),
    }


def run_self_check(settings: Settings | None = None, log: Log = lambda _msg: None,
                   on_step: Callable[[Step], None] = lambda _step: None,
                   cancelled: Callable[[], bool] = lambda: False) -> SelfCheckReport:
    """Run every step with ``settings`` (models dir, device, model choices); never raises for a failure.

    ``on_step`` gets each step as it ends (the app's Help ▸ Check Installation… lists them); what it raises
    (``Cancelled``) ends the check there, its temp folder and catalog cleaned up. ``cancelled`` is asked before each
    step and inside the long ones (between models loaded, detectors run, products imported, searches): asked only
    between steps, the app quit while one ran waited for its end, a second of model loading or searching."""
    from engine.pipeline import Pipeline

    settings = settings or Settings.defaults()
    report = SelfCheckReport()
    start = time.perf_counter()

    def stop() -> None:
        if cancelled():
            raise Cancelled("self-check cancelled")

    def step(name: str, work: Callable[[], str]) -> None:
        stop()
        t0 = time.perf_counter()
        try:
            detail = work()
            ok = True
        except Cancelled:
            raise
        except _StepFailed as exc:
            detail, ok = str(exc), False
        except DecorLensError as exc:
            detail, ok = str(exc), False
        except Exception as exc:  # anything else is still a named failure, not a traceback
            detail, ok = f"{type(exc).__name__}: {exc}", False
        report.steps.append(Step(name, ok, detail, (time.perf_counter() - t0) * 1000.0))
        log(f"  {'ok ' if ok else 'FAIL'} {name:<10} {detail}")
        on_step(report.steps[-1])
        if not ok:
            raise _StepFailed(detail)

    with tempfile.TemporaryDirectory(prefix="decorlens-selfcheck-") as tmp:
        work = Path(tmp)
        # The real pipeline resolves models exactly as a search would (models dir, <data>/models,
        # bundled); the scratch pipeline holds the throw-away catalog and borrows the loaded models.
        real = Pipeline(settings, log=log)
        scratch = Pipeline(settings.with_(data_dir=work / "data"), log=log)
        state: dict = {}
        try:
            step("resources", lambda: _check_resources(real))
            step("models", lambda: _check_models(real, report))
            step("runtime", lambda: _load_models(real, scratch, report, stop))
            step("scene", lambda: _make_fixture(work, state))
            step("detector", lambda: _check_detector(real, state, stop))
            step("embedder", lambda: _check_embedder(real, state))
            step("catalog", lambda: _check_catalog(scratch, state, cancelled))
            step("search", lambda: _check_search(scratch, state, report, stop))
        except _StepFailed:
            pass
        finally:
            if "catalog" in scratch.__dict__:
                scratch.catalog.close()
    report.seconds = time.perf_counter() - start
    return report


# -- steps ------------------------------------------------------------------------------------


def _check_resources(pipeline) -> str:
    from engine.paths import resources_dir

    categories = pipeline.categories  # parses categories.yaml, validates detector mappings
    if not categories.categories:
        raise _StepFailed(f"category map {categories.source} defines no categories")
    return f"{len(categories.categories)} decor categories from {resources_dir()}"


def _check_models(pipeline, report: SelfCheckReport) -> str:
    """Every configured model found, with a readable card whose checksum matches the file."""
    from engine.models import check_matches_card, model_label
    from engine.paths import model_search_path

    settings = pipeline.settings
    roles = [(f"detector {n + 1}", choices) for n, choices in enumerate(settings.detectors)]
    roles.append(("embedder", settings.embedder))
    if not settings.detectors:
        raise _StepFailed("no detector configured (defaults.yaml lists none)")
    if not settings.embedder:
        raise _StepFailed("no embedder configured (defaults.yaml lists none)")
    missing, problems, found = [], [], {}
    for role, choices in roles:
        try:
            model = pipeline._find_first(choices)
        except ModelError as exc:
            if "not found" in str(exc):
                missing.append(" or ".join(choices))
            else:  # found, but its card is unreadable or absent
                problems.append(f"{role}: {exc}")
            continue
        expected_kind = "embedder" if role == "embedder" else "detector"
        if model.card.kind != expected_kind:
            problems.append(f"{model.path.name}: its card says {model.card.kind!r}, expected {expected_kind!r}")
        else:
            try:
                check_matches_card(model)
            except ModelError as exc:
                problems.append(str(exc))
        found[role] = model
        report.models[role] = str(model.path)
    if missing:
        searched = ", ".join(str(p) for p in model_search_path(settings.models_dir, pipeline.data_dir))
        raise _StepFailed(f"missing model file {'; '.join(missing)} (searched {searched}); "
                          "`decorlens models fetch` gets them")
    if problems:
        raise _StepFailed("; ".join(problems))
    # The summary names the models as the app does ("YOLO11n (COCO 80 classes)"); the step line and the JSON give
    # their files, for whoever answers a support call.
    detectors = ", ".join(model_label(m) for role, m in found.items() if role != "embedder")
    report.facts["detectors"] = f"detector{'s' if len(found) > 2 else ''} {detectors}"
    report.facts["embedder"] = f"embedder {model_label(found['embedder'])}"
    return _where_found(found)


def _load_models(real, scratch, report: SelfCheckReport, stop: Callable[[], None]) -> str:
    """Open onnxruntime sessions (this is where a broken file or a missing CUDA shows)."""
    import onnxruntime

    detector = real.detector
    stop()
    embedder = real.embedder
    scratch.detector = detector  # cached_property: the scratch pipeline reuses the loaded sessions
    scratch.embedder = embedder
    report.device = embedder.device
    report.facts["onnxruntime"] = onnxruntime.__version__
    report.facts["embedder"] += f", {embedder.dim}-d"  # after a label's own parentheses: "… (ImageNet), 1280-d"
    return f"onnxruntime {onnxruntime.__version__} on {embedder.device}"


def _make_fixture(work: Path, state: dict) -> str:
    """Product shots in category folders and a room photo with each product placed in it."""
    from PIL import Image

    products = work / "products"
    scene = _draw_room()
    placements = []
    slots = _slots(len(PRODUCTS))
    for (category, sku, painter), box in zip(PRODUCTS, slots):
        shot = painter(PRODUCT_SIDE)
        folder = products / category
        folder.mkdir(parents=True, exist_ok=True)
        shot.save(folder / f"{sku}.png")
        x1, y1, x2, y2 = box
        scene.paste(shot.resize((x2 - x1, y2 - y1), Image.BILINEAR), (x1, y1))
        placements.append((sku, category, box))
    path = work / "scene.jpg"
    scene.save(path, quality=92)
    state.update(scene=path, products=products, placements=placements)
    return f"generated a {SCENE_SIZE[0]}x{SCENE_SIZE[1]} room with {len(PRODUCTS)} products"


def _check_detector(pipeline, state: dict, stop: Callable[[], None]) -> str:
    from engine.detect import decode
    from engine.imageio import load_image
    from engine.models import model_label
    from engine.preprocess import letterbox

    pixels = load_image(state["scene"])
    state["pixels"] = pixels
    counts = []
    for detector in pipeline.detector.detectors:
        stop()
        card = detector.model.card
        tensor, _ = letterbox(pixels, card.input_size)
        (raw,) = detector.session.run([card.output_name], {card.input_name: tensor})
        expected = 4 + len(card.class_names)
        if raw.ndim != 3 or raw.shape[1] != expected:
            raise _StepFailed(
                f"{detector.name}: output shape {tuple(raw.shape)} does not fit its card "
                f"({len(card.class_names)} classes → (1, {expected}, anchors))"
            )
        if not np.isfinite(raw).all():
            raise _StepFailed(f"{detector.name}: output has NaN or infinite values")
        boxes, _, _ = decode(raw[0], detector.conf, detector.iou, detector.max_det)
        counts.append(f"{model_label(detector.model)}: {counted(len(boxes), 'box', 'boxes')}")
    return ", ".join(counts)


def _check_embedder(pipeline, state: dict) -> str:
    from engine.crops import crops
    from engine.models import model_label

    embedder = pipeline.embedder
    patches = crops(state["pixels"], [box for _, _, box in state["placements"]], pipeline.settings.padding)
    vectors = embedder.embed(patches)
    if vectors.shape != (len(patches), embedder.dim):
        raise _StepFailed(f"{embedder.card.name}: got vectors of shape {vectors.shape}, expected (N, {embedder.dim})")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.isfinite(vectors).all() or not np.allclose(norms, 1.0, atol=1e-3):
        raise _StepFailed(f"{embedder.card.name}: vectors are not finite unit vectors")
    sims = vectors @ vectors.T
    if np.allclose(sims, 1.0, atol=1e-4):
        raise _StepFailed(f"{embedder.card.name}: every crop gets the same vector (a constant model?)")
    return f"{model_label(embedder.model)}, {embedder.dim}-d"  # "ok embedder MobileNetV2 1.0/224 (ImageNet), 1280-d"


def _check_catalog(pipeline, state: dict, cancelled: Callable[[], bool]) -> str:
    report = pipeline.import_catalog(state["products"], cancelled=cancelled)
    if report.skipped or report.added != len(PRODUCTS):
        raise _StepFailed(f"importing {len(PRODUCTS)} generated products: {report.summary()} {report.skipped[:2]}")
    _check_listing_by_sku(pipeline.catalog)
    return f"temporary catalog of {report.added} products indexed and listed by SKU"


def _check_listing_by_sku(catalog) -> None:
    """The Map tab's Show in Catalog lists products by SKU with SQLite's JSON functions (3.38+ has them built
    in): an installer built against an older SQLite would start and tag, and fail there."""
    skus = [p.sku for p in catalog.products()]
    try:
        listed = catalog.products(skus=skus)
    except sqlite3.OperationalError as exc:
        raise _StepFailed(f"SQLite {sqlite3.sqlite_version} lacks the JSON functions the Catalog tab needs "
                          f"({exc}): build with SQLite 3.38 or newer") from exc
    if sorted(p.sku for p in listed) != sorted(skus):
        raise _StepFailed(f"listing {len(skus)} products by SKU gave {len(listed)}")


def _check_search(pipeline, state: dict, report: SelfCheckReport, stop: Callable[[], None]) -> str:
    """Each product region of the scene must find that product first; a whole-scene search must run."""
    wrong = []
    for sku, category, box in state["placements"]:
        stop()
        result = pipeline.search_region(state["scene"], tuple(map(float, box)), category, top_k=3)
        matches = result.objects[0].matches if result.objects else []
        if not matches or matches[0].sku != sku:
            wrong.append(f"{sku} → {matches[0].sku if matches else 'nothing'}")
        any_cat = pipeline.search_region(state["scene"], tuple(map(float, box)), None, top_k=1)
        if not any_cat.objects or not any_cat.objects[0].matches:
            wrong.append(f"{sku} (any category) → nothing")
    stop()
    scene = pipeline.search_scene(state["scene"], top_k=1)
    if wrong:
        raise _StepFailed(f"the index returned the wrong product: {', '.join(wrong)}")
    report.facts["objects"] = str(len(scene.objects))
    report.facts["found"] = f"{len(state['placements'])}/{len(state['placements'])}"
    return f"query top-1 {len(state['placements'])}/{len(state['placements'])}, scene search {counted(len(scene.objects), 'tag')}"


def _where_found(found: dict) -> str:
    """Each model's file, each folder named once after its files: "detector 1 a.onnx, embedder b.onnx in DIR".

    With a full path per model, a fresh install's line (all three in <data dir>/models) ran past the 200 characters of
    a note, which then cut the folder from some paths and not others. Bundled models are named as such, so a support
    call can tell them from a user's own."""
    from engine.paths import bundled_models_dir

    bundled = bundled_models_dir()
    by_folder: dict[Path, list[str]] = {}
    for role, model in found.items():
        by_folder.setdefault(model.path.parent, []).append(f"{role} {model.path.name}")
    return "; ".join(f"{', '.join(files)} {'(bundled)' if folder == bundled else f'in {folder}'}"
                     for folder, files in by_folder.items())


# -- generated pictures -----------------------------------------------------------------------


def _draw_room():
    """A plain room: a wall with a soft gradient, a floor, a window; products are pasted on it."""
    from PIL import Image, ImageDraw

    w, h = SCENE_SIZE
    y = np.linspace(0.0, 1.0, h)[:, None, None]
    wall = np.array([232, 226, 214], np.float32) * (1.0 - 0.15 * y)
    img = np.broadcast_to(wall, (h, w, 3)).copy()
    floor_top = int(h * 0.72)
    img[floor_top:] = np.array([150, 110, 75], np.float32) * (0.85 + 0.15 * y[floor_top:])
    room = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(room)
    for x in range(0, w, 48):  # floorboards
        draw.line([(x, floor_top), (x - 60, h)], fill=(120, 85, 55), width=2)
    draw.rectangle([w * 0.70, h * 0.08, w * 0.92, h * 0.40], fill=(190, 215, 235), outline=(250, 250, 250), width=8)
    return room


def _slots(n: int) -> list[tuple[int, int, int, int]]:
    """Non-overlapping boxes spread over the scene, sized like furniture in a photo."""
    w, h = SCENE_SIZE
    boxes = [
        (40, 300, 340, 560),   # large, on the floor line
        (380, 60, 560, 240),   # on the wall
        (600, 330, 800, 560),
        (830, 420, 940, 600),  # small
    ]
    return boxes[:n]


def _shot(side: int, background: tuple[int, int, int]):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (side, side), background)
    return img, ImageDraw.Draw(img)


def _striped_sofa(side: int):
    img, d = _shot(side, (245, 245, 245))
    s = side / 256
    d.rounded_rectangle([20 * s, 90 * s, 236 * s, 200 * s], radius=int(18 * s), fill=(178, 34, 52))
    for x in range(30, 230, 22):
        d.line([(x * s, 95 * s), (x * s, 195 * s)], fill=(240, 200, 60), width=max(1, int(6 * s)))
    d.rectangle([30 * s, 200 * s, 46 * s, 236 * s], fill=(60, 40, 20))
    d.rectangle([210 * s, 200 * s, 226 * s, 236 * s], fill=(60, 40, 20))
    return img


def _round_mirror(side: int):
    img, d = _shot(side, (250, 250, 250))
    s = side / 256
    d.ellipse([24 * s, 24 * s, 232 * s, 232 * s], fill=(30, 30, 30))
    d.ellipse([40 * s, 40 * s, 216 * s, 216 * s], fill=(120, 170, 210))
    d.polygon([(70 * s, 80 * s), (110 * s, 60 * s), (190 * s, 170 * s), (150 * s, 190 * s)], fill=(210, 235, 250))
    return img


def _checked_rug(side: int):
    img, d = _shot(side, (240, 240, 235))
    s = side / 256
    cell = 32
    for i in range(8):
        for j in range(8):
            colour = (20, 90, 60) if (i + j) % 2 else (235, 225, 190)
            d.rectangle([i * cell * s, j * cell * s, (i + 1) * cell * s, (j + 1) * cell * s], fill=colour)
    return img


def _plant(side: int):
    img, d = _shot(side, (255, 255, 255))
    s = side / 256
    d.polygon([(88 * s, 170 * s), (168 * s, 170 * s), (152 * s, 246 * s), (104 * s, 246 * s)], fill=(200, 110, 60))
    for k in range(9):
        angle = math.pi * (0.1 + 0.8 * k / 8)
        x, y = 128 + 100 * math.cos(angle), 170 - 140 * math.sin(angle)
        d.line([(128 * s, 170 * s), (x * s, y * s)], fill=(40, 150, 40), width=max(2, int(14 * s)))
    return img


# (category, sku, painter): categories are names of the shipped category map
PRODUCTS = [
    ("sofa", "selfcheck-sofa", _striped_sofa),
    ("mirror", "selfcheck-mirror", _round_mirror),
    ("rug", "selfcheck-rug", _checked_rug),
    ("plant_pot", "selfcheck-plant", _plant),
]


def _objects(count: str | None) -> str:
    """"2 objects", "1 object": the summary said "0 object(s)", where every other line of the CLI agrees in number."""
    return "? objects" if count is None else counted(int(count), "object")


def print_report(report: SelfCheckReport, as_json: bool = False, program: str = CLI_PROGRAM) -> None:
    """``program``: what the commands in the summary, or in the JSON's step details, are typed as (``DecorLens
    --self-check`` in the packaged app)."""
    print(for_program(json.dumps(report.to_json(), indent=2) if as_json else report.summary(), program))
