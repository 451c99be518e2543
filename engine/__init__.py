"""DecorLens inference engine: detect decor in a room photo, place tags, match objects to a catalog.

Nothing under ``engine`` imports torch or Qt, so the installed app searches with onnxruntime alone.
"""

import os

# onnxruntime (1.2x+ on Linux too) writes a device id and an event store under ~/.cache/Microsoft and a
# session file in the temp folder unless told not to, before any session exists: an offline app keeps
# nothing outside its data dir. Set here, before anything under engine can import onnxruntime.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
