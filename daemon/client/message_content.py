"""Message content, both ways: what a caller wants to send, built into the E2E ``Message``
protobuf, and what an incoming ``Message`` is, reduced to the columns we store (pure).

Outgoing kinds are text, reply (quoted), reaction, edit, delete-for-everyone (revoke) and
media (a message built after its file was uploaded, ``daemon.client.media_message``).
Facts (protocol-inventory §7.7): a reaction is ``reactionMessage{key, text,
senderTimestampMS}`` (empty text removes it) sent with stanza ``type=reaction``; an edit is
``protocolMessage{key, type=MESSAGE_EDIT, editedMessage, timestampMS}`` inside
``editedMessage`` (whatsmeow's FutureProof form; receivers also accept the bare
protocolMessage Baileys sends) with ``edit=1``; a revoke is ``protocolMessage{key,
type=REVOKE}`` with ``edit=7``. Edits and reactions put ``decrypt-fail=hide`` on their ``enc``.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError, Message

from storage.message_values import ContentType, MessageRecord
from waproto import wa_e2e_pb2

PREVIEW_LENGTH = 100

FieldNames = frozenset[str]
"""The names of the fields set in a protobuf message (:func:`field_names`)."""

EDIT_MESSAGE = "1"
EDIT_PIN = "2"
EDIT_SENDER_REVOKE = "7"
EDIT_ADMIN_REVOKE = "8"

_MEDIA_FIELDS = {
    "imageMessage": ContentType.IMAGE,
    "videoMessage": ContentType.VIDEO,
    "ptvMessage": ContentType.VIDEO,
    "audioMessage": ContentType.AUDIO,
    "documentMessage": ContentType.DOCUMENT,
    "stickerMessage": ContentType.STICKER,
    "contactMessage": ContentType.CONTACT,
    "contactsArrayMessage": ContentType.CONTACT,
    "locationMessage": ContentType.LOCATION,
    "liveLocationMessage": ContentType.LOCATION,
}
_POLL_FIELDS = (
    "pollCreationMessage",
    "pollCreationMessageV2",
    "pollCreationMessageV3",
    "pollUpdateMessage",
)
# Wrappers whose inner message is the real content (whatsmeow's unwrap list, reduced).
_WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
)
_PREVIEW_LABELS = {
    ContentType.IMAGE: "[image]",
    ContentType.VIDEO: "[video]",
    ContentType.AUDIO: "[audio]",
    ContentType.DOCUMENT: "[document]",
    ContentType.STICKER: "[sticker]",
    ContentType.CONTACT: "[contact]",
    ContentType.LOCATION: "[location]",
    ContentType.POLL: "[poll]",
}


class ContentError(ValueError):
    """Content that cannot be sent as given (empty text, a reaction without a target...)."""


# ------------------------------------------------------------------------------------- outgoing


@dataclass(frozen=True, slots=True)
class Text:
    text: str

    def __post_init__(self) -> None:
        if not self.text:
            raise ContentError("a text message needs text")


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    quoted_id: str

    def __post_init__(self) -> None:
        if not self.text or not self.quoted_id:
            raise ContentError("a reply needs text and the id of the message it quotes")


@dataclass(frozen=True, slots=True)
class Reaction:
    target_id: str
    emoji: str
    """An empty string removes our reaction."""

    def __post_init__(self) -> None:
        if not self.target_id:
            raise ContentError("a reaction needs the id of the message it reacts to")


@dataclass(frozen=True, slots=True)
class Edit:
    target_id: str
    text: str

    def __post_init__(self) -> None:
        if not self.target_id or not self.text:
            raise ContentError("an edit needs the id of our message and its new text")


@dataclass(frozen=True, slots=True)
class Revoke:
    """Delete for everyone."""

    target_id: str

    def __post_init__(self) -> None:
        if not self.target_id:
            raise ContentError("a revoke needs the id of the message to delete")


@dataclass(frozen=True, slots=True)
class Media:
    """An image, video, audio, voice note, document or sticker whose file is already uploaded:
    ``message`` is the serialized E2E Message announcing it (``build_media_message``)."""

    message: bytes

    def __post_init__(self) -> None:
        try:
            parsed = wa_e2e_pb2.Message.FromString(self.message)
        except DecodeError:
            raise ContentError("a media message is a serialized E2E Message") from None
        if stanza_type(parsed) != "media":
            raise ContentError("a media message carries an image, video, audio, document...")


Content = Text | Reply | Reaction | Edit | Revoke | Media


def target_of(content: Content) -> str | None:
    """The id of the message ``content`` refers to, if any."""
    if isinstance(content, Reply):
        return content.quoted_id
    if isinstance(content, Reaction | Edit | Revoke):
        return content.target_id
    return None


@dataclass(frozen=True, slots=True)
class TargetRef:
    """What the message a reply, reaction, edit or revoke refers to looks like on the wire."""

    chat: str
    message_id: str
    from_me: bool
    participant: str | None
    """The author's JID when the target is someone else's message in a group."""
    payload: bytes | None = None
    """The target's serialized Message (quoted in replies)."""


