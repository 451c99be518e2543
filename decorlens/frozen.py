"""The packaged app's entry point: ``DecorLens [--self-check | COMMAND ... | PHOTO ...]``.

It lives with the CLI, above the engine: it dispatches to commands and to the GUI.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

from decorlens.errors import USER_ERROR
from decorlens.main import PROG, PYTHON_INSTALL_ONLY, build_parser
from decorlens.main import main as cli_main

GLOBAL_WITH_VALUE = ("--data-dir", "--models-dir", "--device")
GUI_FLAGS = ("--install-desktop-entry", "--remove-desktop-entry")  # the gui command's: ``DecorLens --install-…``
# Verbs that run the training package (build.spec leaves it out), with what else to say. `DecorLens models export`
# said "export needs the [train] extra (training is missing): `scripts/install --train`", a script the app's folder
# does not have, as if to type it there.
TRAINING_VERBS = {("models", "export"): "; the default models need no export: `{program} models fetch`",
                  ("models", "quantize"): "", ("models", "combine"): ""}
LEFT_OUT = ("{program}: error: `{command}` is not in the packaged app (it ships without PyTorch): run it in a Python "
            "install with the training extra (scripts/install --train){more}")


def frozen_entry(argv: Sequence[str] | None = None) -> int:
    """``DecorLens [--self-check | COMMAND ... | PHOTO ...]``: the packaged app's ``main``.

    ``--self-check`` and CLI commands (``DecorLens catalog import ...``) run headless; anything else
    (no arguments, or photo paths) opens the GUI. Qt is imported only in the GUI branch.
    """
    args = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-psn_")]  # old macOS Finder
    _ensure_console()
    restore_library_path()

    try:
        if "--self-check" in args:
            rest = [a for a in args if a not in ("--self-check", "--json")]
            return main([*rest, "self-check", *(["--json"] if "--json" in args else [])])
        commands = _command_names(build_parser(program_name()))
        first = _first_positional(args)
        if first is None and any(a in ("-h", "--help", "--version") for a in args):
            return main(args)
        refused = _not_here(args, first, commands)
        if refused is not None:
            command, more = refused
            print(LEFT_OUT.format(program=program_name(), command=command, more=more.format(program=program_name())),
                  file=sys.stderr)
            return USER_ERROR
        if first is not None and first in commands:
            return main(args)
        split = args.index(first) if first is not None else len(args)
        globals_, flags = [a for a in args[:split] if a not in GUI_FLAGS], [a for a in args[:split] if a in GUI_FLAGS]
        return main([*globals_, "gui", *flags, *args[split:]])
    except SystemExit as exc:  # argparse errors and --help
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2


def restore_library_path(environ: MutableMapping[str, str] = os.environ) -> None:
    """Give the programs this app starts the user's ``LD_LIBRARY_PATH``, not the app's folder.

    PyInstaller's bootloader puts ``_internal`` on ``LD_LIBRARY_PATH`` (the user's own value saved as
    ``LD_LIBRARY_PATH_ORIG``), and every program the app starts inherited it: Open Page, Open results folder and
    About's data folder run ``xdg-open``, a shell script, whose bash loaded the app's ``libtinfo`` (and would load its
    ``libreadline``, ``libglib``, ``libstdc++``: the build machine's), so on a newer distribution the browser or file
    manager can fail with a symbol error and nothing opens. This process keeps its libraries: the loader reads the
    variable once, at start. OpenCV's loader adds its folder to the variable when first imported, so it is imported
    first (the engine imports it anyway).
    """
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is None or bundle not in environ.get("LD_LIBRARY_PATH", "").split(os.pathsep):
        return
    with contextlib.suppress(ImportError):  # a broken cv2 is --self-check's to report, not the start's
        import cv2  # noqa: F401
    original = environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original:
        environ["LD_LIBRARY_PATH"] = original
    else:
        environ.pop("LD_LIBRARY_PATH", None)


def program_name() -> str:
    """The name staff type in the packaged app's folder (``DecorLens``, ``DecorLens.exe``): its help named a
    ``decorlens`` command, which only a Python install has."""
    return Path(sys.executable).stem if getattr(sys, "frozen", False) else PROG


def main(argv: Sequence[str]) -> int:
    """The CLI's ``main``, its help and errors naming this program."""
    return cli_main(argv, program_name())


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public accessor
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return set(action.choices)
    return set()


def _left_out(word: str, commands: set[str]) -> bool:
    """Whether ``word`` names a training command build.spec left out, and no photo of that name is here: it was
    taken for a photo to open, and the window opened only to say "No photos in train"."""
    module = word.replace("-", "_")
    here = {command.replace("-", "_") for command in commands}
    return module in PYTHON_INSTALL_ONLY and module not in here and not os.path.exists(word)


def _not_here(args: Sequence[str], first: str | None, commands: set[str]) -> tuple[str, str] | None:
    """``(command, what else to say)`` where ``args`` name a command build.spec left out, or a verb of the training
    package it left out; else None."""
    if first is None:
        return None
    if _left_out(first, commands):
        return first, ""
    verb = _first_positional(args[args.index(first) + 1:])
    more = TRAINING_VERBS.get((first, verb or ""))
    if more is None or importlib.util.find_spec("training") is not None:
        return None
    return f"{first} {verb}", more


def _first_positional(args: Sequence[str]) -> str | None:
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in GLOBAL_WITH_VALUE:
            skip = True
            continue
        if not arg.startswith("-"):
            return arg
    return None


def _ensure_console() -> None:
    """A windowed Windows build has no stdout: attach to the console that started it, if any."""
    if os.name != "nt" or sys.stdout is not None:
        return
    try:
        import ctypes

        if ctypes.windll.kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS
            sys.stdout = open("CONOUT$", "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
            sys.stderr = open("CONOUT$", "w", encoding="utf-8")  # noqa: SIM115
            return
    except (OSError, AttributeError):
        pass
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - print() must not fail
