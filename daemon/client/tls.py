"""Whom the client trusts over TLS: the websocket (``wss://``) and the media hosts (``https://``).

Certificates are always verified. By default the system trust store is used (OpenSSL's default
paths, which honour ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``); ``whatsapp.ca_file`` names a PEM
file of CA certificates to trust *instead* (a private CA in front of the service, or the
sandbox's ``tls.crt``). There is no switch to turn verification off.
"""

from __future__ import annotations

import functools
import ssl

from daemon.client.errors import ClientError


class TrustError(ClientError):
    """The CA file cannot be read or holds no usable certificate."""


def trust_context(ca_file: str = "") -> ssl.SSLContext:
    """A verifying client context: the system trust store, or only ``ca_file``'s CAs.
    Made once per CA file and shared (a context serves many connections)."""
    return _context(ca_file)


@functools.cache
def _context(ca_file: str) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise TrustError(f"cannot load the CA file {ca_file}: {exc}") from None
    if ca_file and not context.get_ca_certs():
        raise TrustError(f"the CA file {ca_file} holds no CA certificate")
    return context


__all__ = ["TrustError", "trust_context"]
