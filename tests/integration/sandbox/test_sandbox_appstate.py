"""App-state sync through the real sandbox: a companion fetches the patches its phone wrote and
verifies every MAC with ``daemon.crypto.appstate``; tampered patches are refused; companions'
own patches are accepted in version order, conflicts answered with 409; snapshots come as
external blobs on the media host; everything survives a restart."""

from __future__ import annotations

import pytest
from helpers import admin
from sandbox_companion import Linked, download, link, patches_of

from daemon.crypto.appstate import (
    AppStateMacMismatch,
    CollectionState,
    MacKind,
    PendingMutation,
    SyncActionValue,
    SyncResult,
    decode_snapshot,
    encode_patch,
)
from daemon.crypto.media import MediaType, decrypt_media
from sandbox.app import SandboxServer
from sandbox.phone import SimulatedPhone
from waproto import wa_appstate_pb2

CRITICAL_BLOCK = "critical_block"
CONTACTS = "critical_unblock_low"


def records(results: list[SyncResult]) -> dict[tuple[str, ...], SyncActionValue]:
    return {m.index: m.value for r in results for m in r.mutations}


async def setup(server: SandboxServer) -> tuple[Linked, SimulatedPhone]:
    network = server.network
    bob = await network.create_account("15550002222", push_name="Bob")
    ann = await network.create_account("15550001111", push_name="Ann")
    phone = network.phones[ann.phone_user]
    assert isinstance(phone, SimulatedPhone)
    assert bob.phone_user in network.phones
    return await link(server, ann), phone


async def test_the_phone_writes_push_name_and_contacts_a_companion_verifies(
    sandbox: SandboxServer,
) -> None:
    linked, _ = await setup(sandbox)
    try:
        collection = await linked.fetch(CRITICAL_BLOCK, 0, snapshot=True)
        # Snapshots are off by default: the patches from version 0 come instead.
        assert collection.child("snapshot") is None
        [patch] = patches_of(collection)
        assert patch.version.version == 1
        assert collection.attr_str("version") == "1"

        pushed = records(await linked.sync(CRITICAL_BLOCK))
        assert pushed[("setting_pushName",)].pushNameSetting.name == "Ann"
        contacts = records(await linked.sync(CONTACTS))
        names = {index[1]: value.contactAction.fullName for index, value in contacts.items()}
        assert names["15550002222@s.whatsapp.net"] == "Bob"
        assert {"Sam Sandbox", "Alex Example"} <= set(names.values())
        for other in ("regular", "regular_low", "regular_high"):
            empty = await linked.fetch(other, 0)
            assert (empty.attr_str("version"), empty.children) == ("0", [])
    finally:
        await linked.close()


