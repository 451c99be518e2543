"""``decorlens models``: list what is installed, install the model pack, export to ONNX, write cards."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from decorlens.errors import PARTLY_DONE
from decorlens.options import plain_name, program
from decorlens.progress import bar, note
from decorlens.terminal import one_field, shown_path
from engine import modelpack
from engine.advice import INSTALL_TRAINING
from engine.errors import DecorLensError, ModelError
from engine.files import NotAFile, absolute, open_regular
from engine.models import (
    ModelCard,
    ResolvedModel,
    available_models,
    card_path_for,
    check_matches_card,
    find_model,
    locate,
    model_label,
    read_card,
    write_card,
)
from engine.onnx_cards import detector_card, embedder_card
from engine.paths import model_search_path
from engine.people import POSE_WEIGHTS, pose_card
from engine.pipeline import Pipeline
from engine.runtime import runs_on_cpu
from engine.settings import save_choice

LABEL_WIDTH = 28  # the least width of `models list`'s name column
EMBEDDER_OUTPUT = "embedding"  # `models card --kind embedder`'s output name unless --output says otherwise
# `models export` options of one kind of source only: a YOLO .pt ignored the embedder's, and a
# torchvision name the .pt's, as if they had taken effect
EMBEDDER_ONLY = (("--weights", "weights"), ("--projection", "projection"), ("--num-classes", "num_classes"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list, fetch, activate, export, quantize and combine models; write cards")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True, title="verbs",
                             help="one of these; `%(prog)s VERB --help` says more")
    ls = verbs.add_parser("list", help="models the settings use, and where they were found")
    ls.add_argument("--json", action="store_true",
                    help="print them as JSON: each one found or missing, its path, and every installed model, "
                         "those in use marked active")
    ls.set_defaults(run=run_list)
    ex = verbs.add_parser("export", help="YOLO .pt → ONNX detector or pose model, or torchvision backbone → ONNX "
                                         "embedder ([train])")
    ex.add_argument("source", metavar="MODEL",
                    help="a YOLO .pt file (detection or pose), or a torchvision model name such as resnet50")
    ex.add_argument("--weights", type=Path, metavar="PTH", help="embedder only: backbone weights (.pth state dict)")
    ex.add_argument("--projection", type=int, metavar="DIM",
                    help="embedder only: add a linear projection to this dimension")
    ex.add_argument("--num-classes", type=int, metavar="N",
                    help="embedder only: classifier size of the weights (e.g. 1001)")
    ex.add_argument("--out", type=Path, metavar="DIR", help="output folder (default <data dir>/models)")
    ex.add_argument("--trust-pt", action="store_true",
                    help="YOLO .pt only: export one from outside the models folders (a .pt is a pickle and can run code)")
    ex.set_defaults(run=run_export)
    fe = verbs.add_parser("fetch", help="install the model pack (default models and cards) into the data dir")
    fe.add_argument("--from", dest="source", metavar="DIR_OR_URL", default=modelpack.RELEASE_URL,
                    help=f"a folder holding the pack, or an http(s) base URL (default {modelpack.RELEASE_URL})")
    fe.add_argument("--out", type=Path, metavar="DIR", help="output folder (default <data dir>/models)")
    fe.set_defaults(run=run_fetch)
    ac = verbs.add_parser("activate", help="make models the ones searches use (an embedder re-embeds the catalog)")
    ac.add_argument("models", nargs="+", metavar="ONNX",
                    help="an embedder, and/or the detectors to run together (they replace the current detectors), "
                         "e.g. mobilenet_v2-ntxent-catalog-pull.onnx or yolo11n-ovint8-dq.onnx yolo11n-decor.onnx; "
                         "a path is saved as that file's full path and used where it is")
    ac.set_defaults(run=run_activate)
    qu = verbs.add_parser("quantize", help="an int8 copy of an embedder for the CPU, calibrated on the catalog's "
                                           "photos: about twice as fast per crop ([train])")
    qu.add_argument("embedder", metavar="ONNX", help="the embedder, e.g. mobilenet_v2-ntxent-catalog-pull.onnx")
    qu.add_argument("--photos", type=int, metavar="N",
                    help="catalog photos to calibrate on (default 256; 64 more check the result)")
    qu.add_argument("--out", type=Path, metavar="DIR", help="output folder (default <data dir>/models)")
    qu.set_defaults(run=run_quantize)
    co = verbs.add_parser("combine", help="two embedders run as one, their vectors side by side: better matches "
                                          "than either alone ([train])")
    co.add_argument("first", metavar="ONNX", help="an embedder, e.g. mobilenet_v2-ntxent-catalog-pull.onnx")
    co.add_argument("second", metavar="ONNX", help="another fed the same input, e.g. efficientnet-lite0-ntxent-catalog-pull.onnx")
    co.add_argument("--name", type=plain_name, required=True, help="the combined model's name; written to <out>/NAME.onnx")
    co.add_argument("--calibrate", type=Path, metavar="DATA",
                    help="a dataset folder whose validation scenes set the 'exact'/'likely' thresholds (the one the "
                         "members were trained on); without it every match reads 'similar'")
    co.add_argument("--seed", type=int, metavar="N",
                    help="with --calibrate: the split seed the members were trained with (default 0)")
    co.add_argument("--out", type=Path, metavar="DIR", help="output folder (default <data dir>/models)")
    co.set_defaults(run=run_combine)
    ca = verbs.add_parser("card", help="write the card of an ONNX model that has none")
    ca.add_argument("onnx", type=Path, metavar="ONNX", help="the model, an .onnx file")
    ca.add_argument("--kind", choices=["detector", "embedder", "pose"], required=True, help="what the model is")
    ca.add_argument("--name", help="the model's name on its card (default: the file's name)")
    ca.add_argument("--output", help=f"--kind embedder only: the output name (default {EMBEDDER_OUTPUT})")
    ca.add_argument("--force", action="store_true",
                    help="write over the card already beside the model (its training record and thresholds go)")
    ca.set_defaults(run=run_card)


@dataclass
class Listed:
    """One model the settings use, found or not: a row of `models list`, in words or in JSON."""

    role: str  # detector, embedder or pose
    required: bool  # a search needs it: every detector and the embedder; the pose model under ``people: on``
    model: ResolvedModel | None = None
    problem: str = ""  # why there is none: what was looked for and where, or the people setting that runs none

    def label(self) -> str:
        """The model's name column: the pack's words for it, or "(off)"."""
        return model_label(self.model) if self.model else "(off)"

    def line(self, width: int = LABEL_WIDTH) -> str:
        """The row, its name column ``width`` wide: the labels of the pack's two detectors, "YOLOv8n (Open Images V7
        601 classes)", are longer than a fixed column was, and pushed their sizes and paths out of line."""
        if self.model is None:
            if self.required:
                return f"  {self.role:<9} MISSING  {self.problem}"
            return f"  {self.role:<9} {self.label():<{width}} {'':<12} {self.problem}"
        size = _size(self.model.card) or f"people: {'on' if self.required else 'auto'}"  # a pose model found runs
        row = f"  {self.role:<9} {self.label():<{width}} {size:<12} {shown_path(self.model.path)}"
        problem = self.model.card.calibration_problem
        return f"{row}\n  {'':<9} {problem}" if problem else row

    def to_json(self) -> dict[str, Any]:
        card = self.model.card if self.model else None
        return {"role": self.role, "found": card is not None, "required": self.required,
                "name": card.name if card else None, "label": model_label(self.model) if self.model else None,
                "path": str(self.model.path) if self.model else None,
                "classes": len(card.class_names) if card and card.kind == "detector" else None,
                "dimension": card.output_dim if card and card.kind == "embedder" else None,
                "problem": self.problem or None, "calibration_problem": (card.calibration_problem or None) if card else None}


