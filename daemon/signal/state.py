"""Session state: what one Double Ratchet session remembers, and a record of sessions per address.

All of it is immutable. Operations in daemon.signal.session build new objects and share the
untouched parts (a chain's skipped-key map is only copied when that chain changes), so the state a
caller passed in is never modified, on success or on error.

Limits are libsignal's (rust/protocol/src/consts.rs; Java and Go use the same numbers), except the
forward jump: WhatsApp's libraries (npm libsignal, go.mau.fi/libsignal) refuse more than 2000
messages ahead, where current Rust libsignal allows 25000.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from daemon.signal.curve import KeyPair

MAX_FORWARD_JUMP = 2000
"""How far ahead of a receiving chain a message counter may be."""

MAX_MESSAGE_KEYS = 2000
"""Skipped message keys kept per receiving chain; the oldest go first."""

MAX_RECEIVER_CHAINS = 5
"""Receiving chains kept per session (one per peer ratchet key); the oldest go first."""

MAX_PREVIOUS_SESSIONS = 40
"""Archived sessions kept per address besides the current one; the oldest go first."""


@dataclass(frozen=True, slots=True)
class ChainKey:
    """A symmetric chain position: ``key`` derives the message key numbered ``index``."""

    key: bytes
    index: int


@dataclass(frozen=True, slots=True)
class ReceiverChain:
    """The chain of one peer ratchet key, with the message keys skipped on it.

    ``skipped`` maps counter -> message key seed, in increasing counter order. Never mutated:
    a changed chain gets a new mapping.
    """

    ratchet_key: bytes
    chain_key: ChainKey
    skipped: Mapping[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PendingPreKey:
    """What an initiator repeats in every message until the peer's first reply arrives."""

    prekey_id: int | None
    signed_prekey_id: int
    base_key: bytes


@dataclass(frozen=True, slots=True)
class SessionState:
    """One Double Ratchet session (libsignal's SessionStructure). Keys are raw 32 bytes.

    ``base_key`` is the initiator's X3DH ephemeral: it names the session, and a responder finds
    the session again by it when more prekey messages of the same session arrive.
    ``sending_chain`` is None only on a responder before the first message was decrypted.
    """

    local_identity: bytes
    remote_identity: bytes
    local_registration_id: int
    remote_registration_id: int
    base_key: bytes
    initiated_by_us: bool
    root_key: bytes
    sender_ratchet: KeyPair
    sending_chain: ChainKey | None
    previous_counter: int
    receiver_chains: tuple[ReceiverChain, ...]
    pending_prekey: PendingPreKey | None
    archived_form: bytes | None = field(default=None, init=False, repr=False, compare=False)
    """Set by daemon.signal.records the first time it stores this state as an archived one (a
    state never changes, so neither does its storage form): a record is written on every
    message, its up to 40 archived states are encoded once."""

    def receiver_chain_index(self, ratchet_key: bytes) -> int:
        """Position of the chain for ``ratchet_key`` in ``receiver_chains``, or -1."""
        chains = self.receiver_chains
        for position in range(len(chains) - 1, -1, -1):
            if chains[position].ratchet_key == ratchet_key:
                return position
        return -1

    def with_receiver_chain(self, position: int, chain: ReceiverChain) -> SessionState:
        """This state with the chain at ``position`` replaced and the first reply acknowledged."""
        chains = self.receiver_chains
        return SessionState(
            self.local_identity,
            self.remote_identity,
            self.local_registration_id,
            self.remote_registration_id,
            self.base_key,
            self.initiated_by_us,
            self.root_key,
            self.sender_ratchet,
            self.sending_chain,
            self.previous_counter,
            (*chains[:position], chain, *chains[position + 1 :]),
            None,
        )

    def with_sending_chain(self, chain: ChainKey) -> SessionState:
        return SessionState(
            self.local_identity,
            self.remote_identity,
            self.local_registration_id,
            self.remote_registration_id,
            self.base_key,
            self.initiated_by_us,
            self.root_key,
            self.sender_ratchet,
            chain,
            self.previous_counter,
            self.receiver_chains,
            self.pending_prekey,
        )

    def after_ratchet_step(
        self,
        *,
        root_key: bytes,
        sender_ratchet: KeyPair,
        sending_chain: ChainKey,
        receiver_chain: ReceiverChain,
    ) -> SessionState:
        """This state after a DH ratchet step driven by the peer's new ratchet key."""
        # libsignal sends, as previousCounter, the index of the last message of the chain being
        # replaced (0 when none was sent).
        previous = self.sending_chain
        previous_counter = max(previous.index - 1, 0) if previous is not None else 0
        chains = (*self.receiver_chains, receiver_chain)[-MAX_RECEIVER_CHAINS:]
        return SessionState(
            self.local_identity,
            self.remote_identity,
            self.local_registration_id,
            self.remote_registration_id,
            self.base_key,
            self.initiated_by_us,
            root_key,
            sender_ratchet,
            sending_chain,
            previous_counter,
            chains,
            None,
        )


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """All sessions with one address: the current one and up to 40 archived ones, newest first.

    Archived sessions still decrypt: messages the peer sent before it saw our newer session
    arrive late, and simultaneous session setups leave each side with the other's session.
    A session that decrypts a message becomes current again (libsignal's promotion).
    """

    current: SessionState | None = None
    previous: tuple[SessionState, ...] = ()

    @property
    def states(self) -> tuple[SessionState, ...]:
        """The current session (if any) first, then the archived ones, newest first."""
        if self.current is None:
            return self.previous
        return (self.current, *self.previous)

    @property
    def is_empty(self) -> bool:
        return self.current is None and not self.previous

    def with_current(self, state: SessionState) -> SessionRecord:
        return SessionRecord(state, self.previous)

    def with_new_session(self, state: SessionState) -> SessionRecord:
        """``state`` becomes current; the old current one is archived."""
        return SessionRecord(state, self._archived_with(self.current, self.previous))

    def archive_current(self) -> SessionRecord:
        """No current session any more (e.g. after an identity change); history is kept."""
        return SessionRecord(None, self._archived_with(self.current, self.previous))

    def promote(self, position: int, state: SessionState) -> SessionRecord:
        """``states[position]`` replaced by ``state`` and made current."""
        if position == 0 and self.current is not None:
            return SessionRecord(state, self.previous)
        offset = 0 if self.current is None else 1
        index = position - offset
        rest = (*self.previous[:index], *self.previous[index + 1 :])
        return SessionRecord(state, self._archived_with(self.current, rest))

    @staticmethod
    def _archived_with(
        state: SessionState | None, previous: tuple[SessionState, ...]
    ) -> tuple[SessionState, ...]:
        if state is None:
            return previous
        return (state, *previous)[:MAX_PREVIOUS_SESSIONS]
