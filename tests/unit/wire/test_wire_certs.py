"""Certificate chain: issuing with our own root, and every check whatsmeow makes."""

from __future__ import annotations

import dataclasses

import pytest

from daemon.crypto import curve
from daemon.wire import certs
from daemon.wire.errors import CertificateError, CertificateFailure
from waproto import wa_cert_pb2

NOW = 1_750_000_000
NOT_BEFORE = NOW - 3600
NOT_AFTER = NOW + 3600

ROOT = curve.KeyPair.generate()
INTERMEDIATE = curve.KeyPair.generate()
SERVER_STATIC = curve.KeyPair.generate()

GOOD_INTERMEDIATE = certs.CertDetails(
    serial=7, issuer_serial=0, key=INTERMEDIATE.public, not_before=NOT_BEFORE, not_after=NOT_AFTER
)
GOOD_LEAF = certs.CertDetails(
    serial=8, issuer_serial=7, key=SERVER_STATIC.public, not_before=NOT_BEFORE, not_after=NOT_AFTER
)


def _chain(
    intermediate: certs.CertDetails = GOOD_INTERMEDIATE,
    leaf: certs.CertDetails = GOOD_LEAF,
    *,
    root_private: bytes = ROOT.private,
    intermediate_private: bytes = INTERMEDIATE.private,
) -> bytes:
    return wa_cert_pb2.CertChain(
        intermediate=wa_cert_pb2.CertChain.NoiseCertificate.FromString(
            certs.sign_certificate(root_private, intermediate)
        ),
        leaf=wa_cert_pb2.CertChain.NoiseCertificate.FromString(
            certs.sign_certificate(intermediate_private, leaf)
        ),
    ).SerializeToString()


def _verify(chain: bytes, *, now: float = NOW, static: bytes = SERVER_STATIC.public) -> None:
    certs.verify_cert_chain(chain, server_static=static, now=now, root_key=ROOT.public)


def _reason(
    chain: bytes, *, now: float = NOW, static: bytes = SERVER_STATIC.public
) -> CertificateFailure:
    with pytest.raises(CertificateError) as caught:
        _verify(chain, now=now, static=static)
    return caught.value.reason


def test_built_chain_verifies() -> None:
    chain = certs.build_cert_chain(
        root_private=ROOT.private,
        intermediate=INTERMEDIATE,
        leaf_key=SERVER_STATIC.public,
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
        intermediate_serial=41,
        leaf_serial=42,
    )
    verified = certs.verify_cert_chain(
        chain, server_static=SERVER_STATIC.public, now=NOW, root_key=ROOT.public
    )
    assert verified.server_static == SERVER_STATIC.public
    assert verified.intermediate == certs.CertDetails(
        41, 0, INTERMEDIATE.public, NOT_BEFORE, NOT_AFTER
    )
    assert verified.leaf.issuer_serial == 41


def test_details_round_trip() -> None:
    assert certs.CertDetails.from_bytes(GOOD_LEAF.to_bytes()) == GOOD_LEAF


def test_validity_edges_are_inclusive() -> None:
    _verify(_chain(), now=NOT_BEFORE)
    _verify(_chain(), now=NOT_AFTER)


def test_default_root_is_whatsapps() -> None:
    with pytest.raises(CertificateError) as caught:
        certs.verify_cert_chain(_chain(), server_static=SERVER_STATIC.public, now=NOW)
    assert caught.value.reason is CertificateFailure.INTERMEDIATE_SIGNATURE


def test_intermediate_signed_by_another_root() -> None:
    chain = _chain(root_private=curve.KeyPair.generate().private)
    assert _reason(chain) is CertificateFailure.INTERMEDIATE_SIGNATURE


def test_flipped_bit_in_intermediate_signature() -> None:
    message = wa_cert_pb2.CertChain.FromString(_chain())
    signature = bytearray(message.intermediate.signature)
    signature[10] ^= 0x01
    message.intermediate.signature = bytes(signature)
    assert _reason(message.SerializeToString()) is CertificateFailure.INTERMEDIATE_SIGNATURE


def test_flipped_bit_in_leaf_details() -> None:
    message = wa_cert_pb2.CertChain.FromString(_chain())
    details = bytearray(message.leaf.details)
    details[-1] ^= 0x01
    message.leaf.details = bytes(details)
    assert _reason(message.SerializeToString()) is CertificateFailure.LEAF_SIGNATURE


def test_leaf_signed_by_root_instead_of_intermediate() -> None:
    assert _reason(_chain(intermediate_private=ROOT.private)) is CertificateFailure.LEAF_SIGNATURE


def test_wrong_intermediate_issuer_serial() -> None:
    intermediate = dataclasses.replace(GOOD_INTERMEDIATE, issuer_serial=1)
    assert _reason(_chain(intermediate)) is CertificateFailure.INTERMEDIATE_ISSUER


def test_wrong_leaf_issuer_serial() -> None:
    leaf = dataclasses.replace(GOOD_LEAF, issuer_serial=GOOD_INTERMEDIATE.serial + 1)
    assert _reason(_chain(leaf=leaf)) is CertificateFailure.LEAF_ISSUER


def test_leaf_key_differs_from_server_static() -> None:
    assert (
        _reason(_chain(), static=curve.KeyPair.generate().public)
        is CertificateFailure.LEAF_KEY_MISMATCH
    )


def test_expired() -> None:
    assert _reason(_chain(), now=NOT_AFTER + 1) is CertificateFailure.EXPIRED


def test_not_yet_valid() -> None:
    assert _reason(_chain(), now=NOT_BEFORE - 1) is CertificateFailure.NOT_YET_VALID


def test_only_the_leaf_expired() -> None:
    leaf = dataclasses.replace(GOOD_LEAF, not_after=NOW - 1)
    with pytest.raises(CertificateError, match="leaf expired"):
        _verify(_chain(leaf=leaf))


def test_intermediate_key_of_wrong_length() -> None:
    intermediate = dataclasses.replace(GOOD_INTERMEDIATE, key=INTERMEDIATE.public[:31])
    assert _reason(_chain(intermediate)) is CertificateFailure.INTERMEDIATE_KEY_LENGTH


def test_missing_leaf() -> None:
    message = wa_cert_pb2.CertChain.FromString(_chain())
    message.ClearField("leaf")
    assert _reason(message.SerializeToString()) is CertificateFailure.MISSING_PART


def test_short_signature() -> None:
    message = wa_cert_pb2.CertChain.FromString(_chain())
    message.leaf.signature = message.leaf.signature[:63]
    assert _reason(message.SerializeToString()) is CertificateFailure.SIGNATURE_LENGTH


def test_garbage_is_malformed() -> None:
    assert _reason(b"\xff\xff\xff") is CertificateFailure.MALFORMED


def test_error_message_names_the_check() -> None:
    with pytest.raises(CertificateError, match=r"\(leaf_key_mismatch\)"):
        _verify(_chain(), static=bytes(32))
