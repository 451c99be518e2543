"""scripts/install's model-pack step, run from the script itself (sourced, so no venv is built) with the checkout's
.venv/bin/decorlens, as the script runs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FETCH_HINT = "models: run `.venv/bin/decorlens models fetch`"


def _install_models(data: Path, models_dir: Path | None) -> str:
    """What ``install_models`` prints with no pack folder beside the checkout, for a data dir and models dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECORLENS_")}
    env["DECORLENS_DATA_DIR"] = str(data)
    if models_dir is not None:
        env["DECORLENS_MODELS_DIR"] = str(models_dir)
    # "; " and not "&&": a script that runs its install when sourced stops at its `cd` into the missing folder of
    # "$0" (set -e), not building a venv in the checkout
    proc = subprocess.run(["bash", "-c", 'source scripts/install; install_models "$0"', str(data / "no-pack")],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120)
    return proc.stdout


def test_second_run_with_models_in_place_does_not_ask_to_fetch_them(tmp_path: Path, shared_models: Path):
    # a second run, the models fetched since: it said "models: run `… models fetch`" all the same
    assert _install_models(tmp_path / "data", shared_models).startswith("models: in place"), "told to fetch again"
    # a first run with no pack folder and no models: the command that gets them
    assert _install_models(tmp_path / "empty", None).startswith(FETCH_HINT)
