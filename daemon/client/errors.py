"""Exceptions of the linked-device client.

::

    ClientError                     anything the client layer refuses or fails at
    ├── SessionBusy                 the session is already open in this process
    ├── NotPaired                   connect() on a session that has no paired identity
    ├── AlreadyPaired               pair() on a session whose identity is already paired
    ├── NotConnected                an operation that needs the live socket found none
    ├── InvalidPhoneNumber          pair_with_code() got a number it cannot use
    ├── AuthStateError              the stored auth state is missing or damaged; never papered
    │                               over with a new identity (ARCHITECTURE principle 7)
    ├── StanzaError                 the server sent a stanza we cannot read (peer's fault)
    ├── IqError                     the server answered an iq with type=error (code, text)
    └── IqTimeout                   no answer to an iq in time (or the socket went away)
"""

from __future__ import annotations

from daemon.binary import Node


class ClientError(Exception):
    """Base class of every error raised by ``daemon.client``."""


class SessionBusy(ClientError):
    """A second Session object for a session id that is already open in this process."""


class NotPaired(ClientError):
    """The session has no paired identity yet: pair it (QR or code) first."""


class AlreadyPaired(ClientError):
    """The session's identity is paired; pairing again would replace an identity."""


class NotConnected(ClientError):
    """The operation needs a logged-in connection and there is none."""


class InvalidPhoneNumber(ClientError, ValueError):
    """A phone number for code pairing: international digits, no leading 0, at least 7."""


class AuthStateError(ClientError):
    """The stored credentials are missing or damaged for a session that had them."""

    def __init__(self, session_id: str, detail: str) -> None:
        super().__init__(f"session {session_id!r}: {detail}")
        self.session_id = session_id
        self.detail = detail


class StanzaError(ClientError):
    """A stanza from the server lacks something the protocol requires."""


class IqError(ClientError):
    """The server answered ``type=error``; ``code`` and ``text`` come from its ``<error>``."""

    def __init__(self, code: int | None, text: str, node: Node | None = None) -> None:
        super().__init__(f"iq error {code}: {text}" if code is not None else f"iq error: {text}")
        self.code = code
        self.text = text
        self.node = node


class IqTimeout(ClientError):
    """The iq got no answer within its timeout, or the connection ended first."""
