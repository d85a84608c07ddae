"""Input checks every route shares, each answering bad input with a problem+json 400.

One place for what a request may carry: JSON bodies (UTF-8, bounded nesting, integers that fit
in 64 bits, finite numbers, no lone surrogates), integers in query strings and headers (ASCII
digits only, in range), list sizes, and chat JIDs in paths and query strings (the rules live in
:func:`daemon.chat_address.normalize_chat`, shared with the outbox's recipients).
"""

from __future__ import annotations

import enum
import json
import math
import re
from typing import Any, TypeVar

from aiohttp import web

from daemon.chat_address import InvalidChat, normalize_chat
from http_api.problems import Problem, bad_request

INT64_MAX = 2**63 - 1
"""Largest id, cursor or count the storage can hold (SQLite INTEGER)."""
MAX_JSON_DEPTH = 16
"""Deepest nesting of arrays and objects accepted in a body (ours nest two levels)."""
MAX_LIST_ITEMS = 1000
"""Default cap on a list in a body (ids to replay, to mark read...)."""
MAX_EXACT_FLOAT = 2**53
"""Past this a float no longer holds every integer exactly."""
EVENT_SEQ_DIGITS = 18
"""An event cursor is 1 to 18 ASCII digits: every seq a session can reach, nothing that
overflows."""

_INTEGER = re.compile(r"-?[0-9]{1,19}")
_NUMBER = re.compile(r"[0-9]{1,20}(?:\.[0-9]{0,40})?(?:[eE][+-]?[0-9]{1,3})?")
_EVENT_SEQ = re.compile(rf"[0-9]{{1,{EVENT_SEQ_DIGITS}}}")
JSON_CONTENT_TYPES = ("application/json", "application/problem+json")
E = TypeVar("E", bound=enum.Enum)


class _RejectedJson(ValueError):
    """A JSON document that parses but is not one the API takes (the message says why)."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 19:
        raise _RejectedJson("integers must fit in 64 bits")
    value = int(text)
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise _RejectedJson("integers must fit in 64 bits")
    return value


def _float(text: str) -> float | int:
    """A JSON number with a fraction or exponent. ``26.0`` is an integer to JSON Schema, so
    an integral value comes back as an int (a field that wants an integer takes it)."""
    value = float(text)
    if not math.isfinite(value):
        raise _RejectedJson("numbers must be finite")
    if value.is_integer() and abs(value) <= MAX_EXACT_FLOAT:
        return int(value)
    return value


def _constant(name: str) -> Any:
    raise _RejectedJson(f"{name} is not JSON")


def has_lone_surrogate(text: str) -> bool:
    """True if ``text`` cannot be written as UTF-8 (a ``\\ud800`` escape without its pair)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_tree(document: Any) -> None:
    """Nesting depth and strings, without recursion (a deep document is what is refused)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if has_lone_surrogate(value):
                raise _RejectedJson("text must be valid Unicode (a lone surrogate is not)")
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _RejectedJson(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
            children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""Where a lone surrogate can come from: UTF-8 itself holds none (decoding refuses them)."""


def _may_break_rules(text: str) -> bool:
    """Whether the tree needs walking: deeper nesting than allowed needs more opening brackets
    than that, and a lone surrogate an escape (most bodies have neither)."""
    return (
        text.count("{") + text.count("[") > MAX_JSON_DEPTH
        or _SURROGATE_ESCAPE.search(text) is not None
    )


def parse_json(raw: bytes) -> Any:
    """A body's JSON document, or a 400 naming what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("the body is not UTF-8") from None
    try:
        if text.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        document = _DECODER.decode(text)
        if _may_break_rules(text):
            _check_tree(document)
    except _RejectedJson as exc:
        raise bad_request(f"the body is not accepted: {exc}") from None
    except RecursionError:
        raise bad_request(f"the body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from None
    return document


async def read_json_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object body (empty when ``optional`` and there is none)."""
    if not request.can_read_body:
        if optional:
            return {}
        raise bad_request("a JSON object body is required")
    if request.content_type not in JSON_CONTENT_TYPES:
        raise Problem(415, "unsupported-media-type", "send the body as application/json")
    data = parse_json(await request.read())
    if not isinstance(data, dict):
        raise bad_request("the body must be a JSON object")
    return data


def parse_int(raw: str, name: str, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """An integer written in ASCII digits (``²``, ``٣``, ``1_0``, `` 5`` are not)."""
    if not _INTEGER.fullmatch(raw):
        raise bad_request(f"{name} must be an integer (ASCII digits)")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise bad_request(f"{name} must be from {minimum} to {maximum}")
    return value


def query_int(
    request: web.Request, name: str, default: int, *, minimum: int = 0, maximum: int = INT64_MAX
) -> int:
    """An integer query parameter; ``default`` when absent (an empty value is not absent: it
    is not an integer)."""
    raw = request.query.get(name)
    if raw is None:
        return default
    return parse_int(raw, f"query parameter {name!r}", minimum=minimum, maximum=maximum)


def query_float(request: web.Request, name: str, default: float, *, maximum: float) -> float:
    """A number query parameter from 0 to ``maximum``; ``default`` when absent."""
    raw = request.query.get(name)
    if raw is None:
        return default
    value = math.nan
    if _NUMBER.fullmatch(raw):
        value = float(raw)
    if not 0 <= value <= maximum:
        raise bad_request(f"query parameter {name!r} must be a number from 0 to {maximum:g}")
    return value


def query_choice(request: web.Request, name: str, choices: type[E]) -> E | None:
    """An enum query parameter; None when absent."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return choices(raw)
    except ValueError:
        allowed = ", ".join(str(choice.value) for choice in choices)
        raise bad_request(f"query parameter {name!r} must be one of {allowed}") from None


def event_cursor(raw: str, where: str) -> int:
    """An event-log cursor (a seq): 1 to 18 ASCII digits."""
    if not _EVENT_SEQ.fullmatch(raw):
        raise bad_request(f"{where} must be an event seq number (1 to {EVENT_SEQ_DIGITS} digits)")
    return int(raw)


def bounded_list(value: Any, name: str, item: type, *, limit: int = MAX_LIST_ITEMS) -> list[Any]:
    """``value`` as a list of at most ``limit`` items of type ``item`` (bools are not ints)."""
    if (
        not isinstance(value, list)
        or len(value) > limit
        or not all(isinstance(v, item) and not isinstance(v, bool) for v in value)
    ):
        raise bad_request(f"{name!r} must be a list of up to {limit} {item.__name__} values")
    return value


def chat_jid(raw: str, where: str) -> str:
    """A chat JID (user, LID or group) from a JID or a phone number, normalized."""
    try:
        return normalize_chat(raw)
    except InvalidChat as exc:
        raise bad_request(f"bad chat in {where}: {exc}") from None


def path_chat(request: web.Request) -> str:
    return chat_jid(request.match_info["jid"], "the path")


__all__ = [
    "EVENT_SEQ_DIGITS",
    "INT64_MAX",
    "MAX_JSON_DEPTH",
    "MAX_LIST_ITEMS",
    "bounded_list",
    "chat_jid",
    "event_cursor",
    "has_lone_surrogate",
    "parse_int",
    "parse_json",
    "path_chat",
    "query_choice",
    "query_float",
    "query_int",
    "read_json_object",
]
