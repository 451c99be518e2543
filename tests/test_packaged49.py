"""The packaged app's HTTPS on a distribution other than the build machine's. Found walking the app built in session
49: it bundles the Debian build machine's OpenSSL, which looks for certificates in /usr/lib/ssl only, so where that
folder is missing (Fedora, openSUSE, Arch) a feed's image URLs failed "CERTIFICATE_VERIFY_FAILED … offline?" (shown
on the built app, that folder hidden in a mount namespace). build.spec's runtime hook names the system's store."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import ssl
from pathlib import Path

import certifi
import pytest

ROOT = Path(__file__).resolve().parent.parent
HOOK = ROOT / "scripts" / "pyi_rth_system_certs.py"


def _hook():
    """The runtime hook as a module (it acts at import only in a frozen app on Linux)."""
    spec = importlib.util.spec_from_file_location("pyi_rth_system_certs", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compiled_in(folder: Path) -> ssl.DefaultVerifyPaths:
    """OpenSSL's own certificate paths, as the build machine's libssl has them compiled in, under ``folder``."""
    return ssl.DefaultVerifyPaths(None, None, "SSL_CERT_FILE", str(folder / "cert.pem"), "SSL_CERT_DIR",
                                  str(folder / "certs"))


@pytest.fixture
def no_user_store(monkeypatch):
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)  # put back as it was after the test, whatever the hook set


def test_the_systems_store_is_named_where_the_bundled_openssls_folder_is_missing(no_user_store, tmp_path: Path):
    """As on Fedora: no /usr/lib/ssl, the store in /etc/pki/tls/certs/ca-bundle.crt; OpenSSL then loads it."""
    bundle = tmp_path / "etc" / "pki" / "tls" / "certs" / "ca-bundle.crt"
    bundle.parent.mkdir(parents=True)
    shutil.copyfile(certifi.where(), bundle)
    hook = _hook()
    said = hook.use_system_certificates(os.environ, _compiled_in(tmp_path / "usr" / "lib" / "ssl"),
                                        [str(tmp_path / "etc" / "ssl" / "certs" / "ca-certificates.crt"), str(bundle)])
    assert said == "SSL_CERT_FILE" and os.environ["SSL_CERT_FILE"] == str(bundle)
    assert ssl.create_default_context().cert_store_stats()["x509_ca"] > 100


def test_a_folder_of_certificates_is_named_where_no_bundle_file_is(no_user_store, tmp_path: Path):
    folder = tmp_path / "certs"
    folder.mkdir()
    shutil.copyfile(certifi.where(), folder / "roots.pem")
    environ: dict[str, str] = {}
    said = _hook().use_system_certificates(environ, _compiled_in(tmp_path / "missing"), [], [str(folder)])
    assert said == "SSL_CERT_DIR" and environ == {"SSL_CERT_DIR": str(folder)}


def test_the_build_distributions_own_store_and_the_users_choice_are_left_alone(tmp_path: Path):
    """Where the bundled OpenSSL finds its folder (Debian, Ubuntu) nothing is set; a user's SSL_CERT_FILE stands."""
    own = tmp_path / "ssl"
    own.mkdir()
    shutil.copyfile(certifi.where(), own / "cert.pem")
    other = tmp_path / "ca-bundle.crt"
    shutil.copyfile(certifi.where(), other)
    hook = _hook()
    environ: dict[str, str] = {}
    assert hook.use_system_certificates(environ, _compiled_in(own), [str(other)]) is None and environ == {}
    environ = {"SSL_CERT_FILE": "/opt/store/company-ca.pem"}
    assert hook.use_system_certificates(environ, _compiled_in(tmp_path / "missing"), [str(other)]) is None
    assert environ == {"SSL_CERT_FILE": "/opt/store/company-ca.pem"}


def test_build_spec_runs_the_hook_in_the_packaged_app():
    hooks = re.search(r"runtime_hooks=\[(.*?)\]", (ROOT / "build.spec").read_text(encoding="utf-8")).group(1)
    assert 'ROOT / "scripts" / "pyi_rth_system_certs.py"' in hooks and HOOK.is_file()
