"""On-demand history backfill: asking our phone for messages of a chat older than ours.

A peer ``ProtocolMessage{type=PEER_DATA_OPERATION_REQUEST_MESSAGE}`` with
``peerDataOperationRequestType=HISTORY_SYNC_ON_DEMAND`` names the chat and the oldest message we
hold (id, from-me flag, timestamp) and how many older ones we want (protocol-inventory §9.4).
The phone answers with an ordinary history sync notification of type ON_DEMAND whose
``peerDataRequestSessionID`` is our request's message id; it is ingested like any chunk
(``daemon.client.history_sync``), and :meth:`PeerData.request_history` can wait for it.

whatsmeow fills ``oldestMsgTimestampMS`` with seconds despite the name, and phones accept that;
we do the same.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from daemon.binary import JID
from daemon.client.history_sync import ChunkResult, HistorySync
from daemon.client.message_context import MessagingContext
from daemon.client.peer_messages import PeerMessages
from daemon.client.sync_errors import PeerRequestFailed
from daemon.log import mask_phone
from storage.sync_interfaces import SyncStore
from waproto import wa_e2e_pb2

DEFAULT_COUNT = 50
MAX_COUNT = 500
DEFAULT_WAIT_S = 60.0


@dataclass(frozen=True, slots=True)
class BackfillResult:
    request_id: str
    chunk: ChunkResult | None
    """The ingested answer; None when not waited for."""


def on_demand_request(
    chat: JID,
    *,
    oldest_id: str,
    oldest_from_me: bool,
    oldest_timestamp: int,
    count: int,
) -> wa_e2e_pb2.Message:
    wanted = wa_e2e_pb2.PeerDataOperationRequestMessage.HistorySyncOnDemandRequest(
        chatJID=str(chat),
        oldestMsgID=oldest_id,
        oldestMsgFromMe=oldest_from_me,
        onDemandMsgCount=count,
        oldestMsgTimestampMS=oldest_timestamp,
    )
    request = wa_e2e_pb2.PeerDataOperationRequestMessage(
        peerDataOperationRequestType=wa_e2e_pb2.HISTORY_SYNC_ON_DEMAND,
        historySyncOnDemandRequest=wanted,
    )
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_MESSAGE,
            peerDataOperationRequestMessage=request,
        )
    )


class PeerData:
    def __init__(
        self, m: MessagingContext, store: SyncStore, peers: PeerMessages, history: HistorySync
    ) -> None:
        self._m = m
        self._store = store
        self._peers = peers
        self._history = history

    async def request_history(
        self,
        chat: JID,
        *,
        count: int = DEFAULT_COUNT,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_S,
        newest: bool = False,
    ) -> BackfillResult:
        """Asks the phone for up to ``count`` messages of ``chat`` older than the oldest we
        hold (the newest ones when we hold none, or with ``newest``: a backfill of the recent
        past, whose messages we already hold are not stored twice). With ``wait``, returns
        once the answer is ingested. Raises NotConnected or PeerRequestFailed (not sent, or no
        answer in time)."""
        if not 1 <= count <= MAX_COUNT:
            raise ValueError(f"count is 1..{MAX_COUNT}")
        m = self._m
        addressing = await m.prepare()
        canonical = chat if chat.is_group else addressing.account(chat)
        oldest = (
            None
            if newest
            else await self._store.history.oldest_message(m.session_id, str(canonical))
        )
        if oldest is None:
            oldest_id, from_me, timestamp = "", False, int(m.now())
        else:
            oldest_id, from_me, timestamp = (
                oldest.message_id,
                oldest.from_me,
                oldest.sent_at_ms // 1000,
            )
        message = on_demand_request(
            canonical,
            oldest_id=oldest_id,
            oldest_from_me=from_me,
            oldest_timestamp=timestamp,
            count=count,
        )
        request_id = self._peers.new_id()
        # Registered before the request leaves: the answer may come back before send returns.
        future = self._history.requests.expect(request_id) if wait else None
        try:
            await self._peers.send(message, message_id=request_id)
            m.log.info(
                "client.history_requested",
                chat=mask_phone(str(canonical)),
                count=count,
                id=request_id,
            )
            if future is None:
                return BackfillResult(request_id, None)
            async with asyncio.timeout(timeout):
                chunk = await future
        except TimeoutError:
            raise PeerRequestFailed(
                f"the phone did not answer history request {request_id} within {timeout:g} s"
            ) from None
        finally:
            self._history.requests.forget(request_id)
        return BackfillResult(request_id, chunk)
