"""History sync through the real sandbox: a seeded phone pushes INITIAL_BOOTSTRAP inline, then
PUSH_NAME, RECENT and FULL chunks as encrypted blobs on the media host; a companion downloads,
decrypts and parses them all with ``daemon.crypto``; pushing again repeats the same history;
on-demand history and placeholder resends are answered; seeds survive a restart."""

from __future__ import annotations

import base64

from helpers import admin
from sandbox_companion import Linked, download, history_blob, history_notification, link

from daemon.crypto.history import HistoryMessage, HistorySyncKind, parse_history_sync
from daemon.crypto.media import decrypt_media
from sandbox.app import SandboxServer
from sandbox.phone import SimulatedPhone
from sandbox.phone.media import attachment_of
from waproto import wa_e2e_pb2, wa_web_pb2

SPEC = {
    "chats": 12,
    "messages_per_chat": 30,
    "groups": 2,
    "with_media": True,
    "with_names": True,
    "media_every": 7,
    "plan": {
        "bootstrap_messages_per_chat": 5,
        "recent_messages_per_chat": 10,
        "chunk_messages": 60,
    },
}
EXPECTED_KINDS = [
    HistorySyncKind.INITIAL_BOOTSTRAP,
    HistorySyncKind.PUSH_NAME,
    HistorySyncKind.RECENT,
    HistorySyncKind.RECENT,
    HistorySyncKind.FULL,
    HistorySyncKind.FULL,
    HistorySyncKind.FULL,
]


async def receive_history(
    linked: Linked, chunks: int
) -> list[tuple[wa_e2e_pb2.HistorySyncNotification, bytes]]:
    received = []
    for _ in range(chunks):
        _, message = await linked.next_peer()
        notification = history_notification(message)
        received.append((notification, await history_blob(linked.server, notification)))
    return received


def messages_of(
    received: list[tuple[wa_e2e_pb2.HistorySyncNotification, bytes]],
) -> list[HistoryMessage]:
    return [m for _, blob in received for m in parse_history_sync(blob).messages()]


async def test_seeded_history_arrives_inline_then_as_blobs_and_again_on_push(
    sandbox: SandboxServer,
) -> None:
    network = sandbox.network
    ann = await network.create_account("15550001111", push_name="Ann")
    phone = network.phones[ann.phone_user]
    assert isinstance(phone, SimulatedPhone)
    status, seeded = await admin(sandbox, "POST", f"/admin/accounts/{ann.phone_user}/history", SPEC)
    assert status == 201, seeded
    assert (seeded["chats"], seeded["messages"], seeded["contacts"]) == (12, 360, 10)
    assert seeded["media"] > 0

    linked = await link(sandbox, ann)
    try:
        received = await receive_history(linked, len(EXPECTED_KINDS))
        kinds = [parse_history_sync(blob).kind for _, blob in received]
        assert kinds == EXPECTED_KINDS
        notifications = [n for n, _ in received]
        assert notifications[0].HasField("initialHistBootstrapInlinePayload")
        assert all(n.directPath and len(n.mediaKey) == 32 for n in notifications[1:])
        assert [n.progress for n in notifications[2:4]] == [50, 100]
        assert [n.chunkOrder for n in notifications[4:]] == [1, 2, 3]

        bootstrap = parse_history_sync(received[0][1])
        conversations = list(bootstrap.conversations())
        assert len(conversations) == 12
        stamps = [c.last_activity for c in conversations]
        assert stamps == sorted(stamps, reverse=True)  # newest chat first
        named = [c for c in conversations if c.name]
        assert len(named) == 12  # 10 contacts by name and 2 groups by subject
        names = parse_history_sync(received[1][1])
        assert len(list(names.push_names())) == 10

        everything = messages_of(received)
        ids = [m.message_id for m in everything]
        assert len(ids) == len(set(ids)) == 360
        book = phone.history_book()
        for chat in book.chats():
            got = sorted(
                (m for m in everything if m.chat_jid == str(chat.jid)),
                key=lambda m: (m.timestamp, m.order_id or 0),
            )
            assert [m.message_id for m in got] == [m.message_id for m in chat.messages]
            if chat.jid.is_group:
                assert all(m.sender for m in got if not m.from_me)
                assert all(m.sender is None for m in got if m.from_me)

        # A media message from the history downloads and decrypts to the phone's own bytes.
        media = [
            m
            for m in everything
            if m.message and attachment_of(wa_e2e_pb2.Message.FromString(m.message))
        ]
        assert len(media) == seeded["media"]
        for sample in media[:3]:
            attachment = attachment_of(wa_e2e_pb2.Message.FromString(sample.message or b""))
            assert attachment is not None
            status, body = await download(
                sandbox,
                attachment.direct_path,
                attachment.file_enc_sha256,
                attachment.kind.mms_type,
            )
            assert status == 200
            plain = decrypt_media(
                body,
                attachment.media_key,
                attachment.kind.media_type,
                file_enc_sha256=attachment.file_enc_sha256,
                file_sha256=attachment.file_sha256,
            )
            status, expected = await admin_bytes(
                sandbox, f"/admin/accounts/{ann.phone_user}/media/{sample.message_id}"
            )
            assert (status, plain) == (200, expected)

        # Push the same history again: the same messages, nothing new.
        status, pushed = await admin(
            sandbox,
            "POST",
            f"/admin/accounts/{ann.phone_user}/history/push",
            {"device": str(linked.jid)},
        )
        assert (status, pushed["pushed"]) == (200, [str(linked.jid)])
        again = messages_of(await receive_history(linked, len(EXPECTED_KINDS)))
        assert sorted((m.message_id, m.timestamp, m.message) for m in again) == sorted(
            (m.message_id, m.timestamp, m.message) for m in everything
        )
    finally:
        await linked.close()

    # The seed is kept: after a restart the phone has the very same history.
    await sandbox.restart()
    phone = sandbox.network.phones[ann.phone_user]
    assert isinstance(phone, SimulatedPhone)
    rebuilt = phone.history_book()
    assert sorted(m.message_id for c in rebuilt.chats() for m in c.messages) == sorted(ids)
    status, summary = await admin(sandbox, "GET", f"/admin/accounts/{ann.phone_user}/history")
    assert (status, summary["chats"], summary["messages"]) == (200, 12, 360)


