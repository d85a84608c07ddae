"""A history chunk whose blob expired before wamd fetched it is not acked and dropped: wamd
reports it back (a server-error receipt sealed with the chunk's media key), the phone uploads it
again under a new notification, and every message still lands, once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from history_media_harness import admin, paired_client

from daemon.client.sync_events import HistorySyncFailed, HistorySyncProgress
from sandbox.app import SandboxServer
from sandbox.directory import Account

SEED = {
    "chats": 6,
    "messages_per_chat": 10,
    "plan": {"bootstrap_messages_per_chat": 2, "recent_messages_per_chat": 4, "inline": False},
}
TOTAL = 60


async def test_an_expired_history_blob_is_uploaded_again(
    sandbox: SandboxServer, ann: Account, tmp_path: Path
) -> None:
    await admin(sandbox, "POST", f"/admin/accounts/{ann.phone_user}/history", SEED)
    # The push-name chunk and the first RECENT chunk come too late for their blobs.
    await admin(sandbox, "POST", "/admin/media/expire-next", {"count": 2, "status": 410})
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    try:
        failed: list[HistorySyncFailed] = []
        progress: list[HistorySyncProgress] = []

        def finished() -> bool:
            again = {p.sync_type for p in progress if p.message_id not in done_ids()}
            return (
                len(failed) == 2
                and bool(progress)
                and progress[-1].messages_total == TOTAL
                and {f.sync_type for f in failed} <= again
            )

        def done_ids() -> set[str]:
            return {f.message_id for f in failed}

        async with asyncio.timeout(60):
            while not finished():
                event = await client.events.next()
                if isinstance(event, HistorySyncFailed):
                    failed.append(event)
                elif isinstance(event, HistorySyncProgress):
                    progress.append(event)
        assert all("upload it again" in f.reason for f in failed)
        assert {f.sync_type for f in failed} == {"PUSH_NAME", "RECENT"}
        row = await client.db.fetch_one(
            "SELECT COUNT(*) FROM messages WHERE session_id = ? AND content_type != 'protocol'",
            (client.sid,),
        )
        assert row is not None and row[0] == TOTAL
        for gone in failed:
            chunk = await client.session.sync.store.history.get_chunk(client.sid, gone.message_id)
            assert chunk is not None and chunk.status.value == "failed"
    finally:
        await client.close()