async def test_phone_changes_reach_the_companion_through_server_sync(
    sandbox: SandboxServer,
) -> None:
    linked, phone = await setup(sandbox)
    ann = linked.account.phone_user
    try:
        for name in (CRITICAL_BLOCK, CONTACTS):
            await linked.sync(name)
        changes = [
            {"action": "archive", "chat": "15550002222"},
            {"action": "mute", "chat": "15550002222", "mute_end_ms": 1_900_000_000_000},
            {"action": "rename_contact", "jid": "15550002222", "full_name": "Robert Builder"},
            {"action": "pin", "chat": "15550002222"},
            {"action": "mark_read", "chat": "15550002222"},
            {"action": "star", "chat": "15550002222", "message_id": "3EB0AA", "from_me": True},
            {"action": "delete_chat", "chat": "15550002222", "delete_media": True},
            {"action": "set_push_name", "name": "Annie"},
        ]
        expected = [
            ("regular_low", ("archive", "15550002222@s.whatsapp.net")),
            ("regular_high", ("mute", "15550002222@s.whatsapp.net")),
            (CONTACTS, ("contact", "15550002222@s.whatsapp.net")),
            ("regular_low", ("pin_v1", "15550002222@s.whatsapp.net")),
            ("regular_low", ("markChatAsRead", "15550002222@s.whatsapp.net")),
            ("regular_high", ("star", "15550002222@s.whatsapp.net", "3EB0AA", "1", "0")),
            ("regular_high", ("deleteChat", "15550002222@s.whatsapp.net", "1")),
            (CRITICAL_BLOCK, ("setting_pushName",)),
        ]
        seen: dict[tuple[str, ...], SyncActionValue] = {}
        for change, (collection, index) in zip(changes, expected, strict=True):
            status, answer = await admin(
                sandbox, "POST", f"/admin/accounts/{ann}/app-state", change
            )
            assert status == 201, answer
            assert (answer["collection"], tuple(answer["index"])) == (collection, index)
            note = await linked.client.wait_for(
                lambda n: n.tag == "notification" and n.attr_str("type") == "server_sync"
            )
            [announced] = note.children_by_tag("collection")
            assert announced.attr_str("name") == collection
            assert announced.attr_str("version") == str(answer["version"])
            seen.update(records(await linked.sync(collection)))
        assert seen[expected[0][1]].archiveChatAction.archived
        assert seen[expected[1][1]].muteAction.muteEndTimestamp == 1_900_000_000_000
        assert seen[expected[2][1]].contactAction.fullName == "Robert Builder"
        assert seen[expected[3][1]].pinAction.pinned
        assert seen[expected[4][1]].markChatAsReadAction.read
        assert seen[expected[5][1]].starAction.starred
        assert seen[expected[6][1]].HasField("deleteChatAction")
        assert seen[expected[7][1]].pushNameSetting.name == "Annie"
        assert all(v.timestamp > 0 for v in seen.values())

        status, view = await admin(sandbox, "GET", f"/admin/accounts/{ann}/app-state")
        assert status == 200
        by_name = {c["name"]: c for c in view["collections"]}
        assert by_name["regular_high"]["version"] == 3
        assert by_name["regular_high"]["phone_version"] == 3
        assert by_name["regular_low"]["records"] == 3
        unarchive = {"action": "unarchive", "chat": "15550002222"}
        status, answer = await admin(sandbox, "POST", f"/admin/accounts/{ann}/app-state", unarchive)
        assert (status, answer["version"]) == (201, 4)
        status, view = await admin(sandbox, "GET", f"/admin/accounts/{ann}/app-state")
        low = {c["name"]: c for c in view["collections"]}["regular_low"]
        archive = next(r for r in low["phone_records"] if r["index"][0] == "archive")
        assert archive["value"]["archiveChatAction"].get("archived", False) is False
        assert low["records"] == 3  # the unarchive overwrote the archive record
        assert phone.app_state is not None

        bad = [
            {"action": "fly"},
            {"action": "archive"},
            {"action": "rename_contact", "jid": "15550002222"},
            {"action": "archive", "chat": "15550002222", "tamper": "everything"},
        ]
        for body in bad:
            status, problem = await admin(sandbox, "POST", f"/admin/accounts/{ann}/app-state", body)
            assert status == 400, (body, problem)
    finally:
        await linked.close()


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        ("value", MacKind.VALUE),
        ("index", MacKind.INDEX),
        ("patch", MacKind.PATCH),
        ("snapshot", MacKind.SNAPSHOT),
    ],
)
async def test_a_tampered_patch_is_refused_until_the_marks_are_cleared(
    sandbox: SandboxServer, tamper: str, kind: MacKind
) -> None:
    linked, _ = await setup(sandbox)
    ann = linked.account.phone_user
    try:
        change = {"action": "mute", "chat": "15550002222", "tamper": tamper}
        status, answer = await admin(sandbox, "POST", f"/admin/accounts/{ann}/app-state", change)
        assert (status, answer["tamper"]) == (201, tamper)
        with pytest.raises(AppStateMacMismatch) as refused:
            await linked.sync("regular_high")
        assert refused.value.kind is kind
        assert linked.states.get("regular_high", CollectionState("regular_high")).version == 0

        status, view = await admin(sandbox, "GET", f"/admin/accounts/{ann}/app-state")
        high = {c["name"]: c for c in view["collections"]}["regular_high"]
        assert high["tampered"] == [{"version": 1, "tamper": tamper}]
        status, cleared = await admin(sandbox, "DELETE", f"/admin/accounts/{ann}/app-state/tamper")
        assert (status, cleared["cleared"]) == (200, 1)
        [result] = await linked.sync("regular_high")
        assert result.mutations[0].value.muteAction.muted
        # The fault was armed for one patch: the next one is genuine.
        await admin(sandbox, "POST", f"/admin/accounts/{ann}/app-state", {**change, "tamper": None})
        assert len(await linked.sync("regular_high")) == 1
    finally:
        await linked.close()


async def test_companion_patches_conflicts_and_errors(sandbox: SandboxServer) -> None:
    linked, phone = await setup(sandbox)
    ann = linked.account.phone_user
    key_id, key_data = linked.app_state_key
    try:
        await linked.sync("regular_low")
        archive = PendingMutation(
            ("archive", "15550002222@s.whatsapp.net"),
            SyncActionValue(archiveChatAction=wa_appstate_pb2.ArchiveChatAction(archived=True)),
            3,
        )
        encoded = encode_patch(
            CollectionState("regular_low"), [archive], key_id, key_data, timestamp_ms=1
        )
        answer = await linked.upload("regular_low", 0, encoded.patch.SerializeToString())
        assert (answer.attr_str("type"), answer.attr_str("version")) == (None, "1")
        # The phone hears of it (server_sync) and catches up, verifying the patch.
        await phone.idle()
        [view] = [v for v in await phone.app_state.view() if v.name == "regular_low"]
        assert view.version == 1
        assert view.records[0][1].archiveChatAction.archived

        # The phone changes the same collection: our stale upload gets 409 with what we miss.
        status, _ = await admin(
            sandbox, "POST", f"/admin/accounts/{ann}/app-state", {"action": "pin", "chat": "1555"}
        )
        assert status == 201
        stale = encode_patch(encoded.sync.state, [archive], key_id, key_data)
        conflict = await linked.upload("regular_low", 1, stale.patch.SerializeToString())
        assert conflict.attr_str("type") == "error"
        error = conflict.child("error")
        assert error is not None and error.attr_str("code") == "409"
        [missing] = patches_of(conflict)
        assert missing.version.version == 2

        ahead = await linked.upload("regular_low", 7, stale.patch.SerializeToString())
        assert (ahead.child("error") or ahead).attr_str("code") == "400"
        garbage = await linked.upload("regular_low", 2, b"\xff\x00not a patch")
        assert (garbage.child("error") or garbage).attr_str("code") == "400"
        unknown = await linked.fetch("no_such_collection", 0)
        assert unknown.attr_str("type") == "error"
        future = await linked.fetch("regular_low", 99)
        assert (future.child("error") or future).attr_str("code") == "400"
        refused = await linked.client.iq("w:sync:app:state", "set", [])
        assert refused.attr_str("type") == "error"
    finally:
        await linked.close()


