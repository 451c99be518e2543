"""DecorLens in a Linux desktop's applications menu, dock and Open With: a freedesktop desktop entry and its icon.

The packaged app is a folder from a tarball, which no package manager registers: staff had no menu entry, no icon
grouping its windows, and no DecorLens under a photo's Open With. ``install`` writes, for this user only,
``$XDG_DATA_HOME/applications/decorlens.desktop`` (Desktop Entry Specification 1.4) starting this copy of the app,
and the icon as ``$XDG_DATA_HOME/icons/hicolor/scalable/apps/decorlens.svg``; ``remove`` takes both away. The app
offers both in Help (``app.main_window``) and on its command line (``decorlens gui --install-desktop-entry``), and
``refresh`` at each start points an entry at this copy where the one it named is gone (the folder moved). An entry
whose program was deleted is hidden by the desktop itself (``TryExec``). No Qt here: the command line writes it too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from engine import __version__
from engine.errors import DecorLensError
from engine.files import open_regular, write_atomic
from engine.paths import resources_dir

DESKTOP_ID = "decorlens"  # the entry's file name and the Wayland app id (``app.main.application``): they must match
WM_CLASS = "DecorLens"  # the X11 class Qt gives the windows: the application name (app.settings.APPLICATION)
MARK = "X-DecorLens-Version"  # an entry DecorLens wrote (only those are replaced or removed)
# What engine.imageio decodes (FORMATS), as shared-mime-info names them: the photos Open With offers DecorLens for.
# Folders (inode/directory) are left out: the app opens them, but a file manager may then make it their default.
MIME_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff", "image/avif",
              "image/heic", "image/heif", "image/apng")
KEYWORDS = ("shop the look", "furniture", "decor", "interior", "room", "catalog", "product", "tag", "photo")
# Characters the Exec key's quoting rules reserve: an argument holding one goes in double quotes
EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
UNFIT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")  # no desktop entry can hold these in a path
TOOL_SECONDS = 10  # update-desktop-database on a slow disk: the entry works without it
MAX_ENTRY_BYTES = 1 << 20  # an entry is about 1 KB, one translated into every language some tens of KB


def supported() -> bool:
    """Desktop entries are the freedesktop desktops' (Linux); Windows and macOS have installers and .app bundles."""
    return sys.platform.startswith("linux")


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` where it is unset or relative (the Base Directory spec ignores it
    then)."""
    chosen = os.environ.get("XDG_DATA_HOME", "")
    return Path(chosen) if os.path.isabs(chosen) else Path.home() / ".local" / "share"


def entry_path() -> Path:
    return data_home() / "applications" / f"{DESKTOP_ID}.desktop"


def icon_path() -> Path:
    return data_home() / "icons" / "hicolor" / "scalable" / "apps" / f"{DESKTOP_ID}.svg"


def launcher() -> tuple[str, ...]:
    """The command that opens this copy's window, before the photos: the packaged app's executable, or in a Python
    install its ``decorlens gui`` (the venv's script, so the entry needs no activated venv), else the interpreter's
    ``-m decorlens gui`` (a checkout run without installing)."""
    if getattr(sys, "frozen", False):
        return (os.path.abspath(sys.executable),)
    script = Path(os.path.abspath(sys.executable)).with_name("decorlens")
    if script.is_file() and os.access(script, os.X_OK):
        return (str(script), "gui")
    return (os.path.abspath(sys.executable), "-m", "decorlens", "gui")


def exec_argument(argument: str) -> str:
    """One argument as the Exec key's rules write it: quoted where it holds a reserved character, ``"`` `` ` ``
    ``$`` and ``\\`` escaped inside the quotes. The string escaping of the whole value (``\\`` doubled again) is
    ``_escaped``'s; a ``%`` is refused by ``entry_text``."""
    if argument and not EXEC_RESERVED.intersection(argument):
        return argument
    return '"' + re.sub(r'([`"$\\])', r"\\\1", argument) + '"'


