"""Which models a user can choose from: every carded ONNX file on the model search path."""

from __future__ import annotations

from pathlib import Path

from engine.models import ModelCard, available_models, write_card

V1 = "mobilenet_v1_1.0_224_quant_embedding_extractor.float.onnx"
V2 = "mobilenet_v2_1.0_224_quant.float.onnx"
OIV7 = "yolov8n-oiv7-int8.onnx"


def test_available_models_lists_the_shared_models_by_kind(shared_models: Path, tmp_path: Path):
    models = available_models(shared_models, tmp_path)
    kinds = {m.path.name: m.card.kind for m in models}
    assert kinds[V1] == kinds[V2] == "embedder"
    assert kinds[OIV7] == "detector"
    assert models == sorted(models, key=lambda m: (m.card.kind, m.card.name))
    assert all(m.path.parent == shared_models for m in models)


def test_available_models_skip_uncarded_files_and_list_each_name_once(shared_models: Path, tmp_path: Path):
    own = tmp_path / "models"
    own.mkdir()
    (own / "stray.onnx").write_bytes(b"no card")
    (own / OIV7).write_bytes(b"shadowed by the models folder")
    write_card(own / OIV7, ModelCard("copy", "detector", 640))
    write_card(own / "custom.onnx", ModelCard("custom", "embedder", 224, output_dim=8))
    (own / "custom.onnx").write_bytes(b"an embedder of our own")

    by_name = {m.path.name: m for m in available_models(shared_models, tmp_path)}
    assert "stray.onnx" not in by_name
    assert by_name[OIV7].path == shared_models / OIV7  # the folder `locate` searches first wins
    assert by_name["custom.onnx"].card.kind == "embedder"
