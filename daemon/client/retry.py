"""Retry receipts: asking a sender to encrypt a message again, and reading such a request
(protocol-inventory §5.4, pure).

``receipt(id, to=<msg from>, type=retry[, participant][, recipient][, category]) >
retry(count, id, t, v=1), registration(4B)[, keys > type(05), identity, key(id, value),
skey(id, value, signature), device-identity]``. ``keys`` go along from the second try on, or
when we have no session at all with the sender: with them the sender starts a new session
instead of using the one we cannot read.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.binary import JID, AttrError, JIDError, Node
from daemon.binary.node import AttrValue
from daemon.client.errors import StanzaError
from daemon.client.incoming import IncomingMessage
from daemon.client.prekey_fetch import parse_bundle
from daemon.signal.keys import PreKeyBundle

MAX_RETRIES = 5
"""Retry receipts per message (whatsmeow and Baileys stop at five)."""
KEY_TYPE_DJB = b"\x05"


@dataclass(frozen=True, slots=True)
class RetryKeys:
    """Our bundle for a sender to start a new session from."""

    identity: bytes
    prekey_id: int
    prekey: bytes
    signed_prekey_id: int
    signed_prekey: bytes
    signed_prekey_signature: bytes
    device_identity: bytes | None
    """Our ADVSignedDeviceIdentity (with the account signature key)."""


def wants_keys(count: int, no_session: bool) -> bool:
    return count > 1 or no_session


def _key_node(tag: str, key_id: int, value: bytes, signature: bytes | None = None) -> Node:
    children = [Node("id", {}, key_id.to_bytes(3, "big")), Node("value", {}, value)]
    if signature is not None:
        children.append(Node("signature", {}, signature))
    return Node(tag, {}, children)


def build_retry_receipt(
    incoming: IncomingMessage, *, count: int, registration_id: int, keys: RetryKeys | None
) -> Node:
    attrs: dict[str, AttrValue] = {
        "id": incoming.message_id,
        "to": incoming.source,
        "type": "retry",
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
        Node("registration", {}, registration_id.to_bytes(4, "big")),
    ]
    if keys is not None:
        bundle = [
            Node("type", {}, KEY_TYPE_DJB),
            Node("identity", {}, keys.identity),
            _key_node("key", keys.prekey_id, keys.prekey),
            _key_node(
                "skey", keys.signed_prekey_id, keys.signed_prekey, keys.signed_prekey_signature
            ),
        ]
        if keys.device_identity is not None:
            bundle.append(Node("device-identity", {}, keys.device_identity))
        children.append(Node("keys", {}, bundle))
    return Node("receipt", attrs, children)


@dataclass(frozen=True, slots=True)
class RetryRequest:
    message_id: str
    requester: JID
    """The device that could not decrypt."""
    source: JID
    """``from`` of the receipt: the requester's device, or the group."""
    count: int
    original_timestamp: int
    registration_id: int | None
    bundle: PreKeyBundle | None
    recipient: JID | None = None

    @property
    def is_group(self) -> bool:
        return self.source.is_group


def parse_retry_receipt(node: Node) -> RetryRequest:
    try:
        source = node.attr_jid("from")
        participant = node.attr_jid("participant")
        recipient = node.attr_jid("recipient")
    except (AttrError, JIDError) as exc:
        raise StanzaError(f"retry receipt: {exc}") from None
    message_id = node.attr_str("id")
    retry = node.child("retry")
    if source is None or not message_id or retry is None:
        raise StanzaError("retry receipt without from, id or <retry>")
    if source.is_group or source.is_broadcast:
        if participant is None:
            raise StanzaError("group retry receipt without participant")
        requester = participant
    else:
        requester = source
    try:
        count = retry.attr_int("count") or 1
        timestamp = retry.attr_int("t") or 0
    except AttrError as exc:
        raise StanzaError(f"retry receipt: {exc}") from None
    registration = node.child("registration")
    raw = registration.content_bytes() if registration is not None else None
    registration_id = int.from_bytes(raw, "big") if raw else None
    bundle = None
    keys = node.child("keys")
    if keys is not None:
        if raw is None or registration is None:
            raise StanzaError("retry receipt keys without a registration id")
        bundle = parse_bundle(Node("user", {}, [*keys.children, registration]))
    return RetryRequest(
        message_id=message_id,
        requester=requester,
        source=source,
        count=count,
        original_timestamp=timestamp,
        registration_id=registration_id,
        bundle=bundle,
        recipient=recipient,
    )
