"""Privacy tokens of one session: kept, attached to 1:1 sends, issued after them
(the facts are in :mod:`daemon.client.privacy_tokens`)."""

from __future__ import annotations

import asyncio

from daemon.binary import JID, Node
from daemon.client.acks import build_ack
from daemon.client.connection import Connection
from daemon.client.errors import IqError
from daemon.client.message_context import MessagingContext
from daemon.client.privacy_tokens import (
    build_issue_iq,
    cstoken_node,
    issue_due,
    parse_privacy_token_notification,
    tctoken_node,
    token_usable,
    tokens_apply,
)

SALT_GRACE_S = 15.0
"""How long after login a first-contact send waits for the history sync's NCT salt."""
SALT_POLL_S = 0.1


class PrivacyTokens:
    def __init__(self, m: MessagingContext) -> None:
        self._m = m
        self._issuing: set[str] = set()

    def _key(self, contact: JID) -> str:
        """Tokens are kept under the contact's LID when known (as the service keys them)."""
        addressing = self._m.addressing
        return str(addressing.lid_of(contact) or addressing.account(contact))

    async def has_token(self, contact: JID) -> bool:
        """True when the contact gave us a token that is still good: an established chat."""
        m = self._m
        stored = await m.privacy.get(m.session_id, self._key(contact))
        return (
            stored is not None
            and stored.token is not None
            and token_usable(stored.token_at, m.now())
        )

    async def token_node(self, contact: JID, *, wait: bool = False) -> Node | None:
        """``tctoken`` when the contact gave us one, else ``cstoken`` from our NCT salt (when
        both the salt and the contact's LID are known), else None. With ``wait``, a session
        linked moments ago gives the history sync that carries our salt a little time
        (``SALT_GRACE_S`` after login) rather than burn a 463 on a first contact."""
        m = self._m
        if not tokens_apply(contact):
            return None
        stored = await m.privacy.get(m.session_id, self._key(contact))
        if stored is not None and stored.token and token_usable(stored.token_at, m.now()):
            return tctoken_node(stored.token)
        lid = m.addressing.lid_of(contact)
        if lid is None:
            return None
        salt = await m.privacy.get_salt(m.session_id)
        while not salt and wait and m.ready_at is not None and m.now() < m.ready_at + SALT_GRACE_S:
            await asyncio.sleep(SALT_POLL_S)
            salt = await m.privacy.get_salt(m.session_id)
        return cstoken_node(salt, lid) if salt else None

    def after_send(self, connection: Connection, contact: JID) -> None:
        """Our own token for the contact, once per 7-day bucket (in the background)."""
        if not tokens_apply(contact):
            return
        m = self._m
        kept, stored = m.privacy.kept(m.session_id, self._key(contact))
        if kept and not issue_due(stored.sender_at if stored is not None else 0, m.now()):
            return  # issued in this bucket already (nearly every send): no task to start
        connection.spawn(self._issue_if_due(connection, contact))

    async def _issue_if_due(self, connection: Connection, contact: JID) -> None:
        m = self._m
        stored = await m.privacy.get(m.session_id, self._key(contact))
        if issue_due(stored.sender_at if stored is not None else 0, m.now()):
            await self.issue(connection, contact)

    async def issue(self, connection: Connection, contact: JID) -> bool:
        """Issues our token to the contact (after a send, or to recover from a 463)."""
        m = self._m
        key = self._key(contact)
        if key in self._issuing:
            return False
        self._issuing.add(key)
        try:
            now = m.now()
            target = m.addressing.lid_of(contact) or m.addressing.account(contact)
            await connection.query(build_issue_iq(target, now), timeout=m.ack_timeout)
            await m.privacy.set_sender_at(m.session_id, key, int(now))
            m.log.info("client.privacy_token_issued", contact=key)
            return True
        except IqError as exc:
            m.log.warning("client.privacy_token_issue_failed", contact=key, error=str(exc))
            return False
        finally:
            self._issuing.discard(key)

    async def on_notification(self, connection: Connection, node: Node) -> None:
        """``notification type=privacy_token``: store the contact's token, then ack."""
        m = self._m
        for received in parse_privacy_token_notification(node):
            contact, lid = received.contact, received.contact_lid
            if lid is not None and contact.is_pn:
                await m.learn_mapping(contact, lid)
            key = str(lid) if lid is not None else self._key(contact)
            await m.privacy.put_token(m.session_id, key, received.token, received.issued_at)
            m.log.info("client.privacy_token_received", contact=key)
        await connection.send(build_ack(node))

    async def store_history(
        self, nct_salt: bytes | None, tokens: list[tuple[JID, bytes, int, int]]
    ) -> None:
        """What history sync carries: our NCT salt and, per chat, the contact's token (and when
        we issued ours)."""
        m = self._m
        if nct_salt:
            await m.privacy.put_salt(m.session_id, nct_salt)
        for contact, token, token_at, sender_at in tokens:
            if not tokens_apply(contact):
                continue
            key = self._key(contact)
            if token and token_at:
                await m.privacy.put_token(m.session_id, key, token, token_at)
            if sender_at:
                await m.privacy.set_sender_at(m.session_id, key, sender_at)
