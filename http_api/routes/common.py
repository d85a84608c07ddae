"""What every handler shares: reading JSON bodies and query values, access checks, JSON out."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from http_api.keys import principal, services
from http_api.problems import Problem, bad_request


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(payload, ensure_ascii=False),
        content_type="application/json",
        headers=headers,
    )


async def read_json(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object body (empty when ``optional`` and there is none)."""
    if not request.can_read_body:
        if optional:
            return {}
        raise bad_request("a JSON object body is required")
    if request.content_type not in ("application/json", "application/problem+json"):
        raise Problem(415, "unsupported-media-type", "send the body as application/json")
    try:
        data = await request.json()
    except json.JSONDecodeError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        raise bad_request("the body is not UTF-8") from None
    if not isinstance(data, dict):
        raise bad_request("the body must be a JSON object")
    return data


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


def query_int(
    request: web.Request, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"query parameter {name!r} must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise bad_request(f"query parameter {name!r} must be at least {minimum}{upper}")
    return value


def query_float(request: web.Request, name: str, default: float, *, maximum: float) -> float:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise bad_request(f"query parameter {name!r} must be a number") from None
    if not 0 <= value <= maximum:
        raise bad_request(f"query parameter {name!r} must be between 0 and {maximum:g}")
    return value


def optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{name!r} must be a string")
    return value


def optional_bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
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
    "session_id_of",
]
