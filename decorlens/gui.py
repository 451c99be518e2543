"""``decorlens gui`` (and ``decorlens`` alone): open the desktop app."""

from __future__ import annotations

import argparse

from decorlens.progress import note


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default with no command)")
    p.add_argument("files", nargs="*", help="photos to open")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, _pipeline: object) -> int:
    try:
        from app.main import launch
    except ImportError as exc:
        note(f"decorlens: error: the desktop app needs the [gui] extra ({exc.name} is missing): "
             "pip install -e '.[gui]'")
        return 2
    return launch(getattr(args, "files", []), data_dir=args.data_dir, models_dir=args.models_dir)
