"""HTTP(S) downloads, shared by the catalog importer (product images) and the model pack (models).

One opener, which follows redirects to http(s) only, and one reader, which hands bytes over as they
arrive and gives up at a deadline. A per-read timeout alone never trips on a server that dribbles a
byte every few seconds, and a plain ``read(n)`` waits for all ``n`` bytes, so nothing moved meanwhile.
``open_until`` holds the status line and headers (a redirect's too) to the same deadline.

Each connection is checked against where its request came from (``open_until``'s ``led_from``, ``_connect``): this
computer's own addresses (``own_address``) are reached only by requests that nothing off this computer led to.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import io
import ipaddress
import itertools
import math
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

FOLLOWED = ("http", "https")  # the schemes a URL, or a redirect, may lead to
_TARGET = "decorlens_redirected_to"  # set on an error met at a redirect's target: that URL
_DEADLINE: ContextVar[float] = ContextVar("decorlens_download_deadline", default=math.inf)  # open_until's


class Refused(OSError):
    """A connection not made: to this computer's own address, for a request that something off it led to."""


@dataclass
class _Route:
    """Where the request being made came from: ``led_from`` is "" while only this computer led to it (a feed on its
    disk, a server on its own address), else what did (a feed downloaded from the web, a redirect's server)."""

    led_from: str


