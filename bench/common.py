"""What every benchmark shares: options, the machine record, a prepared workspace, report writing.

The workspace is a data dir of its own (``<data dir>/bench`` unless ``--workdir``): the IKEA catalog
imported there once, the COCO detector exported to ONNX there if the models dir has only the .pt,
and small caches (reference vectors, per-scene object counts) keyed by the files they came from.
The user's own catalog is never touched.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATASET_ENV = "DECORLENS_BENCH_DATASET"
COCO_PT_CHOICES = ("yolo11n.pt", "yolo11n-ovint8-dq.pt")  # official first, then the rebuilt one
OIV7_ONNX_CHOICES = ("yolov8n-oiv7.onnx", "yolov8n-oiv7-int8.onnx")
TORCH_BACKBONE = "mobilenet_v2-imagenet-tflite.pth"
TFLITE_SCALE = 128 / 255  # mean = std for the TF-slim MobileNetV2 weights


def default_dataset() -> Path:
    """``$DECORLENS_BENCH_DATASET``, else ``$DECORLENS_SHARED/datasets/ikea_interior``, else ../shared."""
    if os.environ.get(DATASET_ENV):
        return Path(os.environ[DATASET_ENV])
    shared = Path(os.environ.get("DECORLENS_SHARED", ROOT.parent / "shared"))
    return shared / "datasets" / "ikea_interior"


def default_out_dir() -> Path:
    """``docs/benchmarks`` of a source checkout, else ``./bench-results``."""
    docs = ROOT / "docs"
    return docs / "benchmarks" if docs.is_dir() else Path.cwd() / "bench-results"


@dataclass
class Options:
    quick: bool = False
    out_dir: Path = field(default_factory=default_out_dir)
    workdir: Path | None = None  # None: <pipeline data dir>/bench
    dataset: Path = field(default_factory=default_dataset)
    seed: int = 0
    write: bool = True  # False: print only
    untuned: bool = True  # latency: also time ours as it ran before the engine tuning
    before_embedder: str | None = None  # latency: also time ours with this embedder and the plain query
    trained_detector: str | None = None  # latency: also time this trained detector alone and beside the stock set
    repeats: int | None = None  # override the timing repeats (tests use 1)
    max_scenes: int | None = None  # override how many candidate scenes latency runs (tests)
    sizes: tuple[int, ...] = ()  # index: run only these sizes of the full plan (report named index-<sizes>)
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True)

    @property
    def mode(self) -> str:
        """"quick" or "full": what each report's JSON and header say of the run, so a quick one is never read as the
        documented full one."""
        return "quick" if self.quick else "full"

    @property
    def suffix(self) -> str:
        """Quick runs write ``<name>.quick.json`` so they never overwrite the documented full runs."""
        return ".quick" if self.quick else ""


# -- the machine ----------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU model name (lscpu, else /proc/cpuinfo, else platform)."""
    try:
        out = subprocess.run(["lscpu"], check=False, capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "neon", "asimd")


def cpu_details() -> dict[str, Any]:
    """CPU family/model numbers and the SIMD extensions the kernels can use (Linux /proc/cpuinfo)."""
    out: dict[str, Any] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key in ("cpu family", "model", "vendor_id") and key not in out:
            out[key] = value
        elif key in ("flags", "Features") and "simd" not in out:
            present = set(value.split())
            out["simd"] = [f for f in SIMD_FLAGS if f in present]
    return out


def gpu_info() -> str | None:
    """The GPU name(s) nvidia-smi reports, or None."""
    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return "; ".join(line.strip() for line in out.splitlines() if line.strip()) or None


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - not installed, or an odd distribution name
        return None


