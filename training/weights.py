"""Loading ``.pt`` files without running code nobody asked for.

A ``.pt`` is a Python pickle, and unpickling can call any function the file names. Our own
checkpoints (``train --resume``, torchvision state dicts for ``models export``) hold only tensors and
plain data, so they are read with ``torch.load(weights_only=True)``, which refuses anything else.
Ultralytics checkpoints cannot be read that way (ultralytics unpickles its model classes in full), so
a user-supplied one is loaded only with consent: files in the models folders (put there on purpose,
like the shipped detector) with a one-line warning, any other file only with ``--trust-pt``.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from engine.errors import ModelError

TRUST_FLAG = "--trust-pt"


def load_plain(path: Path, what: str = "checkpoint") -> Any:
    """Tensors and plain Python data from ``path``; a file that asks to run code is refused."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "unsupported global" not in str(exc).lower():  # garbage, not a request to call something
            raise ModelError(f"{path}: not a readable {what} ({exc})") from exc
        raise ModelError(
            f"{path}: refusing to load this {what}: it asks to run code when unpickled, which a DecorLens "
            f"{what} never does"
        ) from exc
    except Exception as exc:  # junk: torch's unpickler raises KeyError, RuntimeError, EOFError … for it
        raise ModelError(f"{path}: not a readable {what} ({str(exc).splitlines()[0] if str(exc) else exc!r})") from exc


def pickle_consent(path: Path, trust: bool, trusted_dirs: Sequence[Path]) -> str:
    """The warning to show before ultralytics unpickles ``path``; ModelError when there is no consent, or
    when it is no ``.pt`` (ultralytics took an ONNX or a photo as far as an unexpected TypeError)."""
    path = Path(path)
    if path.suffix.lower() != ".pt":
        raise ModelError(f"{path.name} is not a .pt weights file: start from an ultralytics .pt "
                         "(such as yolo11n-ovint8-dq.pt)")
    warning = (f"{path.name} is a pickle: loading it can run any code it carries; "
               "use .pt files only from sources you trust")
    if trust or _inside(path, trusted_dirs):
        return warning
    folder = trusted_dirs[0] if trusted_dirs else "your models folder"
    raise ModelError(
        f"refusing {path.name} without {TRUST_FLAG}: loading a .pt (a pickle) can run any code; pass the flag if you "
        f"trust its source, or put it in {folder}"
    )


def _inside(path: Path, folders: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(Path(folder).resolve()) for folder in folders)
