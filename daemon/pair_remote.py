"""``wamd pair`` beside a running daemon: pairing through the daemon's API.

The daemon owns the database while it runs; a second process writing session rows into it
made the API and the database disagree (a live session recorded as ``stopped``, a session the
daemon never listed). So when a daemon answers on the configured address (or ``--url``),
``wamd pair`` creates the session through the API (if new), starts pairing there, and shows
the QR codes the daemon hands out (``GET /sessions/{id}/qr``, polled as they rotate) or the
phone code, until the daemon reports the session ``connected``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, TextIO
from urllib.parse import quote

from daemon.client.qr import render_terminal
from daemon.control import ControlError, call

POLL_S = 0.5
# Statuses on the way to the first login; anything else ends the pairing.
ON_THE_WAY = frozenset({"new", "pairing", "connecting", "backing_off"})
PAIR_TIMEOUT_S = 300.0
"""The QR refs last 60 s then 20 s each (about 160 s in all); a phone code a few minutes."""
PROBE_TIMEOUT_S = 2.0


async def daemon_answers(url: str) -> bool:
    """True when a wamd daemon serves ``url`` (its open ``/health`` answers)."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            status, payload = await call(url, "", "GET", "/health")
    except (ControlError, TimeoutError, ValueError):
        return False
    return status in (200, 503) and isinstance(payload, dict) and "sessions" in payload


def _problem(status: int, payload: Any) -> str:
    if isinstance(payload, dict) and "detail" in payload:
        return f"HTTP {status}: {payload['detail']}"
    return f"HTTP {status}"


async def pair_through_api(
    url: str,
    key: str,
    session_id: str,
    phone: str | None,
    *,
    light: bool,
    print_payload: bool,
    out: TextIO,
    timeout: float = PAIR_TIMEOUT_S,
) -> int:
    """Pairs ``session_id`` through the daemon at ``url``; the exit status."""
    path = f"/sessions/{quote(session_id, safe='')}"
    status, payload = await call(url, key, "POST", "/sessions", {"id": session_id})
    if status not in (201, 409):
        raise ControlError(f"cannot create session {session_id!r}: {_problem(status, payload)}")
    if phone is not None:
        status, payload = await call(url, key, "POST", f"{path}/pair-code", {"phone": phone})
        if status != 200:
            raise ControlError(f"cannot start pairing: {_problem(status, payload)}")
        code = str(payload["code"])
        if print_payload:
            out.write(code + "\n")
        else:
            out.write(
                f"Pairing code for +{phone.lstrip('+')}: {code}\n"
                "On the phone: WhatsApp > Linked devices > Link with phone number, then "
                "type it.\n"
            )
        out.flush()
    else:
        status, payload = await call(url, key, "POST", f"{path}/pair")
        if status not in (200, 202):
            raise ControlError(f"cannot start pairing: {_problem(status, payload)}")
    return await _follow(url, key, path, light, print_payload, out, timeout, by_qr=phone is None)


async def _follow(
    url: str,
    key: str,
    path: str,
    light: bool,
    print_payload: bool,
    out: TextIO,
    timeout: float,
    *,
    by_qr: bool,
) -> int:
    shown: str | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if by_qr:
            status, payload = await call(url, key, "GET", f"{path}/qr?format=json")
            if status == 200 and payload["qr"] != shown:
                shown = str(payload["qr"])
                _show_qr(out, shown, int(payload["index"]), light, print_payload)
        status, session = await call(url, key, "GET", path)
        if status != 200:
            raise ControlError(f"the session went away: {_problem(status, session)}")
        if session["status"] == "connected":
            if not print_payload:
                out.write(f"Paired and logged in as {session['jid']}.\n")
                out.flush()
            return 0
        if session["status"] not in ON_THE_WAY:
            out.write(f"Pairing ended ({session['status']}): {session['statusReason']}\n")
            out.flush()
            return 1
        await asyncio.sleep(POLL_S)
    out.write(f"Not paired within {timeout:g} s.\n")
    out.flush()
    return 1


def _show_qr(out: TextIO, code: str, index: int, light: bool, print_payload: bool) -> None:
    if print_payload:
        # One line per QR, for scripts: render it anywhere, or hand it to a test phone.
        out.write(code + "\n")
    else:
        out.write(render_terminal(code, dark_background=not light))
        out.write(f"Scan with WhatsApp > Linked devices (QR {index + 1}).\n")
    out.flush()


__all__ = ["daemon_answers", "pair_through_api"]