def entry_text(command: tuple[str, ...]) -> str:
    """The desktop entry starting ``command`` with the photos chosen (``%F``)."""
    for part in command:
        if UNFIT.search(part):
            raise DecorLensError(f"{_shown(part)}: a control character or a byte that is not UTF-8 in the app's path "
                                 "cannot go in a desktop entry; move DecorLens to a folder with a plain name")
        if "%" in part:  # the spec's %% is right, but GLib looks for a program named with the %% and hides the entry
            raise DecorLensError(f"{part}: GNOME cannot start an app whose path holds a %; move DecorLens to a "
                                 "folder without one")
    exec_line = " ".join(exec_argument(part) for part in command) + " %F"
    fields = {
        "Type": "Application",
        "Version": "1.4",  # 1.5's SingleMainWindow fails the validator of Debian 12 (desktop-file-utils 0.26)
        "Name": "DecorLens",
        "GenericName": "Room Photo Tagger",
        "Comment": "Find the furniture and decor in room photos and match it to your catalog",
        "Exec": exec_line,
        "TryExec": command[0],
        "Icon": DESKTOP_ID,
        "Terminal": "false",
        # No launch feedback: a photo opened with DecorLens goes to the window already open (app.single_instance),
        # whose start-up ended long ago, and the copy started for it quits without a window; the launcher's busy
        # cursor then stayed until the desktop gave up on it (15 s and more), each photo sent to the app.
        "StartupNotify": "false",
        "StartupWMClass": WM_CLASS,
        "X-GNOME-SingleWindow": "true",  # one window per data folder: no "New Window" in the dock
        "Categories": "Graphics;Photography;",
        "MimeType": "".join(f"{mime};" for mime in MIME_TYPES),
        "Keywords": "".join(f"{word};" for word in KEYWORDS),
        MARK: __version__,
    }
    return "[Desktop Entry]\n" + "".join(f"{key}={_escaped(value)}\n" for key, value in fields.items())


def install(command: tuple[str, ...] | None = None) -> Path:
    """Write the entry starting ``command`` (this copy's ``launcher``) and the icon, each atomically; return the
    entry's path. A link in either place is refused (a dotfiles manager's, or planted to have this write elsewhere),
    as is an entry of the same name DecorLens did not write."""
    _check_platform()
    entry, icon = entry_path(), icon_path()
    text = entry_text(command or launcher())
    for path in (entry, icon):
        _check_own(path, must_be_ours=path == entry)
    try:
        icon_bytes = (resources_dir() / "icons" / f"{DESKTOP_ID}.svg").read_bytes()
        for path, data in ((icon, icon_bytes), (entry, text)):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
    except OSError as exc:
        raise DecorLensError(_os_words("cannot add DecorLens to the applications menu", exc)) from exc
    _caches_changed(entry.parent, icon)
    return entry


def remove() -> bool:
    """Take DecorLens's entry and icon away; False where there was no entry to remove."""
    _check_platform()
    entry, icon = entry_path(), icon_path()
    for path in (entry, icon):
        _check_own(path, must_be_ours=path == entry)
    if not entry.exists():
        return False
    try:
        entry.unlink()
        icon.unlink(missing_ok=True)
    except OSError as exc:
        raise DecorLensError(_os_words("cannot remove DecorLens from the applications menu", exc)) from exc
    _caches_changed(entry.parent, icon)
    return True


def installed_program() -> str | None:
    """The program DecorLens's entry starts (its TryExec), or None where there is no entry of DecorLens's."""
    fields = _read(entry_path())
    return fields.get("TryExec") if fields is not None and MARK in fields else None


def worth_offering() -> bool:
    """Whether the app's first page offers the entry: the packaged app on Linux with no entry of DecorLens's yet (a
    Python install is started from its shell; an entry of another copy is one the user chose)."""
    return supported() and getattr(sys, "frozen", False) and installed_program() is None


def installed_here() -> bool:
    """Whether the applications menu's DecorLens is this copy (Help then offers to remove it, else to add it)."""
    return supported() and installed_program() == launcher()[0]


