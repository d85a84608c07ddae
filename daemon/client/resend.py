"""Answering retry receipts: a recipient device could not decrypt one of our messages, so we
encrypt it again for that device alone (protocol-inventory §5.4, sender side).

The plaintext comes from the ``outgoing_plaintexts`` table, so this works across restarts for
``plaintext_window`` seconds; older requests are refused as stale (replaying days-old messages
into a chat is worse than a missing one). Each device may ask ``max_retries`` times per message.
When the receipt carries the device's keys we start a new session from them; without keys we
fetch a fresh bundle when we have no session, from the second request on, or when the device's
registration id changed (it re-registered). Group messages go back pairwise with our current
sender key attached, so the device can read the group's next messages too.
"""

from __future__ import annotations

from datetime import timedelta

from daemon.binary import JID
from daemon.binary.node import AttrValue
from daemon.client.connection import Connection
from daemon.client.device_sessions import DeviceSessions
from daemon.client.message_content import device_sent, sender_key_distribution
from daemon.client.message_context import MessagingContext
from daemon.client.message_kind import classify
from daemon.client.retry import RetryRequest
from daemon.client.send import build_message_node
from daemon.client.signal_stage import StagedSignalStore
from daemon.signal.cipher import GroupCipher, SessionCipher
from daemon.signal.keys import PreKeyBundle
from waproto import wa_e2e_pb2


class RetryResponder:
    def __init__(self, m: MessagingContext, sessions: DeviceSessions) -> None:
        self._m = m
        self._sessions = sessions
        self.answered = 0
        """Retry requests answered with a new encryption (for tests and metrics)."""

    async def answer(self, connection: Connection, request: RetryRequest) -> None:
        m = self._m
        sid = m.session_id
        log = m.log.bind(id=request.message_id, device=str(request.requester), count=request.count)
        sent = await m.messages.outgoing.get(sid, request.message_id)
        if sent is None:
            log.info("client.retry_refused", reason="unknown message (or past the window)")
            return
        if m.now_dt() - sent.created_at > timedelta(seconds=m.options.plaintext_window):
            log.info("client.retry_refused", reason="stale")
            return
        device = request.requester
        asked = await m.messages.outgoing.count_retry(sid, request.message_id, str(device))
        if asked > m.options.max_retries or request.count > m.options.max_retries:
            log.info("client.retry_refused", reason="too many", asked=asked)
            return
        addressing = await m.prepare()
        address = addressing.signal_address(device)
        bundles: dict[JID, PreKeyBundle] = {}
        if request.bundle is not None:
            bundles = {device: request.bundle}
        else:
            record = await m.signal.load_session(address)
            current = record.current if record is not None else None
            reregistered = (
                current is not None
                and request.registration_id is not None
                and request.registration_id != current.remote_registration_id
            )
            force = request.count >= 2 or current is None or reregistered
            if force:
                bundles = await self._sessions.fetch_bundles(connection, [device], force=True)
        chat = JID.parse(sent.chat)
        message = wa_e2e_pb2.Message.FromString(sent.payload)
        # whatsmeow's retry handler sets the enc's mediatype as the first send did (and no
        # decrypt-fail: a retried message is always shown).
        media_type = classify(message).media_type
        attrs: dict[str, AttrValue] = {"t": str(int(sent.sent_at.timestamp()))}
        if sent.edit is not None:
            attrs["edit"] = sent.edit
        identity = m.session.require_credentials().signed_device_identity
        async with m.crypto_lock:
            staged = StagedSignalStore(m.signal)
            await self._sessions.start_sessions(staged, bundles, replace=True)
            if chat.is_group:
                name = addressing.own_sender_key_name(chat)
                distribution = (await GroupCipher(staged).distribution_message(name)).message
                message.senderKeyDistributionMessage.CopyFrom(
                    sender_key_distribution(
                        str(chat), distribution.serialized
                    ).senderKeyDistributionMessage
                )
                enc = await self._sessions.encrypt(
                    SessionCipher(staged),
                    device,
                    message.SerializeToString(),
                    count=request.count,
                    media_type=media_type,
                )
                if enc is None:
                    log.info("client.retry_unreachable")
                    return
                attrs["participant"] = device
                node = build_message_node(
                    request.message_id,
                    chat,
                    sent.message_type,
                    fanout={device: enc},
                    device_identity=identity,
                    extra=attrs,
                )
            else:
                own = addressing.is_own(device)
                body = device_sent(message, sent.chat) if own else message
                enc = await self._sessions.encrypt(
                    SessionCipher(staged),
                    device,
                    body.SerializeToString(),
                    count=request.count,
                    media_type=media_type,
                )
                if enc is None:
                    log.info("client.retry_unreachable")
                    return
                if own:
                    attrs["recipient"] = chat
                else:
                    attrs["device_fanout"] = "false"
                node = build_message_node(
                    request.message_id,
                    device,
                    sent.message_type,
                    content=[enc],
                    device_identity=identity,
                    extra=attrs,
                )
            async with m.unit():
                await m.signal.commit(staged.changes())
                if chat.is_group:
                    await m.messages.sender_key_memory.add(sid, str(chat), [str(address)])
        await connection.send(node)
        self.answered += 1
        log.info("client.retry_answered", fresh_session=bool(bundles))
