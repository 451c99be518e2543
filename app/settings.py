"""The user's choices, kept in QSettings, turned into ``engine.settings.Settings``.

Only preferences live here (models folder, device, top-k, exact threshold, hidden categories, the Catalog
tab's sort, recent files, the windows' sizes and places: ``app.window_memory``); the catalog, indexes and
corrections live in the engine's data dir. Lists are stored as JSON text because QSettings returns a one-element
list as a plain string on some platforms.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Signal

from engine.catalog import Catalog
from engine.errors import DecorLensError
from engine.files import NotAFile, not_a_file_words, open_regular
from engine.paths import data_dir
from engine.setting_fields import shown
from engine.settings import DEVICES, Settings, exact_level

ORGANISATION = "DecorLens"
APPLICATION = "DecorLens"
MAX_RECENT = 10
THEMES = ("system", "light", "dark")
TAG_LIMITS = (0, 20, 10, 5)  # tags on a photo: every one found, or the N surest
MAX_TOP_K = 50  # products shown per tag at most: Settings' box, and whatever settings.ini says
# settings.ini is under a KB (ten recent photos, a few hidden categories); Qt reads it, and its lock, whole
MAX_FILE_BYTES = 1 << 20
TABS = ("photo", "catalog", "map")  # the main window's tabs, in their order: the one shown last opens again
MAX_GEOMETRY_BYTES = 1024  # what QWidget.saveGeometry writes is under 100 bytes
MAX_SPLIT = 100_000  # px: a splitter's part wider than any screen is no size the app wrote


class AppSettings:
    """Typed access to the app's QSettings (pass a store of your own in tests).

    A value the file holds that is not one the app writes (edited by hand, a damaged disk) reads as the
    default: "top_k=inf" raised OverflowError while the window was being made, so the app did not open.
    """

    def __init__(self, store: QSettings | None = None, data: str | Path | None = None):
        # An INI file in the data dir, beside the catalog (not the registry or ~/.config), so a
        # store's machine keeps everything of DecorLens in one folder, frozen app or Python install.
        self.moved_aside: list[str] = []  # what stood in the file's place and was moved aside, said by ``unreadable``
        if store is None:
            ini = data_dir(data) / "settings.ini"
            self.moved_aside = set_aside_files(ini, "; the defaults apply")
            store = QSettings(str(ini), QSettings.Format.IniFormat)
        self.store = store
        self.guard = SaveGuard(store)

    # -- engine-related ------------------------------------------------------------------------

    @property
    def models_dir(self) -> str:
        return str(self.store.value("engine/models_dir", "", type=str))

    @models_dir.setter
    def models_dir(self, value: str) -> None:
        self.store.setValue("engine/models_dir", value)

    @property
    def device(self) -> str:
        value = str(self.store.value("engine/device", "auto", type=str))
        return value if value in DEVICES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        self.store.setValue("engine/device", value)

    @property
    def top_k(self) -> int:
        return min(MAX_TOP_K, max(1, int(self._number("engine/top_k", 5))))

    @top_k.setter
    def top_k(self, value: int) -> None:
        self.store.setValue("engine/top_k", int(value))

    @property
    def exact_threshold(self) -> float | None:
        """``None`` means not chosen here: config.yaml's value, else the embedder card's. Above 1: no match is exact,
        as in config.yaml (``exact_level``); such a value read as None had Settings tick "recommended" for it."""
        value = self._number("engine/exact_threshold", 0.0)
        return value if exact_level(value) else None

    @exact_threshold.setter
    def exact_threshold(self, value: float | None) -> None:
        self.store.setValue("engine/exact_threshold", float(value or 0.0))

    def engine_settings(
        self, data_dir: str | Path | None = None, models_dir: str | Path | None = None
    ) -> Settings:
        """Engine settings: shipped defaults, the data dir's ``config.yaml``, then the preferences set here,
        then command-line overrides. A device never chosen here leaves the data dir's (the CLI's) choice.
        (The products shown per tag are the app's own: it asks for them in each search.)"""
        return Settings.for_data_dir(data_dir).with_(
            models_dir=Path(models_dir or self.models_dir) if (models_dir or self.models_dir) else None,
            device=self.device if self.store.contains("engine/device") else None,
            top_k=self.top_k,
            exact_threshold=self.exact_threshold,
        )

    # -- view preferences ----------------------------------------------------------------------

    @property
    def theme(self) -> str:
        """ "system" (follow the desktop's light or dark setting), "light" or "dark"."""
        value = str(self.store.value("view/theme", "system", type=str))
        return value if value in THEMES else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        self.store.setValue("view/theme", value)

    @property
    def hidden_categories(self) -> set[str]:
        return set(self._list("view/hidden_categories"))

    @hidden_categories.setter
    def hidden_categories(self, value: set[str]) -> None:
        self.store.setValue("view/hidden_categories", json.dumps(sorted(value)))

    @property
    def max_tags(self) -> int:
        """At most this many of the detector's tags shown on a photo, the surest first; 0: every one."""
        value = self._number("view/max_tags", 0)
        return int(value) if value in TAG_LIMITS else 0

    @max_tags.setter
    def max_tags(self, value: int) -> None:
        self.store.setValue("view/max_tags", int(value))

    @property
    def catalog_order(self) -> str:
        """The Catalog tab's sort, one of ``Catalog.ORDERS``: "category" (by category, then name) unless chosen."""
        value = str(self.store.value("view/catalog_order", "category", type=str))
        return value if value in Catalog.ORDERS else "category"

    @catalog_order.setter
    def catalog_order(self, value: str) -> None:
        self.store.setValue("view/catalog_order", value)

    # -- the windows as they were left (``app.window_memory``) -----------------------------------
    # Not named by ``unreadable``: none is chosen in Settings, and each is written again as its window closes.

    def window_geometry(self, name: str) -> QByteArray:
        """What ``QWidget.saveGeometry`` gave for the window ``name`` as it last closed; empty where nothing was
        saved or the file holds something else (text edited in, a value of a megabyte)."""
        value = self.store.value(f"windows/{name}")
        return value if isinstance(value, QByteArray) and 0 < value.size() <= MAX_GEOMETRY_BYTES else QByteArray()

    def set_window_geometry(self, name: str, value: QByteArray) -> None:
        self.store.setValue(f"windows/{name}", value)

    def splitter_sizes(self, name: str) -> list[int]:
        """The sizes, in px, of the parts of the splitter ``name`` as it was left; [] where none were saved or the
        file holds no list of whole sizes from 0 to ``MAX_SPLIT`` with one above 0."""
        try:
            value = json.loads(str(self.store.value(f"splitters/{name}", "[]", type=str)))
        except (ValueError, RecursionError):
            return []
        if not isinstance(value, list) or not all(type(v) is int and 0 <= v <= MAX_SPLIT for v in value):
            return []
        return value if any(value) else []

    def set_splitter_sizes(self, name: str, sizes: list[int]) -> None:
        self.store.setValue(f"splitters/{name}", json.dumps(sizes))

    @property
    def last_tab(self) -> str:
        """The main window's tab shown as it last closed, one of ``TABS``: "photo" unless another was."""
        value = str(self.store.value("windows/tab", "photo", type=str))
        return value if value in TABS else "photo"

    @last_tab.setter
    def last_tab(self, value: str) -> None:
        self.store.setValue("windows/tab", value)

    @property
    def recent(self) -> list[str]:
        """The newest ``MAX_RECENT``: a file holding 200,000 (a hand edit) filled the Open Recent menu with them all."""
        return self._list("files/recent")[:MAX_RECENT]

    def add_recent(self, path: str | Path) -> None:
        entries = [str(path)] + [p for p in self.recent if p != str(path)]
        self.store.setValue("files/recent", json.dumps(entries[:MAX_RECENT]))

    def remove_recent(self, path: str | Path) -> None:
        """Take ``path`` off Open Recent (its photo was moved or deleted)."""
        self.store.setValue("files/recent", json.dumps([p for p in self.recent if p != str(path)]))

    def clear_recent(self) -> None:
        self.store.setValue("files/recent", "[]")

    def unreadable(self, config: Settings | None = None) -> str:
        """One line naming the values the file holds that the app cannot use (edited by hand, a damaged disk) and
        what it uses instead; "" when there are none. Each was read as its default without a word: ``device=GPU``
        ran the models on the processor, ``top_k=eight`` showed 5 matches, and nothing said the file was at fault.
        ``config``: the data dir's config.yaml settings, whose exact_threshold stands in for an unusable one here
        (the line said "the embedder's recommended value" over config.yaml's)."""
        checks = {
            "engine/device": ("device", lambda v: v in DEVICES),
            "engine/top_k": ("top_k", lambda v: _whole(v) in range(1, MAX_TOP_K + 1)),
            "engine/exact_threshold": ("exact_threshold", lambda v: _real(v) >= 0),  # 0: not chosen here
            "view/theme": ("theme", lambda v: v in THEMES),
            "view/max_tags": ("max_tags", lambda v: _whole(v) in TAG_LIMITS),
            "view/catalog_order": ("catalog_order", lambda v: v in Catalog.ORDERS),
            "view/hidden_categories": ("hidden_categories", _json_list),
            "files/recent": ("recent", _json_list),
        }
        bad = [(key, name) for key, (name, ok) in checks.items() if self.store.contains(key) and not ok(self._raw(key))]
        if not bad:
            return "; ".join(self.moved_aside)
        found = ", ".join(f"{key}={shown(self._raw(key))} (using {self._instead(name, config)})" for key, name in bad)
        values = (f"{self.store.fileName()} holds values DecorLens cannot use: {found}; "
                  "the file is corrected as they are chosen again (Edit ▸ Settings)")
        return "; ".join([*self.moved_aside, values])

    def _instead(self, name: str, config: Settings | None) -> str:
        """What the app uses for the unusable preference ``name``, as the line says it."""
        if name == "exact_threshold" and config is not None and config.exact_threshold is not None:
            return f"config.yaml's {config.exact_threshold:g}"
        return _used(getattr(self, name))

    def _raw(self, key: str) -> str:
        """The text the file holds under ``key``: an unquoted comma makes QSettings read a list, which as ``str`` is ""."""
        value = self.store.value(key, "")
        return ",".join(map(str, value)) if isinstance(value, list) else str(value)

    def _number(self, key: str, default: float) -> float:
        """The finite number stored under ``key``; ``default`` for anything else (text, NaN, inf, a list)."""
        try:
            value = float(str(self.store.value(key, default, type=str)))
        except ValueError:
            return default
        return value if math.isfinite(value) else default

    def _list(self, key: str) -> list[str]:
        try:
            value = json.loads(str(self.store.value(key, "[]", type=str)))
        except (ValueError, RecursionError):  # a list nested 100,000 deep stopped the window being made
            return []
        return [str(v) for v in value] if isinstance(value, list) else []


def _real(text: str) -> float:
    """``text`` as a finite number, else nan (which no range holds)."""
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _whole(text: str) -> int | None:
    value = _real(text)
    return int(value) if value.is_integer() else None


def _json_list(text: str) -> bool:
    try:
        return isinstance(json.loads(text), list)
    except (ValueError, RecursionError):
        return False


class SaveGuard(QObject):
    """Checks settings.ini and its lock before each save Qt makes of them, as the start does (``set_aside_files``).

    A choice set is saved at the event loop's next turn, and Qt then reads the file again where it changed on disk:
    a FIFO put there while the window was open blocked it for ever, a link had the settings written into the file
    it named (outside the data folder: as root, a device) and that file's lines read as the settings in use, a
    huge file was read whole. Such a file is moved aside before Qt sees it, the settings in use are saved in a new
    one (nothing chosen is lost), and ``movedAside`` says so in one line; where it cannot be moved the line says
    that and nothing is saved (the choices stay in use, and the next choice tries again)."""

    movedAside = Signal(str)

    def __init__(self, store: QSettings):
        super().__init__(store)
        self.store = store
        store.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Qt's own save (the UpdateRequest a ``setValue`` posts) made through ``save``."""
        if event.type() == QEvent.Type.UpdateRequest:
            self.save()
            return True
        return super().eventFilter(watched, event)

    def save(self) -> None:
        """Write the settings in use to their file, once what stands there is checked."""
        try:
            lines = set_aside_files(Path(self.store.fileName()), "; the settings in use are saved in a new one")
        except DecorLensError as exc:
            self.movedAside.emit(str(exc))
            return
        if lines:  # Qt reads a file gone as an empty one, so each setting in use is set again to be written
            for key, value in {key: self.store.value(key) for key in self.store.allKeys()}.items():
                self.store.setValue(key, value)
            self.movedAside.emit("; ".join(lines))
        self.store.sync()


def set_aside_files(ini: Path, then: str) -> list[str]:
    """``set_aside`` for the settings file ``ini`` (its line ended by ``then``) and the lock Qt takes to write it."""
    kept = (ini, "the settings file", then), (ini.with_name(f"{ini.name}.lock"), "the lock", "")
    return [line for path, what, end in kept if (line := set_aside(path, what, end))]


def set_aside(path: Path, what: str, then: str) -> str:
    """Move aside what stands under ``path`` (settings.ini, or the lock Qt takes to write it) where it is not a
    regular file of at most ``MAX_FILE_BYTES``, and say so in one line; "" where nothing was moved.

    Qt's QSettings opens it by name and reads it whole: a link had the settings written into the file it named (one
    outside the data folder, rewritten as an INI file), a FIFO blocked the start for ever, a 3 GB sparse file ended
    the app in ``std::bad_alloc``; a link, folder or FIFO under the lock's name hung the first setting saved. Moved,
    never deleted, to ``NAME.unusable-<UTC time>`` beside it: a link is moved, not the file it names. ``what`` names
    the file in the line, ``then`` ends it. Raises a one-line ``DecorLensError`` where it cannot be moved."""
    why = _unusable(path)
    if why is None:
        return ""
    aside = path.with_name(f"{path.name}.unusable-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}")
    try:
        os.replace(path, aside)
    except OSError as exc:
        raise DecorLensError(f"{path}: {why}, not {what} DecorLens writes, and it cannot be moved aside "
                             f"({exc.strerror}); remove it") from exc
    return f"{path} was {why}, not {what} DecorLens writes: moved aside as {aside.name}{then}"


def _unusable(path: Path) -> str | None:
    """Why ``path`` cannot be handed to QSettings (a few words), or None where it can: missing, or a regular file
    of at most ``MAX_FILE_BYTES``. Checked without following a link and opened non-blocking (``open_regular``)."""
    if not os.path.lexists(path):
        return None
    if path.is_symlink():
        return f"a link to {shown(os.readlink(path))}"
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
    except NotAFile as exc:  # "PATH: a FIFO (named pipe), not a regular file", "PATH: permission denied"
        return not_a_file_words(exc, path)
    return f"over {MAX_FILE_BYTES >> 20} MB ({size / 2**20:,.0f} MB)" if size > MAX_FILE_BYTES else None


def _used(value: object) -> str:
    """What the app uses instead, as the line says it."""
    if value is None:
        return "the embedder's recommended value"
    if isinstance(value, list | set):
        return "none"
    return str(value)
