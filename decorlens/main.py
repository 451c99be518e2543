"""Entry point of ``decorlens``: global options, command dispatch, and every failure as one line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from platformdirs import user_data_dir

from decorlens.errors import EXIT_CODES, Context, debug_requested, report
from decorlens.options import PROG, OneLineParser, use_program, wide_folder
from decorlens.progress import ended_as_ctrl_c, note
from decorlens.terminal import escaped, shown_path, streams_fitted
from engine import __version__
from engine.errors import DecorLensError
from engine.paths import APP_NAME, CATALOG_FILE, DATA_ENV, data_dir
from engine.pipeline import Pipeline
from engine.settings import DEVICES, Settings

# One module per command, each with register(subparsers) and run(args, pipeline).
COMMANDS = (
    "search", "tag", "where", "catalog", "bundle", "models", "train", "train_detector", "eval", "bench", "self_check",
    "gui",
)
# Commands for the Python install only: the packaged app leaves them out (build.spec), so it lists
# only what it can run.
PYTHON_INSTALL_ONLY = ("train", "train_detector", "eval", "bench")
# A first day's commands, in the order they are needed, as `decorlens --help` ends with them: the help listed
# twelve commands and their options but no command line to start from.
FIRST_STEPS = (
    ("decorlens models fetch", "install the model pack"),
    ("decorlens catalog import feed.csv", "your products, from a CSV or folders"),
    ("decorlens search room.jpg", "the tags of one photo and their matches"),
    ("decorlens tag photos/ --out tagged/", "every photo of a folder: a JSON each"),
    ("decorlens where 802.538.09", "the photos a product was matched in"),
)
HELP_WIDTH = 79  # the epilog is laid out by hand (argparse would run the steps together): an 80-column terminal
# Arguments that name the files a command reads, so an error without a file name can name them.
INPUT_ARGUMENTS = ("image", "source", "bundle", "inputs", "onnx", "data", "yolo_data")


def _commands():
    """The command modules; each imports heavy extras (training, Qt, bench) only when run."""
    for name in COMMANDS:
        try:
            yield importlib.import_module(f"decorlens.{name}")
        except ModuleNotFoundError as exc:
            if name not in PYTHON_INSTALL_ONLY or exc.name != f"decorlens.{name}":
                raise


def _standard_data_dir() -> str:
    """The data folder used when none is named, as ``--help`` writes it: the help said only "(env
    DECORLENS_DATA_DIR)", leaving a user to guess where an import without ``--data-dir`` had gone."""
    folder = user_data_dir(APP_NAME, appauthor=False)
    home = os.path.expanduser("~")
    shown = "~" + folder[len(home):] if home != "/" and folder.startswith(home + os.sep) else folder
    return shown.replace("%", "%%")  # argparse formats help with %


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The parser; ``prog`` is the program its help names (the packaged app's executable is no ``decorlens``)."""
    parser = OneLineParser(
        prog=prog, description="Find the furniture and decor in room photos and match it to your catalog.",
        epilog=_epilog(prog), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{prog} {__version__}")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help=f"catalog, indexes and exported models (default: env DECORLENS_DATA_DIR, else "
                             f"{_standard_data_dir()})")
    parser.add_argument("--models-dir", type=Path, metavar="DIR",
                        help="where model files are found (default: env DECORLENS_MODELS_DIR, else the models the "
                             "packaged app ships or the data dir's models folder; the data dir's is searched too)")
    parser.add_argument("--device", choices=DEVICES,
                        help="where models run (default: auto; the app: its Settings)")
    parser.add_argument("--embedder", metavar="ONNX",
                        help="embedder ONNX file for this run (`models activate` makes it stick; the app: its Settings)")
    parser.add_argument("--detector", action="append", metavar="ONNX",
                        help="detector ONNX file for this run; repeat to run several (`models activate` makes it stick; "
                             "the app: its Settings)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bars or notes on stderr (warnings and failures still show)")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, print the full traceback too (env DECORLENS_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands",
                                help=f"one of these; `{prog} COMMAND --help` says more")
    for command in _commands():
        command.register(sub)
    return parser


def _epilog(prog: str) -> str:
    """First steps, one command a line with what it does, then what each exit code means."""
    commands = [command.replace(PROG, prog, 1) for command, _ in FIRST_STEPS]
    width = max(len(command) for command in commands) + 2
    steps = "\n".join(f"  {command:<{width}}{what}" for command, (_, what) in zip(commands, FIRST_STEPS, strict=True))
    return f"first steps:\n{steps}\n\n" + textwrap.fill(EXIT_CODES.capitalize() + ".", HELP_WIDTH)


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    use_program(prog)
    streams_fitted()
    context = Context(debug=debug_requested(argv))
    window = False  # whether the command opens the app's window, whose start-up errors a window shows
    try:
        # --debug is taken wherever it stands: it is typed after the command that just failed
        args = _home_expanded(build_parser(prog).parse_args([a for a in argv if a != "--debug"]))
        context = replace(context, inputs=_inputs(args), names=_names(args))
        window = args.command in (None, "gui")
        if args.command is None:
            return importlib.import_module("decorlens.gui").run(args, None)
        _refuse_wide_data_dir(args)
        new = _named_but_missing(args)
        folder = data_dir(args.data_dir)
        context = replace(context, data_dir=folder)
        with escaped("stdout", needed=not window):
            code = _run(args, folder)
        if new and code == 0 and not args.quiet:
            note(f"made the data folder {shown_path(folder)}: it did not exist")
        return code
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the one place that turns them into lines
        if window:
            return importlib.import_module("decorlens.gui").start_failed(exc, context, args.data_dir)
        return report(exc, context)


def _named_but_missing(args: argparse.Namespace) -> bool:
    """Whether the data folder was named (``--data-dir``, ``DECORLENS_DATA_DIR``) and is not there yet: the run
    makes it, and says so once it is done. A typo in the name answered "0 products" from a new, empty folder, as if
    the catalog were gone."""
    named = args.data_dir or os.environ.get(DATA_ENV)
    return bool(named) and not Path(named).expanduser().exists()


def _refuse_wide_data_dir(args: argparse.Namespace) -> None:
    """Refuse a named data folder that is the disk's root or the home folder, before anything is written in it,
    unless it already holds a catalog (refusing then would cut its owner off from it)."""
    option, named = ("--data-dir", args.data_dir) if args.data_dir else (DATA_ENV, os.environ.get(DATA_ENV))
    wide = wide_folder(named) if named else None
    if wide and not (Path(named).expanduser() / CATALOG_FILE).exists():
        raise DecorLensError(f"{option} {named} is {wide}; DecorLens keeps its catalog, indexes and models in a "
                             f"folder of its own: name one, e.g. {Path(named).expanduser() / 'DecorLens'}")


def _run(args: argparse.Namespace, folder: Path) -> int:
    settings = Settings.for_data_dir(folder).with_(
        models_dir=args.models_dir, device=args.device, embedder=(args.embedder,) if args.embedder else None,
        detectors=tuple((name,) for name in args.detector) if args.detector else None,
    )
    pipeline = Pipeline(settings, log=(lambda _m: None) if args.quiet else note)
    if args.command == "gui":  # the app's window handles its own ending
        return int(args.run(args, pipeline) or 0)
    with ended_as_ctrl_c():
        return int(args.run(args, pipeline) or 0)


def _home_expanded(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with a leading ``~`` of each file and folder given expanded, as the shell does for a word of its
    own: it leaves the ``~`` of ``--out=~/tagged``, of a quoted path and of a script's variable, and ``tag
    --out=~/tagged`` or ``bundle export "~/shop.dlcat"`` wrote into a new folder named ``~`` in the current one,
    while ``catalog import`` and ``--data-dir`` took the same ``~`` for the home folder."""
    for name, value in vars(args).items():
        setattr(args, name, [_expanded(name, v) for v in value] if isinstance(value, list) else _expanded(name, value))
    return args


def _expanded(name: str, value: object) -> object:
    """``value`` with ``~`` expanded where it is a path: typed as one, or an input argument's text."""
    if isinstance(value, Path) or (isinstance(value, str) and name in INPUT_ARGUMENTS):
        return type(value)(os.path.expanduser(value))
    return value


def _inputs(args: argparse.Namespace) -> tuple[str, ...]:
    """The files and folders the command was given, in the order given."""
    found: list[str] = []
    for name in INPUT_ARGUMENTS:
        value = getattr(args, name, None)
        if value is None or isinstance(value, bool):
            continue
        found.extend(str(v) for v in (value if isinstance(value, list) else [value]))
    return tuple(found)


def _names(args: argparse.Namespace) -> tuple[str, ...]:
    """The name, less its suffix, of every file or folder the command was given, outputs and models included: the
    error line may cut one in its middle (in every file named after it: a model's card), which it cannot tell
    from our words when it is written in words."""
    values = (v for value in vars(args).values() for v in (value if isinstance(value, list) else [value]))
    return tuple(Path(v).stem for v in values if isinstance(v, str | Path) and str(v))


if __name__ == "__main__":
    sys.exit(main())
