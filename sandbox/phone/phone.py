"""The simulated primary phone (device 0) of one sandbox account.

It is a real client in-process: it attaches to the ``Network`` as device 0 of its account and
speaks the same stanzas a socket client would (``network.submit`` in, ``deliver`` out). It holds
the account's Signal identity, uploads its prekeys, looks devices up with usync, fetches prekey
bundles, encrypts per device (pkmsg for a new session, msg after), sends group messages with
sender keys, decrypts what it receives and answers with receipts (retry receipts when it cannot
decrypt), and answers other devices' retry receipts by encrypting again.

For its own companions it does what a real phone does (protocol-inventory §13.5): it signs them
in when it scans their QR, and after a companion's first login it sends the app-state key share
and the history sync (INITIAL_BOOTSTRAP inline, PUSH_NAME, RECENT and FULL chunks as media-host
blobs; ``sandbox.phone.history``) as peer messages. It owns the account's app state
(``sandbox.phone.app_state``), answers its companions' peer data operations (on-demand history,
placeholder resends) and media-retry requests, sends media the way a client does and downloads
and verifies the media it receives (``sandbox.phone.media``).

Stanzas are handled one at a time by a worker task; ``deliver`` only queues them, except the
answers to the phone's own iqs and message acks (``sandbox.phone.link``).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import enum
import functools
import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import structlog
from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.binary import JID, Node
from daemon.client.ids import new_message_id
from daemon.client.lid_sync import lid_sync_message
from daemon.crypto.appstate import Collection
from daemon.crypto.media import MediaError, MediaType, decrypt_media, encrypt_media
from daemon.crypto.media_retry import (
    MediaRetryError,
    MediaRetryNotice,
    MediaRetryResult,
    SealedRetry,
    open_retry_request,
    seal_retry_notice,
)
from daemon.signal import (
    DuplicateMessageError,
    EncType,
    GroupCipher,
    InvalidKeyError,
    InvalidSignatureError,
    KeyPair,
    MissingPreKeyError,
    NoSessionForMessageError,
    PreKey,
    ProtocolAddress,
    SenderKeyName,
    SessionCipher,
    SignalError,
    SignedPreKey,
    UntrustedIdentityError,
    generate_prekeys,
    generate_signed_prekey,
    pad,
    unpad,
)
from sandbox.directory import Account, Device
from sandbox.media import blob_id_from_path
from sandbox.network import Network, PhoneMedia, PhoneMessage
from sandbox.pairing import PairingFailed
from sandbox.phone import client_stanzas as cs
from sandbox.phone.app_state import (
    AppliedChange,
    AppStateChange,
    PhoneAppState,
    PhoneAppStateError,
    account_app_state_key,
    change_mutation,
    contact_mutation,
    key_share_message,
)
from sandbox.phone.history import (
    BlobLocation,
    ChatMessage,
    HistoryBook,
    HistoryChunk,
    HistoryConfig,
    history_sync_plan,
    on_demand_chunk,
)
from sandbox.phone.history import notification_message as history_message
from sandbox.phone.history_seed import HistorySeed, parse_history_seed, seed_request_bytes
from sandbox.phone.link import StanzaLink
from sandbox.phone.media import (
    MEDIA_NOT_ON_PHONE,
    MEDIA_RETRY_UNREADABLE,
    Attachment,
    MediaHost,
    MediaHostError,
    MediaRetryRequest,
    OutgoingMedia,
    attachment_of,
    media_message,
    media_retry_notification,
    parse_media_retry_receipt,
)
from sandbox.phone.pairing import PairingError, adv_raw_id, scan_qr
from sandbox.phone.peer_data import (
    OnDemandRequest,
    PlaceholderRequest,
    RecoveryRequest,
    parse_peer_request,
    placeholder_response,
    recovery_response,
)
from sandbox.phone.privacy import TokenIssuance, issue_token_iq, token_node
from sandbox.phone.signal_store import PhoneSignalStore
from waproto import wa_e2e_pb2

__all__ = ["PhoneError", "PhoneSettings", "ReceiptEvent", "SimulatedPhone", "phone_factory"]

log = structlog.get_logger("sandbox.phone")

PHONE_PLATFORM = "android"
"""What ``pair-success > platform name`` says about the primary."""
SIGNED_PREKEY_ID = 1
MAX_SENT_KEPT = 256
"""Sent messages kept to answer retry receipts (whatsmeow keeps the same number)."""
MAX_RETRIES = 5
MAX_INCOMING_KEPT = 4096
"""Received messages remembered for read receipts."""
ADDRESS_BOOK_ACCOUNTS = 8
"""Other sandbox accounts a new phone finds in its address book (the first ones created)."""
CONTACTS_PER_PATCH = 500
_HISTORY_NAMESPACE = "history"
_HISTORY_SEED_KEY = "seed"


class PhoneError(Exception):
    """A send the phone could not carry out (no devices, a refused iq, no server ack)."""


class ReceiptType(enum.StrEnum):
    DELIVERY = ""
    READ = "read"
    SENDER = "sender"
    PEER = "peer_msg"
    RETRY = "retry"
    SERVER_ERROR = "server-error"


@dataclass(frozen=True, slots=True)
class PhoneSettings:
    history: HistoryConfig = field(default_factory=HistoryConfig)
    auto_reply: bool = False
    prekey_batch: int = 30
    """One-time prekeys uploaded whenever the server holds fewer than ``min_prekeys``."""
    min_prekeys: int = 10
    request_timeout: float = 15.0
    """Seconds to wait for an iq answer or a message ack."""


@dataclass(frozen=True, slots=True)
class ReceiptEvent:
    """A receipt the phone got for one of its messages."""

    message_ids: tuple[str, ...]
    sender: JID
    receipt_type: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class _Sent:
    """What a retry receipt needs to encrypt a message again."""

    message_id: str
    chat: JID
    message_type: str
    message: bytes
    timestamp: int
    peer: bool = False
    """A protocol message to one of our companions (no deviceSentMessage wrapper)."""


@dataclass(frozen=True, slots=True)
class _Decrypted:
    content: wa_e2e_pb2.Message
    from_me: bool
    chat: JID


class SimulatedPhone:
    """Device 0 of ``account``; implements ``sandbox.network.Phone``."""

    acks_required = False
    """An in-process endpoint: nothing delivered to it is lost, so nothing stays owed."""

    def __init__(
        self,
        account: Account,
        network: Network,
        *,
        settings: PhoneSettings | None = None,
        store: PhoneSignalStore | None = None,
    ) -> None:
        self.account = account
        self.settings = settings or PhoneSettings()
        self.auto_reply = self.settings.auto_reply
        self.receipts: list[ReceiptEvent] = []
        self.presence_seen: collections.deque[Node] = collections.deque(maxlen=200)
        """The last presence and chatstate stanzas the phone was sent."""
        self._network = network
        self._jid = account.pn_device(0)
        self._identity = KeyPair(account.identity.private, account.identity.public)
        self._store = store or PhoneSignalStore(
            network.phone_store(account.phone_user), self._identity, account.registration_id
        )
        self._sessions = SessionCipher(self._store)
        self._groups = GroupCipher(self._store)
        self._link = StanzaLink(
            network,
            self._jid,
            self._handle,
            timeout=self.settings.request_timeout,
            failure=PhoneError,
            name=f"phone-{account.phone_user}",
        )
        self._lock = asyncio.Lock()
        self._pairing_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._received: list[PhoneMessage] = []
        self._seen: set[tuple[JID, JID, str]] = set()
        self._chat_log: list[ChatMessage] = []
        self._known: dict[str, ChatMessage] = {}
        self._incoming: OrderedDict[str, cs.IncomingMessage] = OrderedDict()
        self._sent: OrderedDict[str, _Sent] = OrderedDict()
        self._history_sent: OrderedDict[str, HistoryChunk] = OrderedDict()
        """Peer message id -> the history chunk it announced (to upload it again on request)."""
        self._retries: dict[str, int] = {}
        self._skdm_sent: dict[str, tuple[int, set[ProtocolAddress]]] = {}
        self._tokens_issued = TokenIssuance()
        self._started = False
        self._media = MediaHost(self._iq, lambda: network.media.origin)
        self.app_state = PhoneAppState(
            network.phone_store(account.phone_user),
            account_app_state_key(account.identity, account.created_at),
            self._iq,
        )
        self._seed: HistorySeed | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def jid(self) -> JID:
        return self._jid

    @property
    def messages_received(self) -> list[PhoneMessage]:
        return list(self._received)

    @property
    def chat_log(self) -> list[ChatMessage]:
        """Everything the phone sent and received, as its history sync will show it."""
        return list(self._chat_log)

    async def start(self) -> None:
        if self._started:
            return
        await self._store.load()
        if not self._store.signed_prekey_ids():
            await self._store.store_signed_prekey(
                generate_signed_prekey(self._identity, SIGNED_PREKEY_ID)
            )
        self._link.start()
        self._network.on_device_login.append(self._on_device_login)
        self._started = True
        # Like a device logging in: whatever was queued while the phone was away comes first.
        await self._network.offline.login(self._jid, self, self.deliver)
        await self._refill_prekeys()
        await self._load_history_seed()
        try:
            await self.app_state.ensure_initial(
                self.account.push_name, self._address_book(), now_ms=self._network.now() * 1000
            )
        except PhoneAppStateError as exc:
            log.warning("sandbox.phone.app_state_init_failed", error=str(exc))

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._network.detach(self._jid, self)
        if self._on_device_login in self._network.on_device_login:
            self._network.on_device_login.remove(self._on_device_login)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        await self._link.stop()

    async def idle(self) -> None:
        """Waits until every stanza delivered so far, and the work it started, is done."""
        while True:
            await self._link.join()
            pending = [t for t in self._tasks if not t.done()]
            if not pending:
                if self._link.empty():
                    return
                continue
            await asyncio.gather(*pending, return_exceptions=True)

    # --- Endpoint ------------------------------------------------------------------------------

    async def deliver(self, node: Node) -> None:
        await self._link.deliver(node)

    def _spawn(self, work: Callable[[], Awaitable[object]], name: str) -> None:
        async def run() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sandbox.phone.task_failed", task=name)

        task = asyncio.create_task(run(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- requests ------------------------------------------------------------------------------

    async def _iq(self, build: Callable[[str], Node]) -> Node:
        return await self._link.iq(build)

    async def _send_stanza(self, node: Node) -> int:
        """Submits a message and waits for the server ack; returns its ``t``."""
        message_id = node.attr_str("id") or ""
        answer = await self._link.request("ack", message_id, node)
        error = answer.attr_str("error")
        if error:
            raise PhoneError(f"the server refused message {message_id}: error {error}")
        return answer.attr_int("t") or self._network.now()

    async def _submit(self, node: Node) -> None:
        await self._link.submit(node)

    # --- addressing ----------------------------------------------------------------------------

    def _address(self, device: JID) -> ProtocolAddress:
        """Sessions are keyed by the peer's LID device address, whichever JID form a stanza
        used, so PN- and LID-addressed traffic share one session (as both clients do)."""
        lid = self._network.directory.to_lid(device)
        return ProtocolAddress.from_jid(lid if lid is not None else device)

    def _is_own(self, jid: JID) -> bool:
        account = self._network.directory.account_of(jid)
        return account is not None and account.phone_user == self.account.phone_user

    def _account_jid(self, jid: JID) -> JID:
        """The PN account JID of a user (PN or LID, device or not)."""
        pn = self._network.directory.to_pn(jid.to_non_ad())
        return pn if pn is not None else jid.to_non_ad()

    @property
    def _own_address(self) -> ProtocolAddress:
        return ProtocolAddress.from_jid(self.account.lid_device(0))

    # --- prekeys -------------------------------------------------------------------------------

    async def _signed_prekey(self) -> SignedPreKey:
        ids = self._store.signed_prekey_ids()
        signed = await self._store.load_signed_prekey(ids[-1]) if ids else None
        if signed is None:
            raise PhoneError("the phone has no signed prekey")
        return signed

    async def _new_prekeys(self, count: int) -> list[PreKey]:
        start = await self._store.allocate_prekey_ids(count)
        prekeys = generate_prekeys(start, count)
        await self._store.store_prekeys(prekeys)
        return prekeys

    async def _refill_prekeys(self) -> None:
        count = cs.parse_prekey_count(await self._iq(cs.prekey_count_iq))
        if count >= self.settings.min_prekeys:
            return
        prekeys = await self._new_prekeys(self.settings.prekey_batch)
        signed = await self._signed_prekey()
        answer = await self._iq(
            lambda iq_id: cs.prekey_upload_iq(
                iq_id,
                registration_id=self.account.registration_id,
                identity_public=self._identity.public,
                prekeys=prekeys,
                signed_prekey=signed,
            )
        )
        if answer.attr_str("type") != "result":
            raise PhoneError("the server refused the phone's prekeys")

    # --- devices and sessions ------------------------------------------------------------------

    async def _devices_of(self, users: Iterable[JID], *, hosted: bool = False) -> list[JID]:
        """Every device of ``users`` (and of our own account), ours excluded, one per address;
        with ``hosted``, others' hosted (Cloud API) devices too (1:1 chats reach them)."""
        wanted = [u.to_non_ad() for u in users]
        if not any(self._is_own(u) for u in wanted):
            wanted.append(self.account.pn)
        unique: dict[JID, None] = dict.fromkeys(wanted)
        answer = await self._iq(lambda iq_id: cs.usync_devices_iq(iq_id, list(unique)))
        devices: dict[ProtocolAddress, JID] = {}
        own = self._own_address
        for user in cs.parse_usync_devices(answer):
            for device in user.device_jids(hosted=hosted and not self._is_own(user.user)):
                address = self._address(device)
                if address != own and address not in devices:
                    devices[address] = device
        return list(devices.values())

    async def _ensure_sessions(self, devices: Sequence[JID], *, force: bool = False) -> list[JID]:
        """Fetches bundles for devices without a session; returns the devices we can reach."""
        missing = [
            d for d in devices if force or not await self._sessions.has_session(self._address(d))
        ]
        if missing:
            bundles = cs.parse_prekey_bundles(
                await self._iq(lambda iq_id: cs.prekey_fetch_iq(iq_id, missing))
            )
            by_address = {self._address(jid): bundle for jid, bundle in bundles.items()}
            for device in missing:
                bundle = by_address.get(self._address(device))
                if bundle is None:
                    continue
                try:
                    await self._sessions.process_bundle(self._address(device), bundle)
                except (InvalidSignatureError, InvalidKeyError, UntrustedIdentityError) as exc:
                    log.warning("sandbox.phone.bad_bundle", device=str(device), error=str(exc))
        return [d for d in devices if await self._sessions.has_session(self._address(d))]

    async def _encrypt_for(self, device: JID, plaintext: bytes, retry_count: int = 0) -> Node:
        encrypted = await self._sessions.encrypt(self._address(device), pad(plaintext))
        kind = EncType(encrypted.message.type)
        return cs.enc_node(cs.EncNode(kind, encrypted.message.body, retry_count))

    # --- sending -------------------------------------------------------------------------------

    def _new_id(self) -> str:
        return new_message_id(self.account.phone_user, self._network.now())

    async def send_text(self, to: JID, text: str) -> str:
        return await self.send_message(to, wa_e2e_pb2.Message(conversation=text))

    async def send_reply(self, to: JID, text: str, quoted_id: str) -> str:
        context = wa_e2e_pb2.ContextInfo(stanzaID=quoted_id)
        quoted = self._known.get(quoted_id)
        if quoted is not None:
            context.quotedMessage.ParseFromString(quoted.message)
            author = self.account.pn if quoted.from_me else (quoted.sender or quoted.chat)
            context.participant = str(author)
        message = wa_e2e_pb2.Message(
            extendedTextMessage=wa_e2e_pb2.ExtendedTextMessage(text=text, contextInfo=context)
        )
        return await self.send_message(to, message)

    async def send_reaction(self, to: JID, message_id: str, emoji: str) -> str:
        chat = to if to.is_group else self._account_jid(to)
        quoted = self._known.get(message_id)
        key = wa_e2e_pb2.MessageKey(
            remoteJID=str(chat),
            fromMe=quoted.from_me if quoted is not None else False,
            ID=message_id,
        )
        if chat.is_group and quoted is not None and not quoted.from_me and quoted.sender:
            key.participant = str(quoted.sender)
        message = wa_e2e_pb2.Message(
            reactionMessage=wa_e2e_pb2.ReactionMessage(
                key=key, text=emoji, senderTimestampMS=self._network.now() * 1000
            )
        )
        return await self.send_message(to, message)

    async def send_group_text(self, group: JID, text: str) -> str:
        if not group.is_group:
            raise PhoneError(f"{group} is not a group")
        return await self.send_message(group, wa_e2e_pb2.Message(conversation=text))

    async def send_message(self, to: JID, message: wa_e2e_pb2.Message) -> str:
        """Sends any E2E message to a user or a group; returns its id."""
        message_id = self._new_id()
        message_type = _stanza_type(message)
        body = message.SerializeToString()
        async with self._lock:
            if to.is_group:
                chat = to
                node = await self._group_stanza(message_id, to, message_type, body)
            else:
                chat = self._account_jid(to)
                node = await self._direct_stanza(message_id, chat, message_type, body)
            timestamp = await self._send_stanza(node)
        self._remember_sent(_Sent(message_id, chat, message_type, body, timestamp))
        self._log(ChatMessage(chat, message_id, True, timestamp, body))
        if not to.is_group:
            await self._issue_token(chat)
        return message_id

    async def _issue_token(self, chat: JID) -> None:
        """Our own trusted-contact token for the peer we just wrote to (once per bucket)."""
        peer = self._network.directory.account_of(chat)
        now = self._network.now()
        if peer is None or self._is_own(chat) or not self._tokens_issued.due(peer, now):
            return
        answer = await self._iq(lambda iq_id: issue_token_iq(iq_id, peer.lid, now))
        if answer.attr_str("type") == "result":
            self._tokens_issued.issued(peer, now)

    async def _direct_stanza(
        self, message_id: str, chat: JID, message_type: str, body: bytes
    ) -> Node:
        devices = await self._ensure_sessions(await self._devices_of([chat], hosted=True))
        if not any(not self._is_own(d) for d in devices):
            raise PhoneError(f"{chat} has no device the phone can reach")
        own_copy = _device_sent(chat, body)
        hide = message_type == "reaction"
        directory = self._network.directory
        fanout: dict[JID, Node] = {}
        for device in devices:
            plaintext = own_copy if self._is_own(device) else body
            enc = await self._encrypt_for(device, plaintext)
            # LID-first: every device under its LID, like the DM itself.
            fanout[directory.to_lid(device) or device] = _with_hide(enc) if hide else enc
        peer = directory.account_of(chat)
        if peer is None or self._is_own(chat):
            return cs.message_stanza(message_id, chat, message_type, fanout=fanout)
        token = token_node(self._network.rules, self.account, peer, self._network.now())
        return cs.message_stanza(
            message_id,
            peer.lid,
            message_type,
            fanout=fanout,
            content=[token] if token is not None else (),
            attrs={"peer_recipient_pn": peer.pn},
        )

    async def _group_stanza(
        self, message_id: str, group: JID, message_type: str, body: bytes
    ) -> Node:
        info = cs.parse_group(await self._iq(lambda iq_id: cs.group_query_iq(iq_id, group)))
        if not any(self._is_own(p) for p in info.participants):
            raise PhoneError(f"the phone's account is not in {group}")
        devices = await self._devices_of(info.participants)
        name = SenderKeyName(str(group), self._own_address)
        distribution = (await self._groups.distribution_message(name)).message
        skmsg = (await self._groups.encrypt(name, pad(body))).ciphertext
        key_id, have_key = self._skdm_sent.get(str(group), (distribution.key_id, set()))
        if key_id != distribution.key_id:
            have_key = set()
        lacking = [d for d in devices if self._address(d) not in have_key]
        fanout: dict[JID, Node] = {}
        if lacking:
            skdm = _distribution(group, distribution.serialized)
            for device in await self._ensure_sessions(lacking):
                fanout[device] = await self._encrypt_for(device, skdm)
                have_key.add(self._address(device))
        self._skdm_sent[str(group)] = (distribution.key_id, have_key)
        content = [cs.enc_node(cs.EncNode(EncType.SKMSG, skmsg))]
        attrs = {"addressing_mode": info.addressing_mode} if info.addressing_mode else None
        return cs.message_stanza(
            message_id, group, message_type, fanout=fanout, content=content, attrs=attrs
        )

    async def create_group(self, subject: str, participants: Sequence[JID]) -> JID:
        """Creates a group with the given members (as a client would, with ``w:g2 create``)."""
        members = [
            Node("participant", {"jid": self._account_jid(p)})
            for p in participants
            if not self._is_own(p)
        ]
        create = Node("create", {"subject": subject, "key": self._new_id()}, members)
        answer = await self._iq(
            lambda iq_id: Node(
                "iq",
                {"id": iq_id, "xmlns": "w:g2", "type": "set", "to": JID("", "g.us")},
                [create],
            )
        )
        return cs.parse_group(answer).jid

    async def send_presence(self, node: Node) -> None:
        """A ``presence`` (available, unavailable, subscribe) or ``chatstate`` stanza from the
        phone's user, as their app sends it."""
        if node.tag not in ("presence", "chatstate"):
            raise PhoneError(f"not a presence stanza: <{node.tag}>")
        await self._submit(node)

    async def change_group(self, group: JID, change: Node) -> Node:
        """Any ``w:g2`` change the phone's user makes to ``group`` (members, settings,
        subject), as a client would send it; returns the answer."""
        try:
            answer = await self._iq(lambda iq_id: cs.group_change_iq(iq_id, group, change))
            return cs.check_result(answer, f"group {change.tag}")
        except cs.StanzaError as exc:
            raise PhoneError(str(exc)) from None

    def group_member_node(self, user: JID) -> Node:
        return Node("participant", {"jid": self._account_jid(user)})

    async def mark_read(self, chat: JID, message_ids: list[str]) -> None:
        """Sends read receipts for messages the phone received in ``chat``."""
        by_sender: dict[tuple[JID, JID | None], list[str]] = {}
        for message_id in message_ids:
            incoming = self._incoming.get(message_id)
            if incoming is None:
                raise PhoneError(f"the phone never received message {message_id}")
            to = incoming.raw_from or incoming.sender
            by_sender.setdefault((to, incoming.participant), []).append(message_id)
        now = self._network.now()
        for (to, participant), ids in by_sender.items():
            await self._submit(
                cs.receipt(
                    ids,
                    to,
                    receipt_type=ReceiptType.READ,
                    participant=participant,
                    timestamp=now,
                )
            )

    def _remember_sent(self, sent: _Sent) -> None:
        self._sent[sent.message_id] = sent
        while len(self._sent) > MAX_SENT_KEPT:
            self._sent.popitem(last=False)

    def remember(self, message: ChatMessage) -> None:
        """Keeps a message the phone got by other means than a stanza it decrypted (one the
        server shows companions only as ``<unavailable>``, see ``sandbox.unavailable``)."""
        self._log(message)

    def _log(self, message: ChatMessage) -> None:
        if message.message_id not in self._known:
            self._chat_log.append(message)
            self._known[message.message_id] = message

    # --- pairing -------------------------------------------------------------------------------

    async def scan_qr(self, qr: str) -> Device:
        """Scans a companion's QR: signs its identity and lets the server finish the link."""
        async with self._pairing_lock:
            try:
                scanned = scan_qr(
                    qr,
                    self.account.identity,
                    raw_id=adv_raw_id(self.account),
                    key_index=self.account.next_key_index,
                    timestamp=self._network.now(),
                )
            except PairingError as exc:
                raise PairingFailed(str(exc)) from None
            return await self._network.pairing.complete_qr(
                scanned.ref,
                self.account,
                scanned.device_identity,
                scanned.key_index,
                PHONE_PLATFORM,
            )

    async def confirm_pair_code(self, code: str) -> Device:
        """The user typed the companion's pairing code on this phone."""
        async with self._pairing_lock:
            return await self._network.pairing.confirm_code(self.account, code)

    # --- a companion's first login -------------------------------------------------------------

    async def _on_device_login(self, device: Device, first_login: bool) -> None:
        if device.phone_user != self.account.phone_user or device.device_id == 0:
            return
        if first_login:
            self._spawn(lambda: self._welcome(device), f"phone-welcome-{device.device_id}")

    async def _welcome(self, device: Device) -> None:
        """App-state keys, then history sync, as peer messages to the new companion."""
        config = self._history_config()
        target = device.jid()
        if config.send_app_state_keys:
            await self._send_peer(target, self._key_share())
        if config.send_history:
            await self._push_history_to(target)
        # The account is LID-migrated: the phone tells its new companion the mappings it knows.
        mappings = sorted(self._lid_mappings(self.history_book()).items(), key=lambda p: str(p[0]))
        await self._send_peer(target, lid_sync_message(mappings))

    # --- history -------------------------------------------------------------------------------

    def _history_config(self) -> HistoryConfig:
        config = self.settings.history
        return self._seed.options.apply(config) if self._seed is not None else config

    def history_book(self) -> HistoryBook:
        """Everything the phone would put in a history sync now."""
        seeded = self.settings.history.seeded_chats
        if self._seed is not None:
            seeded = (*seeded, *self._seed.chats)
        return HistoryBook(seeded, self._chat_log)

    def _find_message(self, message_id: str) -> ChatMessage | None:
        return self._known.get(message_id) or self.history_book().find(message_id)

    async def push_history(self, device: JID | None = None) -> list[JID]:
        """Sends the history sync again (the same chunks a first login gets) to one companion
        or to all of them; returns the devices it went to."""
        companions = [
            d.jid()
            for d in self._network.directory.devices(self.account.phone_user)
            if d.device_id != 0 and not d.logged_out
        ]
        if device is not None:
            wanted = self._network.directory.to_pn(device) or device
            if wanted not in companions:
                raise PhoneError(f"{device} is not a companion of {self.account.phone_user}")
            companions = [wanted]
        for target in companions:
            await self._push_history_to(target)
        return companions

    async def _push_history_to(self, target: JID) -> None:
        book = self.history_book()
        plan = history_sync_plan(
            book,
            self._history_config(),
            push_names=self._push_names(book),
            lid_mappings=self._lid_mappings(book),
            nct_salt=self._network.rules.of(self.account.phone_user).nct_salt or None,
            tc_tokens=self._tc_tokens(book),
        )
        for chunk in plan:
            notification = await self._history_notification(chunk)
            message_id = await self._send_peer(target, history_message(notification))
            self._history_sent[message_id] = chunk
            while len(self._history_sent) > MAX_SENT_KEPT:
                self._history_sent.popitem(last=False)

    async def _history_notification(
        self, chunk: HistoryChunk, *, session_id: str = ""
    ) -> wa_e2e_pb2.HistorySyncNotification:
        """Inline, or uploaded like a client uploads (media type History, ``md-msg-hist``)."""
        if chunk.inline:
            return chunk.notification(session_id=session_id)
        encrypted = encrypt_media(chunk.blob, MediaType.HISTORY)
        uploaded = await self._media.upload(
            encrypted.body,
            MediaType.HISTORY.mms_type or "md-msg-hist",
            encrypted.info.file_enc_sha256,
        )
        location = BlobLocation(
            uploaded.direct_path, encrypted.media_key, encrypted.info.file_enc_sha256
        )
        return chunk.notification(location, session_id=session_id)

    async def seed_history(self, request: dict[str, object]) -> HistorySeed:
        """Replaces the history seeded through the admin API (``sandbox.phone.history_seed``):
        stores its media on the media host, its contacts in app state, and keeps the request so
        a restart rebuilds the same history."""
        seed = parse_history_seed(request, media_origin=self._network.media.origin)
        now = self._network.now()
        async with self._network.state.transaction():
            for blob in seed.blobs:
                await self._network.media.put(blob.mms_type, blob.body, now, blob_id=blob.blob_id)
            await self._network.phone_store(self.account.phone_user).put(
                _HISTORY_NAMESPACE, _HISTORY_SEED_KEY, seed_request_bytes(request)
            )
        self._seed = seed
        contacts = [contact_mutation(c.jid, c.full_name, c.first_name) for c in seed.contacts]
        for start in range(0, len(contacts), CONTACTS_PER_PATCH):
            await self.app_state.apply(
                Collection.CRITICAL_UNBLOCK_LOW,
                contacts[start : start + CONTACTS_PER_PATCH],
                now_ms=now * 1000,
            )
        return seed

    async def _load_history_seed(self) -> None:
        raw = await self._network.phone_store(self.account.phone_user).get(
            _HISTORY_NAMESPACE, _HISTORY_SEED_KEY
        )
        if raw is None:
            return
        try:
            self._seed = parse_history_seed(
                json.loads(raw), media_origin=self._network.media.origin
            )
        except ValueError as exc:
            log.warning("sandbox.phone.history_seed_unreadable", error=str(exc))

    # --- app state -----------------------------------------------------------------------------

    async def change_app_state(self, change: AppStateChange) -> AppliedChange:
        """A change the user makes on the phone, uploaded as the next patch of its collection."""
        collection, mutation = change_mutation(change)
        version = await self.app_state.apply(
            collection, [mutation], now_ms=self._network.now() * 1000
        )
        return AppliedChange(str(collection), version, mutation.index)

    def _address_book(self) -> list[tuple[JID, str]]:
        """Other accounts (the first few) and two address-book entries of its own."""
        others = [
            (a.pn, a.push_name)
            for a in self._network.directory.accounts()
            if a.phone_user != self.account.phone_user and a.push_name
        ][:ADDRESS_BOOK_ACCOUNTS]
        digits = self.account.phone_user[-6:]
        own = [
            (JID(f"1999{digits}{i}", "s.whatsapp.net"), name)
            for i, name in enumerate(("Sam Sandbox", "Alex Example"), start=1)
        ]
        return others + own

    def _key_share(self) -> wa_e2e_pb2.Message:
        key = account_app_state_key(self.account.identity, self.account.created_at)
        devices = self._network.directory.devices(self.account.phone_user)
        indexes = [d.key_index for d in devices]
        return key_share_message(
            [key],
            raw_id=adv_raw_id(self.account),
            current_index=max(indexes, default=0),
            device_indexes=indexes,
        )

    def _push_names(self, book: HistoryBook) -> dict[JID, str]:
        directory = self._network.directory
        chats = {c.jid for c in book.chats()}
        names: dict[JID, str] = dict(self._seed.push_names) if self._seed is not None else {}
        for chat in chats:
            account = directory.account_of(chat)
            if account is not None and account.push_name:
                names[account.pn] = account.push_name
        return names

    def _lid_mappings(self, book: HistoryBook) -> dict[JID, JID]:
        directory = self._network.directory
        chats = {c.jid for c in book.chats()}
        chats.add(self.account.pn)
        mappings: dict[JID, JID] = {}
        for chat in chats:
            account = directory.account_of(chat)
            if account is not None:
                mappings[account.pn] = account.lid
        return mappings

    def _tc_tokens(self, book: HistoryBook) -> dict[JID, tuple[bytes, int]]:
        """Per 1:1 chat, the token its peer issued to our account (history carries them)."""
        rules, now = self._network.rules, self._network.now()
        tokens: dict[JID, tuple[bytes, int]] = {}
        for chat in book.chats():
            peer = self._network.directory.account_of(chat.jid)
            issued = rules.token(peer.phone_user, self.account.phone_user, now) if peer else None
            if issued is not None:
                tokens[chat.jid] = (issued.token, issued.issued_at)
        return tokens

    async def _send_peer(self, device: JID, message: wa_e2e_pb2.Message) -> str:
        """A protocol message to one of our own companions (``category=peer``)."""
        message_id = self._new_id()
        async with self._lock:
            reachable = await self._ensure_sessions([device])
            if not reachable:
                raise PhoneError(f"no session with our companion {device}")
            enc = await self._encrypt_for(device, message.SerializeToString())
            node = cs.message_stanza(
                message_id,
                device,
                "text",
                content=[enc],
                attrs={"category": "peer", "push_priority": "high_force"},
            )
            timestamp = await self._send_stanza(node)
        self._remember_sent(
            _Sent(message_id, device, "text", message.SerializeToString(), timestamp, peer=True)
        )
        return message_id

    # --- receiving -----------------------------------------------------------------------------

    async def _handle(self, node: Node) -> None:
        if node.tag == "message":
            await self._on_message(node)
        elif node.tag == "receipt":
            await self._on_receipt(node)
        elif node.tag == "notification":
            await self._submit(cs.ack(node))
            await self._on_notification(node)
        elif node.tag in ("presence", "chatstate"):
            self.presence_seen.append(node)

    async def _on_notification(self, node: Node) -> None:
        kind = node.attr_str("type")
        if kind == "encrypt" and node.child("count") is not None:
            async with self._lock:
                await self._refill_prekeys()
        elif kind == "w:gp2" and node.child("remove") is not None:
            # A member left: later messages go under a new sender key they do not have.
            group = node.attr_jid("from")
            if group is not None:
                await self._store.delete_sender_key(SenderKeyName(str(group), self._own_address))
                self._skdm_sent.pop(str(group), None)
        elif kind == "server_sync":
            # A companion changed app state: catch up, as every device of the account does.
            for collection in node.children_by_tag("collection"):
                name = collection.attr_str("name") or ""
                self._spawn(functools.partial(self.app_state.sync, name), "phone-app-state-sync")

    async def _on_message(self, node: Node) -> None:
        try:
            incoming = cs.parse_incoming_message(node)
        except cs.StanzaError as exc:
            log.warning("sandbox.phone.bad_message", error=str(exc))
            await self._submit(cs.ack(node, error=487))
            return
        async with self._lock:
            try:
                decrypted = await self._decrypt(incoming)
            except DuplicateMessageError:
                decrypted = None
            except (SignalError, ProtoDecodeError, cs.StanzaError) as exc:
                await self._ask_retry(incoming, exc)
                return
        await self._submit(self._receipt_for(incoming))
        if decrypted is not None:
            self._incoming[incoming.message_id] = incoming
            while len(self._incoming) > MAX_INCOMING_KEPT:
                self._incoming.popitem(last=False)
            self._retries.pop(incoming.message_id, None)
            await self._accept(incoming, decrypted)

    def _receipt_for(self, incoming: cs.IncomingMessage) -> Node:
        """Delivery receipt; ``sender`` / ``peer_msg`` for what our own devices sent."""
        own = self._is_own(incoming.sender)
        kind = ReceiptType.DELIVERY
        if own:
            kind = ReceiptType.PEER if incoming.category == "peer" else ReceiptType.SENDER
        if incoming.is_group:
            return cs.receipt(
                [incoming.message_id],
                incoming.chat,
                receipt_type=kind,
                participant=incoming.sender,
            )
        to = incoming.raw_from or incoming.sender
        recipient = incoming.recipient if own else None
        return cs.receipt([incoming.message_id], to, receipt_type=kind, recipient=recipient)

    async def _decrypt(self, incoming: cs.IncomingMessage) -> _Decrypted | None:
        if not incoming.encs:
            raise cs.StanzaError(f"message {incoming.message_id} carries no enc")
        address = self._address(incoming.sender)
        content: wa_e2e_pb2.Message | None = None
        # Pairwise parts first: they may carry the sender key the skmsg needs.
        ordered = sorted(incoming.encs, key=lambda e: e.kind is EncType.SKMSG)
        for enc in ordered:
            if enc.kind is EncType.SKMSG:
                if not incoming.is_group:
                    raise cs.StanzaError("skmsg outside a group")
                name = SenderKeyName(str(incoming.chat), address)
                plaintext = (await self._groups.decrypt(name, enc.body)).plaintext
            else:
                plaintext = (await self._sessions.decrypt(address, enc.kind, enc.body)).plaintext
            message = wa_e2e_pb2.Message.FromString(unpad(plaintext))
            if message.HasField("senderKeyDistributionMessage") and incoming.is_group:
                await self._groups.process_distribution(
                    SenderKeyName(str(incoming.chat), address),
                    message.senderKeyDistributionMessage.axolotlSenderKeyDistributionMessage,
                )
            if _has_content(message):
                content = message
        if content is None:
            return None
        chat, from_me = incoming.chat, self._is_own(incoming.sender)
        if content.HasField("deviceSentMessage"):
            if not from_me:
                raise cs.StanzaError("a device-sent message from another account")
            sent = content.deviceSentMessage
            chat = JID.parse(sent.destinationJID).to_non_ad() if sent.destinationJID else chat
            content = sent.message
        elif not chat.is_group:
            chat = self._account_jid(chat)
        return _Decrypted(content, from_me, chat)

    async def _ask_retry(self, incoming: cs.IncomingMessage, error: Exception) -> None:
        count = self._retries.get(incoming.message_id, 0) + 1
        log.info(
            "sandbox.phone.decrypt_failed",
            message=incoming.message_id,
            sender=str(incoming.sender),
            error=repr(error),
            retry=count,
        )
        if count > MAX_RETRIES:
            self._retries.pop(incoming.message_id, None)
            await self._submit(cs.ack(Node("message", _ack_source(incoming)), error=500))
            return
        self._retries[incoming.message_id] = count
        keys = None
        # Keys let the sender start over: from the second try, or when we have no session or
        # lost the prekey its session was built on.
        if count > 1 or isinstance(error, (NoSessionForMessageError, MissingPreKeyError)):
            prekey = (await self._new_prekeys(1))[0]
            keys = (self._identity.public, prekey, await self._signed_prekey())
        await self._submit(
            cs.retry_receipt(
                incoming, count=count, registration_id=self.account.registration_id, keys=keys
            )
        )

    async def _accept(self, incoming: cs.IncomingMessage, decrypted: _Decrypted) -> None:
        # A real phone shows a message once per (chat, sender, id): a sender that is unsure
        # whether its send got through (a crash before the server ack) sends it again under the
        # same id, and the copy is receipted but not shown twice.
        key = (decrypted.chat, incoming.sender.to_non_ad(), incoming.message_id)
        if key in self._seen:
            return
        self._seen.add(key)
        content = decrypted.content
        if content.HasField("protocolMessage"):
            await self._on_protocol(incoming, decrypted)
        # The admin API names senders by phone number, whichever addressing the stanza used.
        sender = self._network.directory.to_pn(incoming.sender) or incoming.sender
        record = _describe(incoming, decrypted, sender)
        attachment = attachment_of(content)
        if attachment is not None and record.kind == "other":
            record = dataclasses.replace(
                record, kind="media", text=attachment.caption, media=await self._fetch(attachment)
            )
        self._received.append(record)
        if record.kind in ("protocol", "edit", "revoke"):
            return
        sender_account = None if decrypted.from_me else self._account_jid(incoming.sender)
        self._log(
            ChatMessage(
                decrypted.chat,
                incoming.message_id,
                decrypted.from_me,
                incoming.timestamp or self._network.now(),
                content.SerializeToString(),
                sender=sender_account if decrypted.chat.is_group else None,
                push_name=incoming.push_name,
            )
        )
        if (
            self.auto_reply
            and record.kind in ("text", "reply")
            and not decrypted.from_me
            and incoming.sender.device != 0
        ):
            # Phones never echo each other (device 0 senders), so two auto-replying phones
            # cannot talk forever.
            reply_to = decrypted.chat
            text = f"echo: {record.text}"
            self._spawn(lambda: self.send_message(reply_to, _text(text)), "phone-auto-reply")

    async def _on_protocol(self, incoming: cs.IncomingMessage, decrypted: _Decrypted) -> None:
        protocol = decrypted.content.protocolMessage
        if (
            protocol.type == wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_REQUEST
            and decrypted.from_me
        ):
            device = incoming.sender
            self._spawn(lambda: self._send_peer(device, self._key_share()), "phone-key-share")
        elif (
            protocol.type == wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_MESSAGE
            and decrypted.from_me
        ):
            requester, request_id = incoming.sender, incoming.message_id
            request = protocol.peerDataOperationRequestMessage
            self._spawn(
                lambda: self._answer_peer_request(requester, request_id, request),
                "phone-peer-data",
            )

    async def _answer_peer_request(
        self,
        device: JID,
        request_id: str,
        message: wa_e2e_pb2.PeerDataOperationRequestMessage,
    ) -> None:
        request = parse_peer_request(message)
        if isinstance(request, OnDemandRequest):
            chunk = on_demand_chunk(
                self.history_book(),
                request.chat,
                oldest_id=request.oldest_id,
                oldest_timestamp=request.oldest_timestamp,
                count=request.count,
                inline=request.inline or self._history_config().inline_everything,
            )
            notification = await self._history_notification(chunk, session_id=request_id)
            await self._send_peer(device, history_message(notification))
        elif isinstance(request, PlaceholderRequest):
            found = [m for i in request.message_ids if (m := self._find_message(i)) is not None]
            await self._send_peer(device, placeholder_response(request_id, found))
        elif isinstance(request, RecoveryRequest):
            copy = await self.app_state.recovery(request.collection)
            if copy is not None:
                await self._send_peer(device, recovery_response(request_id, *copy))

    # --- media ---------------------------------------------------------------------------------

    async def send_media(self, to: JID, media: OutgoingMedia) -> str:
        """Encrypts and uploads a file like a client does, then sends the media message."""
        encrypted = encrypt_media(media.data, media.kind.media_type)
        uploaded = await self._media.upload(
            encrypted.body, media.kind.mms_type, encrypted.info.file_enc_sha256
        )
        message = media_message(media, encrypted, uploaded, timestamp=self._network.now())
        return await self.send_message(to, message)

    async def _fetch(self, attachment: Attachment) -> PhoneMedia:
        """Downloads and verifies a received file (a phone auto-downloads)."""
        try:
            body = await self._media.download(
                attachment.direct_path, attachment.file_enc_sha256, attachment.kind.mms_type
            )
            plain = decrypt_media(
                body,
                attachment.media_key,
                attachment.kind.media_type,
                file_enc_sha256=attachment.file_enc_sha256,
                file_sha256=attachment.file_sha256,
            )
        except (MediaHostError, MediaError) as exc:
            return _media_record(attachment, error=str(exc))
        return _media_record(attachment, plain)

    async def media_bytes(self, message_id: str) -> bytes:
        """The decrypted file of a media message the phone sent, received or holds in its
        history (read from the media host's store, expired or not: the phone has the file)."""
        found = self._find_message(message_id)
        attachment = attachment_of(wa_e2e_pb2.Message.FromString(found.message)) if found else None
        if attachment is None:
            raise PhoneError(f"the phone has no media message {message_id}")
        blob_id = blob_id_from_path(attachment.direct_path)
        body = await self._network.media.get(blob_id) if blob_id else None
        if body is None:
            raise PhoneError(f"the file of {message_id} is not on the media host")
        return decrypt_media(
            body,
            attachment.media_key,
            attachment.kind.media_type,
            file_enc_sha256=attachment.file_enc_sha256,
            file_sha256=attachment.file_sha256,
        )

    async def _reupload_history(self, node: Node) -> None:
        """A companion could not fetch a history chunk (whatsmeow's history-sync server-error
        receipt, sealed with the chunk's media key): upload it again, announce it anew."""
        requester, message_id = node.attr_jid("from"), node.attr_str("id") or ""
        chunk = self._history_sent.get(message_id)
        sent = self._sent.get(message_id)
        encrypt = node.child("encrypt") or Node("encrypt")
        enc_p, enc_iv = encrypt.child("enc_p"), encrypt.child("enc_iv")
        if (
            requester is None
            or not self._is_own(requester)
            or chunk is None
            or sent is None
            or enc_p is None
            or enc_iv is None
        ):
            log.info("sandbox.phone.history_reupload_ignored", message=message_id)
            return
        notification = wa_e2e_pb2.Message.FromString(sent.message)
        media_key = notification.protocolMessage.historySyncNotification.mediaKey
        sealed = SealedRetry(
            ciphertext=enc_p.content_bytes() or b"", iv=enc_iv.content_bytes() or b""
        )
        try:
            asked = open_retry_request(sealed, message_id, media_key)
        except MediaRetryError:
            asked = ""
        if asked != message_id:
            log.info("sandbox.phone.history_reupload_unreadable", message=message_id)
            return
        fresh = await self._history_notification(chunk)
        new_id = await self._send_peer(requester, history_message(fresh))
        self._history_sent[new_id] = chunk
        log.info("sandbox.phone.history_reuploaded", message=message_id, again=new_id)

    async def _answer_media_retry(self, node: Node) -> None:
        """A companion could not download a file: upload it again and tell it where."""
        try:
            request = parse_media_retry_receipt(node)
        except ValueError as exc:
            log.warning("sandbox.phone.bad_media_retry", error=str(exc))
            return
        if not self._is_own(request.requester):
            return
        found = self._find_message(request.message_id)
        attachment = attachment_of(wa_e2e_pb2.Message.FromString(found.message)) if found else None
        blob_id = blob_id_from_path(attachment.direct_path) if attachment else None
        body = await self._network.media.get(blob_id) if blob_id else None
        if attachment is None or body is None:
            await self._media_retry_answer(request, error=MEDIA_NOT_ON_PHONE)
            return
        try:
            asked = open_retry_request(request.sealed, request.message_id, attachment.media_key)
        except MediaRetryError:
            asked = ""
        if asked != request.message_id:
            await self._media_retry_answer(request, error=MEDIA_RETRY_UNREADABLE)
            return
        uploaded = await self._media.upload(
            body, attachment.kind.mms_type, attachment.file_enc_sha256
        )
        notice = MediaRetryNotice(
            request.message_id, MediaRetryResult.SUCCESS, uploaded.direct_path
        )
        await self._media_retry_answer(
            request, sealed=seal_retry_notice(notice, attachment.media_key)
        )

    async def _media_retry_answer(
        self, request: MediaRetryRequest, *, sealed: SealedRetry | None = None, error: int = 0
    ) -> None:
        notification = media_retry_notification(
            request, self._network.now(), sealed=sealed, error_code=error
        )
        await self._network.deliver(request.requester, notification)

    # --- receipts and retries ------------------------------------------------------------------

    async def _on_receipt(self, node: Node) -> None:
        await self._submit(cs.ack(node))
        kind = node.attr_str("type") or ""
        if kind == ReceiptType.SERVER_ERROR and node.child("rmr") is None:
            self._spawn(lambda: self._reupload_history(node), "phone-history-reupload")
            return
        if kind == ReceiptType.SERVER_ERROR:
            self._spawn(lambda: self._answer_media_retry(node), "phone-media-retry")
            return
        if kind == ReceiptType.RETRY:
            try:
                request = cs.parse_retry_receipt(node)
            except (cs.StanzaError, SignalError) as exc:
                log.warning("sandbox.phone.bad_retry", error=str(exc))
                return
            await self._answer_retry(request)
            return
        source = node.attr_jid("participant") or node.attr_jid("from")
        if source is None:
            return
        ids = [node.attr_str("id") or ""]
        listed = node.child("list")
        if listed is not None:
            ids.extend(item.attr_str("id") or "" for item in listed.children_by_tag("item"))
        self.receipts.append(
            ReceiptEvent(tuple(ids), source, kind, node.attr_int("t") or self._network.now())
        )

    async def _answer_retry(self, request: cs.RetryRequest) -> None:
        """Encrypts a message again for the one device that could not decrypt it."""
        sent = self._sent.get(request.message_id)
        if sent is None or request.count > MAX_RETRIES:
            log.info("sandbox.phone.retry_ignored", message=request.message_id)
            return
        device = request.requester
        address = self._address(device)
        async with self._lock:
            if request.bundle is not None:
                await self._sessions.process_bundle(address, request.bundle)
            else:
                # From the second try on, or when the device re-registered, start over.
                record = await self._store.load_session(address)
                current = record.current if record is not None else None
                force = request.count > 1 or (
                    current is not None
                    and request.registration_id is not None
                    and request.registration_id != current.remote_registration_id
                )
                if not await self._ensure_sessions([device], force=force):
                    log.info("sandbox.phone.retry_unreachable", device=str(device))
                    return
            attrs: dict[str, str | JID] = {"t": str(sent.timestamp)}
            if sent.chat.is_group:
                node = await self._group_retry(sent, device, request.count, attrs)
            else:
                own = self._is_own(device) and not sent.peer
                plaintext = _device_sent(sent.chat, sent.message) if own else sent.message
                enc = await self._encrypt_for(device, plaintext, retry_count=request.count)
                if sent.peer:
                    attrs["category"] = "peer"
                elif own:
                    attrs["recipient"] = sent.chat
                else:
                    attrs["device_fanout"] = "false"
                node = cs.message_stanza(
                    sent.message_id, device, sent.message_type, content=[enc], attrs=attrs
                )
            await self._submit(node)

    async def _group_retry(
        self, sent: _Sent, device: JID, count: int, attrs: dict[str, str | JID]
    ) -> Node:
        # Like whatsmeow: the content goes pairwise to the one device that asked, together with
        # our current sender key so that it can read the group's next messages. Only that
        # device gets a copy: no skmsg, which every member would receive again.
        name = SenderKeyName(str(sent.chat), self._own_address)
        distribution = (await self._groups.distribution_message(name)).message
        message = wa_e2e_pb2.Message.FromString(sent.message)
        message.senderKeyDistributionMessage.CopyFrom(
            wa_e2e_pb2.SenderKeyDistributionMessage(
                groupID=str(sent.chat),
                axolotlSenderKeyDistributionMessage=distribution.serialized,
            )
        )
        enc = await self._encrypt_for(device, message.SerializeToString(), retry_count=count)
        key_id, have_key = self._skdm_sent.get(str(sent.chat), (distribution.key_id, set()))
        if key_id == distribution.key_id:
            have_key.add(self._address(device))
            self._skdm_sent[str(sent.chat)] = (key_id, have_key)
        attrs["participant"] = device
        return cs.message_stanza(
            sent.message_id, sent.chat, sent.message_type, fanout={device: enc}, attrs=attrs
        )


