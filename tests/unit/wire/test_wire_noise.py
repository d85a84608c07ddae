"""Noise XX handshake in both roles, WhatsApp's deviation, tampering, and transport counters."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from daemon.crypto import curve
from daemon.wire import certs
from daemon.wire.errors import (
    CertificateError,
    CertificateFailure,
    DecryptError,
    HandshakeError,
    NonceExhaustedError,
)
from daemon.wire.noise import (
    MAX_COUNTER,
    NOISE_PATTERN,
    HandshakeState,
    HandshakeStep,
    NoiseInitiator,
    NoiseResponder,
    NoiseTransport,
    TransportCipher,
)
from waproto import wa_handshake_pb2

NOW = 1_750_000_000
ROOT = curve.KeyPair.generate()
PAYLOAD = wa_handshake_pb2.ClientPayload(
    passive=True, pull=True, username=15551234567, device=3
).SerializeToString()
HandshakeMessage = wa_handshake_pb2.HandshakeMessage


@dataclass
class Pair:
    initiator: NoiseInitiator
    responder: NoiseResponder
    client_static: curve.KeyPair
    server_static: curve.KeyPair


def _chain_for(server_static: bytes, root: curve.KeyPair = ROOT) -> bytes:
    return certs.build_cert_chain(
        root_private=root.private,
        intermediate=curve.KeyPair.generate(),
        leaf_key=server_static,
        not_before=NOW - 10,
        not_after=NOW + 10,
    )


def _pair(*, chain_key: bytes | None = None, root: curve.KeyPair = ROOT) -> Pair:
    client_static, server_static = curve.KeyPair.generate(), curve.KeyPair.generate()
    chain = _chain_for(chain_key or server_static.public, root)
    return Pair(
        initiator=NoiseInitiator(client_static, root_key=ROOT.public, record_trace=True),
        responder=NoiseResponder(server_static, chain, record_trace=True),
        client_static=client_static,
        server_static=server_static,
    )


def _handshake(pair: Pair) -> tuple[NoiseTransport, NoiseTransport]:
    server_hello = pair.responder.read_client_hello(pair.initiator.client_hello())
    pair.initiator.read_server_hello(server_hello, now=NOW)
    finish, client = pair.initiator.client_finish(PAYLOAD)
    finished = pair.responder.read_client_finish(finish)
    return client, finished.transport


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# --- both roles against each other ----------------------------------------------------------


def test_roles_complete_against_each_other() -> None:
    pair = _pair()
    client, server = _handshake(pair)
    assert pair.initiator.state is HandshakeState.DONE
    assert pair.responder.state is HandshakeState.DONE
    assert pair.initiator.handshake_hash == pair.responder.handshake_hash
    assert pair.initiator.trace == pair.responder.trace
    assert [step.step for step in pair.initiator.trace] == list(HandshakeStep)
    assert server.decrypt(client.encrypt(b"to server")) == b"to server"
    assert client.decrypt(server.encrypt(b"to client")) == b"to client"
    assert client.sender.key == server.receiver.key != client.receiver.key == server.sender.key


def test_responder_learns_client_static_and_payload() -> None:
    pair = _pair()
    server_hello = pair.responder.read_client_hello(pair.initiator.client_hello())
    verified = pair.initiator.read_server_hello(server_hello, now=NOW)
    assert verified.server_static == pair.server_static.public
    assert pair.initiator.verified_chain == verified
    finished = pair.responder.read_client_finish(pair.initiator.client_finish(PAYLOAD)[0])
    assert finished.client_static == pair.client_static.public
    assert finished.client_payload == PAYLOAD


def test_first_message_payload_is_not_hashed() -> None:
    # WhatsApp's deviation from the spec: no MixHash(b"") for message 1's empty payload, so h
    # goes from MixHash(client e) straight to MixHash(server e).
    pair = _pair()
    client_hello = pair.initiator.client_hello()
    server_hello = pair.responder.read_client_hello(client_hello)
    client_e = HandshakeMessage.FromString(client_hello).clientHello.ephemeral
    server_e = HandshakeMessage.FromString(server_hello).serverHello.ephemeral

    h = hashlib.sha256(NOISE_PATTERN + b"WA\x06\x03").digest()
    h = hashlib.sha256(h + client_e).digest()
    spec_h = hashlib.sha256(hashlib.sha256(h + b"").digest() + server_e).digest()
    h = hashlib.sha256(h + server_e).digest()

    steps = {step.step: step for step in pair.responder.trace}
    assert steps[HandshakeStep.INIT].h == steps[HandshakeStep.INIT].ck == NOISE_PATTERN
    assert steps[HandshakeStep.SERVER_EPHEMERAL].h == h != spec_h
    assert steps[HandshakeStep.SERVER_EPHEMERAL].k is None


def test_prologue_must_match() -> None:
    server_static = curve.KeyPair.generate()
    initiator = NoiseInitiator(
        curve.KeyPair.generate(), root_key=ROOT.public, prologue=b"WA\x06\x05"
    )
    responder = NoiseResponder(server_static, _chain_for(server_static.public))
    server_hello = responder.read_client_hello(initiator.client_hello())
    with pytest.raises(HandshakeError, match="server_static failed to decrypt"):
        initiator.read_server_hello(server_hello, now=NOW)


# --- the recorded Baileys transcript ---------------------------------------------------------


@pytest.fixture(scope="module")
def noise_doc(vectors_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((vectors_dir / "noise.json").read_text(encoding="utf-8"))
    return doc


def _recorded_key(doc: dict[str, Any], name: str) -> curve.KeyPair:
    return curve.KeyPair.from_private(bytes.fromhex(doc["keys"][name]["private"]))


def test_vector_handshake_byte_exact_in_both_roles(noise_doc: dict[str, Any]) -> None:
    initiator = NoiseInitiator(
        _recorded_key(noise_doc, "client_static"),
        ephemeral=_recorded_key(noise_doc, "client_ephemeral"),
        root_key=bytes.fromhex(noise_doc["keys"]["test_root"]["public"]),
        record_trace=True,
    )
    responder = NoiseResponder(
        _recorded_key(noise_doc, "server_static"),
        bytes.fromhex(noise_doc["cert_chain"]),
        ephemeral=_recorded_key(noise_doc, "server_ephemeral"),
        record_trace=True,
    )
    client_hello = initiator.client_hello()
    assert client_hello.hex() == noise_doc["client_hello_protobuf"]
    server_hello = responder.read_client_hello(client_hello)
    assert server_hello.hex() == noise_doc["server_hello_protobuf"]
    initiator.read_server_hello(server_hello, now=1_800_000_000)
    finish, client = initiator.client_finish(bytes.fromhex(noise_doc["client_payload_protobuf"]))
    assert finish.hex() == noise_doc["client_finish_protobuf"]
    finished = responder.read_client_finish(finish)

    recorded = noise_doc["handshake_trace"]
    ours = [(s.h.hex(), s.ck.hex(), s.k.hex() if s.k else None) for s in responder.trace]
    assert ours == [(s["h"], s["ck"], s.get("k")) for s in recorded[:-1]]
    assert initiator.trace == responder.trace
    assert client.sender.key.hex() == recorded[-1]["client_to_server_key"]
    assert finished.transport.sender.key.hex() == recorded[-1]["server_to_client_key"]


def test_vector_replay_all_cases_pass(noise_doc: dict[str, Any]) -> None:
    from daemon.vectors.noise import replay

    results = replay(noise_doc)
    assert len(results) >= 30
    assert [r for r in results if not r.ok] == []


def test_vector_replay_reports_a_broken_file_as_failures(noise_doc: dict[str, Any]) -> None:
    from daemon.vectors.noise import replay

    broken = json.loads(json.dumps(noise_doc))
    broken["server_hello_protobuf"] = _flip(
        bytes.fromhex(broken["server_hello_protobuf"]), 60
    ).hex()
    failed = {r.name for r in replay(broken) if not r.ok}
    assert "responder/server_hello" in failed
    assert "initiator/client_finish_from_recorded_server_hello" in failed
    assert "initiator/client_hello" not in failed


# --- tampering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "offset"),
    [("ephemeral", 5), ("static", 0), ("static", 47), ("payload", 3), ("payload", -1)],
)
def test_flipped_bit_in_server_hello(field: str, offset: int) -> None:
    pair = _pair()
    message = HandshakeMessage.FromString(
        pair.responder.read_client_hello(pair.initiator.client_hello())
    )
    value = getattr(message.serverHello, field)
    setattr(message.serverHello, field, _flip(value, offset % len(value)))
    with pytest.raises(HandshakeError, match="failed to decrypt"):
        pair.initiator.read_server_hello(message.SerializeToString(), now=NOW)
    assert pair.initiator.state is HandshakeState.FAILED
    with pytest.raises(HandshakeError, match="in state failed"):
        pair.initiator.client_finish(PAYLOAD)


@pytest.mark.parametrize(("field", "offset"), [("static", 7), ("payload", 0), ("payload", -1)])
def test_flipped_bit_in_client_finish(field: str, offset: int) -> None:
    pair = _pair()
    pair.initiator.read_server_hello(
        pair.responder.read_client_hello(pair.initiator.client_hello()), now=NOW
    )
    message = HandshakeMessage.FromString(pair.initiator.client_finish(PAYLOAD)[0])
    value = getattr(message.clientFinish, field)
    setattr(message.clientFinish, field, _flip(value, offset % len(value)))
    with pytest.raises(HandshakeError, match="failed to decrypt"):
        pair.responder.read_client_finish(message.SerializeToString())
    assert pair.responder.state is HandshakeState.FAILED


def test_chain_for_another_key_is_refused() -> None:
    pair = _pair(chain_key=curve.KeyPair.generate().public)
    server_hello = pair.responder.read_client_hello(pair.initiator.client_hello())
    with pytest.raises(CertificateError) as caught:
        pair.initiator.read_server_hello(server_hello, now=NOW)
    assert caught.value.reason is CertificateFailure.LEAF_KEY_MISMATCH
    assert pair.initiator.state is HandshakeState.FAILED


def test_chain_from_untrusted_root_is_refused() -> None:
    pair = _pair(root=curve.KeyPair.generate())
    server_hello = pair.responder.read_client_hello(pair.initiator.client_hello())
    with pytest.raises(CertificateError) as caught:
        pair.initiator.read_server_hello(server_hello, now=NOW)
    assert caught.value.reason is CertificateFailure.INTERMEDIATE_SIGNATURE


def test_expired_chain_is_refused() -> None:
    pair = _pair()
    server_hello = pair.responder.read_client_hello(pair.initiator.client_hello())
    with pytest.raises(CertificateError) as caught:
        pair.initiator.read_server_hello(server_hello, now=NOW + 11)
    assert caught.value.reason is CertificateFailure.EXPIRED


# --- malformed input and misuse ---------------------------------------------------------------


def _after_hello(pair: Pair) -> Callable[[bytes], object]:
    pair.initiator.client_hello()
    return lambda message: pair.initiator.read_server_hello(message, now=NOW)


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (b"\xff\xff", "does not parse"),
        (
            HandshakeMessage(
                clientFinish=HandshakeMessage.ClientFinish(static=bytes(48))
            ).SerializeToString(),
            "no serverHello",
        ),
        (
            HandshakeMessage(
                serverHello=HandshakeMessage.ServerHello(ephemeral=bytes(31))
            ).SerializeToString(),
            "ephemeral key is 31 bytes",
        ),
        (
            HandshakeMessage(
                serverHello=HandshakeMessage.ServerHello(ephemeral=bytes(32), static=bytes(47))
            ).SerializeToString(),
            "server static is 47 bytes",
        ),
        (
            HandshakeMessage(
                serverHello=HandshakeMessage.ServerHello(ephemeral=bytes(32), static=bytes(48))
            ).SerializeToString(),
            "no certificate payload",
        ),
        (
            HandshakeMessage(
                serverHello=HandshakeMessage.ServerHello(
                    ephemeral=bytes(32), static=bytes(48), payload=bytes(20)
                )
            ).SerializeToString(),
            "Diffie-Hellman failed",
        ),
    ],
)
def test_malformed_server_hello(message: bytes, match: str) -> None:
    read = _after_hello(_pair())
    with pytest.raises(HandshakeError, match=match):
        read(message)


def test_low_order_client_ephemeral_is_refused() -> None:
    pair = _pair()
    hello = HandshakeMessage(clientHello=HandshakeMessage.ClientHello(ephemeral=bytes(32)))
    with pytest.raises(HandshakeError, match="Diffie-Hellman failed"):
        pair.responder.read_client_hello(hello.SerializeToString())
    assert pair.responder.state is HandshakeState.FAILED


def test_calls_out_of_order_raise_and_change_nothing() -> None:
    pair = _pair()
    with pytest.raises(
        HandshakeError, match="cannot write the client finish in state write_client_hello"
    ):
        pair.initiator.client_finish(PAYLOAD)
    assert pair.initiator.state is HandshakeState.WRITE_CLIENT_HELLO
    with pytest.raises(HandshakeError, match="cannot read a client finish"):
        pair.responder.read_client_finish(b"")
    assert pair.responder.state is HandshakeState.READ_CLIENT_HELLO
    _handshake(pair)
    with pytest.raises(HandshakeError, match="in state done"):
        pair.initiator.client_hello()


# --- transport ciphers ------------------------------------------------------------------------


def test_transport_nonce_layout() -> None:
    key = bytes(range(32))
    cipher = TransportCipher(key, counter=0x01020304)
    expected = AESGCM(key).encrypt(bytes(8) + b"\x01\x02\x03\x04", b"frame", None)
    assert cipher.encrypt(b"frame") == expected
    assert cipher.counter == 0x01020305


def test_transport_counters_are_separate_per_direction() -> None:
    client, server = _handshake(_pair())
    for i in range(3):
        server.decrypt(client.encrypt(b"c%d" % i))
    client.decrypt(server.encrypt(b"s"))
    assert (client.sender.counter, client.receiver.counter) == (3, 1)
    assert (server.sender.counter, server.receiver.counter) == (1, 3)


def test_replayed_or_reordered_frame_fails_and_keeps_the_counter() -> None:
    client, server = _handshake(_pair())
    first, second = client.encrypt(b"one"), client.encrypt(b"two")
    with pytest.raises(DecryptError, match="frame 0"):
        server.decrypt(second)
    assert server.receiver.counter == 0
    assert server.decrypt(first) == b"one"
    with pytest.raises(DecryptError):
        server.decrypt(first)
    assert server.decrypt(second) == b"two"


def test_tampered_frame_fails() -> None:
    client, server = _handshake(_pair())
    with pytest.raises(DecryptError, match="failed authentication"):
        server.decrypt(_flip(client.encrypt(b"hello"), 2))


def test_counter_overflow_is_an_error() -> None:
    key = bytes(32)
    sender, receiver = TransportCipher(key, MAX_COUNTER), TransportCipher(key, MAX_COUNTER)
    assert receiver.decrypt(sender.encrypt(b"last")) == b"last"
    with pytest.raises(NonceExhaustedError, match="send counter"):
        sender.encrypt(b"one too many")
    with pytest.raises(NonceExhaustedError, match="receive counter"):
        receiver.decrypt(bytes(20))
    assert sender.counter == receiver.counter == MAX_COUNTER + 1


def test_transport_cipher_validates_arguments() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TransportCipher(bytes(16))
    with pytest.raises(ValueError, match="counter"):
        TransportCipher(bytes(32), counter=-1)


def test_large_frame_round_trip() -> None:
    client, server = _handshake(_pair())
    body = bytes(range(256)) * 4096
    assert server.decrypt(client.encrypt(body)) == body
