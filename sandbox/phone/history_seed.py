"""History seeded into a phone through the admin API: explicit conversations, or a generator.

Two request shapes (JSON objects), parsed by :func:`parse_history_seed`:

* explicit: ``{"conversations": [{"jid", "name"?, "unread_count"?, "archived"?, "pinned"?,
  "mute_end"?, "messages": [{"id", "timestamp", "from_me"?, "text"? | "media"? | "poll"?,
  "sender"?, "push_name"?}]}], "push_names"?: {jid: name}, "contacts"?: {jid: full name}}``
  (a poll is ``{"name", "options", "secret_hex"}``: its message secret travels beside it);
* generated: ``{"chats": 200, "messages_per_chat": 50, "with_media": true, "with_names": true,
  "groups"?: chats // 10, "media_every"?: 10, "start"?: 1700000000}``.

Both take ``"seed"`` (a string salting every derived value) and ``"plan"`` (overrides of how the
history is pushed: ``bootstrap_messages_per_chat``, ``recent_messages_per_chat``,
``chunk_messages``, ``full_history``, ``inline``).

Everything is deterministic: the same request gives the same chats, message ids, timestamps,
names and media (media keys derive from the seed and the message, so the encrypted bodies and
their blob ids do too). That lets the phone keep only the request and rebuild the history after
a restart, and lets a test predict exactly what a companion must end up with. Media files are
returned as blobs for the media host; the phone stores them once, when the history is seeded
(they were "uploaded long ago").
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from daemon.binary import JID, Server
from daemon.crypto.media import encrypt_media
from sandbox.media import direct_path_for
from sandbox.phone.history import ChatMessage, HistoryConfig, SeededChat
from sandbox.phone.media import (
    MediaKind,
    OutgoingMedia,
    Uploaded,
    media_message,
    parse_outgoing_media,
)
from waproto import wa_e2e_pb2

__all__ = [
    "DEFAULT_START",
    "HistorySeed",
    "PlanOptions",
    "SeedBlob",
    "SeedContact",
    "parse_history_seed",
    "seed_request_bytes",
]

DEFAULT_START = 1_700_000_000
"""Generated history starts here (unix seconds), well before anything live."""
DEFAULT_MEDIA_EVERY = 10
MAX_GENERATED_MESSAGES = 200_000
_SPACING = 37
"""Seconds between two consecutive generated messages (across all chats)."""

_FIRST = (
    "Ada", "Ben", "Chloé", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas",
    "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás",
)  # fmt: skip
_LAST = (
    "Okafor", "Lindqvist", "Moreau", "Tanaka", "Kowalski", "Haddad", "Costa", "Nguyen",
    "Schmidt", "Abebe", "Rossi", "Ivanova", "Murphy", "Singh", "Yilmaz", "Park",
)  # fmt: skip
_WORDS = (
    "lunch", "tomorrow", "invoice", "photos", "meeting", "train", "coffee", "call me",
    "ok", "thanks", "see you", "on my way", "great", "price", "delivery", "weekend",
    "café", "naïve", "🙂", "👍", "address", "ticket", "later", "done",
)  # fmt: skip
_MIMETYPES = {
    MediaKind.IMAGE: "image/jpeg",
    MediaKind.PTT: "audio/ogg; codecs=opus",
    MediaKind.DOCUMENT: "application/pdf",
}


@dataclass(frozen=True, slots=True)
class SeedBlob:
    """An encrypted file the media host must hold for a seeded media message."""

    blob_id: str
    mms_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class SeedContact:
    """An address-book entry (the phone puts it in app state, critical_unblock_low)."""

    jid: JID
    full_name: str
    first_name: str = ""


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """How the seeded history is pushed; None keeps the phone's configured value."""

    bootstrap_messages_per_chat: int | None = None
    recent_messages_per_chat: int | None = None
    chunk_messages: int | None = None
    full_history: bool | None = None
    inline: bool | None = None

    def apply(self, config: HistoryConfig) -> HistoryConfig:
        changes: dict[str, Any] = {}
        if self.bootstrap_messages_per_chat is not None:
            changes["bootstrap_messages_per_chat"] = self.bootstrap_messages_per_chat
        if self.recent_messages_per_chat is not None:
            changes["recent_messages_per_chat"] = self.recent_messages_per_chat
        if self.chunk_messages is not None:
            changes["chunk_messages"] = self.chunk_messages
        if self.full_history is not None:
            changes["send_full_history"] = self.full_history
        if self.inline is not None:
            changes["inline_everything"] = self.inline
        return dataclasses.replace(config, **changes)


