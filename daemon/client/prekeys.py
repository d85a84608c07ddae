"""One-time prekeys: keep enough of them on the server for peers to start sessions with us.

After every login the client asks the server how many it holds (``iq encrypt get > count``) and
uploads when it or our own uploaded stock is below 5: 812 on the very first upload, 50 later
(whatsmeow's numbers). The server also pushes ``notification type=encrypt > count`` when peers
have used them up. Keys are generated and stored *before* the upload (not uploaded yet); they
are flagged uploaded only after the server's result. A crash in between means the same stored
keys go up again next time — never keys the server has that we lack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from daemon.binary import Node
from daemon.client.errors import StanzaError
from daemon.client.iq import build_iq
from daemon.signal.keys import generate_prekeys
from storage.interfaces import AuthStore
from storage.values import DeviceCredentials, PreKey, PreKeyRow, SignedPreKey

MIN_PREKEYS = 5
WANTED_PREKEYS = 50
INITIAL_PREKEYS = 812
DJB_KEY_TYPE = b"\x05"

QueryFn = Callable[[Node], Awaitable[Node]]
"""Sends an iq and returns its result (``Connection.query``)."""


def build_count_query() -> Node:
    return build_iq("encrypt", "get", [Node("count")])


def parse_count(answer: Node) -> int:
    count = answer.child("count")
    if count is None:
        raise StanzaError("prekey count answer has no <count>")
    value = count.attr_int("value")
    if value is None or value < 0:
        raise StanzaError("prekey count answer has no valid value")
    return value


def _key_node(tag: str, key_id: int, public: bytes, signature: bytes | None = None) -> Node:
    children = [Node("id", {}, key_id.to_bytes(3, "big")), Node("value", {}, public)]
    if signature is not None:
        children.append(Node("signature", {}, signature))
    return Node(tag, {}, children)


def build_upload(
    registration_id: int,
    identity_public: bytes,
    signed_prekey: SignedPreKey,
    prekeys: Sequence[PreKeyRow | PreKey],
) -> Node:
    """``iq encrypt set > registration, type, identity, list > key*, skey`` (raw 32-byte keys)."""
    return build_iq(
        "encrypt",
        "set",
        [
            Node("registration", {}, registration_id.to_bytes(4, "big")),
            Node("type", {}, DJB_KEY_TYPE),
            Node("identity", {}, identity_public),
            Node("list", {}, [_key_node("key", p.key_id, p.public) for p in prekeys]),
            _key_node(
                "skey",
                signed_prekey.key_id,
                signed_prekey.key_pair.public,
                signed_prekey.signature,
            ),
        ],
    )


def parse_low_count_notification(node: Node) -> int | None:
    """``notification type=encrypt > count value=N``: how many the server has left."""
    count = node.child("count")
    if count is None:
        return None
    return count.attr_int("value")


@dataclass(frozen=True, slots=True)
class UploadPlan:
    count: int
    """How many prekeys to upload (0: none needed)."""
    initial: bool


def plan_upload(server_count: int, local_uploaded: int) -> UploadPlan:
    if server_count >= MIN_PREKEYS and local_uploaded >= MIN_PREKEYS:
        return UploadPlan(0, False)
    initial = server_count == 0 and local_uploaded == 0
    return UploadPlan(INITIAL_PREKEYS if initial else WANTED_PREKEYS, initial)


class PreKeyManager:
    """Generates, stores and uploads one session's prekeys; one upload at a time."""

    def __init__(
        self,
        store: AuthStore,
        session_id: str,
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self._store = store
        self._session_id = session_id
        self._log = log
        self._lock = asyncio.Lock()
        self.uploads = 0
        """Successful uploads by this manager (for tests and metrics)."""

    async def pending(self, wanted: int) -> list[PreKeyRow]:
        """``wanted`` prekeys not yet uploaded: stored ones first (a crash may have left some),
        then new ones, generated and stored in one transaction with their ids."""
        sid = self._session_id
        stored = await self._store.prekeys.list_not_uploaded(sid, wanted)
        missing = wanted - len(stored)
        if missing <= 0:
            return stored
        async with self._store.transaction():
            ids = await self._store.credentials.allocate_prekey_ids(sid, missing)
            fresh = generate_prekeys(ids.start, missing)
            await self._store.prekeys.add_batch(
                sid,
                [PreKey(p.key_id, p.key_pair.private, p.key_pair.public) for p in fresh],
            )
        return await self._store.prekeys.list_not_uploaded(sid, wanted)

    async def ensure(self, credentials: DeviceCredentials, query: QueryFn) -> int:
        """Uploads when the server or our stock is low; returns how many were uploaded.

        The server's count is asked for under the lock every time, never taken from a
        low-count notification: several of those arrive while peers drain the keys, and each
        carries a count from before the upload that answers it."""
        async with self._lock:
            server_count = parse_count(await query(build_count_query()))
            local = await self._store.prekeys.count(self._session_id, uploaded=True)
            plan = plan_upload(server_count, local)
            self._log.info(
                "client.prekey_count", server=server_count, local_uploaded=local, upload=plan.count
            )
            if plan.count == 0:
                return 0
            return await self._upload(credentials, query, plan.count)

    async def force_upload(self, credentials: DeviceCredentials, query: QueryFn) -> int:
        async with self._lock:
            return await self._upload(credentials, query, WANTED_PREKEYS)

    async def _upload(self, credentials: DeviceCredentials, query: QueryFn, count: int) -> int:
        keys = credentials.keys
        batch = await self.pending(count)
        self._log.debug("client.prekeys_stored", count=len(batch))
        await query(
            build_upload(keys.registration_id, keys.identity.public, keys.signed_prekey, batch)
        )
        async with self._store.transaction():
            await self._store.prekeys.mark_uploaded(self._session_id, [p.key_id for p in batch])
            await self._store.credentials.set_server_has_prekeys(self._session_id, True)
        self.uploads += 1
        self._log.info("client.prekeys_uploaded", count=len(batch))
        return len(batch)
