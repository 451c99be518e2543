"""Where a feed file was downloaded from, as the browser that saved it marked it ("mark of the web").

A feed downloaded from the web names image URLs its author chose; it may not make DecorLens ask this computer's own
addresses (``engine.downloads.own_address``). Chrome, Chromium and ``wget``/``curl --xattr`` record a download's URL
in the extended attribute ``user.xdg.origin.url`` on Linux; Windows browsers write a ``Zone.Identifier`` stream
(``ZoneId=3``, the internet, with ``HostUrl``). A feed with no mark (saved by hand, exported by the shop's own
system, copied from a USB stick) is this computer's own, as before. Copying a file keeps the mark only where the
copy does (``cp --preserve=xattr``, Explorer): a mark lost errs towards today's behaviour, never blocks a local feed.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from engine.downloads import own_address

_XATTR = "user.xdg.origin.url"
_ZONE_STREAM = ":Zone.Identifier"
_INTERNET_ZONES = ("3", "4")  # URLZONE_INTERNET, URLZONE_UNTRUSTED
_MARK_MAX = 8192  # bytes read of a mark: a URL, a few lines


def downloaded_from(path: Path) -> str:
    """The URL ``path`` was downloaded from, as marked ("the internet" for a Windows mark naming none); "" when it
    has no mark, or its mark names this computer itself (``localhost``, a loopback address): a feed served by a
    program on this computer is as local as a file of it."""
    origin = _xattr_origin(path) if hasattr(os, "getxattr") else _zone_origin(path)
    return "" if not origin or _from_this_computer(origin) else origin


def _xattr_origin(path: Path) -> str:
    """Linux: the ``user.xdg.origin.url`` attribute (a file system without extended attributes has none)."""
    try:
        return os.getxattr(path, _XATTR)[:_MARK_MAX].decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _zone_origin(path: Path) -> str:
    """Windows: the ``Zone.Identifier`` stream's HostUrl when its zone is the internet's (or untrusted)."""
    try:
        with open(f"{path}{_ZONE_STREAM}", "rb") as stream:
            lines = stream.read(_MARK_MAX).decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    fields = dict(line.strip().partition("=")[::2] for line in lines if "=" in line)
    if fields.get("ZoneId", "").strip() not in _INTERNET_ZONES:
        return ""
    host_url = fields.get("HostUrl", "").strip()
    return host_url if urlsplit(host_url).scheme.lower() in ("http", "https") else "the internet"


def _from_this_computer(url: str) -> bool:
    """Whether ``url`` is this computer's by its text alone: a ``file:`` URL, or a host that is ``localhost`` or one
    of its own addresses."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return False
    if parts.scheme.lower() == "file":
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return bool(own_address(str(ipaddress.ip_address(host))))
    except ValueError:
        return False
