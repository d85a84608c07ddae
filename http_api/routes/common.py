"""What every handler shares: reading JSON bodies and query values, access checks, JSON out."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from http_api.keys import principal, services
from http_api.problems import Problem, bad_request
from http_api.validation import query_float, query_int, read_json_object

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(..., ensure_ascii=False)`` without a new encoder per call."""


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        text=_ENCODE(payload),
        content_type="application/json",
        headers=headers,
    )


async def read_json(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object body (empty when ``optional`` and there is none)."""
    return await read_json_object(request, optional=optional)


def require_admin(request: web.Request) -> None:
    if not principal(request).is_admin:
        raise Problem(403, "admin-only", "this operation needs the admin API key")


def session_id_of(request: web.Request) -> str:
    """The ``{id}`` of the path, after checking the caller may see that session and that it
    exists (a session key sees only its own session: another one is 403, whether or not it
    exists)."""
    session_id = request.match_info["id"]
    caller = principal(request)
    if not caller.may_access(session_id):
        raise Problem(
            403, "wrong-session", "this API key belongs to another session", sessionId=session_id
        )
    if not services(request).manager.has(session_id):
        raise Problem(404, "session-not-found", f"session {session_id!r} does not exist")
    return session_id


def require_paired(request: web.Request, session_id: str) -> None:
    """409 unless the session is paired (what needs its identity: sending, media, history,
    app-state changes)."""
    credentials = services(request).manager.client(session_id).credentials
    if credentials is None or not credentials.is_paired:
        raise Problem(
            409,
            "not-paired",
            "the session is not paired; pair it first",
            sessionId=session_id,
        )


def optional_str(body: dict[str, Any], name: str) -> str | None:
    """The field's string, None when absent (``null`` is not a string)."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, str):
        raise bad_request(f"{name!r} must be a string")
    return value


def optional_bool(body: dict[str, Any], name: str) -> bool | None:
    """The field's boolean, None when absent (``null`` is not a boolean)."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, bool):
        raise bad_request(f"{name!r} must be a boolean")
    return value


def check_fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad_request(f"unknown field(s): {', '.join(unknown)}")


__all__ = [
    "check_fields",
    "json_response",
    "optional_bool",
    "optional_str",
    "query_float",
    "query_int",
    "read_json",
    "require_admin",
    "require_paired",
    "session_id_of",
]
