"""Writing files so that a crash leaves the old version or the new one, never half of one.

Every file DecorLens writes that a user would miss (index, manifest, model cards, batch outputs,
corrections, bundles) goes through ``replace_atomically``: written beside its target, flushed to
disk, then renamed over it (rename is atomic on one filesystem), and the folder entry flushed too.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def replace_atomically(tmp: Path, target: Path) -> None:
    """Move a fully written ``tmp`` over ``target`` durably."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; the rename itself is still atomic there
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to ``path`` atomically."""
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(data, str):
        tmp.write_text(data, encoding="utf-8")
    else:
        tmp.write_bytes(data)
    replace_atomically(tmp, path)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks (index files can be gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()
