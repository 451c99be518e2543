"""Smoke tests of the benchmark code on tiny sizes: it runs and writes its reports. No timing checks."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_ultralytics

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ sits beside the installed packages in the checkout
    sys.path.insert(0, str(ROOT))

from bench import ceiling, index_scale
from bench.common import Options, machine_info, md_table
from engine.errors import ModelError


def test_flops_of_the_stock_embedder_and_the_machine_report(shared_models: Path) -> None:
    """What the ceiling report states without a clock; measured rates are the bench's business, not a test's."""
    pytest.importorskip("onnx")
    flops = ceiling.count_flops(shared_models / "mobilenet_v2_1.0_224_quant.float.onnx")
    assert 0.55 < flops["gflops"] < 0.65  # MobileNetV2 1.0/224: 300 M multiply-adds
    assert flops["uncounted_nodes"] == 0
    machine = machine_info()
    assert machine["logical_cores"] >= 1 and machine["cpu_model"]
    assert md_table(["a", "b"], [[0.123456, None]]).splitlines()[2] == "| 0.123 | – |"


def test_index_plan_on_a_tiny_set(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    real = index_scale.normalise(np.abs(rng.standard_normal((600, 1280), dtype=np.float32)))
    synthetic = index_scale.Synthetic(real[40:], seed=0)
    queries = np.concatenate([real[:40], synthetic.draw(40)])
    projections = {d: index_scale.Projection(real[40:], d) for d in (256, 512)}
    plan = index_scale.Plan(
        1500,
        [index_scale.faiss_candidate("flat", "float32"), index_scale.faiss_candidate("flat", "float16")],
        [index_scale.hnswlib_candidate(), index_scale.hnswlib_candidate(256)],
        keep_full=True, budget_s=600,
    )
    options = Options(quick=True, write=False, log=lambda _m: None)
    rows = index_scale.run_plan(plan, real[40:], synthetic, queries, 40, projections, options, [])
    by_name = {r["index"]: r for r in rows}
    assert set(by_name) >= {"numpy brute force (exact)", "faiss Flat", "faiss Flat SQfp16", "hnswlib", "hnswlib PCA-256"}
    assert by_name["faiss Flat"]["recall10_real"] > 0.95  # exact search agrees with the numpy ground truth
    assert all(r["file_mb"] > 0 for r in rows)
    text = index_scale.render({
        "machine": machine_info(), "dim": 1280, "real_vectors": 560, "queries": {"real_held_out": 40, "synthetic": 40, "k": 10},
        "synthetic": {"rank_kept": synthetic.rank, "noise_std_per_dim": synthetic.noise, "real_mean_cosine": 0.0,
                      "synthetic_mean_cosine": 0.0, "real_mean_nn_cosine": 0.0, "synthetic_mean_nn_cosine": 0.0,
                      "sample": 1},
        "hnsw_params": {"M": 16, "ef_construction": 200, "ef_search": 128}, "results": rows, "notes": [],
    }, options)
    assert "hnswlib PCA-256" in text


@pytest.fixture
def tiny_dataset(tmp_path: Path, ikea: Path) -> Path:
    """24 products and 2 scenes of the IKEA set (images linked, not copied)."""
    root = tmp_path / "tiny"
    root.mkdir()
    os.symlink(ikea / "products", root / "products")
    os.symlink(ikea / "scenes", root / "scenes")
    with open(ikea / "scenes.csv", newline="") as fh:
        scenes = list(csv.DictReader(fh))[:2]
    with open(ikea / "pairs.csv", newline="") as fh:
        pairs = [p for p in csv.DictReader(fh) if p["scene_id"] in {s["scene_id"] for s in scenes}]
    with open(ikea / "products.csv", newline="") as fh:
        products = list(csv.DictReader(fh))
    wanted = {p["product_id"] for p in pairs}
    chosen = [p for p in products if p["product_id"] in wanted][:16] + [p for p in products if p["product_id"] not in wanted][:8]
    for name, rows in (("scenes.csv", scenes), ("pairs.csv", pairs), ("products.csv", chosen)):
        with open(root / name, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return root


@pytest.mark.train
def test_latency_import_and_engine_startup_on_a_tiny_dataset(
    tmp_path: Path, tiny_dataset: Path, exported_models: Path
) -> None:
    needs_ultralytics()
    from bench import import_rate, latency, startup
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    workdir = tmp_path / "bench"
    shutil.copytree(exported_models, workdir / "data" / "models")
    options = Options(quick=True, out_dir=tmp_path / "out", workdir=workdir, dataset=tiny_dataset, repeats=1,
                      max_scenes=2, log=lambda _m: None, before_embedder="mobilenet_v2_1.0_224_quant.float.onnx")
    user = Pipeline(Settings.defaults().with_(data_dir=tmp_path / "user"))

    data = latency.run(user, options)
    assert {"speedup_vs_reference", "speedup_vs_untuned"} <= set(data)  # the values are timings: not checked
    assert "before_ms" in data["overall"] and data["setup"]["before_embedder"].startswith("mobilenet_v2")
    assert data["accuracy"]["pairs"] > 0
    saved = json.loads((tmp_path / "out" / "latency.quick.json").read_text())
    assert saved["machine"]["cpu_model"] and (tmp_path / "out" / "latency.quick.md").is_file()

    data = import_rate.run(user, options)
    assert data["imported"] == 24 and "images_per_s" in data["raw"]

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    photos = sorted(str(p) for p in (tiny_dataset / "scenes").glob("*.jpg"))[:2]
    marks = startup.run_child(startup.ENGINE_CHILD, [str(workdir / "data"), *photos, str(ROOT)], env)
    assert marks["first_tags"] >= marks["models_loaded"] >= marks["imported"]


def test_the_bench_finds_a_detector_made_active_in_the_users_data_dir(
    tmp_path: Path, tiny_dataset: Path, exported_models: Path
) -> None:
    """After `models activate` of a trained detector the data dir's config names a file in <data dir>/models,
    which the bench's own data dir does not hold: the bench runs it from where it is."""
    from bench.common import Workspace
    from engine.pipeline import Pipeline
    from engine.settings import Settings

    user = tmp_path / "user"
    shutil.copytree(exported_models, user / "models")
    trained = "yolo11n-ovint8-dq.onnx"
    settings = Settings.defaults().with_(data_dir=user, models_dir=tmp_path / "empty", detectors=((trained,),))
    options = Options(quick=True, workdir=tmp_path / "bench", dataset=tiny_dataset, log=lambda _m: None)
    workspace = Workspace(Pipeline(settings), options)
    assert workspace.settings.detectors == ((str(user / "models" / trained),),)
    assert workspace.pipeline.detector.detectors[0].model.path == user / "models" / trained

    missing = settings.with_(detectors=(("nowhere.onnx",),))
    with pytest.raises(ModelError, match=r"nowhere\.onnx"):
        Workspace(Pipeline(missing), options)


