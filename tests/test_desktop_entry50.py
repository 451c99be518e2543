"""The Linux applications menu entry (engine.desktop_entry): its content, where it is written, removal, the Exec
key's quoting, links refused, an entry left by a moved app folder, and its CLI and Help menu wiring. Every test
writes into a temporary XDG_DATA_HOME and HOME, never the real ones."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from engine import desktop_entry, imageio
from engine.desktop_entry import entry_path, icon_path
from engine.errors import DecorLensError
from engine.paths import resources_dir

pytestmark = pytest.mark.skipif(not desktop_entry.supported(), reason="desktop entries are for Linux desktops")
# Keys the Desktop Entry Specification 1.4 defines for an application; the rest must start with X-
STANDARD_KEYS = {"Type", "Version", "Name", "GenericName", "Comment", "Exec", "TryExec", "Icon", "Terminal",
                 "StartupNotify", "StartupWMClass", "Categories", "MimeType", "Keywords"}


@pytest.fixture(autouse=True)
def xdg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("DECORLENS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "share"


def fields(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def exec_words(value: str) -> list[str]:
    """The Exec key's arguments as a launcher reads them: the string's escapes, then the spec's quoting (strictly:
    an unescaped `` ` ``, ``$`` or ``\\`` inside quotes fails)."""
    value = value.replace("\\\\", "\\")
    words, word, quoted, i = [], None, False, 0
    while i < len(value):
        char = value[i]
        if quoted and char == "\\" and value[i + 1] in '"`$\\':
            word, i = word + value[i + 1], i + 2
            continue
        assert not (quoted and char in "`$\\"), f"{char} must be escaped inside quotes: {value}"
        if char == '"':
            quoted, word = not quoted, word or ""
        elif char == " " and not quoted:
            if word is not None:
                words.append(word)
            word = None
        else:
            word = (word or "") + char
        i += 1
    assert not quoted
    return [*words, *([word] if word is not None else [])]


def test_the_entry_opens_the_photos_the_app_reads_and_validates(xdg_home: Path) -> None:
    program = str(xdg_home.parent / "DecorLens" / "DecorLens")
    written = desktop_entry.install((program,))
    assert written == xdg_home / "applications" / "decorlens.desktop"
    entry = fields(written)
    assert set(entry) - STANDARD_KEYS == {"X-DecorLens-Version", "X-GNOME-SingleWindow"}
    assert entry["Type"] == "Application" and entry["Terminal"] == "false" and entry["Name"] == "DecorLens"
    assert exec_words(entry["Exec"]) == [program, "%F"] and entry["TryExec"] == program
    assert entry["Categories"].startswith("Graphics;") and entry["Categories"].endswith(";")
    assert entry["StartupWMClass"] == "DecorLens" and entry["Icon"] == "decorlens"
    mime = entry["MimeType"].split(";")
    # every format the app decodes (an MPO is a JPEG to a file manager), HEIC included
    assert {Image.MIME[f] for f in imageio.FORMATS if f != "MPO"} | {"image/heic"} <= set(mime)
    assert icon_path().read_bytes() == (resources_dir() / "icons" / "decorlens.svg").read_bytes()
    assert oct(written.stat().st_mode & 0o777) == "0o644"
    if shutil.which("desktop-file-validate"):  # desktop-file-utils, where installed
        checked = subprocess.run(["desktop-file-validate", str(written)], capture_output=True, text=True,
                                 check=False)
        assert checked.returncode == 0 and not checked.stdout, checked.stdout


def test_exec_quotes_a_path_with_spaces_and_reserved_characters(xdg_home: Path) -> None:
    program = str(xdg_home.parent / 'Decor Lens $HOME "v2" `x` \\ it' / "DecorLens")
    entry = fields(desktop_entry.install((program, "gui")))
    assert entry["Exec"].startswith('"') and exec_words(entry["Exec"]) == [program, "gui", "%F"]
    assert desktop_entry.exec_argument("/opt/DecorLens/DecorLens") == "/opt/DecorLens/DecorLens"  # nothing to quote


@pytest.mark.parametrize("name", ["100% cotton", "line\nbreak"])
def test_a_path_no_launcher_can_start_is_refused(xdg_home: Path, name: str) -> None:
    with pytest.raises(DecorLensError, match="move DecorLens to a folder"):
        desktop_entry.install((f"/opt/{name}/DecorLens",))
    assert not entry_path().exists()


