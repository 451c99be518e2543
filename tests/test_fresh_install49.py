"""What a new user met following the README on a fresh clone (session 49's walk), held to what was fixed:

- the README's IKEA import took the products folder, which names every product by its article number, while the
  tests and the screenshots import its ``products.csv`` (STOCKSUND, FABRINA…);
- ``scripts/test`` made its venv with whatever ``python3`` was, though the README promises 3.11 or newer, chosen as
  ``scripts/install`` chooses it; ``scripts/install --help`` (or a typo of ``--train``) ran the plain install;
- a USB stick holding the model pack in a folder of its own was "no model pack folder", and the setup page's
  Download, offline, said "could not reach github.com ([Errno -2] Name or service not known)" and no more;
- the README's list of extras left two out, and the user guide named a `decorlens photo.jpg` the CLI refuses.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

from test_install_script import ROOT, _old_python  # tests/ is on sys.path
from test_modelpack import _closed_port, assert_installed, pack_source
from test_readme_commands import _subcommands

from decorlens.main import build_parser, main
from engine.importer import read_source

README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "app.md"
IMPORT_LINE = re.compile(r"^\.venv/bin/decorlens catalog import (.+)$", re.MULTILINE)


def test_the_readmes_ikea_import_names_its_products(ikea: Path):
    """The first-try catalog of "On a fresh machine", "the IKEA catalog that the tests use": its products have names,
    as the README's screenshot shows."""
    found = IMPORT_LINE.findall(README.read_text(encoding="utf-8"))
    assert len(found) == 1, found
    feed = ROOT / shlex.split(found[0])[0]  # the README's paths are the checkout's
    assert feed.resolve() == (ikea / "products.csv").resolve()
    rows = read_source(feed)
    assert len(rows) == 1955
    unnamed = [row.sku for row in rows if row.name in ("", row.sku)]
    assert unnamed == [], f"{len(unnamed)} products named by their SKU, e.g. {unnamed[:3]}"


def test_scripts_test_refuses_a_python_older_than_3_11_before_making_a_venv(tmp_path: Path):
    """``scripts/test`` ran ``python3 -m venv .venv``: with Ubuntu 22.04's python3 (3.10) it built a 3.10 venv and
    failed in pip with "requires a different Python"; it now takes its Python as ``scripts/install`` does."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    for script in ("test", "install"):
        shutil.copy2(ROOT / "scripts" / script, checkout / "scripts" / script)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(_old_python())
    for tool in ("dirname", "uname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "PIP_NO_INDEX": "1"}  # never a download, whatever runs
    done = subprocess.run(["/bin/bash", str(checkout / "scripts" / "test")], env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    assert done.returncode == 1, done
    assert done.stderr.startswith("DecorLens needs Python 3.11 or newer; python3 here is Python 3."), done.stderr
    assert not (checkout / ".venv").exists()


def test_the_pack_is_fetched_from_the_folder_a_usb_stick_holds_it_in(tmp_path: Path, shared_models: Path,
                                                                    capsys):
    """The setup page's *Get models from a folder…* and ``models fetch --from`` given the stick, not its pack folder:
    "yolo11n-ovint8-dq.onnx is not in the model pack folder …/stick; copy the whole pack folder"."""
    stick = tmp_path / "stick"
    (stick / "holiday photos").mkdir(parents=True)
    pack_source(stick, shared_models)  # stick/source, beside another folder
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "models", "fetch", "--from", str(stick)]) == 0, capsys.readouterr().err
    assert_installed(data / "models")


def test_scripts_install_answers_help_and_refuses_an_unknown_option(tmp_path: Path):
    """``scripts/install --help`` (or ``--trian``) ran the whole plain install: any word but ``--train`` was ignored."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "install", checkout / "scripts" / "install")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(checkout / "scripts" / "install"), *args], capture_output=True, text=True,
                              check=False, timeout=60)

    helped = run("--help")
    assert helped.returncode == 0 and "`scripts/install --train` adds training" in helped.stdout, helped
    assert "PYTHON=" in helped.stdout and not helped.stdout.startswith(("#", "!"))
    refused = run("--trian")
    assert refused.returncode == 2 and refused.stdout == "", refused
    assert refused.stderr == ("scripts/install: unknown option '--trian': it takes --train or nothing "
                              "(scripts/install --help)\n")
    assert sorted(p.name for p in checkout.iterdir()) == ["scripts"]  # no .venv made


def test_the_setup_pages_download_offline_says_to_get_the_pack_from_a_folder(qtbot, tmp_path: Path, qapp):
    """The CLI's line went on "copy the pack folder to this machine and run `decorlens models fetch --from DIR`"; the
    page, where staff have no command line, stopped at the unreachable host."""
    from app.widgets.setup_page import SetupPage
    from app.workers import Runner

    page = SetupPage(Runner(1, qapp), lambda: tmp_path / "models")
    qtbot.addWidget(page)
    page.download_url = f"http://127.0.0.1:{_closed_port()}/pack/"  # refused, as a computer offline is
    page.download.click()
    assert not page.download.isEnabled()  # while it tries
    qtbot.waitUntil(page.download.isEnabled, timeout=30_000)
    said = page.status.text()
    assert said.startswith("could not reach 127.0.0.1:") and "decorlens" not in said, said
    assert said.endswith("; copy the model pack folder to this computer (a USB stick, a network share), then choose "
                         f"{page.from_folder.text()}"), said


def test_the_readme_names_every_extra():
    """Its list of extras left out ``[map]`` (the catalog map without the app) and ``[build]`` (the packaged app)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    listed = next(line for line in README.read_text(encoding="utf-8").split("\n- ") if line.startswith("Extras:"))
    assert [name for name in extras if f"`[{name}]`" not in listed] == []


def test_every_command_the_user_guide_names_is_one():
    """The guide said `decorlens photo.jpg` hands a photo to the open window; the CLI answers that it is not a command
    (``decorlens gui photo.jpg`` is; the packaged app's ``DecorLens photo.jpg`` opens it)."""
    commands = set(_subcommands(build_parser()))
    named = [span for span in re.findall(r"`decorlens ([^`\n]+)`", GUIDE.read_text(encoding="utf-8"))
             if span != "…" and not span.startswith("-")]
    assert len(named) > 20
    assert [span for span in named if span.split()[0] not in commands] == []
