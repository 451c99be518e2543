"""``decorlens bundle``: a whole catalog as one file, to ship a pre-built catalog to many machines."""

from __future__ import annotations

import argparse
import json
import signal
from contextlib import ExitStack
from pathlib import Path
from typing import Self

from decorlens.progress import bar, note, stop_on_ctrl_c
from decorlens.terminal import one_field
from engine.bundle import (
    ADDING,
    CHECKING,
    COPYING,
    EMBEDDING,
    PACKING,
    REPLACING,
    SUFFIX,
    UNPACKING,
    WRITING,
    export_bundle,
    import_bundle,
    read_bundle,
)
from engine.errors import DecorLensError
from engine.pipeline import Pipeline

# what each step of an export or an import counts
UNITS = {COPYING: "page", CHECKING: "img", PACKING: "MB", WRITING: "img", UNPACKING: "MB", ADDING: "img",
         EMBEDDING: "img"}
TOO_LATE = "replacing the catalog: too late to stop, it takes a moment"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bundle", help="export or import the whole catalog (database, index, images) as one file")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True, title="verbs",
                             help="one of these; `%(prog)s VERB --help` says more")
    ex = verbs.add_parser("export", help=f"write the catalog to one {SUFFIX} file")
    ex.add_argument("out", type=Path, metavar="BUNDLE", help=f"bundle file to write (e.g. store{SUFFIX}); in a folder, <data dir name>{SUFFIX}")
    ex.add_argument("--no-images", action="store_true",
                    help="keep the original image paths instead of carrying the images (shared folders only)")
    ex.set_defaults(run=run_export)
    im = verbs.add_parser("import", help="replace this machine's catalog by a bundle's (the old one is backed up first)")
    im.add_argument("bundle", type=Path, metavar="BUNDLE", help=f"the {SUFFIX} file to import")
    im.add_argument("--re-embed", action="store_true",
                    help="if the bundle was embedded with another model than this machine's, compute vectors here")
    im.add_argument("--images-from", type=Path, action="append", default=[], metavar="DIR",
                    help="for a bundle exported with --no-images only: the shared folder its images must be in "
                         "(repeatable; images anywhere else are refused)")
    im.set_defaults(run=run_import)
    info = verbs.add_parser("info", help="what a bundle holds")
    info.add_argument("bundle", type=Path, metavar="BUNDLE", help=f"a {SUFFIX} file")
    info.add_argument("--json", action="store_true", help="print the bundle's manifest as JSON")
    info.set_defaults(run=run_info)


def run_export(args: argparse.Namespace, pipeline: Pipeline) -> int:
    log = (lambda _m: None) if args.quiet else note
    with stop_on_ctrl_c() as stop, StepBars(args.quiet) as bars:
        info = export_bundle(pipeline.data_dir, args.out, include_images=not args.no_images, log=log,
                             progress=bars.progress, cancelled=stop, step=bars.step)
    print(one_field(f"wrote {info.summary(whole_path=True)}"))  # "wrote slice.dlcat" hid where a folder's bundle went
    return 0


class StepBars:
    """A bar per step of a long command that names its steps as they start (``bundle export``): the step's bar
    closes when the next one opens, so the terminal keeps one finished line per step (``bundle import`` too)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bars = ExitStack()
        self.update = lambda _done, _total: None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.close()

    def step(self, name: str) -> None:
        self.bars.close()
        self.update = self.bars.enter_context(bar(name, self.quiet, unit=UNITS.get(name, "it")))

    def progress(self, done: int, total: int) -> None:
        self.update(done, total)


def run_import(args: argparse.Namespace, pipeline: Pipeline) -> int:
    log = (lambda _m: None) if args.quiet else note
    info = read_bundle(args.bundle)  # a clear error for a wrong file before any model is loaded
    if args.images_from and info.manifest["images"] == "embedded":  # its own images were used, the folders unread
        raise DecorLensError(f"--images-from is for a bundle exported with --no-images; {args.bundle.name} carries "
                             "its images: leave --images-from out")
    late: list[int] = []  # signals received while the catalog was being replaced

    def too_late(signum: int, _frame: object) -> None:
        late.append(signum)
        note(TOO_LATE)

    def step(name: str) -> None:
        bars.step(name)
        if name == REPLACING:  # the engine no longer stops: a second Ctrl-C must not abort the swap either
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, too_late)

    with stop_on_ctrl_c() as stop, StepBars(args.quiet) as bars:  # it puts back the handlers ``step`` replaced
        result = import_bundle(args.bundle, pipeline.data_dir, pipeline.embedder, args.re_embed, bars.progress, log,
                               images_from=args.images_from, cancelled=stop, step=step)
    if stop() or late:
        note("asked to stop after the last point the import can stop at: it finished")
    for warning in result.warnings:
        note(f"warning: {warning}")
    print(result.summary())
    return 0


def run_info(args: argparse.Namespace, _pipeline: Pipeline) -> int:
    info = read_bundle(args.bundle)
    print(json.dumps(info.manifest, indent=2, ensure_ascii=False) if args.json else one_field(info.summary()))
    return 0
