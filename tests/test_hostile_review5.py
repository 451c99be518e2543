"""A fifth hostile-input review: model packs, settings and category maps, corrections, vector files, backups.

Each test fails without the fix it names; real files in tmp_path, no mocks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import DecorLensError
from engine.settings import Settings


def _alias_bomb(levels: int = 6) -> str:
    """YAML lines defining ``*l<levels>``: a list that is 9**levels strings once expanded, a few hundred bytes
    as written (PyYAML builds it by reference, so reading it is cheap; writing it out is not)."""
    lines = ["bomb:", "  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("setting", [
    "query: *l6", "query: {paddings: *l6}", "query: {rerank: *l6}", "query: {types: *l6}",
    "query: {flip: *l6}", "people: *l6", "compact_at: *l6",
])
def test_a_settings_value_of_yaml_aliases_is_not_expanded_into_the_message(tmp_path: Path, setting: str):
    """config.yaml's errors wrote the wrong value with repr (people: str) in full: a 9-level alias bomb of a few
    hundred bytes made a 2 GB message in 45 s, one level more ran out of memory. Here 6 levels (3 MB written out)."""
    (tmp_path / "config.yaml").write_text(_alias_bomb() + setting + "\n")
    with pytest.raises(DecorLensError, match="settings file .*config.yaml holds a value of the wrong kind") as err:
        Settings.for_data_dir(tmp_path)
    assert len(str(err.value)) < 600, len(str(err.value))
