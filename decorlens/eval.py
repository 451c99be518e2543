"""``decorlens eval --data DIR``: top-1/top-5 per category and recall@k for colour, pretrained, fine-tuned;
coverage, tag precision and pins per scene of the tags, scored with the data dir's own category map."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from decorlens.options import CONF_HELP, confidence, output_folder, positive_int
from decorlens.progress import bar, note
from engine.advice import INSTALL_TRAINING
from engine.errors import DecorLensError, ModelError
from engine.pipeline import Pipeline

MATCHERS = "colour,pretrained,finetuned"


def matcher_list(value: str) -> tuple[str, ...]:
    """``--matchers``: one or more of MATCHERS, comma-separated (an empty list failed deep in the scoring)."""
    names = tuple(m.strip() for m in value.split(",") if m.strip())
    unknown = [m for m in names if m not in MATCHERS.split(",")]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"{value!r}: name one or more of {MATCHERS}")
    return names


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure the tags and how well each matcher finds the paired products of scenes")
    p.add_argument("--data", type=Path, required=True, metavar="DIR",
                   help="dataset folder: pairs.csv, products.csv, scenes.csv")
    p.add_argument("--matchers", type=matcher_list, default=matcher_list(MATCHERS), metavar="LIST",
                   help=f"comma-separated subset of {MATCHERS} (default all three)")
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"], help="scenes to score (default test)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="the split seed used for training (default 0)")
    p.add_argument("--limit-scenes", type=positive_int, metavar="N", help="score only the first N scenes of the split")
    p.add_argument("--conf", type=confidence, default=0.1, help=CONF_HELP)
    p.add_argument("--finetuned", metavar="ONNX",
                   help="the finetuned matcher's ONNX, name or path (default: what a plain `decorlens train` writes)")
    p.add_argument("--also-embedder", action="append", default=[], metavar="ONNX",
                   help="another pretrained embedder scored on the same pairs, against pretrained, which --matchers "
                        "must then hold (repeatable)")
    p.add_argument("--levers", default="", metavar="LIST",
                   help="query levers scored against the pretrained matcher's default query (--matchers must hold "
                        "pretrained), comma-separated, e.g. flip,multicrop,flip+multicrop (training.evaluate.QUERY_LEVERS)")
    p.add_argument("--against", type=Path, metavar="EVAL_JSON",
                   help="an earlier run's eval.json on the same split: pairs gained and lost, with exact p-values")
    p.add_argument("--out", type=output_folder, metavar="DIR",
                   help="folder for eval.md/.csv/.json/.png (default <data dir>/eval-reports)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run)


def refuse_unused(args: argparse.Namespace) -> None:
    """Refuse, before any work, an option the chosen matchers would leave unused, naming both options.

    ``--finetuned`` without the finetuned matcher was never loaded; ``--also-embedder`` and ``--levers``
    without pretrained were scored, but the comparison with pretrained they are there for was left out of the
    report without a word.
    """
    if args.finetuned is not None and "finetuned" not in args.matchers:
        raise DecorLensError(f"--finetuned names the finetuned matcher's model, which --matchers "
                             f"{','.join(args.matchers)} leaves out: add finetuned to --matchers or leave --finetuned out")
    if "pretrained" not in args.matchers:
        option = "--also-embedder" if args.also_embedder else "--levers" if args.levers.strip(", ") else None
        if option:
            raise DecorLensError(f"{option} is scored against the pretrained matcher, which --matchers "
                                 f"{','.join(args.matchers)} leaves out: add pretrained to --matchers")


def run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    refuse_unused(args)
    try:
        from training.eval_against import against, load_earlier
        from training.evaluate import DEFAULT_FINETUNED, EvalConfig, evaluate, markdown, write_reports
    except ImportError as exc:
        raise ModelError(f"evaluation needs the [train] extra ({exc.name} is missing): {INSTALL_TRAINING}") from exc
    config = EvalConfig(
        data=args.data, matchers=args.matchers,
        split=args.split, seed=args.seed, limit_scenes=args.limit_scenes, conf=args.conf,
        finetuned=args.finetuned or DEFAULT_FINETUNED, embedders=tuple(args.also_embedder),
        levers=tuple(v.strip() for v in args.levers.split(",") if v.strip()),
    )
    earlier = load_earlier(args.against) if args.against else None  # a bad file fails before the long run
    with bar("scoring scenes", args.quiet) as progress:
        result = evaluate(config, pipeline, progress)
    if earlier is not None:
        result.against = against(result.to_json(), earlier, str(args.against))
    paths = write_reports(result, args.out or pipeline.data_dir / "eval-reports")
    data = result.to_json()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(markdown(data))
    if not args.quiet:  # -q promises no notes: a script running eval -q --json got this line on stderr
        note("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