def phone_factory(
    settings: PhoneSettings | None = None,
) -> Callable[[Account, Network], SimulatedPhone]:
    """A ``sandbox.network.PhoneFactory`` making phones with ``settings``."""

    def make(account: Account, network: Network) -> SimulatedPhone:
        return SimulatedPhone(account, network, settings=settings)

    return make


# --- message helpers ---------------------------------------------------------------------------


def _media_record(
    attachment: Attachment, plain: bytes | None = None, error: str = ""
) -> PhoneMedia:
    return PhoneMedia(
        media_type=str(attachment.kind),
        mimetype=attachment.mimetype,
        sha256=hashlib.sha256(plain).hexdigest() if plain is not None else "",
        length=len(plain) if plain is not None else 0,
        file_name=attachment.file_name,
        error=error,
        direct_path=attachment.direct_path,
    )


def _text(text: str) -> wa_e2e_pb2.Message:
    return wa_e2e_pb2.Message(conversation=text)


def _device_sent(chat: JID, body: bytes) -> bytes:
    """The copy our own devices get: ``deviceSentMessage{destinationJID, message}``."""
    original = wa_e2e_pb2.Message.FromString(body)
    wrapper = wa_e2e_pb2.Message(
        deviceSentMessage=wa_e2e_pb2.DeviceSentMessage(destinationJID=str(chat), message=original)
    )
    if original.HasField("messageContextInfo"):
        wrapper.messageContextInfo.CopyFrom(original.messageContextInfo)
    return wrapper.SerializeToString()


