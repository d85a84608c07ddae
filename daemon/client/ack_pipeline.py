"""What the receive path owes the server, sent in arrival order once it is durable.

The dispatcher hands each message stanza's outcome here without waiting for its commit: the
receipt or ack, the events to publish and the protocol hooks to start, with the pending commit
of its pipelined unit (``MessagingContext.pipelined_unit``). One task per connection, started
when something is owed and ending when nothing is, takes them in order, waits for each commit,
and only then acknowledges, publishes and starts the hooks. So the dispatcher can take the next
stanza while the previous one's commit is open, consecutive messages of a backlog share one
commit (one fsync), and nothing is acked before it is on disk.
The stanzas found durable together are acknowledged together: consecutive receipts to the same
chat become one receipt listing their ids (``merge_receipts``; Baileys' ``sendReceipts`` uses the
same shape), so a backlog costs one stanza out, and one server ack back, per chat and commit.

A commit that fails (or takes longer than ``COMMIT_TIMEOUT_S``) raises out of the task, which
ends the connection: nothing after it is acked, and the server delivers it again (a stored
message is then only receipted again). The queue is bounded, so a socket that does not take
the receipts holds the dispatcher back instead of piling up work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from daemon.binary import Node
from daemon.client.connection import Connection
from daemon.client.message_context import COMMIT_TIMEOUT_S, MessagingContext, PendingUnit
from daemon.client.receipts import MAX_MERGED_IDS, merge_receipts
from daemon.client.slim_queue import SlimQueue

MAX_OWED: Final = 256
"""Stanzas handled but not yet acknowledged; beyond this the dispatcher waits."""

Hook = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Owed:
    """One stanza's outcome: sent (in order) once ``unit``'s commit is durable."""

    replies: Sequence[Node]
    unit: PendingUnit | None = None
    hooks: Sequence[Hook] = field(default_factory=tuple)
    started: float | None = None
    """When the stanza's handling began (``time.perf_counter``), to observe persist time."""


class AckPipeline:
    def __init__(self, m: MessagingContext, connection: Connection) -> None:
        self._m = m
        self._connection = connection
        self._owed: SlimQueue[Owed] = SlimQueue(MAX_OWED)
        self._running = False
        self.acked = 0
        """Stanzas whose replies went out (for tests and metrics)."""

    @property
    def running(self) -> bool:
        """Whether its task is under way (only while something is owed)."""
        return self._running

    async def submit(self, owed: Owed) -> None:
        await self._owed.put(owed)
        if not self._running:
            self._running = True
            self._connection.spawn(self._run())

    async def _run(self) -> None:
        """In order, wait for each commit and send; ends once nothing is owed (an idle
        connection holds no task for it: the next submit starts one)."""
        held: Owed | None = None
        try:
            while held is not None or not self._owed.empty():
                first = held if held is not None else self._owed.get_nowait()
                held = None
                await _durable(first)
                # Whatever queued behind it is already durable goes out with it: the receipts
                # of one commit as one stanza per chat (merge_receipts).
                run = [first]
                while len(run) < MAX_MERGED_IDS and not self._owed.empty():
                    owed = self._owed.get_nowait()
                    if not _committed(owed):
                        held = owed
                        break
                    await _durable(owed)
                    run.append(owed)
                for reply in merge_receipts([reply for owed in run for reply in owed.replies]):
                    await self._connection.send(reply)
                for owed in run:
                    self._acked(owed)
        finally:
            self._running = False

    def _acked(self, owed: Owed) -> None:
        if owed.started is not None:
            self._m.session.counters.observe_persist(time.perf_counter() - owed.started)
        self.acked += 1
        if owed.unit is not None:
            # After the ack: whoever sees the event may take the stanza as acknowledged.
            self._m.publish(owed.unit.events)
        for hook in owed.hooks:
            self._connection.spawn(hook())


def _committed(owed: Owed) -> bool:
    unit = owed.unit
    return unit is None or unit.commit is None or unit.commit.done()


async def _durable(owed: Owed) -> None:
    """Returns once the commit holding ``owed``'s unit is durable; raises its failure."""
    unit = owed.unit
    if unit is not None and unit.commit is not None:
        await unit.commit.wait(COMMIT_TIMEOUT_S)
