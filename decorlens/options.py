"""The argument parser and argument types shared by several commands."""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, NoReturn

from decorlens.errors import MAX_LINE, USER_ERROR, one_line
from decorlens.terminal import EscapingWriter, escape_controls
from engine.paths import wide_folder
from engine.settings import MAX_COUNT

PROG = "decorlens"  # the command a Python install puts on the PATH
_program = PROG  # the one this run was started as: ``decorlens.main.main`` sets it (the packaged app: its executable)
CONF_HELP = "detector confidence for every detector (default 0.1), or 'card': each model card's own"
# Options of `decorlens` itself, taken only before the command (`decorlens --help` lists them).
GLOBAL_OPTIONS = ("--data-dir", "--models-dir", "--device", "--embedder", "--detector", "-q", "--quiet")
# argparse's words for an unknown sub-command (quoted choices up to Python 3.12, bare ones later).
INVALID_CHOICE = re.compile(r"argument (?P<what>[^:]+): invalid choice: '?(?P<value>.*?)'? \(choose from (?P<choices>.*)\)")


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (not the usage block), and an unknown verb lists the verbs.

    Sub-command parsers are made from the same class, so ``decorlens catalog imprt`` is one line too.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Commands)

    def add_subparsers(self, **kwargs) -> argparse._SubParsersAction:
        """Commands (or a command's verbs) under their own heading, listed before the options: which command is
        a new user's first question, and they were a bare "COMMAND" under "positional arguments"."""
        action = super().add_subparsers(**kwargs)
        if "title" in kwargs:
            self._action_groups.insert(0, self._action_groups.pop())
        return action

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
        """argparse's one way out for ``--help`` and ``--version``, failing as any report does where stdout cannot
        be written (``OutputFailed``): argparse drops the failed write, so ``--help > /dev/full`` lost the help and
        exited 0. The rest (a usage error's line to stderr) goes as argparse sends it."""
        if not message or file is None or file is not sys.stdout:
            super()._print_message(message, file)
            return
        writer = EscapingWriter(file)
        writer.write(message)
        writer.flush()

    def error(self, message: str) -> NoReturn:
        """One line, its control characters and bidi overrides shown as ``\\uXXXX``: "unrecognized arguments" quotes
        what was typed, and a shell glob (``decorlens search photos/*``) puts a downloaded file's name there raw; a
        name holding ``ESC ]0;…BEL ESC [2J`` retitled and cleared the terminal from this line."""
        prefix = f"{self.prog}: error: "
        problem = escape_controls(usage_problem(message))
        self.exit(USER_ERROR, prefix + one_line(problem, MAX_LINE - len(prefix)) + "\n")


class _Commands(argparse._SubParsersAction):
    """Each command's ``--help`` opens with the line the list of commands gives it, as a sentence, unless it
    has a description of its own: `decorlens search --help` showed its options with no word of what it does."""

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        if kwargs.get("description") is None and kwargs.get("help"):
            kwargs["description"] = sentence(kwargs["help"])
        return super().add_parser(name, **kwargs)


def use_program(name: str) -> None:
    """Name ``name`` in the command lines that messages and help suggest (``program``)."""
    global _program  # one name a run, set where it starts
    _program = name


def program() -> str:
    """The program to type in a suggested command line: ``decorlens``, or the packaged app's executable
    (``DecorLens``), whose folder has no ``decorlens`` (``decorlens.frozen.program_name``)."""
    return _program


