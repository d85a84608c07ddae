"""Sender keys (groups): one symmetric chain per sender, handed out in distribution messages.

A ``SenderKeyRecord`` belongs to one (group, sender device) pair. For our own sends it holds our
state, with the private signing key; for others it holds up to five states they distributed,
told apart by key id. Like daemon.signal.session, these are pure functions returning new records.

The chain steps like the pairwise one (HMAC seeds 0x01 / 0x02); message keys come from HKDF info
"WhisperGroup" and every message is signed by the sender's signing key. Limits are libsignal's
(MAX_SENDER_KEY_STATES 5, 2000 kept skipped keys) and WhatsApp's 2000-iteration forward jump.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import islice

from daemon.signal import kdf
from daemon.signal.curve import generate_key_pair
from daemon.signal.errors import (
    BadMessageSignatureError,
    DuplicateMessageError,
    NoSenderKeyError,
    NoSessionError,
    TooFarInFutureError,
)
from daemon.signal.keys import KeyPairSource
from daemon.signal.messages import (
    SenderKeyDistributionMessage,
    SenderKeyMessage,
    build_distribution_message,
    build_sender_key_message,
    parse_sender_key_message,
)
from daemon.signal.state import ChainKey

MAX_SENDER_KEY_STATES = 5
MAX_GROUP_MESSAGE_KEYS = 2000
MAX_GROUP_FORWARD_JUMP = 2000
MAX_SENDER_KEY_ID = 2**31 - 1
"""Key ids are drawn below 2^31 - 1 (Baileys: ``randomInt(2147483647)``)."""


@dataclass(frozen=True, slots=True)
class SenderKeyState:
    """One sender chain. ``chain_key.index`` is the iteration its key derives next.

    ``signing_private`` is set only on our own state. ``skipped`` maps iteration -> message key
    seed for iterations jumped over, in increasing order; never mutated.
    """

    key_id: int
    chain_key: ChainKey
    signing_public: bytes
    signing_private: bytes | None = None
    skipped: Mapping[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SenderKeyRecord:
    """The sender key states of one (group, sender) pair, oldest first."""

    states: tuple[SenderKeyState, ...] = ()

    def state_for(self, key_id: int) -> SenderKeyState | None:
        for state in reversed(self.states):
            if state.key_id == key_id:
                return state
        return None

    def replace_state(self, old: SenderKeyState, new: SenderKeyState) -> SenderKeyRecord:
        """This record with the state ``old`` (by identity) replaced by ``new``."""
        return SenderKeyRecord(tuple(new if state is old else state for state in self.states))


def new_own_sender_key(
    *,
    key_id: int | None = None,
    chain_key: bytes | None = None,
    new_key_pair: KeyPairSource = generate_key_pair,
    randbelow: Callable[[int], int] = secrets.randbelow,
    token_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> SenderKeyRecord:
    """A fresh own sender key (iteration 0): a record to keep for (group, own address)."""
    if key_id is None:
        key_id = randbelow(MAX_SENDER_KEY_ID)
    if chain_key is None:
        chain_key = token_bytes(32)
    if len(chain_key) != 32:
        raise ValueError("a sender chain key is 32 bytes")
    signing = new_key_pair()
    return SenderKeyRecord(
        (SenderKeyState(key_id, ChainKey(chain_key, 0), signing.public, signing.private),)
    )


def _own_state(record: SenderKeyRecord) -> tuple[SenderKeyState, bytes]:
    """Our newest state and its private signing key."""
    if record.states:
        state = record.states[-1]
        if state.signing_private is not None:
            return state, state.signing_private
    raise NoSessionError("no own sender key in this record; create one with new_own_sender_key")


def distribution_message(record: SenderKeyRecord) -> SenderKeyDistributionMessage:
    """The SKDM for our own current sender key, at its current iteration."""
    state, _ = _own_state(record)
    return build_distribution_message(
        key_id=state.key_id,
        iteration=state.chain_key.index,
        chain_key=state.chain_key.key,
        signing_key=state.signing_public,
    )


def process_distribution_message(
    record: SenderKeyRecord | None, message: SenderKeyDistributionMessage
) -> SenderKeyRecord:
    """Adds the sender's state from an SKDM; at most five are kept, the oldest dropped.

    WhatsApp senders repeat the SKDM often (whatsmeow with every group message). A repeat of a
    key we hold (same id and signing key) changes nothing: our state can already derive every
    later iteration, and resetting it would make already-read messages decrypt again. The same
    id with another signing key replaces the old state.
    """
    record = record or SenderKeyRecord()
    existing = record.state_for(message.key_id)
    if existing is not None and existing.signing_public == message.signing_key:
        return record
    kept = tuple(state for state in record.states if state.key_id != message.key_id)
    new_state = SenderKeyState(
        message.key_id, ChainKey(message.chain_key, message.iteration), message.signing_key
    )
    return SenderKeyRecord((*kept, new_state)[-MAX_SENDER_KEY_STATES:])


def group_encrypt(
    record: SenderKeyRecord, plaintext: bytes, *, nonce: bytes | None = None
) -> tuple[bytes, SenderKeyRecord]:
    """A signed SenderKeyMessage (``skmsg``) at the next iteration of our own chain."""
    state, signing_private = _own_state(record)
    chain = state.chain_key
    seed, next_key = kdf.chain_step(chain.key)
    iv, cipher_key = kdf.group_message_keys(seed)
    message = build_sender_key_message(
        key_id=state.key_id,
        iteration=chain.index,
        ciphertext=kdf.aes_cbc_encrypt(cipher_key, iv, plaintext),
        signing_private=signing_private,
        nonce=nonce,
    )
    advanced = SenderKeyState(
        state.key_id,
        ChainKey(next_key, chain.index + 1),
        state.signing_public,
        signing_private,
        state.skipped,
    )
    return message.serialized, record.replace_state(state, advanced)


def group_decrypt(
    record: SenderKeyRecord | None, message: SenderKeyMessage | bytes
) -> tuple[bytes, SenderKeyRecord]:
    """Checks the signature, then decrypts with the state the message's key id names."""
    if not isinstance(message, SenderKeyMessage):
        message = parse_sender_key_message(message)
    state = record.state_for(message.key_id) if record is not None else None
    if record is None or state is None:
        raise NoSenderKeyError(f"no sender key {message.key_id} from this sender")
    if not message.verify(state.signing_public):
        raise BadMessageSignatureError(
            f"sender key message {message.key_id}/{message.iteration} has a bad signature"
        )
    seed, new_state = _take_group_seed(state, message.iteration)
    iv, cipher_key = kdf.group_message_keys(seed)
    plaintext = kdf.aes_cbc_decrypt(cipher_key, iv, message.ciphertext)
    return plaintext, record.replace_state(state, new_state)


