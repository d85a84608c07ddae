"""``GET /sessions/{id}/events``: the session's event log as Server-Sent Events, a WebSocket, or
JSON pages; all three resume from a cursor (the session's ``seq`` of the last event seen).

* SSE (``Accept: text/event-stream``): each event is ``id: <seq>``, ``event: <type>``,
  ``data: <envelope>``; a reconnecting ``EventSource`` sends ``Last-Event-ID`` and continues
  right after it. A comment line every 15 s keeps proxies from closing an idle stream.
* WebSocket (an upgrade request): one text message per event, the same envelope.
* JSON (anything else): ``{"events": [...], "nextCursor": n}``, at most ``limit`` events.

``?after=<seq>`` sets the cursor explicitly; ``?types=a,b`` keeps only those event types.
A key restricted to some chats gets only the events of those chats (and those about no chat);
the key is read again for every event, so a change to its chats applies to its open streams at
once, and a revoked key's streams end (an idle stream within ``KEY_RECHECK_S``).
Every stream reads the committed log, so what a client sees after a reconnect is exactly what
it missed, in order, with the same ids.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from daemon.chat_scope import visible
from daemon.event_format import EventType, envelope, envelope_json
from http_api.keys import principal, services
from http_api.problems import bad_request
from http_api.routes.common import json_response, session_id_of
from http_api.validation import event_cursor, query_int
from storage.errors import StorageError
from storage.event_values import StoredEvent

log = structlog.get_logger("http_api.events")

HEARTBEAT_S = 15.0
SSE_RETRY_MS = 3000
STREAM_QUEUE = 256
MAX_PAGE = 1000
KEY_RECHECK_S = 2.0


class _Scope:
    """Which events the caller's key may see, as the key is when each event goes out (one
    primary-key read per event; the admin key reads nothing)."""

    def __init__(self, request: web.Request) -> None:
        self._keys = services(request).keys
        self._caller = principal(request)

    async def allows(self, event: StoredEvent) -> bool:
        """Whether to show ``event``; raises KeyRevoked when the key is gone."""
        current = await self._keys.current(self._caller)
        if current is None:
            raise KeyRevoked
        self._caller = current
        return visible(current.chats, event.data)


class KeyRevoked(Exception):
    """The stream's key was deleted while it was open."""


def _cursor(request: web.Request) -> int:
    """``?after=`` if given, else ``Last-Event-ID``, else 0; each, when present, is checked
    (an empty one included: it is not a seq)."""
    header = request.headers.get("Last-Event-ID")
    resumed = None if header is None else event_cursor(header, "the Last-Event-ID header")
    raw = request.query.get("after")
    if raw is not None:
        return event_cursor(raw, "query parameter 'after'")
    return 0 if resumed is None else resumed


async def _until_key_revoked(request: web.Request, session_id: str) -> None:
    """Returns once the caller's key is revoked (or its session deleted). _Scope notices that
    when the next event goes out; this notices it on an idle stream too, every
    ``KEY_RECHECK_S``. The admin key cannot be revoked."""
    caller = principal(request)
    if caller.is_admin:
        await asyncio.Event().wait()
    keys = services(request).keys
    while True:
        await asyncio.sleep(KEY_RECHECK_S)
        try:
            current = await keys.current(caller)
        except StorageError:
            continue  # a busy database is not a revocation; ask again next time
        if current is None or not current.may_access(session_id):
            log.info("http.stream_key_revoked", session=session_id)
            return


def _types(request: web.Request) -> frozenset[str] | None:
    """``?types=a,b``: event types, comma-separated, each one known (no blanks)."""
    raw = request.query.get("types")
    if raw is None:
        return None
    wanted = raw.split(",")
    known = {event.value for event in EventType}
    unknown = sorted(set(wanted) - known)
    if unknown:
        shown = ", ".join(repr(name) for name in unknown)
        raise bad_request(f"unknown event type(s) in 'types': {shown}")
    return frozenset(wanted)


async def session_events(request: web.Request) -> web.StreamResponse:
    session_id = session_id_of(request)
    after = _cursor(request)
    types = _types(request)
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _websocket(request, session_id, after, types)
    if "text/event-stream" in request.headers.get("Accept", ""):
        return await _sse(request, session_id, after, types)
    limit = query_int(request, "limit", 100, minimum=1, maximum=MAX_PAGE)
    events = await services(request).events.read(
        session_id, after_seq=after, limit=limit, types=types
    )
    next_cursor = events[-1].seq if events else after
    chats = principal(request).chats
    shown = [envelope(event) for event in events if visible(chats, event.data)]
    last_seq = await services(request).events.repo.last_seq(session_id)
    return json_response({"events": shown, "nextCursor": next_cursor, "lastSeq": last_seq})


async def _pump(source: AsyncIterator[StoredEvent], queue: asyncio.Queue[StoredEvent]) -> None:
    async for event in source:
        await queue.put(event)


async def _sse(
    request: web.Request, session_id: str, after: int, types: frozenset[str] | None
) -> web.StreamResponse:
    svc = services(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    await response.write(f"retry: {SSE_RETRY_MS}\n\n".encode())
    queue: asyncio.Queue[StoredEvent] = asyncio.Queue(STREAM_QUEUE)
    pump = asyncio.create_task(
        _pump(svc.events.follow(session_id, after_seq=after, types=types), queue)
    )
    closing = asyncio.create_task(svc.gate.closing.wait())
    scope = _Scope(request)
    revoked = asyncio.create_task(_until_key_revoked(request, session_id))
    try:
        while not pump.done():
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait(
                {getter, closing, revoked, pump},
                timeout=HEARTBEAT_S,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if getter not in done:
                getter.cancel()
                if closing in done or revoked in done:
                    break
                await response.write(b": keepalive\n\n")
                continue
            event = getter.result()
            if not await scope.allows(event):
                continue
            body = envelope_json(event)
            await response.write(f"id: {event.seq}\nevent: {event.type}\ndata: {body}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError, KeyRevoked):
        pass
    finally:
        pump.cancel()
        closing.cancel()
        revoked.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
    return response


async def _websocket(
    request: web.Request, session_id: str, after: int, types: frozenset[str] | None
) -> web.StreamResponse:
    svc = services(request)
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
    await socket.prepare(request)
    svc.gate.websockets.add(socket)

    scope = _Scope(request)

    async def send_events() -> None:
        try:
            async for event in svc.events.follow(session_id, after_seq=after, types=types):
                if await scope.allows(event):
                    await socket.send_str(envelope_json(event))
        except KeyRevoked:
            await socket.close(code=WSCloseCode.POLICY_VIOLATION, message=b"API key revoked")

    async def close_when_revoked() -> None:
        await _until_key_revoked(request, session_id)
        await socket.close(code=WSCloseCode.POLICY_VIOLATION, message=b"API key revoked")

    sender = asyncio.create_task(send_events())
    watcher = asyncio.create_task(close_when_revoked())
    try:
        async for message in socket:
            if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
            # Clients have nothing to say; the cursor is given when connecting.
    finally:
        sender.cancel()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        svc.gate.websockets.discard(socket)
    return socket


__all__ = ["session_events"]