def test_pad_fix_keeps_the_embedder_output(shared_models: Path) -> None:
    """The serialized-graph edit behind the faster CPU embedder changes no number (bench README)."""
    import onnxruntime as ort

    from engine.runtime import open_session, without_empty_pad_inputs

    model = shared_models / "mobilenet_v2_1.0_224_quant.float.onnx"
    assert without_empty_pad_inputs(model) is not None  # the stock file has the empty Pad inputs
    plain = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    fixed = open_session(model, "cpu", fixed_batch=1)
    x = np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32)
    (a,) = plain.run(["embedding"], {"pixel_values": x})
    (b,) = fixed.run(["embedding"], {"pixel_values": x})
    assert np.abs(a - b).max() < 1e-4


def test_cpu_embedder_batches_torch_graphs_and_runs_tf_ones_one_at_a_time(shared_models: Path, ikea: Path) -> None:
    """A scene's crops go through a torch-exported embedder as one batch, through a TF-converted one a
    crop at a time (bench README); either way each crop's vector is the one it gets alone."""
    from engine.embed import BATCH, Embedder
    from engine.imageio import load_image
    from engine.models import find_first
    from engine.runtime import tf_converted

    photos = [load_image(p) for p in sorted((ikea / "scenes").glob("*.jpg"))[:5]]
    assert len(photos) == 5
    for name, batch in (("mobilenet_v2_1.0_224_quant.float.onnx", 1), ("effnet_lite0_gem.onnx", BATCH)):
        embedder = Embedder(find_first([name], shared_models), "cpu")
        assert tf_converted(embedder.model.path) == (batch == 1)
        assert embedder.batch == batch
        together = embedder.embed(photos)
        alone = np.concatenate([embedder.embed([photo]) for photo in photos])
        assert np.abs(together - alone).max() < 1e-4, name