@dataclass(frozen=True, slots=True)
class HistorySeed:
    chats: tuple[SeededChat, ...] = ()
    push_names: Mapping[JID, str] = field(default_factory=dict)
    contacts: tuple[SeedContact, ...] = ()
    blobs: tuple[SeedBlob, ...] = ()
    options: PlanOptions = field(default_factory=PlanOptions)

    def __post_init__(self) -> None:
        object.__setattr__(self, "push_names", MappingProxyType(dict(self.push_names)))

    @property
    def message_count(self) -> int:
        return sum(len(chat.messages) for chat in self.chats)

    @property
    def media_count(self) -> int:
        return len(self.blobs)


# --- request parsing ---------------------------------------------------------------------------


def _get(data: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = data.get(key, default)
    # bool is an int subclass: never accept one for the other.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{key!r} must be a {kind.__name__}")
    return value


def _count(data: Mapping[str, Any], key: str, default: int, *, low: int = 0) -> int:
    value: int = _get(data, key, int, default)
    if value < low:
        raise ValueError(f"{key!r} must be at least {low}")
    return value


def _jid(text: Any, what: str) -> JID:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a JID string")
    return JID.parse(text) if "@" in text else JID(text.lstrip("+"), Server.PN)


def _options(data: Mapping[str, Any]) -> PlanOptions:
    plan = data.get("plan", {})
    if not isinstance(plan, dict):
        raise ValueError("'plan' must be an object")

    def number(key: str, low: int) -> int | None:
        return _count(plan, key, 0, low=low) if key in plan else None

    def flag(key: str) -> bool | None:
        return bool(_get(plan, key, bool, False)) if key in plan else None

    return PlanOptions(
        bootstrap_messages_per_chat=number("bootstrap_messages_per_chat", 0),
        recent_messages_per_chat=number("recent_messages_per_chat", 0),
        chunk_messages=number("chunk_messages", 1),
        full_history=flag("full_history"),
        inline=flag("inline"),
    )


def parse_history_seed(data: Mapping[str, Any], *, media_origin: str) -> HistorySeed:
    """The seed a request describes (ValueError when it is malformed).

    ``media_origin`` is the media host's origin, for the ``url`` of seeded media messages.
    """
    salt: str = _get(data, "seed", str, "sandbox")
    options = _options(data)
    if "chats" in data:
        if "conversations" in data:
            raise ValueError("give either 'chats' (a generator) or 'conversations', not both")
        return dataclasses.replace(_generate(data, salt, media_origin), options=options)
    conversations = data.get("conversations")
    if not isinstance(conversations, list):
        raise ValueError("a history seed needs 'conversations' (a list) or 'chats' (a number)")
    return dataclasses.replace(_explicit(data, conversations, salt, media_origin), options=options)


# --- media -------------------------------------------------------------------------------------


class _MediaMaker:
    """Encrypts seeded files under keys derived from the seed and the message."""

    def __init__(self, salt: str, origin: str) -> None:
        self._salt = salt
        self._origin = origin
        self.blobs: dict[str, SeedBlob] = {}

    def message(self, chat: JID, message_id: str, media: OutgoingMedia, timestamp: int) -> bytes:
        media_key = hashlib.sha256(
            f"wamd-sandbox-history-media:{self._salt}:{chat}:{message_id}".encode()
        ).digest()
        encrypted = encrypt_media(media.data, media.kind.media_type, media_key)
        blob_id = hashlib.sha256(encrypted.body).hexdigest()[:32]
        self.blobs.setdefault(blob_id, SeedBlob(blob_id, media.kind.mms_type, encrypted.body))
        path = direct_path_for(blob_id)
        uploaded = Uploaded(url=self._origin + path, direct_path=path)
        return media_message(media, encrypted, uploaded, timestamp=timestamp).SerializeToString()


# --- explicit conversations --------------------------------------------------------------------


def _explicit(
    data: Mapping[str, Any], conversations: Sequence[Any], salt: str, origin: str
) -> HistorySeed:
    maker = _MediaMaker(salt, origin)
    chats: list[SeededChat] = []
    for entry in conversations:
        if not isinstance(entry, dict):
            raise ValueError("every conversation must be an object")
        chat = _jid(entry.get("jid"), "a conversation 'jid'")
        messages: list[ChatMessage] = []
        raw_messages = entry.get("messages", [])
        if not isinstance(raw_messages, list):
            raise ValueError("'messages' must be a list")
        for raw in raw_messages:
            if not isinstance(raw, dict):
                raise ValueError("every message must be an object")
            message_id: str = _get(raw, "id", str, None)
            if not message_id:
                raise ValueError("a message needs an 'id'")
            timestamp = _count(raw, "timestamp", 0, low=1)
            from_me: bool = _get(raw, "from_me", bool, False)
            if "media" in raw:
                media = raw["media"]
                if not isinstance(media, dict):
                    raise ValueError("'media' must be an object")
                body = maker.message(chat, message_id, parse_outgoing_media(media), timestamp)
            elif "poll" in raw:
                body = _poll(raw["poll"])
            else:
                text: str = _get(raw, "text", str, None)
                body = ChatMessage.text(
                    chat, message_id, text, from_me=from_me, timestamp=timestamp
                ).message
            sender = _jid(raw["sender"], "'sender'") if raw.get("sender") else None
            push_name: str = _get(raw, "push_name", str, "")
            messages.append(
                ChatMessage(chat, message_id, from_me, timestamp, body, sender, push_name)
            )
        chats.append(
            SeededChat(
                jid=chat,
                name=_get(entry, "name", str, ""),
                messages=tuple(messages),
                unread_count=_count(entry, "unread_count", 0),
                archived=_get(entry, "archived", bool, False),
                pinned=_count(entry, "pinned", 0),
                mute_end=_count(entry, "mute_end", 0),
            )
        )
    push_names = _name_map(data, "push_names")
    contacts = tuple(
        SeedContact(jid, name, name.split(" ", 1)[0])
        for jid, name in _name_map(data, "contacts").items()
    )
    return HistorySeed(tuple(chats), push_names, contacts, tuple(maker.blobs.values()))


def _poll(raw: object) -> bytes:
    """``{"name", "options": [...], "secret_hex"}``: a poll with its message secret."""
    if not isinstance(raw, dict):
        raise ValueError("'poll' must be an object")
    name: str = _get(raw, "name", str, None)
    options = raw.get("options")
    secret = bytes.fromhex(_get(raw, "secret_hex", str, None))
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ValueError("'poll.options' must be a list of strings")
    if len(secret) != 32:
        raise ValueError("'poll.secret_hex' must be 32 bytes")
    message = wa_e2e_pb2.Message()
    poll = message.pollCreationMessageV3
    poll.name = name
    poll.selectableOptionsCount = 1
    for option in options:
        poll.options.add().optionName = option
    message.messageContextInfo.messageSecret = secret
    return message.SerializeToString()


def _name_map(data: Mapping[str, Any], key: str) -> dict[JID, str]:
    raw = data.get(key, {})
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ValueError(f"{key!r} maps JIDs to names")
    return {_jid(jid, f"a {key!r} key"): name for jid, name in raw.items()}


# --- the generator -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Person:
    jid: JID
    full_name: str
    push_name: str


def _generate(data: Mapping[str, Any], salt: str, origin: str) -> HistorySeed:
    chats = _count(data, "chats", 0, low=1)
    per_chat = _count(data, "messages_per_chat", 0)
    if chats * per_chat > MAX_GENERATED_MESSAGES:
        raise ValueError(f"at most {MAX_GENERATED_MESSAGES} generated messages")
    groups = _count(data, "groups", chats // 10)
    if groups > chats:
        raise ValueError("'groups' cannot exceed 'chats'")
    with_media: bool = _get(data, "with_media", bool, False)
    with_names: bool = _get(data, "with_names", bool, False)
    media_every = _count(data, "media_every", DEFAULT_MEDIA_EVERY, low=1)
    start = _count(data, "start", DEFAULT_START, low=1)

    rng = random.Random(f"wamd-sandbox-history:{salt}")
    maker = _MediaMaker(salt, origin)
    people = [
        _Person(
            JID(f"19995{i:06d}", Server.PN),
            f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            rng.choice(_FIRST),
        )
        for i in range(max(chats - groups, 1))
    ]
    group_base = int(hashlib.sha256(salt.encode()).hexdigest()[:8], 16) % 1_000_000
    step = chats // groups if groups else 0
    seeded: list[SeededChat] = []
    direct = 0
    made_groups = 0
    for c in range(chats):
        is_group = groups > 0 and made_groups < groups and c % step == step - 1
        if is_group:
            chat = JID(f"120363{group_base:06d}{made_groups:06d}", Server.GROUP)
            members = rng.sample(people, k=min(len(people), rng.randint(2, 5)))
            name = f"{rng.choice(_WORDS).capitalize()} group {made_groups + 1}"
            made_groups += 1
        else:
            person = people[direct % len(people)]
            direct += 1
            chat, members = person.jid, [person]
            name = person.full_name if with_names else ""
        messages = []
        for j in range(per_chat):
            message_id = (
                "3EB0" + hashlib.sha256(f"{salt}:{chat}:{j}".encode()).hexdigest()[:16].upper()
            )
            timestamp = start + (j * chats + c) * _SPACING
            from_me = rng.random() < 0.35
            author = None if from_me else rng.choice(members)
            words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 6)))
            if with_media and j % media_every == media_every - 1:
                kind = (MediaKind.IMAGE, MediaKind.PTT, MediaKind.DOCUMENT)[(c + j) % 3]
                media = OutgoingMedia(
                    kind=kind,
                    data=rng.randbytes(64 + rng.randrange(1024)),
                    mimetype=_MIMETYPES[kind],
                    file_name=f"file-{c}-{j}.pdf" if kind is MediaKind.DOCUMENT else "",
                    caption=words if kind is MediaKind.IMAGE else "",
                )
                body = maker.message(chat, message_id, media, timestamp)
            else:
                body = ChatMessage.text(
                    chat, message_id, f"{words} ({c}.{j})", from_me=from_me, timestamp=timestamp
                ).message
            messages.append(
                ChatMessage(
                    chat,
                    message_id,
                    from_me,
                    timestamp,
                    body,
                    sender=author.jid if author is not None and is_group else None,
                    push_name=author.push_name if author is not None and with_names else "",
                )
            )
        seeded.append(
            SeededChat(
                jid=chat,
                name=name,
                messages=tuple(messages),
                unread_count=rng.randrange(4) if messages and not messages[-1].from_me else 0,
            )
        )
    push_names = {p.jid: p.push_name for p in people} if with_names else {}
    contacts = (
        tuple(SeedContact(p.jid, p.full_name, p.full_name.split(" ", 1)[0]) for p in people)
        if with_names
        else ()
    )
    # Fewer chats than people only when every chat is a group: then the people are members.
    return HistorySeed(tuple(seeded), push_names, contacts, tuple(maker.blobs.values()))


def seed_request_bytes(data: Mapping[str, Any]) -> bytes:
    """The request as the phone keeps it (to rebuild the seed after a restart)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
