"""Engine settings: shipped defaults, the data dir's ``config.yaml``, then the caller's overrides.

The CLI passes its options, the GUI passes what it keeps in QSettings; both end up here so the
pipeline has one way to be configured.
"""

from __future__ import annotations

import math
import os
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

import yaml

from engine.errors import DecorLensError
from engine.files import exclusive, read_yaml, write_atomic
from engine.paths import data_dir, resources_dir
from engine.query import QueryOptions
from engine.runtime import DevicePreference
from engine.setting_fields import shown

DEVICES: tuple[DevicePreference, ...] = get_args(DevicePreference)  # config.yaml's, Settings' and --device's
MAX_COUNT = 10**9  # a count beyond any catalog or run (top_k here, the CLI's counts): larger overflowed SQLite or torch

CONFIG_FILE = "config.yaml"
CONFIG_LOCK = ".config-lock"  # not ".config.yaml.*": write_atomic sweeps those as its stale temps


@dataclass(frozen=True)
class Settings:
    """What the pipeline needs to know; ``None`` paths mean the standard locations."""

    data_dir: Path | None = None
    models_dir: Path | None = None
    detectors: tuple[tuple[str, ...], ...] = ()
    embedder: tuple[str, ...] = ()
    confidence: float | None = None
    top_k: int = 5
    padding: float = 0.06
    exact_threshold: float | None = None
    device: DevicePreference = "auto"
    people: str = "auto"  # keep tags off people with the pose model: auto (when installed) | on | off
    compact_at: int | str | None = None  # catalog size from which its indexes are compact; "auto"; None: never
    query: QueryOptions = field(default_factory=QueryOptions)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def defaults(cls) -> Settings:
        """The shipped defaults (``resources/defaults.yaml``) alone."""
        return cls._from_raw(_read_yaml(resources_dir() / "defaults.yaml"))

    @classmethod
    def for_data_dir(cls, data: str | os.PathLike[str] | None = None) -> Settings:
        """Shipped defaults overridden by the data dir's ``config.yaml`` (written by ``models activate``).

        A ``config.yaml`` that is there but no file (a link to a share not mounted, a folder) is its one-line error,
        not the defaults: taken as absent, the embedder chosen in it was silently not the one searches used."""
        folder = data_dir(data)
        raw = _read_yaml(resources_dir() / "defaults.yaml")
        user = folder / CONFIG_FILE
        if not os.path.lexists(user):
            return cls._from_raw(raw).with_(data_dir=folder)
        ours = {k: v for k, v in _read_yaml(user).items() if k in raw}
        try:
            return cls._from_raw({**raw, **ours}).with_(data_dir=folder)
        except (TypeError, ValueError) as exc:
            wrong = cls._each_wrong(raw, ours) or {"": str(exc)}
            first, *others = wrong
            too = f"; {' and '.join(others)} {'is' if len(others) == 1 else 'are'} wrong too" if others else ""
            raise DecorLensError(f"settings file {user} holds a value of the wrong kind ({wrong[first]}){too}; "
                                 "fix it, or delete it to use the defaults") from exc

    @classmethod
    def _each_wrong(cls, defaults: dict[str, Any], ours: dict[str, Any]) -> dict[str, str]:
        """Why each value of ``ours`` is wrong on its own, by key: the first alone was named, so a file with two took
        two starts of the app (and two edits) to be put right. The others are named by key alone: the line is
        shortened to 200 characters, from its parenthesised detail first."""
        wrong = {}
        for key, value in ours.items():
            try:
                cls._from_raw({**defaults, key: value})
            except (TypeError, ValueError) as exc:
                wrong[key] = str(exc)
        return wrong

    @classmethod
    def _from_raw(cls, raw: dict[str, Any]) -> Settings:
        padding = _number(raw, "padding", 0.06, lambda n: 0 <= n <= 1, "a fraction from 0 to 1")
        return cls(
            detectors=tuple(_file_names(d, "detectors") for d in _as_list(raw["detectors"])),
            embedder=_file_names(raw["embedder"], "embedder"),
            confidence=_number(raw, "confidence", None, lambda n: 0 <= n <= 1, "a number from 0 to 1, or null"),
            top_k=int(_number(raw, "top_k", 5, lambda n: type(n) is int and 1 <= n <= MAX_COUNT,
                              f"a whole number from 1 to {MAX_COUNT:,}")),
            padding=padding,
            exact_threshold=_number(raw, "exact_threshold", None, exact_level, "a number above 0, or null"),
            device=_device(raw.get("device", "auto")),
            people=_switch(raw.get("people", "auto")),
            compact_at=_size(raw.get("compact_at")),
            query=QueryOptions.from_raw(raw.get("query"), padding),
        )

    def with_(self, **changes: Any) -> Settings:
        """A copy with the given fields replaced; ``None`` values leave a field as it is."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def save_choice(data: Path, key: str, value: Any) -> Path:
    """Persist one engine choice (e.g. the active embedder) in ``<data dir>/config.yaml``.

    Read, changed and written under ``CONFIG_LOCK``: two writers at once (``models activate`` and the
    app's settings, or two activations) each wrote what it had read, and the one that wrote first was
    lost; an embedder said to be active, the catalog re-embedded for it, and searches still used the old.
    """
    path = data / CONFIG_FILE
    with exclusive(data / CONFIG_LOCK):
        raw = _read_yaml(path) if os.path.lexists(path) else {}
        raw[key] = value
        write_atomic(path, yaml.safe_dump(raw, sort_keys=True))
    return path


def _read_yaml(path: Path) -> dict[str, Any]:
    raw = read_yaml(path, "settings file", "the defaults")
    if not isinstance(raw, dict):
        raise DecorLensError(f"settings file {path} is not a mapping of `key: value` lines; fix it, or delete it")
    return raw


def _switch(value: Any) -> str:
    """auto, on or off; YAML reads a bare ``on``/``off`` as a boolean: take it as the word the user wrote. Not ``str``
    of anything else: a list of YAML aliases costs what it expands to (a bomb) when written out."""
    word = {True: "on", False: "off"}[value] if isinstance(value, bool) else value
    if word not in ("auto", "on", "off"):
        raise ValueError(f"people: {shown(value)} is not auto, on or off")
    return word


def _size(value: Any) -> int | str | None:
    """A catalog size (a positive whole number), "auto", or None."""
    if value is None or value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"compact_at: {shown(value)} is not a number of products, auto or null")
    return value


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def _file_names(value: Any, key: str) -> tuple[str, ...]:
    """A model choice: a file name, or a list of alternative ones. Anything else (``[{a: 1}]``) went on to be
    opened as a path, an "unexpected TypeError" far from config.yaml."""
    names = _as_list(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{key}: {reprlib.repr(value)} is not a model file name or a list of them")
    return tuple(names)


def _number(raw: dict[str, Any], key: str, default: float | None, ok: Callable[[float], bool],
            wanted: str) -> Any:
    """``raw[key]`` (``default`` when absent), checked as a number ``ok`` takes (a comparison: nan never passes).
    A word or an out-of-range number was taken as it was: ``confidence: abc`` ended a search in "unexpected
    UFuncTypeError", ``exact_threshold: abc`` in "unexpected TypeError", ``confidence: 5`` found nothing, silently."""
    value = raw.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not ok(value):
        raise ValueError(f"{key}: {reprlib.repr(value)} is not {wanted}")
    return value


def exact_level(value: float) -> bool:
    """Whether ``value`` can be the cosine from which a match is "exact": above 0 (0 read as the card's value and a
    negative one made every match exact), finite; above 1 no cosine reaches, so no match is exact (``NEVER``, as
    a card that never reached its precision says it). config.yaml's, settings.ini's and Settings' rule alike."""
    return 0 < value < math.inf


def _device(value: Any) -> DevicePreference:
    if value not in DEVICES:
        raise ValueError(f"device: {reprlib.repr(value)} is not {', '.join(DEVICES[:-1])} or {DEVICES[-1]}")
    return value