def _size(card: ModelCard) -> str:
    return {"detector": f"{len(card.class_names):,} classes", "embedder": f"{card.output_dim}-d"}.get(card.kind, "")


def run_list(args: argparse.Namespace, pipeline: Pipeline) -> int:
    rows = [*_listed_searchers(pipeline), _listed_pose(pipeline)]
    folders = model_search_path(pipeline.settings.models_dir, pipeline.data_dir)
    if args.json:
        print(json.dumps(_list_json(pipeline, folders, rows), indent=2, ensure_ascii=False))
    else:
        print("search path: " + ", ".join(shown_path(p) for p in folders))
        width = max([LABEL_WIDTH, *(len(row.label()) for row in rows)])
        for row in rows:
            print(row.line(width))
    return PARTLY_DONE if any(row.required and row.model is None for row in rows) else 0


def _listed_searchers(pipeline: Pipeline) -> list[Listed]:
    """The detectors and the embedder the settings name, each the first of its choices found, or why none is."""
    settings = pipeline.settings
    rows = []
    for role, choices in [*(("detector", c) for c in settings.detectors), ("embedder", settings.embedder)]:
        try:
            rows.append(Listed(role, True, pipeline._find_first(choices)))
        except ModelError as exc:
            rows.append(Listed(role, True, problem=str(exc)))
    return rows


