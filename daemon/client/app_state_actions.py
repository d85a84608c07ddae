"""What a verified app-state mutation means for our tables, and the mutations we send (pure).

A mutation is an index (a JSON array naming the setting and its target, e.g.
``["mute", "<chat>"]``) and a ``SyncActionValue`` (protocol-inventory §10.5). Only the kinds
that map onto our tables become actions; the rest (locale, quick replies, NUX flags...) are
verified and remembered in the collection's state like any record, but change nothing here.

A REMOVE takes the record away, which puts the setting back to its default: unarchived,
unpinned, unmuted, unstarred, no address-book name, not labeled.

Outgoing (:func:`archive_mutation`, :func:`mark_read_mutation`, :func:`pin_mutation`,
:func:`mute_mutation`): the index and action version whatsmeow writes for the same change, in
the collection it writes them to.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.crypto.appstate import Collection, Mutation, Operation, PendingMutation
from storage.sync_values import MUTED_FOREVER
from waproto import wa_appstate_pb2, wa_e2e_pb2

SyncActionValue = wa_appstate_pb2.SyncActionValue

ARCHIVE_VERSION = 3
MARK_READ_VERSION = 3
PIN_VERSION = 5
MUTE_VERSION = 2
STAR_VERSION = 2


@dataclass(frozen=True, slots=True)
class ContactName:
    jid: str
    full_name: str | None
    first_name: str | None
    pn: str | None = None
    lid: str | None = None


@dataclass(frozen=True, slots=True)
class PushNameChanged:
    name: str


@dataclass(frozen=True, slots=True)
class NctSaltChanged:
    """``["nct_salt_sync"]``: the account's NCT salt, the key of first-contact cstokens
    (None: removed)."""

    salt: bytes | None


@dataclass(frozen=True, slots=True)
class ChatArchived:
    chat: str
    archived: bool


@dataclass(frozen=True, slots=True)
class ChatPinned:
    chat: str
    pinned: bool


@dataclass(frozen=True, slots=True)
class ChatMuted:
    chat: str
    muted_until: int | None
    """Unix milliseconds, ``MUTED_FOREVER``, or None (not muted)."""


@dataclass(frozen=True, slots=True)
class ChatRead:
    chat: str
    read: bool
    up_to_ms: int | None
    """The newest message the action covers (unix ms); None: all of them."""


@dataclass(frozen=True, slots=True)
class ChatDeleted:
    chat: str
    up_to_ms: int | None
    keep_chat: bool = False
    """A clear: the messages go, the chat stays."""


@dataclass(frozen=True, slots=True)
class MessageStarred:
    chat: str
    message_id: str
    from_me: bool
    starred: bool


@dataclass(frozen=True, slots=True)
class MessageDeletedForMe:
    chat: str
    message_id: str
    from_me: bool


@dataclass(frozen=True, slots=True)
class LabelEdited:
    label_id: str
    name: str
    color: int
    deleted: bool


@dataclass(frozen=True, slots=True)
class ChatLabeled:
    label_id: str
    chat: str
    labeled: bool


AppStateAction = (
    ContactName
    | PushNameChanged
    | NctSaltChanged
    | ChatArchived
    | ChatPinned
    | ChatMuted
    | ChatRead
    | ChatDeleted
    | MessageStarred
    | MessageDeletedForMe
    | LabelEdited
    | ChatLabeled
)


def _range_end(value: wa_appstate_pb2.SyncActionMessageRange) -> int | None:
    """The newest message a range covers, in unix ms (the proto gives seconds)."""
    newest = value.lastMessageTimestamp
    for message in value.messages:
        newest = max(newest, message.timestamp)
    return newest * 1000 if newest > 0 else None


def interpret(mutation: Mutation) -> AppStateAction | None:
    """The action a verified mutation stands for, or None when it maps to nothing of ours."""
    index = mutation.index
    if not index:
        return None
    kind, args = index[0], index[1:]
    value = mutation.value
    removed = mutation.operation is Operation.REMOVE
    if kind == "contact" and len(args) >= 1:
        contact = value.contactAction
        if removed:
            return ContactName(args[0], None, None)
        return ContactName(
            args[0],
            contact.fullName or None,
            contact.firstName or None,
            pn=contact.pnJID or None,
            lid=contact.lidJID or None,
        )
    if kind == "lid_contact" and len(args) >= 1:
        lid_contact = value.lidContactAction
        if removed:
            return ContactName(args[0], None, None)
        return ContactName(args[0], lid_contact.fullName or None, lid_contact.firstName or None)
    if kind == "nct_salt_sync":
        salt = value.nctSaltSyncAction.salt
        return NctSaltChanged(None if removed or not salt else salt)
    if kind == "setting_pushName" and not removed and value.pushNameSetting.name:
        return PushNameChanged(value.pushNameSetting.name)
    if not args:
        return None
    chat = args[0]
    if kind == "archive":
        return ChatArchived(chat, not removed and value.archiveChatAction.archived)
    if kind == "pin_v1":
        return ChatPinned(chat, not removed and value.pinAction.pinned)
    if kind == "mute":
        mute = value.muteAction
        if removed or not mute.muted:
            return ChatMuted(chat, None)
        end = mute.muteEndTimestamp
        return ChatMuted(chat, MUTED_FOREVER if end <= 0 else end)
    if kind == "markChatAsRead" and not removed:
        read = value.markChatAsReadAction
        return ChatRead(chat, read.read, _range_end(read.messageRange))
    if kind == "deleteChat" and not removed:
        return ChatDeleted(chat, _range_end(value.deleteChatAction.messageRange))
    if kind == "clearChat" and not removed:
        return ChatDeleted(chat, _range_end(value.clearChatAction.messageRange), keep_chat=True)
    if kind == "star" and len(args) >= 3:
        starred = not removed and value.starAction.starred
        return MessageStarred(chat, args[1], args[2] == "1", starred)
    if kind == "deleteMessageForMe" and len(args) >= 3 and not removed:
        return MessageDeletedForMe(chat, args[1], args[2] == "1")
    if kind == "label_edit":
        edit = value.labelEditAction
        return LabelEdited(chat, edit.name, edit.color, removed or edit.deleted)
    if kind == "label_jid" and len(args) >= 2:
        labeled = not removed and value.labelAssociationAction.labeled
        return ChatLabeled(chat, args[1], labeled)
    return None


# ------------------------------------------------------------------------------------- outgoing


@dataclass(frozen=True, slots=True)
class LastMessage:
    """The chat's newest message, which archive and mark-read actions name."""

    message_id: str
    from_me: bool
    timestamp: int
    """Unix seconds."""
    participant: str | None = None


