"""PyInstaller runtime hook of the packaged app (build.spec): HTTPS trusts this computer's certificate store.

The app bundles the build machine's OpenSSL, whose certificate folder is compiled in: ``/usr/lib/ssl`` on the
Debian build machine. On a distribution that keeps its store elsewhere (Fedora and RHEL ``/etc/pki/tls``, openSUSE
``/etc/ssl/ca-bundle.pem``, Arch ``/etc/ssl``), that folder is missing and every HTTPS download failed its
certificate check ("CERTIFICATE_VERIFY_FAILED … offline? use local image paths"): a feed's image URLs, the model
pack's Download. A Python install uses its distribution's own OpenSSL, so only the packaged app needs this.

Where the bundled OpenSSL finds no store and the user set none (``SSL_CERT_FILE``, ``SSL_CERT_DIR``), the first
store found of the distributions' usual places (the list Go's crypto/x509 searches) is named in ``SSL_CERT_FILE``
or ``SSL_CERT_DIR``, which OpenSSL reads. The system's store, not a bundled copy: it holds a store's own
certificate authority (a company proxy's) and the distribution keeps it up to date.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import MutableMapping, Sequence

CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/tls/cacert.pem",  # OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS, RHEL 7
    "/etc/ssl/cert.pem",  # Alpine
)
CA_DIRS = ("/etc/ssl/certs", "/etc/pki/tls/certs")


def use_system_certificates(environ: MutableMapping[str, str] = os.environ,
                            compiled_in: ssl.DefaultVerifyPaths | None = None,
                            ca_files: Sequence[str] = CA_FILES, ca_dirs: Sequence[str] = CA_DIRS) -> str | None:
    """Name this computer's certificate store in ``environ`` where the bundled OpenSSL's own (``compiled_in``)
    is missing; the variable set, or None where nothing was needed or found."""
    if environ.get("SSL_CERT_FILE") or environ.get("SSL_CERT_DIR"):
        return None
    paths = compiled_in or ssl.get_default_verify_paths()
    if os.path.isfile(paths.openssl_cafile) or _has_files(paths.openssl_capath):
        return None
    for name, found in (("SSL_CERT_FILE", next(filter(os.path.isfile, ca_files), None)),
                        ("SSL_CERT_DIR", next(filter(_has_files, ca_dirs), None))):
        if found:
            environ[name] = found
            return name
    return None


def _has_files(folder: str) -> bool:
    try:
        return os.path.isdir(folder) and any(os.scandir(folder))
    except OSError:
        return False


if getattr(sys, "frozen", False) and sys.platform.startswith("linux"):
    use_system_certificates()