def _listed_pose(pipeline: Pipeline) -> Listed:
    """The pose model's row: off, not installed (``auto``), found, or missing when ``people: on``."""
    setting = pipeline.settings.people
    try:
        pose = pipeline.pose
    except ModelError as exc:
        return Listed("pose", True, problem=str(exc))
    if pose is not None:
        return Listed("pose", setting == "on", pose.model, problem="")
    why = "people: off" if setting == "off" else f"not installed{_made_by_export(POSE_WEIGHTS)}"
    return Listed("pose", False, problem=why)


def _list_json(pipeline: Pipeline, folders: list[Path], rows: list[Listed]) -> dict[str, Any]:
    """`models list --json`: the folders searched, the settings' models (found or missing), and every model with a
    card on the search path, those in use marked active: what `models activate` can choose from."""
    active = {row.model.path for row in rows if row.model is not None}
    installed = available_models(pipeline.settings.models_dir, pipeline.data_dir)
    return {"search_path": [str(f) for f in folders], "people": pipeline.settings.people,
            "models": [row.to_json() for row in rows],
            "installed": [{"name": m.card.name, "label": model_label(m), "kind": m.card.kind, "path": str(m.path), "active": m.path in active,
                           "calibration_problem": m.card.calibration_problem or None} for m in installed]}


def run_export(args: argparse.Namespace, pipeline: Pipeline) -> int:
    source = Path(args.source)
    is_weights = source.suffix == ".pt" or source.is_file()
    _refuse_other_kinds_options(args, is_weights)
    if is_weights and not source.is_file():
        # A bare name as the README writes it: look for it where models are looked for.
        source = locate(args.source, pipeline.settings.models_dir, pipeline.data_dir)
    try:
        from training.export import export_embedder, export_yolo
    except ImportError as exc:
        raise ModelError(f"export needs the [train] extra ({exc.name} is missing): `{INSTALL_TRAINING}`; "
                         f"the default models need no export: `{program()} models fetch`") from exc
    out = args.out or pipeline.data_dir / "models"
    if is_weights:
        from training.weights import pickle_consent

        note(pickle_consent(source, args.trust_pt, model_search_path(pipeline.settings.models_dir, pipeline.data_dir)))
        path = export_yolo(source, out)
    else:
        path = export_embedder(args.source, out, args.weights, args.projection, num_classes=args.num_classes)
    print(f"wrote {shown_path(path)} and {path.with_suffix('.card.json').name}")
    return 0


def _refuse_other_kinds_options(args: argparse.Namespace, is_weights: bool) -> None:
    """An option of the other kind of export, refused before anything loads, naming the source."""
    if is_weights:
        given = [option for option, dest in EMBEDDER_ONLY if getattr(args, dest) is not None]
        if given:
            raise DecorLensError(f"{given[0]} is for a torchvision embedder, and {args.source} is a YOLO .pt, "
                                 "exported as it is; leave it out")
    elif args.trust_pt:
        raise DecorLensError(f"--trust-pt is for a YOLO .pt, and {args.source} is a torchvision model name "
                             "(its --weights are read as plain tensors); leave it out")


def run_quantize(args: argparse.Namespace, pipeline: Pipeline) -> int:
    model = find_model(args.embedder, pipeline.settings.models_dir, pipeline.data_dir)
    try:
        from training.quantize import CALIBRATION_PHOTOS, quantize_embedder
    except ImportError as exc:
        raise ModelError(f"quantize needs the [train] extra ({exc.name} is missing): `{INSTALL_TRAINING}`") from exc
    with bar("calibrating on catalog photos", args.quiet) as progress:
        path, agreement = quantize_embedder(model, pipeline.catalog, args.out or pipeline.data_dir / "models", progress,
                                            calibration_photos=CALIBRATION_PHOTOS if args.photos is None else args.photos)
    print(f"wrote {shown_path(path)} and {path.with_suffix('.card.json').name}: on {agreement.photos:,} photos it was not calibrated "
          f"on, its vectors agree with {model.path.name}'s at cosine {agreement.mean_cosine:.3f} on average "
          f"(lowest {agreement.min_cosine:.3f})")
    print(f"searches on the CPU: `{program()} models activate {path.name}` (on a GPU keep {model.path.name})")
    return 0


