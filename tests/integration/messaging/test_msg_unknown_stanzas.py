"""Stanzas nobody handles, on both sides: wamd logs each new kind once at debug (and still acks
an unknown notification, or the server sends it again); the sandbox logs each unknown stanza
tag and iq namespace once as well."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from messaging_harness import paired_client

from daemon.binary import JID, Node
from sandbox.app import SandboxServer
from sandbox.directory import Account


@pytest.fixture
def debug_logs() -> Iterator[list[dict[str, Any]]]:
    old = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as entries:
            yield entries
    finally:
        structlog.configure(**old)


def _kinds(entries: list[dict[str, Any]], event: str) -> list[str]:
    return [str(e["kind"]) for e in entries if e.get("event") == event]


async def test_unknown_stanzas_are_logged_once_per_kind(
    debug_logs: list[dict[str, Any]], sandbox: SandboxServer, alice: Account, tmp_path: Path
) -> None:
    client = await paired_client(sandbox, alice, tmp_path / "alice.db")
    try:
        credentials = client.session.credentials
        assert credentials is not None and credentials.pn_jid is not None
        device = JID.parse(credentials.pn_jid)
        for n in range(2):
            await sandbox.network.deliver(device, Node("frobnicate", {"id": f"f{n}"}))
            await sandbox.network.deliver(
                device,
                Node("notification", {"id": f"n{n}", "type": "brand_new", "from": alice.pn}),
            )
            await sandbox.network.deliver(
                device, Node("notification", {"id": f"p{n}", "type": "picture", "from": alice.pn})
            )
        # From the device to the sandbox: an unknown tag and an unknown iq namespace, twice.
        for n in range(2):
            await sandbox.network.submit(device, Node("whatever", {"id": f"w{n}"}))
            await sandbox.network.submit(
                device, Node("iq", {"id": f"i{n}", "type": "get", "xmlns": "urn:brand:new"})
            )

        async def acked() -> bool:
            pending = await sandbox.network.offline.pending(device)
            return not any(n.tag == "notification" for n in pending)

        async with asyncio.timeout(10):
            while not await acked() or len(_kinds(debug_logs, "client.unhandled_stanza")) < 2:
                await asyncio.sleep(0.05)
        assert sorted(_kinds(debug_logs, "client.unhandled_stanza")) == [
            "frobnicate",
            "notification:brand_new",
        ]
        assert sorted(_kinds(debug_logs, "sandbox.unhandled_stanza")) == [
            "iq:urn:brand:new",
            "stanza:whatever",
        ]
    finally:
        await client.close()