async def admin_bytes(server: SandboxServer, path: str) -> tuple[int, bytes]:
    from sandbox_companion import http_get

    return await http_get(server, server.origin + path)


async def test_explicit_history_on_demand_and_placeholders(sandbox: SandboxServer) -> None:
    network = sandbox.network
    ann = await network.create_account("15550001111", push_name="Ann")
    friend = "15557770000@s.whatsapp.net"
    picture = bytes(range(256)) * 3
    messages = [
        {
            "id": f"OLD{i:03d}",
            "timestamp": 1_600_000_000 + i,
            "text": f"old {i}",
            "from_me": i % 2 == 0,
        }
        for i in range(40)
    ]
    messages.append(
        {
            "id": "OLDPIC",
            "timestamp": 1_600_000_100,
            "media": {
                "type": "image",
                "data_base64": base64.b64encode(picture).decode(),
                "mimetype": "image/png",
                "caption": "a picture",
            },
        }
    )
    seed = {
        "conversations": [
            {"jid": friend, "name": "Friend", "unread_count": 1, "messages": messages}
        ],
        "push_names": {friend: "Fri"},
        "contacts": {friend: "Friend Person"},
        "plan": {"bootstrap_messages_per_chat": 10, "full_history": False},
    }
    status, seeded = await admin(sandbox, "POST", f"/admin/accounts/{ann.phone_user}/history", seed)
    assert (status, seeded["messages"], seeded["media"]) == (201, 41, 1)

    linked = await link(sandbox, ann)
    try:
        received = await receive_history(linked, 3)
        assert [n.HasField("initialHistBootstrapInlinePayload") for n, _ in received] == [
            True,
            False,
            False,
        ]
        assert len(messages_of(received)) == 41  # the other 31 came in the RECENT chunk
        bootstrap = messages_of(received[:1])
        assert [m.message_id for m in bootstrap][-1] == "OLDPIC"
        assert len(bootstrap) == 10
        oldest = bootstrap[0]
        # The contacts went to app state too.
        contacts = {
            m.index[1]: m.value.contactAction.fullName
            for r in await linked.sync("critical_unblock_low")
            for m in r.mutations
        }
        assert contacts[friend] == "Friend Person"

        # On demand: 12 messages before our oldest, as an ON_DEMAND blob naming our request.
        request = wa_e2e_pb2.Message(
            protocolMessage=wa_e2e_pb2.ProtocolMessage(
                type=wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_MESSAGE,
                peerDataOperationRequestMessage=wa_e2e_pb2.PeerDataOperationRequestMessage(
                    peerDataOperationRequestType=wa_e2e_pb2.HISTORY_SYNC_ON_DEMAND,
                    historySyncOnDemandRequest=wa_e2e_pb2.PeerDataOperationRequestMessage.HistorySyncOnDemandRequest(
                        chatJID=friend,
                        oldestMsgID=oldest.message_id,
                        oldestMsgFromMe=oldest.from_me,
                        onDemandMsgCount=12,
                        oldestMsgTimestampMS=oldest.timestamp,
                    ),
                ),
            )
        )
        await linked.send_peer(request, "3EB0ONDEMAND01")
        _, answer = await linked.next_peer()
        notification = history_notification(answer)
        assert notification.syncType == wa_e2e_pb2.ON_DEMAND
        assert notification.peerDataRequestSessionID == "3EB0ONDEMAND01"
        assert notification.directPath  # no supportInlineResponse: a blob
        older = parse_history_sync(await history_blob(sandbox, notification))
        assert older.kind is HistorySyncKind.ON_DEMAND
        older_ids = [m.message_id for m in older.messages()]
        assert older_ids == [f"OLD{i:03d}" for i in range(19, 31)]
        # A companion that takes inline answers gets one; a timestamp in ms is understood.
        wanted = request.protocolMessage.peerDataOperationRequestMessage.historySyncOnDemandRequest
        wanted.oldestMsgID = "OLD019"
        wanted.oldestMsgTimestampMS = 1_600_000_019 * 1000
        wanted.onDemandMsgCount = 5
        wanted.supportInlineResponse = True
        await linked.send_peer(request, "3EB0ONDEMAND02")
        _, answer = await linked.next_peer()
        notification = history_notification(answer)
        assert notification.HasField("initialHistBootstrapInlinePayload")
        assert notification.peerDataRequestSessionID == "3EB0ONDEMAND02"
        inline = parse_history_sync(notification.initialHistBootstrapInlinePayload)
        assert [m.message_id for m in inline.messages()] == [f"OLD{i:03d}" for i in range(14, 19)]

        # Placeholder resend: the phone sends back the messages it has.
        resend = wa_e2e_pb2.Message(
            protocolMessage=wa_e2e_pb2.ProtocolMessage(
                type=wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_MESSAGE,
                peerDataOperationRequestMessage=wa_e2e_pb2.PeerDataOperationRequestMessage(
                    peerDataOperationRequestType=wa_e2e_pb2.PLACEHOLDER_MESSAGE_RESEND,
                    placeholderMessageResendRequest=[
                        wa_e2e_pb2.PeerDataOperationRequestMessage.PlaceholderMessageResendRequest(
                            messageKey=wa_e2e_pb2.MessageKey(remoteJID=friend, ID=message_id)
                        )
                        for message_id in ("OLD005", "NOSUCHID")
                    ],
                ),
            )
        )
        await linked.send_peer(resend, "3EB0RESEND0001")
        _, answer = await linked.next_peer()
        protocol = answer.protocolMessage
        assert (
            protocol.type == wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_RESPONSE_MESSAGE
        )
        response = protocol.peerDataOperationRequestResponseMessage
        assert response.stanzaID == "3EB0RESEND0001"
        assert response.peerDataOperationRequestType == wa_e2e_pb2.PLACEHOLDER_MESSAGE_RESEND
        [result] = response.peerDataOperationResult
        info = wa_web_pb2.WebMessageInfo.FromString(
            result.placeholderMessageResendResponse.webMessageInfoBytes
        )
        assert (info.key.ID, info.key.remoteJID, info.message.conversation) == (
            "OLD005",
            friend,
            "old 5",
        )
    finally:
        await linked.close()


async def test_bad_history_seeds_are_refused(sandbox: SandboxServer) -> None:
    ann = await sandbox.network.create_account("15550001111", push_name="Ann")
    path = f"/admin/accounts/{ann.phone_user}/history"
    for body in (
        {},
        {"chats": "many"},
        {"chats": 2, "conversations": []},
        {"chats": 2, "groups": 3},
        {"conversations": [{"jid": "1555", "messages": [{"id": "X", "timestamp": 1}]}]},
        {"conversations": [{"jid": "1555", "messages": [{"timestamp": 1, "text": "no id"}]}]},
        {"chats": 1, "plan": {"chunk_messages": 0}},
    ):
        status, problem = await admin(sandbox, "POST", path, body)
        assert status == 400, (body, problem)
    status, _ = await admin(
        sandbox, "POST", f"{path}/push", {"device": "15550001111:9@s.whatsapp.net"}
    )
    assert status == 404