def _take_group_seed(state: SenderKeyState, iteration: int) -> tuple[bytes, SenderKeyState]:
    index = state.chain_key.index
    if iteration < index:
        seed = state.skipped.get(iteration)
        if seed is None:
            raise DuplicateMessageError(
                f"group message {iteration} is behind the chain (at {index}) and its key is "
                "not kept"
            )
        skipped = dict(state.skipped)
        del skipped[iteration]
        return seed, SenderKeyState(
            state.key_id, state.chain_key, state.signing_public, state.signing_private, skipped
        )
    if iteration - index > MAX_GROUP_FORWARD_JUMP:
        raise TooFarInFutureError(
            f"group message {iteration} is {iteration - index} ahead of the chain "
            f"(limit {MAX_GROUP_FORWARD_JUMP})"
        )
    key = state.chain_key.key
    skipped_keys = state.skipped
    if iteration > index:
        grown = dict(skipped_keys)
        chain_step = kdf.chain_step
        for skipped_iteration in range(index, iteration):
            grown[skipped_iteration], key = chain_step(key)
        excess = len(grown) - MAX_GROUP_MESSAGE_KEYS
        if excess > 0:
            for oldest in list(islice(grown, excess)):
                del grown[oldest]
        skipped_keys = grown
    seed, next_key = kdf.chain_step(key)
    new_state = SenderKeyState(
        state.key_id,
        ChainKey(next_key, iteration + 1),
        state.signing_public,
        state.signing_private,
        skipped_keys,
    )
    return seed, new_state
