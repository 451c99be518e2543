"""``decorlens self-check``: a headless check that models, runtime, catalog and index work here."""

from __future__ import annotations

import argparse

from decorlens.errors import PARTLY_DONE
from decorlens.options import program
from decorlens.progress import note
from engine.pipeline import Pipeline
from engine.remedies import for_program
from engine.selfcheck import print_report, run_self_check


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "self-check",
        help="check models, device, detector, embedder and search on a generated scene (exit 0 when healthy)",
    )
    p.add_argument("--json", action="store_true", help="print every step, versions and timings as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    name = program()  # the step lines name the packaged app's commands as its summary does: `DecorLens models fetch`
    log = (lambda _m: None) if args.quiet or args.json else (lambda line: note(for_program(line, name)))
    report = run_self_check(pipeline.settings, log=log)
    print_report(report, args.json, name)
    return 0 if report.ok else PARTLY_DONE
