"""A store's catalog bundle of two IKEA lamps, made with the CLI in this process, for the hostile-input reviews."""

from __future__ import annotations

import contextlib
import gc
import io
import shutil
from pathlib import Path

from decorlens.main import main


def run_cli(data: Path, models: Path, *args: str) -> tuple[int, str, str]:
    """``decorlens ARGS`` in this process: (exit code, stdout, stderr). Each command is a process of its own for a
    user; here the catalog a command's pipeline left open (in a reference cycle) is closed first, or an import found
    it in use."""
    gc.collect()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["--data-dir", str(data), "--models-dir", str(models), "-q", *args])
    return code, out.getvalue(), err.getvalue()


def export_lamp_shop(work: Path, models: Path, ikea: Path) -> Path:
    """``work/shop.dlcat``: two IKEA lamps imported into ``work/store`` and exported as ``bundle export`` writes it."""
    (work / "products" / "lamp").mkdir(parents=True)
    for photo in sorted((ikea / "products" / "lamp").glob("*.jpg"))[:2]:
        shutil.copy(photo, work / "products" / "lamp")
    assert run_cli(work / "store", models, "catalog", "import", str(work / "products"))[0] == 0
    assert run_cli(work / "store", models, "bundle", "export", str(work / "shop.dlcat"))[0] == 0
    return work / "shop.dlcat"
