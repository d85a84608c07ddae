"""``media_conn``: the media hosts and the upload auth token, kept for their TTL.

Request ``iq(xmlns=w:m, type=set) > media_conn``; answer ``media_conn(auth, ttl, auth_ttl,
max_buckets) > host(hostname)*`` (protocol-inventory §8.1). whatsmeow refuses an answer that
lacks any of the four attributes or a host's hostname, and so do we: a half answer would only
fail later, at the upload.

The answer is good for ``ttl`` seconds (the host list) and the token for ``auth_ttl``; the
cache asks again after the shorter of the two, or at once after an upload was refused for its
token (:meth:`MediaConnCache.invalidate`). One refresh runs at a time however many transfers
wait for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from daemon.binary import Node
from daemon.client.errors import IqError, IqTimeout
from daemon.client.iq import build_iq
from daemon.client.sync_errors import MediaConnError

MEDIA_CONN_XMLNS = "w:m"

Query = Callable[[Node], Awaitable[Node]]


@dataclass(frozen=True, slots=True)
class MediaHost:
    hostname: str
    """``host[:port]``, as the server lists it."""
    max_content_length: int | None = None


@dataclass(frozen=True, slots=True)
class MediaConn:
    auth: str
    ttl: int
    auth_ttl: int
    max_buckets: int
    hosts: tuple[MediaHost, ...]
    fetched_at: float

    @property
    def expires_at(self) -> float:
        return self.fetched_at + min(self.ttl, self.auth_ttl)

    def valid(self, now: float) -> bool:
        return now < self.expires_at


def build_media_conn_iq() -> Node:
    return build_iq(MEDIA_CONN_XMLNS, "set", [Node("media_conn")])


def parse_media_conn(answer: Node, now: float) -> MediaConn:
    conn = answer.child("media_conn")
    if conn is None:
        raise MediaConnError("the media_conn answer has no media_conn")
    auth = conn.attr_str("auth")
    try:
        ttl = conn.attr_int("ttl")
        auth_ttl = conn.attr_int("auth_ttl")
        buckets = conn.attr_int("max_buckets")
    except ValueError as exc:
        raise MediaConnError(f"media_conn: {exc}") from None
    if not auth or ttl is None or auth_ttl is None or buckets is None:
        raise MediaConnError("media_conn lacks auth, ttl, auth_ttl or max_buckets")
    hosts: list[MediaHost] = []
    for host in conn.children_by_tag("host"):
        name = host.attr_str("hostname")
        if not name:
            raise MediaConnError("a media_conn host has no hostname")
        limit = host.attrs.get("maxContentLengthBytes")
        size = int(limit) if isinstance(limit, str) and limit.isdigit() else None
        hosts.append(MediaHost(name, size))
    if not hosts:
        raise MediaConnError("media_conn lists no host")
    return MediaConn(auth, ttl, auth_ttl, buckets, tuple(hosts), now)


class MediaConnCache:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._current: MediaConn | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        """media_conn iqs sent (for tests and metrics)."""

    def invalidate(self) -> None:
        self._current = None

    async def get(self, query: Query, timeout: float | None = None) -> MediaConn:
        """A valid media_conn, asking the server (through ``query``) when none is cached."""
        current = self._current
        if current is not None and current.valid(self._clock()):
            return current
        async with self._lock:
            current = self._current
            if current is not None and current.valid(self._clock()):
                return current
            try:
                answer = await asyncio.wait_for(query(build_media_conn_iq()), timeout)
            except (IqError, IqTimeout, TimeoutError) as exc:
                raise MediaConnError(f"media_conn refused: {exc}") from None
            self.fetches += 1
            current = parse_media_conn(answer, self._clock())
            self._current = current
            return current
