"""The cache of a feed's images downloaded by URL, refreshed on each import.

Downloads run before the import's write transaction (a slow server delays the import but never blocks another
writer), each bounded by a deadline and a size cap. A cached copy is rechecked with its server on each import and
replaced only by a whole photo that decodes; a host that does not answer is asked nothing more in that import, so
an offline import keeps every cached copy (``_refreshed``).
"""

from __future__ import annotations

import filecmp
import hashlib
import http.client
import json
import os
import socket
import threading
import time
import urllib.error
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from engine.downloads import (
    Overdue,
    chunks,
    conditional,
    failed_at,
    open_until,
    refused,
    untrusted,
    validators,
)
from engine.errors import Cancelled, CatalogError, DecorLensError
from engine.files import CHUNK_BYTES, TooLarge, create_anew, read_json_bounded, write_atomic
from engine.imageio import CATALOG_MAX_SIDE, IMAGE_SUFFIXES, load_image
from engine.links import has_credentials, without_credentials

if TYPE_CHECKING:
    from engine.importer import ImportRow

DOWNLOAD_TIMEOUT_S = 15.0  # per socket operation
DOWNLOAD_DEADLINE_S = 60.0  # per image, whole download
DOWNLOAD_MAX_BYTES = 50 * 2**20
DOWNLOAD_THREADS = 4
MAX_VALIDATORS_BYTES = 64 << 10  # an ETag and a Last-Modified: a few hundred bytes
SCHEMES = ("http://", "https://")


def download_images(
    rows: Sequence[ImportRow], cache: Path, cancelled: Callable[[], bool] = lambda: False
) -> list[ImportRow]:
    """Rows with http(s) images replaced by their downloaded copy in ``cache`` (or a skip reason).

    Runs before the import's transaction, so a slow server delays the import but never blocks
    another writer; each download is bounded by ``DOWNLOAD_DEADLINE_S`` and ``DOWNLOAD_MAX_BYTES``.
    An image already in the cache is rechecked (``_refreshed``); a row whose cached copy could not be
    refreshed keeps it and says why in ``kept``. A feed downloaded from the web (``ImportRow.from_web``) may not
    lead to this computer's own addresses (``engine.downloads.open_until``): such a row is skipped, cached or not.
    """
    remote = [i for i, r in enumerate(rows) if not r.skip and r.image.lower().startswith(SCHEMES)]
    if not remote:
        return list(rows)
    out = list(rows)
    down: dict[str, str] = {}  # host -> why it failed: this import asks it nothing more
    with ThreadPoolExecutor(max_workers=DOWNLOAD_THREADS) as pool:
        # One request a URL: 2,000 products sharing a supplier's "no photo yet" picture downloaded it 2,000 times
        # an import (a server giving no validators sends it whole each time), and raced on its one cache file.
        led = {rows[i].image: _led_from(rows[i].from_web) for i in remote}
        futures = {url: pool.submit(_fetch, url, cache, down, led[url]) for url in led}
        try:
            for i in remote:
                if cancelled():
                    raise Cancelled("import cancelled; the catalog is unchanged")
                try:
                    path, kept = futures[rows[i].image].result()
                    out[i] = replace(rows[i], image=str(path), image_url=rows[i].image, kept=kept)
                except DecorLensError as exc:
                    out[i] = replace(rows[i], skip=str(exc))
        finally:
            for future in futures.values():
                future.cancel()
    return out


def _led_from(feed_origin: str) -> str:
    """What ``open_until`` is told led to a feed's image URLs: its web origin, if it has one."""
    return f"the feed was downloaded from {without_credentials(feed_origin)[:200]}" if feed_origin else ""


