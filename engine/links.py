"""Which catalog URLs may become links.

Product URLs come from feeds and bundles, which are untrusted: a ``javascript:``, ``data:``, ``file:`` or
``smb:`` URL turned into a link runs script in an exported page or hands a local file to the OS, and one naming a
user before its host (``https://www.ikea.com@evil.example/``) opens another site than it reads as. This is the one
place that decides; the HTML export, the GUI and anything else that renders a URL ask it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

SAFE_SCHEMES = frozenset({"http", "https"})
# Browsers drop these anywhere in a URL before parsing it, so "java\tscript:" is "javascript:" to them.
_IGNORED_BY_BROWSERS = str.maketrans("", "", "\t\n\r")


def safe_link(url: str | None) -> str | None:
    """``url`` cleaned if it is an absolute http(s) URL with a host, else ``None`` (show it as text, if at all)."""
    if not url:
        return None
    cleaned = url.translate(_IGNORED_BY_BROWSERS).strip()
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in cleaned) or "\\" in cleaned:
        return None
    try:
        parts = urlsplit(cleaned)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.hostname or has_credentials(cleaned):
        return None
    return cleaned


def has_credentials(url: str) -> bool:
    """Whether ``url`` names a user or password before its host (``https://user:pw@host/``).

    As a link, ``https://www.ikea.com@evil.example/`` reads as IKEA's and opens evil.example, and a real
    password would be published on every exported page. As a download, urllib never sends them: it looked up
    "user:pw@host" as a host name, failed, and the message printed the password."""
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False


def without_credentials(url: str) -> str:
    """``url`` for a message: a user name and password before its host shown as ``…@``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="…@" + parts.netloc.rpartition("@")[2]).geturl()
