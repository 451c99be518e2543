"""The main window's parts, one widget per file, named for what a user sees (the photo, the pins, the catalog)."""
