"""WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake (both roles) and the transport ciphers.

Sans-I/O: the handshake objects take handshake message bytes (HandshakeMessage protobufs, without
frame prefixes) and return message bytes and results; they never touch a socket or a clock.

    -> e                          ClientHello{ephemeral}
    <- e, ee, s, es, [cert chain] ServerHello{ephemeral, static, payload}
    -> s, se, [ClientPayload]     ClientFinish{static, payload}

Where WhatsApp differs from the Noise specification (../shared/research/deps.md §1):

* The protocol name is padded with NULs to exactly 32 bytes and used as h0 directly.
* After the first message the spec would run EncryptAndHash on the empty payload, which with no
  key yet is MixHash(b""). WhatsApp skips it: h goes straight from MixHash(e) of the client to
  MixHash(e) of the server. A spec-conformant peer therefore fails to decrypt the server static.

Everything else is standard: AES-256-GCM with AD = h and nonce = 8 zero bytes || uint32 BE
counter, MixHash of the ciphertext, MixKey = HKDF-SHA256(ck, dh) split into (ck, k), and Split =
HKDF-SHA256(ck, b"") whose first half is the initiator's sending key. Transport frames use
empty AD and one counter per direction.

Any error moves a handshake to FAILED: the symmetric state may have advanced, and a failed
handshake means the connection is closed.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from google.protobuf.message import DecodeError

from daemon.crypto import curve
from daemon.wire import certs
from daemon.wire.errors import DecryptError, HandshakeError, NonceExhaustedError
from daemon.wire.frames import WA_CONN_HEADER
from waproto import wa_handshake_pb2

_T = TypeVar("_T")

NOISE_PATTERN = b"Noise_XX_25519_AESGCM_SHA256\x00\x00\x00\x00"

TAG_LENGTH = 16
MAX_COUNTER = 0xFFFFFFFF
"""The IV carries a 32-bit counter, so each key encrypts at most 2**32 messages."""

_HandshakeMessage = wa_handshake_pb2.HandshakeMessage


class HandshakeState(enum.Enum):
    """What a handshake expects next."""

    WRITE_CLIENT_HELLO = "write_client_hello"
    READ_SERVER_HELLO = "read_server_hello"
    WRITE_CLIENT_FINISH = "write_client_finish"
    READ_CLIENT_HELLO = "read_client_hello"
    READ_CLIENT_FINISH = "read_client_finish"
    DONE = "done"
    FAILED = "failed"


class HandshakeStep(enum.Enum):
    """The symmetric-state operations, in order; both roles pass through the same sequence."""

    INIT = "init"
    PROLOGUE = "prologue"
    CLIENT_EPHEMERAL = "mix_hash_client_ephemeral"
    SERVER_EPHEMERAL = "mix_hash_server_ephemeral"
    MIX_KEY_EE = "mix_key_ee"
    SERVER_STATIC = "server_static"
    MIX_KEY_ES = "mix_key_es"
    CERT_CHAIN = "cert_chain"
    CLIENT_STATIC = "client_static"
    MIX_KEY_SE = "mix_key_se"
    CLIENT_PAYLOAD = "client_payload"


@dataclass(frozen=True, slots=True)
class TraceStep:
    """The symmetric state right after one step (for vectors and debugging)."""

    step: HandshakeStep
    h: bytes
    ck: bytes
    k: bytes | None


_NONCE = struct.Struct(">8xI")
"""8 zero bytes, then the counter as a big-endian uint32."""
_nonce = _NONCE.pack


def _hkdf_pair(salt: bytes, ikm: bytes) -> tuple[bytes, bytes]:
    out = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=b"").derive(ikm)
    return out[:32], out[32:]


class TransportCipher:
    """One direction of the transport: AES-256-GCM, empty AD, a counter starting at 0."""

    __slots__ = ("_aead", "counter", "key")

    def __init__(self, key: bytes, counter: int = 0) -> None:
        if len(key) != 32:
            raise ValueError("a transport key is 32 bytes")
        if not 0 <= counter <= MAX_COUNTER + 1:
            raise ValueError(f"counter must be within 0..{MAX_COUNTER + 1}")
        self.key = key
        self.counter = counter
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes) -> bytes:
        counter = self.counter
        if counter > MAX_COUNTER:
            raise NonceExhaustedError("send counter exhausted; reconnect")
        self.counter = counter + 1
        return self._aead.encrypt(_nonce(counter), plaintext, None)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Raises DecryptError and leaves the counter unchanged when authentication fails."""
        if self.counter > MAX_COUNTER:
            raise NonceExhaustedError("receive counter exhausted; reconnect")
        try:
            plaintext = self._aead.decrypt(_nonce(self.counter), ciphertext, None)
        except InvalidTag:
            raise DecryptError(
                f"frame {self.counter} ({len(ciphertext)} bytes) failed authentication"
            ) from None
        self.counter += 1
        return plaintext


