"""The README's commands exist as written: docs and CLI cannot drift apart.

Every ``decorlens …`` line of the README's bash blocks must parse with the real parser (command, verb,
options and their values), and every command or verb the README names, in a block or inline, must
answer ``--help``.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from decorlens.main import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BASH_BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)
INLINE = re.compile(r"`(decorlens [^`]+)`")


def _commands_in_blocks() -> list[str]:
    found = []
    for block in BASH_BLOCK.findall(README.read_text(encoding="utf-8")):
        for line in block.splitlines():
            command = line.split("  #")[0].split(" # ")[0].strip()
            if command.startswith("decorlens "):
                found.append(command)
    return found


def _commands_inline() -> list[str]:
    return INLINE.findall(README.read_text(encoding="utf-8"))


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _named(words: list[str]) -> list[str]:
    """The command and, for commands with verbs, the verb a README line names (options skipped).

    A word the CLI does not know ends the list, so its ``--help`` test fails naming it.
    """
    parser, path = build_parser(), []
    for word in words:
        if word.startswith("-"):
            continue
        choices = _subcommands(parser)
        if not choices:
            break
        path.append(word)
        if word not in choices:
            break
        parser = choices[word]
    return path


BLOCK_LINES = _commands_in_blocks()
NAMED = sorted({tuple(_named(shlex.split(line)[1:])) for line in BLOCK_LINES + _commands_inline()})


def test_the_readme_documents_the_cli():
    assert len(BLOCK_LINES) >= 10 and ("catalog", "import") in NAMED and ("search",) in NAMED


@pytest.mark.parametrize("line", BLOCK_LINES)
def test_each_readme_line_parses(line: str):
    """Command, verb, every option and its value, as printed in the README."""
    args = build_parser().parse_args(shlex.split(line)[1:])
    assert args.command is not None and callable(args.run)


@pytest.mark.parametrize("words", NAMED, ids=" ".join)
def test_each_named_command_answers_help(words: tuple[str, ...], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as done:
        main([*words, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: decorlens {' '.join(words)}")


def test_python_m_decorlens_help_runs_from_the_repo_root():
    done = subprocess.run([sys.executable, "-m", "decorlens", "--help"], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    for command in _subcommands(build_parser()):
        assert command in done.stdout