def _distribution(group: JID, axolotl: bytes) -> bytes:
    return wa_e2e_pb2.Message(
        senderKeyDistributionMessage=wa_e2e_pb2.SenderKeyDistributionMessage(
            groupID=str(group), axolotlSenderKeyDistributionMessage=axolotl
        )
    ).SerializeToString()


def _with_hide(enc: Node) -> Node:
    return Node(enc.tag, {**enc.attrs, "decrypt-fail": "hide"}, enc.content)


def _has_content(message: wa_e2e_pb2.Message) -> bool:
    """Anything besides the sender key distribution and the context info."""
    return any(
        descriptor.name not in ("senderKeyDistributionMessage", "messageContextInfo")
        for descriptor, _ in message.ListFields()
    )


def _stanza_type(message: wa_e2e_pb2.Message) -> str:
    """The ``message type`` attribute (whatsmeow ``getTypeFromMessage``, reduced)."""
    if message.HasField("reactionMessage"):
        return "reaction"
    if message.HasField("pollCreationMessage") or message.HasField("pollUpdateMessage"):
        return "poll"
    media = (
        "imageMessage",
        "videoMessage",
        "audioMessage",
        "documentMessage",
        "stickerMessage",
        "contactMessage",
        "locationMessage",
    )
    if any(message.HasField(name) for name in media):
        return "media"
    return "text"


