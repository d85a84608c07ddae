"""A client process for the crash tests: pairs (or logs in) one session and gets SIGKILLed.

    python client_crash_worker.py DB WS_URL ROOT_HEX pair|connect KILL

KILL is ``none``, ``<log event>:<n>`` (die at the n-th log line with that event name: a
deterministic point between two steps), or ``<log event>:<n>+<seconds>`` (die that long after
it: a random point inside the next step). The process kills itself with SIGKILL, so nothing is
flushed, closed or rolled back politely. QR codes go to stdout as JSON lines for the test to
scan; logs go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

import structlog
from client_harness import FAST

from daemon.client.events import Connected, QrCode, StateChanged
from daemon.client.session import Session
from daemon.client.state import SessionState
from daemon.config import WhatsAppConfig
from storage.backend import open_stores


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def killer(spec: str) -> structlog.typing.Processor:
    event_name, _, rest = spec.partition(":")
    nth_text, _, delay_text = rest.partition("+")
    nth = int(nth_text or "1")
    delay = float(delay_text) if delay_text else None
    seen = 0

    def processor(
        logger: object, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        nonlocal seen
        if spec != "none" and event_dict.get("event") == event_name:
            seen += 1
            if seen == nth:
                if delay is None:
                    die()
                else:
                    threading.Timer(delay, die).start()
        return event_dict

    return processor


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def main(db_path: str, ws_url: str, root: str, mode: str, kill: str) -> int:
    structlog.configure(
        processors=[killer(kill), structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    config = WhatsAppConfig(ws_url=ws_url, root_public_key=root, iq_timeout_s=5.0)
    # WAMD_STORAGE_URL set: the session lives in that PostgreSQL database, as in the daemon.
    stores = await open_stores(db_path, url=os.environ.get("WAMD_STORAGE_URL", ""))
    session = await Session.open(stores, "crashy", config, options=FAST)
    with session.events() as events:
        if mode == "pair":
            await session.pair()
        else:
            await session.connect()
        async for event in events:
            if isinstance(event, QrCode):
                emit(qr=event.code)
            elif isinstance(event, Connected):
                emit(connected=event.jid)
                await asyncio.sleep(0.3)  # let the post-login sequence finish
                break
            elif isinstance(event, StateChanged) and event.to_state in (
                SessionState.LOGGED_OUT,
                SessionState.STOPPED,
                SessionState.NEEDS_ATTENTION,
            ):
                emit(state=event.to_state.value)
                break
    await session.close()
    await stores.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:6])))