@dataclass(slots=True)
class NoiseTransport:
    """The two directions of an established connection, as seen by one side."""

    sender: TransportCipher
    receiver: TransportCipher

    def encrypt(self, plaintext: bytes) -> bytes:
        return self.sender.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        return self.receiver.decrypt(ciphertext)


class _SymmetricState:
    """h, ck and the handshake cipher, recording a trace of every step when asked to."""

    def __init__(self, prologue: bytes, trace: list[TraceStep] | None) -> None:
        self.h = NOISE_PATTERN
        self.ck = NOISE_PATTERN
        self.k: bytes | None = None
        self._aead: AESGCM | None = None
        self._counter = 0
        self._trace = trace
        self._record(HandshakeStep.INIT)
        self.mix_hash(prologue, HandshakeStep.PROLOGUE)

    def mix_hash(self, data: bytes, step: HandshakeStep) -> None:
        self.h = hashlib.sha256(self.h + data).digest()
        self._record(step)

    def mix_key(self, private: bytes, public: bytes, step: HandshakeStep) -> None:
        try:
            dh = curve.shared_secret(private, public)
        except curve.CurveError as exc:
            raise HandshakeError(f"Diffie-Hellman failed at {step.value}: {exc}") from exc
        self.ck, self.k = _hkdf_pair(self.ck, dh)
        self._aead = AESGCM(self.k)
        self._counter = 0
        self._record(step)

    def encrypt_and_hash(self, plaintext: bytes, step: HandshakeStep) -> bytes:
        ciphertext = self._cipher(step).encrypt(_nonce(self._counter), plaintext, self.h)
        self._counter += 1
        self.mix_hash(ciphertext, step)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes, step: HandshakeStep) -> bytes:
        try:
            plaintext = self._cipher(step).decrypt(_nonce(self._counter), ciphertext, self.h)
        except InvalidTag:
            raise HandshakeError(
                f"{step.value} failed to decrypt (tampered or wrong key)"
            ) from None
        self._counter += 1
        self.mix_hash(ciphertext, step)
        return plaintext

    def split(self) -> tuple[bytes, bytes]:
        """(initiator's sending key, responder's sending key)."""
        return _hkdf_pair(self.ck, b"")

    def _cipher(self, step: HandshakeStep) -> AESGCM:
        if self._aead is None:
            raise HandshakeError(f"{step.value} needs a key, but none was mixed in yet")
        return self._aead

    def _record(self, step: HandshakeStep) -> None:
        if self._trace is not None:
            self._trace.append(TraceStep(step=step, h=self.h, ck=self.ck, k=self.k))


def _parse(message: bytes, part: str) -> _HandshakeMessage:
    try:
        parsed = _HandshakeMessage.FromString(message)
    except DecodeError as exc:
        raise HandshakeError(f"handshake message does not parse: {exc}") from exc
    if not parsed.HasField(part):
        raise HandshakeError(f"handshake message carries no {part}")
    return parsed


def _check_key(value: bytes, what: str) -> bytes:
    if len(value) != curve.KEY_LENGTH:
        raise HandshakeError(f"{what} is {len(value)} bytes, expected {curve.KEY_LENGTH}")
    return value


def _check_ciphertext(value: bytes, plaintext_length: int, what: str) -> bytes:
    if len(value) != plaintext_length + TAG_LENGTH:
        raise HandshakeError(
            f"{what} is {len(value)} bytes, expected {plaintext_length + TAG_LENGTH}"
        )
    return value


