"""Messages companions only see as ``<unavailable>``: the phone has them, the companions do not.

The real service sends some messages to linked devices without any ``enc`` part, only
``<unavailable type=…/>`` (click-to-WhatsApp ad leads, view-once media, messages from hosted
business accounts): the primary phone shows them, and a companion that wants them asks the
phone with a placeholder resend (peer data operation, whatsmeow message.go/retry.go). The
sandbox reproduces that: the account's phone keeps the message in its chat log, so it answers
the resend like any other, and each companion gets the bare stanza (queued until acked).
"""

from __future__ import annotations

import secrets

from daemon.binary import JID, Node
from sandbox.directory import Account
from sandbox.network import Network
from sandbox.phone import SimulatedPhone
from sandbox.phone.history import ChatMessage


class NoPhone(LookupError):
    """The account has no simulated phone that could hold the message."""


async def deliver_unavailable(
    network: Network,
    recipient: Account,
    sender: Account,
    text: str,
    *,
    kind: str = "",
) -> str:
    """``sender`` writes ``text`` to ``recipient``; only the phone can read it. Returns the id."""
    phone = network.phones.get(recipient.phone_user)
    if not isinstance(phone, SimulatedPhone):
        raise NoPhone(f"{recipient.phone_user} has no simulated phone")
    message_id = "3EB0" + secrets.token_hex(8).upper()
    now = network.now()
    phone.remember(
        ChatMessage.text(
            sender.pn,
            message_id,
            text,
            from_me=False,
            timestamp=now,
            push_name=sender.push_name,
        )
    )
    attrs: dict[str, str | JID] = {
        "from": sender.pn,
        "id": message_id,
        "t": str(now),
        "type": "text",
        "notify": sender.push_name,
    }
    unavailable = Node("unavailable", {"type": kind} if kind else {})
    for device in network.directory.devices(recipient.phone_user):
        if not device.is_phone and not device.logged_out:
            await network.deliver(device.jid(), Node("message", attrs, [unavailable]))
    return message_id
