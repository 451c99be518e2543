"""Hostile input, ninth review's leftover: a feed downloaded from the web could still make DecorLens ask this
computer through its own address on the LAN (its 192.168.x.y), which ``own_address`` took for a shop's NAS. The
addresses of this computer's own network interfaces are its own now (``engine.downloads.interface_addresses``)."""

from __future__ import annotations

from pathlib import Path

from engine.downloads import interface_addresses, own_address
from tests.test_hostile_review9 import Server, _downloaded, _feed, _lan_address

WEB = "https://feeds.example.com/shop.csv"


def test_a_feed_from_the_web_cannot_reach_this_computer_through_its_lan_address(tmp_path: Path) -> None:
    lan = Server(_lan_address())  # skips on a machine with no address but loopback
    try:
        images = [f"http://{lan.host}:{lan.port}/a.jpg", f"http://{lan.host}:{lan.port}/to/127.0.0.1:{lan.port}/b"]
        web = _downloaded(_feed(tmp_path, images, origin=WEB), tmp_path / "web")
        assert all("is this computer's own address (network interface), and " in row.skip for row in web), web
        assert lan.asked == [], "a feed from the web made DecorLens ask this computer through its LAN address"

        (tmp_path / "disk").mkdir()
        here = _downloaded(_feed(tmp_path / "disk", images[:1]), tmp_path / "here")
        assert here[0].skip == "" and lan.asked == ["/a.jpg"], "a feed on this computer's disk reaches its server"
    finally:
        lan.stop()


def test_this_computers_interface_addresses_are_its_own() -> None:
    """Read as the kernel lists them (on Linux ``socket.getaddrinfo(socket.gethostname())`` answers 127.0.1.1)."""
    lan = _lan_address()
    assert any(str(address) == lan for address in interface_addresses())
    assert own_address(lan) == "network interface"
    assert own_address("192.168.255.254" if lan != "192.168.255.254" else "10.255.255.254") == ""
