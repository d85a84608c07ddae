"""Media, history backfill and archiving through the API: the real app and services over a
scripted client that also offers the sync features (what ``Session`` offers)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from http_rig import Rig, running_api

from daemon.binary import JID
from daemon.client.errors import NotConnected
from daemon.client.media_service import StoredMedia
from daemon.client.peer_data import BackfillResult
from daemon.client.sync_errors import (
    AppStateSyncFailed,
    MediaDownloadFailed,
    NotMediaMessage,
)
from storage.sync_values import MediaFileRecord, MediaStatus, MessageMediaRecord

CHAT = "15550002222@s.whatsapp.net"


@dataclass
class ScriptedSync:
    """The sync half of a client: files by (chat, message id), calls recorded, and an error
    to raise next (then cleared)."""

    root: Path
    key: str
    """The session-scoped API key."""
    files: dict[tuple[str, str], tuple[bytes, str | None]] = field(default_factory=dict)
    downloads: list[tuple[str, str]] = field(default_factory=list)
    history: list[tuple[str, int, bool]] = field(default_factory=list)
    archived: list[tuple[str, bool]] = field(default_factory=list)
    error: Exception | None = None

    def _raise_scripted(self) -> None:
        error, self.error = self.error, None
        if error is not None:
            raise error

    async def download_media(self, chat: JID, message_id: str) -> StoredMedia:
        self.downloads.append((str(chat), message_id))
        self._raise_scripted()
        found = self.files.get((str(chat), message_id))
        if found is None:
            raise NotMediaMessage(f"message {message_id} carries no downloadable file")
        data, mimetype = found
        digest = hashlib.sha256(data).digest()
        path = self.root / digest.hex()
        path.write_bytes(data)
        file = MediaFileRecord(digest, digest.hex(), len(data), mimetype)
        record = MessageMediaRecord(
            str(chat), str(chat), message_id, "image", MediaStatus.DOWNLOADED, digest, file=file
        )
        return StoredMedia(record, path)

    async def request_history(
        self, chat: JID, *, count: int = 50, wait: bool = True, timeout: float = 60.0
    ) -> BackfillResult:
        self._raise_scripted()
        self.history.append((str(chat), count, wait))
        # The API must not wait for the answer: ``wait`` is recorded and checked.
        return BackfillResult(f"REQ{len(self.history)}", None)

    async def archive_chat(self, chat: JID, archived: bool = True) -> int:
        self._raise_scripted()
        self.archived.append((str(chat), archived))
        return len(self.archived)


async def session_with_sync(rig: Rig, tmp_path: Path, session_id: str = "s") -> ScriptedSync:
    reply = await rig.call("POST", "/sessions", json_body={"id": session_id})
    assert reply.status == 201
    root = tmp_path / f"media-{session_id}"
    root.mkdir()
    sync = ScriptedSync(root, key=reply.body["apiKey"]["key"])
    device = rig.devices.devices[session_id]
    device.download_media = sync.download_media  # type: ignore[attr-defined]
    device.request_history = sync.request_history  # type: ignore[attr-defined]
    device.archive_chat = sync.archive_chat  # type: ignore[attr-defined]
    return sync


async def test_media_is_served_with_its_mimetype(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        sync = await session_with_sync(rig, tmp_path)
        sync.files[(CHAT, "IMG1")] = (b"\x89PNG fake image bytes", "image/png")
        sync.files[(CHAT, "VOICE1")] = (b"OggS voice", "audio/ogg; codecs=opus")
        sync.files[(CHAT, "BLOB1")] = (b"\x00\x01", None)
        path = "/sessions/s/messages/IMG1/media?chat=%2B1%20555%20000%202222"
        reply = await rig.call("GET", path)
        assert reply.status == 200
        assert reply.body == b"\x89PNG fake image bytes" and reply.content_type == "image/png"
        assert sync.downloads == [(CHAT, "IMG1")]
        voice = await rig.call("GET", f"/sessions/s/messages/VOICE1/media?chat={CHAT}")
        assert voice.body == b"OggS voice"
        assert voice.headers["Content-Type"] == "audio/ogg; codecs=opus"
        blob = await rig.call("GET", f"/sessions/s/messages/BLOB1/media?chat={CHAT}")
        assert blob.content_type == "application/octet-stream" and blob.body == b"\x00\x01"


async def test_media_errors_are_problems(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        sync = await session_with_sync(rig, tmp_path)
        other = await session_with_sync(rig, tmp_path, "other")
        none = await rig.call("GET", f"/sessions/s/messages/TEXT1/media?chat={CHAT}")
        assert none.status == 404 and none.body["type"].endswith("/no-media")
        assert "no downloadable file" in none.body["detail"]
        sync.error = MediaDownloadFailed("no media host delivered a body that verified")
        failed = await rig.call("GET", f"/sessions/s/messages/IMG1/media?chat={CHAT}")
        assert failed.status == 502 and failed.body["type"].endswith("/media-unavailable")
        assert failed.body["detail"] == "no media host delivered a body that verified"
        calls = len(sync.downloads)
        missing = await rig.call("GET", "/sessions/s/messages/IMG1/media")
        assert missing.status == 400 and "'chat'" in missing.body["detail"]
        bad = await rig.call("GET", "/sessions/s/messages/IMG1/media?chat=nobody")
        assert bad.status == 400
        assert len(sync.downloads) == calls
        wrong = await rig.call("GET", f"/sessions/s/messages/IMG1/media?chat={CHAT}", key=other.key)
        assert wrong.status == 403 and len(sync.downloads) == calls


async def test_history_is_requested_without_waiting(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        sync = await session_with_sync(rig, tmp_path)
        reply = await rig.call("POST", f"/sessions/s/chats/{CHAT}/history")
        assert reply.status == 202 and reply.body == {"requested": True, "requestId": "REQ1"}
        most = await rig.call("POST", f"/sessions/s/chats/{CHAT}/history", json_body={"count": 500})
        assert most.status == 202
        assert sync.history == [(CHAT, 50, False), (CHAT, 500, False)]
        for body in ({"count": 0}, {"count": 501}, {"count": "5"}, {"count": True}, {"n": 5}):
            bad = await rig.call("POST", f"/sessions/s/chats/{CHAT}/history", json_body=body)
            assert bad.status == 400, body
        assert (await rig.call("POST", "/sessions/s/chats/nobody/history")).status == 400
        sync.error = NotConnected("the session is not connected")
        offline = await rig.call("POST", f"/sessions/s/chats/{CHAT}/history")
        assert offline.status == 409 and offline.body["type"].endswith("/not-connected")
        assert len(sync.history) == 2


async def test_archive_goes_to_app_state(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        sync = await session_with_sync(rig, tmp_path)
        group = "120363000000000000@g.us"
        on = await rig.call(
            "POST", f"/sessions/s/chats/{CHAT}/archive", json_body={"archived": True}
        )
        assert on.status == 200 and on.body == {"archived": True}
        off = await rig.call(
            "POST", f"/sessions/s/chats/{group}/archive", json_body={"archived": False}
        )
        assert off.status == 200 and off.body == {"archived": False}
        assert sync.archived == [(CHAT, True), (group, False)]
        for body in (None, {}, {"archived": "yes"}, {"archived": 1}, {"archived": True, "x": 1}):
            bad = await rig.call("POST", f"/sessions/s/chats/{CHAT}/archive", json_body=body)
            assert bad.status == 400, body
        sync.error = AppStateSyncFailed("the server refused the patch")
        refused = await rig.call(
            "POST", f"/sessions/s/chats/{CHAT}/archive", json_body={"archived": True}
        )
        assert refused.status == 502 and "refused the patch" in refused.body["detail"]
        assert len(sync.archived) == 2


async def test_a_client_without_the_features_says_so(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        assert (await rig.call("POST", "/sessions", json_body={"id": "plain"})).status == 201
        calls = [
            ("GET", f"/sessions/plain/messages/M1/media?chat={CHAT}", None),
            ("POST", f"/sessions/plain/chats/{CHAT}/history", {"count": 5}),
            ("POST", f"/sessions/plain/chats/{CHAT}/archive", {"archived": True}),
        ]
        for method, path, body in calls:
            reply = await rig.call(method, path, json_body=body)
            assert reply.status == 409 and reply.body["type"].endswith("/not-supported")
