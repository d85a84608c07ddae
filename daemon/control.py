"""``wamd sessions``, ``wamd send``, ``wamd status``: talk to a running daemon over its API.

The daemon owns the database while it runs, so these commands never open it: they call the
local HTTP API with the admin key (``--api-key``, else ``http.api_key`` from the config or
``WAMD_HTTP_API_KEY``, else the key the daemon generated in its state directory).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from daemon.config import Config
from daemon.service import ADMIN_KEY_FILE

TIMEOUT_S = 30.0


class ControlError(Exception):
    pass


def base_url(config: Config) -> str:
    host = config.http.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.http.port}"


def find_key(config: Config, explicit: str | None) -> str:
    if explicit:
        return explicit
    if config.http.api_key:
        return config.http.api_key
    path = Path(config.storage.state_dir) / ADMIN_KEY_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        raise ControlError(
            f"no API key: pass --api-key, set WAMD_HTTP_API_KEY, or run where {path} is readable"
        ) from None


async def call(
    url: str,
    key: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    sent = {"x-api-key": key, **(headers or {})}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http,
            http.request(method, url + path, json=body, headers=sent) as response,
        ):
            text = await response.text()
            payload = json.loads(text) if text else None
            return response.status, payload
    except aiohttp.ClientConnectionError as exc:
        raise ControlError(f"cannot reach the daemon at {url}: {exc}") from None


def _fail(status: int, payload: Any) -> ControlError:
    if isinstance(payload, dict) and "detail" in payload:
        return ControlError(f"HTTP {status}: {payload.get('title')}: {payload['detail']}")
    return ControlError(f"HTTP {status}: {payload!r}")


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def print_table(rows: list[list[Any]], header: list[str], out: TextIO) -> None:
    cells = [header, *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        out.write("  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)))
        out.write("\n")


async def sessions(url: str, key: str, as_json: bool, out: TextIO) -> int:
    status, payload = await call(url, key, "GET", "/sessions")
    if status != 200:
        raise _fail(status, payload)
    if as_json:
        out.write(json.dumps(payload, indent=2) + "\n")
        return 0
    rows = [
        [
            s["id"],
            s["status"],
            s["phoneNumber"],
            "yes" if s["socketAlive"] else "no",
            s["lastConnectedAt"],
            s["lastError"],
        ]
        for s in payload["sessions"]
    ]
    print_table(rows, ["SESSION", "STATUS", "PHONE", "ALIVE", "LAST CONNECTED", "LAST ERROR"], out)
    return 0


async def send(
    url: str,
    key: str,
    session_id: str,
    to: str,
    text: str,
    idempotency_key: str | None,
    out: TextIO,
) -> int:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    status, payload = await call(
        url,
        key,
        "POST",
        f"/sessions/{session_id}/messages",
        {"to": to, "type": "text", "text": text},
        headers,
    )
    if status != 202:
        raise _fail(status, payload)
    out.write(f"{payload['id']} {payload['status']} (to {payload['to']})\n")
    return 0


async def status(url: str, key: str, as_json: bool, out: TextIO) -> int:
    code, payload = await call(url, key, "GET", "/health/deep")
    if code not in (200, 503):
        raise _fail(code, payload)
    if as_json:
        out.write(json.dumps(payload, indent=2) + "\n")
        return 0 if payload["status"] != "error" else 1
    database = payload["database"]
    out.write(
        f"status {payload['status']}, up {payload['uptime']:.0f} s, database "
        f"{'ok' if database['connected'] else 'UNREACHABLE'}"
        f" ({database['latencyMs']} ms)\n"
    )
    rows = [
        [
            s["sessionId"],
            s["connectionStatus"],
            s["phoneNumber"],
            "yes" if s["socketAlive"] else "no",
            s["lastMessageAt"],
        ]
        for s in payload["sessions"]
    ]
    print_table(rows, ["SESSION", "STATUS", "PHONE", "ALIVE", "LAST MESSAGE"], out)
    return 0 if payload["status"] != "error" else 1


def run(coro: Any) -> int:
    try:
        result: int = asyncio.run(coro)
        return result
    except ControlError as exc:
        print(f"wamd: {exc}", file=sys.stderr)
        return 1


__all__ = ["ControlError", "base_url", "call", "find_key", "run", "send", "sessions", "status"]