def _message_range(chat: str, last: LastMessage | None) -> wa_appstate_pb2.SyncActionMessageRange:
    if last is None:
        return wa_appstate_pb2.SyncActionMessageRange()
    key = wa_e2e_pb2.MessageKey(remoteJID=chat, fromMe=last.from_me, ID=last.message_id)
    if last.participant is not None:
        key.participant = last.participant
    return wa_appstate_pb2.SyncActionMessageRange(
        lastMessageTimestamp=last.timestamp,
        messages=[wa_appstate_pb2.SyncActionMessage(key=key, timestamp=last.timestamp)],
    )


def archive_mutation(
    chat: str, archived: bool, last: LastMessage | None
) -> tuple[Collection, PendingMutation]:
    value = SyncActionValue(
        archiveChatAction=wa_appstate_pb2.ArchiveChatAction(
            archived=archived, messageRange=_message_range(chat, last)
        )
    )
    return Collection.REGULAR_LOW, PendingMutation(("archive", chat), value, ARCHIVE_VERSION)


def mark_read_mutation(
    chat: str, read: bool, last: LastMessage | None
) -> tuple[Collection, PendingMutation]:
    value = SyncActionValue(
        markChatAsReadAction=wa_appstate_pb2.MarkChatAsReadAction(
            read=read, messageRange=_message_range(chat, last)
        )
    )
    return Collection.REGULAR_LOW, PendingMutation(
        ("markChatAsRead", chat), value, MARK_READ_VERSION
    )


def pin_mutation(chat: str, pinned: bool) -> tuple[Collection, PendingMutation]:
    value = SyncActionValue(pinAction=wa_appstate_pb2.PinAction(pinned=pinned))
    return Collection.REGULAR_LOW, PendingMutation(("pin_v1", chat), value, PIN_VERSION)


def mute_mutation(chat: str, muted_until: int | None) -> tuple[Collection, PendingMutation]:
    """``muted_until``: unix ms, ``MUTED_FOREVER``, or None to unmute."""
    mute = wa_appstate_pb2.MuteAction(muted=muted_until is not None)
    if muted_until is not None:
        mute.muteEndTimestamp = muted_until
    value = SyncActionValue(muteAction=mute)
    return Collection.REGULAR_HIGH, PendingMutation(("mute", chat), value, MUTE_VERSION)


def star_mutation(
    chat: str, message_id: str, from_me: bool, sender: str | None, starred: bool
) -> tuple[Collection, PendingMutation]:
    """Index ``[star, chat, id, fromMe 1|0, sender]``; the sender is ``0`` when it is the
    chat's own person (a 1:1 chat, or our own message), as whatsmeow's BuildStar writes it."""
    who = "0" if sender is None or sender.split("@", 1)[0] == chat.split("@", 1)[0] else sender
    value = SyncActionValue(starAction=wa_appstate_pb2.StarAction(starred=starred))
    index = ("star", chat, message_id, "1" if from_me else "0", who)
    return Collection.REGULAR_HIGH, PendingMutation(index, value, STAR_VERSION)
