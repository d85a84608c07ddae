"""Which chat addresses the API and the outbox accept, in one place.

A chat is a user by phone number (``<digits>@s.whatsapp.net``, E.164: 7 to 15 ASCII digits, no
leading 0), a user by LID (``<digits>@lid``) or a group (``<digits>@g.us``, or the older
``<creator>-<created>@g.us``). A device suffix is dropped (a chat is the user, not one of its
devices). Anything else — an empty user, a 10,000-character user, ``²`` or Arabic-Indic digits
that ``str.isdigit`` would take — is refused before it reaches storage or the wire.
"""

from __future__ import annotations

import re

from daemon.binary import JID, JIDError, Server

MAX_ADDRESS_CHARS = 128
"""Longer than any valid address; refused before parsing."""
PHONE_USER = re.compile(r"[1-9][0-9]{6,14}")
LID_USER = re.compile(r"[1-9][0-9]{4,19}")
GROUP_USER = re.compile(r"[1-9][0-9]{4,19}(?:-[1-9][0-9]{4,19})?")
_CHAT_USERS = {
    Server.PN.value: PHONE_USER,
    Server.LID.value: LID_USER,
    Server.GROUP.value: GROUP_USER,
}
"""The user part of a chat JID without a device, by server (what ``_normalize_jid`` returns)."""
PHONE_SEPARATORS = " -()."
PHONE_RULE = "a JID or an international phone number (7 to 15 digits, no leading 0)"


class InvalidChat(ValueError):
    """Not an address a message can go to or a chat can have (the message says why)."""


def normalize_chat(to: str) -> str:
    """A chat JID from a JID or a phone number (``+1 555 0100`` → ``15550100@s.whatsapp.net``)."""
    text = to.strip()
    if not text:
        raise InvalidChat("'to' is empty")
    if len(text) > MAX_ADDRESS_CHARS:
        raise InvalidChat(f"'to' is longer than {MAX_ADDRESS_CHARS} characters")
    if "@" in text:
        user, _, server = text.partition("@")
        rule = _CHAT_USERS.get(server)
        # Already a chat JID as the API writes them (the usual case): nothing to rebuild.
        if rule is not None and rule.fullmatch(user):
            return text
        return _normalize_jid(text)
    digits = phone_digits(text)
    if digits is None:
        raise InvalidChat(f"'to' must be {PHONE_RULE}")
    # PHONE_USER already holds the digits to what a JID user may be; building and checking a
    # JID here cost campaigns their fast path (100,000 numbers a batch).
    return f"{digits}@{Server.PN}"


def _normalize_jid(text: str) -> str:
    try:
        jid = JID.parse(text)
    except JIDError as exc:
        raise InvalidChat(f"'to' is not a valid JID: {exc}") from None
    if jid.is_pn:
        rule, what = PHONE_USER, "a phone number of 7 to 15 digits, no leading 0"
    elif jid.is_lid:
        rule, what = LID_USER, "a LID of 5 to 20 digits"
    elif jid.is_group:
        rule, what = GROUP_USER, "a group id (digits, or <digits>-<digits>)"
    else:
        raise InvalidChat("'to' must be a user (phone number or LID) or a group")
    if not rule.fullmatch(jid.user):
        raise InvalidChat(f"the user part of {jid.server!r} JIDs must be {what}")
    return str(jid.to_non_ad())


def normalize_user(to: str) -> str:
    """A person's JID (phone number or LID), as :func:`normalize_chat`; a group is refused."""
    chat = normalize_chat(to)
    if chat.endswith(f"@{Server.GROUP}"):
        raise InvalidChat(f"{to!r} is a group, not a person")
    return chat


def normalize_group(raw: str) -> str:
    """A group JID from ``<id>@g.us`` or the bare id."""
    text = raw.strip()
    if len(text) > MAX_ADDRESS_CHARS:
        raise InvalidChat(f"a group JID is at most {MAX_ADDRESS_CHARS} characters")
    jid = _normalize_jid(text if "@" in text else f"{text}@{Server.GROUP}")
    if not jid.endswith(f"@{Server.GROUP}"):
        raise InvalidChat(f"not a group JID: {raw!r}")
    return jid


def phone_digits(raw: str) -> str | None:
    """The digits of an international phone number (``+1 (555) 000-1111``), or None."""
    digits = "".join(ch for ch in raw.strip() if ch not in PHONE_SEPARATORS).removeprefix("+")
    return digits if PHONE_USER.fullmatch(digits) else None


__all__ = [
    "MAX_ADDRESS_CHARS",
    "InvalidChat",
    "normalize_chat",
    "normalize_group",
    "normalize_user",
    "phone_digits",
]
