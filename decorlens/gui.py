"""``decorlens gui`` (and ``decorlens`` alone): open the desktop app."""

from __future__ import annotations

import argparse
import os
import sys

from decorlens.progress import note

DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default with no command)")
    p.add_argument("files", nargs="*", metavar="PHOTO_OR_FOLDER", help="photos, or folders of them, to open")
    p.set_defaults(run=run)


# Global options the app does not take: its windows rebuild their engine from the data dir's config.yaml and
# Settings (app.settings.AppSettings.engine_settings), where these are chosen instead; they were dropped.
SETTINGS_INSTEAD = (("--device", "device", "Edit ▸ Settings ▸ Run the models on"),
                    ("--embedder", "embedder", "Edit ▸ Settings ▸ Advanced ▸ Embedder"),
                    ("--detector", "detector", "Edit ▸ Settings ▸ Advanced ▸ Detectors"))


def run(args: argparse.Namespace, _pipeline: object) -> int:
    for option, dest, where in SETTINGS_INSTEAD:
        if getattr(args, dest, None):
            note(f"decorlens: error: the desktop app does not take {option}: choose it in {where} "
                 f"(it is for commands, e.g. `decorlens {option} … search PHOTO`)")
            return 2
    if not has_display():
        # Without this, Qt aborts (exit 134) with a message about xcb plugins that helps nobody on SSH.
        note("decorlens: error: no display here (DISPLAY and WAYLAND_DISPLAY are unset), so no window can "
             "open; search from the command line: `decorlens search PHOTO`")
        return 2
    try:
        from app.main import launch
    except ImportError as exc:
        note(f"decorlens: error: the desktop app needs the [gui] extra ({exc.name} is missing): "
             "pip install -e '.[gui]'")
        return 2
    return launch(getattr(args, "files", []), data_dir=args.data_dir, models_dir=args.models_dir)


def has_display() -> bool:
    """On Linux a window needs an X11 or Wayland display, or a Qt platform chosen by hand (offscreen)."""
    return not sys.platform.startswith("linux") or any(os.environ.get(v) for v in DISPLAY_VARIABLES)
