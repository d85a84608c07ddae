"""Media through the real sandbox: a phone uploads like a client and sends image, voice-note and
document messages that a companion downloads and decrypts byte for byte; a phone downloads and
verifies what it receives; expired media is re-uploaded by the phone on a media-retry receipt."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os

import aiohttp
from helpers import admin
from sandbox_companion import Linked, download, http_get, link

from daemon.binary import Node
from daemon.crypto.media import MediaType, decrypt_media, encrypt_media
from daemon.crypto.media_retry import (
    MediaRetryResult,
    SealedRetry,
    open_retry_notice,
    seal_retry_request,
)
from daemon.signal import pad
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.phone import SimulatedPhone
from sandbox.phone.client_stanzas import parse_prekey_bundles
from sandbox.phone.media import Attachment, attachment_of
from waproto import wa_e2e_pb2

FILES = {
    "image": (os.urandom(70_000), "image/jpeg", {"caption": "the view"}),
    "ptt": (os.urandom(9_000), "audio/ogg; codecs=opus", {"ptt": True}),
    "document": (os.urandom(30_001), "application/pdf", {"file_name": "report.pdf"}),
}


def media_body(kind: str) -> dict[str, object]:
    data, mimetype, extra = FILES[kind]
    media_type = "audio" if kind == "ptt" else kind
    return {
        "type": media_type,
        "data_base64": base64.b64encode(data).decode(),
        "mimetype": mimetype,
        **extra,
    }


async def two_accounts(server: SandboxServer) -> tuple[Account, Account]:
    # Raw test companions send legacy DMs (PN, no privacy token): served as legacy clients.
    ann = await server.network.create_account("15550001111", push_name="Ann", enforcing=False)
    bob = await server.network.create_account("15550002222", push_name="Bob", enforcing=False)
    return ann, bob


async def receive_media(linked: Linked, message_id: str) -> tuple[Node, Attachment]:
    stanza = await linked.client.wait_for(
        lambda n: n.tag == "message" and n.attr_str("id") == message_id
    )
    message = await linked.open(stanza)
    attachment = attachment_of(message)
    assert attachment is not None, message
    return stanza, attachment


async def fetch_plain(server: SandboxServer, attachment: Attachment) -> tuple[int, bytes]:
    status, body = await download(
        server, attachment.direct_path, attachment.file_enc_sha256, attachment.kind.mms_type
    )
    if status != 200:
        return status, b""
    return status, decrypt_media(
        body,
        attachment.media_key,
        attachment.kind.media_type,
        file_enc_sha256=attachment.file_enc_sha256,
        file_sha256=attachment.file_sha256,
    )


async def test_a_phone_sends_image_voice_note_and_document(sandbox: SandboxServer) -> None:
    ann, bob = await two_accounts(sandbox)
    linked = await link(sandbox, ann)
    try:
        for kind, (data, mimetype, _) in FILES.items():
            status, sent = await admin(
                sandbox,
                "POST",
                f"/admin/accounts/{bob.phone_user}/messages",
                {"to": ann.phone_user, "media": media_body(kind)},
            )
            assert status == 200, sent
            stanza, attachment = await receive_media(linked, sent["id"])
            assert stanza.attr_str("type") == "media"
            assert (attachment.kind, attachment.mimetype) == (kind, mimetype)
            assert attachment.file_length == len(data)
            assert attachment.file_sha256 == hashlib.sha256(data).digest()
            assert "?" in attachment.direct_path  # whatsmeow appends its query with '&'
            status, plain = await fetch_plain(sandbox, attachment)
            assert (status, plain) == (200, data)
            if kind == "document":
                assert attachment.file_name == "report.pdf"
            if kind == "image":
                assert attachment.caption == "the view"

        # Ann's phone got the same messages, downloaded and verified them.
        ann_phone = sandbox.network.phones[ann.phone_user]
        assert isinstance(ann_phone, SimulatedPhone)
        await ann_phone.idle()
        status, received = await admin(sandbox, "GET", f"/admin/accounts/{ann.phone_user}/messages")
        media = {m["media"]["type"]: m for m in received if m["kind"] == "media"}
        for kind, (data, _, _) in FILES.items():
            record = media[kind]["media"]
            assert (record["sha256"], record["length"], record["error"]) == (
                hashlib.sha256(data).hexdigest(),
                len(data),
                "",
            )
            status, body = await http_get(
                sandbox,
                f"{sandbox.origin}/admin/accounts/{ann.phone_user}/media/{media[kind]['id']}",
            )
            assert (status, body) == (200, data)
        assert media["image"]["text"] == "the view"

        bad = {
            "to": ann.phone_user,
            "media": {"type": "hologram", "data_base64": "", "mimetype": "x"},
        }
        status, _ = await admin(sandbox, "POST", f"/admin/accounts/{bob.phone_user}/messages", bad)
        assert status == 400
        status, _ = await http_get(
            sandbox, f"{sandbox.origin}/admin/accounts/{ann.phone_user}/media/NOSUCHMESSAGE"
        )
        assert status == 404
    finally:
        await linked.close()


async def test_a_phone_downloads_and_verifies_what_a_companion_sends(
    sandbox: SandboxServer,
) -> None:
    ann, bob = await two_accounts(sandbox)
    linked = await link(sandbox, ann)
    bob_phone = sandbox.network.phones[bob.phone_user]
    assert isinstance(bob_phone, SimulatedPhone)
    try:
        conn = await linked.client.iq("w:m", "set", [Node("media_conn")])
        auth = (conn.child("media_conn") or conn).attr_str("auth") or ""
        fetched = await linked.client.iq(
            "encrypt", "get", [Node("key", {}, [Node("user", {"jid": bob.pn})])]
        )
        bob_address = linked.address(bob.pn_device(0))
        await linked.cipher.process_bundle(bob_address, parse_prekey_bundles(fetched)[bob.pn])

        async def send_document(message_id: str, data: bytes, *, lie: bool) -> None:
            encrypted = encrypt_media(data, MediaType.DOCUMENT)
            token = base64.urlsafe_b64encode(encrypted.info.file_enc_sha256).decode().rstrip("=")
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    f"{sandbox.origin}/mms/document/{token}?auth={auth}&token={token}",
                    data=encrypted.body,
                ) as response,
            ):
                assert response.status == 200
                uploaded = await response.json()
            document = wa_e2e_pb2.DocumentMessage(
                URL=uploaded["url"],
                directPath=uploaded["direct_path"],
                mimetype="text/plain",
                fileName="notes.txt",
                mediaKey=encrypted.media_key,
                fileEncSHA256=encrypted.info.file_enc_sha256,
                fileSHA256=hashlib.sha256(b"something else").digest()
                if lie
                else encrypted.info.file_sha256,
                fileLength=len(data),
            )
            body = wa_e2e_pb2.Message(documentMessage=document).SerializeToString()
            sealed = await linked.cipher.encrypt(bob_address, pad(body))
            enc = Node("enc", {"v": "2", "type": sealed.message.type}, sealed.message.body)
            await linked.client.send(
                Node(
                    "message",
                    {"id": message_id, "to": bob.pn, "type": "media"},
                    [Node("participants", {}, [Node("to", {"jid": bob.pn}, [enc])])],
                )
            )
            await linked.client.wait_for(
                lambda n: n.tag == "receipt" and n.attr_str("id") == message_id
            )

        data = b"plain notes\n" * 5000
        await send_document("3EB0DOC0000000000001", data, lie=False)
        await send_document("3EB0DOC0000000000002", b"tampered", lie=True)
        await bob_phone.idle()
        by_id = {m.id: m for m in bob_phone.messages_received}
        good = by_id["3EB0DOC0000000000001"].media
        assert good is not None
        assert (good.sha256, good.length, good.file_name) == (
            hashlib.sha256(data).hexdigest(),
            len(data),
            "notes.txt",
        )
        lied = by_id["3EB0DOC0000000000002"].media
        assert lied is not None and "file_sha256" in lied.error and lied.sha256 == ""
    finally:
        await linked.close()


async def test_expired_media_comes_back_through_a_media_retry(sandbox: SandboxServer) -> None:
    ann, bob = await two_accounts(sandbox)
    linked = await link(sandbox, ann)
    data = FILES["image"][0]
    try:
        status, sent = await admin(
            sandbox,
            "POST",
            f"/admin/accounts/{bob.phone_user}/messages",
            {"to": ann.phone_user, "media": media_body("image")},
        )
        message_id = sent["id"]
        _, attachment = await receive_media(linked, message_id)
        assert (await fetch_plain(sandbox, attachment))[0] == 200
        ann_phone = sandbox.network.phones[ann.phone_user]
        assert isinstance(ann_phone, SimulatedPhone)
        await ann_phone.idle()  # Ann's phone has the file too

        status, expired = await admin(
            sandbox, "POST", "/admin/media/expire", {"direct_path": attachment.direct_path}
        )
        assert (status, expired["expired"]) == (200, 1)
        assert (await fetch_plain(sandbox, attachment))[0] == 410

        async def ask_phone(wanted_id: str, media_key: bytes) -> Node:
            sealed = seal_retry_request(wanted_id, media_key)
            await linked.client.send(
                Node(
                    "receipt",
                    {"id": wanted_id, "to": ann.pn, "type": "server-error"},
                    [
                        Node(
                            "encrypt",
                            {},
                            [Node("enc_p", {}, sealed.ciphertext), Node("enc_iv", {}, sealed.iv)],
                        ),
                        Node("rmr", {"jid": bob.pn, "from_me": "false"}),
                    ],
                )
            )
            return await linked.client.wait_for(
                lambda n: (
                    n.tag == "notification"
                    and n.attr_str("type") == "mediaretry"
                    and n.attr_str("id") == wanted_id
                )
            )

        answer = await ask_phone(message_id, attachment.media_key)
        rmr = answer.child("rmr")
        assert rmr is not None and rmr.attr_jid("jid") == bob.pn
        assert rmr.attr_str("from_me") == "false"
        encrypt = answer.child("encrypt")
        assert encrypt is not None
        notice = open_retry_notice(
            SealedRetry(
                (encrypt.child("enc_p") or encrypt).content_bytes() or b"",
                (encrypt.child("enc_iv") or encrypt).content_bytes() or b"",
            ),
            message_id,
            attachment.media_key,
        )
        assert notice.result is MediaRetryResult.SUCCESS
        assert notice.direct_path and notice.direct_path != attachment.direct_path
        renewed = dataclasses.replace(attachment, direct_path=notice.direct_path)
        assert await fetch_plain(sandbox, renewed) == (200, data)
        assert (await fetch_plain(sandbox, attachment))[0] == 410

        # A message the phone does not have: error code 2 (whatsmeow: not on the phone).
        missing = await ask_phone("3EB0NOSUCHMEDIA00001", os.urandom(32))
        error = missing.child("error")
        assert error is not None and error.attr_str("code") == "2"
        assert missing.child("encrypt") is None

        # Expire everything with 404.
        status, expired = await admin(sandbox, "POST", "/admin/media/expire", {"status": 404})
        assert status == 200 and expired["expired"] >= 2
        assert (await fetch_plain(sandbox, renewed))[0] == 404
        for body in ({"status": 500}, {"direct_path": "/v/nothing"}):
            status, _ = await admin(sandbox, "POST", "/admin/media/expire", body)
            assert status == 400
        unknown = {"direct_path": "/v/t62.7118-24/" + "0" * 32 + ".enc?ccb=11-4"}
        status, _ = await admin(sandbox, "POST", "/admin/media/expire", unknown)
        assert status == 404
    finally:
        await linked.close()