def message_key(target: TargetRef) -> wa_e2e_pb2.MessageKey:
    key = wa_e2e_pb2.MessageKey(remoteJID=target.chat, fromMe=target.from_me, ID=target.message_id)
    if target.participant is not None:
        key.participant = target.participant
    return key


def build_message(content: Content, target: TargetRef | None, now_ms: int) -> wa_e2e_pb2.Message:
    """The E2E Message for ``content``; ``target`` is required for everything but plain text."""
    if isinstance(content, Text):
        return wa_e2e_pb2.Message(conversation=content.text)
    if isinstance(content, Media):
        return wa_e2e_pb2.Message.FromString(content.message)
    if target is None:
        raise ContentError(f"{type(content).__name__.lower()} needs the message it refers to")
    if isinstance(content, Reply):
        context = wa_e2e_pb2.ContextInfo(stanzaID=target.message_id)
        if target.participant is not None:
            context.participant = target.participant
        if target.payload is not None:
            context.quotedMessage.ParseFromString(target.payload)
        return wa_e2e_pb2.Message(
            extendedTextMessage=wa_e2e_pb2.ExtendedTextMessage(
                text=content.text, contextInfo=context
            )
        )
    if isinstance(content, Reaction):
        return wa_e2e_pb2.Message(
            reactionMessage=wa_e2e_pb2.ReactionMessage(
                key=message_key(target), text=content.emoji, senderTimestampMS=now_ms
            )
        )
    if isinstance(content, Edit):
        if not target.from_me:
            raise ContentError("only our own messages can be edited")
        edit = wa_e2e_pb2.ProtocolMessage(
            key=message_key(target),
            type=wa_e2e_pb2.ProtocolMessage.MESSAGE_EDIT,
            editedMessage=wa_e2e_pb2.Message(conversation=content.text),
            timestampMS=now_ms,
        )
        return wa_e2e_pb2.Message(
            editedMessage=wa_e2e_pb2.FutureProofMessage(
                message=wa_e2e_pb2.Message(protocolMessage=edit)
            )
        )
    if not target.from_me:
        raise ContentError("only our own messages can be deleted for everyone")
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            key=message_key(target), type=wa_e2e_pb2.ProtocolMessage.REVOKE
        )
    )


def stanza_type(message: wa_e2e_pb2.Message) -> str:
    """The ``message type`` attribute: reaction, poll, media or text."""
    return stanza_type_of(unwrap_fields(message, field_names(message))[1])


def stanza_type_of(fields: FieldNames) -> str:
    """:func:`stanza_type` of an unwrapped message whose set fields are ``fields``."""
    if "reactionMessage" in fields:
        return "reaction"
    if not fields.isdisjoint(_POLL_FIELDS):
        return "poll"
    if not fields.isdisjoint(_MEDIA_FIELDS):
        return "media"
    return "text"


def edit_attribute(message: wa_e2e_pb2.Message) -> str | None:
    """The ``edit`` attribute: 1 for an edit, 7 for a revoke (also a reaction removal)."""
    return edit_attribute_of(message, field_names(message))


def edit_attribute_of(message: wa_e2e_pb2.Message, fields: FieldNames) -> str | None:
    """:func:`edit_attribute`, ``fields`` being the fields set in ``message``."""
    if "editedMessage" in fields:
        return EDIT_MESSAGE
    if "protocolMessage" in fields:
        kind = message.protocolMessage.type
        if kind == wa_e2e_pb2.ProtocolMessage.MESSAGE_EDIT:
            return EDIT_MESSAGE
        if kind == wa_e2e_pb2.ProtocolMessage.REVOKE:
            return EDIT_SENDER_REVOKE
    if "reactionMessage" in fields and not message.reactionMessage.text:
        return EDIT_SENDER_REVOKE
    return None