class _Handshake:
    """What both roles share: keys, the state, the symmetric state and its trace."""

    def __init__(
        self,
        static: curve.KeyPair,
        ephemeral: curve.KeyPair | None,
        state: HandshakeState,
        prologue: bytes,
        record_trace: bool,
    ) -> None:
        self._static = static
        self._ephemeral = ephemeral or curve.KeyPair.generate()
        self._state = state
        self._trace: list[TraceStep] = []
        self._symmetric = _SymmetricState(prologue, self._trace if record_trace else None)

    @property
    def state(self) -> HandshakeState:
        return self._state

    @property
    def trace(self) -> list[TraceStep]:
        """The symmetric state after every step so far (empty unless ``record_trace``)."""
        return list(self._trace)

    @property
    def handshake_hash(self) -> bytes:
        return self._symmetric.h

    def _step(
        self, expected: HandshakeState, action: str, run: Callable[[], _T], then: HandshakeState
    ) -> _T:
        """Runs one handshake step: only in ``expected`` state, moving to ``then`` or FAILED."""
        if self._state is not expected:
            raise HandshakeError(f"cannot {action} in state {self._state.value}")
        try:
            result = run()
        except Exception:
            self._state = HandshakeState.FAILED
            raise
        self._state = then
        return result


class NoiseInitiator(_Handshake):
    """The client side. Call ``client_hello``, ``read_server_hello``, then ``client_finish``.

    The server's certificate chain is verified inside ``read_server_hello`` against
    ``root_key``; there is no way to finish a handshake with an unverified server.
    """

    def __init__(
        self,
        static: curve.KeyPair,
        *,
        root_key: bytes = certs.WA_ROOT_PUBLIC_KEY,
        ephemeral: curve.KeyPair | None = None,
        prologue: bytes = WA_CONN_HEADER,
        record_trace: bool = False,
    ) -> None:
        super().__init__(
            static, ephemeral, HandshakeState.WRITE_CLIENT_HELLO, prologue, record_trace
        )
        self._root_key = root_key
        self._server_ephemeral = b""
        self.verified_chain: certs.VerifiedChain | None = None

    def client_hello(self) -> bytes:
        return self._step(
            HandshakeState.WRITE_CLIENT_HELLO,
            "write the client hello",
            self._write_client_hello,
            HandshakeState.READ_SERVER_HELLO,
        )

    def read_server_hello(self, message: bytes, *, now: float) -> certs.VerifiedChain:
        """Decrypts the server static key and certificate chain and verifies the chain."""
        self.verified_chain = self._step(
            HandshakeState.READ_SERVER_HELLO,
            "read a server hello",
            lambda: self._read_server_hello(message, now),
            HandshakeState.WRITE_CLIENT_FINISH,
        )
        return self.verified_chain

    def client_finish(self, client_payload: bytes) -> tuple[bytes, NoiseTransport]:
        """Encrypts our static key and the ClientPayload; returns the message and the transport."""
        return self._step(
            HandshakeState.WRITE_CLIENT_FINISH,
            "write the client finish",
            lambda: self._write_client_finish(client_payload),
            HandshakeState.DONE,
        )

    def _write_client_hello(self) -> bytes:
        self._symmetric.mix_hash(self._ephemeral.public, HandshakeStep.CLIENT_EPHEMERAL)
        hello = _HandshakeMessage.ClientHello(ephemeral=self._ephemeral.public)
        return _HandshakeMessage(clientHello=hello).SerializeToString()

    def _read_server_hello(self, message: bytes, now: float) -> certs.VerifiedChain:
        sym, ephemeral = self._symmetric, self._ephemeral
        hello = _parse(message, "serverHello").serverHello
        server_ephemeral = _check_key(hello.ephemeral, "server ephemeral key")
        static_ciphertext = _check_ciphertext(hello.static, curve.KEY_LENGTH, "server static")
        if not hello.payload:
            raise HandshakeError("server hello carries no certificate payload")
        sym.mix_hash(server_ephemeral, HandshakeStep.SERVER_EPHEMERAL)
        sym.mix_key(ephemeral.private, server_ephemeral, HandshakeStep.MIX_KEY_EE)
        server_static = sym.decrypt_and_hash(static_ciphertext, HandshakeStep.SERVER_STATIC)
        sym.mix_key(ephemeral.private, server_static, HandshakeStep.MIX_KEY_ES)
        chain = sym.decrypt_and_hash(hello.payload, HandshakeStep.CERT_CHAIN)
        self._server_ephemeral = server_ephemeral
        return certs.verify_cert_chain(
            chain, server_static=server_static, now=now, root_key=self._root_key
        )

    def _write_client_finish(self, client_payload: bytes) -> tuple[bytes, NoiseTransport]:
        sym = self._symmetric
        static = sym.encrypt_and_hash(self._static.public, HandshakeStep.CLIENT_STATIC)
        sym.mix_key(self._static.private, self._server_ephemeral, HandshakeStep.MIX_KEY_SE)
        payload = sym.encrypt_and_hash(client_payload, HandshakeStep.CLIENT_PAYLOAD)
        send_key, receive_key = sym.split()
        finish = _HandshakeMessage.ClientFinish(static=static, payload=payload)
        transport = NoiseTransport(
            sender=TransportCipher(send_key), receiver=TransportCipher(receive_key)
        )
        return _HandshakeMessage(clientFinish=finish).SerializeToString(), transport


