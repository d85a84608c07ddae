"""Records to bytes and back, for storage (schema: waproto/wa_signal_store.proto).

Stored bytes are a format byte (``FORMAT_VERSION``) followed by the protobuf. Loading checks the
format byte, the protobuf, and that every key has its size and every required field is there;
anything else is a ``CorruptRecordError`` (never a half-loaded record).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, TypeVar

from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from google.protobuf.message import DecodeError, Message

from daemon.crypto.curve import CurveError
from daemon.signal.curve import KeyPair
from daemon.signal.errors import CorruptRecordError
from daemon.signal.group import SenderKeyRecord, SenderKeyState
from daemon.signal.keys import PreKey, SignedPreKey
from daemon.signal.state import (
    ChainKey,
    PendingPreKey,
    ReceiverChain,
    SessionRecord,
    SessionState,
)
from waproto import wa_signal_store_pb2 as pb

FORMAT_VERSION = 1

_M = TypeVar("_M", bound=Message)


class _HasFields(Protocol):
    def HasField(self, field_name: str, /) -> bool: ...


def _wrap(proto: Message) -> bytes:
    return bytes((FORMAT_VERSION,)) + proto.SerializeToString()


def _unwrap(data: bytes, proto_type: type[_M], what: str) -> _M:
    if not data:
        raise CorruptRecordError(f"empty {what}")
    if data[0] != FORMAT_VERSION:
        raise CorruptRecordError(
            f"{what} has format {data[0]}, this version reads {FORMAT_VERSION}"
        )
    try:
        return proto_type.FromString(data[1:])
    except DecodeError as exc:
        raise CorruptRecordError(f"{what} does not parse: {exc}") from exc


def _require(proto: _HasFields, what: str, *fields: str) -> None:
    for field in fields:
        if not proto.HasField(field):
            raise CorruptRecordError(f"{what} lacks {field}")


def _bytes32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise CorruptRecordError(f"{what} is {len(value)} bytes, not 32")
    return value


def _key_pair(private: bytes, public: bytes, what: str) -> KeyPair:
    try:
        return KeyPair(private, public)
    except CurveError as exc:
        raise CorruptRecordError(f"{what}: {exc}") from exc


# --- pieces ------------------------------------------------------------------------------------


def _chain_to_proto(chain: ChainKey, out: pb.ChainKey) -> None:
    out.key = chain.key
    out.index = chain.index


def _chain_from_proto(proto: pb.ChainKey, what: str) -> ChainKey:
    _require(proto, what, "key", "index")
    return ChainKey(_bytes32(proto.key, f"{what} key"), proto.index)


def _skipped_to_proto(
    skipped: Mapping[int, bytes], out: RepeatedCompositeFieldContainer[pb.SkippedKey]
) -> None:
    add = out.add
    for index, seed in skipped.items():
        add(index=index, seed=seed)


def _skipped_from_proto(protos: Iterable[pb.SkippedKey], what: str) -> dict[int, bytes]:
    skipped: dict[int, bytes] = {}
    for proto in protos:
        _require(proto, what, "index", "seed")
        skipped[proto.index] = _bytes32(proto.seed, f"{what} seed")
    return skipped


def _state_to_proto(state: SessionState, out: pb.SessionState) -> None:
    out.localIdentity = state.local_identity
    out.remoteIdentity = state.remote_identity
    out.localRegistrationId = state.local_registration_id
    out.remoteRegistrationId = state.remote_registration_id
    out.baseKey = state.base_key
    out.initiatedByUs = state.initiated_by_us
    out.rootKey = state.root_key
    out.senderRatchetPublic = state.sender_ratchet.public
    out.senderRatchetPrivate = state.sender_ratchet.private
    if state.sending_chain is not None:
        _chain_to_proto(state.sending_chain, out.sendingChain)
    out.previousCounter = state.previous_counter
    for chain in state.receiver_chains:
        chain_out = out.receiverChains.add()
        chain_out.ratchetKey = chain.ratchet_key
        _chain_to_proto(chain.chain_key, chain_out.chainKey)
        _skipped_to_proto(chain.skipped, chain_out.skipped)
    pending = state.pending_prekey
    if pending is not None:
        if pending.prekey_id is not None:
            out.pendingPreKey.preKeyId = pending.prekey_id
        out.pendingPreKey.signedPreKeyId = pending.signed_prekey_id
        out.pendingPreKey.baseKey = pending.base_key


def _state_from_proto(proto: pb.SessionState) -> SessionState:
    what = "session state"
    _require(
        proto,
        what,
        "localIdentity",
        "remoteIdentity",
        "localRegistrationId",
        "remoteRegistrationId",
        "baseKey",
        "initiatedByUs",
        "rootKey",
        "senderRatchetPublic",
        "senderRatchetPrivate",
        "previousCounter",
    )
    chains = []
    for chain in proto.receiverChains:
        _require(chain, "receiver chain", "ratchetKey", "chainKey")
        chains.append(
            ReceiverChain(
                _bytes32(chain.ratchetKey, "receiver chain ratchet key"),
                _chain_from_proto(chain.chainKey, "receiver chain key"),
                _skipped_from_proto(chain.skipped, "skipped message key"),
            )
        )
    pending = None
    if proto.HasField("pendingPreKey"):
        pending_proto = proto.pendingPreKey
        _require(pending_proto, "pending prekey", "signedPreKeyId", "baseKey")
        pending = PendingPreKey(
            pending_proto.preKeyId if pending_proto.HasField("preKeyId") else None,
            pending_proto.signedPreKeyId,
            _bytes32(pending_proto.baseKey, "pending prekey base key"),
        )
    return SessionState(
        local_identity=_bytes32(proto.localIdentity, "local identity"),
        remote_identity=_bytes32(proto.remoteIdentity, "remote identity"),
        local_registration_id=proto.localRegistrationId,
        remote_registration_id=proto.remoteRegistrationId,
        base_key=_bytes32(proto.baseKey, "base key"),
        initiated_by_us=proto.initiatedByUs,
        root_key=_bytes32(proto.rootKey, "root key"),
        sender_ratchet=_key_pair(
            proto.senderRatchetPrivate, proto.senderRatchetPublic, "sender ratchet key"
        ),
        sending_chain=(
            _chain_from_proto(proto.sendingChain, "sending chain")
            if proto.HasField("sendingChain")
            else None
        ),
        previous_counter=proto.previousCounter,
        receiver_chains=tuple(chains),
        pending_prekey=pending,
    )


# --- session records ---------------------------------------------------------------------------


def serialize_session_record(record: SessionRecord) -> bytes:
    # The serializer writes field 1 (current) and then each field 2 (previous) entry in
    # order: the encoding is the current state's, followed by each archived state's own
    # entry, which is made once per state (see SessionState.archived_form).
    proto = pb.SessionRecord()
    if record.current is not None:
        _state_to_proto(record.current, proto.current)
    return b"".join((_wrap(proto), *(_archived_entry(state) for state in record.previous)))


def _archived_entry(state: SessionState) -> bytes:
    """``state`` as one ``SessionRecord.previous`` entry (field key, length, state)."""
    entry = state.archived_form
    if entry is None:
        proto = pb.SessionRecord()
        _state_to_proto(state, proto.previous.add())
        entry = proto.SerializeToString()
        object.__setattr__(state, "archived_form", entry)  # a memo: the state stays the same
    return entry


def deserialize_session_record(data: bytes) -> SessionRecord:
    proto = _unwrap(data, pb.SessionRecord, "session record")
    current = _state_from_proto(proto.current) if proto.HasField("current") else None
    return SessionRecord(current, tuple(_state_from_proto(state) for state in proto.previous))


# --- sender key records ------------------------------------------------------------------------


def serialize_sender_key_record(record: SenderKeyRecord) -> bytes:
    proto = pb.SenderKeyRecord()
    for state in record.states:
        out = proto.states.add()
        out.keyId = state.key_id
        _chain_to_proto(state.chain_key, out.chainKey)
        out.signingPublic = state.signing_public
        if state.signing_private is not None:
            out.signingPrivate = state.signing_private
        _skipped_to_proto(state.skipped, out.skipped)
    return _wrap(proto)


def deserialize_sender_key_record(data: bytes) -> SenderKeyRecord:
    proto = _unwrap(data, pb.SenderKeyRecord, "sender key record")
    states = []
    for state in proto.states:
        _require(state, "sender key state", "keyId", "chainKey", "signingPublic")
        states.append(
            SenderKeyState(
                state.keyId,
                _chain_from_proto(state.chainKey, "sender chain key"),
                _bytes32(state.signingPublic, "sender signing key"),
                (
                    _bytes32(state.signingPrivate, "sender signing private key")
                    if state.HasField("signingPrivate")
                    else None
                ),
                _skipped_from_proto(state.skipped, "skipped sender message key"),
            )
        )
    return SenderKeyRecord(tuple(states))


# --- prekeys -----------------------------------------------------------------------------------


def serialize_prekey(prekey: PreKey) -> bytes:
    return _wrap(
        pb.PreKeyRecord(
            id=prekey.key_id,
            publicKey=prekey.key_pair.public,
            privateKey=prekey.key_pair.private,
        )
    )


def deserialize_prekey(data: bytes) -> PreKey:
    proto = _unwrap(data, pb.PreKeyRecord, "prekey record")
    _require(proto, "prekey record", "id", "publicKey", "privateKey")
    return PreKey(proto.id, _key_pair(proto.privateKey, proto.publicKey, "prekey"))


def serialize_signed_prekey(prekey: SignedPreKey) -> bytes:
    return _wrap(
        pb.SignedPreKeyRecord(
            id=prekey.key_id,
            publicKey=prekey.key_pair.public,
            privateKey=prekey.key_pair.private,
            signature=prekey.signature,
        )
    )


def deserialize_signed_prekey(data: bytes) -> SignedPreKey:
    proto = _unwrap(data, pb.SignedPreKeyRecord, "signed prekey record")
    _require(proto, "signed prekey record", "id", "publicKey", "privateKey", "signature")
    if len(proto.signature) != 64:
        raise CorruptRecordError(f"signed prekey signature is {len(proto.signature)} bytes")
    return SignedPreKey(
        proto.id, _key_pair(proto.privateKey, proto.publicKey, "signed prekey"), proto.signature
    )
