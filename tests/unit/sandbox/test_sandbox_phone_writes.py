"""Phones' writes are committed in batches, read back before they are, and kept by a close."""

from __future__ import annotations

import asyncio
from pathlib import Path

from daemon.crypto.curve import KeyPair
from sandbox.directory import Account, Device
from sandbox.state import SandboxState

USER = "15550001111"


async def _state_with_account(tmp_path: Path) -> SandboxState:
    identity = KeyPair.generate()
    state = await SandboxState.open(tmp_path)
    async with state.transaction():
        await state.save_account(Account(USER, "100000000000001", "Ann", identity, 42, 1, 1000))
        await state.save_device(Device(USER, 0, identity.public, 42, platform="android"))
    return state


async def test_pending_writes_are_read_back_before_their_commit(tmp_path: Path) -> None:
    state = await _state_with_account(tmp_path)
    await state.store.phone_apply([])  # an empty batch is a no-op
    phone = state.phone_store(USER)
    await phone.put("session", "b.1", b"old")
    await state.phone_writes.flush()
    await phone.put("session", "a.1", b"new")
    await phone.put("session", "b.1", b"newer")
    await phone.delete("session", "c.1")
    assert await state.store.phone_items(USER, "session") == {"b.1": b"old"}
    assert await phone.get("session", "b.1") == b"newer"
    assert await phone.items("session") == {"a.1": b"new", "b.1": b"newer"}
    await phone.delete("session", "b.1")
    assert await phone.get("session", "b.1") is None
    assert await phone.items("session") == {"a.1": b"new"}
    assert await phone.items("prekey") == {}
    await state.phone_writes.flush()
    assert await state.store.phone_items(USER, "session") == {"a.1": b"new"}
    await state.close()


async def test_the_timer_commits_a_batch_without_a_close(tmp_path: Path) -> None:
    state = await _state_with_account(tmp_path)
    phone = state.phone_store(USER)
    for index in range(20):
        await phone.put("session", f"d.{index}", bytes([index]))
    async with asyncio.timeout(10):
        while len(await state.store.phone_items(USER, "session")) < 20:
            await asyncio.sleep(0.01)
    await state.close()


async def test_a_close_keeps_what_was_pending(tmp_path: Path) -> None:
    state = await _state_with_account(tmp_path)
    phone = state.phone_store(USER)
    await phone.put("meta", "next", b"7")
    await phone.put("session", "gone", b"x")
    await phone.delete("session", "gone")
    await state.close()

    state = await SandboxState.open(tmp_path)
    phone = state.phone_store(USER)
    assert await phone.get("meta", "next") == b"7"
    assert await phone.items("session") == {}
    await state.close()