def hides_decrypt_failure(message: wa_e2e_pb2.Message) -> bool:
    """Edits and reactions ask the receiver not to show a failure placeholder."""
    return hides_decrypt_failure_of(message, field_names(message))


def hides_decrypt_failure_of(message: wa_e2e_pb2.Message, fields: FieldNames) -> bool:
    """:func:`hides_decrypt_failure`, ``fields`` being the fields set in ``message``."""
    return (
        "editedMessage" in fields
        or "reactionMessage" in fields
        or (
            "protocolMessage" in fields
            and message.protocolMessage.type == wa_e2e_pb2.ProtocolMessage.MESSAGE_EDIT
        )
    )


def device_sent(message: wa_e2e_pb2.Message, destination: str) -> wa_e2e_pb2.Message:
    """The copy our own other devices get: ``deviceSentMessage{destinationJID, message}`` with
    the original's ``messageContextInfo`` next to it."""
    wrapper = wa_e2e_pb2.Message(
        deviceSentMessage=wa_e2e_pb2.DeviceSentMessage(destinationJID=destination, message=message)
    )
    if message.HasField("messageContextInfo"):
        wrapper.messageContextInfo.CopyFrom(message.messageContextInfo)
    return wrapper


def _tag(message_type: type[Message], field: str) -> bytes:
    """The key of a length-delimited field: its number and wire type 2, as a varint."""
    return _varint(message_type.DESCRIPTOR.fields_by_name[field].number << 3 | 2)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_DEVICE_SENT_TAG = _tag(wa_e2e_pb2.Message, "deviceSentMessage")
_CONTEXT_INFO_TAG = _tag(wa_e2e_pb2.Message, "messageContextInfo")
_DESTINATION_TAG = _tag(wa_e2e_pb2.DeviceSentMessage, "destinationJID")
_INNER_MESSAGE_TAG = _tag(wa_e2e_pb2.DeviceSentMessage, "message")


def device_sent_bytes(message: wa_e2e_pb2.Message, body: bytes, destination: str) -> bytes:
    """``device_sent(message, destination).SerializeToString()``, byte for byte, from ``body``
    (``message`` serialized): the wrapper's fields written around it, where building the
    wrapper would copy the whole message and serialize it again. Fields go in number order,
    as the serializer writes them: deviceSentMessage (31) {destinationJID (1), message (2)},
    then messageContextInfo (35)."""
    jid = destination.encode()
    inner = b"".join(
        (_DESTINATION_TAG, _varint(len(jid)), jid, _INNER_MESSAGE_TAG, _varint(len(body)), body)
    )
    out = _DEVICE_SENT_TAG + _varint(len(inner)) + inner
    if message.HasField("messageContextInfo"):
        context = message.messageContextInfo.SerializeToString()
        out += _CONTEXT_INFO_TAG + _varint(len(context)) + context
    return out


def sender_key_distribution(group: str, axolotl: bytes) -> wa_e2e_pb2.Message:
    return wa_e2e_pb2.Message(
        senderKeyDistributionMessage=wa_e2e_pb2.SenderKeyDistributionMessage(
            groupID=group, axolotlSenderKeyDistributionMessage=axolotl
        )
    )


# ------------------------------------------------------------------------------------- incoming


def field_names(message: Message) -> FieldNames:
    """The names of the fields set in ``message``: one call where ``HasField`` asks per name
    (the send path asked 77 times per message)."""
    return frozenset([field.name for field, _ in message.ListFields()])


def unwrap_fields(
    message: wa_e2e_pb2.Message, fields: FieldNames
) -> tuple[wa_e2e_pb2.Message, FieldNames]:
    """:func:`unwrap` of ``message`` (whose set fields are ``fields``) and its set fields."""
    if fields.isdisjoint(_WRAPPERS):
        return message, fields
    inner = unwrap(message)
    return inner, field_names(inner)


def unwrap(message: wa_e2e_pb2.Message) -> wa_e2e_pb2.Message:
    """The content inside ephemeral / view-once / document-with-caption wrappers."""
    for _ in range(4):  # wrappers nest at most a couple deep; never loop on a hostile one
        for name in _WRAPPERS:
            if message.HasField(name):
                inner = getattr(message, name)
                if inner.HasField("message"):
                    message = inner.message
                    break
        else:
            return message
    return message


