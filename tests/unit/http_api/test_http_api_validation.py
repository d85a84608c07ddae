"""http_api.validation: what a body, a query integer, a cursor and a list may be."""

from __future__ import annotations

import json

import pytest

from http_api.problems import Problem
from http_api.validation import (
    INT64_MAX,
    MAX_JSON_DEPTH,
    bounded_list,
    chat_jid,
    event_cursor,
    parse_int,
    parse_json,
)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'["x", ["\\ud83d"]]',
        b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
        b"[" * 100_000 + b"]" * 100_000,
        b'{"n": ' + b"9" * 5000 + b"}",
        b'{"n": 9223372036854775808}',
        b'{"n": -9223372036854775809}',
        b'{"n": 1e999}',
        b'{"n": NaN}',
        b'{"n": -Infinity}',
        b"\xff\xfe",
        b'{"a": 1',
    ],
)
def test_bodies_the_api_does_not_take(raw: bytes) -> None:
    with pytest.raises(Problem) as refused:
        parse_json(raw)
    assert refused.value.status == 400


def test_bodies_it_takes() -> None:
    assert parse_json(b'{"a": "\\ud83d\\ude00", "n": 9223372036854775807}') == {
        "a": "\U0001f600",
        "n": INT64_MAX,
    }
    assert parse_json(b'{"count": 26.0, "ratio": 0.5}') == {"count": 26, "ratio": 0.5}
    depth = MAX_JSON_DEPTH
    assert parse_json(b"[" * depth + b"]" * depth) is not None


@pytest.mark.parametrize(
    "raw",
    [
        # Brackets and escapes inside strings: the tree is walked, and it is fine.
        b'{"text": "' + b"[{" * MAX_JSON_DEPTH + b'"}',
        b'{"text": "a \\\\ud800 is six characters here, not a surrogate"}',
        b'{"text": "\\u00e9t\\u00e9 \\ud83d\\ude00"}',
        # What nearly every body is: nothing to walk for.
        b'{"to": "15550002222@s.whatsapp.net", "text": "hello", "n": [1, 2.5, {"a": null}]}',
    ],
)
def test_bodies_are_the_json_they_hold(raw: bytes) -> None:
    assert parse_json(raw) == json.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [
        # Few brackets, a lone surrogate; many brackets, too deep, no escape at all.
        b'{"a": "x \\udbff y"}',
        b'{"a": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}",
        "\ufeff{}".encode(),
    ],
)
def test_what_the_fast_path_skips_is_still_refused(raw: bytes) -> None:
    with pytest.raises(Problem) as refused:
        parse_json(raw)
    assert refused.value.status == 400


@pytest.mark.parametrize("raw", ["\u00b2", "\u0663", "1_0", " 5", "+5", "", "5.0", "9" * 30])
def test_integers_are_plain_ascii_digits(raw: str) -> None:
    with pytest.raises(Problem):
        parse_int(raw, "n")


def test_integer_bounds() -> None:
    assert parse_int(str(INT64_MAX), "n") == INT64_MAX
    with pytest.raises(Problem):
        parse_int(str(INT64_MAX + 1), "n")
    with pytest.raises(Problem):
        parse_int("-1", "n")


@pytest.mark.parametrize("raw", ["\u00b2", "", "-1", "1" * 19, "7" * 3000, "0x10"])
def test_event_cursors(raw: str) -> None:
    with pytest.raises(Problem):
        event_cursor(raw, "after")


def test_lists_are_capped_and_typed() -> None:
    assert bounded_list([1, 2], "ids", int, limit=2) == [1, 2]
    for bad in ([1, 2, 3], [True], ["1"], "1", None):
        with pytest.raises(Problem):
            bounded_list(bad, "ids", int, limit=2)


def test_chats_in_paths_are_checked_by_the_shared_rules() -> None:
    assert chat_jid("+1 555 000 1111", "the path") == "15550001111@s.whatsapp.net"
    with pytest.raises(Problem):
        chat_jid("@s.whatsapp.net", "the path")
