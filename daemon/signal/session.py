"""Pairwise sessions: X3DH setup and the Double Ratchet, as pure functions over records.

Each function takes a ``SessionRecord`` (and whatever keys it needs) and returns the new record
with its result; nothing is awaited, stored or mutated. The caller persists the returned record
together with the message it belongs to (see daemon.signal.cipher for the store-backed path).

Wire behaviour follows npm libsignal (what WhatsApp Web and Baileys run) byte for byte: the
X3DH secret layout, HKDF infos, MAC input, and which key pairs are drawn when. One deliberate
order difference: the new sending ratchet key is drawn only after the message authenticated,
so a forged message consumes no randomness (the order of draws for valid traffic is the same).
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass
from itertools import islice

from daemon.signal import kdf
from daemon.signal.curve import KeyPair, agreement, generate_key_pair
from daemon.signal.errors import (
    DuplicateMessageError,
    InvalidKeyError,
    InvalidMacError,
    InvalidMessageError,
    InvalidSignatureError,
    MissingPreKeyError,
    NoSessionError,
    NoSessionForMessageError,
    TooFarInFutureError,
)
from daemon.signal.keys import KeyPairSource, PreKey, PreKeyBundle, SignedPreKey
from daemon.signal.keys import verify_signed_prekey as _verify_signed_prekey
from daemon.signal.messages import (
    PreKeySignalMessage,
    SignalMessage,
    build_prekey_message,
    build_signal_message,
    parse_prekey_message,
    parse_signal_message,
    signal_message_mac,
)
from daemon.signal.state import (
    MAX_FORWARD_JUMP,
    MAX_MESSAGE_KEYS,
    ChainKey,
    PendingPreKey,
    ReceiverChain,
    SessionRecord,
    SessionState,
)

_X3DH_PREFIX = b"\xff" * 32
"""libsignal prepends 32 0xFF bytes to the X3DH agreements (the curve's "discontinuity bytes")."""


class EncType(enum.StrEnum):
    """The ``type`` attribute of a WhatsApp ``<enc>`` node."""

    MSG = "msg"
    PKMSG = "pkmsg"
    SKMSG = "skmsg"


@dataclass(frozen=True, slots=True)
class EncryptedMessage:
    type: EncType
    body: bytes
    remote_registration_id: int


@dataclass(frozen=True, slots=True)
class PreKeyDecryptResult:
    plaintext: bytes
    record: SessionRecord
    used_prekey_id: int | None
    """The one-time prekey this message consumed; the caller deletes it with the record."""


# --- session setup (X3DH) ----------------------------------------------------------------------


def initiate_session(
    record: SessionRecord | None,
    bundle: PreKeyBundle,
    *,
    identity: KeyPair,
    registration_id: int,
    new_key_pair: KeyPairSource = generate_key_pair,
) -> SessionRecord:
    """Builds a session from the peer's prekey bundle; it becomes current, the old one archived.

    The caller decides about trusting ``bundle.identity_key`` before calling (store's job).
    Messages sent on the new session are prekey messages until the peer's first reply.
    """
    if not _verify_signed_prekey(
        bundle.identity_key, bundle.signed_prekey, bundle.signed_prekey_signature
    ):
        raise InvalidSignatureError(
            f"signed prekey {bundle.signed_prekey_id} of identity "
            f"{bundle.identity_key.hex()} has a bad signature"
        )
    base_key = new_key_pair()
    agreements = [
        agreement(identity.private, bundle.signed_prekey),
        agreement(base_key.private, bundle.identity_key),
        agreement(base_key.private, bundle.signed_prekey),
    ]
    if bundle.prekey is not None:
        agreements.append(agreement(base_key.private, bundle.prekey))
    root_key, _ = kdf.initial_keys(_X3DH_PREFIX + b"".join(agreements))
    ratchet = new_key_pair()
    root_key, chain_key = kdf.root_step(root_key, agreement(ratchet.private, bundle.signed_prekey))
    state = SessionState(
        local_identity=identity.public,
        remote_identity=bundle.identity_key,
        local_registration_id=registration_id,
        remote_registration_id=bundle.registration_id,
        base_key=base_key.public,
        initiated_by_us=True,
        root_key=root_key,
        sender_ratchet=ratchet,
        sending_chain=ChainKey(chain_key, 0),
        previous_counter=0,
        receiver_chains=(),
        pending_prekey=PendingPreKey(bundle.prekey_id, bundle.signed_prekey_id, base_key.public),
    )
    return (record or SessionRecord()).with_new_session(state)


def _responder_state(
    message: PreKeySignalMessage,
    identity: KeyPair,
    registration_id: int,
    signed_prekey: SignedPreKey,
    prekey: PreKey | None,
) -> SessionState:
    try:
        agreements = [
            agreement(signed_prekey.key_pair.private, message.identity_key),
            agreement(identity.private, message.base_key),
            agreement(signed_prekey.key_pair.private, message.base_key),
        ]
        if prekey is not None:
            agreements.append(agreement(prekey.key_pair.private, message.base_key))
    except InvalidKeyError as exc:
        raise InvalidMessageError(f"prekey message carries an unusable key: {exc}") from exc
    root_key, _ = kdf.initial_keys(_X3DH_PREFIX + b"".join(agreements))
    # Until the first message is decrypted, the signed prekey plays our ratchet key; decrypting
    # that message steps the ratchet and creates our first sending chain.
    return SessionState(
        local_identity=identity.public,
        remote_identity=message.identity_key,
        local_registration_id=registration_id,
        remote_registration_id=message.registration_id,
        base_key=message.base_key,
        initiated_by_us=False,
        root_key=root_key,
        sender_ratchet=signed_prekey.key_pair,
        sending_chain=None,
        previous_counter=0,
        receiver_chains=(),
        pending_prekey=None,
    )


# --- encrypt -----------------------------------------------------------------------------------


def encrypt(record: SessionRecord, plaintext: bytes) -> tuple[EncryptedMessage, SessionRecord]:
    """Encrypts with the current session: a ``pkmsg`` until the peer replied, then ``msg``."""
    state = record.current
    if state is None:
        raise NoSessionError("no open session to encrypt with")
    chain = state.sending_chain
    if chain is None:
        raise NoSessionError("the session has no sending chain yet")
    seed, next_key = kdf.chain_step(chain.key)
    keys = kdf.message_keys(seed)
    message = build_signal_message(
        ratchet_key=state.sender_ratchet.public,
        counter=chain.index,
        previous_counter=state.previous_counter,
        ciphertext=kdf.aes_cbc_encrypt(keys.cipher_key, keys.iv, plaintext),
        mac_key=keys.mac_key,
        sender_identity=state.local_identity,
        receiver_identity=state.remote_identity,
    )
    new_record = SessionRecord(
        state.with_sending_chain(ChainKey(next_key, chain.index + 1)),
        record.previous,
    )
    pending = state.pending_prekey
    if pending is None:
        result = EncryptedMessage(EncType.MSG, message.serialized, state.remote_registration_id)
    else:
        prekey_message = build_prekey_message(
            registration_id=state.local_registration_id,
            prekey_id=pending.prekey_id,
            signed_prekey_id=pending.signed_prekey_id,
            base_key=pending.base_key,
            identity_key=state.local_identity,
            message=message,
        )
        result = EncryptedMessage(
            EncType.PKMSG, prekey_message.serialized, state.remote_registration_id
        )
    return result, new_record


# --- decrypt -----------------------------------------------------------------------------------


def decrypt(
    record: SessionRecord | None,
    message: SignalMessage | bytes,
    *,
    new_key_pair: KeyPairSource = generate_key_pair,
) -> tuple[bytes, SessionRecord]:
    """Decrypts a ``msg``: the current session first, then archived ones (promoting a match)."""
    if not isinstance(message, SignalMessage):
        message = parse_signal_message(message)
    states = record.states if record is not None else ()
    if record is None or not states:
        raise NoSessionForMessageError("no session with this address to decrypt a msg")
    failures: list[InvalidMacError | TooFarInFutureError] = []
    for position, state in enumerate(states):
        try:
            plaintext, new_state = _decrypt_with_state(state, message, new_key_pair)
        except (InvalidMacError, TooFarInFutureError) as exc:
            failures.append(exc)
            continue
        return plaintext, record.promote(position, new_state)
    if all(isinstance(failure, InvalidMacError) for failure in failures):
        raise InvalidMacError(
            f"no session authenticates this message ({len(states)} tried; "
            f"counter {message.counter}, ratchet key {message.ratchet_key.hex()[:16]}…)"
        )
    raise failures[0]


def decrypt_prekey_message(
    record: SessionRecord | None,
    message: PreKeySignalMessage | bytes,
    *,
    identity: KeyPair,
    registration_id: int,
    signed_prekey: SignedPreKey | None,
    prekey: PreKey | None,
    new_key_pair: KeyPairSource = generate_key_pair,
) -> PreKeyDecryptResult:
    """Decrypts a ``pkmsg``, building the responder session on the first one.

    Later prekey messages of the same session (the initiator repeats them until we reply) are
    found by their base key and need no prekeys. For a new session, pass the signed prekey and
    the one-time prekey the message names (``None`` if not found; that fails only if needed).
    The caller decides about trusting ``message.identity_key`` before calling.
    """
    if not isinstance(message, PreKeySignalMessage):
        message = parse_prekey_message(message)
    record = record or SessionRecord()
    for position, state in enumerate(record.states):
        # The outer fields of a prekey message are not authenticated: match the identity too,
        # so that an altered identity key can never ride on an existing session.
        if (
            not state.initiated_by_us
            and state.base_key == message.base_key
            and state.remote_identity == message.identity_key
        ):
            plaintext, new_state = _decrypt_with_state(state, message.message, new_key_pair)
            return PreKeyDecryptResult(plaintext, record.promote(position, new_state), None)
    if signed_prekey is None or signed_prekey.key_id != message.signed_prekey_id:
        raise MissingPreKeyError(f"no signed prekey {message.signed_prekey_id}")
    if message.prekey_id is not None:
        if prekey is None or prekey.key_id != message.prekey_id:
            raise MissingPreKeyError(f"no one-time prekey {message.prekey_id} (already used?)")
    else:
        prekey = None
    state = _responder_state(message, identity, registration_id, signed_prekey, prekey)
    plaintext, new_state = _decrypt_with_state(state, message.message, new_key_pair)
    return PreKeyDecryptResult(plaintext, record.with_new_session(new_state), message.prekey_id)


def _decrypt_with_state(
    state: SessionState, message: SignalMessage, new_key_pair: KeyPairSource
) -> tuple[bytes, SessionState]:
    position = state.receiver_chain_index(message.ratchet_key)
    if position >= 0:
        chain = state.receiver_chains[position]
        root_key = state.root_key
    else:
        # A new peer ratchet key: derive its receiving chain (the first half of a DH ratchet
        # step). The second half waits until the message authenticated.
        try:
            shared = agreement(state.sender_ratchet.private, message.ratchet_key)
        except InvalidKeyError as exc:
            raise InvalidMessageError(f"unusable ratchet key: {exc}") from exc
        root_key, chain_key = kdf.root_step(state.root_key, shared)
        chain = ReceiverChain(message.ratchet_key, ChainKey(chain_key, 0))
    seed, new_chain = _take_message_seed(chain, message.counter)
    keys = kdf.message_keys(seed)
    expected = signal_message_mac(
        keys.mac_key, state.remote_identity, state.local_identity, message.authenticated_part
    )
    if not hmac.compare_digest(expected, message.mac):
        raise InvalidMacError(f"bad MAC on message {message.counter}")
    plaintext = kdf.aes_cbc_decrypt(keys.cipher_key, keys.iv, message.ciphertext)
    if position >= 0:
        return plaintext, state.with_receiver_chain(position, new_chain)
    ratchet = new_key_pair()
    root_key, sending_key = kdf.root_step(root_key, agreement(ratchet.private, message.ratchet_key))
    return plaintext, state.after_ratchet_step(
        root_key=root_key,
        sender_ratchet=ratchet,
        sending_chain=ChainKey(sending_key, 0),
        receiver_chain=new_chain,
    )


def _take_message_seed(chain: ReceiverChain, counter: int) -> tuple[bytes, ReceiverChain]:
    """The message key seed for ``counter`` and the chain without it."""
    index = chain.chain_key.index
    if counter < index:
        seed = chain.skipped.get(counter)
        if seed is None:
            raise DuplicateMessageError(
                f"message {counter} is behind the chain (at {index}) and its key is not kept"
            )
        skipped = dict(chain.skipped)
        del skipped[counter]
        return seed, ReceiverChain(chain.ratchet_key, chain.chain_key, skipped)
    if counter - index > MAX_FORWARD_JUMP:
        raise TooFarInFutureError(
            f"message {counter} is {counter - index} ahead of the chain (limit {MAX_FORWARD_JUMP})"
        )
    key = chain.chain_key.key
    skipped_keys = chain.skipped
    if counter > index:
        grown = dict(skipped_keys)
        chain_step = kdf.chain_step
        for skipped_counter in range(index, counter):
            grown[skipped_counter], key = chain_step(key)
        excess = len(grown) - MAX_MESSAGE_KEYS
        if excess > 0:
            for oldest in list(islice(grown, excess)):
                del grown[oldest]
        skipped_keys = grown
    seed, next_key = kdf.chain_step(key)
    return seed, ReceiverChain(chain.ratchet_key, ChainKey(next_key, counter + 1), skipped_keys)
