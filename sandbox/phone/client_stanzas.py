"""The stanzas the phone writes and reads as a client (pure: values in, nodes out, and back).

The phone talks to the sandbox exactly like a real client on a socket would: usync for device
lists, ``encrypt`` iqs for prekeys, ``w:g2`` for group members, ``message`` stanzas with
``participants > to > enc`` fan-out, receipts and acks. Shapes follow protocol-inventory §6–§7
(and §5.4 for retry receipts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from daemon.binary import JID, SERVER_JID, Node, Server
from daemon.binary.errors import AttrError, JIDError
from daemon.signal.keys import PreKey, PreKeyBundle, SignedPreKey
from daemon.signal.session import EncType

__all__ = [
    "EncNode",
    "GroupInfo",
    "IncomingMessage",
    "RetryRequest",
    "StanzaError",
    "UserDevices",
    "ack",
    "enc_node",
    "group_query_iq",
    "message_stanza",
    "parse_group",
    "parse_incoming_message",
    "parse_prekey_bundles",
    "parse_prekey_count",
    "parse_retry_receipt",
    "parse_usync_devices",
    "prekey_count_iq",
    "prekey_fetch_iq",
    "prekey_upload_iq",
    "receipt",
    "retry_receipt",
    "usync_devices_iq",
]

KEY_TYPE_DJB = b"\x05"
_ENC_TYPES = frozenset(kind.value for kind in EncType)


class StanzaError(ValueError):
    """A stanza (an answer from the server, a message) without the parts the phone needs."""


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


def _u24(value: int) -> bytes:
    return value.to_bytes(3, "big")


def _child_bytes(node: Node, *path: str) -> bytes:
    child = node.child(*path)
    data = child.content_bytes() if child is not None else None
    if data is None:
        raise StanzaError(f"<{node.tag}> has no <{'>'.join(path)}> bytes")
    return data


# --- iqs ---------------------------------------------------------------------------------------


def _iq(iq_id: str, xmlns: str, kind: str, content: list[Node], to: JID = SERVER_JID) -> Node:
    return Node("iq", {"id": iq_id, "xmlns": xmlns, "type": kind, "to": to}, content)


def usync_devices_iq(iq_id: str, users: Sequence[JID]) -> Node:
    """Device lists (and LIDs) of ``users``, the way a client asks before sending."""
    query = Node("query", {}, [Node("devices", {"version": "2"}), Node("lid", {})])
    listed = Node("list", {}, [Node("user", {"jid": user.to_non_ad()}) for user in users])
    usync = Node(
        "usync",
        {"sid": iq_id, "mode": "query", "last": "true", "index": "0", "context": "message"},
        [query, listed],
    )
    return _iq(iq_id, "usync", "get", [usync])


@dataclass(frozen=True, slots=True)
class UserDevices:
    """One user of a usync answer: the account JID asked for, its device ids and its LID."""

    user: JID
    device_ids: tuple[int, ...]
    lid: JID | None = None
    hosted_ids: tuple[int, ...] = ()
    """``is_hosted`` devices (a business's Cloud API device): reached in 1:1 chats only."""

    def device_jids(self, *, hosted: bool = False) -> list[JID]:
        jids = [self.user.with_device(device_id) for device_id in self.device_ids]
        if hosted:
            server = Server.HOSTED_LID if self.user.is_lid else Server.HOSTED
            jids += [JID(self.user.user, server, device_id) for device_id in self.hosted_ids]
        return jids


def parse_usync_devices(answer: Node) -> list[UserDevices]:
    listed = answer.child("usync", "list")
    if answer.attr_str("type") != "result" or listed is None:
        raise StanzaError(f"usync failed: {_error_text(answer)}")
    users: list[UserDevices] = []
    for user in listed.children_by_tag("user"):
        try:
            jid = user.attr_jid("jid")
        except (AttrError, JIDError) as exc:
            raise StanzaError(f"usync user with a bad jid: {exc}") from None
        if jid is None:
            continue
        device_list = user.child("devices", "device-list")
        ids: list[int] = []
        hosted: list[int] = []
        if device_list is not None:
            for device in device_list.children_by_tag("device"):
                device_id = device.attr_int("id")
                if device_id is None:
                    continue
                (hosted if device.attr_str("is_hosted") == "true" else ids).append(device_id)
        lid_node = user.child("lid")
        lid = lid_node.attr_jid("val") if lid_node is not None else None
        users.append(UserDevices(jid.to_non_ad(), tuple(ids), lid, tuple(hosted)))
    return users


def prekey_fetch_iq(iq_id: str, devices: Iterable[JID]) -> Node:
    users = [Node("user", {"jid": device}) for device in devices]
    return _iq(iq_id, "encrypt", "get", [Node("key", {}, users)])


def parse_prekey_bundles(answer: Node) -> dict[JID, PreKeyBundle]:
    """The bundles of an ``encrypt > key`` answer by device; users answered with an error are
    left out (the caller skips those devices, as clients do)."""
    listed = answer.child("list")
    if answer.attr_str("type") != "result" or listed is None:
        raise StanzaError(f"prekey fetch failed: {_error_text(answer)}")
    bundles: dict[JID, PreKeyBundle] = {}
    for user in listed.children_by_tag("user"):
        jid = user.attr_jid("jid")
        if jid is None or user.child("error") is not None:
            continue
        skey = user.child("skey")
        if skey is None:
            raise StanzaError(f"the bundle of {jid} has no signed prekey")
        prekey_id: int | None = None
        prekey: bytes | None = None
        if (key := user.child("key")) is not None:
            prekey_id = int.from_bytes(_child_bytes(key, "id"), "big")
            prekey = _child_bytes(key, "value")
        bundles[jid] = PreKeyBundle(
            registration_id=int.from_bytes(_child_bytes(user, "registration"), "big"),
            identity_key=_child_bytes(user, "identity"),
            signed_prekey_id=int.from_bytes(_child_bytes(skey, "id"), "big"),
            signed_prekey=_child_bytes(skey, "value"),
            signed_prekey_signature=_child_bytes(skey, "signature"),
            prekey_id=prekey_id,
            prekey=prekey,
        )
    return bundles


def prekey_count_iq(iq_id: str) -> Node:
    return _iq(iq_id, "encrypt", "get", [Node("count", {})])


def parse_prekey_count(answer: Node) -> int:
    count = answer.child("count")
    value = count.attr_int("value") if count is not None else None
    if answer.attr_str("type") != "result" or value is None:
        raise StanzaError(f"prekey count failed: {_error_text(answer)}")
    return value


def _key_nodes(prekey: PreKey) -> list[Node]:
    return [Node("id", {}, _u24(prekey.key_id)), Node("value", {}, prekey.key_pair.public)]


def _skey_node(signed: SignedPreKey) -> Node:
    return Node(
        "skey",
        {},
        [
            Node("id", {}, _u24(signed.key_id)),
            Node("value", {}, signed.key_pair.public),
            Node("signature", {}, signed.signature),
        ],
    )


def prekey_upload_iq(
    iq_id: str,
    *,
    registration_id: int,
    identity_public: bytes,
    prekeys: Sequence[PreKey],
    signed_prekey: SignedPreKey,
) -> Node:
    return _iq(
        iq_id,
        "encrypt",
        "set",
        [
            Node("registration", {}, _u32(registration_id)),
            Node("type", {}, KEY_TYPE_DJB),
            Node("identity", {}, identity_public),
            Node("list", {}, [Node("key", {}, _key_nodes(p)) for p in prekeys]),
            _skey_node(signed_prekey),
        ],
    )


def group_query_iq(iq_id: str, group: JID) -> Node:
    return _iq(iq_id, "w:g2", "get", [Node("query", {"request": "interactive"})], to=group)


@dataclass(frozen=True, slots=True)
class GroupInfo:
    jid: JID
    subject: str
    participants: tuple[JID, ...]
    addressing_mode: str = ""


def parse_group(answer: Node) -> GroupInfo:
    group = answer.child("group")
    if answer.attr_str("type") != "result" or group is None:
        raise StanzaError(f"group query failed: {_error_text(answer)}")
    group_id = group.attr_str("id") or ""
    jid = JID.parse(group_id if "@" in group_id else f"{group_id}@g.us")
    participants = tuple(
        jid_value
        for participant in group.children_by_tag("participant")
        if (jid_value := participant.attr_jid("jid")) is not None
    )
    return GroupInfo(
        jid, group.attr_str("subject") or "", participants, group.attr_str("addressing_mode") or ""
    )


def group_change_iq(iq_id: str, group: JID, change: Node) -> Node:
    """``add|remove|promote|demote > participant*``, a setting, or ``subject``, to the group."""
    return _iq(iq_id, "w:g2", "set", [change], to=group)


def check_result(answer: Node, what: str) -> Node:
    if answer.attr_str("type") != "result":
        raise StanzaError(f"{what} failed: {_error_text(answer)}")
    return answer


def _error_text(answer: Node) -> str:
    error = answer.child("error")
    if error is None:
        return f"unexpected <{answer.tag} type={answer.attr_str('type')}>"
    return f"{error.attr_str('code')} {error.attr_str('text') or ''}".strip()


# --- messages ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncNode:
    kind: EncType
    body: bytes
    retry_count: int = 0
    media_type: str = ""
    """The ``mediatype`` attribute a sender sets on a media message's enc."""


def enc_node(enc: EncNode, *, hide_decrypt_fail: bool = False) -> Node:
    attrs: dict[str, str | JID] = {"v": "2", "type": str(enc.kind)}
    if enc.retry_count:
        attrs["count"] = str(enc.retry_count)
    if hide_decrypt_fail:
        attrs["decrypt-fail"] = "hide"
    return Node("enc", attrs, enc.body)


def message_stanza(
    message_id: str,
    to: JID,
    message_type: str,
    *,
    fanout: Mapping[JID, Node] | None = None,
    content: Sequence[Node] = (),
    attrs: Mapping[str, str | JID] | None = None,
) -> Node:
    """``message(id, to, type) > [participants > to(jid) > enc]*, content...``.

    ``fanout`` maps device JIDs to their own ``enc``; ``content`` holds what every recipient
    gets (a group's ``skmsg``) or, for a single addressed device, its one ``enc``.
    """
    children: list[Node] = []
    if fanout:
        children.append(
            Node(
                "participants",
                {},
                [Node("to", {"jid": device}, [enc]) for device, enc in fanout.items()],
            )
        )
    children.extend(content)
    node_attrs: dict[str, str | JID] = {"id": message_id, "to": to, "type": message_type}
    node_attrs.update(attrs or {})
    return Node("message", node_attrs, children)


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """The routing facts of a delivered ``message`` stanza."""

    message_id: str
    sender: JID
    """The sending device (``participant`` in groups, else ``from``)."""
    chat: JID
    """Where it belongs: the group, the ``recipient`` of an own device's copy, or the sender."""
    timestamp: int
    message_type: str
    encs: tuple[EncNode, ...]
    push_name: str = ""
    category: str = ""
    raw_from: JID | None = None
    participant: JID | None = None
    recipient: JID | None = None

    @property
    def is_group(self) -> bool:
        return self.chat.is_group


def parse_incoming_message(node: Node) -> IncomingMessage:
    try:
        source = node.attr_jid("from")
        participant = node.attr_jid("participant")
        recipient = node.attr_jid("recipient")
        timestamp = node.attr_int("t") or 0
    except (AttrError, JIDError) as exc:
        raise StanzaError(f"message with a bad attribute: {exc}") from None
    message_id = node.attr_str("id")
    if source is None or not message_id:
        raise StanzaError("message without from or id")
    if source.is_group or source.is_broadcast:
        if participant is None:
            raise StanzaError(f"group message {message_id} without participant")
        sender, chat = participant, source
    else:
        sender = source
        chat = recipient.to_non_ad() if recipient is not None else source.to_non_ad()
    encs = []
    for enc in node.children_by_tag("enc"):
        kind = enc.attr_str("type") or ""
        body = enc.content_bytes()
        if kind in _ENC_TYPES and body is not None:
            retries, media_type = enc.attr_int("count") or 0, enc.attr_str("mediatype") or ""
            encs.append(EncNode(EncType(kind), body, retries, media_type))
    return IncomingMessage(
        message_id=message_id,
        sender=sender,
        chat=chat,
        timestamp=timestamp,
        message_type=node.attr_str("type") or "text",
        encs=tuple(encs),
        push_name=node.attr_str("notify") or "",
        category=node.attr_str("category") or "",
        raw_from=source,
        participant=participant,
        recipient=recipient,
    )


# --- receipts and acks -------------------------------------------------------------------------


def receipt(
    message_ids: Sequence[str],
    to: JID,
    *,
    receipt_type: str = "",
    participant: JID | None = None,
    recipient: JID | None = None,
    timestamp: int | None = None,
) -> Node:
    """``receipt(id=<first>, to[, type][, participant][, recipient][, t]) > [list > item*]``."""
    if not message_ids:
        raise ValueError("a receipt names at least one message")
    attrs: dict[str, str | JID] = {"id": message_ids[0], "to": to}
    if receipt_type:
        attrs["type"] = receipt_type
    if participant is not None:
        attrs["participant"] = participant
    if recipient is not None:
        attrs["recipient"] = recipient
    if timestamp is not None:
        attrs["t"] = str(timestamp)
    extra = [Node("item", {"id": message_id}) for message_id in message_ids[1:]]
    return Node("receipt", attrs, [Node("list", {}, extra)] if extra else None)


def ack(stanza: Node, *, error: int | None = None) -> Node:
    """A client's ack of a server-delivered stanza (``class`` = its tag)."""
    attrs: dict[str, str | JID] = {"class": stanza.tag, "id": stanza.attr_str("id") or ""}
    if (source := stanza.attrs.get("from")) is not None:
        attrs["to"] = source
    for key in ("participant", "recipient"):
        if (value := stanza.attrs.get(key)) is not None:
            attrs[key] = value
    if stanza.tag != "message" and (kind := stanza.attr_str("type")) is not None:
        attrs["type"] = kind
    if error is not None:
        attrs["error"] = str(error)
    return Node("ack", attrs)


@dataclass(frozen=True, slots=True)
class RetryRequest:
    """A ``receipt type=retry``: which message, how many tries, and a new bundle if any."""

    message_id: str
    requester: JID
    """The device that could not decrypt."""
    chat: JID
    count: int
    timestamp: int
    registration_id: int | None
    bundle: PreKeyBundle | None
    participant: JID | None = None


def retry_receipt(
    incoming: IncomingMessage,
    *,
    count: int,
    registration_id: int,
    keys: tuple[bytes, PreKey, SignedPreKey] | None = None,
) -> Node:
    """Asks the sender of ``incoming`` to encrypt it again; ``keys`` = (our identity public,
    a fresh one-time prekey, our signed prekey) makes the sender start a new session."""
    attrs: dict[str, str | JID] = {
        "id": incoming.message_id,
        "type": "retry",
        "to": incoming.raw_from or incoming.sender,
    }
    if incoming.participant is not None:
        attrs["participant"] = incoming.participant
    if incoming.recipient is not None:
        attrs["recipient"] = incoming.recipient
    if incoming.category:
        attrs["category"] = incoming.category
    children = [
        Node(
            "retry",
            {
                "count": str(count),
                "id": incoming.message_id,
                "t": str(incoming.timestamp),
                "v": "1",
            },
        ),
        Node("registration", {}, _u32(registration_id)),
    ]
    if keys is not None:
        identity, prekey, signed = keys
        children.append(
            Node(
                "keys",
                {},
                [
                    Node("type", {}, KEY_TYPE_DJB),
                    Node("identity", {}, identity),
                    Node("key", {}, _key_nodes(prekey)),
                    _skey_node(signed),
                ],
            )
        )
    return Node("receipt", attrs, children)


def parse_retry_receipt(node: Node) -> RetryRequest:
    try:
        source = node.attr_jid("from")
        participant = node.attr_jid("participant")
        recipient = node.attr_jid("recipient")
    except (AttrError, JIDError) as exc:
        raise StanzaError(f"retry receipt with a bad attribute: {exc}") from None
    message_id = node.attr_str("id")
    retry = node.child("retry")
    if source is None or not message_id or retry is None:
        raise StanzaError("retry receipt without from, id or <retry>")
    if source.is_group:
        if participant is None:
            raise StanzaError("group retry receipt without participant")
        requester, chat = participant, source
    else:
        requester = source
        chat = recipient.to_non_ad() if recipient is not None else source.to_non_ad()
    registration = node.child("registration")
    registration_bytes = registration.content_bytes() if registration is not None else None
    bundle = None
    keys = node.child("keys")
    if keys is not None:
        skey = keys.child("skey")
        key = keys.child("key")
        if skey is None:
            raise StanzaError("retry receipt keys without a signed prekey")
        if registration_bytes is None:
            raise StanzaError("retry receipt keys without a registration id")
        bundle = PreKeyBundle(
            registration_id=int.from_bytes(registration_bytes, "big"),
            identity_key=_child_bytes(keys, "identity"),
            signed_prekey_id=int.from_bytes(_child_bytes(skey, "id"), "big"),
            signed_prekey=_child_bytes(skey, "value"),
            signed_prekey_signature=_child_bytes(skey, "signature"),
            prekey_id=int.from_bytes(_child_bytes(key, "id"), "big") if key is not None else None,
            prekey=_child_bytes(key, "value") if key is not None else None,
        )
    return RetryRequest(
        message_id=message_id,
        requester=requester,
        chat=chat,
        count=retry.attr_int("count") or 1,
        timestamp=retry.attr_int("t") or 0,
        registration_id=(
            int.from_bytes(registration_bytes, "big") if registration_bytes is not None else None
        ),
        bundle=bundle,
        participant=participant,
    )
