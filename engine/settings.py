"""Engine settings: shipped defaults, the data dir's ``config.yaml``, then the caller's overrides.

The CLI passes its options, the GUI passes what it keeps in QSettings; both end up here so the
pipeline has one way to be configured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from engine.errors import DecorLensError
from engine.files import exclusive, read_yaml, write_atomic
from engine.paths import data_dir, resources_dir
from engine.query import QueryOptions
from engine.runtime import DevicePreference

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
        """Shipped defaults overridden by the data dir's ``config.yaml`` (written by ``models activate``)."""
        folder = data_dir(data)
        raw = _read_yaml(resources_dir() / "defaults.yaml")
        user = folder / CONFIG_FILE
        if not user.is_file():
            return cls._from_raw(raw).with_(data_dir=folder)
        raw.update({k: v for k, v in _read_yaml(user).items() if k in raw})
        try:
            return cls._from_raw(raw).with_(data_dir=folder)
        except (TypeError, ValueError) as exc:
            raise DecorLensError(
                f"settings file {user} holds a value of the wrong kind ({exc}); fix it, or delete it to use the defaults"
            ) from exc

    @classmethod
    def _from_raw(cls, raw: dict[str, Any]) -> Settings:
        return cls(
            detectors=tuple(tuple(_as_list(d)) for d in raw["detectors"]),
            embedder=tuple(_as_list(raw["embedder"])),
            confidence=raw.get("confidence"),
            top_k=int(raw.get("top_k", 5)),
            padding=float(raw.get("padding", 0.06)),
            exact_threshold=raw.get("exact_threshold"),
            device=raw.get("device", "auto"),
            people=_switch(raw.get("people", "auto")),
            compact_at=_size(raw.get("compact_at")),
            query=QueryOptions.from_raw(raw.get("query"), float(raw.get("padding", 0.06))),
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
        raw = _read_yaml(path) if path.is_file() else {}
        raw[key] = value
        write_atomic(path, yaml.safe_dump(raw, sort_keys=True))
    return path


def _read_yaml(path: Path) -> dict[str, Any]:
    raw = read_yaml(path, "settings file", "the defaults")
    if not isinstance(raw, dict):
        raise DecorLensError(f"settings file {path} is not a mapping of `key: value` lines; fix it, or delete it")
    return raw


def _switch(value: Any) -> str:
    """auto, on or off; YAML reads a bare ``on``/``off`` as a boolean: take it as the word the user wrote."""
    word = {True: "on", False: "off"}[value] if isinstance(value, bool) else str(value)
    if word not in ("auto", "on", "off"):
        raise ValueError(f"people: {value!r} is not auto, on or off")
    return word


def _size(value: Any) -> int | str | None:
    """A catalog size (a positive whole number), "auto", or None."""
    if value is None or value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"compact_at: {value!r} is not a number of products, auto or null")
    return value


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