@dataclass(frozen=True, slots=True)
class ClientFinished:
    """What the responder learns from the client's last handshake message."""

    client_static: bytes
    """The client's Noise static public key: its login credential, bound at pairing."""
    client_payload: bytes
    """The serialized ClientPayload."""
    transport: NoiseTransport


class NoiseResponder(_Handshake):
    """The server side. Call ``read_client_hello`` (it returns the server hello), then
    ``read_client_finish``. ``cert_chain`` is the serialized CertChain whose leaf key is
    ``static.public`` (see certs.build_cert_chain)."""

    def __init__(
        self,
        static: curve.KeyPair,
        cert_chain: bytes,
        *,
        ephemeral: curve.KeyPair | None = None,
        prologue: bytes = WA_CONN_HEADER,
        record_trace: bool = False,
    ) -> None:
        super().__init__(
            static, ephemeral, HandshakeState.READ_CLIENT_HELLO, prologue, record_trace
        )
        self._cert_chain = cert_chain

    def read_client_hello(self, message: bytes) -> bytes:
        """Reads the client's ephemeral key and returns the server hello message."""
        return self._step(
            HandshakeState.READ_CLIENT_HELLO,
            "read a client hello",
            lambda: self._answer_client_hello(message),
            HandshakeState.READ_CLIENT_FINISH,
        )

    def read_client_finish(self, message: bytes) -> ClientFinished:
        return self._step(
            HandshakeState.READ_CLIENT_FINISH,
            "read a client finish",
            lambda: self._read_client_finish(message),
            HandshakeState.DONE,
        )

    def _answer_client_hello(self, message: bytes) -> bytes:
        sym, ephemeral, static = self._symmetric, self._ephemeral, self._static
        hello = _parse(message, "clientHello").clientHello
        client_ephemeral = _check_key(hello.ephemeral, "client ephemeral key")
        sym.mix_hash(client_ephemeral, HandshakeStep.CLIENT_EPHEMERAL)
        # No MixHash(b"") for message 1's empty payload here: WhatsApp's deviation.
        sym.mix_hash(ephemeral.public, HandshakeStep.SERVER_EPHEMERAL)
        sym.mix_key(ephemeral.private, client_ephemeral, HandshakeStep.MIX_KEY_EE)
        encrypted_static = sym.encrypt_and_hash(static.public, HandshakeStep.SERVER_STATIC)
        sym.mix_key(static.private, client_ephemeral, HandshakeStep.MIX_KEY_ES)
        payload = sym.encrypt_and_hash(self._cert_chain, HandshakeStep.CERT_CHAIN)
        server_hello = _HandshakeMessage.ServerHello(
            ephemeral=ephemeral.public, static=encrypted_static, payload=payload
        )
        return _HandshakeMessage(serverHello=server_hello).SerializeToString()

    def _read_client_finish(self, message: bytes) -> ClientFinished:
        sym = self._symmetric
        finish = _parse(message, "clientFinish").clientFinish
        static_ciphertext = _check_ciphertext(finish.static, curve.KEY_LENGTH, "client static")
        if len(finish.payload) < TAG_LENGTH:
            raise HandshakeError("client finish carries no payload")
        client_static = sym.decrypt_and_hash(static_ciphertext, HandshakeStep.CLIENT_STATIC)
        sym.mix_key(self._ephemeral.private, client_static, HandshakeStep.MIX_KEY_SE)
        payload = sym.decrypt_and_hash(finish.payload, HandshakeStep.CLIENT_PAYLOAD)
        initiator_key, responder_key = sym.split()
        transport = NoiseTransport(
            sender=TransportCipher(responder_key), receiver=TransportCipher(initiator_key)
        )
        return ClientFinished(
            client_static=client_static, client_payload=payload, transport=transport
        )
