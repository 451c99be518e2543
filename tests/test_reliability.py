"""Reliability: ``kill -9`` during real writes (import, embedder switch, index saves) loses nothing.

A small run of ``bench/kill_test.py`` (the full one, 50+ kills, is in docs/reliability.md): real
child processes, real SQLite and hnswlib files, real IKEA product photos and the real embedders.
"""

from __future__ import annotations

from pathlib import Path

from bench.kill_test import kill_test


def test_kills_during_writes_lose_no_product_and_leave_a_searchable_index(tmp_path: Path, ikea: Path):
    figures = kill_test(tmp_path / "kill", ikea, kills=5, per_round=8, seed=1)
    assert sum(figures.kills.values()) >= 1 and figures.completed["import"] >= 1
    assert figures.child_errors == []
    assert figures.integrity_failures == 0
    assert figures.products_lost == 0 and figures.partial_imports == 0
    assert figures.products_without_vector == 0 and figures.partial_reembeds == 0
    assert figures.search_failures == 0
    assert figures.products_end >= 8
