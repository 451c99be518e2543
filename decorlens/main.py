"""Entry point of ``decorlens``: global options, command dispatch, one-line errors."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from decorlens.progress import note
from engine import __version__
from engine.errors import Cancelled, DecorLensError
from engine.pipeline import Pipeline
from engine.settings import Settings

# One module per command, each with register(subparsers) and run(args, pipeline).
COMMANDS = (
    "search", "tag", "catalog", "bundle", "models", "train", "train_detector", "eval", "bench", "self_check", "gui",
)
# Commands for the Python install only: the packaged app leaves them out (build.spec), so it lists
# only what it can run.
PYTHON_INSTALL_ONLY = ("train", "train_detector", "eval", "bench")


def _commands():
    """The command modules; each imports heavy extras (training, Qt, bench) only when run."""
    for name in COMMANDS:
        try:
            yield importlib.import_module(f"decorlens.{name}")
        except ModuleNotFoundError as exc:
            if name not in PYTHON_INSTALL_ONLY or exc.name != f"decorlens.{name}":
                raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="decorlens", description="Find the furniture and decor in room photos and match it to your catalog."
    )
    parser.add_argument("--version", action="version", version=f"decorlens {__version__}")
    parser.add_argument("--data-dir", type=Path, help="catalog, indexes and exported models (env DECORLENS_DATA_DIR)")
    parser.add_argument("--models-dir", type=Path, help="where model files are found (env DECORLENS_MODELS_DIR)")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], help="where models run (default: auto)")
    parser.add_argument("--embedder", help="embedder ONNX file for this run (`models activate` makes it stick)")
    parser.add_argument("--detector", action="append", metavar="ONNX",
                        help="detector ONNX file for this run; repeat to run several (`models activate` makes it stick)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in _commands():
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return importlib.import_module("decorlens.gui").run(args, None)
    settings = Settings.for_data_dir(args.data_dir).with_(
        models_dir=args.models_dir, device=args.device, embedder=(args.embedder,) if args.embedder else None,
        detectors=tuple((name,) for name in args.detector) if args.detector else None,
    )
    pipeline = Pipeline(settings, log=(lambda _m: None) if args.quiet else note)
    try:
        return int(args.run(args, pipeline) or 0)
    except Cancelled as exc:
        note(str(exc))
        return 130
    except KeyboardInterrupt:
        note("interrupted; nothing half-written was kept")
        return 130
    except (DecorLensError, ValueError) as exc:
        print(f"decorlens: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
