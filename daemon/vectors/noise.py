"""Replays ../shared/vectors/noise.json: a Baileys client handshaking with an independent server.

Both of our roles are checked against it: the initiator must produce the recorded client hello
and client finish from the recorded client keys, the responder the recorded server hello from
the server keys and the recorded certificate chain, and both must pass through the recorded
symmetric states. The chain is verified strictly with the file's test root. (The file notes that
Baileys checks neither the leaf key against the server static key nor the dates; its leaf key
is the server static key and its window covers the chosen ``now``, so our stricter check passes.)
Transport frames must encrypt and decrypt to the recorded node plaintexts, which must unmarshal
and marshal back identically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict

from daemon.crypto import curve
from daemon.vectors.report import CaseResult
from daemon.wire import certs
from daemon.wire.errors import CertificateError, CertificateFailure
from daemon.wire.frames import WA_CONN_HEADER, ConnectionIntro, FrameReader, FrameWriter
from daemon.wire.frames import encode_frame as frame
from daemon.wire.noise import (
    NOISE_PATTERN,
    ClientFinished,
    HandshakeStep,
    NoiseInitiator,
    NoiseResponder,
    NoiseTransport,
    TraceStep,
    TransportCipher,
)
from waproto import wa_cert_pb2, wa_handshake_pb2

# The generator's step labels, mapped to ours.
TRACE_STEPS = {
    "init": HandshakeStep.INIT,
    "prologue": HandshakeStep.PROLOGUE,
    "mixHash(client e)": HandshakeStep.CLIENT_EPHEMERAL,
    "mixHash(server e)": HandshakeStep.SERVER_EPHEMERAL,
    "mixKey(DH(server e, client e))": HandshakeStep.MIX_KEY_EE,
    "encryptAndHash(server s)": HandshakeStep.SERVER_STATIC,
    "mixKey(DH(server s, client e))": HandshakeStep.MIX_KEY_ES,
    "encryptAndHash(cert chain)": HandshakeStep.CERT_CHAIN,
    "decryptAndHash(client s)": HandshakeStep.CLIENT_STATIC,
    "mixKey(DH(server e, client s))": HandshakeStep.MIX_KEY_SE,
    "decryptAndHash(client payload)": HandshakeStep.CLIENT_PAYLOAD,
}
SPLIT_STEP = "split"

DJB_KEY_TYPE = b"\x05"


class Mismatch(Exception):
    """A replayed value differs from the recorded one."""


def _expect_equal(what: str, got: object, want: object) -> None:
    if got != want:
        raise Mismatch(f"{what}: got {_show(got)}, want {_show(want)}")


def _show(value: object) -> str:
    text = value.hex() if isinstance(value, bytes) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _case(name: str, check: Callable[[], None]) -> CaseResult:
    try:
        check()
    except Mismatch as exc:
        return CaseResult(name, False, str(exc))
    except Exception as exc:
        return CaseResult(name, False, f"{type(exc).__name__}: {exc}")
    return CaseResult(name, True)


@dataclass(frozen=True, slots=True)
class _Handshake:
    """Both roles run against each other from the recorded keys."""

    initiator: NoiseInitiator
    client_hello: bytes
    server_hello: bytes
    client_finish: bytes
    client_transport: NoiseTransport
    responder: NoiseResponder
    finished: ClientFinished


class _Vectors:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.keys = {
            name: curve.KeyPair.from_private(bytes.fromhex(pair["private"]))
            for name, pair in doc["keys"].items()
        }
        self.cert_chain = bytes.fromhex(doc["cert_chain"])
        self.test_root = bytes.fromhex(doc["keys"]["test_root"]["public"])
        self.payload = bytes.fromhex(doc["client_payload_protobuf"])
        self._handshake: _Handshake | None = None

    def now(self) -> int:
        """A time inside the validity windows of both certificates of the recorded chain."""
        chain = wa_cert_pb2.CertChain.FromString(self.cert_chain)
        details = [
            certs.CertDetails.from_bytes(chain.intermediate.details),
            certs.CertDetails.from_bytes(chain.leaf.details),
        ]
        start = max(d.not_before for d in details)
        end = min(d.not_after for d in details)
        if start > end:
            raise Mismatch(f"the recorded certificates share no validity window ({start}..{end})")
        return (start + end) // 2

    def handshake(self) -> _Handshake:
        if self._handshake is None:
            initiator = NoiseInitiator(
                self.keys["client_static"],
                ephemeral=self.keys["client_ephemeral"],
                root_key=self.test_root,
                record_trace=True,
            )
            responder = NoiseResponder(
                self.keys["server_static"],
                self.cert_chain,
                ephemeral=self.keys["server_ephemeral"],
                record_trace=True,
            )
            client_hello = initiator.client_hello()
            server_hello = responder.read_client_hello(client_hello)
            initiator.read_server_hello(server_hello, now=self.now())
            client_finish, client_transport = initiator.client_finish(self.payload)
            finished = responder.read_client_finish(client_finish)
            self._handshake = _Handshake(
                initiator=initiator,
                client_hello=client_hello,
                server_hello=server_hello,
                client_finish=client_finish,
                client_transport=client_transport,
                responder=responder,
                finished=finished,
            )
        return self._handshake

    def recorded(self, name: str) -> bytes:
        return bytes.fromhex(self.doc[name])


def replay(doc: dict[str, Any]) -> list[CaseResult]:
    try:
        vectors = _Vectors(doc)
    except Exception as exc:
        return [CaseResult("noise/load", False, f"{type(exc).__name__}: {exc}")]
    results = [_case("file/deterministic", lambda: _deterministic(doc))]
    results += _key_cases(vectors)
    results += _constant_cases(vectors)
    results += _frame_cases(vectors)
    results += _initiator_cases(vectors)
    results += _responder_cases(vectors)
    results += _trace_cases(vectors)
    results += _cert_cases(vectors)
    results += _payload_cases(vectors)
    results += _transport_cases(vectors)
    return results


def _deterministic(doc: dict[str, Any]) -> None:
    """Byte-exact replay presumes a generator that fixed every key and nonce."""
    generator = doc["generator"]
    if generator.get("deterministic") is not True:
        raise Mismatch(f"{doc['description']!r} was not generated deterministically: {generator}")


def _key_cases(v: _Vectors) -> list[CaseResult]:
    def derives(name: str) -> Callable[[], None]:
        def check() -> None:
            recorded = v.doc["keys"][name]["public"]
            _expect_equal("public key from the private key", v.keys[name].public.hex(), recorded)

        return check

    return [_case(f"keys/{name}", derives(name)) for name in v.doc["keys"]]


def _constant_cases(v: _Vectors) -> list[CaseResult]:
    constants = v.doc["constants"]

    def pattern() -> None:
        _expect_equal("noise mode", NOISE_PATTERN.hex(), constants["noise_mode"])

    def prologue() -> None:
        _expect_equal("prologue", WA_CONN_HEADER.hex(), constants["prologue_wa_header"])

    def real_root() -> None:
        _expect_equal(
            "real root key", certs.WA_ROOT_PUBLIC_KEY.hex(), constants["real_wa_root_public_key"]
        )
        _expect_equal("root serial", certs.ROOT_SERIAL, constants["real_wa_cert_serial"])

    def test_root() -> None:
        _expect_equal("test root", v.test_root.hex(), constants["test_root_public_key_used_here"])

    return [
        _case("constants/noise_mode", pattern),
        _case("constants/prologue", prologue),
        _case("constants/real_root", real_root),
        _case("constants/test_root", test_root),
    ]


def _frame_cases(v: _Vectors) -> list[CaseResult]:
    frames = v.doc["frames"]

    def client_hello_frame() -> None:
        writer = FrameWriter(ConnectionIntro())
        _expect_equal(
            "framed client hello",
            writer.encode(v.recorded("client_hello_protobuf")).hex(),
            frames["client_hello"],
        )
        _expect_equal(
            "framed client finish (no intro)",
            writer.encode(v.recorded("client_finish_protobuf")).hex(),
            frames["client_finish"],
        )

    def server_hello_frame() -> None:
        _expect_equal(
            "framed server hello",
            frame(v.recorded("server_hello_protobuf")).hex(),
            frames["server_hello"],
        )

    def read_client_stream() -> None:
        reader = FrameReader(expect_intro=True)
        stream = bytes.fromhex(frames["client_hello"] + frames["client_finish"])
        got = [body for byte in stream for body in reader.feed(bytes([byte]))]
        _expect_equal(
            "bodies read byte by byte",
            got,
            [v.recorded("client_hello_protobuf"), v.recorded("client_finish_protobuf")],
        )
        _expect_equal("intro", reader.intro, ConnectionIntro(header=WA_CONN_HEADER))

    return [
        _case("frames/client", client_hello_frame),
        _case("frames/server_hello", server_hello_frame),
        _case("frames/read_client_stream", read_client_stream),
    ]


def _initiator_cases(v: _Vectors) -> list[CaseResult]:
    def client_hello() -> None:
        _expect_equal(
            "client hello", v.handshake().client_hello, v.recorded("client_hello_protobuf")
        )

    def reads_recorded_server_hello() -> None:
        # Independent of our responder: feed Baileys' recorded server hello to a fresh initiator.
        initiator = NoiseInitiator(
            v.keys["client_static"], ephemeral=v.keys["client_ephemeral"], root_key=v.test_root
        )
        initiator.client_hello()
        verified = initiator.read_server_hello(v.recorded("server_hello_protobuf"), now=v.now())
        _expect_equal("server static", verified.server_static, v.keys["server_static"].public)
        finish, _ = initiator.client_finish(v.payload)
        _expect_equal("client finish", finish, v.recorded("client_finish_protobuf"))

    def split() -> None:
        transport = v.handshake().client_transport
        step = _split_step(v)
        _expect_equal("client send key", transport.sender.key.hex(), step["client_to_server_key"])
        _expect_equal(
            "client receive key", transport.receiver.key.hex(), step["server_to_client_key"]
        )

    return [
        _case("initiator/client_hello", client_hello),
        _case("initiator/client_finish_from_recorded_server_hello", reads_recorded_server_hello),
        _case("initiator/split", split),
    ]


def _responder_cases(v: _Vectors) -> list[CaseResult]:
    def server_hello() -> None:
        _expect_equal(
            "server hello", v.handshake().server_hello, v.recorded("server_hello_protobuf")
        )

    def reads_recorded_client_finish() -> None:
        responder = NoiseResponder(
            v.keys["server_static"], v.cert_chain, ephemeral=v.keys["server_ephemeral"]
        )
        responder.read_client_hello(v.recorded("client_hello_protobuf"))
        finished = responder.read_client_finish(v.recorded("client_finish_protobuf"))
        _expect_equal("client static", finished.client_static, v.keys["client_static"].public)
        _expect_equal("client payload", finished.client_payload, v.payload)

    def split() -> None:
        transport = v.handshake().finished.transport
        step = _split_step(v)
        _expect_equal("server send key", transport.sender.key.hex(), step["server_to_client_key"])
        _expect_equal(
            "server receive key", transport.receiver.key.hex(), step["client_to_server_key"]
        )

    return [
        _case("responder/server_hello", server_hello),
        _case("responder/reads_recorded_client_finish", reads_recorded_client_finish),
        _case("responder/split", split),
    ]


def _split_step(v: _Vectors) -> dict[str, str]:
    steps = [step for step in v.doc["handshake_trace"] if step["step"] == SPLIT_STEP]
    if len(steps) != 1:
        raise Mismatch(f"expected one split step in the trace, found {len(steps)}")
    step: dict[str, str] = steps[0]
    return step


def _trace_cases(v: _Vectors) -> list[CaseResult]:
    recorded = [step for step in v.doc["handshake_trace"] if step["step"] != SPLIT_STEP]

    def compare(role: str, trace: Callable[[], list[TraceStep]]) -> Callable[[], None]:
        def check() -> None:
            ours = trace()
            _expect_equal(f"{role} trace length", len(ours), len(recorded))
            for mine, theirs in zip(ours, recorded, strict=True):
                label = theirs["step"]
                _expect_equal(f"{label}: step", mine.step, TRACE_STEPS[label])
                _expect_equal(f"{label}: h", mine.h.hex(), theirs["h"])
                _expect_equal(f"{label}: ck", mine.ck.hex(), theirs["ck"])
                _expect_equal(f"{label}: k", mine.k.hex() if mine.k else None, theirs.get("k"))

        return check

    return [
        _case("trace/initiator", compare("initiator", lambda: v.handshake().initiator.trace)),
        _case("trace/responder", compare("responder", lambda: v.handshake().responder.trace)),
    ]


def _cert_cases(v: _Vectors) -> list[CaseResult]:
    server_static = v.keys["server_static"].public

    def verifies_with_test_root() -> None:
        verified = certs.verify_cert_chain(
            v.cert_chain, server_static=server_static, now=v.now(), root_key=v.test_root
        )
        # Baileys does not compare these; the generator made them equal anyway, and we require it.
        _expect_equal("leaf key is the server static key", verified.leaf.key, server_static)
        intermediate_key = v.keys["test_intermediate"].public
        _expect_equal("intermediate key", verified.intermediate.key, intermediate_key)

    def refused(reason: CertificateFailure, **overrides: Any) -> Callable[[], None]:
        def check() -> None:
            arguments: dict[str, Any] = {
                "server_static": server_static,
                "now": v.now(),
                "root_key": v.test_root,
            }
            arguments.update(overrides)
            try:
                certs.verify_cert_chain(v.cert_chain, **arguments)
            except CertificateError as exc:
                _expect_equal("failure reason", exc.reason, reason)
                return
            raise Mismatch(f"chain accepted, expected {reason.value}")

        return check

    expired = certs.CertDetails.from_bytes(
        wa_cert_pb2.CertChain.FromString(v.cert_chain).leaf.details
    ).not_after

    return [
        _case("cert_chain/verifies_with_test_root", verifies_with_test_root),
        _case(
            "cert_chain/refused_by_real_root",
            refused(CertificateFailure.INTERMEDIATE_SIGNATURE, root_key=certs.WA_ROOT_PUBLIC_KEY),
        ),
        _case(
            "cert_chain/refused_for_other_static",
            refused(
                CertificateFailure.LEAF_KEY_MISMATCH, server_static=v.keys["client_static"].public
            ),
        ),
        _case(
            "cert_chain/refused_after_expiry",
            refused(CertificateFailure.EXPIRED, now=expired + 1),
        ),
    ]


def _payload_cases(v: _Vectors) -> list[CaseResult]:
    def decoded() -> None:
        payload = wa_handshake_pb2.ClientPayload.FromString(v.payload)
        view = MessageToDict(payload, preserving_proto_field_name=True)
        _expect_equal("decoded ClientPayload", view, v.doc["client_payload_decoded"])
        _expect_equal("re-serialized ClientPayload", payload.SerializeToString(), v.payload)

    def registration_keys() -> None:
        pairing = wa_handshake_pb2.ClientPayload.FromString(v.payload).devicePairingData
        identity = v.keys["identity"]
        signed_prekey = v.keys["signed_prekey"]
        _expect_equal("key type", pairing.eKeytype, DJB_KEY_TYPE)
        _expect_equal("identity key", pairing.eIdent, identity.public)
        _expect_equal("signed prekey", pairing.eSkeyVal, signed_prekey.public)
        signed = DJB_KEY_TYPE + signed_prekey.public
        if not curve.verify(identity.public, signed, pairing.eSkeySig):
            raise Mismatch("signed prekey signature does not verify with the identity key")

    return [
        _case("client_payload/decoded", decoded),
        _case("client_payload/registration_keys", registration_keys),
    ]


def _transport_cases(v: _Vectors) -> list[CaseResult]:
    results = []
    for index, entry in enumerate(v.doc["transport"]):
        name = f"transport/{index}_{entry['direction']}_{entry['counter']}"
        results.append(_case(name, _transport_check(v, entry)))
        results.append(_case(f"{name}/node", _node_check(entry)))
    results.append(_case("transport/in_order_through_handshake", _transport_sequence(v)))
    return results


DIRECTION_KEYS = {
    "client->server": "client_to_server_key",
    "server->client": "server_to_client_key",
}


def _transport_check(v: _Vectors, entry: dict[str, Any]) -> Callable[[], None]:
    def check() -> None:
        direction = entry["direction"]
        if direction not in DIRECTION_KEYS:
            raise Mismatch(f"unknown direction {direction!r}")
        key = bytes.fromhex(_split_step(v)[DIRECTION_KEYS[direction]])
        plaintext = bytes.fromhex(entry["node_plaintext"])
        counter = entry["counter"]
        encrypted = frame(TransportCipher(key, counter).encrypt(plaintext))
        _expect_equal("encrypted frame", encrypted.hex(), entry["frame"])
        bodies = FrameReader().feed(bytes.fromhex(entry["frame"]))
        _expect_equal("frames in the recording", len(bodies), 1)
        _expect_equal("decrypted", TransportCipher(key, counter).decrypt(bodies[0]), plaintext)

    return check


def _transport_sequence(v: _Vectors) -> Callable[[], None]:
    """All recorded frames in order through the two transports the handshake produced, so that
    the per-direction counters advance exactly as on the recorded connection."""

    def check() -> None:
        handshake = v.handshake()
        client, server = handshake.client_transport, handshake.finished.transport
        for entry in v.doc["transport"]:
            sender, receiver = (
                (client, server) if entry["direction"] == "client->server" else (server, client)
            )
            _expect_equal(f"{entry['direction']} counter", sender.sender.counter, entry["counter"])
            plaintext = bytes.fromhex(entry["node_plaintext"])
            _expect_equal("frame", frame(sender.encrypt(plaintext)).hex(), entry["frame"])
            body = bytes.fromhex(entry["frame"])[3:]
            _expect_equal("decrypted", receiver.decrypt(body), plaintext)

    return check


def _node_check(entry: dict[str, Any]) -> Callable[[], None]:
    def check() -> None:
        from daemon import binary

        plaintext = bytes.fromhex(entry["node_plaintext"])
        node = binary.unmarshal(plaintext)
        _expect_equal("re-marshalled node", binary.marshal(node), plaintext)

    return check
