"""Exceptions of sending and managing messages (all are ``ClientError``\\ s).

::

    MessagingError
    ├── SendFailed                 this attempt did not get the message to the server
    │   ├── SendTimeout            no server ack in time (or the socket went away): send the
    │   │                          same message id again later, recipients drop repeats
    │   ├── SendRefused            the server answered the message with an error code
    │   ├── NewChatsRestricted     the account may not start chats now (time-lock, cap): not
    │   │                          sent; send it again after ``until``
    │   └── NoRecipientDevices     nobody to deliver to (not on WhatsApp, no reachable device)
    ├── NotGroupMember             the group is read-only for us (left, removed, unknown)
    ├── TargetNotFound             a reply / reaction / edit / revoke names a message we lack
    └── GroupChangeFailed          the server refused a group change
"""

from __future__ import annotations

from collections.abc import Mapping

from daemon.client.errors import ClientError


class MessagingError(ClientError):
    """Base class of messaging errors."""


class SendFailed(MessagingError):
    def __init__(self, message_id: str, reason: str) -> None:
        super().__init__(f"message {message_id}: {reason}")
        self.message_id = message_id
        self.reason = reason


class SendTimeout(SendFailed):
    """Retryable: the same id may be sent again."""


class SendRefused(SendFailed):
    def __init__(self, message_id: str, code: int) -> None:
        super().__init__(message_id, f"refused by the server with error {code}")
        self.code = code


class NewChatsRestricted(SendFailed):
    def __init__(self, message_id: str, until: float | None, reason: str) -> None:
        super().__init__(message_id, reason)
        self.until = until
        self.reason = reason


class NoRecipientDevices(SendFailed):
    pass


class NotGroupMember(MessagingError):
    pass


class TargetNotFound(MessagingError):
    pass


class GroupChangeFailed(MessagingError):
    def __init__(self, group: str, failures: Mapping[str, int]) -> None:
        detail = ", ".join(f"{jid}: {code}" for jid, code in failures.items())
        super().__init__(f"group {group}: change refused ({detail})")
        self.group = group
        self.failures = dict(failures)
