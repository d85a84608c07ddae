"""Asking our phone for messages we could not get otherwise, and storing what it sends back.

The receive path keeps a placeholder (``waiting`` or ``undecryptable``) and calls
:meth:`PlaceholderResend.request` for an ``<unavailable>`` stanza and for a message still
undecryptable after the last retry receipt. The request is a peer message to our phone
(``daemon.client.placeholder``); its answer arrives as a protocol message from our phone and
reaches :meth:`PlaceholderResend.on_protocol` after the receive path committed it. Each message
in the answer is stored by the receive path's own rules (``Receiver.store_recovered``): it fills
the placeholder, emits ``MessageReceived(recovered=True)``, and lands once whatever arrives twice.

A request is sent once per message id per process (a redelivered ``<unavailable>`` stanza does
not ask again). When the session is not ready yet (an offline message right after login) it is
tried again a few times.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from daemon.client.errors import NotConnected
from daemon.client.message_context import MessagingContext
from daemon.client.messenger import Messenger
from daemon.client.peer_messages import PeerMessages
from daemon.client.placeholder import MissingMessage, resend_request, resend_response
from daemon.client.sync_errors import PeerRequestFailed
from storage.message_values import MessageRecord
from waproto import wa_e2e_pb2

ATTEMPTS = 5
ATTEMPT_DELAY_S = 1.0
MAX_REMEMBERED = 10_000
"""Message ids asked for that are remembered (oldest forgotten first)."""


class PlaceholderResend:
    def __init__(self, messenger: Messenger, peers: PeerMessages) -> None:
        self._messenger = messenger
        self._m: MessagingContext = messenger.context
        self._peers = peers
        self._asked: OrderedDict[str, str] = OrderedDict()
        """message id -> request id."""
        self.requests = 0
        self.recovered = 0

    async def request(self, missing: MissingMessage) -> None:
        m = self._m
        if missing.message_id in self._asked:
            return
        self._asked[missing.message_id] = ""
        while len(self._asked) > MAX_REMEMBERED:
            self._asked.popitem(last=False)
        log = m.log.bind(id=missing.message_id, reason=missing.reason)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                request_id = await self._peers.send(resend_request(missing))
            except NotConnected:
                if attempt == ATTEMPTS:
                    log.warning("client.placeholder_resend_not_sent", error="not connected")
                    self._asked.pop(missing.message_id, None)
                    return
                await asyncio.sleep(ATTEMPT_DELAY_S)
                continue
            except PeerRequestFailed as exc:
                log.warning("client.placeholder_resend_not_sent", error=str(exc))
                self._asked.pop(missing.message_id, None)
                return
            self._asked[missing.message_id] = request_id
            self.requests += 1
            log.info("client.placeholder_resend_requested", request=request_id)
            return

    async def on_protocol(self, record: MessageRecord, message: wa_e2e_pb2.Message) -> None:
        m = self._m
        answer = resend_response(message, m.addressing.own_pn)
        if answer is None:
            return
        request_id, found, unreadable = answer
        receiver = self._messenger.receiver
        stored = 0
        for resent in found:
            if receiver is None:
                break
            if await receiver.store_recovered(resent.incoming, resent.content) is not None:
                stored += 1
        self.recovered += stored
        m.log.info(
            "client.placeholder_resend_answered",
            request=request_id,
            messages=len(found),
            stored=stored,
            unreadable=unreadable,
        )
