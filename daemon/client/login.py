"""After ``<success>``: our LID, prekeys, passive → active, then the rest of a normal start.

The sequence (protocol-inventory §4.2, whatsmeow's order for the essentials, Baileys' for the
rest):

1. keep the server clock from ``success t`` and our own LID (stored when we had none);
2. ask for the server's prekey count and upload when low (812 the first time, else 50);
3. ``iq passive set > active`` — the server starts delivering; the session is now *connected*;
4. ``iq encrypt get > digest`` (an answer without a digest makes us upload again);
5. ``ib > unified_session``, then props, blocklist and privacy queries (answers are logged; an
   error there does not end the connection);
6. ``presence available`` with our push name (no push name, no presence: the server refuses).

Steps 2 and 3 are essential: if one fails, the connection ends and the session backs off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from daemon.binary import JID, Node
from daemon.client.connection import Connection
from daemon.client.context import SessionContext
from daemon.client.errors import IqError, IqTimeout, StanzaError
from daemon.client.iq import build_iq
from daemon.client.stream_errors import connection_lost

UNIFIED_SESSION_OFFSET_MS = 3 * 24 * 3600 * 1000
WEEK_MS = 7 * 24 * 3600 * 1000


class LidWriter(Protocol):
    async def set_lid_if_missing(self, session_id: str, lid_jid: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class LoginSuccess:
    server_time: float | None
    lid: JID | None


def parse_success(node: Node) -> LoginSuccess:
    t = node.attr_str("t")
    lid = node.attr_jid("lid")
    return LoginSuccess(float(t) if t is not None and t.isdigit() else None, lid)


def build_passive_active() -> Node:
    return build_iq("passive", "set", [Node("active")])


def build_digest_query() -> Node:
    return build_iq("encrypt", "get", [Node("digest")])


def build_props_query() -> Node:
    return build_iq("abt", "get", [Node("props", {"protocol": "1"})])


def build_blocklist_query() -> Node:
    return build_iq("blocklist", "get")


def build_privacy_query() -> Node:
    return build_iq("privacy", "get", [Node("privacy")])


def unified_session_id(now_ms: int) -> str:
    return str((now_ms + UNIFIED_SESSION_OFFSET_MS) % WEEK_MS)


def build_unified_session(now_ms: int) -> Node:
    return Node("ib", {}, [Node("unified_session", {"id": unified_session_id(now_ms)})])


def build_presence(push_name: str, available: bool = True) -> Node:
    # Baileys strips '@' from the name: the server rejects names that look like JIDs.
    return Node(
        "presence",
        {"type": "available" if available else "unavailable", "name": push_name.replace("@", "")},
    )


class LoginFlow:
    def __init__(
        self,
        ctx: SessionContext,
        conn: Connection,
        lids: LidWriter,
        on_connected: Callable[[LoginSuccess], Awaitable[None]],
    ) -> None:
        self._ctx = ctx
        self._conn = conn
        self._lids = lids
        self._on_connected = on_connected
        self.server_offset = 0.0
        self.done = False

    async def on_success(self, node: Node) -> None:
        success = parse_success(node)
        if success.server_time is not None:
            self.server_offset = success.server_time - self._ctx.now()
        # The sequence waits for iq answers, which this handler's caller (the reader) delivers.
        self._conn.spawn(self._after_success(success))

    async def _after_success(self, success: LoginSuccess) -> None:
        ctx, conn = self._ctx, self._conn
        credentials = ctx.require_credentials()
        if success.lid is not None:
            await self._remember_lid(success.lid)
        try:
            await ctx.prekeys.ensure(credentials, conn.query)
            await conn.query(build_passive_active())
        except (IqError, IqTimeout, StanzaError) as exc:
            conn.end(connection_lost(f"post-login sequence failed: {exc}"))
            return
        await self._on_connected(success)
        self.done = True
        await self._start_extras()

    async def _remember_lid(self, lid: JID) -> None:
        ctx = self._ctx
        credentials = ctx.require_credentials()
        if credentials.lid_jid is None:
            if await self._lids.set_lid_if_missing(ctx.session_id, str(lid)):
                ctx.credentials = await ctx.store.credentials.load(ctx.session_id)
                ctx.log.info("client.own_lid_saved", lid=str(lid))
        elif JID.parse(credentials.lid_jid).to_non_ad() != lid.to_non_ad():
            ctx.log.warning("client.own_lid_mismatch", stored=credentials.lid_jid, server=str(lid))

    async def _start_extras(self) -> None:
        ctx, conn = self._ctx, self._conn
        try:
            digest = await conn.query(build_digest_query())
            if digest.child("digest") is None:
                ctx.log.info("client.digest_missing", action="upload prekeys")
                await ctx.prekeys.force_upload(ctx.require_credentials(), conn.query)
        except (IqError, IqTimeout) as exc:
            ctx.log.warning("client.digest_failed", error=str(exc))
        now_ms = int((ctx.now() + self.server_offset) * 1000)
        await conn.send(build_unified_session(now_ms))
        for name, request in (
            ("props", build_props_query()),
            ("blocklist", build_blocklist_query()),
            ("privacy", build_privacy_query()),
        ):
            try:
                await conn.query(request)
            except (IqError, IqTimeout) as exc:
                ctx.log.warning("client.query_failed", query=name, error=str(exc))
        push_name = ctx.require_credentials().push_name or ctx.config.push_name
        if push_name:
            await conn.send(build_presence(push_name))