def qt_app(bench: str) -> Any:
    """The QApplication a GUI bench runs in (offscreen unless a platform is set); a one-line error without
    the GUI extra."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        from engine.errors import DecorLensError

        raise DecorLensError(f'bench {bench} needs the GUI extra: pip install "decorlens[gui]" ({exc})') from exc
    return QApplication.instance() or QApplication([])


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, memory, GPU, library versions and the current load, recorded with every result."""
    import onnxruntime as ort

    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
        memory_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        physical, memory_gb = None, None
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cpu": cpu_details(),
        "logical_cores": os.cpu_count(),
        "physical_cores": physical,
        "usable_cores": affinity,
        "memory_gb": memory_gb,
        "gpu": gpu_info(),
        "onnxruntime_providers": ort.get_available_providers(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            name: _version(name)
            for name in ("onnxruntime", "onnxruntime-gpu", "numpy", "opencv-python-headless", "pillow", "hnswlib",
                         "faiss-cpu", "torch", "torchvision", "ultralytics")
            if _version(name)
        },
        "env_threads": {k: os.environ[k] for k in ("DECORLENS_THREADS", "OMP_NUM_THREADS") if k in os.environ},
        "load_average_start": load_average(),
    }


def machine_line(machine: dict[str, Any]) -> str:
    gpu = machine.get("gpu") or "no GPU"
    load = machine.get("load_average_start")
    load_text = f", load avg {load[0]:.1f} at start" if load else ""
    cpu = machine.get("cpu") or {}
    simd = f" ({', '.join(cpu['simd'])})" if cpu.get("simd") else ""
    return (
        f"{machine['cpu_model']}{simd}, {machine['usable_cores']} cores, {machine['memory_gb']} GB, {gpu}; "
        f"onnxruntime {machine['versions'].get('onnxruntime') or machine['versions'].get('onnxruntime-gpu')} "
        f"({', '.join(p.replace('ExecutionProvider', '') for p in machine['onnxruntime_providers'])})"
        f"{load_text}; {machine['date']}"
    )


# -- timing ---------------------------------------------------------------------------------------


@dataclass
class Timing:
    wall_ms: float
    cpu_ms: float  # this process's CPU time (all threads): robust on a shared, loaded machine


def timed(work: Callable[..., Any], *args: Any) -> tuple[Any, Timing]:
    """``work(*args)`` and how long it took."""
    cpu, start = time.process_time(), time.perf_counter()
    result = work(*args)
    return result, Timing((time.perf_counter() - start) * 1000.0, (time.process_time() - cpu) * 1000.0)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, np.float64), q)) if len(values) else float("nan")


def gemm_gflops(n: int = 2048, repeats: int = 5) -> dict[str, Any]:
    """Measured float32 dense matmul rate (numpy's BLAS, all its threads): best and median of ``repeats``,
    and per CPU-second (robust when other processes share the machine)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up the BLAS threads
    rates, cpu_rates = [], []
    for _ in range(repeats):
        _, t = timed(lambda: a @ b)
        rates.append(2.0 * n**3 / t.wall_ms / 1e6)
        cpu_rates.append(2.0 * n**3 / max(t.cpu_ms, 1e-6) / 1e6)
    return {
        "n": n, "best_gflops": round(max(rates), 1), "median_gflops": round(median(rates), 1),
        "gflops_per_cpu_second": round(median(cpu_rates), 1), "blas": blas_info(),
    }


def blas_info() -> str:
    """numpy's BLAS library and the kernel architecture it picked (e.g. OpenBLAS 'Haswell')."""
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas" and "numpy" in str(pool.get("filepath", "")):
                return f"{pool.get('internal_api')} {pool.get('version')} ({pool.get('architecture')}, " \
                       f"{pool.get('num_threads')} threads)"
    except ImportError:
        pass
    try:
        import io
        from contextlib import redirect_stdout

        buffer = io.StringIO()
        with redirect_stdout(buffer):
            np.show_runtime()
        text = buffer.getvalue()
        arch = text.split("'architecture': '")[1].split("'")[0] if "'architecture': '" in text else "?"
        api = text.split("'internal_api': '")[1].split("'")[0] if "'internal_api': '" in text else "?"
        return f"{api} ({arch})"
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


