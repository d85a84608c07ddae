from __future__ import annotations

import re

import pytest

from daemon.client.ids import RequestIds, new_message_id
from daemon.client.qr import QrError, QrPayload, ref_deadlines, render_terminal


def test_qr_string_round_trip_matches_the_phone_format() -> None:
    payload = QrPayload("2@REF1", bytes(32), bytes(range(32)), b"\x01" * 32, "1")
    text = payload.to_string()
    assert text.startswith("https://wa.me/settings/linked_devices#2@REF1,AAAA")
    assert text.endswith(",1")
    assert QrPayload.parse(text) == payload


@pytest.mark.parametrize(
    "bad", ["", "a,b,c", "https://wa.me/settings/linked_devices#r,!!,AA==,AA==,1", ",,,,"]
)
def test_qr_parse_rejects_garbage(bad: str) -> None:
    with pytest.raises(QrError):
        QrPayload.parse(bad)


def test_ref_rotation_schedule() -> None:
    deadlines = ref_deadlines(["a", "b", "c"], shown_at=100.0)
    assert deadlines == [("a", 160.0), ("b", 180.0), ("c", 200.0)]


def test_terminal_rendering_uses_half_blocks() -> None:
    art = render_terminal("https://wa.me/settings/linked_devices#x", dark_background=True)
    lines = art.splitlines()
    assert len(lines) > 10
    assert set("".join(lines)) <= {"█", "▀", "▄", " ", "\xa0"}
    light = render_terminal("https://wa.me/settings/linked_devices#x", dark_background=False)
    assert light != art


def test_message_ids_have_the_real_shape_and_differ() -> None:
    first = new_message_id("15551234567", 1_700_000_000.0)
    second = new_message_id("15551234567", 1_700_000_000.0)
    assert re.fullmatch(r"3EB0[0-9A-F]{18}", first)
    assert first != second
    fixed = new_message_id("1", 0.0, random_bytes=lambda n: bytes(n))
    assert fixed == new_message_id("1", 0.0, random_bytes=lambda n: bytes(n))


def test_request_ids_count_up_with_a_stable_prefix() -> None:
    ids = RequestIds(random_bytes=lambda n: bytes([1, 2, 3, 4]))
    assert [ids.next() for _ in range(3)] == ["258.772-1", "258.772-2", "258.772-3"]
