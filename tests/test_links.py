"""The one rule for turning a catalog URL into a link: absolute http(s) with a host, nothing else."""

import pytest

from engine.links import safe_link


@pytest.mark.parametrize("url", [
    "https://www.ikea.com/se/en/p/stocksund-sofa-s69033545/",
    "http://shop.example:8080/p?id=1&x=2",
    "  HTTPS://SHOP.EXAMPLE/p  ",
])
def test_web_links_pass(url):
    assert safe_link(url) == url.strip()


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "file:///etc/passwd",
    "smb://server/share", "//evil.example/x", "/relative/path", "https:///nohost", "http://[::1",
    "https://ex\x00ample.com", "https:\\\\evil.example", "", None, "mailto:a@b.c", "ftp://host/f",
])
def test_everything_else_is_refused(url):
    assert safe_link(url) is None
