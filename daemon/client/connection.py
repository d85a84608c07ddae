"""One live socket of a session: the reader, the iq router, the handler table, send.

A :class:`Connection` is made for one websocket and dies with it. :meth:`Connection.run` owns
every task of that socket in one TaskGroup (the reader, the dispatcher, each keepalive ping,
whatever a handler spawns) and returns the :class:`~daemon.client.disconnect.Decision` that
ended it: the first of a stream error, a failure, a dead keepalive, a broken socket, or a local
verdict (QR refs exhausted). When ``run`` returns, the socket is closed, every task is finished
and every pending iq failed. Between pings the keepalive is a timer, not a task: an idle
connection holds two tasks (the reader and the dispatcher) and what its handlers left running.

The reader hands answers to our iqs to their waiters at once, and every other stanza to the
dispatcher, which runs the handlers one at a time in arrival order. So an answer never waits
behind stanzas still being handled: after a login the server sends the offline backlog (hundreds
of messages, each decrypted and committed before its ack) ahead of the answers to the post-login
queries and keepalive pings, and a handler may need one of those answers to finish. How the
socket ended is queued behind the stanzas read before it, so a stream error followed by the close
still decides.

:class:`Dialer` is the seam to the transport: the session dials through it, so tests can count
sockets and the daemon uses :func:`transport_dialer` over ``daemon.wire.transport``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import structlog

from daemon.binary import DecodeError, Node
from daemon.client.context import ClientCounters
from daemon.client.disconnect import Decision
from daemon.client.errors import IqError, IqTimeout
from daemon.client.iq import IqRouter, is_answer
from daemon.client.keepalive import Keepalive, build_ping
from daemon.client.router import Router
from daemon.client.slim_queue import SlimQueue
from daemon.client.stream_errors import connection_lost
from daemon.crypto.curve import KeyPair
from daemon.wire.errors import TransportClosed, TransportTimeout, WireError
from daemon.wire.transport import NoiseWebSocket, TransportConfig
from daemon.wire.transport import connect as transport_connect

Clock = Callable[[], float]

MAX_QUEUED_STANZAS = 10_000
"""Stanzas read but not yet handled; beyond this the reader waits (and the server with it)."""
CLOSE_GRACE_S = 2.0
"""How long the handlers get, once the socket ended, to reach the stanzas read before the end
(a stream error there decides) before the end decides without them."""


class NodeSocket(Protocol):
    """What a connection needs from a transport (``NoiseWebSocket`` is one)."""

    async def send_node(self, node: Node) -> None: ...

    async def receive_node(self, timeout: float | None = None) -> Node: ...

    async def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...


class Dialer(Protocol):
    """Opens a socket and runs the handshake with our Noise key and a ClientPayload."""

    async def __call__(
        self, static: KeyPair, client_payload: Callable[[], bytes]
    ) -> NodeSocket: ...


def transport_dialer(config: TransportConfig, clock: Clock) -> Dialer:
    async def dial(static: KeyPair, client_payload: Callable[[], bytes]) -> NodeSocket:
        socket: NoiseWebSocket = await transport_connect(
            config, static=static, client_payload=client_payload, now=clock
        )
        return socket

    return dial


class Connection:
    def __init__(
        self,
        socket: NodeSocket,
        router: Router,
        *,
        clock: Clock,
        keepalive: Keepalive,
        iq_timeout: float,
        log: structlog.typing.FilteringBoundLogger,
        counters: ClientCounters | None = None,
    ) -> None:
        self._socket = socket
        self._counters = counters or ClientCounters()
        self.router = router
        self._clock = clock
        self.keepalive = keepalive
        self._log = log
        self.iq = IqRouter(self.send, default_timeout=iq_timeout)
        self._ended: asyncio.Future[Decision] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ping_timer: asyncio.TimerHandle | None = None
        """The next keepalive ping's timer: an idle connection holds no task for it."""
        self._backlog: list[Coroutine[Any, Any, None]] = []
        self._finished = False
        self._inbound: SlimQueue[Node | Decision] = SlimQueue(MAX_QUEUED_STANZAS)

    # ------------------------------------------------------------------ sending

    async def send(self, node: Node) -> None:
        await self._socket.send_node(node)
        self._counters.frames_out += 1

    async def query(self, request: Node, timeout: float | None = None) -> Node:
        return await self.iq.query(request, timeout)

    async def ping(self, timeout: float) -> float:
        """A ``w:p`` ping outside the keepalive schedule (a status check); returns the round
        trip in seconds and records the answer as liveness evidence. Raises IqTimeout."""
        sent_at = self._clock()
        # An error answer still proves the socket carries traffic both ways.
        with contextlib.suppress(IqError):
            await self.iq.query(build_ping(), timeout=timeout)
        answered = self._clock()
        self.keepalive.on_probe_answer(sent_at, answered)
        return answered - sent_at

    # ------------------------------------------------------------------ lifetime

    @property
    def ended(self) -> bool:
        # run() cancelled from outside (the session stopping) sets no verdict, but the
        # connection is over all the same.
        return self._finished or (self._ended is not None and self._ended.done())

    def end(self, decision: Decision) -> None:
        """Ends the connection with ``decision`` (the first verdict wins)."""
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(decision)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Runs ``coro`` as a task of this connection (cancelled when it ends)."""
        if self.ended:
            # Too late to run: the work belongs to a connection that is gone (the next login
            # starts its own). Closing it avoids a "coroutine was never awaited" warning.
            coro.close()
            return
        if self._group is None:
            self._backlog.append(coro)
        else:
            self._start(self._group, coro)

    def _start(self, group: asyncio.TaskGroup, coro: Coroutine[Any, Any, None]) -> None:
        task = group.create_task(self._guarded(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # A task cancelled before its first step (the connection ending in the same loop
        # iteration) never starts ``coro``; closing it then is quiet, and a no-op otherwise.
        task.add_done_callback(lambda _task: coro.close())

    async def _guarded(self, coro: Coroutine[Any, Any, None]) -> None:
        # A handler that fails must end this connection, not leak out of the TaskGroup and
        # cancel its siblings half-way; the session decides what happens next.
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except HandlerFailed as exc:
            self._fail(exc)
        except (TransportClosed, TransportTimeout) as exc:
            # A task was sending when the socket went away; the reader sees the end as well
            # and decides, after the stanzas read before it.
            self._log.debug("client.task_lost_socket", error=str(exc))
        except Exception as exc:
            self._fail(HandlerFailed(exc))

    def _fail(self, exc: HandlerFailed) -> None:
        if self._ended is not None and not self._ended.done():
            self._ended.set_exception(exc)

    async def run(self, *tasks: Callable[[], Coroutine[Any, Any, None]]) -> Decision:
        """Reads and dispatches until the connection ends; returns why it ended. Raises
        HandlerFailed when a handler failed (its cause attached)."""
        self._ended = asyncio.get_running_loop().create_future()
        self.keepalive.start(self._clock())
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._start(group, self._read())
                self._start(group, self._dispatch())
                self._arm_keepalive()
                for task in tasks:
                    self._start(group, task())
                for coro in self._backlog:
                    self._start(group, coro)
                self._backlog.clear()
                try:
                    await asyncio.wait({self._ended})
                finally:
                    if self._ping_timer is not None:
                        self._ping_timer.cancel()
                        self._ping_timer = None
                    for running in list(self._tasks):
                        running.cancel()
            # Outside the TaskGroup, so a handler failure is raised as itself, not as a group.
            return self._ended.result()
        finally:
            self._group = None
            self._finished = True
            for coro in self._backlog:
                coro.close()
            self._backlog.clear()
            self.iq.close(ConnectionResetError("connection ended"))
            with contextlib.suppress(WireError, OSError):
                await self._socket.close()

    # ------------------------------------------------------------------ reader

    async def _read(self) -> None:
        while True:
            try:
                # The keepalive bounds silence; this timeout only backs it up.
                node = await self._socket.receive_node(timeout=self.keepalive.interval_max * 4)
            except TransportClosed as exc:
                await self._socket_ended(connection_lost(f"socket closed: {exc}"))
                return
            except TransportTimeout as exc:
                await self._socket_ended(connection_lost(f"socket silent: {exc}"))
                return
            except DecodeError as exc:
                self._log.warning("client.undecodable_frame", error=str(exc))
                continue
            except WireError as exc:
                await self._socket_ended(connection_lost(f"transport error: {exc}"))
                return
            now = self._clock()
            self.keepalive.on_frame(now)
            self._counters.frames_in += 1
            if is_answer(node):
                if not self.iq.resolve(node):
                    self._log.debug("client.unexpected_iq_answer", id=node.attr_str("id"))
                continue
            self.keepalive.on_stanza(now)
            inbound = self._inbound
            if inbound.full():
                await inbound.put(node)
            else:
                inbound.put_nowait(node)

    async def _socket_ended(self, decision: Decision) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._inbound.put_nowait(decision)
        if self._ended is not None:
            await asyncio.wait({self._ended}, timeout=CLOSE_GRACE_S)
        self.end(decision)

    async def _dispatch(self) -> None:
        while True:
            item = await self._inbound.get()
            if isinstance(item, Decision):
                self.end(item)
                return
            try:
                await self.router.dispatch(item)
            except (TransportClosed, TransportTimeout) as exc:
                # The socket ended while a handler answered (an ack, a receipt): the stanza
                # was not acknowledged and comes again; what was read before the end (a stream
                # error) still decides how the connection ended.
                self._log.debug("client.handler_lost_socket", tag=item.tag, error=str(exc))

    # ------------------------------------------------------------------ keepalive

    def _arm_keepalive(self) -> None:
        if self._group is None or self.ended:
            return  # a pong that came as the connection ended: no timer to keep it alive
        delay = max(0.0, self.keepalive.next_ping_at - self._clock())
        self._ping_timer = asyncio.get_running_loop().call_later(delay, self._keepalive_due)

    def _keepalive_due(self) -> None:
        self._ping_timer = None
        group = self._group
        if group is None or self.ended:
            return
        if not self.keepalive.ping_due(self._clock()):
            self._arm_keepalive()
            return
        self._start(group, self._ping())

    async def _ping(self) -> None:
        keepalive = self.keepalive
        keepalive.on_ping_sent(self._clock())
        try:
            await self.iq.query(build_ping(), timeout=keepalive.answer_timeout)
        except IqError:
            pass  # an error answer still proves the socket works
        except IqTimeout:
            self.end(connection_lost(f"keepalive: no answer within {keepalive.answer_timeout:g} s"))
            return
        keepalive.on_pong(self._clock())
        self._arm_keepalive()


class HandlerFailed(Exception):
    """A stanza handler or connection task raised; ``__cause__``/``cause`` is the error."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause
