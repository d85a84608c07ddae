"""``wamd pair SESSION [--phone +NUMBER] [--print-payload]``: link a session from the terminal.

Shows each QR as it arrives (half-block characters with a quiet zone; redrawn in place on a
terminal), or with ``--print-payload`` the QR's payload string alone (one line per QR, for
scripts), or with ``--phone`` the 8-character code to type on that phone. Returns once the
first login after pairing is done (exit 0), or when pairing cannot finish (exit 1: QR codes
expired, refused, already paired...).

When a daemon answers on the configured address (or ``--url``), pairing goes through its API
(:mod:`daemon.pair_remote`): the running daemon owns the database. Only without a daemon does
this command open the database itself.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from daemon import config as config_module
from daemon import control, log, pair_remote, state_lock
from daemon.client.errors import ClientError
from daemon.client.events import Alert, Connected, Event, PairCode, QrCode, StateChanged
from daemon.client.qr import render_terminal
from daemon.client.session import Session
from daemon.client.state import SessionState
from daemon.config import Config
from storage.backend import open_stores
from storage.errors import StorageError

CLEAR_SCREEN = "\x1b[2J\x1b[H"
# States on the way to the first login; "connected" ends it through the Connected event.
PAIRING_STATES = (
    SessionState.PAIRING,
    SessionState.CONNECTING,
    SessionState.BACKING_OFF,
    SessionState.CONNECTED,
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pair = sub.add_parser("pair", help="link a session: show a QR (or a phone pairing code)")
    pair.add_argument("session", metavar="SESSION", help="session id (created if new)")
    pair.add_argument("--phone", metavar="+NUMBER", help="pair by code for this phone number")
    pair.add_argument("--config", metavar="PATH", type=Path, help="TOML configuration file")
    pair.add_argument(
        "--light-background",
        action="store_true",
        help="draw the QR for a terminal with a light background",
    )
    pair.add_argument(
        "--print-payload",
        action="store_true",
        help="print each QR's payload string (one line each) instead of drawing it",
    )
    pair.add_argument("--url", help="the running daemon's API (default: from the config)")
    pair.add_argument("--api-key", help="admin key (default: config, env, state directory)")
    pair.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Log lines would tear the QR apart: keep the console for it unless asked otherwise.
    if args.log_level.lower() == "info":
        log.configure(args.log_format, "warning")
    try:
        config = config_module.load(args.config)
    except config_module.ConfigError as exc:
        print(f"wamd pair: {exc}", file=sys.stderr)
        return 2
    url = args.url or control.base_url(config)
    if args.url or asyncio.run(pair_remote.daemon_answers(url)):
        try:
            key = control.find_key(config, args.api_key)
        except control.ControlError as exc:
            print(f"wamd pair: a daemon runs at {url}: {exc}", file=sys.stderr)
            return 2
        return control.run(
            pair_remote.pair_through_api(
                url,
                key,
                args.session,
                args.phone,
                light=args.light_background,
                print_payload=args.print_payload,
                out=sys.stdout,
            )
        )
    return asyncio.run(
        pair_session(
            config,
            args.session,
            args.phone,
            light=args.light_background,
            print_payload=args.print_payload,
        )
    )


async def pair_session(
    config: Config,
    session_id: str,
    phone: str | None,
    *,
    light: bool = False,
    print_payload: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    path = config.storage.database_path
    busy = state_lock.holder(path)
    if busy is not None:
        # The daemon owns this database; writing beside it made the two disagree.
        target = busy.url or "its API"
        print(
            f"wamd pair: {busy.describe()} owns {path} and did not answer at the configured "
            f"address; pair through its API: wamd pair {session_id} --url {target}",
            file=sys.stderr,
        )
        return 2
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        stores = await open_stores(path, url=config.storage.url, pool_size=config.storage.pool_size)
    except StorageError as exc:
        print(f"wamd pair: cannot open {path}: {exc}", file=sys.stderr)
        return 1
    try:
        session = await Session.open(stores, session_id, config.whatsapp)
        try:
            return await _pair(session, phone, light, print_payload, out)
        finally:
            await session.close()
    except (ClientError, StorageError) as exc:
        print(f"wamd pair: {exc}", file=sys.stderr)
        return 1
    finally:
        await stores.close()


async def _pair(
    session: Session, phone: str | None, light: bool, print_payload: bool, out: TextIO
) -> int:
    with session.events() as events:
        if phone is None:
            await session.pair()
        else:
            # The code also arrives as a PairCode event below, which prints it.
            await session.pair_with_code(phone)
        async for event in events:
            outcome = _show(event, out, light, print_payload)
            if outcome is not None:
                return outcome
    return 1


def _show(event: Event, out: TextIO, light: bool, print_payload: bool = False) -> int | None:
    """Renders one event; returns the exit code once pairing has finished either way."""
    if isinstance(event, QrCode) and print_payload:
        out.write(event.code + "\n")
        out.flush()
    elif isinstance(event, QrCode):
        if out.isatty():
            out.write(CLEAR_SCREEN)
        out.write(render_terminal(event.code, dark_background=not light))
        out.write(f"Scan with WhatsApp > Linked devices (QR {event.index + 1}).\n")
        out.flush()
    elif isinstance(event, PairCode) and event.code:
        _show_code(out, event.code, event.phone)
    elif isinstance(event, Connected):
        out.write(f"Paired and logged in as {event.jid}.\n")
        out.flush()
        return 0
    elif isinstance(event, Alert):
        out.write(f"{event.kind.value}: {event.message}\n")
        out.flush()
    elif isinstance(event, StateChanged) and event.to_state not in PAIRING_STATES:
        out.write(f"Pairing ended ({event.to_state.value}): {event.reason}\n")
        out.flush()
        return 1
    return None


def _show_code(out: TextIO, code: str, phone: str) -> None:
    out.write(
        f"Pairing code for +{phone.lstrip('+')}: {code}\n"
        "On the phone: WhatsApp > Linked devices > Link with phone number, then type it.\n"
    )
    out.flush()
