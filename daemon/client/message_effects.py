"""What an edit or a revoke does to the message it names, whoever sent it (us or a peer).

Only the author can edit or revoke a message: the target is looked up under the sender of the
edit, so a forged edit of someone else's message changes nothing. The chat preview follows when
the target was the chat's last message.
"""

from __future__ import annotations

from datetime import datetime

from daemon.client.message_content import Summary
from daemon.client.message_context import MessagingContext
from daemon.client.message_events import ChatUpdated, MessageUpdated, MessagingEvent, UpdateKind
from storage.message_values import ContentType


async def apply_effects(
    m: MessagingContext,
    chat: str,
    sender: str,
    summary: Summary,
    at: datetime,
    events: list[MessagingEvent],
) -> bool:
    """Applies ``summary`` if it is an edit or a revoke; True when a stored message changed.
    Call inside a unit (the writes join its transaction)."""
    target = summary.target_id
    if target is None:
        return False
    repo, sid = m.messages.messages, m.session_id
    if summary.content_type is ContentType.EDIT:
        if not await repo.apply_edit(sid, chat, sender, target, summary.text, at):
            return False
        kind, text = UpdateKind.EDITED, summary.text
    elif summary.content_type is ContentType.REVOKE:
        if not await repo.apply_revoke(sid, chat, sender, target, at):
            return False
        kind, text = UpdateKind.REVOKED, None
    else:
        return False
    events.append(MessageUpdated(sid, chat, target, sender, kind, text=text, at=at.timestamp()))
    row = await m.messages.chats.update_preview(sid, chat, target, text)
    if row is not None:
        events.append(ChatUpdated(sid, row))
    return True
