"""What every messaging handler of one session shares: stores, the Signal store, who we are,
caches, the crypto lock, the event sink, the live connection.

Two rules hold everything together:

* **One unit, one transaction.** :meth:`MessagingContext.unit` opens a storage transaction and
  collects events; just before it commits, the events go to the :class:`EventSink` (so the
  daemon's event rows are part of the same transaction), and only after the commit are they
  published on the session's bus. A stanza is acked by the caller after the unit, never inside.
* **Pipelined units ack later.** :meth:`MessagingContext.pipelined_unit` is the same unit,
  except that leaving it does not wait for the commit: the receive path hands the unit's
  :class:`PendingUnit` to the connection's :class:`~daemon.client.ack_pipeline.AckPipeline`,
  which publishes the events and sends the receipt once the commit holding it is durable, so
  a run of messages shares one commit and persist-before-ack stays exact.
* **One Signal writer at a time.** Decrypting and encrypting both read a session record, run the
  pure core and write the new record. ``crypto_lock`` is held from that read to the commit, so a
  send and a receive never start from the same record. It is never held across a network wait:
  the reader task delivers iq answers and must always be able to take it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from daemon.binary import JID
from daemon.client.addressing import Addressing
from daemon.client.awaited_answers import AwaitedAnswers
from daemon.client.connection import Connection
from daemon.client.context import SessionContext
from daemon.client.devices import DEFAULT_TTL_S, DeviceCache
from daemon.client.errors import NotConnected
from daemon.client.message_events import ChatUpdated, MessagingEvent
from daemon.client.privacy_cache import CachedPrivacyTokens
from daemon.client.restrictions import AccountRestrictions
from daemon.client.retry import MAX_RETRIES
from daemon.client.server_acks import ServerAck
from daemon.client.signal_store import CachingSignalStore
from daemon.client.sinks import EventSink
from storage.interfaces import PendingCommit
from storage.message_interfaces import MessageStore

PLAINTEXT_WINDOW_S = 24 * 3600.0
PHONE_REQUEST_DELAY_S = 5.0


COMMIT_TIMEOUT_S: Final = 30.0
"""A commit slower than this fails the unit waiting for it (a busy database file, a stuck disk;
on the receive path it ends the connection)."""


@dataclass(slots=True)
class PendingUnit:
    """A pipelined unit: its events (published once durable) and the commit it waits for
    (set when the unit ended without an error)."""

    events: list[MessagingEvent] = field(default_factory=list)
    commit: PendingCommit | None = None


@dataclass(frozen=True, slots=True)
class MessagingOptions:
    ack_timeout: float | None = None
    """Seconds a send waits for the server's ack; None takes the session's iq timeout."""
    max_retries: int = MAX_RETRIES
    """Retry receipts we send per undecryptable message, and answer per message and device."""
    plaintext_window: float = PLAINTEXT_WINDOW_S
    """How long sent plaintexts are kept to answer retry receipts (older requests are refused
    as stale)."""
    device_cache_ttl: float = DEFAULT_TTL_S
    phone_request_delay: float = PHONE_REQUEST_DELAY_S
    """After the first failed decrypt, how long the sender has to encrypt it again before our
    phone is asked for the message (whatsmeow RequestFromPhoneDelay)."""


class MessagingContext:
    def __init__(
        self,
        session: SessionContext,
        messages: MessageStore,
        signal: CachingSignalStore,
        sink: EventSink,
        options: MessagingOptions,
    ) -> None:
        self.session = session
        self.log = session.log
        self.messages = messages
        self.signal = signal
        self.sink = sink
        self.options = options
        self.privacy = CachedPrivacyTokens(messages.privacy, session.store.after_commit)
        """The session's privacy tokens and NCT salt (use this, not ``messages.privacy``)."""
        self.devices = DeviceCache(session.clock, options.device_cache_ttl)
        self.acks = AwaitedAnswers[ServerAck]()
        self.restrictions = AccountRestrictions()
        """What the service last announced about this account (time-lock, message cap)."""
        self.crypto_lock = asyncio.Lock()
        self.connection: Connection | None = None
        self.ready = False
        """Logged in and active: sends are allowed."""
        self.ready_at: float | None = None
        """When this connection became ready (privacy tokens give the salt a grace)."""
        self._addressing: Addressing | None = None
        self._contacts_loaded = False

    @property
    def session_id(self) -> str:
        return self.session.session_id

    @property
    def addressing(self) -> Addressing:
        if self._addressing is None:
            credentials = self.session.require_credentials()
            if credentials.pn_jid is None:
                raise NotConnected(f"session {self.session_id!r} is not paired")
            lid = JID.parse(credentials.lid_jid) if credentials.lid_jid else None
            self._addressing = Addressing(JID.parse(credentials.pn_jid), lid)
        return self._addressing

    def refresh_identity(self) -> None:
        """Rebuilds :attr:`addressing` if the credentials name us differently now (a new
        pairing, our LID learnt at login); otherwise keeps it, so a task that holds it never
        sees our names change under it."""
        current = self._addressing
        if current is None:
            return
        credentials = self.session.credentials
        pn = (
            JID.parse(credentials.pn_jid).to_non_ad()
            if credentials and credentials.pn_jid
            else None
        )
        lid = (
            JID.parse(credentials.lid_jid).to_non_ad()
            if credentials and credentials.lid_jid
            else None
        )
        if pn != current.own_pn or lid != current.own_lid:
            self._addressing = None
            self._contacts_loaded = False

    async def prepare(self) -> Addressing:
        """:attr:`addressing` with every stored PN ↔ LID mapping loaded (once)."""
        addressing = self.addressing
        if not self._contacts_loaded:
            for contact in await self.messages.contacts.all(self.session_id):
                if contact.pn is not None and contact.lid is not None:
                    addressing.learn(JID.parse(contact.pn), JID.parse(contact.lid))
            self._contacts_loaded = True
        return addressing

    async def learn_mapping(self, pn: JID, lid: JID) -> bool:
        """A PN ↔ LID mapping from a stanza or a usync answer: remembered, stored, and the
        Signal state made under the phone-number address moved to the LID address — under the
        crypto lock, so no encrypt or decrypt sees the names change half-way. True if news."""
        async with self.crypto_lock:
            addressing = self.addressing
            if addressing.lid_of(pn) == lid.to_non_ad():
                return False
            await self.store_mappings([(pn.to_non_ad(), lid.to_non_ad())])
            return True

    async def store_mappings(self, pairs: list[tuple[JID, JID]]) -> None:
        """Learns (PN, LID) pairs in one unit: contacts, Signal state moved to the LID
        address, and one conversation per person — a chat kept under the LID before its number
        was known is merged into the person's chat (and said so in a ``ChatUpdated``). Call
        under the crypto lock."""
        sid = self.session_id
        async with self.unit() as events:
            for pn, lid in pairs:
                self.addressing.learn(pn, lid)
                if await self.move_to_lid(pn, lid):
                    merged = await self.messages.chats.get(sid, str(pn))
                    if merged is not None:
                        events.append(ChatUpdated(sid, merged))

    async def move_to_lid(self, pn: JID, lid: JID) -> bool:
        """Stores a learnt PN ↔ LID pair: the contact, the Signal state moved to the LID
        address, and one conversation per person (a chat kept under the LID is merged into the
        person's chat). True when a chat was merged. Call in a unit, under the crypto lock."""
        sid = self.session_id
        await self.messages.contacts.learn(sid, pn=str(pn), lid=str(lid))
        await self.messages.contacts.move_sessions_to_lid(sid, pn.user, lid.user)
        self.signal.forget_all()  # records moved behind the Signal store
        if await self.messages.chats.get(sid, str(lid)) is None:
            return False
        await self.messages.contacts.merge_chats(sid, str(pn), str(lid))
        return True

    @property
    def ack_timeout(self) -> float:
        if self.options.ack_timeout is not None:
            return self.options.ack_timeout
        return self.session.iq_timeout

    def now(self) -> float:
        return self.session.now()

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.session.now(), UTC)

    def require_connection(self) -> Connection:
        connection = self.connection
        if connection is None or connection.ended or not self.ready:
            raise NotConnected(f"session {self.session_id!r} is not connected")
        return connection

    @contextlib.asynccontextmanager
    async def unit(self, linger: float = 0.0) -> AsyncIterator[list[MessagingEvent]]:
        """One transaction; the events appended to the yielded list are recorded by the sink
        inside it and published after it committed. With ``linger`` (seconds) the unit asks
        for no commit of its own and shares the next unit's (``Pipelined``); leaving it still
        waits until that commit is durable."""
        events: list[MessagingEvent] = []
        opened: AbstractAsyncContextManager[PendingCommit | None] = (
            self.messages.pipelined_transaction(linger) if linger else self.messages.transaction()
        )
        async with opened as commit:
            yield events
            if events:
                await self.sink.record(self.session_id, events)
        if commit is not None:
            await commit.wait(COMMIT_TIMEOUT_S)
        self.publish(events)

    @contextlib.asynccontextmanager
    async def pipelined_unit(self) -> AsyncIterator[PendingUnit]:
        """:meth:`unit` without the wait for its commit: the events appended to the yielded
        unit's list are recorded inside it; publish them with :meth:`publish` after
        ``unit.commit`` is durable."""
        unit = PendingUnit()
        async with self.messages.pipelined_transaction() as commit:
            yield unit
            if unit.events:
                await self.sink.record(self.session_id, unit.events)
        unit.commit = commit

    def publish(self, events: list[MessagingEvent]) -> None:
        for event in events:
            self.session.publish(event)
