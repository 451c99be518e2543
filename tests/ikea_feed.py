"""A DecorLens feed of chosen shared IKEA products, so a test can import a small real catalog of its own."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

COLUMNS = ("sku", "name", "category", "image")


def write_feed(ikea: Path, rows: Iterable[dict[str, str]], feed: Path, extra: Iterable[Iterable[str]] = ()) -> Path:
    """``products.csv`` rows as a feed naming the shared photos by absolute path; ``extra`` rows are
    written as they are (a hostile product, say)."""
    with open(feed, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows([r["product_id"], r["name"], r["category"], str(ikea / r["image"])] for r in rows)
        writer.writerows(extra)
    return feed
