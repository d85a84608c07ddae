"""Exceptions of the Signal layer.

Every failure leaves the caller's records untouched: the core functions build new records and
only return them on success.

A receiver needs three answers from a failed decrypt, and the hierarchy gives them:

- ``DuplicateMessageError``: the message key was already used (or dropped as too old). Not a
  failure: WhatsApp clients ignore it and send no retry receipt.
- ``DecryptionError`` and its subclasses: this message cannot be decrypted here; the remedy is a
  retry receipt (which may carry a fresh prekey bundle).
- ``UntrustedIdentityError``: the store refused the peer's identity key; nothing was decrypted.
"""

from __future__ import annotations

from daemon.crypto.curve import CurveError


class SignalError(Exception):
    """Base of every error raised by daemon.signal."""


class InvalidKeyError(SignalError, CurveError):
    """A public or private key has the wrong length, type byte or value."""


class InvalidSignatureError(SignalError):
    """A signature does not verify (for example a signed prekey in a bundle)."""


class UntrustedIdentityError(SignalError):
    """The store does not trust this identity key for this address."""

    def __init__(self, address: str, identity_key: bytes) -> None:
        super().__init__(f"untrusted identity key for {address}: {identity_key.hex()}")
        self.address = address
        self.identity_key = identity_key


class CorruptRecordError(SignalError):
    """Stored bytes are not a record this version can read."""


class NoSessionError(SignalError):
    """There is no usable session (or own sender key) to encrypt with."""


class DuplicateMessageError(SignalError):
    """The message's counter is behind the chain and its key is no longer kept.

    Either the message was already decrypted (a redelivery after a crash before the ack) or it is
    so old that its skipped key was dropped. Not a decryption failure.
    """


class DecryptionError(SignalError):
    """An incoming message cannot be decrypted with the state we have."""


class InvalidMessageError(DecryptionError):
    """The message bytes are malformed: truncated, bad protobuf, missing fields, bad padding."""


class InvalidVersionError(InvalidMessageError):
    """The message version byte is not 0x3_ (legacy or unknown protocol version)."""


class InvalidPaddingError(InvalidMessageError):
    """The decrypted plaintext does not end in valid WhatsApp padding."""


class InvalidMacError(DecryptionError):
    """No session's keys authenticate this message (tampered, or a session we do not have)."""


class BadMessageSignatureError(InvalidSignatureError, DecryptionError):
    """A sender key message's signature does not verify with the sender's signing key."""


class NoSessionForMessageError(NoSessionError, DecryptionError):
    """A ``msg`` arrived from an address with which we have no session."""


class MissingPreKeyError(DecryptionError):
    """A prekey message names a (signed) prekey we do not have (used up or never issued)."""


class TooFarInFutureError(DecryptionError):
    """The message counter or iteration jumps further ahead than the limit allows."""


class NoSenderKeyError(DecryptionError):
    """A group message names a sender key id we never received a distribution message for."""
