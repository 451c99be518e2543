"""Hostile folders: what a merchandiser points ``decorlens tag``, ``catalog import`` and the app's Open Folder at.

Each test builds its folder from copies of real photos in tmp_path."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.scene_files import each_scene_file, scene_files
from engine.batch import expand_scenes

DEEP = 1_000  # folders nested, one in the next


@pytest.fixture
def photo(ikea: Path) -> Path:
    return min((ikea / "scenes").glob("*.jpg"))


def _nested(top: Path, name: str, depth: int) -> Path:
    """``top/name/name/…`` ``depth`` levels down, made one level at a time (``os.makedirs`` itself recurses)."""
    folder = top
    for _ in range(depth):
        folder = folder / name
        folder.mkdir()
    return folder


def _past_path_max(top: Path) -> None:
    """Folders below ``top`` whose path passes the system's 4,096 bytes, a photo at the bottom (made by
    descriptor: the path itself cannot be used)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(25):
        os.mkdir("b" * 200, dir_fd=fd)
        inner = os.open("b" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(os.open("deepest.jpg", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    os.close(fd)


def _remove_chain(folder: Path) -> None:
    """``folder`` and the chain of single subfolders below it, removed by descriptor from the bottom up: pytest's
    clean-up of old tmp_paths (``shutil.rmtree``) recurses, and left these behind with a RecursionError."""
    fds, names = [os.open(folder, os.O_RDONLY | os.O_DIRECTORY)], []
    while True:
        entries = list(os.scandir(fds[-1]))
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.name, dir_fd=fds[-1])
        subfolders = [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
        if not subfolders:
            break
        names.append(subfolders[0])
        fds.append(os.open(subfolders[0], os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
    while names:
        os.close(fds.pop())
        os.rmdir(names.pop(), dir_fd=fds[-1])
    os.close(fds.pop())
    folder.rmdir()


@pytest.fixture
def top(tmp_path: Path) -> Iterator[Path]:
    """An empty folder whose deep chains of subfolders are removed after the test."""
    folder = tmp_path / "photos"
    folder.mkdir()
    yield folder
    for entry in folder.iterdir():
        if entry.is_dir():
            _remove_chain(entry)


def test_a_folder_1000_deep_and_one_past_the_path_limit_are_listed_without_a_traceback(photo: Path, top: Path):
    """``rglob`` (the CLI's ``tag`` and the batch dialog) and the strip's recursive walk died of RecursionError at
    1,000 nested folders, and of "File name too long" where a path passed 4,096 bytes: a traceback, nothing tagged."""
    shutil.copy(photo, top / "top.jpg")
    shutil.copy(photo, _nested(top, "a", DEEP) / "bottom.jpg")
    _past_path_max(top)
    bottom = top.joinpath(*["a"] * DEEP, "bottom.jpg")
    assert expand_scenes([top]) == [bottom, top / "top.jpg"]
    assert list(each_scene_file([top])) == [bottom, top / "top.jpg"]
    assert scene_files([top]) == [bottom, top / "top.jpg"]
