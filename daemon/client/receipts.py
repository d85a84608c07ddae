"""Receipts, both ways (protocol-inventory §6.4, pure).

Outgoing: ``receipt(id=<first id>, to[, type][, participant][, recipient][, t]) > [list >
item(id)*]``. A delivery receipt has no ``type`` (we announce presence at login, so never
``inactive``); messages from our own other devices get ``type=sender`` with the chat as
``recipient``; peer messages get ``peer_msg``; ``read`` carries ``t``.

Incoming: the same shape from the reader's device (``from``, or ``participant`` in groups), or
the grouped form ``receipt(from=<group>) > participants(key=<id>) > user(jid, t)*``. Every
receipt is acked (``ack class=receipt``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from daemon.binary import JID, AttrError, JIDError, Node
from daemon.binary.node import AttrValue
from daemon.client.errors import StanzaError
from storage.message_values import ReceiptStatus


class ReceiptType(enum.StrEnum):
    DELIVERY = ""
    INACTIVE = "inactive"
    READ = "read"
    READ_SELF = "read-self"
    PLAYED = "played"
    PLAYED_SELF = "played-self"
    SENDER = "sender"
    PEER = "peer_msg"
    HISTORY_SYNC = "hist_sync"
    RETRY = "retry"
    SERVER_ERROR = "server-error"

    @property
    def status(self) -> ReceiptStatus | None:
        """What this receipt says about one of our messages (None: nothing)."""
        return _STATUS.get(self)


_STATUS = {
    ReceiptType.DELIVERY: ReceiptStatus.DELIVERED,
    ReceiptType.INACTIVE: ReceiptStatus.DELIVERED,
    ReceiptType.READ: ReceiptStatus.READ,
    ReceiptType.PLAYED: ReceiptStatus.PLAYED,
}
RECORDED_TYPES: frozenset[object] = frozenset(_STATUS)
"""The ``type`` attributes (as the stanza carries them) of receipts that say something about
one of our messages; every other receipt is only acked."""


def build_receipt(
    message_ids: Sequence[str],
    to: JID,
    *,
    kind: ReceiptType = ReceiptType.DELIVERY,
    participant: JID | None = None,
    recipient: JID | None = None,
    timestamp: int | None = None,
) -> Node:
    if not message_ids:
        raise ValueError("a receipt names at least one message")
    attrs: dict[str, AttrValue] = {"id": message_ids[0], "to": to}
    if kind is not ReceiptType.DELIVERY:
        attrs["type"] = kind.value
    if participant is not None:
        attrs["participant"] = participant
    if recipient is not None:
        attrs["recipient"] = recipient
    if timestamp is not None:
        attrs["t"] = str(timestamp)
    rest = [Node("item", {"id": message_id}) for message_id in message_ids[1:]]
    return Node("receipt", attrs, [Node("list", {}, rest)] if rest else None)


MAX_MERGED_IDS = 64
"""Message ids one merged receipt names at most."""


def merge_receipts(replies: Sequence[Node]) -> list[Node]:
    """``replies`` with each run of consecutive plain receipts to the same place (same
    attributes but the id, no children but the id list) sent as one receipt naming all their
    ids, in order: a backlog committed at once is receipted with one stanza (and one server
    ack) per chat instead of one per message. Anything else (a retry receipt, an ack) stays
    where it is and ends the run."""
    merged: list[Node] = []
    run_attrs: dict[str, AttrValue] | None = None
    run_ids: list[str] = []

    def close_run() -> None:
        if run_attrs is not None:
            merged.append(_with_ids(run_attrs, run_ids))

    for reply in replies:
        ids = _plain_receipt_ids(reply)
        if ids is None:
            close_run()
            run_attrs, run_ids = None, []
            merged.append(reply)
            continue
        attrs = {k: v for k, v in reply.attrs.items() if k != "id"}
        if run_attrs == attrs and len(run_ids) + len(ids) <= MAX_MERGED_IDS:
            run_ids.extend(ids)
            continue
        close_run()
        run_attrs, run_ids = attrs, list(ids)
    close_run()
    return merged


def _plain_receipt_ids(node: Node) -> list[str] | None:
    first = node.attrs.get("id")
    if node.tag != "receipt" or not isinstance(first, str):
        return None
    children = node.children
    if node.content is not None and not (len(children) == 1 and children[0].tag == "list"):
        return None
    ids = [first]
    for child in children:
        for item in child.children:
            item_id = item.attrs.get("id")
            if item.tag != "item" or not isinstance(item_id, str) or item.content is not None:
                return None
            ids.append(item_id)
    return ids


def _with_ids(attrs: dict[str, AttrValue], ids: list[str]) -> Node:
    rest = [Node("item", {"id": message_id}) for message_id in ids[1:]]
    return Node("receipt", {"id": ids[0], **attrs}, [Node("list", {}, rest)] if rest else None)


@dataclass(frozen=True, slots=True)
class IncomingReceipt:
    message_ids: tuple[str, ...]
    source: JID
    """``from``: the reader's device, or the group."""
    reader: JID
    """The device that read / received (``participant`` in groups)."""
    kind: ReceiptType | None
    """None for a type we do not know (acked and ignored)."""
    timestamp: int | None
    recipient: JID | None = None

    @property
    def is_group(self) -> bool:
        return self.source.is_group


def parse_receipt(node: Node) -> list[IncomingReceipt]:
    """One receipt per reader (the grouped group form gives several)."""
    try:
        source = node.attr_jid("from")
        participant = node.attr_jid("participant")
        recipient = node.attr_jid("recipient")
        timestamp = node.attr_int("t")
    except (AttrError, JIDError) as exc:
        raise StanzaError(f"receipt: {exc}") from None
    first = node.attr_str("id")
    if source is None or not first:
        raise StanzaError("receipt without from or id")
    raw_kind = node.attr_str("type") or ""
    try:
        kind: ReceiptType | None = ReceiptType(raw_kind)
    except ValueError:
        kind = None
    grouped = node.children_by_tag("participants")
    if grouped:
        readers: list[IncomingReceipt] = []
        for block in grouped:
            key = block.attr_str("key") or first
            for user in block.children_by_tag("user"):
                try:
                    jid = user.attr_jid("jid")
                    at = user.attr_int("t")
                except (AttrError, JIDError) as exc:
                    raise StanzaError(f"receipt user: {exc}") from None
                if jid is not None:
                    readers.append(IncomingReceipt((key,), source, jid, kind, at, recipient))
        return readers
    ids = [first]
    listed = node.child("list")
    if listed is not None:
        ids.extend(i for item in listed.children_by_tag("item") if (i := item.attr_str("id")))
    reader = participant if participant is not None else source
    return [IncomingReceipt(tuple(ids), source, reader, kind, timestamp, recipient)]
