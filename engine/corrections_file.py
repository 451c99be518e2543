"""Where and in what format the app keeps a photo's corrections: one source for the app, which writes them, and
for ``training`` and the scene memory, which read them (``training`` does not import the app).

A file is ``<data dir>/corrections/<stem>-<sha[:16]>.json`` (``app/corrections.py`` writes it); one the app
cannot read is renamed ``….unreadable.json`` and kept.
"""

FOLDER = "corrections"
FORMAT = "decorlens-corrections/1"
FORMAT_PREFIX = "decorlens-corrections/"  # any version of the format
DETECTOR = "detector"  # a tag's origin: found by the detector
USER = "user"  # drawn by hand
MOVED_ASIDE = ".unreadable.json"