def _fetch(url: str, cache: Path, down: dict[str, str], led_from: str) -> tuple[Path, str]:
    """``url``'s copy in ``cache``, and why a cached copy was kept unrefreshed ("" when it is the server's)."""
    if has_credentials(url):  # urllib never sends them; the lookup of "user:pw@host" failed naming the password
        raise CatalogError(f"{without_credentials(url)}: a user name or password in an image URL is never sent; "
                           "give a URL that needs none, or a local path")
    suffix = Path(url.split("?")[0].split("#")[0]).suffix.lower()
    target = cache / (hashlib.sha256(url.encode()).hexdigest()[:24] + (suffix if suffix in IMAGE_SUFFIXES else ""))
    if target.is_file():
        return target, _refreshed(url, target, down, led_from)
    cache.mkdir(parents=True, exist_ok=True)
    try:
        _store(url, target, None, led_from)
    except Overdue as exc:
        raise CatalogError(f"{url}: download took longer than {DOWNLOAD_DEADLINE_S:g} s; skipped") from exc
    except _NOT_DOWNLOADED as exc:
        _check_refused(url, exc)
        raise CatalogError(f"cannot download {url} ({_reason(exc)}); {_advice(exc)}") from exc
    return target, ""


def _check_refused(url: str, exc: BaseException) -> None:
    """A ``CatalogError`` when ``exc`` is a connection to this computer's own address, refused: the row is skipped
    (a copy cached before is not used either: the feed that names it now may not reach it)."""
    if why := refused(exc):
        raise CatalogError(f"{url}: not downloaded: {why}") from exc


def _refreshed(url: str, target: Path, down: dict[str, str], led_from: str) -> str:
    """Recheck ``target``, the cached copy of ``url``: "" once it holds the server's current photo, else why it was
    kept as it is. A supplier's weekly feed replaces photos at the same URL; a cache never rechecked showed and
    matched the old photo for ever.

    The request is conditional on the validators kept with the copy (ETag, Last-Modified): 304 keeps it. A server
    that sends neither answers with the whole photo each time; that costs a download per import but is the only
    way to see a replaced photo (a max-age would leave it stale for a time the supplier did not choose, and an
    import is a user's explicit "take this week's feed"), and bytes equal to the copy leave it untouched.

    The import works offline: a host that does not answer (or answers 5xx) is asked nothing more in this import
    (``down``), so 2,000 rows cost one timeout, not 2,000, and every row keeps its copy. An answer of 4xx, a
    photo over the size limit or one that does not decode keeps the copy too: a cached photo is only ever
    replaced by a whole, decodable one.
    """
    host = urlsplit(url).netloc
    if host in down:
        return down[host]
    try:
        _store(url, target, _kept_validators(target), led_from)
    except CatalogError as exc:
        return str(exc)
    except urllib.error.HTTPError as exc:  # an error's answer: a 4xx is this photo's, a 5xx the server's
        if exc.code < 500:
            return f"{url}: HTTP {exc.code} {_reason(exc)}"
        down[host] = why = f"{_host(exc, url)}: HTTP {exc.code} {_reason(exc)}"
        return why
    except _NOT_DOWNLOADED as exc:  # no answer: offline, refused, timed out, not HTTP
        _check_refused(url, exc)
        down[host] = why = f"{_host(exc, url)}: {_reason(exc)}"
        return why
    return ""


def _host(exc: BaseException, url: str) -> str:
    """The host a download of ``url`` failed at: its own, or a redirect's."""
    return urlsplit(failed_at(exc, url)).netloc


def _store(url: str, target: Path, kept: dict[str, str] | None, led_from: str) -> None:
    """Download ``url`` into ``target`` through ``NAME.part``, renamed over it only once whole: a download cut
    short never replaces anything. ``kept``: the validators of the copy ``target`` holds (None: no copy), which
    is then replaced only by other bytes that decode; the validators are written after the photo, so a crash
    between the two asks for the photo again rather than keeping an old one as current."""
    tmp = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        answer = _download(url, tmp, kept or {}, led_from)
        if answer is None:  # 304 Not Modified
            return
        if kept is None or not filecmp.cmp(tmp, target, shallow=False):
            if kept is not None:
                _check_decodes(url, tmp)
            os.replace(tmp, target)
        _keep_validators(target, answer)
    finally:
        tmp.unlink(missing_ok=True)