def refresh(command: tuple[str, ...] | None = None) -> str | None:
    """At start: an entry of DecorLens's whose program is gone (the app's folder was moved or renamed) now starts
    this copy, and one of this copy's written by another version is brought up to date. Returns the line to tell
    the user, or None where nothing changed; an entry of another copy that still exists is left alone. Raises
    DecorLensError where the stale entry cannot be rewritten."""
    if not supported():
        return None
    command = command or launcher()
    program = installed_program()
    if program is None or (program != command[0] and os.path.exists(program)):
        return None
    if program == command[0] and _read_text(entry_path()) == entry_text(command) and icon_path().is_file():
        return None
    install(command)
    if program == command[0]:
        return None  # the same copy, a newer entry: nothing the user needs to hear
    return f"The applications menu's DecorLens now starts {command[0]} ({program} is gone)."


def _check_platform() -> None:
    if not supported():
        raise DecorLensError("an applications menu entry is for Linux desktops; on Windows and macOS use the "
                             "installer or the .app bundle")


def _check_own(path: Path, must_be_ours: bool) -> None:
    """Refuse a link, a folder or a special file in ``path``'s place, and (``must_be_ours``) an entry without
    DecorLens's mark: it is someone's own launcher, to change by hand."""
    if path.is_symlink():
        raise DecorLensError(f"{path}: a link, not a file DecorLens writes; remove it, or change it by hand")
    if path.exists() and not path.is_file():
        raise DecorLensError(f"{path}: not a regular file; remove it first")
    if must_be_ours and path.exists() and MARK not in (_read(path) or {}):
        raise DecorLensError(f"{path}: a desktop entry DecorLens did not write; change or remove it by hand")


def _read_text(path: Path) -> str | None:
    """``path``'s text, or None where it is not a regular file (``open_regular``), is unreadable, not UTF-8 or over
    ``MAX_ENTRY_BYTES``, none of them an entry of DecorLens's: read whole, a huge file in the entry's place was read
    into memory at each start of the app, and a FIFO put there between the look and the read blocked it."""
    try:
        with open_regular(path) as fh:
            raw = fh.read(MAX_ENTRY_BYTES + 1)
        return raw.decode("utf-8") if len(raw) <= MAX_ENTRY_BYTES else None
    except (OSError, UnicodeDecodeError):
        return None


def _read(path: Path) -> dict[str, str] | None:
    """The ``[Desktop Entry]`` group's keys (locale variants included, unescaped), or None where the file cannot be
    read. Enough to find DecorLens's mark and TryExec: not a validating parser."""
    if path.is_symlink() or not path.is_file():
        return None
    text = _read_text(path)
    if text is None:
        return None
    fields: dict[str, str] = {}
    group = None
    for line in text.splitlines():
        if line.startswith("["):
            group = line.strip()
        elif group == "[Desktop Entry]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            fields.setdefault(key.strip(), _unescaped(value.strip()))
    return fields


def _escaped(value: str) -> str:
    """A string value's escapes (``\\\\``, ``\\s`` for a leading space)."""
    value = value.replace("\\", "\\\\")
    return "\\s" + value[1:] if value.startswith(" ") else value


def _unescaped(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(m[1], m[1]), value)


def _caches_changed(applications: Path, icon: Path) -> None:
    """Tell the desktop: ``update-desktop-database`` where it is installed (menus also watch the folder, so it is
    never required), and a newer time on the icon theme's folder, which makes GTK set aside a cache that lacks the
    icon."""
    tool = shutil.which("update-desktop-database")
    if tool is not None:
        try:
            subprocess.run([tool, "-q", str(applications)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=TOOL_SECONDS, check=False)
        except (OSError, subprocess.SubprocessError):
            pass
    theme = icon.parents[2]
    if theme.is_dir():
        try:
            os.utime(theme)
        except OSError:
            pass


def _os_words(doing: str, exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{doing}: {exc.strerror or exc}{where}"


def _shown(path: str) -> str:
    return UNFIT.sub("?", path)