async def test_snapshots_are_external_blobs_and_pages_have_more(sandbox: SandboxServer) -> None:
    linked, _ = await setup(sandbox)
    ann = linked.account.phone_user
    try:
        for chat in ("15550002222", "15550003333", "15550004444"):
            change = {"action": "mute", "chat": chat, "mute_end_ms": -1}
            status, _ = await admin(sandbox, "POST", f"/admin/accounts/{ann}/app-state", change)
            assert status == 201
        sandbox.network.app_state.page_size = 2
        first = await linked.fetch("regular_high", 0)
        assert first.attr_str("has_more_patches") == "true"
        assert [p.version.version for p in patches_of(first)] == [1, 2]
        results = await linked.sync("regular_high")
        from_patches = linked.states["regular_high"]
        assert len(results) == 3 and from_patches.version == 3

        status, _ = await admin(sandbox, "POST", "/admin/app-state/snapshots", {"enabled": True})
        assert status == 200
        collection = await linked.fetch("regular_high", snapshot=True)
        assert collection.child("patches") is None
        raw = (collection.child("snapshot") or collection).content_bytes()
        assert raw is not None
        reference = wa_appstate_pb2.ExternalBlobReference.FromString(raw)
        status, body = await download(
            sandbox, reference.directPath, reference.fileEncSHA256, "md-app-state"
        )
        assert status == 200
        plain = decrypt_media(
            body,
            reference.mediaKey,
            MediaType.APP_STATE,
            file_enc_sha256=reference.fileEncSHA256,
            file_sha256=reference.fileSHA256,
        )
        snapshot = wa_appstate_pb2.SyncdSnapshot.FromString(plain)
        result = decode_snapshot(snapshot, "regular_high", linked.lookup_key)
        assert result.state.version == 3
        assert result.state.hash == from_patches.hash
        assert dict(result.state.index_value_macs) == dict(from_patches.index_value_macs)

        # A snapshot ending at a patch stored with a tampered snapshot MAC is refused too.
        tampered = {"action": "unmute", "chat": "15550002222", "tamper": "snapshot"}
        status, _ = await admin(sandbox, "POST", f"/admin/accounts/{ann}/app-state", tampered)
        assert status == 201
        collection = await linked.fetch("regular_high", snapshot=True)
        reference = wa_appstate_pb2.ExternalBlobReference.FromString(
            (collection.child("snapshot") or collection).content_bytes() or b""
        )
        _, body = await download(
            sandbox, reference.directPath, reference.fileEncSHA256, "md-app-state"
        )
        plain = decrypt_media(body, reference.mediaKey, MediaType.APP_STATE)
        with pytest.raises(AppStateMacMismatch) as refused:
            decode_snapshot(
                wa_appstate_pb2.SyncdSnapshot.FromString(plain), "regular_high", linked.lookup_key
            )
        assert refused.value.kind is MacKind.SNAPSHOT
    finally:
        await linked.close()


async def test_app_state_survives_a_restart(sandbox: SandboxServer) -> None:
    linked, _ = await setup(sandbox)
    ann = linked.account
    try:
        path = f"/admin/accounts/{ann.phone_user}/app-state"
        status, _ = await admin(sandbox, "POST", path, {"action": "archive", "chat": "15550002222"})
        assert status == 201
        before = [p.SerializeToString() for p in patches_of(await linked.fetch("regular_low", 0))]
    finally:
        await linked.close()
    await sandbox.restart()
    again = await link(sandbox, ann, push_name="second laptop")
    try:
        after = [p.SerializeToString() for p in patches_of(await again.fetch("regular_low", 0))]
        assert after == before
        # The phone kept its own state: its next patch follows, and verifies on top.
        change = {"action": "unarchive", "chat": "15550002222"}
        status, answer = await admin(
            sandbox, "POST", f"/admin/accounts/{ann.phone_user}/app-state", change
        )
        assert (status, answer["version"]) == (201, 2)
        results = await again.sync("regular_low")
        assert [r.state.version for r in results] == [1, 2]
        # No second initial app state after the restart.
        assert len(await again.sync(CRITICAL_BLOCK)) == 1
    finally:
        await again.close()