# -- reports --------------------------------------------------------------------------------------


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "–"
            return f"{value:,.3f}" if abs(value) < 1 else (f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}")
        return "–" if value is None else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(options: Options, name: str, data: dict[str, Any], markdown: str) -> tuple[Path, Path] | None:
    """Print the markdown and write ``<out>/<name>[.quick].json`` and ``.md``."""
    data.setdefault("machine", {})["load_average_end"] = load_average()
    print(markdown, flush=True)
    if not options.write:
        return None
    options.out_dir.mkdir(parents=True, exist_ok=True)
    json_path = options.out_dir / f"{name}{options.suffix}.json"
    md_path = options.out_dir / f"{name}{options.suffix}.md"
    json_path.write_text(json.dumps(data, indent=1, default=_jsonable) + "\n")
    md_path.write_text(markdown.rstrip() + "\n")
    options.log(f"wrote {json_path} and {md_path.name}")
    return json_path, md_path


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def header(title: str, machine: dict[str, Any], options: Options, extra: str = "") -> str:
    lines = [f"# {title}", "", f"Machine: {machine_line(machine)}.", f"Mode: {options.mode}."]
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


# -- the dataset ----------------------------------------------------------------------------------


@dataclass
class Dataset:
    """The IKEA interior set: products, scenes, scene→product pairs, duplicate-image groups."""

    root: Path

    def __post_init__(self) -> None:
        if not (self.root / "products.csv").is_file():
            from engine.errors import DecorLensError

            raise DecorLensError(
                f"benchmark dataset not found at {self.root} (set {DATASET_ENV} or pass --dataset); "
                "it needs products.csv, scenes.csv, pairs.csv and the images"
            )

    def _csv(self, name: str) -> list[dict[str, str]]:
        path = self.root / name
        if not path.is_file():
            return []
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))

    @cached_property
    def products(self) -> list[dict[str, str]]:
        return self._csv("products.csv")

    @cached_property
    def scenes(self) -> list[dict[str, str]]:
        return self._csv("scenes.csv")

    @cached_property
    def pairs(self) -> list[dict[str, str]]:
        return self._csv("pairs.csv")

    def scene_path(self, scene_id: str) -> Path:
        return self.root / "scenes" / f"{scene_id}.jpg"

    def product_path(self, row: dict[str, str]) -> Path:
        return self.root / row["image"]

    @cached_property
    def equivalent(self) -> dict[str, set[str]]:
        """product id → ids whose image is byte-identical (itself included)."""
        groups: dict[str, set[str]] = {}
        for row in self._csv("duplicate_images.csv"):
            groups.setdefault(row["group"], set()).add(row["product_id"])
        out: dict[str, set[str]] = {}
        for ids in groups.values():
            for pid in ids:
                out[pid] = ids
        return out

    def pairs_by_scene(self) -> dict[str, list[tuple[str, str]]]:
        """scene id → [(product id, product category)]."""
        out: dict[str, list[tuple[str, str]]] = {}
        for row in self.pairs:
            out.setdefault(row["scene_id"], []).append((row["product_id"], row["category"]))
        return out


# -- the workspace --------------------------------------------------------------------------------


def file_key(path: Path) -> str:
    """A short content key for caches (size + sha256 of the first and last MiB: fast on big files)."""
    digest = hashlib.sha256(str(path.stat().st_size).encode())
    with open(path, "rb") as fh:
        digest.update(fh.read(1 << 20))
        fh.seek(max(0, path.stat().st_size - (1 << 20)))
        digest.update(fh.read())
    return digest.hexdigest()[:16]


