"""The `wamd` command line."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from daemon import log


def _cmd_vectors_check(args: argparse.Namespace) -> int:
    from daemon.vectors.report import UnknownVectorFile, replay_file

    passed = failed = 0
    for raw in args.paths:
        path = Path(raw)
        try:
            kind, results = replay_file(path)
        except (OSError, ValueError, UnknownVectorFile) as exc:
            print(f"{path}: cannot replay: {exc}", file=sys.stderr)
            failed += 1
            continue
        file_failed = [r for r in results if not r.ok]
        passed += len(results) - len(file_failed)
        failed += len(file_failed)
        ok_count = len(results) - len(file_failed)
        print(f"{path} ({kind.value}): {ok_count} passed, {len(file_failed)} failed")
        for result in file_failed:
            print(f"  FAIL {result.name}: {result.detail}")
        if args.verbose:
            for result in results:
                if result.ok:
                    print(f"  ok   {result.name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


def _cmd_sandbox(args: argparse.Namespace) -> int:
    import asyncio

    from sandbox.app import run_sandbox
    from sandbox.config import SandboxConfig

    config = SandboxConfig(
        state_dir=Path(args.state_dir),
        host=args.host,
        port=args.port,
        tls=args.tls,
        auto_scan=args.auto_scan,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_sandbox(config))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wamd", description="Self-hosted WhatsApp daemon")
    parser.add_argument("--log-format", choices=["json", "console"], default="json")
    parser.add_argument("--log-level", default="info")
    sub = parser.add_subparsers(dest="command", required=True)

    vectors = sub.add_parser("vectors", help="replay vector files from independent implementations")
    vectors_sub = vectors.add_subparsers(dest="vectors_command", required=True)
    check = vectors_sub.add_parser("check", help="replay vector files; the kind is detected")
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    check.set_defaults(func=_cmd_vectors_check)

    sandbox = sub.add_parser(
        "sandbox",
        help="run the local simulated WhatsApp network (websocket, admin API, media host)",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=0, help="listen port; 0 picks a free one")
    sandbox.add_argument(
        "--state-dir",
        default="wamd-sandbox",
        help="keys, certificates and the database, root.pub too (default ./wamd-sandbox)",
    )
    sandbox.add_argument(
        "--tls",
        action="store_true",
        help="serve wss:// and https:// with a self-signed certificate",
    )
    sandbox.add_argument(
        "--auto-scan",
        action="store_true",
        help="a phone scans each new registration at once (needs an all-zero ADV secret)",
    )
    sandbox.set_defaults(func=_cmd_sandbox)

    from daemon.client import pair_cli

    pair_cli.add_parser(sub)

    from daemon import commands

    commands.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    log.configure(args.log_format, args.log_level)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