_ROUTE: ContextVar[_Route | None] = ContextVar("decorlens_download_route", default=None)  # open_until's
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # "this host on this network": Linux connects 0.0.0.0 to itself
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_INTERFACES_KEPT = 60.0  # seconds ``interface_addresses`` are kept before being read again
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def own_address(ip: str) -> str:
    """What kind of this computer's own address ``ip`` is ("loopback", "link-local", "multicast", "unspecified",
    "network interface"), or "" for any other (the LAN, the internet). Link-local includes 169.254.169.254, a cloud
    machine's metadata service (its credentials); an IPv4-mapped IPv6 address (``::ffff:127.0.0.1``) is its IPv4
    one. A LAN's private addresses are not this computer's (a shop's image server or NAS is on one), except those
    of its own network interfaces (``interface_addresses``): its 192.168.1.20 reaches what its 127.0.0.1 does."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast or address == _BROADCAST:
        return "multicast"
    if address.is_unspecified or address in _THIS_NETWORK:
        return "unspecified"
    if address in interface_addresses():
        return "network interface"
    return ""


def interface_addresses() -> frozenset[IPAddress]:
    """This computer's own addresses on its networks, read again each ``_INTERFACES_KEPT`` seconds (a laptop joins
    another network): one connection's check costs no more than a set lookup."""
    return _interface_addresses(int(time.monotonic() // _INTERFACES_KEPT))


@functools.lru_cache(maxsize=1)
def _interface_addresses(_period: int) -> frozenset[IPAddress]:
    """What the standard library can tell of them, each way on its own: the host name's addresses (on Windows and
    macOS its interfaces'; on Linux often 127.0.1.1 only), the source address of the route out (IPv4 and IPv6; a
    datagram socket's ``connect`` sends nothing), and on Linux every local address the kernel lists (``/proc``)."""
    found: set[str] = set()
    with contextlib.suppress(OSError):
        found |= {sockaddr[0] for *_, sockaddr in socket.getaddrinfo(socket.gethostname(), None)}
    for family, far in ((socket.AF_INET, "10.255.255.255"), (socket.AF_INET6, "2001:db8::1")):
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((far, 9))
            found.add(probe.getsockname()[0])
    found |= _linux_local_addresses()
    addresses = set()
    for text in found:
        with contextlib.suppress(ValueError):
            addresses.add(ipaddress.ip_address(text.split("%")[0]))  # "fe80::1%eth0": its zone dropped
    return frozenset(addresses)


def _linux_local_addresses() -> set[str]:
    """The IPv4 addresses the kernel routes to itself (``/proc/net/fib_trie``'s "/32 host LOCAL") and the IPv6
    addresses of its interfaces (``/proc/net/if_inet6``); none where there is no such file."""
    found: set[str] = set()
    with contextlib.suppress(OSError):
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
        found |= {before.split()[-1] for before, line in itertools.pairwise(lines) if line.strip() == "/32 host LOCAL"}
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            digits = line.split()[0]
            found.add(":".join(digits[i : i + 4] for i in range(0, 32, 4)))
    return found


def _connect(address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
             source_address: tuple[str, int] | None = None) -> socket.socket:
    """``socket.create_connection`` that checks each address it connects to, as resolved: a name (``localhost``, a
    DNS name resolving to 127.0.0.1, ``2130706433``, ``0x7f.1``) is judged by the address it is, once resolved, and
    that is the address connected to (a second lookup answering otherwise, DNS rebinding, is never made). Refused
    (``Refused``) when the address is this computer's own and something off it led to the request; once connected
    off this computer, a redirect that server sends is led from it."""
    route = _ROUTE.get()
    if route is None:
        return socket.create_connection(address, timeout, source_address)
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        if (own := own_address(sockaddr[0])) and route.led_from:
            error = _refusal(host, sockaddr[0], own, route.led_from)
            continue
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        if not own:
            route.led_from = route.led_from or f"a server elsewhere ({_named(host, sockaddr[0])}) redirected to it"
        return sock
    raise error or OSError(f"{host}: no address found")


def _check_proxied(req: urllib.request.Request) -> None:
    """Through a proxy, the proxy connects: the target's name is checked as it resolves here (``Refused``)."""
    route = _ROUTE.get()
    host = urlsplit(req.full_url).hostname
    if route is None or not route.led_from or not host:
        return
    try:
        found = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except OSError:
        return  # the proxy may know it: its own answer says what happened
    for *_, sockaddr in found:
        if own := own_address(sockaddr[0]):
            raise urllib.error.URLError(_refusal(host, sockaddr[0], own, route.led_from))


def _refusal(host: str, ip: str, own: str, led_from: str) -> Refused:
    """Why ``host``, resolved to ``ip`` (this computer's own address, of kind ``own``), is not asked: ``led_from``."""
    return Refused(f"{_named(host, ip)} is this computer's own address ({own}), and {led_from}")


def _named(host: str, ip: str) -> str:
    """A host as named and, when it is a name (or an odd spelling: ``0x7f.1``), the address it is."""
    return host if host.strip("[]") == ip else f"{host} ({ip})"


def refused(exc: BaseException) -> str:
    """Why ``exc``, raised opening a URL through ``OPENER``, is a connection refused by ``_connect``; "" if not."""
    reason = getattr(exc, "reason", None)
    return str(reason) if isinstance(reason, Refused) else ""


def untrusted(exc: BaseException) -> str:
    """Why ``exc``, raised opening a URL, is a server's certificate this computer does not trust, in words; "" if not.
    No connection lost: said as one ("offline?", "could not reach"), it sent the user to check a network that worked
    (a packaged OpenSSL that did not find the system's certificates, a clock years off, a proxy that inspects TLS)."""
    reason = getattr(exc, "reason", None)
    if not isinstance(reason, ssl.SSLCertVerificationError):
        return ""
    return f"its server's certificate is not trusted here: {reason.verify_message}"


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _HTTPSConnection(http.client.HTTPSConnection):
    response_class = _Response

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


def _proxied(req: urllib.request.Request) -> bool:
    """Whether ``req`` goes through a proxy (an http one is sent its whole URL, an https one tunnelled)."""
    return req.has_proxy() or bool(getattr(req, "_tunnel_host", None))


def _open_checked(handler: urllib.request.AbstractHTTPHandler, connection: type, req: urllib.request.Request,
                  **kwargs: Any) -> http.client.HTTPResponse:
    """``handler.do_open`` on ``connection``; through a proxy, the target checked by name and the proxy (often on
    this computer's own address) connected to unchecked."""
    if not _proxied(req):
        return urllib.request.AbstractHTTPHandler.do_open(handler, connection, req, **kwargs)
    _check_proxied(req)
    token = _ROUTE.set(None)
    try:
        return urllib.request.AbstractHTTPHandler.do_open(handler, connection, req, **kwargs)
    finally:
        _ROUTE.reset(token)


class _HTTPHandler(urllib.request.HTTPHandler):
    def do_open(self, http_class: type, req: urllib.request.Request, **kwargs: Any) -> http.client.HTTPResponse:
        return _open_checked(self, _HTTPConnection, req, **kwargs)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def do_open(self, http_class: type, req: urllib.request.Request, **kwargs: Any) -> http.client.HTTPResponse:
        return _open_checked(self, _HTTPSConnection, req, **kwargs)


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


def open_until(url: str | urllib.request.Request, timeout: float, deadline: float,
               led_from: str = "") -> http.client.HTTPResponse:
    """``OPENER.open(url)`` with every read of the answer, from its status line on (and a redirect's), done by
    ``deadline`` (``time.monotonic()``) or ``Overdue``; each read also waits at most ``timeout`` s.

    ``led_from``: what off this computer named ``url`` ("the feed was downloaded from https://…"), or "" when only
    this computer did. This computer's own addresses (``own_address``) are then refused (``refused``), as they are
    to a redirect from a server elsewhere: its "127.0.0.1" or "169.254.169.254" names services of ours that only
    this computer was meant to reach (a database, a router's page, a cloud machine's credentials)."""
    tokens = _DEADLINE.set(deadline), _ROUTE.set(_Route(led_from))
    try:
        return OPENER.open(url, timeout=timeout)
    finally:
        _DEADLINE.reset(tokens[0])
        _ROUTE.reset(tokens[1])


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
