"""Engine settings: shipped defaults (``resources/defaults.yaml``) overridden by the caller.

The CLI passes its options, the GUI passes what it keeps in QSettings; both end up here so the
pipeline has one way to be configured.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from engine.paths import resources_dir
from engine.runtime import DevicePreference


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
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def defaults(cls) -> Settings:
        raw = yaml.safe_load((resources_dir() / "defaults.yaml").read_text())
        return cls(
            detectors=tuple(tuple(_as_list(d)) for d in raw["detectors"]),
            embedder=tuple(_as_list(raw["embedder"])),
            confidence=raw.get("confidence"),
            top_k=int(raw.get("top_k", 5)),
            padding=float(raw.get("padding", 0.06)),
            exact_threshold=raw.get("exact_threshold"),
            device=raw.get("device", "auto"),
        )

    def with_(self, **changes: Any) -> Settings:
        """A copy with the given fields replaced; ``None`` values leave a field as it is."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
