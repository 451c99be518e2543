"""Session 50's walk of the command line as a script runs it (a cron job, a CI job feeding a catalog): stdout closed
or full, stderr closed or gone, an output encoding without the catalog's letters. Each runs ``python -m decorlens``
as a child, its streams set up as a shell would, over a catalog of two products, one named outside ASCII."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from decorlens.errors import USER_ERROR
from decorlens.main import main

resource = pytest.importorskip("resource")  # POSIX shells' redirections, on POSIX

ROOT = Path(__file__).resolve().parent.parent
NAME = "Sköld – Läslampa 北欧"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, ikea: Path, ikea_products: list[dict[str, str]]) -> Path:
    """A folder holding ``feed.csv`` (two IKEA armchairs, the first named ``NAME``) and ``data``, its catalog."""
    root = tmp_path_factory.mktemp("scripting50")
    rows = [r for r in ikea_products if r["category"] == "armchair"][:2]
    with open(root / "feed.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "name", "category", "image"])
        for row, name in zip(rows, (NAME, rows[1]["name"]), strict=True):
            writer.writerow([row["product_id"], name, "armchair", str(ikea / row["image"])])
    assert main(["-q", "--data-dir", str(root / "data"), "catalog", "import", str(root / "feed.csv")]) == 0
    return root


def _decorlens(data: Path, *args: str, **how: object) -> subprocess.CompletedProcess[str]:
    """``decorlens --data-dir DATA ARGS`` as a child; ``how``: its streams, environment, ``preexec_fn``."""
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **how}
    return subprocess.run([sys.executable, "-m", "decorlens", "--data-dir", str(data), *args], check=False,
                          text=True, cwd=ROOT, timeout=300, **streams)


def _stdout_closed() -> None:
    os.close(1)  # `>&-`


def _files_of_16_bytes() -> None:
    """The child may write 16 bytes a file, as on a full disk: a longer write fails (EFBIG, not a signal)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))


def _reader_gone() -> int:
    """The writing end of a pipe whose reader has closed (``2> >(exit)``): a write to it fails with EPIPE."""
    read, write = os.pipe()
    os.close(read)
    return write


def test_a_closed_stdout_is_refused_before_the_import_runs(shop: Path, tmp_path: Path):
    """``decorlens catalog import feed.csv >&-`` imported the feed, then ended in "unexpected AttributeError" with
    a traceback in the log, exit 1: now one line saying so, exit 2, and nothing was done."""
    data = tmp_path / "data"
    done = _decorlens(data, "catalog", "import", str(shop / "feed.csv"), stdout=None, preexec_fn=_stdout_closed)
    assert done.returncode == USER_ERROR
    assert done.stderr == "decorlens: error: stdout is closed (>&-); send it to a file, or to /dev/null to drop it\n"
    assert not (data / "catalog.sqlite").exists()


def test_a_full_stdout_is_named_as_the_output_not_the_input(tmp_path: Path):
    """``decorlens models list --json > file`` on a full disk blamed "the input"."""
    with open(tmp_path / "models.json", "w") as out:
        done = _decorlens(tmp_path / "data", "models", "list", "--json", stdout=out, preexec_fn=_files_of_16_bytes)
    assert done.returncode == USER_ERROR
    assert done.stderr == "decorlens: error: stdout: File too large\n"


def test_a_closed_stderr_keeps_the_import_running_and_json_pure(shop: Path):
    """``2>&-``: the import's progress bar asked the missing stderr whether it was a terminal (AttributeError), and
    the notes and error lines fell back to stdout, "only the first 1 product shown" inside ``--json``'s JSON."""
    data = shop / "data"
    imported = _decorlens(data, "catalog", "import", str(shop / "feed.csv"), stderr=subprocess.DEVNULL,
                          preexec_fn=lambda: os.close(2))
    assert (imported.returncode, imported.stdout) == (0, "2 unchanged; catalog has 2 products\n")
    listed = _decorlens(data, "catalog", "list", "--json", "--limit", "1", stderr=None, preexec_fn=lambda: os.close(2))
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 1


def test_a_stderr_nobody_reads_loses_the_notes_not_the_results(shop: Path):
    """A note to a stderr whose reader is gone ended ``catalog list`` before its rows (exit 141, as if stdout's
    reader had left); an error line there ended in a traceback that could not be printed either, exit 1."""
    stderr = _reader_gone()
    try:
        listed = _decorlens(shop / "data", "catalog", "list", "--limit", "1", stderr=stderr)
        missing = _decorlens(shop / "data", "catalog", "show", "NO-SUCH-SKU", stderr=stderr)
    finally:
        os.close(stderr)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 1
    assert (missing.returncode, missing.stdout) == (USER_ERROR, "")


