"""Exceptions raised by the wire layer (framing, Noise, certificates, websocket transport)."""

from __future__ import annotations

import enum


class WireError(Exception):
    """Base class of every error the wire layer raises."""


class FrameError(WireError):
    """A frame or connection header is malformed or too large."""


class HandshakeError(WireError):
    """The Noise handshake failed: malformed message, failed decryption, or misuse of the API."""


class CertificateFailure(enum.Enum):
    """Why the server's certificate chain was rejected."""

    MALFORMED = "malformed"
    MISSING_PART = "missing_part"
    SIGNATURE_LENGTH = "signature_length"
    INTERMEDIATE_SIGNATURE = "intermediate_signature"
    INTERMEDIATE_ISSUER = "intermediate_issuer"
    INTERMEDIATE_KEY_LENGTH = "intermediate_key_length"
    LEAF_SIGNATURE = "leaf_signature"
    LEAF_ISSUER = "leaf_issuer"
    LEAF_KEY_MISMATCH = "leaf_key_mismatch"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"


class CertificateError(HandshakeError):
    """The server's certificate chain does not check out; ``reason`` says which check failed."""

    def __init__(self, reason: CertificateFailure, message: str) -> None:
        super().__init__(f"server certificate rejected ({reason.value}): {message}")
        self.reason = reason


class DecryptError(WireError):
    """A transport frame failed authentication (wrong key, wrong counter, or tampered bytes)."""


class NonceExhaustedError(WireError):
    """A transport direction used all 2**32 counter values; the connection must be replaced."""


class TransportClosed(WireError):
    """The websocket closed, or was closed by us, while a send or receive was pending."""


class TransportTimeout(WireError):
    """A websocket wait (connect, handshake or receive) ran out of time."""


class ConnectFailed(WireError):
    """The websocket could not be opened (DNS, TCP, TLS, or the HTTP upgrade was refused)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
