"""scripts/install's steps, run from the script itself (sourced: it then only defines its functions, and no venv is built
in the checkout) with the checkout's .venv/bin/decorlens and real Pythons, as the script runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FETCH_HINT = "models: run `.venv/bin/decorlens models fetch`"


def _sourced(step: str, cwd: Path, env: dict[str, str], arg: Path) -> subprocess.CompletedProcess:
    """``step`` run after sourcing the script, ``$0`` being ``arg``.

    "; " and not "&&": a script that runs its install when sourced stops at its `cd` into the missing folder of
    ``$0`` (set -e), not building a venv in ``cwd``."""
    return subprocess.run(["/bin/bash", "-c", f"source {ROOT / 'scripts/install'}; {step}", str(arg)],
                          cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120)


def _install_models(data: Path, models_dir: Path | None) -> str:
    """What ``install_models`` prints with no pack folder beside the checkout, for a data dir and models dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECORLENS_")}
    env["DECORLENS_DATA_DIR"] = str(data)
    if models_dir is not None:
        env["DECORLENS_MODELS_DIR"] = str(models_dir)
    proc = _sourced('install_models "$0"', ROOT, env, data / "no-pack")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _old_python() -> Path:
    """A real Python older than 3.11 beside this one (pyenv's versions folder), as Ubuntu 22.04's python3 is."""
    for python in sorted(Path(sys.base_prefix).parent.glob("3.*/bin/python3")):
        version = subprocess.run([python, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                                 capture_output=True, text=True, check=False).stdout.strip()
        if version == "False":
            return python
    pytest.skip("no Python older than 3.11 installed beside this one")


def test_second_run_with_models_in_place_does_not_ask_to_fetch_them(tmp_path: Path, shared_models: Path):
    # a second run, the models fetched since: it said "models: run `… models fetch`" all the same
    assert _install_models(tmp_path / "data", shared_models).startswith("models: in place"), "told to fetch again"
    # a first run with no pack folder and no models: the command that gets them
    assert _install_models(tmp_path / "empty", None).startswith(FETCH_HINT)


def test_python3_older_than_3_11_takes_a_newer_one_or_says_what_to_install(tmp_path: Path):
    """python3 3.10 (Ubuntu 22.04) built a 3.10 venv that pip then refused DecorLens ("requires a different Python"),
    and python3.11 beside it was never used; rerun with python3.11, the venv kept its 3.10 interpreter."""
    old = _old_python()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(old)
    env = {**os.environ, "PATH": str(bin_dir)}
    env.pop("PYTHON", None)
    refused = _sourced("choose_python", tmp_path, env, tmp_path / "missing" / "x")
    assert refused.returncode == 1 and refused.stdout == "", refused
    assert refused.stderr.startswith("DecorLens needs Python 3.11 or newer; python3 here is Python 3."), refused.stderr
    assert "PYTHON=python3.11 scripts/install" in refused.stderr
    (bin_dir / "python3.11").symlink_to(sys.executable)
    chosen = _sourced("choose_python", tmp_path, env, tmp_path / "missing" / "x")
    assert (chosen.returncode, chosen.stdout) == (0, "python3.11\n"), chosen
    # the 3.10 venv an earlier run left is made again with the Python chosen
    subprocess.run([old, "-m", "venv", "--without-pip", tmp_path / ".venv"], check=True)
    remade = _sourced('make_venv "$(choose_python)"', tmp_path, env, tmp_path / "missing" / "x")
    assert remade.returncode == 0, remade.stderr
    assert remade.stdout.startswith("making .venv again with Python 3.1"), remade.stdout
    assert subprocess.run([tmp_path / ".venv/bin/python", "-c", "import sys; sys.exit(sys.version_info < (3, 11))"],
                          check=False).returncode == 0


def test_build_app_makes_its_venv_with_the_python_install_chooses(tmp_path: Path, shared_models: Path):
    """scripts/build-app took python3 as it was: on Ubuntu 22.04 (python3 3.10) it refused to build though python3.11
    stood beside it, where scripts/install and scripts/test chose that one."""
    old = _old_python()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3", "python3.13", "python3.12", "python3.11"):  # shadowing any on the system's PATH
        (bin_dir / name).symlink_to(old)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "PIP_NO_INDEX": "1"}  # pip then stops at once, offline
    env.pop("PYTHON", None)
    command = ["bash", ROOT / "scripts/build-app", "--models-dir", shared_models, "--venv", tmp_path / "venv",
               "--dist", tmp_path / "dist", "--work", tmp_path / "work"]
    refused = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 1 and not (tmp_path / "venv").exists(), refused
    assert "PYTHON=python3.11 scripts/build-app names it" in refused.stderr.splitlines()[-1], refused.stderr
    (bin_dir / "python3.11").unlink()
    (bin_dir / "python3.11").symlink_to(sys.executable)
    subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=300, check=False)
    venv_python = tmp_path / "venv/bin/python"
    assert subprocess.run([venv_python, "-c", "import sys; sys.exit(sys.version_info < (3, 11))"],
                          check=False).returncode == 0
