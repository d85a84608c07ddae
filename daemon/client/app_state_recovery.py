"""App-state recovery: asking our phone for a collection the server cannot give us intact.

:class:`~daemon.client.app_state_sync.AppStateSync` never applies what does not verify; when
even a full resync of a collection fails, the collection would stay ``failed`` until the server
changed its mind. Since 2026 a companion can ask its primary phone instead (whatsmeow b6f3348d):
a peer ``PEER_DATA_OPERATION_REQUEST_MESSAGE`` of type ``COMPANION_SYNCD_SNAPSHOT_FATAL_RECOVERY``
naming the collection, answered by a ``PEER_DATA_OPERATION_REQUEST_RESPONSE_MESSAGE`` whose first
result carries the phone's plaintext copy (``daemon.crypto.appstate_recovery``). The copy is
checked against its LTHash and replaces the collection (``AppStateSync.recover``); later patches
then continue from its version.

A collection is asked for at most once an hour, and answers are taken only from our phone
(device 0 of our own account).
"""

from __future__ import annotations

from daemon.binary import JID, JIDError
from daemon.client.app_state_sync import AppStateSync
from daemon.client.errors import NotConnected
from daemon.client.message_context import MessagingContext
from daemon.client.peer_messages import PHONE_DEVICE, PeerMessages
from daemon.client.peer_protocol import peer_response
from daemon.client.sync_errors import PeerRequestFailed
from daemon.crypto.appstate import AppStateError, AppStateKeyMissing
from daemon.crypto.appstate_recovery import open_recovery, parse_recovery
from storage.message_values import MessageRecord
from waproto import wa_e2e_pb2

ASK_EVERY_S = 3600.0

Response = wa_e2e_pb2.PeerDataOperationRequestResponseMessage


def recovery_request(collection: str, now: float) -> wa_e2e_pb2.Message:
    request = wa_e2e_pb2.PeerDataOperationRequestMessage(
        peerDataOperationRequestType=wa_e2e_pb2.COMPANION_SYNCD_SNAPSHOT_FATAL_RECOVERY,
    )
    wanted = request.syncdCollectionFatalRecoveryRequest
    wanted.collectionName = collection
    wanted.timestamp = int(now)
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_MESSAGE,
            peerDataOperationRequestMessage=request,
        )
    )


def recovery_response(message: wa_e2e_pb2.Message) -> Response | None:
    return peer_response(message, wa_e2e_pb2.COMPANION_SYNCD_SNAPSHOT_FATAL_RECOVERY)


class AppStateRecovery:
    def __init__(self, m: MessagingContext, peers: PeerMessages, app_state: AppStateSync) -> None:
        self._m = m
        self._peers = peers
        self._app_state = app_state
        self._asked: dict[str, float] = {}
        self.requests = 0
        self.recovered = 0

    async def request(self, collection: str) -> None:
        m = self._m
        asked = self._asked.get(collection)
        if asked is not None and m.now() - asked < ASK_EVERY_S:
            return
        self._asked[collection] = m.now()
        try:
            request_id = await self._peers.send(recovery_request(collection, m.now()))
        except (PeerRequestFailed, NotConnected) as exc:
            m.log.warning(
                "client.app_state_recovery_not_sent", collection=collection, error=str(exc)
            )
            self._asked.pop(collection, None)
            return
        self.requests += 1
        m.log.info("client.app_state_recovery_requested", collection=collection, id=request_id)

    async def on_protocol(self, record: MessageRecord, message: wa_e2e_pb2.Message) -> None:
        response = recovery_response(message)
        if response is None:
            return
        m = self._m
        if not self._from_our_phone(record):
            m.log.warning("client.app_state_recovery_foreign", id=record.message_id)
            return
        results = response.peerDataOperationResult
        if not results or not results[0].HasField("syncdSnapshotFatalRecoveryResponse"):
            m.log.warning("client.app_state_recovery_empty", request=response.stanzaID)
            return
        answer = results[0].syncdSnapshotFatalRecoveryResponse
        try:
            recovery = parse_recovery(answer.collectionSnapshot, compressed=answer.isCompressed)
            keys = await self._app_state.keys(r.keyID for r in recovery.mutationRecords)
            result = open_recovery(recovery, keys.get)
        except AppStateKeyMissing as exc:
            m.log.warning("client.app_state_recovery_refused", error=f"missing key {exc}")
            return
        except AppStateError as exc:
            m.log.error("client.app_state_recovery_refused", error=str(exc))
            return
        applied = await self._app_state.recover(result)
        if applied is not None:
            self.recovered += 1
            self._asked.pop(result.state.name, None)

    def _from_our_phone(self, record: MessageRecord) -> bool:
        try:
            device = JID.parse(record.sender_device or "")
        except JIDError:
            return False
        return record.from_me and device.device == PHONE_DEVICE
