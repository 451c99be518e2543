"""A Runner has a parent, which Qt deletes it with: parentless, Python's collector freed one on whichever thread set
a collection off, while Qt still had posted events for it (the catalog-view benchmark's segfault, session 49)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from app.workers import Runner


@pytest.mark.parametrize("make", [lambda: Runner(1), lambda: Runner(1, None)], ids=["no parent", "None"])
def test_a_runner_cannot_be_made_without_a_parent(qapp, make):
    with pytest.raises(TypeError):
        make()


def test_a_runner_is_its_parents(qapp):
    assert Runner(1, qapp).parent() is qapp