def has_content(message: wa_e2e_pb2.Message) -> bool:
    """Anything besides a sender key distribution and the context info."""
    return any(
        field.name not in ("senderKeyDistributionMessage", "messageContextInfo")
        for field, _ in message.ListFields()
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """An incoming Message reduced to what the tables index."""

    content_type: ContentType
    text: str | None = None
    quoted_id: str | None = None
    target_id: str | None = None
    """The message a reaction, edit or revoke refers to."""
    target_from_me: bool | None = None
    target_participant: str | None = None
    protocol_type: int | None = None
    """``ProtocolMessage.type`` for protocol messages (history sync, key share...)."""
    ephemeral_expiration: int | None = None


def summarize(message: wa_e2e_pb2.Message) -> Summary:
    return summary_of(*unwrap_fields(message, field_names(message)))


def summary_of(message: wa_e2e_pb2.Message, fields: FieldNames) -> Summary:
    """:func:`summarize` of an unwrapped ``message`` whose set fields are ``fields``."""
    if "editedMessage" in fields and message.editedMessage.HasField("message"):
        inner = message.editedMessage.message
        if inner.HasField("protocolMessage"):
            return _protocol_summary(inner.protocolMessage)
    if "protocolMessage" in fields:
        return _protocol_summary(message.protocolMessage)
    if "conversation" in fields:
        return Summary(ContentType.TEXT, text=message.conversation)
    if "extendedTextMessage" in fields:
        extended = message.extendedTextMessage
        quoted = _quoted(extended.contextInfo) if extended.HasField("contextInfo") else None
        return Summary(ContentType.TEXT, text=extended.text, quoted_id=quoted)
    if "reactionMessage" in fields:
        reaction = message.reactionMessage
        key = reaction.key
        return Summary(
            ContentType.REACTION,
            text=reaction.text,
            target_id=key.ID or None,
            target_from_me=key.fromMe if key.HasField("fromMe") else None,
            target_participant=key.participant or None,
        )
    if not fields.isdisjoint(_MEDIA_FIELDS):
        for name, kind in _MEDIA_FIELDS.items():
            if name in fields:
                media = getattr(message, name)
                caption = getattr(media, "caption", "") or None
                context = getattr(media, "contextInfo", None)
                quoted = _quoted(context) if context is not None else None
                return Summary(kind, text=caption, quoted_id=quoted)
    if not fields.isdisjoint(_POLL_FIELDS):
        return Summary(ContentType.POLL)
    return Summary(ContentType.UNKNOWN)


def _quoted(context: wa_e2e_pb2.ContextInfo) -> str | None:
    return context.stanzaID or None


def _protocol_summary(protocol: wa_e2e_pb2.ProtocolMessage) -> Summary:
    kind = protocol.type
    key = protocol.key
    target = key.ID or None
    if kind == wa_e2e_pb2.ProtocolMessage.REVOKE:
        return Summary(ContentType.REVOKE, target_id=target, protocol_type=kind)
    if kind == wa_e2e_pb2.ProtocolMessage.MESSAGE_EDIT:
        edited = summarize(protocol.editedMessage) if protocol.HasField("editedMessage") else None
        text = edited.text if edited is not None else None
        return Summary(ContentType.EDIT, text=text, target_id=target, protocol_type=kind)
    if kind == wa_e2e_pb2.ProtocolMessage.EPHEMERAL_SETTING:
        return Summary(
            ContentType.EPHEMERAL_SETTING,
            protocol_type=kind,
            ephemeral_expiration=protocol.ephemeralExpiration,
        )
    return Summary(ContentType.PROTOCOL, protocol_type=kind)


def preview(summary: Summary) -> str | None:
    """The chat list's one-line preview of a message."""
    if summary.content_type is ContentType.TEXT:
        return (summary.text or "")[:PREVIEW_LENGTH]
    label = _PREVIEW_LABELS.get(summary.content_type)
    if label is None:
        return None
    return f"{label} {summary.text}"[:PREVIEW_LENGTH] if summary.text else label


def stored_preview(message: MessageRecord) -> str | None:
    """The preview of a stored message (a revoked one has none)."""
    if message.revoked_at is not None:
        return None
    return preview(Summary(message.content_type, text=message.text))


def shows_in_chat_list(summary: Summary) -> bool:
    """Whether the message becomes the chat's last message (reactions, edits, revokes and
    protocol messages change other messages instead)."""
    return summary.content_type not in (
        ContentType.REACTION,
        ContentType.EDIT,
        ContentType.REVOKE,
        ContentType.PROTOCOL,
        ContentType.EPHEMERAL_SETTING,
    )
