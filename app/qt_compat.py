"""Keep PySide6 6.12 from crashing CPython 3.11: make ``None``, ``True`` and ``False`` immortal.

PySide6 6.12.0 drops a reference to ``None`` on every call of a wrapped function returning ``void``
(``setText``, ``update``, ``processEvents``…) and to ``True`` on every ``Signal.emit``. CPython 3.12
made these three objects immortal, so there the leaks are harmless; on 3.11 their reference counts
run down to zero within minutes of use and the interpreter aborts ("none_dealloc", "bool_dealloc").
This module gives each of them 2**48 extra references, which is what immortality amounts to here.
It runs once, when the ``app`` package is imported, before any Qt call.
"""

from __future__ import annotations

import ctypes
import sys

HEADROOM = 1 << 48
SINGLETONS = (None, True, False)


def immortalise_singletons() -> None:
    """Add ``HEADROOM`` references to ``None``, ``True`` and ``False`` (CPython before 3.12 only)."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for obj in SINGLETONS:
        ctypes.c_ssize_t.from_address(id(obj)).value += HEADROOM
