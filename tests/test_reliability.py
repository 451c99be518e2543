"""Reliability: ``kill -9`` during real writes (import, embedder switch, index saves) loses nothing.

A small run of ``bench/kill_test.py`` (the full one, 50+ kills, is in docs/reliability.md): real
child processes, real SQLite and hnswlib files, real IKEA product photos and the real embedders.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench.kill_test import kill_test


def test_kills_during_writes_lose_no_product_and_leave_a_searchable_index(tmp_path: Path, ikea: Path):
    figures = kill_test(tmp_path / "kill", ikea, kills=5, per_round=8, seed=1)
    assert sum(figures.kills.values()) >= 1 and figures.completed["import"] >= 1
    assert figures.child_errors == []
    assert figures.integrity_failures == 0
    assert figures.products_lost == 0 and figures.partial_imports == 0
    assert figures.products_without_vector == 0 and figures.partial_reembeds == 0
    assert figures.search_failures == 0
    assert figures.products_end >= 8


# -- two writers of config.yaml -----------------------------------------------------------------

_ACTIVATE = ("import sys, pathlib; from engine.settings import save_choice; print('ready', flush=True); "
             "save_choice(pathlib.Path(sys.argv[1]), 'embedder', ['new.onnx'])")


def test_two_writers_of_the_settings_keep_both_choices(tmp_path: Path):
    """`models activate` while the app saved its settings: each wrote the config.yaml it had read, and the
    first write was lost. The test is the other writer, holding the lock between its read and its write."""
    from engine.files import exclusive
    from engine.settings import CONFIG_FILE, CONFIG_LOCK, save_choice

    data = tmp_path / "data"
    data.mkdir()
    save_choice(data, "detectors", [["old.onnx"]])
    with exclusive(data / CONFIG_LOCK):
        child = subprocess.Popen([sys.executable, "-c", _ACTIVATE, str(data)], stdout=subprocess.PIPE,
                                 text=True, cwd=Path(__file__).resolve().parent.parent)
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=3)  # it waits for the lock, and does not write what it would read now
        (data / CONFIG_FILE).write_text(yaml.safe_dump({"detectors": [["new.onnx"]]}))
    assert child.wait(timeout=120) == 0
    both = {"detectors": [["new.onnx"]], "embedder": ["new.onnx"]}
    assert yaml.safe_load((data / CONFIG_FILE).read_text()) == both


def test_a_planted_lock_file_is_refused_and_what_it_points_at_is_kept(tmp_path: Path, capsys, shared_models: Path):
    """The lock files were opened as "wb": a `.config-lock` (or a root install's `.install.lock`) planted as a
    symlink emptied the file it pointed at, and `models activate` still said it was done."""
    import os

    from decorlens.main import main
    from engine.settings import CONFIG_LOCK

    data = tmp_path / "data"
    data.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (data / CONFIG_LOCK).symlink_to(victim)
    models = shared_models
    code = main(["--data-dir", str(data), "--models-dir", str(models), "models", "activate",
                 "effnet_lite0_gem.onnx"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and victim.read_text() == "precious"
    assert err.endswith(f"{data / CONFIG_LOCK}: a symbolic link, not the lock file DecorLens makes; remove it")
    assert "\n" not in err
    (data / CONFIG_LOCK).unlink()
    os.mkfifo(data / CONFIG_LOCK)  # refused, not waited on
    assert main(["--data-dir", str(data), "--models-dir", str(models), "models", "activate",
                 "effnet_lite0_gem.onnx"]) != 0
    assert "a FIFO (named pipe), not the lock file" in capsys.readouterr().err


# -- .pt files are pickles: ours load as plain data, others only with consent -----------------------


class _SideEffect:
    """Unpickling this touches a file: the harmless stand-in for code a hostile .pt would run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_checkpoint_that_runs_code_on_load_is_refused(tmp_path: Path):
    torch = pytest.importorskip("torch")
    from engine.errors import ModelError
    from training.weights import load_plain

    marker = tmp_path / "ran"
    torch.save({"model": {"w": torch.ones(2)}, "state": _SideEffect(marker)}, tmp_path / "last.pt")
    with pytest.raises(ModelError, match="asks to run code"):
        load_plain(tmp_path / "last.pt", "training checkpoint")
    assert not marker.exists()
    (tmp_path / "junk.pt").write_bytes(b"\x80\x02junk" * 50)
    with pytest.raises(ModelError, match="not a readable"):
        load_plain(tmp_path / "junk.pt")
    torch.save({"model": {"w": torch.ones(2)}, "state": {"epoch": 3, "history": [{"loss": 0.5}]}}, tmp_path / "ok.pt")
    assert load_plain(tmp_path / "ok.pt")["state"]["epoch"] == 3


def test_models_export_refuses_a_pt_from_outside_the_models_folders(tmp_path: Path, capsys):
    pytest.importorskip("torch")
    from decorlens.main import main

    marker = tmp_path / "ran"
    downloaded = tmp_path / "Downloads" / "yolo-from-a-forum.pt"
    downloaded.parent.mkdir()
    downloaded.write_bytes(pickle.dumps(_SideEffect(marker)))
    args = ["--data-dir", str(tmp_path / "data"), "models", "export", str(downloaded), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--trust-pt" in err[0] and "can run any code" in err[0]
    assert not marker.exists() and not (tmp_path / "o").exists()


def test_pt_consent_rules(tmp_path: Path):
    pytest.importorskip("torch")
    from engine.errors import ModelError
    from training.weights import pickle_consent

    models = tmp_path / "models"
    inside, outside = models / "yolo.pt", tmp_path / "elsewhere" / "yolo.pt"
    assert "can run any code" in pickle_consent(inside, False, [models])  # warned, allowed
    assert "can run any code" in pickle_consent(outside, True, [models])  # --trust-pt
    with pytest.raises(ModelError, match="--trust-pt"):
        pickle_consent(outside, False, [models])
    with pytest.raises(ModelError, match="--trust-pt"):
        pickle_consent(models / ".." / "elsewhere" / "yolo.pt", False, [models])
    for other in (models / "yolo11n-ovint8-dq.onnx", tmp_path / "photo.jpg"):  # an unexpected TypeError later
        with pytest.raises(ModelError, match="is not a .pt weights file"):
            pickle_consent(other, True, [models])
