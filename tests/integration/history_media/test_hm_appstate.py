"""App-state sync end to end with the sandbox phone: the address book and the phone's changes
(rename a contact, archive, mute, pin, star) land in wamd's tables; a patch served with a
tampered MAC is refused, and when even a full resync fails the phone's own copy of the
collection is asked for and applied (app-state recovery); wamd's own archive and mark read
reach the phone as patches."""

from __future__ import annotations

from pathlib import Path

from history_media_harness import Client, admin, eventually, paired_client
from sandbox_clients import next_event, phone

from daemon.binary import JID
from daemon.client.sync_events import AppStateRefused, AppStateSynced
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.sync_values import MUTED_FOREVER, CollectionStatus

FRIEND = "15557770000@s.whatsapp.net"
OTHER = "15557770001@s.whatsapp.net"


def seed() -> dict[str, object]:
    conversations = [
        {
            "jid": jid,
            "name": name,
            "messages": [
                {"id": f"{name[:3].upper()}{i}", "timestamp": 1_700_000_000 + i, "text": f"#{i}"}
                for i in range(3)
            ],
        }
        for jid, name in ((FRIEND, "Friend"), (OTHER, "Other"))
    ]
    return {"conversations": conversations, "contacts": {FRIEND: "Friend Person"}}


async def test_phone_changes_arrive_and_a_tampered_patch_is_refused(
    sandbox: SandboxServer, ann: Account, tmp_path: Path
) -> None:
    user = ann.phone_user
    await admin(sandbox, "POST", f"/admin/accounts/{user}/history", seed())
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    repo = client.session.sync.store.app_state
    sid = client.sid
    try:
        # The address book (critical_unblock_low) came with the first sync.
        names = await eventually(lambda: _full_name(client, FRIEND, "Friend Person"))
        assert names

        async def change(body: dict[str, object]) -> None:
            await admin(sandbox, "POST", f"/admin/accounts/{user}/app-state", body)

        await change({"action": "rename_contact", "chat": FRIEND, "full_name": "Fritz Renamed"})
        await change({"action": "archive", "chat": FRIEND})
        await change({"action": "mute", "chat": OTHER, "mute_end_ms": -1})
        await change({"action": "pin", "chat": OTHER})
        await change({"action": "star", "chat": FRIEND, "message_id": "FRI1"})
        assert await eventually(lambda: _full_name(client, FRIEND, "Fritz Renamed"))

        async def applied() -> bool:
            friend = await repo.chat_settings(sid, FRIEND)
            other = await repo.chat_settings(sid, OTHER)
            return bool(
                friend
                and friend.archived
                and other
                and other.muted_until == MUTED_FOREVER
                and other.pinned_at
            )

        assert await eventually(applied)
        starred = await eventually(
            lambda: client.db.fetch_one(
                "SELECT 1 FROM messages WHERE session_id = ? AND message_id = 'FRI1' "
                "AND starred = 1",
                (sid,),
            )
        )
        assert starred

        # A patch served with a corrupted MAC: refused, and refused again by the full resync
        # (the server keeps serving it). The server cannot help, so wamd asks the phone for
        # its own copy of the collection (app-state recovery), which brings the archive.
        await change({"action": "archive", "chat": OTHER, "tamper": "patch"})
        refused = await next_event(client.events, AppStateRefused)
        assert refused.collection == "regular_low" and "patch MAC" in refused.reason
        final = await next_event(client.events, AppStateRefused, lambda e: not e.resyncing)
        assert final.collection == "regular_low"
        recovered = await next_event(
            client.events, AppStateSynced, lambda e: e.collection == "regular_low" and e.full
        )
        assert client.session.sync.recovery.recovered == 1
        row = await repo.load_collection(sid, "regular_low")
        assert row is not None and row.status is CollectionStatus.OK
        assert row.version == recovered.version
        other = await repo.chat_settings(sid, OTHER)
        assert other is not None and other.archived

        # Served genuine again, later patches follow on from the recovered version.
        await admin(sandbox, "DELETE", f"/admin/accounts/{user}/app-state/tamper")
        await change({"action": "unarchive", "chat": OTHER})
        outcomes = await client.session.sync_app_state()
        assert {o.collection: o.status for o in outcomes}["regular_low"] is CollectionStatus.OK

        async def unarchived() -> bool:
            other = await repo.chat_settings(sid, OTHER)
            return other is not None and not other.archived

        assert await eventually(unarchived)
    finally:
        await client.close()


async def test_our_archive_and_mark_read_reach_the_phone(
    sandbox: SandboxServer, ann: Account, tmp_path: Path
) -> None:
    await admin(sandbox, "POST", f"/admin/accounts/{ann.phone_user}/history", seed())
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    try:
        await eventually(lambda: _full_name(client, FRIEND, "Friend Person"))
        version = await client.session.archive_chat(JID.parse(FRIEND))
        await client.session.mark_chat_read(JID.parse(OTHER))
        the_phone = phone(sandbox, ann)
        assert await the_phone.app_state.sync("regular_low") == version + 1
        records = {
            index: value
            for view in await the_phone.app_state.view()
            for index, value in view.records
        }
        assert records[("archive", FRIEND)].archiveChatAction.archived
        assert records[("markChatAsRead", OTHER)].markChatAsReadAction.read
        friend = await client.session.sync.store.app_state.chat_settings(client.sid, FRIEND)
        assert friend is not None and friend.archived
    finally:
        await client.close()


async def _full_name(client: Client, jid: str, name: str) -> bool:
    names = await client.session.sync.store.app_state.contact_names(client.sid, jid)
    return names is not None and names.full_name == name
