"""A session key revoked or narrowed through any daemon of a fleet holds on every daemon from
its very next request, though daemons remember the keys they verified. Real ``wamd run``
processes, a real sandbox, a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fleet_harness import Fleet
from postgres_server import PostgresServer

from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig

CHAT = "15550001111@s.whatsapp.net"


@pytest.fixture
async def fleet(tmp_path: Path, postgres_server: PostgresServer) -> AsyncIterator[Fleet]:
    url = await postgres_server.migrated_database()
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "sandbox")) as sandbox:
        group = Fleet(sandbox, tmp_path, url)
        try:
            yield group
        finally:
            await group.stop_all()
            group.report()


async def test_a_key_changed_through_one_daemon_holds_on_every_daemon(fleet: Fleet) -> None:
    await fleet.start("a")
    await fleet.start("b")
    apis = [fleet.api("a"), fleet.api("b")]
    created = await apis[0].call("POST", "/sessions", {"id": "k1"})
    assert created.status == 201, created.body
    key, key_id = created.body["apiKey"]["key"], created.body["apiKey"]["id"]
    made = await apis[0].call("POST", "/sessions/k1/api-keys", {"label": "crm"})
    assert made.status == 201, made.body
    other, other_id = made.body["key"], made.body["id"]

    # Each key is verified on both daemons, twice (the second time from memory where kept):
    # on a path about the session (served by its owner) and on one each daemon serves itself.
    for api in apis * 2:
        for used in (key, other):
            assert (await api.call("GET", "/sessions/k1", key=used)).status == 200
            assert (await api.call("GET", "/whoami", key=used)).status == 200

    revoked = await apis[1].call("DELETE", f"/sessions/k1/api-keys/{key_id}")
    assert revoked.status == 204
    narrowed = await apis[0].call("PATCH", f"/sessions/k1/api-keys/{other_id}", {"chats": [CHAT]})
    assert narrowed.status == 200
    for api in apis:
        assert (await api.call("GET", "/sessions/k1", key=key)).status == 401
        assert (await api.call("GET", "/whoami", key=key)).status == 401
        # Restricted to a chat: the whole session's commands are out of its reach now.
        refused = await api.call("POST", "/sessions/k1/disconnect", key=other)
        assert refused.status == 403, refused.body
        whoami = await api.call("GET", "/whoami", key=other)
        assert whoami.status == 200 and whoami.body["sessionId"] == "k1", whoami.body
