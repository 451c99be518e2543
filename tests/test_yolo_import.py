"""Importing ultralytics replaces ``PIL.Image.open`` for the whole process; ``training.yolo`` puts Pillow's back.

With the replacement, a file that is no photo was no longer "unidentified": ultralytics tried to install pi-heif,
and offline raised ModuleNotFoundError, which the app's thumbnails did not expect (a text file named .jpg ended a
thumbnail's decoding in that error; two tests failed in a full run, after the training tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import needs_ultralytics

needs_ultralytics()
pytest.importorskip("PySide6")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from training.yolo import import_yolo
import_yolo()
from app.thumbnails import decode_fitted
Path("notes.jpg").write_text("a list of products, not a photo")
print("blank tile" if decode_fitted("notes.jpg", 64, 64, 1.0).isNull() else "a picture")
"""


def test_a_file_that_is_no_photo_is_still_a_blank_tile_once_yolo_is_imported(tmp_path: Path):
    """In a process of its own: the test suite's own process has long imported ultralytics."""
    env = {"YOLO_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT)], capture_output=True, text=True, timeout=300,
                         check=False, env=env, cwd=tmp_path)
    said = run.stdout.splitlines()  # ultralytics says it made its settings file first
    assert said and said[-1] == "blank tile", run.stderr[-2000:]
