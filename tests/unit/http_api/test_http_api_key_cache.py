"""A session key verified once is not read again for its next requests, and yet a change of
the key (revoked, its chats or right to send changed, its session deleted) holds from the very
next request; in a fleet only keys of sessions the daemon owns, under the lease they were
verified with and before it expires, are remembered."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from http_rig import Rig, running_api

from http_api.auth import KeyStore
from storage.db import Database, Synchronous
from storage.fleet_interfaces import Lease
from storage.sqlite.stores import SqliteStores

A = "15550001111@s.whatsapp.net"
B = "15550002222@s.whatsapp.net"
ADMIN = "admin-key-for-tests-0123456789"


async def create(rig: Rig, session_id: str) -> str:
    reply = await rig.call("POST", "/sessions", json_body={"id": session_id})
    assert reply.status == 201, reply.body
    key: str = reply.body["apiKey"]["key"]
    return key


async def test_a_known_key_is_read_once_and_a_revoked_one_refused_at_once(
    tmp_path: Path,
) -> None:
    async with running_api(tmp_path) as rig:
        keys = rig.services.keys
        await create(rig, "s")
        made = await rig.call("POST", "/sessions/s/api-keys", json_body={"label": "crm"})
        key = made.body["key"]
        for _ in range(5):
            assert (await rig.call("GET", "/sessions/s", key=key)).status == 200
        assert keys.reads == 1
        revoked = await rig.call("DELETE", f"/sessions/s/api-keys/{made.body['id']}")
        assert revoked.status == 204
        assert (await rig.call("GET", "/sessions/s", key=key)).status == 401
        # A wrong key is read (and refused) every time: nothing is remembered for it.
        wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
        assert (await rig.call("GET", "/sessions/s", key=wrong)).status == 401
        assert (await rig.call("GET", "/sessions/s", key=wrong)).status == 401
        assert keys.reads == 4


async def test_a_keys_new_chats_and_right_to_send_hold_at_once(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await create(rig, "s")
        made = await rig.call("POST", "/sessions/s/api-keys", json_body={"chats": [A]})
        key, key_id = made.body["key"], made.body["id"]

        async def send(to: str) -> int:
            body = {"to": to, "text": "hi"}
            return (await rig.call("POST", "/sessions/s/messages", key=key, json_body=body)).status

        for _ in range(2):  # the second time from memory: still checked
            assert await send(A) == 202
            assert await send(B) == 403
            assert (await rig.call("POST", "/sessions/s/connect", key=key)).status == 403
        assert rig.services.keys.reads == 1
        changed = await rig.call(
            "PATCH", f"/sessions/s/api-keys/{key_id}", json_body={"chats": [B]}
        )
        assert changed.status == 200
        assert await send(B) == 202 and await send(A) == 403
        read_only = await rig.call(
            "PATCH", f"/sessions/s/api-keys/{key_id}", json_body={"canSend": False}
        )
        assert read_only.status == 200
        assert await send(B) == 403
        assert rig.services.keys.reads == 3


async def test_a_deleted_sessions_keys_do_not_open_a_new_one_of_its_name(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        old = await create(rig, "s")
        assert (await rig.call("GET", "/sessions/s", key=old)).status == 200
        assert (await rig.call("DELETE", "/sessions/s")).status == 204
        new = await create(rig, "s")
        assert (await rig.call("GET", "/sessions/s", key=old)).status == 401
        assert (await rig.call("GET", "/sessions/s", key=new)).status == 200


@dataclass
class Leases:
    """This daemon's leases as a fleet coordinator holds them."""

    held: dict[str, Lease] = field(default_factory=dict)

    def lease(self, session_id: str) -> Lease | None:
        return self.held.get(session_id)


async def test_in_a_fleet_only_keys_of_owned_sessions_are_remembered(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "keys.db", synchronous=Synchronous.NORMAL)
    try:
        stores = SqliteStores(db)
        await stores.sessions.create("s")
        leases = Leases()
        keys = KeyStore(stores, ADMIN, leases=leases)
        issued = await keys.issue("s")
        later_ms = int(stores.now().timestamp() * 1000) + 60_000

        async def reads_of_two_requests() -> int:
            before = keys.reads
            for _ in range(2):
                found = await keys.authenticate(issued.key)
                assert found is not None and found.session_id == "s"
            return keys.reads - before

        assert await reads_of_two_requests() == 2  # owned elsewhere: its owner may change it
        leases.held["s"] = Lease("s", "node-a", 7, later_ms)
        assert await reads_of_two_requests() == 1
        # Taken over and back (another owner may have changed the key meanwhile).
        leases.held["s"] = Lease("s", "node-a", 9, later_ms)
        assert await reads_of_two_requests() == 1
        # The lease expired (this daemon was paused past it): read until renewed.
        leases.held["s"] = Lease("s", "node-a", 9, later_ms - 120_000)
        assert await reads_of_two_requests() == 2
        del leases.held["s"]
        assert await reads_of_two_requests() == 2
    finally:
        await db.close()
