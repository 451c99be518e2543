"""Compute ceiling: the FLOPs a scene needs (detectors + embedder per object) against this machine's
measured float32 GEMM rate, in the same run; how close each model and a whole scene get to it.

FLOPs are counted from the ONNX graphs: Conv/ConvInteger/ConvTranspose, MatMul/MatMulInteger/Gemm,
2 FLOPs per multiply-add. Shapes come from onnxruntime's basic-level graph (symbolic batch fixed to
1, shape arithmetic folded) followed by onnx shape inference, so graphs with computed padding (the
TF-style MobileNet) are counted as well.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    Options,
    Workspace,
    gemm_gflops,
    header,
    machine_info,
    md_table,
    median,
    timed,
    write_report,
)

CONV_OPS = {"Conv", "ConvInteger", "QLinearConv", "NhwcConv", "FusedConv", "ConvTranspose"}
MATMUL_OPS = {"MatMul", "MatMulInteger", "QLinearMatMul", "FusedMatMul", "Gemm"}


def _shaped_model(path: Path):
    """The graph with every tensor shape known (batch 1)."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path), load_external_data=False)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    for inp in model.graph.input:
        for dim in inp.type.tensor_type.shape.dim:
            if dim.dim_param:
                options.add_free_dimension_override_by_name(dim.dim_param, 1)
    with tempfile.TemporaryDirectory() as tmp:
        folded = Path(tmp) / "folded.onnx"
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        model = onnx.load(str(folded))
    return onnx.shape_inference.infer_shapes(model)


def count_flops(path: Path) -> dict[str, Any]:
    """FLOPs (2 × multiply-adds) of one batch-1 inference, by operator type."""
    model = _shaped_model(path)
    graph = model.graph
    shapes: dict[str, list[int]] = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.dim_value else 1 for d in dims]
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    by_op: dict[str, float] = {}
    unknown = 0
    for node in graph.node:
        macs = None
        if node.op_type in CONV_OPS:
            x_shape = shapes.get(node.input[0])
            w_shape = shapes.get(node.input[3] if node.op_type == "QLinearConv" else node.input[1])
            out = shapes.get(node.output[0])
            if w_shape and out:
                group = next((a.i for a in node.attribute if a.name == "group"), 1) or 1
                macs = float(np.prod(out)) * w_shape[1] * float(np.prod(w_shape[2:]))
                if node.op_type == "ConvTranspose" and x_shape:
                    macs = float(np.prod(x_shape)) * w_shape[1] * float(np.prod(w_shape[2:])) / group
        elif node.op_type in MATMUL_OPS:
            a = shapes.get(node.input[0])
            out = shapes.get(node.output[0])
            if a and out:
                trans_a = next((x.i for x in node.attribute if x.name == "transA"), 0)
                k = a[-2] if (node.op_type == "Gemm" and trans_a) else a[-1]
                macs = float(np.prod(out)) * k
        else:
            continue
        if macs is None:
            unknown += 1
            continue
        by_op[node.op_type] = by_op.get(node.op_type, 0.0) + 2.0 * macs
    return {"gflops": sum(by_op.values()) / 1e9, "by_op_gflops": {k: v / 1e9 for k, v in by_op.items()},
            "uncounted_nodes": unknown}


