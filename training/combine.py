"""Two embedders as one: each member's vector L2-normalised, the two side by side in one ONNX graph.

Fine-tuned MobileNetV2 and EfficientNet-Lite0 get different pairs right (docs/results.md, "Two fine-tuned
trunks as one embedder"); side by side they beat either alone on both scene seeds. The combined vector
is scaled by 1/√2, so it has unit length and its cosine to another combined vector is the mean of the
members' cosines. One graph keeps the engine, the index and the int8 quantiser unchanged: to them it is
one embedder with a wider vector.

Both members must be fed the same tensor (size, resize, mean, std); the combined card states it once.
Its "exact"/"likely" thresholds cannot be carried from the members (the mean of two cosines is a new
score), so they are measured on validation scenes (``training.match_levels``) or left unreached.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, compose, helper, numpy_helper, version_converter

from engine.calibration import NEVER
from engine.errors import ModelError
from engine.files import replace_atomically, sha256_of
from engine.models import ModelCard, ResolvedModel, check_matches_card, write_card

PREFIXES = ("first/", "second/")
OUTPUT = "embedding"
FED_THE_SAME = ("input_size", "resize", "mean", "std")


def combine_embedders(first: ResolvedModel, second: ResolvedModel, out_dir: Path, name: str) -> Path:
    """Write ``NAME.onnx`` and its card to ``out_dir``; raises ``ModelError`` (writing nothing) when the two
    cannot be run as one: not embedders, the same weights twice, already combined, or fed differently."""
    _check_combinable(first, second)
    graph = combined_graph(first, second)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{name}.onnx"
    with tempfile.TemporaryDirectory(prefix=".combine-", dir=out_dir) as work:
        written = Path(work) / final.name
        onnx.save(graph, str(written))
        card = combined_card(first, second, name, sha256_of(written))
        replace_atomically(written, final)
    write_card(final, card)
    return final


def combined_graph(first: ResolvedModel, second: ResolvedModel) -> onnx.ModelProto:
    """One input feeding both members; each output L2-normalised, concatenated, times 1/√2."""
    members = _same_opset([onnx.load(str(m.path)) for m in (first, second)])
    card = first.card
    nodes, initializers, value_info = [], [], []
    for model, member, prefix in zip(members, (first, second), PREFIXES, strict=True):
        model = compose.add_prefix(model, prefix)
        nodes.append(helper.make_node("Identity", [card.input_name], [prefix + member.card.input_name]))
        nodes.extend(model.graph.node)
        initializers.extend(model.graph.initializer)
        value_info.extend(model.graph.value_info)
        nodes.append(helper.make_node("LpNormalization", [prefix + member.card.output_name], [prefix + "unit"],
                                      axis=1, p=2))
    initializers.append(numpy_helper.from_array(np.array(1 / math.sqrt(2), dtype=np.float32), "half_root"))
    nodes.append(helper.make_node("Concat", [p + "unit" for p in PREFIXES], ["side_by_side"], axis=1))
    nodes.append(helper.make_node("Mul", ["side_by_side", "half_root"], [OUTPUT]))
    dim = first.card.output_dim + second.card.output_dim
    size = card.input_size
    graph = helper.make_graph(
        nodes, "combined_embedder",
        [helper.make_tensor_value_info(card.input_name, TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", dim])],
        initializers, value_info=value_info,
    )
    model = helper.make_model(graph, opset_imports=_opset_imports(members), ir_version=max(m.ir_version for m in members))
    onnx.checker.check_model(model)
    return model


def combined_card(first: ResolvedModel, second: ResolvedModel, name: str, sha256: str) -> ModelCard:
    """The first member's input description, the wider output, the members named in the recipe; no
    thresholds until they are measured on this combination."""
    card = first.card
    return ModelCard(
        name=name, kind="embedder", input_size=card.input_size, mean=card.mean, std=card.std, resize=card.resize,
        input_name=card.input_name, output_name=OUTPUT, output_dim=card.output_dim + second.card.output_dim,
        spatial_output=PREFIXES[0] + card.spatial_output if card.spatial_output else "",
        exact_threshold=NEVER, likely_threshold=NEVER,
        source=f"{first.path.name} + {second.path.name}", sha256=sha256,
        recipe={"combined": {
            "members": [{"name": m.card.name, "sha256": m.card.sha256, "backbone": m.card.recipe.get("backbone", "")}
                        for m in (first, second)],
            "how": "each member's vector L2-normalised, the two concatenated and scaled by 1/sqrt(2): "
                   "the cosine is the mean of the members' cosines",
            "thresholds": "measured on this combination (metrics.calibration), never carried from the members; "
                          "until then every match reads 'similar'",
        }},
    )


def _check_combinable(first: ResolvedModel, second: ResolvedModel) -> None:
    """Refuse two models that cannot run as one; and a member file its card was not written for, whose
    card's name and sha256 the combined card would record as the member's."""
    for model in (first, second):
        check_matches_card(model)
        if model.card.kind != "embedder":
            raise ModelError(f"{model.path.name} is a {model.card.kind}; only embedders are combined")
        if "combined" in model.card.recipe:
            raise ModelError(f"{model.path.name} is already a combination; combine its members with the new one")
        if not model.card.output_dim:
            raise ModelError(f"{model.path.name}: its card gives no output_dim")
    if first.card.sha256 and first.card.sha256 == second.card.sha256:
        raise ModelError(f"{first.path.name} and {second.path.name} are the same weights; combine two different models")
    for field in FED_THE_SAME:
        a, b = getattr(first.card, field), getattr(second.card, field)
        if a != b:
            raise ModelError(f"{first.path.name} and {second.path.name} are fed differently ({field} {a} against {b}); "
                             "only embedders that take the same input are combined")


def _same_opset(models: list[onnx.ModelProto]) -> list[onnx.ModelProto]:
    """Both members at the higher of their default-domain opsets (onnx converts the older one)."""
    versions = [_opset(m) for m in models]
    target = max(versions)
    return [m if v == target else version_converter.convert_version(m, target) for m, v in zip(models, versions, strict=True)]


def _opset_imports(models: list[onnx.ModelProto]) -> list[onnx.OperatorSetIdProto]:
    """Every operator domain either member uses, each at the higher version."""
    versions: dict[str, int] = {}
    for model in models:
        for entry in model.opset_import:
            versions[entry.domain] = max(versions.get(entry.domain, 0), entry.version)
    return [helper.make_opsetid(domain, version) for domain, version in versions.items()]


def _opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
