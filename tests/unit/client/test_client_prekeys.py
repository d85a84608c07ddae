"""Prekey planning, stanzas, and the manager over a real SQLite store with a fake server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import structlog
from backends import OpenEngine
from client_fakes import result_for

from daemon.binary import Node
from daemon.client.credentials import credentials_for_pairing
from daemon.client.errors import IqTimeout, StanzaError
from daemon.client.prekeys import (
    INITIAL_PREKEYS,
    WANTED_PREKEYS,
    PreKeyManager,
    build_upload,
    parse_count,
    parse_low_count_notification,
    plan_upload,
)
from daemon.signal.curve import verify
from storage.sqlite import SqliteStore
from storage.values import DeviceCredentials


@pytest.fixture
async def store(open_engine: OpenEngine) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(await open_engine())
    await opened.sessions.create("s")
    yield opened
    await opened.close()


class FakeServer:
    """Answers count queries and uploads like the server; can fail the next upload."""

    def __init__(self) -> None:
        self.keys: dict[int, bytes] = {}
        self.uploads: list[int] = []
        self.fail_next_upload = False

    async def query(self, request: Node) -> Node:
        await asyncio.sleep(0)
        if request.attr_str("type") == "get":
            return result_for(request, [Node("count", {"value": str(len(self.keys))})])
        if self.fail_next_upload:
            self.fail_next_upload = False
            raise IqTimeout("lost")
        listed = request.child("list")
        assert listed is not None
        batch: dict[int, bytes] = {}
        for key in listed.children_by_tag("key"):
            key_id, value = key.child("id"), key.child("value")
            assert key_id is not None and value is not None
            batch[int.from_bytes(key_id.content_bytes() or b"", "big")] = (
                value.content_bytes() or b""
            )
        self.keys.update(batch)
        self.uploads.append(len(batch))
        return result_for(request)


def manager(store: SqliteStore) -> PreKeyManager:
    return PreKeyManager(store, "s", structlog.get_logger("test"))


async def creds(store: SqliteStore) -> DeviceCredentials:
    return await credentials_for_pairing(store, "s")


def test_plan() -> None:
    assert plan_upload(0, 0).count == INITIAL_PREKEYS and plan_upload(0, 0).initial
    assert plan_upload(0, 812).count == WANTED_PREKEYS
    assert plan_upload(4, 812).count == WANTED_PREKEYS
    assert plan_upload(812, 0).count == WANTED_PREKEYS
    assert plan_upload(5, 5).count == 0


def test_stanzas() -> None:
    assert parse_count(Node("iq", {}, [Node("count", {"value": "12"})])) == 12
    with pytest.raises(StanzaError):
        parse_count(Node("iq"))
    notification = Node("notification", {"type": "encrypt"}, [Node("count", {"value": "3"})])
    assert parse_low_count_notification(notification) == 3
    assert parse_low_count_notification(Node("notification")) is None


async def test_first_upload_then_top_up(store: SqliteStore) -> None:
    credentials = await creds(store)
    server = FakeServer()
    keys = manager(store)
    assert await keys.ensure(credentials, server.query) == INITIAL_PREKEYS
    assert await keys.ensure(credentials, server.query) == 0
    assert await store.prekeys.count("s", uploaded=True) == INITIAL_PREKEYS
    # Peers drain the server: the next check tops up with 50 new ids.
    for key_id in sorted(server.keys)[:-2]:
        del server.keys[key_id]
    assert await keys.ensure(credentials, server.query) == WANTED_PREKEYS
    assert server.uploads == [INITIAL_PREKEYS, WANTED_PREKEYS]
    assert max(server.keys) == INITIAL_PREKEYS + WANTED_PREKEYS
    for key_id, public in server.keys.items():
        row = await store.prekeys.get("s", key_id)
        assert row is not None and row.public == public and row.uploaded


async def test_upload_stanza_matches_our_keys(store: SqliteStore) -> None:
    credentials = await creds(store)
    batch = await manager(store).pending(3)
    node = build_upload(
        credentials.keys.registration_id,
        credentials.keys.identity.public,
        credentials.keys.signed_prekey,
        batch,
    )
    assert node.attrs["xmlns"] == "encrypt" and node.attrs["type"] == "set"
    assert [c.tag for c in node.children] == ["registration", "type", "identity", "list", "skey"]
    assert node.child("type") == Node("type", {}, b"\x05")
    keys = node.child("list")
    assert keys is not None
    assert [k.child("id") for k in keys.children] == [
        Node("id", {}, i.to_bytes(3, "big")) for i in (1, 2, 3)
    ]
    skey = node.child("skey")
    assert skey is not None
    value = skey.child("value")
    signature = skey.child("signature")
    assert value is not None and signature is not None
    assert verify(
        credentials.keys.identity.public,
        b"\x05" + (value.content_bytes() or b""),
        signature.content_bytes() or b"",
    )


async def test_keys_stored_but_not_uploaded_go_up_next_time(store: SqliteStore) -> None:
    credentials = await creds(store)
    server = FakeServer()
    server.fail_next_upload = True
    keys = manager(store)
    with pytest.raises(IqTimeout):
        await keys.ensure(credentials, server.query)
    assert await store.prekeys.count("s") == INITIAL_PREKEYS
    assert await store.prekeys.count("s", uploaded=True) == 0
    assert await keys.ensure(credentials, server.query) == INITIAL_PREKEYS
    # The same keys went up; no new ids were burnt.
    assert sorted(server.keys) == list(range(1, INITIAL_PREKEYS + 1))
    assert await store.prekeys.count("s") == INITIAL_PREKEYS


async def test_concurrent_checks_upload_once(store: SqliteStore) -> None:
    credentials = await creds(store)
    server = FakeServer()
    keys = manager(store)
    results = await asyncio.gather(*(keys.ensure(credentials, server.query) for _ in range(4)))
    assert sorted(results) == [0, 0, 0, INITIAL_PREKEYS]
    assert server.uploads == [INITIAL_PREKEYS]