def test_an_ascii_stdout_escapes_the_names_it_cannot_write(shop: Path):
    """``PYTHONIOENCODING=ascii`` (or a Windows file in cp1252) ended every listing of "Sköld – Läslampa 北欧", and
    ``tag --help`` (its "→"), in "the input: not UTF-8 text; save it again as UTF-8": now the letters it lacks are
    written ``\\u00f6``, which ``--json`` reads back as the name."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    listed = _decorlens(shop / "data", "catalog", "list", "--json", env=env)
    assert listed.returncode == 0 and listed.stdout.isascii()
    assert NAME in [product["name"] for product in json.loads(listed.stdout)]
    shown = _decorlens(shop / "data", "catalog", "list", env=env)
    assert shown.returncode == 0 and "Sk\\u00f6ld \\u2013 L\\u00e4slampa \\u5317\\u6b27" in shown.stdout
    helped = _decorlens(shop / "data", "tag", "--help", env=env)
    assert helped.returncode == 0 and "\\u2192" in helped.stdout


def test_a_folder_named_with_a_line_break_stays_on_its_line(shop: Path, tmp_path: Path, scene_path):
    """``tag --out`` into a folder named "out⏎x" printed its summary's path over two lines (a script reading the
    path from the line got "x/summary.csv"), as ``catalog stats`` did a data folder so named."""
    out = tmp_path / "out\nx"
    tagged = _decorlens(shop / "data", "-q", "tag", str(scene_path("sofa-by-day")), "--out", str(out))
    assert tagged.returncode == 0 and tagged.stdout.endswith(f"→ {tmp_path}/out\\u000ax/summary.csv\n")
    assert len(tagged.stdout.splitlines()) == 1 and (out / "summary.csv").is_file()
    stats = _decorlens(tmp_path / "new\ndata", "catalog", "stats")
    assert stats.stdout.splitlines()[0].endswith("new\\u000adata/catalog.sqlite)")


def test_a_tilde_the_shell_left_is_the_home_folder(shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """bash leaves the ``~`` of ``--out=~/tagged`` and of a quoted path or a script's variable: ``bundle export
    "~/shop.dlcat"`` wrote a new folder named ``~`` in the current one, as ``tag --out=~/tagged`` did, while
    ``catalog import`` and ``--data-dir`` took ``~`` for the home folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "--data-dir", str(shop / "data"), "bundle", "export", "~/shop.dlcat"]) == 0
    assert (home / "shop.dlcat").is_file() and not (tmp_path / "~").exists()


def test_the_apps_window_starts_without_a_stdout(monkeypatch: pytest.MonkeyPatch):
    """``decorlens gui`` from a launcher without a console (``pythonw``) has no stdout either: the refusal of a closed
    one is for the commands that report there, not for the window, which prints nothing."""
    from decorlens.terminal import OutputFailed, escaped

    monkeypatch.setattr(sys, "stdout", None)
    ran = []
    with escaped("stdout", needed=False):
        ran.append(True)
    assert ran == [True]
    with pytest.raises(OutputFailed), escaped("stdout"):
        ran.append(False)
    assert ran == [True]


def test_a_line_separator_in_a_name_keeps_its_row_one_line(tmp_path: Path, ikea: Path, ikea_products):
    """A feed's name holding U+2028 (a line separator, as text pasted from a web page may carry) made its ``catalog
    list`` row two lines to a script splitting the output with ``str.splitlines``; now ``\\u2028``, which ``--json``
    reads back as the name."""
    row = next(r for r in ikea_products if r["category"] == "armchair")
    feed = tmp_path / "feed.csv"
    feed.write_text(f"sku,name,category,image\nLS-1,Line\u2028Sep,armchair,{ikea / row['image']}\n", encoding="utf-8")
    data = tmp_path / "data"
    assert main(["-q", "--data-dir", str(data), "catalog", "import", str(feed)]) == 0
    listed = _decorlens(data, "catalog", "list")
    assert listed.stdout.splitlines() == [listed.stdout.rstrip("\n")] and "Line\\u2028Sep" in listed.stdout
    assert json.loads(_decorlens(data, "catalog", "list", "--json").stdout)[0]["name"] == "Line\u2028Sep"
