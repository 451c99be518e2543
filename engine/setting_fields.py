"""A ``query:`` sub-setting written as a mapping, checked against the options dataclass it fills.

The re-rank and type-prior settings are each a shorthand (a number) or a mapping of their dataclass's
fields; both read the mapping the same way, so a new field needs no parsing code of its own.
"""

from __future__ import annotations

from typing import Any


def mapping_fields(options: type, raw: Any, name: str, shorthand: str) -> dict[str, Any]:
    """``raw``'s fields, each cast to the type of its default ("20" → 20); a non-mapping or a field the
    dataclass lacks is an error that names the setting (the caller adds where it was read)."""
    if not isinstance(raw, dict):
        raise TypeError(f"query {name} must be {shorthand}, got {raw!r}")
    unknown = set(raw) - set(options.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown {name} setting(s) {', '.join(sorted(map(str, unknown)))}")
    defaults = options()
    return {key: type(getattr(defaults, key))(value) for key, value in raw.items()}