def found_in_data_dir(settings: Any, data_dir: Path) -> Any:
    """``settings`` with each model choice found under ``data_dir`` (a trained detector or embedder made
    active there) named by its path: the bench runs on a data dir of its own, which does not hold them.
    Choices found nowhere stay names, for ``Workspace.ensure_detectors`` to export or name as missing."""
    from engine.errors import ModelError
    from engine.models import find_first

    def resolved(choices: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return (str(find_first(choices, settings.models_dir, data_dir).path),)
        except ModelError:
            return choices

    return settings.with_(detectors=tuple(resolved(c) for c in settings.detectors),
                          embedder=resolved(settings.embedder))


class Workspace:
    """The bench data dir: the IKEA catalog imported, detectors exported, caches."""

    def __init__(self, pipeline: Any, options: Options):
        from engine.pipeline import Pipeline

        self.options = options
        self.user_pipeline = pipeline
        self.root = Path(options.workdir) if options.workdir else pipeline.data_dir / "bench"
        self.data = self.root / "data"
        (self.data / "models").mkdir(parents=True, exist_ok=True)
        self.cache = self.root / "cache"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.settings = found_in_data_dir(pipeline.settings, pipeline.data_dir).with_(data_dir=self.data)
        self.dataset = Dataset(Path(options.dataset))
        self.ensure_detectors()
        self.pipeline = Pipeline(self.settings)

    # models ----------------------------------------------------------------------------------

    def model_dirs(self) -> list[Path]:
        from engine.paths import model_search_path

        return model_search_path(self.settings.models_dir, self.data)

    def find_file(self, choices: Sequence[str]) -> Path | None:
        for name in choices:
            for folder in self.model_dirs():
                if (folder / name).is_file():
                    return folder / name
        return None

    def ensure_detectors(self) -> None:
        """Export a detector .pt to ONNX into the workspace when only the .pt is available."""
        from engine.errors import ModelError
        from engine.models import find_first

        for choices in self.settings.detectors:
            try:
                find_first(choices, self.settings.models_dir, self.data)
            except ModelError:
                pts = [Path(c).with_suffix(".pt").name for c in choices]
                pt = self.find_file(pts)
                if pt is None:
                    raise ModelError(f"none of {', '.join(choices)} (nor {', '.join(pts)}) found") from None
                self.options.log(f"exporting {pt.name} to ONNX for the benchmarks (once)")
                export_detector(pt, self.data / "models")

    @cached_property
    def coco_pt(self) -> Path:
        from engine.errors import ModelError

        path = self.find_file(COCO_PT_CHOICES)
        if path is None:
            raise ModelError(f"the reference pipeline needs one of {', '.join(COCO_PT_CHOICES)} in the models dir")
        return path

    @cached_property
    def oiv7_onnx(self) -> Path | None:
        return self.find_file(OIV7_ONNX_CHOICES)

    @cached_property
    def torch_backbone(self) -> Path:
        from engine.errors import ModelError

        path = self.find_file((TORCH_BACKBONE,))
        if path is None:
            raise ModelError(f"the reference pipeline needs {TORCH_BACKBONE} in the models dir")
        return path

    # catalog ---------------------------------------------------------------------------------

    def ensure_catalog(self) -> None:
        """Import the dataset's products once (re-import is idempotent and fast when unchanged)."""
        catalog = self.pipeline.catalog
        if catalog.count() >= len(self.dataset.products) and not catalog.missing_vectors(self.pipeline.embedder.key):
            self.pipeline.index_for(self.pipeline.embedder).sync(catalog)
            return
        self.options.log(f"importing {len(self.dataset.products)} products into the bench catalog (once)")
        csv_path = self.catalog_csv()
        report = self.pipeline.import_catalog(csv_path)
        self.options.log(f"bench catalog: {report.summary()}")

    def catalog_csv(self, limit: int | None = None, name: str = "products.csv") -> Path:
        """The dataset's products as a DecorLens CSV with absolute image paths."""
        target = self.cache / name
        rows = self.dataset.products[:limit] if limit else self.dataset.products
        with open(target, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["sku", "name", "category", "image"])
            for row in rows:
                writer.writerow([row["product_id"], row["name"], row["category"], str(self.dataset.product_path(row))])
        return target

    def cache_json(self, name: str) -> dict[str, Any]:
        path = self.cache / name
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    def save_cache_json(self, name: str, data: dict[str, Any]) -> None:
        path = self.cache / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)


def export_detector(pt: Path, out_dir: Path) -> Path:
    """The project's exporter when it is there, else ultralytics' own export plus a card."""
    try:
        from training.export import export_detector as project_export
    except ImportError:
        project_export = None
    if project_export is not None:
        return project_export(pt, out_dir)
    import tempfile

    from engine.models import write_card
    from engine.onnx_cards import detector_card
    from training.yolo import import_yolo

    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / pt.name
        shutil.copy(pt, local)
        onnx = Path(import_yolo()(str(local)).export(format="onnx", imgsz=640, verbose=False))
        target = out_dir / onnx.name
        shutil.move(str(onnx), target)
    write_card(target, detector_card(target))
    return target