def run_combine(args: argparse.Namespace, pipeline: Pipeline) -> int:
    if args.seed is not None and args.calibrate is None:  # the seed picks the validation scenes, and only --calibrate reads them
        raise DecorLensError("--seed is the split seed --calibrate measures the thresholds on; without --calibrate "
                             "nothing is measured: add --calibrate DATA or leave --seed out")
    out = args.out or pipeline.data_dir / "models"
    modelpack.refuse_pack_name([args.name], out)  # written over the pack's file, a fetch would put that back
    first, second = (find_model(name, pipeline.settings.models_dir, pipeline.data_dir) for name in (args.first, args.second))
    try:
        from training.combine import combine_embedders
        from training.data import PairDataset
    except ImportError as exc:
        raise ModelError(f"combine needs the [train] extra ({exc.name} is missing): `{INSTALL_TRAINING}`") from exc
    dataset = PairDataset.load(args.calibrate) if args.calibrate else None  # a bad folder fails before writing
    path = combine_embedders(first, second, out, args.name)
    print(f"wrote {shown_path(path)} and {path.with_suffix('.card.json').name}: {first.path.name} and {second.path.name} side by side")
    if dataset:
        calibrate_with_bars(pipeline, path, dataset, args.seed or 0, args.quiet)
    print(f"use it: `{program()} models activate {path.name}`")
    if runs_on_cpu(pipeline.settings.device):
        print(f"without a GPU, `{program()} models quantize {path.name}` makes an int8 copy that embeds in about half the time")
    return 0


def calibrate_with_bars(pipeline: Pipeline, model: Path, dataset, seed: int, quiet: bool,
                        limit_scenes: int | None = None) -> None:
    """``training.match_levels.calibrate_model`` with a bar per step, and what it found in one line."""
    from training.match_levels import calibrate_model

    with bar("embedding the catalog", quiet) as embedding, bar("searching validation scenes", quiet) as searching:
        levels = calibrate_model(pipeline, model, dataset, seed, embedding, searching, limit_scenes)
    print(f"on {levels.scored:,} validation tags: {_level_text('exact', levels.exact)}, "
          f"{_level_text('likely the same', levels.likely)}")


def _level_text(words: str, level) -> str:
    if not level.reached_target:
        return f"'{words}' is never shown (no score is right often enough)"
    return f"'{words}' from cosine {level.threshold:.3f} ({level.precision:.0%} right over {level.support:,} matches)"


def run_fetch(args: argparse.Namespace, pipeline: Pipeline) -> int:
    """Install the pack; an unreachable default URL ends in the one line that says what to do offline."""
    out = args.out or pipeline.data_dir / "models"
    pack = modelpack.read_pack()
    with tqdm(total=pack.size, unit="B", unit_scale=True, desc="model pack", file=sys.stderr,
              disable=args.quiet or not sys.stderr.isatty()) as progress:
        def update(done: int, _total: int) -> None:
            progress.update(done - progress.n)

        try:
            report = modelpack.install(args.source, out, progress=update, pack=pack)
        except modelpack.SourceUnreachable as exc:
            raise ModelError(f"model pack: {exc}") from exc  # the packaged app's name for it: decorlens.errors
    print(report.summary())
    return 0


def run_activate(args: argparse.Namespace, pipeline: Pipeline) -> int:
    models = [_activatable(name, pipeline) for name in args.models]
    chosen = [(_choice(name, m), m) for name, m in zip(args.models, models, strict=True)]
    embedders = [(choice, m) for choice, m in chosen if m.card.kind == "embedder"]
    detectors = [(choice, m) for choice, m in chosen if m.card.kind == "detector"]
    if len(embedders) > 1:
        raise ModelError(f"one embedder at a time, got {', '.join(m.path.name for _, m in embedders)}")
    if embedders:  # first: a re-embedding stopped with Ctrl-C leaves every choice as it was
        _activate_embedder(args, pipeline, *embedders[0])
    if detectors:
        path = save_choice(pipeline.data_dir, "detectors", [[choice] for choice, _ in detectors])
        runs = " + ".join(f"{model_label(m)} from {absolute(m.path)}" for _, m in detectors)  # as Settings names it
        print(f"detection now runs {runs}; saved in {shown_path(path)}{_kept_where(choice for choice, _ in detectors)}")
        _note_replaced([m for _, m in detectors])
    return 0


def _activatable(name: str, pipeline: Pipeline) -> ResolvedModel:
    """``name`` found as models are found, refused unless it is an ONNX file holding the bytes its card was
    written for. A ``.pt`` beside its export's card (the same stem) was saved as the detector, and every
    search after it failed on "does not match its model card": refused here, before anything is saved."""
    model = find_model(name, pipeline.settings.models_dir, pipeline.data_dir)
    if model.path.suffix.lower() != ".onnx":
        raise ModelError(f"{model.path} is not an ONNX model: only .onnx files with a card are activated"
                         f"{_export_hint(model.path)}")
    check_matches_card(model)
    return model


