"""A ``query:`` sub-setting written as a mapping, checked against the options dataclass it fills.

The re-rank and type-prior settings are each a shorthand (a number) or a mapping of their dataclass's
fields; both read the mapping the same way, so a new field needs no parsing code of its own.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any


def mapping_fields(options: type, raw: Any, name: str, shorthand: str) -> dict[str, Any]:
    """``raw``'s fields, each cast to the type of its default ("20" → 20); a non-mapping or a field the
    dataclass lacks is an error that names the setting (the caller adds where it was read)."""
    if not isinstance(raw, dict):
        raise TypeError(f"query {name} must be {shorthand}, got {shown(raw)}")
    unknown = set(raw) - set(options.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown {name} setting(s) {', '.join(sorted(map(str, unknown)))}")
    defaults = options()
    return {key: cast(value, type(getattr(defaults, key)), f"{name} {key}") for key, value in raw.items()}


def cast(value: Any, kind: type, where: str) -> Any:
    """``value`` as ``kind``: a bool only from a bool (``bool("false")`` is True), a number only a finite one
    (``int(inf)`` ended in "unexpected OverflowError", a nan went on to OpenCV's RANSAC)."""
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"query {where} must be true or false, got {shown(value)}")
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"query {where} must be a number, got {type(value).__name__}") from None
    if not math.isfinite(number) or (kind is int and not number.is_integer()):
        raise ValueError(f"query {where} must be a {'whole ' if kind is int else ''}number, got {shown(value)}")
    return kind(number)


def shown(value: Any) -> str:
    """``value`` as an error message writes it: a list or mapping by its kind alone, anything else shortened.
    A YAML list of aliases is a few hundred bytes to read and gigabytes written out (9 levels: 2 GB in 45 s), and
    reprlib, which keeps 6 items a level to 6 levels, still wrote 6**6 of them."""
    return f"a {type(value).__name__}" if isinstance(value, list | dict) else reprlib.repr(value)
