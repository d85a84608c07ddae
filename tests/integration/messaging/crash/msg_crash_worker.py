"""A wamd process for the crash test: logs in, receives a burst, and SIGKILLs itself.

    python msg_crash_worker.py DB WS_URL ROOT_HEX KILL_AFTER JITTER_S

DB is the SQLite file; with ``WAMD_STORAGE_URL`` set in the environment, the session is stored
in that PostgreSQL database instead and DB's directory only holds files (as in the daemon).

It dies ``JITTER_S`` seconds after its ``KILL_AFTER``-th stored message (a thread of its own
sends SIGKILL, so the kill lands wherever the event loop is: inside a transaction, between a
commit and its receipt, in the middle of a decrypt). The thread watches the receiver's count of
messages stored, not the session's events: while the client drains a backlog its events reach
a subscriber in large batches, and a kill counted from them could land after the whole burst
was stored (the restart would then have nothing to prove). Nothing is flushed or closed
politely. It prints JSON lines: ``{"connected": jid}`` once it can receive, ``{"stored": n}``
every 50 messages (from the events).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time

import structlog

from daemon.client.context import ClientOptions
from daemon.client.events import Connected
from daemon.client.message_events import MessageReceived
from daemon.client.session import Session
from daemon.config import WhatsAppConfig
from storage.backend import open_stores

OPTIONS = ClientOptions(
    keepalive_min=5.0,
    keepalive_max=6.0,
    keepalive_timeout=5.0,
    backoff_base=0.005,
    backoff_cap=0.05,
    iq_timeout=10.0,
)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_after_stored(session: Session, count: int, jitter: float) -> None:
    """Dies ``jitter`` seconds after the receiver has stored ``count`` messages."""

    def stored() -> int:
        receiver = session.messenger.receiver
        return 0 if receiver is None else receiver.stored

    def watch() -> None:
        while stored() < count:
            time.sleep(0.001)
        time.sleep(jitter)
        die()

    threading.Thread(target=watch, daemon=True).start()


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def main(db_path: str, ws_url: str, root: str, kill_after: str, jitter: str) -> int:
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )
    config = WhatsAppConfig(ws_url=ws_url, root_public_key=root, iq_timeout_s=10.0)
    stores = await open_stores(db_path, url=os.environ.get("WAMD_STORAGE_URL", ""))
    session = await Session.open(stores, "main", config, options=OPTIONS)
    stored = 0
    armed = False
    with session.events() as events:
        await session.connect()
        async for event in events:
            if isinstance(event, Connected):
                if not armed:  # one watcher, whatever reconnects follow
                    kill_after_stored(session, int(kill_after), float(jitter))
                    armed = True
                emit(connected=event.jid)
            elif isinstance(event, MessageReceived):
                stored += 1
                if stored % 50 == 0:
                    emit(stored=stored)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:6])))
