"""Ultralytics' YOLO class, imported without the change its import makes to the whole process.

Importing ultralytics replaces ``PIL.Image.open`` (``ultralytics.utils.patches``): on a file Pillow cannot
identify, the replacement installs the pi-heif package and tries again. DecorLens opens photos from folders, feeds
and bundles it treats as hostile, and refuses in one line what is no photo; once ultralytics was imported, a text
file named .jpg became an attempt to install a package from the network instead (nothing downloads at run time
here), and offline a ``ModuleNotFoundError`` no refusal caught, in every module of the process (the app's
thumbnails included, found by the test suite, where training runs beside them).
"""

from __future__ import annotations

from PIL import Image


def import_yolo() -> type:
    """``ultralytics.YOLO``, with Pillow's own ``Image.open`` put back; ImportError where ultralytics is missing."""
    opener = Image.open
    try:
        from ultralytics import YOLO
    finally:
        Image.open = opener
    return YOLO