def sentence(text: str) -> str:
    """A help line ("find decor in a photo") as a description's sentence ("Find decor in a photo.")."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def usage_problem(message: str) -> str:
    """argparse's message, with an unknown choice turned into a suggestion and the list to choose from,
    and a global option typed after the command (which that command's --help does not list) moved before it."""
    found = INVALID_CHOICE.fullmatch(message.strip())
    if found is None:
        unknown = message.strip().removeprefix("unrecognized arguments: ").split()
        misplaced = [w for w in unknown if w.split("=")[0] in GLOBAL_OPTIONS] if message.startswith("unrecognized") else []
        if misplaced:
            option = misplaced[0].split("=")[0]
            return (f"{option} is an option of {program()} itself: type it before the command, "
                    f"`{program()} {option} … COMMAND …` ({message})")
        return f"{message} (see --help)"
    choices = [c.strip().strip("'\"") for c in found["choices"].split(",")]
    guess = did_you_mean(found["value"], choices)
    what = found["what"]
    if what == "COMMAND" and Path(found["value"]).exists():
        return _path_as_command(found["value"])
    if what in ("COMMAND", "VERB"):
        return f"unknown {what.lower()} '{found['value']}'{guess}; {what.lower()}s: {', '.join(choices)}"
    return f"{what}: '{found['value']}' is not one of {', '.join(choices)}{guess}"


def _path_as_command(value: str) -> str:
    """A photo or folder typed where the command goes (``decorlens room.jpg``, as other viewers take a file): the
    two commands that open it, instead of "unknown command" and the list of every command. They name it PHOTO or
    FOLDER: a long path, shortened to fit the line, would cut the commands short."""
    if Path(value).is_dir():
        return (f"'{value}' is not a command: `{program()} gui FOLDER` opens its photos in the app, "
                f"`{program()} tag FOLDER --out tagged` tags them all")
    return (f"'{value}' is not a command: `{program()} gui PHOTO` opens it in the app, "
            f"`{program()} search PHOTO` tags it here")


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """The suffix ``" (did you mean X?)"`` naming the choice closest to a mistyped ``value``, or "" when none is
    close: one wording for every refusal of a name (a command, a choice, a category)."""
    close = difflib.get_close_matches(value, sorted(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def positive_int(value: str) -> int:
    """A count such as ``--top-k``: a whole number of at least 1."""
    return _whole(value, 1)


def whole_number(value: str) -> int:
    """A count that may be 0, such as ``--patience`` or ``--composites``."""
    return _whole(value, 0)


def _whole(value: str, least: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not least <= number <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{value} is not between {least} and {MAX_COUNT:,}")
    return number


def positive_number(value: str) -> float:
    """A rate such as ``--lr``: a finite number above 0."""
    return _number(value, lambda n: 0.0 < n < float("inf"), "a number above 0")


def fraction(value: str) -> float:
    """A detector confidence written into a card: between 0 and 1 (2 found nothing once activated)."""
    return _number(value, lambda n: 0.0 <= n <= 1.0, "a confidence between 0 and 1")


def _number(value: str, ok: Callable[[float], bool], wanted: str) -> float:
    """``value`` as a float that ``ok`` accepts (a comparison, so nan never passes), else argparse's error."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not ok(number):
        raise argparse.ArgumentTypeError(f"{value} is not {wanted}")
    return number


def cosine(value: str) -> float:
    """A similarity threshold such as ``--threshold``: above 0 (at or below, every product would be alike)
    and at most 1."""
    return _number(value, lambda n: 0.0 < n <= 1.0, "a cosine above 0 and at most 1")


PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def plain_name(value: str) -> str:
    """A name that becomes ``NAME.onnx`` in the models folder: a plain file name, never a path."""
    if not PLAIN_NAME.fullmatch(value) or value.endswith(".onnx"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a model name (letters, digits, '.', '_', '-'; "
                                         "no folder, no .onnx)")
    return value


def confidence(value: str) -> float | None:
    """A confidence in [0, 1], or ``card`` (None) for each detector's card default, as the app runs them."""
    if value == "card":
        return None
    try:
        conf = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is neither a number nor 'card'") from None
    if not 0.0 <= conf <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not a confidence between 0 and 1")
    return conf


def output_folder(value: str) -> Path:
    """A folder a command writes into (``search --why``, ``eval --out``), refused when it is a file: the
    command ran its whole search or evaluation, printed it, and only then failed on "already exists"."""
    if Path(value).expanduser().is_file():
        raise argparse.ArgumentTypeError(f"{value} is a file: give a folder to write into")
    return Path(value)


def run_folder(value: str) -> Path:
    """A folder a command fills with a run's files (``train --out``): any but a file, the disk's root or the
    home folder."""
    wide = wide_folder(value)
    if wide:
        raise argparse.ArgumentTypeError(f"{value} is {wide}: name a folder of its own for the run, "
                                         f"e.g. {Path(value) / 'decorlens-run'}")
    return output_folder(value)
