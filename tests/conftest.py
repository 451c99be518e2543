"""Shared fixtures: the real models and the real IKEA data from ../shared, one catalog per session.

The COCO detector ships as an ultralytics .pt in ../shared/models (read-only), so the session exports
it to ONNX once into a temp models folder, exactly as `decorlens models export` does for a user.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DECORLENS_SHARED", ROOT.parent / "shared"))
MODELS = SHARED / "models"
IKEA = SHARED / "datasets" / "ikea_interior"
COCO_PT = "yolo11n-ovint8-dq.pt"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data missing: {path} (tests expect ../shared beside the repo, or DECORLENS_SHARED)")
    return path


@pytest.fixture(scope="session")
def shared_models() -> Path:
    return _require(MODELS)


@pytest.fixture(scope="session")
def ikea() -> Path:
    return _require(IKEA)


@pytest.fixture(scope="session")
def ikea_products(ikea: Path) -> list[dict[str, str]]:
    with open(ikea / "products.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def ikea_pairs(ikea: Path) -> list[dict[str, str]]:
    with open(ikea / "pairs.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def scene_path(ikea: Path):
    """Path of a scene by (part of) its id."""

    def find(fragment: str) -> Path:
        matches = sorted((ikea / "scenes").glob(f"*{fragment}*.jpg"))
        assert matches, f"no scene matching {fragment}"
        return matches[0]

    return find


@pytest.fixture(scope="session")
def exported_models(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> Path:
    """A models folder holding the COCO detector exported to ONNX (with its card)."""
    if importlib.util.find_spec("ultralytics") is None:
        pytest.skip("exporting the COCO detector needs the [train] extra")
    out = tmp_path_factory.mktemp("exported-models")
    # In a child process, through the CLI a user runs: importing ultralytics patches PIL globally.
    done = subprocess.run(
        [sys.executable, "-m", "decorlens", "-q", "models", "export", str(shared_models / COCO_PT), "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory, exported_models: Path) -> Path:
    """A data dir whose models/ holds the exported COCO ONNX (shared models come via the env)."""
    data = tmp_path_factory.mktemp("data")
    shutil.copytree(exported_models, data / "models")
    return data


@pytest.fixture(scope="session", autouse=True)
def _models_env(shared_models: Path):
    """Point the engine at ../shared/models, as CI does, and keep user dirs out of tests."""
    old = os.environ.get("DECORLENS_MODELS_DIR")
    os.environ["DECORLENS_MODELS_DIR"] = str(shared_models)
    yield
    if old is None:
        os.environ.pop("DECORLENS_MODELS_DIR", None)
    else:
        os.environ["DECORLENS_MODELS_DIR"] = old


@pytest.fixture(scope="session")
def pipeline(session_data_dir: Path, ikea: Path):
    """A pipeline with both stock detectors and the whole shared IKEA catalog imported (once)."""
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    pipe = Pipeline(Settings.defaults().with_(data_dir=session_data_dir))
    report = pipe.import_catalog(ikea / "products.csv")
    assert report.added > 1900, report.summary()
    return pipe


@pytest.fixture
def fresh_pipeline(tmp_path: Path, exported_models: Path):
    """A pipeline over an empty data dir of its own (for tests that write)."""
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    shutil.copytree(exported_models, tmp_path / "models")
    return Pipeline(Settings.defaults().with_(data_dir=tmp_path))