def run(pipeline: Any, options: Options) -> dict[str, Any]:
    machine = machine_info()
    workspace = Workspace(pipeline, options)
    workspace.ensure_catalog()
    ours = workspace.pipeline
    detectors = ours.detector.detectors
    embedder = ours.embedder

    models = {}
    for model in [*(d.model for d in detectors), embedder.model]:
        models[model.path.name] = {"kind": model.card.kind, **count_flops(model.path)}

    repeats = 5 if options.quick else 15
    n = 4096  # smaller GEMMs under-report the rate (2048: ~0.6x here)
    gemm = gemm_gflops(n, repeats=3 if options.quick else 7)
    ort_gemm = onnxruntime_gemm_gflops(n, 3 if options.quick else 7, ours.settings.device)
    # The ceiling is the faster of the two measured GEMMs: numpy's OpenBLAS may pick an older kernel
    # (AVX2 "Haswell" on this Zen 5), onnxruntime's MLAS uses AVX-512 where it exists (or the GPU).
    on_gpu = ort_gemm is not None and ort_gemm["device"] != "CPU"
    rate = ort_gemm["best_gflops"] if on_gpu else max(gemm["best_gflops"], (ort_gemm or {}).get("best_gflops", 0))

    # each model alone, on real inputs, through the engine's own sessions
    scenes = sorted(row["scene_id"] for row in workspace.dataset.scenes)
    from engine.imageio import load_image
    from engine.preprocess import embed_batch, letterbox

    pixels = load_image(workspace.dataset.scene_path(scenes[0]))
    for det in detectors:
        card = det.model.card
        tensor, _ = letterbox(pixels, card.input_size)
        det.session.run([card.output_name], {card.input_name: tensor})
        feed = {card.input_name: tensor}
        runs = [timed(det.session.run, [card.output_name], feed)[1] for _ in range(repeats)]
        models[det.model.path.name].update(_rates(runs, models[det.model.path.name]["gflops"], rate, 1))
    crops_batch = embed_batch([pixels[: 200 + 20 * i, : 300 + 10 * i] for i in range(12)], embedder.card)
    embedder.embed_tensors(crops_batch[:1])
    per_batch = {}
    for n in (1, 5, 12):
        runs = [timed(embedder.embed_tensors, crops_batch[:n])[1] for _ in range(repeats)]
        per_batch[n] = _rates(runs, models[embedder.model.path.name]["gflops"] * n, rate, n)
    models[embedder.model.path.name].update(per_batch[1])
    models[embedder.model.path.name]["by_batch"] = per_batch

    # whole scenes: FLOPs of the models it ran ÷ GEMM rate, against its measured end-to-end time
    det_gflops = sum(models[d.model.path.name]["gflops"] for d in detectors)
    emb_gflops = models[embedder.model.path.name]["gflops"]
    sample = scenes[:: max(1, len(scenes) // (6 if options.quick else 24))]
    ours.search_scene(workspace.dataset.scene_path(sample[0]))
    scene_rows = []
    for sid in sample:
        path = workspace.dataset.scene_path(sid)
        runs = [timed(ours.search_scene, path) for _ in range(2 if options.quick else 3)]
        n = len(runs[0][0].objects)
        gflops = det_gflops + emb_gflops * n
        wall = median([t.wall_ms for _, t in runs])
        cpu = median([t.cpu_ms for _, t in runs])
        scene_rows.append({
            "scene": sid, "objects": n, "gflops": gflops, "ceiling_ms": gflops / rate * 1000.0,
            "measured_ms": wall, "cpu_ms": cpu, "fraction_of_ceiling": gflops / rate * 1000.0 / wall,
        })
    scene_rows.sort(key=lambda r: r["objects"])
    data = {
        "benchmark": "ceiling",
        "mode": options.mode,
        "machine": machine,
        "gemm": gemm,
        "onnxruntime_gemm": ort_gemm,
        "ceiling_gflops": rate,
        "models": models,
        "scene_gflops": {"detectors": det_gflops, "embedder_per_object": emb_gflops},
        "scenes": scene_rows,
        "mean_fraction_of_ceiling": float(np.mean([r["fraction_of_ceiling"] for r in scene_rows])),
    }
    write_report(options, "ceiling", data, render(data, options))
    return data


def onnxruntime_gemm_gflops(n: int, repeats: int, device: str = "auto") -> dict[str, Any] | None:
    """float32 MatMul rate of onnxruntime itself (MLAS on the CPU, cuBLAS with the CUDA provider)."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    from engine.runtime import providers_for, session_device

    inputs = [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"]
    output = helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=providers_for(device))
    rng = np.random.default_rng(0)
    feed = {x: rng.standard_normal((n, n), dtype=np.float32) for x in "ab"}
    session.run(None, feed)
    rates = [2.0 * n**3 / timed(session.run, None, feed)[1].wall_ms / 1e6 for _ in range(repeats)]
    return {"n": n, "best_gflops": round(max(rates), 1), "median_gflops": round(median(rates), 1),
            "device": session_device(session)}


def _rates(runs: list, gflops: float, gemm_rate: float, items: int) -> dict[str, float]:
    wall = median([t.wall_ms for t in runs])
    cpu = median([t.cpu_ms for t in runs])
    ceiling = gflops / gemm_rate * 1000.0
    return {
        "measured_ms": wall, "cpu_ms": cpu, "ceiling_ms": ceiling,
        "achieved_gflops": gflops / (wall / 1000.0), "fraction_of_ceiling": ceiling / wall, "items": items,
    }


def render(data: dict[str, Any], options: Options) -> str:
    gemm = data["gemm"]
    og = data.get("onnxruntime_gemm")
    ort_line = (f"onnxruntime MatMul on {og['device']} best {og['best_gflops']} GFLOP/s (median {og['median_gflops']})."
                if og else "onnxruntime MatMul not measured (needs the onnx package).")
    model_rows = []
    for name, m in data["models"].items():
        model_rows.append([name, m["kind"], m["gflops"], m["measured_ms"], m["cpu_ms"], m["ceiling_ms"],
                           m["achieved_gflops"], f"{100 * m['fraction_of_ceiling']:.0f}%"])
        for n, b in (m.get("by_batch") or {}).items():
            if int(n) > 1:
                model_rows.append([f"  … {n} crops in one call", "", m["gflops"] * int(n), b["measured_ms"],
                                   b["cpu_ms"], b["ceiling_ms"], b["achieved_gflops"],
                                   f"{100 * b['fraction_of_ceiling']:.0f}%"])
    scene_rows = [[r["scene"][:44], r["objects"], r["gflops"], r["ceiling_ms"], r["measured_ms"], r["cpu_ms"],
                   f"{100 * r['fraction_of_ceiling']:.0f}%"] for r in data["scenes"]]
    return "\n".join([
        header("Compute ceiling: model FLOPs ÷ measured GEMM rate", data["machine"], options),
        (f"float32 GEMM ({gemm['n']}², all threads): numpy best {gemm['best_gflops']} GFLOP/s (median "
        f"{gemm['median_gflops']}, {gemm['gflops_per_cpu_second']} per CPU-second; BLAS {gemm['blas']}); "
        f"{ort_line} Ceiling rate used: **{data['ceiling_gflops']} GFLOP/s** (the faster). "
        "FLOPs = 2 × multiply-adds of Conv/MatMul/Gemm (INT8 ConvInteger counted the "
        "same way, against the float32 rate). ceiling ms = GFLOPs ÷ GEMM rate; % = ceiling ÷ measured "
        "(100% would be running at dense-GEMM speed)."),
        "",
        md_table(["model", "kind", "GFLOPs", "measured ms", "CPU ms", "ceiling ms", "achieved GFLOP/s", "% of ceiling"],
                 model_rows),
        "",
        (f"Per scene: detectors {data['scene_gflops']['detectors']:.2f} GFLOPs + "
        f"{data['scene_gflops']['embedder_per_object']:.3f} GFLOPs per object; end to end (decode, detect, "
        "tags, crops, embed, search) against the models' ceiling:"),
        "",
        md_table(["scene", "objects", "GFLOPs", "ceiling ms", "measured ms", "CPU ms", "% of ceiling"], scene_rows),
        "",
        f"Mean over scenes: {100 * data['mean_fraction_of_ceiling']:.0f}% of the GEMM-rate ceiling.",
    ])


def main(argv: list[str] | None = None) -> int:
    from bench.runner import standalone

    return standalone("ceiling", argv)


if __name__ == "__main__":
    sys.exit(main())
