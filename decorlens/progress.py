"""Long commands: a progress bar on stderr (silent with --quiet or when not a terminal), and Ctrl-C that
stops between steps."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from tqdm import tqdm

from decorlens.errors import MAX_LINE, one_line
from decorlens.terminal import escape_controls, one_field
from engine.importer import Progress
from engine.models import model_label
from engine.pipeline import EMBEDDER, Pipeline


@contextmanager
def bar(description: str, quiet: bool = False, unit: str = "img", lazy: bool = False) -> Iterator[Progress]:
    """Yields a ``(done, total)`` callback that drives a tqdm bar; ``lazy``: drawn from the callback's first call
    only (work that is often nothing, as catching up after an embedder switch, draws none)."""
    drawn: list[tqdm] = []

    def draw() -> tqdm:
        if not drawn:
            drawn.append(tqdm(desc=description, unit=unit, disable=quiet or not sys.stderr.isatty(), file=sys.stderr))
        return drawn[0]

    def update(done: int, total: int) -> None:
        progress = draw()
        progress.total = total
        progress.n = done
        progress.refresh()

    if not lazy:
        draw()
    try:
        yield update
    finally:
        if drawn:
            drawn[0].close()


def embed_catalog(pipeline: Pipeline, quiet: bool, cancelled: Callable[[], bool] = lambda: False,
                  matcher: str = EMBEDDER) -> None:
    """What the catalog lacks for ``matcher`` (after a switch of embedder whose embedding was cancelled or cut short:
    all of it) embedded before the work that needs it, with a bar naming the embedder: inside a search it showed
    nothing, `decorlens search` silent for 37 s over 1,955 products here, hours over a large catalog. ``cancelled``
    (``stop_on_ctrl_c``) stops it between chunks; as Ctrl-C does, it rolls the whole embedding back. The bar shows
    only once there is something to embed (``Pipeline.ensure_ready`` tells its total first). An empty catalog is left
    to the work, which says so after its own models' errors (a missing pose model named first, as before)."""
    if not pipeline.catalog.count():
        return
    label = model_label(pipeline.embedder.model) if matcher == EMBEDDER else "colour matching"
    with bar(f"embedding the catalog for {label}", quiet, "product", lazy=True) as progress:
        pipeline.ensure_ready(matcher, progress, cancelled)


def note(message: str) -> None:
    """A remark for the user on stderr, keeping stdout clean for results and JSON.

    One line, kept within the width of an error line: a batch's "failed: <photo>: <why>" must not become a
    paragraph when both the photo's and the catalog's paths are long. A newline in what it quotes (a feed's
    image path, a photo's file name) shows as ``\\u000a``: it printed a line of its own, which a hostile feed
    could word as DecorLens's own ("decorlens: error: …"). Other controls and bidi overrides show as ``\\uXXXX``
    too, as on stdout and in the error line: a photo named ``ESC]0;…BEL ESC[2J x.jpg`` retitled and cleared the
    terminal from its `failed:` line, and ``gpj.exe`` behind a right-to-left override read as ``exe.jpg``.
    """
    # tqdm.write: said while a bar runs (the catalog's embedding says how many it embedded), it was written over the
    # bar's line, "…43.02product/sembedded 79 of 79 products"; now the bar is cleared, the line said, the bar drawn again
    with suppress(OSError):  # stderr's disk full (2>/dev/full): the remark is lost, the work goes on
        tqdm.write(one_line(escape_controls(one_field(message)), MAX_LINE), file=sys.stderr)


@contextmanager
def stop_on_ctrl_c() -> Iterator[Callable[[], bool]]:
    """Yields ``stop()``: true once Ctrl-C was pressed. The first Ctrl-C asks the work to stop between steps
    (a training's checkpoint stays valid, a batch keeps the summary of the photos done); a second one kills.
    SIGTERM (a service manager, a scheduler, ``kill``) asks the same: by default it ended the process in the
    middle of a step, with no summary written and nothing said."""
    asked = {"stop": False}

    def handler(signum, _frame) -> None:
        if asked["stop"]:
            raise KeyboardInterrupt
        asked["stop"] = True
        why = "asked to end" if signum == signal.SIGTERM else "Ctrl-C again to abort now"
        note(f"stopping after this step ({why})")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: asked["stop"]
    finally:
        for sig, was in previous.items():
            signal.signal(sig, was)


@contextmanager
def ended_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (a scheduler's timeout, ``kill``) stops the command as Ctrl-C does: the same rollback, the line
    "interrupted; nothing half-written was kept" and exit 130. Only the commands that stop between steps
    (``tag``, ``bundle``, ``train``) took it so: ``catalog import``, ``search``, ``models activate``, ``eval``
    died at once, exit 143 and not a word. Those commands put their own handler in place while they run."""

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
