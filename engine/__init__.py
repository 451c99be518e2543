"""DecorLens inference engine: detect decor in a room photo, place tags, match objects to a catalog.

Nothing under ``engine`` imports torch or Qt, so the installed app searches with onnxruntime alone.
"""

__version__ = "0.1.0"
