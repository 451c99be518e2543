"""``decorlens gui`` (and ``decorlens`` alone): open the desktop app."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import TextIO

from decorlens.errors import (
    LOG_MAX,
    USER_ERROR,
    Context,
    error_line,
    error_prefix,
    log_error,
    log_file,
    open_log,
)
from decorlens.options import program
from decorlens.progress import note
from engine.errors import DecorLensError
from engine.paths import data_dir

DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default with no command)")
    p.add_argument("files", nargs="*", metavar="PHOTO_OR_FOLDER", help="photos, or folders of them, to open")
    entry = p.add_mutually_exclusive_group()
    entry.add_argument("--install-desktop-entry", action="store_true",
                       help="Linux: put this DecorLens in the applications menu and in Open With for photos (for you "
                            "only), then exit")
    entry.add_argument("--remove-desktop-entry", action="store_true", help="Linux: take it out again, then exit")
    p.set_defaults(run=run)


# Global options the app does not take: its windows rebuild their engine from the data dir's config.yaml and
# Settings (app.settings.AppSettings.engine_settings), where these are chosen instead; they were dropped.
SETTINGS_INSTEAD = (("--device", "device", "Edit ▸ Settings ▸ Run the models on"),
                    ("--embedder", "embedder", "Edit ▸ Settings ▸ Advanced ▸ Embedder"),
                    ("--detector", "detector", "Edit ▸ Settings ▸ Advanced ▸ Detectors"))


def run(args: argparse.Namespace, _pipeline: object) -> int:
    install, remove = (getattr(args, f"{verb}_desktop_entry", False) for verb in ("install", "remove"))
    if install or remove:  # ``decorlens`` alone runs this with the global options only
        return menu_entry(remove, args.files)
    for option, dest, where in SETTINGS_INSTEAD:
        if getattr(args, dest, None):
            note(f"{error_prefix()}the desktop app does not take {option}: choose it in {where} "
                 f"(it is for commands, e.g. `{program()} {option} … search PHOTO`)")
            return 2
    if not has_display():
        # Without this, Qt aborts (exit 134) with a message about xcb plugins that helps nobody on SSH.
        note(f"{error_prefix()}no display here (DISPLAY and WAYLAND_DISPLAY are unset), so no window can "
             f"open; search from the command line: `{program()} search PHOTO`")
        return 2
    try:
        from app.main import launch
    except ImportError as exc:
        note(f"{error_prefix()}the desktop app needs the [gui] extra ({exc.name} is missing): "
             "pip install -e '.[gui]'")
        return 2
    log_errors(log_file(data_dir(args.data_dir)))
    return launch(getattr(args, "files", []), data_dir=args.data_dir, models_dir=args.models_dir)


def menu_entry(remove: bool, files: list[str]) -> int:
    """``--install-desktop-entry`` / ``--remove-desktop-entry``: no window, no display needed (``engine.desktop_entry``);
    run once after unpacking the packaged app, or by a deployment script."""
    from engine import desktop_entry

    if files:
        note(f"{error_prefix()}--install-desktop-entry and --remove-desktop-entry take no photos")
        return USER_ERROR
    try:
        if not remove:
            note(f"DecorLens is in the applications menu now ({desktop_entry.install()})")
        elif desktop_entry.remove():
            note("DecorLens is no longer in the applications menu")
        else:
            note(f"DecorLens was not in the applications menu (no {desktop_entry.entry_path()})")
    except DecorLensError as exc:  # a line on stderr, not the window's start-up message box: a script runs this
        note(f"{error_prefix()}{exc}")
        return USER_ERROR
    return 0


def start_failed(exc: BaseException, context: Context, named: Path | None) -> int:
    """The app could not open: its one line on stderr, in the log, and in a message box (staff start the packaged
    app with no terminal, and on Windows it has none: a read-only data folder ended it with no window). ``named``
    is the data folder given, if any: the log goes there when it can be written."""
    line, code = error_line(exc, context)
    note(line)
    routine = getattr(exc, "routine", False)  # "already open": no failure to keep in the log
    log = None if routine else log_error(line, exc, context.data_dir or _usable(named))
    if has_display():
        try:
            from app.main import show_start_error
        except ImportError:  # no [gui] extra: the line above is all there can be
            return code
        show_start_error(line, log, routine)
    return code


def _usable(named: Path | None) -> Path | None:
    """The data folder, or None where it cannot be made (the error may be just that)."""
    try:
        return data_dir(named)
    except OSError:
        return None


def log_errors(log: Path | None) -> None:
    """The window's errors (a worker's bug, an exception in a slot) go to the log the CLI writes, not only to a
    terminal that staff do not have; the file is made at the first error (none: no log, ``log_file``)."""
    if log is None:
        return
    handler = _LogHandler(log, encoding="utf-8", delay=True)
    handler.setLevel(logging.ERROR)
    handler.setFormatter(logging.Formatter("--- %(asctime)s %(name)s\n%(message)s"))
    logging.getLogger().addHandler(handler)
    shown = sys.excepthook

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        logging.getLogger("app").error("unexpected error", exc_info=(kind, exc, tb))
        shown(kind, exc, tb)

    sys.excepthook = excepthook


class _LogHandler(logging.FileHandler):
    """A log file opened as the CLI's is (``open_log``): a FIFO in its place held the window at its first error, and
    a link had the log written wherever it led. One that cannot be opened logs nothing: FileHandler's open raised out
    of the ``logging`` call, into the code reporting the error. A full log is set aside before the next entry, as the
    CLI's is: a window open for weeks met its bug again and again."""

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not None and self.stream.tell() >= LOG_MAX:  # appending: at its end
            full, self.stream = self.stream, None
            full.close()  # opened again below, set aside first
        super().emit(record)

    def _open(self) -> TextIO | None:  # None: FileHandler.emit writes nothing, and tries again at the next error
        try:
            return open_log(Path(self.baseFilename))
        except OSError:
            return None


def has_display() -> bool:
    """On Linux a window needs an X11 or Wayland display, or a Qt platform chosen by hand (offscreen)."""
    return not sys.platform.startswith("linux") or any(os.environ.get(v) for v in DISPLAY_VARIABLES)
