"""Reading an incoming ``message`` stanza: who sent it, where it belongs, what it carries (pure).

Shapes (protocol-inventory §6.1):

* 1:1 from someone else: ``from=<sender device>`` (PN or LID) and ``sender_lid``/``sender_pn``
  naming the other form; a business's hosted device writes as ``<pn>:99@hosted`` or
  ``<lid>:99@hosted.lid``, and its message belongs to the account's plain chat;
* from one of our own other devices: ``from=<own device>``, ``recipient=<chat>``; the plaintext
  is a ``deviceSentMessage``. ``category=peer`` marks protocol messages between our devices;
* group: ``from=<group>``, ``participant=<sender device>`` and ``participant_lid``/
  ``participant_pn``; ``enc`` parts of type pkmsg/msg (carrying the sender key) and skmsg;
* broadcast (``status@broadcast`` or a list): like a group, with ``participant``.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.binary import JID, AttrError, JIDError, Node
from daemon.client.errors import StanzaError
from daemon.signal.session import EncType

_ENC_TYPES = frozenset(kind.value for kind in EncType)


@dataclass(frozen=True, slots=True)
class EncPart:
    kind: EncType
    ciphertext: bytes
    retry_count: int = 0
    """``count``: how many times the sender encrypted this again for us (answer to a retry)."""
    media_type: str | None = None


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    message_id: str
    source: JID
    """``from`` as given: the sender device (1:1) or the group / broadcast list."""
    sender: JID
    """The device that sent it."""
    chat: JID
    """Where it belongs, as given: the group, the ``recipient`` of our own device's copy, or
    the sender's account."""
    timestamp: int
    message_type: str
    encs: tuple[EncPart, ...]
    participant: JID | None = None
    recipient: JID | None = None
    push_name: str | None = None
    category: str | None = None
    edit: str | None = None
    offline: bool = False
    sender_alt: JID | None = None
    """The sender's account under its other name (LID for a PN sender, and vice versa)."""
    recipient_alt: JID | None = None
    addressing_mode: str | None = None

    @property
    def is_group(self) -> bool:
        return self.source.is_group

    @property
    def is_broadcast(self) -> bool:
        return self.source.is_broadcast

    @property
    def is_peer(self) -> bool:
        return self.category == "peer"


def _jid(node: Node, key: str) -> JID | None:
    try:
        return node.attr_jid(key)
    except (AttrError, JIDError) as exc:
        raise StanzaError(f"message attribute {key}: {exc}") from None


def _int(node: Node, key: str) -> int | None:
    try:
        return node.attr_int(key)
    except AttrError as exc:
        raise StanzaError(f"message attribute {key}: {exc}") from None


def _alt(node: Node, base: str, primary: JID) -> JID | None:
    """The other name of ``primary``'s account from ``<base>_lid`` or ``<base>_pn``."""
    key = f"{base}_pn" if primary.is_lid else f"{base}_lid"
    alt = _jid(node, key)
    return alt.to_non_ad() if alt is not None else None


def parse_message(node: Node) -> IncomingMessage:
    """Raises StanzaError when routing facts are missing or malformed."""
    message_id = node.attr_str("id")
    source = _jid(node, "from")
    if not message_id or source is None:
        raise StanzaError("message without id or from")
    participant = _jid(node, "participant")
    recipient = _jid(node, "recipient")
    if source.is_group or source.is_broadcast:
        if participant is None:
            raise StanzaError(f"group message {message_id} without participant")
        sender, chat = participant, source
        alt = _alt(node, "participant", participant)
    else:
        # A hosted (Cloud API) device's message belongs to its account's plain chat.
        sender = source
        account = source.unhosted()
        chat = recipient.to_non_ad() if recipient is not None else account.to_non_ad()
        alt = _alt(node, "sender", account)
    recipient_alt = _alt(node, "peer_recipient", recipient) if recipient is not None else None
    encs: list[EncPart] = []
    for enc in node.children_by_tag("enc"):
        kind = enc.attr_str("type") or ""
        body = enc.content_bytes()
        if kind in _ENC_TYPES and body:
            encs.append(
                EncPart(EncType(kind), body, _int(enc, "count") or 0, enc.attr_str("mediatype"))
            )
    return IncomingMessage(
        message_id=message_id,
        source=source,
        sender=sender,
        chat=chat,
        timestamp=_int(node, "t") or 0,
        message_type=node.attr_str("type") or "text",
        encs=tuple(encs),
        participant=participant,
        recipient=recipient,
        push_name=node.attr_str("notify") or None,
        category=node.attr_str("category"),
        edit=node.attr_str("edit"),
        offline=node.attrs.get("offline") is not None,
        sender_alt=alt,
        recipient_alt=recipient_alt,
        addressing_mode=node.attr_str("addressing_mode"),
    )
