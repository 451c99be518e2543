"""HTTP(S) downloads, shared by the catalog importer (product images) and the model pack (models).

One opener, which follows redirects to http(s) only, and one reader, which hands bytes over as they
arrive and gives up at a deadline. A per-read timeout alone never trips on a server that dribbles a
byte every few seconds, and a plain ``read(n)`` waits for all ``n`` bytes, so nothing moved meanwhile.
``open_until`` holds the status line and headers (a redirect's too) to the same deadline.
"""

from __future__ import annotations

import http.client
import io
import math
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

FOLLOWED = ("http", "https")  # the schemes a URL, or a redirect, may lead to
_TARGET = "decorlens_redirected_to"  # set on an error met at a redirect's target: that URL
_DEADLINE: ContextVar[float] = ContextVar("decorlens_download_deadline", default=math.inf)  # open_until's


class Overdue(Exception):
    """A download passed its deadline (``chunks``); the caller says what that means for it."""


def chunks(stream: BinaryIO, deadline: float, size: int) -> Iterator[bytes]:
    """``stream``'s bytes as they arrive, at most ``size`` at a time, until it ends.

    ``read1`` returns what has come (a dribble shows as it comes: progress moves, and the bytes so far are
    kept); ``Overdue`` is raised once ``time.monotonic()`` has passed ``deadline``, checked after each chunk
    has been handed over. A silent server is the per-read timeout's to end.
    """
    while chunk := stream.read1(size):
        yield chunk
        if time.monotonic() > deadline:
            raise Overdue


class _HttpRedirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, refused unless to http(s), and an error met at a redirect's target marked with it.

    urllib itself follows a redirect to ftp: (which a plain ``urlopen`` then fetches), and an error at a
    redirect's target (a refused connection) reads as if it were the first URL's."""

    def http_error_302(self, req, fp, code, msg, headers):
        target = urljoin(req.full_url, headers.get("location") or headers.get("uri") or "")
        if urlsplit(target).scheme.lower() not in FOLLOWED:
            raise urllib.error.HTTPError(req.full_url, code, f"redirect to {target[:200]} refused, only http(s) is "
                                         "followed", headers, fp)
        try:
            return super().http_error_302(req, fp, code, msg, headers)
        except urllib.error.HTTPError:
            raise  # carries the URL it came from
        except (urllib.error.URLError, http.client.HTTPException) as exc:
            if not hasattr(exc, _TARGET):  # the innermost redirect knows where it failed
                setattr(exc, _TARGET, target)
            raise

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


class _UntilDeadline(io.RawIOBase):
    """A socket's reads, each given the per-read timeout or the time left until ``deadline``, whichever is
    less, and ``Overdue`` once it has passed: http.client reads a status line or header a byte at a time as
    the server sends it, each read well within the timeout, with no end of its own."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock, self._deadline, self._timeout = sock, deadline, sock.gettimeout()
        self._raw = sock.makefile("rb", buffering=0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise Overdue
        self._sock.settimeout(left if self._timeout is None else min(self._timeout, left))
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            if time.monotonic() >= self._deadline:
                raise Overdue from None
            raise

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Socket:
    """What ``HTTPResponse`` takes a socket for: ``makefile``, here reading ``_UntilDeadline``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_UntilDeadline(self._sock, self._deadline))


class _Response(http.client.HTTPResponse):
    """An answer read until the deadline ``open_until`` set in this thread, if it set one."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        deadline = _DEADLINE.get()
        super().__init__(sock if deadline == math.inf else _Socket(sock, deadline), *args, **kwargs)


class _HTTPConnection(http.client.HTTPConnection):
    response_class = _Response


class _HTTPSConnection(http.client.HTTPSConnection):
    response_class = _Response


class _HTTPHandler(urllib.request.HTTPHandler):
    def do_open(self, http_class: type, req: urllib.request.Request, **kwargs: Any) -> http.client.HTTPResponse:
        return super().do_open(_HTTPConnection, req, **kwargs)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def do_open(self, http_class: type, req: urllib.request.Request, **kwargs: Any) -> http.client.HTTPResponse:
        return super().do_open(_HTTPSConnection, req, **kwargs)


def _opener() -> urllib.request.OpenerDirector:
    """http(s) only, redirects included: a URL (or a redirect) cannot reach ftp: or file:."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(), urllib.request.UnknownHandler(), _HTTPHandler(),
        _HTTPSHandler(), urllib.request.HTTPDefaultErrorHandler(),
        _HttpRedirects(), urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


OPENER = _opener()


def open_until(url: str | urllib.request.Request, timeout: float, deadline: float) -> http.client.HTTPResponse:
    """``OPENER.open(url)`` with every read of the answer, from its status line on (and a redirect's), done by
    ``deadline`` (``time.monotonic()``) or ``Overdue``; each read also waits at most ``timeout`` s."""
    token = _DEADLINE.set(deadline)
    try:
        return OPENER.open(url, timeout=timeout)
    finally:
        _DEADLINE.reset(token)


def failed_at(exc: BaseException, url: str) -> str:
    """The URL where a download of ``url`` through ``OPENER`` failed with ``exc``: ``url`` itself, or the
    redirect's target it led to (whose host is then the one that did not answer)."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.filename or url
    return getattr(exc, _TARGET, None) or url


def not_http(exc: http.client.HTTPException) -> str:
    """What ``exc`` (raised reading a server's answer) says, in one short line."""
    detail = " ".join(str(exc).split())
    detail = detail if len(detail) <= 80 else detail[:79] + "…"
    return f"the answer is not valid HTTP ({type(exc).__name__}{': ' + detail if detail else ''})"


# Validators kept with a cached download, sent back to ask for it only if it changed (RFC 9110 §13.1).
VALIDATORS = {"ETag": "If-None-Match", "Last-Modified": "If-Modified-Since"}
_VALIDATOR_MAX = 1024  # characters: a longer one is not kept (a hostile server's, or nobody's)


def validators(headers: Any) -> dict[str, str]:
    """The answer's ETag and Last-Modified, as given, to be kept with its body; empty or overlong ones left out."""
    found = {name: headers.get(name, "").strip() for name in VALIDATORS}
    return {name: value for name, value in found.items() if _sendable(value)}


def conditional(url: str, kept: dict[str, str]) -> urllib.request.Request:
    """A GET of ``url`` that a server answers 304 Not Modified when the body it has is the one ``kept`` (the
    ``validators`` of an earlier answer) describes; with nothing kept, a plain GET."""
    return urllib.request.Request(url, headers={VALIDATORS[name]: value for name, value in kept.items()
                                                if name in VALIDATORS and _sendable(value)})


def _sendable(value: object) -> bool:
    """A validator fit to send back: a short printable ASCII string (http.client refuses a header value holding CR
    or LF, or a character latin-1 cannot encode: the kept file may have been edited)."""
    return isinstance(value, str) and 0 < len(value) <= _VALIDATOR_MAX and value.isascii() and value.isprintable()
