"""The daemon's subcommands of ``wamd``: run, sessions, send, status, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from daemon import config as config_module
from daemon import control, event_loop, log
from daemon.config import Config
from daemon.event_loop import EventLoopKind, EventLoopUnavailable
from daemon.state_lock import StateBusy
from storage.errors import StorageError


def _load(args: argparse.Namespace) -> Config | None:
    try:
        return config_module.load(args.config)
    except config_module.ConfigError as exc:
        print(f"wamd {args.command}: {exc}", file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    from daemon.service import run_daemon

    config = _load(args)
    if config is None:
        return 2
    # An explicit command-line option wins; otherwise the file's [log] section applies.
    fmt = args.log_format if args.log_format != "json" else config.log.format
    level = args.log_level if args.log_level.lower() != "info" else config.log.level
    log.configure("console" if fmt == "console" else "json", level)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            return event_loop.run(run_daemon(config), EventLoopKind(config.runtime.event_loop))
    except EventLoopUnavailable as exc:
        print(f"wamd run: {exc}", file=sys.stderr)
        return 2
    except config_module.ConfigError as exc:
        print(f"wamd run: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"wamd run: cannot open the database: {exc}", file=sys.stderr)
        return 1
    except StateBusy as exc:
        print(f"wamd run: {exc}; stop it first", file=sys.stderr)
        return 1
    return 0


def _target(args: argparse.Namespace) -> tuple[str, str] | None:
    config = _load(args)
    if config is None:
        return None
    try:
        key = control.find_key(config, args.api_key)
    except control.ControlError as exc:
        print(f"wamd {args.command}: {exc}", file=sys.stderr)
        return None
    return args.url or control.base_url(config), key


def _sessions(args: argparse.Namespace) -> int:
    target = _target(args)
    if target is None:
        return 2
    return control.run(control.sessions(*target, args.json, sys.stdout))


def _send(args: argparse.Namespace) -> int:
    target = _target(args)
    if target is None:
        return 2
    return control.run(
        control.send(*target, args.session, args.to, args.text, args.idempotency_key, sys.stdout)
    )


def _status(args: argparse.Namespace) -> int:
    target = _target(args)
    if target is None:
        return 2
    return control.run(control.status(*target, args.json, sys.stdout))


def _demo(args: argparse.Namespace) -> int:
    from daemon.demo import run_demo

    if args.log_level.lower() == "info":
        log.configure(args.log_format, "warning")
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run_demo(Path(args.state_dir), args.port))
    return 0


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", type=Path, help="TOML configuration file")
    parser.add_argument("--url", help="the daemon's API (default: from the config)")
    parser.add_argument("--api-key", help="admin key (default: config, env, state directory)")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the daemon (sessions, outbox, webhooks, HTTP API)")
    run.add_argument("--config", metavar="PATH", type=Path, help="TOML configuration file")
    run.set_defaults(func=_run)

    sessions = sub.add_parser("sessions", help="list the sessions of a running daemon")
    _client_options(sessions)
    sessions.add_argument("--json", action="store_true", help="print the API's JSON")
    sessions.set_defaults(func=_sessions)

    send = sub.add_parser("send", help="queue a text message through a running daemon")
    _client_options(send)
    send.add_argument("session", metavar="SESSION")
    send.add_argument("to", metavar="TO", help="phone number (+15551234567) or JID")
    send.add_argument("text", metavar="TEXT")
    send.add_argument("--idempotency-key", help="sending again with the same key sends once")
    send.set_defaults(func=_send)

    status = sub.add_parser("status", help="health of a running daemon, per session")
    _client_options(status)
    status.add_argument("--json", action="store_true", help="print the API's JSON")
    status.set_defaults(func=_status)

    demo = sub.add_parser(
        "demo", help="a local sandbox and a daemon with one paired session (offline)"
    )
    demo.add_argument("--state-dir", default="wamd-demo", help="where both keep state")
    demo.add_argument("--port", type=int, default=8080, help="API port (0 picks a free one)")
    demo.set_defaults(func=_demo)


__all__ = ["add_parsers"]
