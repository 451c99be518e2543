"""Where DecorLens keeps its data and finds its models.

Resolution order, the same for CLI, GUI and tests: an explicit argument, then an environment
variable, then the platformdirs user data dir. Models are looked up in the models directory first and
then in ``<data dir>/models``, where exported and fine-tuned models are written (the models directory
may be read-only, e.g. a shared or bundled folder).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from platformdirs import user_data_dir

from engine.errors import DecorLensError

APP_NAME = "DecorLens"
DATA_ENV = "DECORLENS_DATA_DIR"
MODELS_ENV = "DECORLENS_MODELS_DIR"
CATALOG_FILE = "catalog.sqlite"  # the catalog's database, in the data dir
TRAINING_RUNS = "training-runs"  # the data dir's folder of training runs (CLI and app)


# What ``os.fsdecode`` makes of each byte of a file name that is not UTF-8: a lone surrogate, which no UTF-8 text
# (SQLite's, a UTF-8 terminal's) can hold
UNDECODED = re.compile("[\ud800-\udfff]")


def readable_path(path: str) -> str:
    """``path`` as text to show or write as UTF-8: each byte that is not UTF-8 as U+FFFD (printing the lone
    surrogates of a decoded file name raised UnicodeEncodeError); ``path`` itself stays exact for opening the file."""
    return UNDECODED.sub("\ufffd", path)


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding the catalog, indexes, settings and exported models (created on demand).

    Made absolute: paths under it are stored in the catalog (a bundle's images), and a relative one
    (``--data-dir shop``) was refused there as not existing from the current folder, or would break
    as soon as DecorLens ran from another one.
    """
    chosen = explicit or os.environ.get(DATA_ENV) or user_data_dir(APP_NAME, appauthor=False)
    path = Path(os.path.abspath(Path(chosen).expanduser()))
    path.mkdir(parents=True, exist_ok=True)
    return path


def wide_folder(folder: str | os.PathLike[str]) -> str | None:
    """"the whole disk" or "your home folder" when ``folder`` is one of them, else None: a folder DecorLens
    fills with files of its own must be one of its own. ``--data-dir /`` wrote catalog.sqlite into the disk's
    root, and ``--data-dir ~`` spread the catalog, indexes, models and backups among the user's own files. Nor
    may a folder a bundle's pictures are read from be one (``bundle import --images-from /``)."""
    real = Path(os.path.realpath(Path(folder).expanduser()))
    if real == Path(real.anchor):
        return "the whole disk"
    return "your home folder" if real == Path(os.path.realpath(Path.home())) else None


def refuse_overwrite(out: str | os.PathLike[str], data: Path, suffix: str, what: str) -> None:
    """Refuse an output path whose file the output (``what``, of files ending in ``suffix``) would destroy.

    ``bundle export`` or ``catalog map --html`` given ``<data dir>/catalog.sqlite`` (a slip of tab
    completion) wrote the bundle or page over the live catalog, with no backup. Anything existing under
    the data dir is DecorLens's (the catalog and its -wal/-shm/-journal, config.yaml, categories.yaml,
    backups, index, images, models) except an earlier output of the same kind directly in it; a new file
    there is the user's choice. Symlinks are followed, so no link can lead there either.

    Elsewhere an existing file is replaced only if it ends in ``suffix``: `bundle export room.jpg` wrote the
    bundle over the photo without a word (found by a fuzz of the commands' options, which did that to a scene
    of the shared data). A new name of any kind is written.
    """
    real, root, path = Path(os.path.realpath(out)), Path(os.path.realpath(data)), Path(out)
    earlier_output = real.parent == root and real.suffix.lower() == suffix and real.is_file()
    if real.exists() and real.is_relative_to(root) and not earlier_output:
        raise DecorLensError(f"{out} is DecorLens's own data in {root}; the {what} would overwrite it: write it "
                             f"elsewhere, or to a new name ending in {suffix}")
    if path.is_file() and path.suffix.lower() != suffix:
        raise DecorLensError(f"{out} exists and does not end in {suffix}: the {what} would overwrite it; name a new "
                             f"file, or one ending in {suffix}")


def models_dir(explicit: str | os.PathLike[str] | None = None, data: Path | None = None) -> Path:
    """The primary models directory: explicit, ``DECORLENS_MODELS_DIR``, bundled, else ``<data>/models``."""
    chosen = explicit or os.environ.get(MODELS_ENV)
    if chosen:
        return Path(chosen).expanduser()
    bundled = bundled_models_dir()
    if bundled is not None:
        return bundled
    return (data or data_dir()) / "models"


def model_search_path(explicit: str | os.PathLike[str] | None = None, data: Path | None = None) -> list[Path]:
    """Directories searched for a model file, in order, without duplicates."""
    data = data or data_dir()
    candidates = [models_dir(explicit, data), data / "models"]
    bundled = bundled_models_dir()
    if bundled is not None:
        candidates.append(bundled)
    seen: list[Path] = []
    for path in candidates:
        if path.resolve() not in [s.resolve() for s in seen]:
            seen.append(path)
    return seen


def bundled_models_dir() -> Path | None:
    """Models shipped inside a frozen (PyInstaller) app, if this is one."""
    base = getattr(sys, "_MEIPASS", None)
    if base is None:
        return None
    path = Path(base) / "models"
    return path if path.is_dir() else None


def resources_dir() -> Path:
    """The ``resources`` folder: category map, stock model cards, icons (also inside a frozen app)."""
    base = getattr(sys, "_MEIPASS", None)
    root = Path(base) if base else Path(__file__).resolve().parent.parent
    return root / "resources"