def _ack_source(incoming: cs.IncomingMessage) -> dict[str, str | JID]:
    attrs: dict[str, str | JID] = {"id": incoming.message_id}
    if incoming.raw_from is not None:
        attrs["from"] = incoming.raw_from
    if incoming.participant is not None:
        attrs["participant"] = incoming.participant
    return attrs


def _describe(incoming: cs.IncomingMessage, decrypted: _Decrypted, sender: JID) -> PhoneMessage:
    content = decrypted.content
    kind, text, quoted = "other", "", ""
    if content.HasField("conversation"):
        kind, text = "text", content.conversation
    elif content.HasField("extendedTextMessage"):
        extended = content.extendedTextMessage
        quoted = extended.contextInfo.stanzaID if extended.HasField("contextInfo") else ""
        kind, text = ("reply" if quoted else "text"), extended.text
    elif content.HasField("reactionMessage"):
        reaction = content.reactionMessage
        kind, text, quoted = "reaction", reaction.text, reaction.key.ID
    elif content.HasField("locationMessage"):
        where = content.locationMessage
        place = f" {where.name}" if where.name else ""
        kind, text = "location", f"{where.degreesLatitude},{where.degreesLongitude}{place}"
    elif content.HasField("contactMessage"):
        kind, text = "contact", content.contactMessage.vcard
    elif content.HasField("contactsArrayMessage"):
        cards = content.contactsArrayMessage.contacts
        kind, text = "contact", "\n".join(card.vcard for card in cards)
    elif content.HasField("protocolMessage") or content.HasField("editedMessage"):
        protocol = (
            content.editedMessage.message.protocolMessage
            if content.HasField("editedMessage")
            else content.protocolMessage
        )
        kind = "protocol"
        if protocol.type == wa_e2e_pb2.ProtocolMessage.MESSAGE_EDIT:
            edited = protocol.editedMessage
            kind, quoted = "edit", protocol.key.ID
            text = edited.conversation or edited.extendedTextMessage.text
        elif protocol.type == wa_e2e_pb2.ProtocolMessage.REVOKE:
            kind, quoted = "revoke", protocol.key.ID
    return PhoneMessage(
        id=incoming.message_id,
        chat=decrypted.chat,
        sender=sender,
        timestamp=incoming.timestamp,
        kind=kind,
        text=text,
        quoted_id=quoted,
        enc_media_type=next((e.media_type for e in incoming.encs if e.media_type), ""),
    )