def _download(url: str, out: Path, kept: dict[str, str], led_from: str) -> dict[str, str] | None:
    """``url``'s body written to ``out``, and its validators; None when the server says ``kept`` still holds."""
    deadline = time.monotonic() + DOWNLOAD_DEADLINE_S
    try:
        with open_until(conditional(url, kept), DOWNLOAD_TIMEOUT_S, deadline, led_from) as response, create_anew(out) as fh:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > DOWNLOAD_MAX_BYTES:
                raise CatalogError(f"{url}: {int(length) / 2**20:.0f} MiB, over the "
                                   f"{DOWNLOAD_MAX_BYTES / 2**20:.0f} MiB limit for a product image")
            size = 0
            for chunk in chunks(response, deadline, CHUNK_BYTES):
                size += len(chunk)
                if size > DOWNLOAD_MAX_BYTES:
                    raise CatalogError(f"{url}: over the {DOWNLOAD_MAX_BYTES / 2**20:.0f} MiB limit for a product image")
                fh.write(chunk)
            if length.isdigit() and size < int(length):  # http.client's read1 ends quietly at a closed connection
                raise http.client.IncompleteRead(b"", int(length) - size)
            return validators(response.headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and kept:
            return None
        raise


_NOT_DOWNLOADED = (Overdue, urllib.error.URLError, http.client.HTTPException, OSError, ValueError)


def _reason(exc: BaseException) -> str:
    """Why a download failed, in one line: urllib's redirect loop is three."""
    if why := untrusted(exc):
        return why
    if isinstance(exc, Overdue):
        return f"took longer than {DOWNLOAD_DEADLINE_S:g} s"
    if isinstance(exc, http.client.IncompleteRead):
        return f"the connection closed {exc.expected:,} bytes short of the photo"
    if isinstance(getattr(exc, "reason", None), socket.gaierror):  # "[Errno -2] Name or service not known"
        return "its server was not found: no internet connection, or a wrong address"
    return " ".join(str(getattr(exc, "reason", None) or exc).split())


def _advice(exc: BaseException) -> str:
    """What to do about a download that failed: a certificate not trusted (``untrusted``) is no connection lost."""
    if untrusted(exc):
        return "the computer's date or its certificates may be wrong; or use local image paths"
    return "offline? use local image paths"


def _check_decodes(url: str, path: Path) -> None:
    """A replacement for a cached photo must decode: a maintenance page served as 200 would otherwise replace a
    good photo, then be refused by the import (and the cached copy lost with it)."""
    try:
        load_image(path, max_side=CATALOG_MAX_SIDE)
    except DecorLensError as exc:
        raise CatalogError(str(exc).replace(str(path), f"{url} (a new photo, refused)")) from exc


def validators_file(image: Path) -> Path:
    """Where the validators of the cached ``image`` are kept."""
    return image.with_name(image.name + ".http")


def _kept_validators(image: Path) -> dict[str, str]:
    """The validators kept with ``image`` (``_keep_validators``); none when unreadable: the photo is then
    fetched whole and compared. Read as ``read_json_bounded`` reads a file another program may have replaced: a
    FIFO under its name blocked the import for ever, and JSON nested 100,000 deep ended it in RecursionError."""
    try:
        kept = read_json_bounded(validators_file(image), MAX_VALIDATORS_BYTES)
    except (OSError, TooLarge, ValueError, RecursionError):
        return {}
    return kept if isinstance(kept, dict) else {}


def _keep_validators(image: Path, found: dict[str, str]) -> None:
    """``found`` written beside ``image`` (none found: the file removed)."""
    path = validators_file(image)
    if found:
        write_atomic(path, json.dumps(found))
    else:
        path.unlink(missing_ok=True)