def test_remove_takes_the_entry_and_icon_away() -> None:
    desktop_entry.install(("/opt/DecorLens/DecorLens",))
    assert desktop_entry.remove() is True
    assert not entry_path().exists() and not icon_path().exists()
    assert desktop_entry.remove() is False


@pytest.mark.parametrize("which", [entry_path, icon_path])
def test_a_link_in_place_is_refused_and_nothing_is_written_through_it(tmp_path: Path, which) -> None:
    target = tmp_path / "dotfiles" / "kept"
    target.parent.mkdir()
    target.write_text("the user's own\n")
    which().parent.mkdir(parents=True)
    which().symlink_to(target)
    for change in (lambda: desktop_entry.install(("/opt/DecorLens/DecorLens",)), desktop_entry.remove):
        with pytest.raises(DecorLensError, match="a link"):
            change()
        assert which().is_symlink() and target.read_text() == "the user's own\n"


def test_an_entry_decorlens_did_not_write_is_left_alone() -> None:
    entry_path().parent.mkdir(parents=True)
    entry_path().write_text("[Desktop Entry]\nType=Application\nName=My DecorLens\nExec=/home/me/dl.sh %F\n")
    for change in (lambda: desktop_entry.install(("/opt/DecorLens/DecorLens",)), desktop_entry.remove):
        with pytest.raises(DecorLensError, match="did not write"):
            change()
    assert "My DecorLens" in entry_path().read_text()


def test_an_entry_naming_a_moved_app_folder_is_pointed_at_this_copy(tmp_path: Path) -> None:
    old, new = str(tmp_path / "old" / "DecorLens"), str(tmp_path / "new place" / "DecorLens")
    desktop_entry.install((old,))
    line = desktop_entry.refresh((new,))
    assert line is not None and new in line and old in line
    assert fields(entry_path())["TryExec"] == new
    assert desktop_entry.refresh((new,)) is None  # up to date: nothing to say


def test_another_copy_that_exists_keeps_the_entry(tmp_path: Path) -> None:
    other = tmp_path / "other" / "DecorLens"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    desktop_entry.install((str(other),))
    before = entry_path().read_text()
    assert desktop_entry.refresh((str(tmp_path / "this" / "DecorLens"),)) is None
    assert entry_path().read_text() == before


def test_this_copys_entry_from_an_older_version_is_brought_up_to_date() -> None:
    desktop_entry.install(("/opt/DecorLens/DecorLens",))
    old = "".join(line for line in entry_path().read_text().splitlines(True) if not line.startswith("MimeType="))
    entry_path().write_text(old)
    assert desktop_entry.refresh(("/opt/DecorLens/DecorLens",)) is None
    assert "image/heic;" in fields(entry_path())["MimeType"]


def test_the_command_line_installs_and_removes(capsys: pytest.CaptureFixture[str]) -> None:
    from decorlens.frozen import frozen_entry
    from decorlens.main import main

    assert frozen_entry(["--install-desktop-entry"]) == 0  # DecorLens --install-desktop-entry, as staff type it
    assert fields(entry_path())["TryExec"] == desktop_entry.launcher()[0]
    assert "applications menu now" in capsys.readouterr().err
    assert main(["gui", "--remove-desktop-entry"]) == 0
    assert not entry_path().exists()


def test_the_window_is_grouped_under_the_entry_and_help_adds_it(main_window, pipeline) -> None:
    from app.main import application

    assert application().desktopFileName() == desktop_entry.DESKTOP_ID  # Wayland's app id is the entry's name
    window = main_window(pipeline)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    keys = [a.text().split("&")[1][:1].lower() for a in help_menu.actions() if "&" in a.text()]
    assert len(keys) == len(set(keys)) == 5  # Alt+H then one key each: About has A
    window.menu_entry_action.trigger()
    assert desktop_entry.installed_here() and "applications menu now" in window.message.text.text()
    window.menu_entry_action.trigger()
    assert not entry_path().exists() and "no longer" in window.message.text.text()
    assert os.environ["XDG_DATA_HOME"] in str(entry_path())


def test_no_launch_feedback_is_asked_for():
    """With StartupNotify=true, each photo opened with DecorLens while its window was open left the launcher's busy
    cursor up until the desktop gave up: the copy started for it hands the photo over and quits without a window,
    so nothing ends the start-up the desktop waits for."""
    assert fields(desktop_entry.install())["StartupNotify"] == "false"
