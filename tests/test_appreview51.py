"""A closed main window starts no work of its own: the app's return to the front and its folder's changes on disk.

The window's close stops its workers (``Runner.shutdown``) and saves its settings, but the window itself stays while
Python holds it (tests, a second window): the app's return to the front then opened its photo again, changed on disk
(a search on the engine, the scene memory and the settings written after the close), rechecked its thumbnails, and
its Photos strip's folder watch listed the folder again. Real files in a temp folder, the main window (offscreen), the
app's front/back signal emitted as the system emits it; nothing may start once it closed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.test_relist51 import jpeg, photos_in

pytestmark = pytest.mark.gui
WAIT_MS = 60_000


def come_back(qapp) -> None:
    """The app comes back to the front, from the program the photos were edited in."""
    qapp.applicationStateChanged.emit(Qt.ApplicationState.ApplicationInactive)
    qapp.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)


@pytest.fixture
def closed(qtbot, main_window, fresh_pipeline, tmp_path: Path):
    """A main window that opened a folder of three photos (the first open, every tile made), then closed."""
    folder = tmp_path / "room photos"
    photos = photos_in(folder, "a.jpg", "b.jpg", "c.jpg")
    window = main_window(fresh_pipeline, (1280, 800))
    with qtbot.waitSignal(window.controller.opened, timeout=WAIT_MS):
        window.open_paths([folder])
    qtbot.waitUntil(lambda: window.photo_list.photos == photos and window._listing is None, timeout=WAIT_MS)
    runners = (window.engine, window.io, window.saver, window.thumb_loader)
    qtbot.waitUntil(lambda: window.controller.scene is not None and not any(r.busy() for r in runners),
                    timeout=WAIT_MS)
    window.close()
    return window


def test_a_closed_window_does_not_look_at_its_photo_or_thumbnails_when_the_app_comes_back(qapp, closed):
    """The open photo changed on disk: the closed window's controller looked at it (and opened it again) and its
    thumbnail cache rechecked its tiles, each on a worker its close had stopped."""
    closed.photo_list.photos[0].write_bytes(jpeg((200, 0, 0), (60, 90)))
    come_back(qapp)
    assert not closed.io.busy()  # the controller's look
    assert closed.thumbnails._rechecking is None  # the tiles' recheck


def test_a_closed_windows_strip_does_not_list_its_folder_again(qtbot, closed):
    """A photo added to the folder: the closed window's strip asked for its folder to be listed again, and the window
    listed it on its stopped io worker (the strip took the new photo)."""
    strip = closed.photo_list
    photos = list(strip.photos)
    with qtbot.waitSignal(strip._recheck_soon.timeout, timeout=WAIT_MS):  # the folder's watch, after the burst
        (photos[0].parent / "d.jpg").write_bytes(jpeg((0, 200, 0)))
    assert not closed.io.busy()  # the folder's listing
    assert closed.thumbnails._rechecking is None  # the tiles' recheck
    assert strip.photos == photos


def test_a_recent_photo_looked_for_does_not_open_over_the_photo_asked_for_meanwhile(
        qtbot, main_window, fresh_pipeline, tmp_path: Path):
    """Open Recent's entry is looked for in a worker first (a sleeping disk takes seconds): a photo dropped meanwhile
    opened, then the recent one opened over it once its look ended."""
    recent, dropped = photos_in(tmp_path / "photos", "recent.jpg", "dropped.jpg")
    window = main_window(fresh_pipeline, (1280, 800))
    window.settings.add_recent(recent)
    window.recent.aboutToShow.emit()
    window.recent.actions()[0].trigger()  # its look starts on the io worker
    window.open_paths([dropped])
    runners = (window.engine, window.io, window.saver, window.thumb_loader)
    qtbot.waitUntil(lambda: window.controller.scene is not None and not any(r.busy() for r in runners),
                    timeout=WAIT_MS)
    assert window.controller.path == dropped
