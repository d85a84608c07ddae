"""The sandbox's database: everything written comes back after reopening."""

from __future__ import annotations

from pathlib import Path

from daemon.binary import JID, Node, Server
from daemon.crypto.curve import KeyPair
from sandbox.directory import Account, Device, PreKey, SignedPreKey
from sandbox.groups import Group, Role
from sandbox.state import SandboxState


async def test_state_round_trips_through_reopen(tmp_path: Path) -> None:
    identity = KeyPair.generate()
    account = Account("15550001111", "100000000000001", "Alice", identity, 42, 3, 1000)
    phone = Device("15550001111", 0, identity.public, 42, platform="android")
    companion = Device(
        "15550001111",
        2,
        b"\x01" * 32,
        7,
        noise_public=b"\x02" * 32,
        signed_prekey=SignedPreKey(1, b"\x03" * 32, b"\x04" * 64),
        key_index=2,
        platform="Mac OS",
        push_name="laptop",
        adv_identity=b"adv",
        created_at=5,
        last_login_at=6,
    )
    group = Group("120363000000000001", "Team", "15550001111", 100, description="d")
    group.participants = {"15550001111": Role.SUPERADMIN, "15550002222": Role.MEMBER}
    device_jid = JID("15550001111", Server.PN, 2)

    state = await SandboxState.open(tmp_path)
    async with state.transaction():
        await state.save_account(account)
        await state.save_device(phone)
        await state.save_device(companion)
    await state.add_prekeys(companion, [PreKey(1, b"\x05" * 32), PreKey(2, b"\x06" * 32)])
    await state.delete_prekey(companion, 1)
    await state.enqueue(str(device_jid), Node("message", {"id": "M1"}, b"x"), 10)
    await state.enqueue(str(device_jid), Node("receipt", {"id": "M1"}), 11)
    assert await state.dequeue_matching(str(device_jid), "receipt", "M1")
    assert not await state.dequeue_matching(str(device_jid), "receipt", "M1")
    await state.save_group(group)
    await state.put_blob("ab" * 16, "image", b"blob", 12)
    await state.set_blocked("15550001111", "15550003333@s.whatsapp.net", True)
    store = state.phone_store("15550001111")
    await store.put("session", "a.1", b"record")
    await state.close()

    state = await SandboxState.open(tmp_path)
    directory = await state.load_directory()
    loaded = directory.account("15550001111")
    assert loaded.identity == identity and loaded.next_key_index == 3
    device = directory.device(device_jid)
    assert device is not None
    assert device.signed_prekey == companion.signed_prekey
    assert device.prekeys == {2: PreKey(2, b"\x06" * 32)}
    assert (device.noise_public, device.push_name, device.last_login_at) == (
        b"\x02" * 32,
        "laptop",
        6,
    )
    queued = await state.queued(str(device_jid))
    assert [(q.stanza_class, q.node.content) for q in queued] == [("message", b"x")]
    (restored,) = await state.load_groups()
    assert restored.participants == group.participants and restored.description == "d"
    assert await state.get_blob("ab" * 16) == ("image", b"blob")
    assert await state.blocklist("15550001111") == ["15550003333@s.whatsapp.net"]
    assert await state.phone_store("15550001111").items("session") == {"a.1": b"record"}
    await state.close()
