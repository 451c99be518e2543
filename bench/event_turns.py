"""How long the window's thread is held: the event loop turned by a 5 ms timer until a condition holds.

The GUI benches (``bench.catalog_view``, ``bench.folder_view``) measure what a user feels, the longest
stretch between two turns of the loop, while waiting for what they wait for; one class does both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

TICK_MS = 5
SETTLE_MS = 300  # turns counted after an answer: the paint and any work it set off


class Turns:
    """Turns the event loop until a condition holds (then ``settle_ms`` more); the longest gap between
    turns is kept until ``step`` reads it."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.longest = 0.0

    def until(self, answered: Callable[[], bool], at_least_ms: float = 0.0, settle_ms: float = SETTLE_MS) -> float:
        """Seconds until ``answered()`` (checked every turn), turning on for ``settle_ms`` after it and for
        ``at_least_ms`` in all. Raises ``TimeoutError`` after ``limit_s`` without an answer."""
        from PySide6.QtCore import QEventLoop, QTimer

        loop, state = QEventLoop(), {"answer": None}
        start = last = time.perf_counter()

        def tick() -> None:
            nonlocal last
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now
            if state["answer"] is None and answered():
                state["answer"] = now - start
            done = state["answer"] is not None and now - start >= max(at_least_ms, state["answer"] * 1000 + settle_ms) / 1000
            if done or now - start > self.limit_s:
                loop.quit()

        timer = QTimer(interval=TICK_MS, timeout=tick)
        timer.start()
        loop.exec()
        timer.stop()
        if state["answer"] is None:
            raise TimeoutError(f"no answer within {self.limit_s:.0f} s")
        return state["answer"]

    def step(self) -> dict[str, float]:
        """The longest stretch since the last step, in ms; the count starts again."""
        longest, self.longest = self.longest, 0.0
        return {"longest_ms": longest * 1000}