def test_the_map_bench_measures_a_small_map(ikea: Path, qapp) -> None:
    from bench import map_view

    data = map_view.run(None, Options(dataset=ikea, sizes=(300,), repeats=1, write=False, log=lambda _m: None))
    (row,) = data["sizes"]
    assert row["products"] == 300 and row["thumbnails_placed_s"] > 0
    assert all(row[key] > 0 for key in ("show_ms", "whole_repaint_ms", "tile_by_tile_ms", "zoomed_repaint_ms"))



def test_the_train_layout_bench_times_both_layouts_and_they_embed_alike(ikea: Path) -> None:
    pytest.importorskip("torch")
    from bench import train_layout

    data = train_layout.run(Options(dataset=ikea, write=False, log=lambda _m: None), rounds=1, batch=4)
    assert set(data["backbones"]) == set(train_layout.BACKBONES)
    for backbone, result in data["backbones"].items():
        assert result["max_embedding_difference"] < 1e-5, backbone
        assert all(result[part]["channels_last_s"] > 0 and result[part]["as_built_s"] > 0
                   for part in ("trunk", "head_step"))


def test_the_folder_bench_opens_a_small_folder_in_the_window(ikea: Path, tmp_path: Path) -> None:
    """In a process of its own: the bench themes the application and freezes the start-up objects, as the app does."""
    pytest.importorskip("PySide6")
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "bench.folder_view", "--quick", "--sizes", "40", "--dataset", str(ikea),
                           "--workdir", str(tmp_path), "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = json.loads((out / "folder-view.quick.json").read_text())["sizes"]
    assert row["photos"] == 40 and 1 <= row["rows_when_shown"] <= 40
    assert all(row[key] > 0 for key in ("shown_s", "reference_shown_s", "listed_s", "bare_listing_s", "rss_after_mb"))
    assert "| 40 |" in (out / "folder-view.quick.md").read_text()
    assert list(tmp_path.iterdir()) == [out]  # the folders and the data dir are gone


def test_the_rooms_bench_times_looks_like_it_on_a_small_memory(tmp_path: Path) -> None:
    """Run as `decorlens bench rooms`: a memory of 30 photos written, searched in a process of its own, reported."""
    from decorlens.main import main

    out = tmp_path / "out"
    assert main(["-q", "--data-dir", str(tmp_path / "data"), "bench", "rooms", "--sizes", "30",
                 "--workdir", str(tmp_path / "work"), "--out", str(out)]) == 0
    data = json.loads((out / "rooms-like.json").read_text())
    (row,) = data["sizes"]
    assert row["photos"] == 30 and row["objects"] == 300 and data["dim"] > 0
    assert row["hits"] == 20 and row["new_photo_found"]
    # the first search after a photo tagged, or the oldest tagged again, reads only that photo's 10 rows and
    # answers as a full read does
    assert row["new_photo_same"] and row["retag_same"] and row["new_photo_rows"] == row["retag_rows"] == 10
    assert all(row[key] > 0 for key in ("first_ms", "click_ms", "new_photo_ms", "read_ms", "multiply_ms"))
    assert "| 30 | 300 |" in (out / "rooms-like.md").read_text()


def test_the_onnx_memory_bench_runs_each_configuration_in_a_process_of_its_own(pipeline, ikea: Path) -> None:
    """`python -m bench.onnx_memory`: every configuration searches the photos in a fresh process and reports its
    times and memory; a process whose configuration broke the engine fails the bench."""
    from bench.onnx_memory import CONFIGS, run_one

    scenes = sorted(str(p) for p in (ikea / "scenes").iterdir())[:2]
    for config in CONFIGS:
        run = run_one(config, pipeline.data_dir, scenes)
        assert len(run["walls"]) == len(run["cpus"]) == 1 and run["walls"][0] > 0, config
        assert run["peak_kb"] >= run["rss_kb"] > 100_000, config  # the engine and its models loaded
