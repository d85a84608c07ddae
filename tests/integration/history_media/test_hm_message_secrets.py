"""Message secrets from history sync: a poll in the phone's history arrives with its message
secret, which wamd keeps under the poll's key (votes on it can only be read with it)."""

from __future__ import annotations

from pathlib import Path

from history_media_harness import admin, eventually, paired_client

from sandbox.app import SandboxServer
from sandbox.directory import Account

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
