"""Which files the app opens, and where a pasted image goes.

Kept out of Qt code so the same rules apply to File ▸ Open Folder, drag-and-drop and the batch dialog.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from engine.batch import expand_scenes
from engine.files import write_atomic
from engine.importer import IMAGE_SUFFIXES

PASTED = "pasted"


def scene_files(inputs: Iterable[str | os.PathLike[str]], leave_out: Path | None = None) -> list[Path]:
    """Images among files and folders (recursively), in a stable order; other files are ignored, and so is
    ``leave_out`` (a batch's output folder) with all below it."""
    return [p for p in expand_scenes(inputs, leave_out) if p.suffix.lower() in IMAGE_SUFFIXES]


def save_pasted(data_dir: Path, png: bytes) -> Path:
    """Keep a pasted image as a file: results and corrections refer to scenes by path."""
    folder = data_dir / PASTED
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pasted-{datetime.now():%Y%m%d-%H%M%S-%f}.png"
    write_atomic(path, png)
    return path