def _export_hint(path: Path) -> str:
    """For a YOLO ``.pt``, the export that makes the ``.onnx`` to activate; other files have no such step."""
    return f"{_made_by_export(path.name)} writes {path.stem}.onnx" if path.suffix == ".pt" and _exports() else ""


def _made_by_export(weights: str) -> str:
    """"; `decorlens models export WEIGHTS`", where this install has that command: the packaged app ships without
    it (``decorlens.frozen.TRAINING_VERBS``), and its `models list` named it all the same. Without the training
    extra (a plain ``scripts/install``) the export fails for want of ultralytics: its install comes first."""
    if not _exports():
        return ""
    export = f"`{program()} models export {weights}`"
    return f"; {export}" if _can_export_weights() else f"; `{INSTALL_TRAINING}`, then {export}"


def _can_export_weights() -> bool:
    """Whether `models export` of a ``.pt`` can run here: the [train] extra's packages it imports are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("training", "torch", "ultralytics"))


def _exports() -> bool:
    return not getattr(sys, "frozen", False)


def _choice(name: str, model: ResolvedModel) -> str:
    """What ``config.yaml`` records: a bare file name as given (looked up on the model search path, as
    the defaults are), a path as the absolute path of that file. Saving only a path's file name left an
    outside model "not found", or ran another file of that name from the models folders."""
    return model.path.name if Path(name).name == name else str(absolute(model.path))


def _kept_where(choices) -> str:
    """Said when a model is used from where it is: moving or deleting it stops searches."""
    outside = [c for c in choices if Path(c).is_absolute()]
    return f" (used where it is: keep {', '.join(outside)} there)" if outside else ""


def _note_replaced(detectors: list) -> None:
    """A trained detector activated beside the stock ones it replaces: allowed, but say what it costs."""
    names = {m.path.name for m in detectors}
    for model in detectors:
        doubled = sorted(names & set(model.card.replaces))
        if doubled:
            note(f"{model.path.name} was trained to replace {', '.join(doubled)}: together they run more networks "
                 f"for the same objects; `{program()} models activate {model.path.name}` runs it alone")


def _activate_embedder(args: argparse.Namespace, pipeline: Pipeline, choice: str, model: ResolvedModel) -> None:
    """Re-embed the catalog, then save the choice: interrupted, the catalog and config.yaml are unchanged."""
    active = Pipeline(pipeline.settings.with_(embedder=(choice,)), pipeline.log)
    if active.catalog.count():
        with bar("re-embedding the catalog", args.quiet) as progress:
            active.prepare_matcher(progress=progress)
    path = save_choice(pipeline.data_dir, "embedder", [choice])
    print(f"searches now use {model_label(model)} from {one_field(str(absolute(model.path)))}; "
          f"saved in {shown_path(path)}{_kept_where([choice])}")


def run_card(args: argparse.Namespace, pipeline: Pipeline) -> int:
    if args.output is not None and args.kind != "embedder":  # a detector's or pose model's outputs are fixed
        raise DecorLensError(f"--output names an embedder's output; --kind {args.kind} cards read the model's "
                             "own outputs: leave --output out")
    _check_a_file(args.onnx)
    existing = card_path_for(args.onnx)
    if existing.is_file() and not args.force:  # a trained model's card is all that records how it was made
        raise ModelError(f"{existing} already exists and may hold the model's training record and match "
                         "thresholds, which a new card would drop; pass --force to replace it")
    makers = {
        "detector": lambda: detector_card(args.onnx, args.name),
        "pose": lambda: pose_card(args.onnx, args.name),
        "embedder": lambda: embedder_card(args.onnx, args.name, output_name=args.output or EMBEDDER_OUTPUT),
    }
    card = makers[args.kind]()
    path = write_card(args.onnx, card)
    read_card(args.onnx)
    print(f"wrote {shown_path(path)}")
    return 0


def _check_a_file(path: Path) -> None:
    """Refuse, saying what it is, a ``path`` that is no regular file: a FIFO, a device or a folder were all
    "no such file", which sent the user looking for a file that was there."""
    try:
        open_regular(path).close()  # non-blocking: a FIFO does not hold the open
    except NotAFile as exc:
        raise ModelError(f"{exc}; give the model's .onnx file") from exc
