"""The detector's training asked for the graphics card where torch has none: the app's Train window runs it too
(Finding objects, or Both), and its line ("a GPU was asked for, but torch sees no CUDA device") had no app words,
so staff read torch's. It is the embedder training's ``CPU_DEVICE`` Remedy, in the app naming Settings' choice."""

from __future__ import annotations

import pytest

from engine.errors import ModelError
from engine.remedies import CPU_DEVICE, in_app

torch = pytest.importorskip("torch")


@pytest.mark.skipif(torch.cuda.is_available(), reason="torch sees a CUDA device here")
def test_a_gpu_asked_for_without_one_is_said_in_the_apps_words() -> None:
    from training.detector import _device

    with pytest.raises(ModelError) as raised:
        _device("gpu")
    assert str(raised.value) == CPU_DEVICE()  # the CLI's words: use --device cpu
    assert in_app(str(raised.value)) == CPU_DEVICE.app and "Edit ▸ Settings" in CPU_DEVICE.app
