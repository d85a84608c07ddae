"""Message secrets: a poll in the phone's history arrives with its message secret, and a poll
received live carries one; wamd keeps both under the poll's key (votes on it can only be read
with it)."""

from __future__ import annotations

from pathlib import Path

from history_media_harness import admin, eventually, paired_client
from sandbox_clients import phone

from sandbox.app import SandboxServer
from sandbox.directory import Account
from waproto import wa_e2e_pb2

FRIEND = "15557770000@s.whatsapp.net"
SECRET = bytes(range(32))


async def test_history_hands_over_poll_secrets(
    sandbox: SandboxServer, ann: Account, tmp_path: Path
) -> None:
    seed = {
        "conversations": [
            {
                "jid": FRIEND,
                "messages": [
                    {"id": "TXT1", "timestamp": 1_700_000_000, "text": "hello"},
                    {
                        "id": "POLL1",
                        "timestamp": 1_700_000_001,
                        "poll": {
                            "name": "Lunch?",
                            "options": ["yes", "no"],
                            "secret_hex": SECRET.hex(),
                        },
                    },
                    {
                        "id": "POLL2",
                        "timestamp": 1_700_000_002,
                        "from_me": True,
                        "poll": {"name": "Mine", "options": ["a", "b"], "secret_hex": "ab" * 32},
                    },
                ],
            }
        ]
    }
    await admin(sandbox, "POST", f"/admin/accounts/{ann.phone_user}/history", seed)
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    try:
        secrets = client.session.sync.store.secrets

        async def theirs() -> bytes | None:
            return await secrets.get(client.sid, FRIEND, FRIEND, "POLL1")

        assert await eventually(theirs) == SECRET
        assert await secrets.get(client.sid, FRIEND, str(ann.pn), "POLL2") == bytes.fromhex(
            "ab" * 32
        )
        assert await secrets.get(client.sid, FRIEND, FRIEND, "TXT1") is None
    finally:
        await client.close()


async def test_a_live_poll_keeps_its_secret(
    sandbox: SandboxServer, ann: Account, bob: Account, tmp_path: Path
) -> None:
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    try:
        poll = wa_e2e_pb2.Message()
        poll.pollCreationMessageV3.name = "Dinner?"
        poll.pollCreationMessageV3.options.add().optionName = "yes"
        poll.messageContextInfo.messageSecret = bytes(reversed(range(32)))
        message_id = await phone(sandbox, bob).send_message(ann.pn, poll)
        secrets = client.session.sync.store.secrets

        async def kept() -> bytes | None:
            return await secrets.get(client.sid, str(bob.pn), str(bob.pn), message_id)

        assert await eventually(kept) == bytes(reversed(range(32)))
    finally:
        await client.close()
