"""The server's Noise certificate chain: strict verification, and issuing chains for our sandbox.

The ServerHello payload is a ``CertChain{leaf, intermediate}``. The root key signs the
intermediate's details; the intermediate's key signs the leaf's details; the leaf's key must be
the static key the server used in the handshake. Verification is as strict as whatsmeow's
(``handshake.go`` ``verifyServerCert``), which checks more than Baileys does: leaf issuer serial,
leaf key against the decrypted static key, and both validity windows.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from daemon.crypto import curve
from daemon.wire.errors import CertificateError, CertificateFailure
from waproto import wa_cert_pb2

WA_ROOT_PUBLIC_KEY = bytes.fromhex(
    "142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b"
)
"""WhatsApp's certificate root (Curve25519), the default trust anchor."""

ROOT_SERIAL = 0
"""The serial of the root: every intermediate must name it as its issuer."""

_Certificate = wa_cert_pb2.CertChain.NoiseCertificate


@dataclass(frozen=True, slots=True)
class CertDetails:
    """The signed part of one certificate. Times are unix seconds."""

    serial: int
    issuer_serial: int
    key: bytes
    not_before: int
    not_after: int

    def to_bytes(self) -> bytes:
        return _Certificate.Details(
            serial=self.serial,
            issuerSerial=self.issuer_serial,
            key=self.key,
            notBefore=self.not_before,
            notAfter=self.not_after,
        ).SerializeToString()

    @classmethod
    def from_bytes(cls, data: bytes) -> CertDetails:
        try:
            message = _Certificate.Details.FromString(data)
        except DecodeError as exc:
            raise CertificateError(
                CertificateFailure.MALFORMED, f"certificate details do not parse: {exc}"
            ) from exc
        return cls(
            serial=message.serial,
            issuer_serial=message.issuerSerial,
            key=message.key,
            not_before=message.notBefore,
            not_after=message.notAfter,
        )

    def valid_at(self, now: float) -> bool:
        return self.not_before <= now <= self.not_after


@dataclass(frozen=True, slots=True)
class VerifiedChain:
    """A chain that passed every check."""

    intermediate: CertDetails
    leaf: CertDetails

    @property
    def server_static(self) -> bytes:
        return self.leaf.key


def verify_cert_chain(
    chain: bytes, *, server_static: bytes, now: float, root_key: bytes = WA_ROOT_PUBLIC_KEY
) -> VerifiedChain:
    """Checks a serialized CertChain; raises CertificateError naming the first failed check."""
    try:
        message = wa_cert_pb2.CertChain.FromString(chain)
    except DecodeError as exc:
        raise CertificateError(
            CertificateFailure.MALFORMED, f"certificate chain does not parse: {exc}"
        ) from exc
    parts = (
        message.intermediate.details,
        message.intermediate.signature,
        message.leaf.details,
        message.leaf.signature,
    )
    if not (message.HasField("intermediate") and message.HasField("leaf")) or not all(parts):
        raise CertificateError(
            CertificateFailure.MISSING_PART, "leaf or intermediate details/signature missing"
        )
    for name, certificate in (("intermediate", message.intermediate), ("leaf", message.leaf)):
        if len(certificate.signature) != curve.SIGNATURE_LENGTH:
            raise CertificateError(
                CertificateFailure.SIGNATURE_LENGTH,
                f"{name} signature is {len(certificate.signature)} bytes, expected 64",
            )

    if not curve.verify(root_key, message.intermediate.details, message.intermediate.signature):
        raise CertificateError(
            CertificateFailure.INTERMEDIATE_SIGNATURE,
            "intermediate is not signed by the trusted root",
        )
    intermediate = CertDetails.from_bytes(message.intermediate.details)
    if intermediate.issuer_serial != ROOT_SERIAL:
        raise CertificateError(
            CertificateFailure.INTERMEDIATE_ISSUER,
            f"intermediate issuer serial is {intermediate.issuer_serial}, expected {ROOT_SERIAL}",
        )
    if len(intermediate.key) != curve.KEY_LENGTH:
        raise CertificateError(
            CertificateFailure.INTERMEDIATE_KEY_LENGTH,
            f"intermediate key is {len(intermediate.key)} bytes, expected 32",
        )
    if not curve.verify(intermediate.key, message.leaf.details, message.leaf.signature):
        raise CertificateError(
            CertificateFailure.LEAF_SIGNATURE, "leaf is not signed by the intermediate key"
        )
    _check_validity("intermediate", intermediate, now)

    leaf = CertDetails.from_bytes(message.leaf.details)
    if leaf.issuer_serial != intermediate.serial:
        raise CertificateError(
            CertificateFailure.LEAF_ISSUER,
            f"leaf issuer serial is {leaf.issuer_serial}, "
            f"expected the intermediate's serial {intermediate.serial}",
        )
    if not hmac.compare_digest(leaf.key, server_static):
        raise CertificateError(
            CertificateFailure.LEAF_KEY_MISMATCH,
            "leaf key differs from the static key the server used in the handshake",
        )
    _check_validity("leaf", leaf, now)
    return VerifiedChain(intermediate=intermediate, leaf=leaf)


def _check_validity(name: str, details: CertDetails, now: float) -> None:
    if now < details.not_before:
        raise CertificateError(
            CertificateFailure.NOT_YET_VALID,
            f"{name} is valid from {details.not_before}, now is {int(now)}",
        )
    if now > details.not_after:
        raise CertificateError(
            CertificateFailure.EXPIRED,
            f"{name} expired at {details.not_after}, now is {int(now)}",
        )


def sign_certificate(issuer_private: bytes, details: CertDetails) -> bytes:
    """A serialized NoiseCertificate: ``details`` signed by the issuer's Curve25519 key."""
    return _signed(issuer_private, details).SerializeToString()


def _signed(issuer_private: bytes, details: CertDetails) -> wa_cert_pb2.CertChain.NoiseCertificate:
    raw = details.to_bytes()
    return _Certificate(details=raw, signature=curve.sign(issuer_private, raw))


def build_cert_chain(
    *,
    root_private: bytes,
    intermediate: curve.KeyPair,
    leaf_key: bytes,
    not_before: int,
    not_after: int,
    intermediate_serial: int = 1,
    leaf_serial: int = 2,
) -> bytes:
    """A serialized CertChain for a server whose Noise static public key is ``leaf_key``.

    Our sandbox plays WhatsApp's part with its own root: clients must trust the root's public
    key (``curve.public_key(root_private)``) instead of WA_ROOT_PUBLIC_KEY.
    """
    intermediate_details = CertDetails(
        serial=intermediate_serial,
        issuer_serial=ROOT_SERIAL,
        key=intermediate.public,
        not_before=not_before,
        not_after=not_after,
    )
    leaf_details = CertDetails(
        serial=leaf_serial,
        issuer_serial=intermediate_serial,
        key=leaf_key,
        not_before=not_before,
        not_after=not_after,
    )
    chain = wa_cert_pb2.CertChain(
        intermediate=_signed(root_private, intermediate_details),
        leaf=_signed(intermediate.private, leaf_details),
    )
    return chain.SerializeToString()
